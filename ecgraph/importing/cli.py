"""``ecgraph import FILE --mapping NAME|FILE``: a filled template or a register into twins.

Thin over :mod:`ecgraph.importing.importer`: it opens the node on its data directory, shows a
progress bar on stderr, prints one line per refused row and a summary, and writes the publisher
tokens of the twins it registers to a file only its owner can read (never to the terminal).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ecgraph import config as settings
from ecgraph import errors
from ecgraph.config import Config


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping", required=True,
              help="A shipped mapping (template, uk-community-energy, federation-members) or a mapping file "
                   "(YARRRML .yml, RML .ttl).")
@click.option("--base", default=None, help="The namespace the register's twins are minted under, e.g. "
                                           "https://network.example/id/ (each twin gets <base><twin>/...).")
@click.option("--tokens", "tokens_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the publisher tokens of newly registered twins go (mode 0600) "
                   "[default: FILE's name + .tokens.tsv, beside the current directory's files].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A TOML file of settings [env ECGRAPH_CONFIG].")
@settings.options("data", "max_upload_bytes", "max_triples", "keep_versions")
def import_command(file: Path, mapping: str, base: str | None, tokens_path: Path | None, config_file: Path | None,
                   **options):
    """Turn a filled template, or a register in another layout, into twins through a mapping.

    Each twin is published like an upload (validated, the authority rule, archived, committed
    atomically). A row that fails is reported with its row number and the reason, and changes
    nothing; the other rows still publish. Exit status: 0 all published, 1 some refused, 2 error.
    Run it on the node's data directory while the node is stopped (the store takes one writer).
    """
    from ecgraph.importing import importer
    from ecgraph.node import LOCAL, Node

    try:
        config = Config.load(file=config_file, **options)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from None
    tokens_path = tokens_path or Path.cwd() / f"{file.stem}.tokens.tsv"
    try:
        node = Node(config, workers=False)
    except errors.Error as exc:  # a locked store (a serving node holds it), an unreadable directory
        raise click.ClickException(exc.detail) from None
    except OSError as exc:
        raise click.ClickException(f"cannot open the node's data directory {config.data}: {exc}") from None
    bar = None
    try:
        def start(total: int) -> None:
            nonlocal bar
            bar = click.progressbar(length=max(total, 1), label="publishing", file=sys.stderr, show_pos=True,
                                    show_eta=True)
            bar.__enter__()

        def step(n: int) -> None:
            if bar is not None:
                bar.update(n)

        try:
            summary = importer.import_file(node, file, mapping, caller=LOCAL, base=base, tokens_path=tokens_path,
                                           progress_start=start, progress=step)
        except errors.Error as exc:  # the mapping or the file as a whole: nothing was imported
            click.echo(f"error: {exc.detail}; nothing was imported", err=True)
            sys.exit(2)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
    finally:
        node.close()
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    for result in summary.refused:
        click.echo(f"refused: {importer.describe(result)}", err=True)
    published = summary.published
    created = sum(1 for r in published if r.created)
    rate = len(summary.results) / summary.seconds if summary.seconds else 0.0
    click.echo(f"{len(published)} twins published ({created} new, {len(published) - created} updated), "
               f"{len(summary.refused)} refused, from {summary.records} rows of {file.name} in "
               f"{summary.seconds:.1f} s ({rate:.1f} twins/s)")
    if summary.refused:
        reasons: dict[str, int] = {}
        for r in summary.refused:
            key = r.detail.split(":", 1)[0] if r.detail.startswith("not conformant") else r.detail.split(" '", 1)[0]
            reasons[key] = reasons.get(key, 0) + 1
        for key, count in sorted(reasons.items(), key=lambda kv: -kv[1])[:10]:
            click.echo(f"  {count} × {key}")
    if summary.tokens_file is not None:
        click.echo(f"{summary.tokens} publisher tokens written to {summary.tokens_file} (readable by you only)")
    sys.exit(1 if summary.refused else 0)


__all__ = ["import_command"]
