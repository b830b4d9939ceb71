"""The ``ecgraph`` command: thin over the library (parse options, call the node, print).

Settings come from the one table in :mod:`ecgraph.config` (options, environment variables, an
optional TOML file); failures are :mod:`ecgraph.errors`, printed as their detail.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

import click

from ecgraph import config as settings
from ecgraph import errors, formats, logs, standard
from ecgraph.config import Config
from ecgraph.network import commands as _network_commands
from ecgraph.validation import messages
from ecgraph.validation import validate as validation

#: the commands that open the node's store take the remote store's settings too
STORE_SETTINGS = ("store", "store_query", "store_update", "store_graph_store")

CONFIG_OPTION = click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
                             default=None, help="A TOML file of settings [env ECGRAPH_CONFIG].")


def _config(config_file: Path | None = None, **options) -> Config:
    try:
        return Config.load(file=config_file, **options)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from None


def _open_node(config: Config, *, workers: bool = False, read_only: bool = False):
    from ecgraph.node import Node

    try:
        return Node(config, workers=workers, read_only=read_only)
    except errors.Error as exc:
        raise click.ClickException(exc.detail) from None


def _exit(exc: errors.Error) -> click.ClickException:
    """A refusal as the command line says it: a mistake in what was typed exits 2, others 1."""
    return click.UsageError(exc.detail) if isinstance(exc, errors.BadRequest) else click.ClickException(exc.detail)


def _fail(subject: str, exc: errors.Error) -> None:
    """One line (and the blocking violations) for a refused twin, on standard error."""
    from ecgraph.publish.pipeline import NotConformant

    where = f" at line {exc.extra['line']}, column {exc.extra.get('column')}" if "line" in exc.extra else ""
    detail = exc.detail.replace("; nothing was stored", "")
    click.echo(f"{subject}: {exc.title}: {detail}{where}; nothing stored", err=True)
    if isinstance(exc, NotConformant):
        for r in exc.report["results"][:10]:
            if r["severity"] == "Violation":
                click.echo(f"  - {r['focus']}: {r['message']}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="ecgraph")
def main():
    """ecgraph: energy communities' digital twins as one queryable knowledge graph.

    Run a node (serve), publish twins (load, twins), ask questions (query), check conformance
    (validate) and take the data out (export).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # the commands say what became of each twin themselves; a serving node logs the events
    logs.EVENTS.setLevel(logging.ERROR)


# --- serve ----------------------------------------------------------------------------------------

@main.command()
@settings.options()
@CONFIG_OPTION
def serve(config_file, **options):
    """Start a node: create the store if needed, load the standard and (into an empty store) the
    demo network, and serve HTTP with a production WSGI server (waitress, with the deadlines of
    ecgraph/web/server.py)."""
    from ecgraph.web import create_app
    from ecgraph.web.server import create_server

    config = _config(config_file, **options)
    logs.configure(config.log_format, secrets=[config.admin_token or ""])
    if options.get("admin_token") is not None:
        logging.getLogger("ecgraph").warning(
            "the admin token was given on the command line, where any user of this machine can read it "
            "(ps, /proc); give it with --admin-token-file or ECGRAPH_ADMIN_TOKEN_FILE instead")
    node = _open_node(config, workers=True)
    if not config.no_demo and not node.entries() and not node.titles():
        click.echo("loading the demo network…")
        loaded = node.load_demo()
        click.echo(f"loaded {len(loaded)} demo twins")
    app = create_app(node)
    server = create_server(app, config)
    port = server.effective_port
    config.port = port
    url = f"http://{config.host}:{port}"
    if config.admin_token_file is not None:
        token_where = f"read from {config.admin_token_file}"
    elif config.admin_token:
        token_where = "given by --admin-token/ECGRAPH_ADMIN_TOKEN"
    else:
        token_where = str(node.admin_token_file)
    click.echo(f"ecgraph node listening on {url}")
    click.echo(f"  SPARQL endpoint: {url}/sparql")
    click.echo(f"  admin token: {token_where}")
    sys.stdout.flush()

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        node.close()
        click.echo("ecgraph node stopped")


# --- load -----------------------------------------------------------------------------------------

@main.command()
@settings.options("data", *STORE_SETTINGS, "peers", "allow_hosts")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--twin", "twin_id", default=None, help="Twin id (default: each file's name without extension).")
@click.option("--title", default=None, help="Title when the twin is registered by this load.")
@click.option("--from", "url", default=None, help="Publish the twin from this URL (pulled safely).")
@click.option("--format", "format_name", type=click.Choice([f.key for f in formats.INPUT]), default=None,
              help="Input format; default: from the extension.")
@click.option("--bulk", is_flag=True,
              help="Fast path for many new twins: prepared in parallel, then written with one call of the store's "
                   "bulk loader (not atomic per twin, and nothing is published before the end: if interrupted, "
                   "run it again).")
@click.option("--jobs", type=int, default=None, help="Worker processes for --bulk [default: the CPU count].")
@click.option("--tokens-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the publisher tokens of twins this load registers are appended (created readable by "
                   "you only) [default: new-tokens.txt in the data directory].")
def load(files, twin_id, title, url, format_name, bulk, jobs, tokens_file, **options):
    """Publish twins from files (or a directory of them), or one twin from a URL.

    Each twin goes through the whole pipeline (validated, inferred, archived, committed
    atomically). A twin that is not registered yet is registered; its publisher token goes to the
    tokens file (never to the terminal). The load ends with a summary: what was published, what
    was refused and why.
    """
    if not files and not url:
        raise click.UsageError("give FILES or --from URL")
    if url and not twin_id:
        raise click.UsageError("--from needs --twin ID")
    paths: list[Path] = []
    suffixes = formats.input_extensions()
    for f in files:
        if f.is_dir():
            paths.extend(sorted(p for p in f.iterdir() if p.suffix in suffixes))
        else:
            paths.append(f)
    if twin_id and len(paths) > 1:
        raise click.UsageError("--twin names one twin: give one file")
    config = _config(**options)
    node = _open_node(config)
    summary = LoadSummary(TokenFile(tokens_file or Path(config.data) / "new-tokens.txt"))
    try:
        known = {t for t, _, _ in node.titles()}  # once: asked per file, a load of N files took N^2
        if bulk:
            _bulk_load(node, paths, title, format_name, jobs, summary, known)
            paths = []
        work = [(twin_id or p.stem, p) for p in paths] + ([(twin_id, None)] if url else [])
        total = sum(p.stat().st_size for p in paths)
        with click.progressbar(length=max(total, 1), label="publishing", file=sys.stderr,
                               show_pos=False, hidden=total < 5_000_000 and len(work) < 4) as bar:
            for tid, path in work:
                try:
                    _register_if_new(node, tid, title, summary, known)
                    if path is None:
                        published, _ = node.publish_from_url(tid, url)
                    else:
                        upload = node.upload_for(tid, path.read_bytes(), filename=path.name, format_name=format_name)
                        published = node.publish(tid, upload)
                        bar.update(path.stat().st_size)
                    e = published.entry
                    click.echo(f"{tid}: version {e.version}, {e.triples:,} triples (+{e.inferred:,} inferred), "
                               f"{e.conformance}" + (f" ({e.warnings} warnings)" if e.warnings else ""))
                    summary.published.append((tid, published.created))
                except errors.Error as exc:
                    summary.refuse(tid, exc)
    finally:
        node.close()
    summary.report()
    sys.exit(1 if summary.refused else 0)


class TokenFile:
    """Where a load puts the publisher tokens it issues: appended, one ``id<TAB>token<TAB>time``
    line each, written and synced before the twin is published (a load that is stopped loses
    none), in a file only its owner may read (0600; a symbolic link there is refused)."""

    def __init__(self, path: Path):
        self.path = path
        self.written = 0

    def add(self, twin_id: str, token: str) -> None:
        from ecgraph.store.registry import now

        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise click.ClickException(f"cannot write the tokens file {self.path}: {exc.strerror}; give another "
                                       "with --tokens-file") from None
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            os.fchmod(fd, 0o600)
            fh.write(f"{twin_id}\t{token}\t{now()}\n")
            fh.flush()
            os.fsync(fd)
        self.written += 1


class LoadSummary:
    """What a load did, for the lines that end it."""

    def __init__(self, tokens: TokenFile):
        self.tokens = tokens
        self.published: list[tuple[str, bool]] = []     # (twin, created)
        self.refused: list[tuple[str, errors.Error | Exception]] = []

    def refuse(self, twin_id: str, exc: errors.Error | Exception) -> None:
        self.refused.append((twin_id, exc))
        if isinstance(exc, errors.Error):
            _fail(twin_id, exc)
        else:
            click.echo(f"{twin_id}: {exc}; nothing stored", err=True)

    def report(self) -> None:
        created = sum(1 for _, new in self.published if new)
        click.echo(f"summary: {len(self.published)} twins published ({created} new, "
                   f"{len(self.published) - created} replaced), {len(self.refused)} refused")
        reasons: dict[str, list[str]] = {}
        for twin_id, exc in self.refused:
            reason = f"{exc.status} {exc.title}" if isinstance(exc, errors.Error) else type(exc).__name__
            reasons.setdefault(reason, []).append(twin_id)
        for reason, twins in sorted(reasons.items()):
            click.echo(f"  refused, {reason}: {', '.join(twins)}")
        if self.tokens.written:
            click.echo(f"the publisher tokens of {self.tokens.written} new twins are in {self.tokens.path} "
                       "(readable by you only): hand each to its community, then delete the file")


def _register_if_new(node, twin_id: str, title: str | None, summary: LoadSummary, known: set[str]) -> None:
    """Register ``twin_id`` unless it is in ``known`` (the ids registered so far, kept up to date)."""
    if twin_id not in known:
        token = node.register(twin_id, title or twin_id)
        known.add(twin_id)
        summary.tokens.add(twin_id, token)
        click.echo(f"registered twin {twin_id}; its publisher token is in {summary.tokens.path}")


def _bulk_load(node, paths: list[Path], title, format_name, jobs, summary: LoadSummary, known: set[str]) -> None:
    """Register what is new, bulk-publish the twins without data, publish the others normally."""
    import os

    fresh: list[Path] = []
    existing: list[Path] = []
    for path in paths:
        _register_if_new(node, path.stem, title, summary, known)
        (existing if node.entry(path.stem) is not None else fresh).append(path)
    items = [(p.stem, node.upload_for(p.stem, p.read_bytes(), filename=p.name, format_name=format_name))
             for p in fresh]
    with click.progressbar(length=max(len(items), 1), label="bulk publishing", file=sys.stderr,
                           hidden=len(items) < 20) as bar:
        results = node.bulk_publish(items, jobs=jobs or os.cpu_count() or 2, progress=bar.update)
    for tid, outcome in results.items():
        if isinstance(outcome, Exception):
            summary.refuse(tid, outcome)
        else:
            summary.published.append((tid, True))
    published = sum(1 for o in results.values() if not isinstance(o, Exception))
    triples = sum(o.entry.triples for o in results.values() if not isinstance(o, Exception))
    click.echo(f"bulk-published {published} twins, {triples:,} triples")
    for path in existing:
        try:
            done = node.publish(path.stem, node.upload_for(path.stem, path.read_bytes(), filename=path.name,
                                                           format_name=format_name))
            summary.published.append((path.stem, done.created))
        except errors.Error as exc:
            summary.refuse(path.stem, exc)


# --- query ----------------------------------------------------------------------------------------

@main.command()
@settings.options("data", *STORE_SETTINGS)
@click.argument("query", required=False)
@click.option("--file", "query_file", type=click.File("r"), default=None, help="Read the query from a file.")
@click.option("--format", "fmt", type=click.Choice([f.key for f in (*formats.RESULTS, *formats.GRAPH)]),
              default=None, help="Default: tsv for SELECT and ASK, turtle for CONSTRUCT and DESCRIBE.")
@click.option("--limit", type=int, default=None, help="Row cap.")
def query(query, query_file, fmt, limit, **options):
    """Run a SPARQL query over the node's data (works beside a running node: it reads a snapshot)."""
    from ecgraph.query.pool import QueryRequest

    text = query_file.read() if query_file else query
    if not text:
        raise click.UsageError("give a QUERY or --file")
    node = _open_node(_config(**options), read_only=True)
    try:
        form = node.inspect(text).form
        if form == "UPDATE":
            raise click.ClickException("this is an update; ecgraph query only runs queries")
        offers = formats.RESULTS if form in ("SELECT", "ASK") else formats.GRAPH
        fmt = fmt or ("tsv" if form in ("SELECT", "ASK") else "turtle")
        if fmt not in {f.key for f in offers}:
            raise click.UsageError(f"format {fmt!r} does not fit a {form} query")
        result = node.query(QueryRequest(query=text, result_format=fmt, max_rows=limit))
    except errors.Error as exc:
        raise _exit(exc) from None
    finally:
        node.close()
    sys.stdout.buffer.write(result.body)
    if result.truncated:
        click.echo(f"(cut at {limit} rows)", err=True)


# --- validate -------------------------------------------------------------------------------------

@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--profile", type=click.Choice(validation.PROFILE_CHOICES), default="core", show_default=True,
              help="core: MUST rules only; recommended (= all): core plus the SHOULD rules, as warnings.")
@click.option("--profile-version", default=None, help="The release to check against (this validator has "
              f"{', '.join(standard.VERSIONS)}); default: the one each twin claims.")
@click.option("--format", "fmt", type=click.Choice([f.key for f in formats.REPORTS]),
              default="text", show_default=True, help="Report format.")
@click.option("--input-format", type=click.Choice([f.key for f in formats.INPUT]), default=None,
              help="Default: from the extension; required for -.")
@click.option("--max-results", type=int, default=100, show_default=True, help="Results listed per input.")
@click.option("--fail-on", type=click.Choice(["violation", "warning"]), default="violation", show_default=True,
              help="Exit 1 on violations only, or on warnings too.")
@click.option("--engine", type=click.Choice(validation.ENGINES), default="fast", show_default=True,
              help="ecgraph's SHACL engine, or pyshacl (the reference; same results, slower).")
@click.option("--max-bytes", type=int, default=500 * 1024 * 1024, show_default=True, help="Size cap per input.")
@click.option("--max-triples", type=int, default=10_000_000, show_default=True, help="Triple cap per input.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=600.0, show_default=True,
              help="Seconds allowed per input (its worker process is stopped then).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here instead of standard output.")
@click.option("--lang", type=click.Choice(messages.LANGUAGES), default="en", show_default=True,
              help="The language of the report's messages.")
def validate(inputs, profile, profile_version, fmt, input_format, max_results, fail_on, engine, max_bytes,
             max_triples, timeout, output, lang):
    """Check files, globs or standard input (-) against a conformance profile.

    Exit 0 when every input conforms, 1 when one does not, 2 on an error (unreadable, unparseable,
    over a limit). With several inputs, structured formats hold one report per input (JSON: a
    list under "reports"; JUnit: one test suite each; SARIF: one run each).
    """
    from ecgraph.publish import pipeline as pipeline_module
    from ecgraph.publish.pipeline import Upload
    from ecgraph.validation import reports
    from ecgraph.workers import TaskTimeout

    try:
        profile_version = standard.resolve_version(profile_version)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    # Each input is checked in a worker process of its own, stopped at the time limit: the
    # validation engines are Python, and an alarm raised asynchronously into this process's code
    # could land anywhere, multiprocessing's shared-memory heap included, and leave it corrupt
    # (CI, stop 41). The node's validator uses the same pool.
    pool = pipeline_module.workers("ecgraph-validate", 1, timeout, on_demand=True)
    worst = 0
    done: list[tuple[str, object]] = []
    try:
        for name in _expand_inputs(inputs):
            try:
                data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            except OSError as exc:
                click.echo(f"{name}: cannot read: {exc.strerror}", err=True)
                worst = 2
                continue
            upload = Upload(data=data, filename=None if name == "-" else name, format_name=input_format,
                            profile=profile, profile_version=profile_version, refuse_violations=False,
                            engine=engine, lang=lang, max_bytes=max_bytes,
                            max_triples=max_triples, max_results=max_results)
            try:
                report = pool.run(("report", upload), timeout=timeout, wait=pool.startup_timeout)
            except TaskTimeout:
                click.echo(f"{name}: validation took longer than {timeout:g} s (raise --timeout)", err=True)
                worst = 2
                continue
            except errors.Error as exc:
                where = f":{exc.extra['line']}:{exc.extra.get('column')}" if "line" in exc.extra else ""
                click.echo(f"{name}{where}: {exc.detail}", err=True)
                worst = 2
                continue
            done.append(("stdin" if name == "-" else name, report))
            failed = not report.conforms or (fail_on == "warning" and report.warnings)
            worst = max(worst, 1 if failed else 0)
    finally:
        pool.close()
    if done:
        text = reports.render_many(done, fmt, max_results=max_results)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            click.echo(text, nl=False)
    sys.exit(worst)


def _expand_inputs(inputs) -> list[str]:
    """Names as given; a pattern that names no file is expanded as a glob (quoted on the shell)."""
    import glob

    out = []
    for name in inputs:
        if name != "-" and not Path(name).exists() and any(c in name for c in "*?["):
            matches = sorted(glob.glob(name, recursive=True))
            out.extend(matches if matches else [name])
        else:
            out.append(name)
    return out


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--engine", type=click.Choice(validation.ENGINES), default="fast", show_default=True)
@click.option("--profile-version", default=standard.STANDARD_VERSION, show_default=True,
              help=f"The release whose kit to run ({', '.join(standard.VERSIONS)}).")
def kit(fmt, engine, profile_version):
    """Run the conformance kit: every case must give exactly its expected outcome.

    Exit 0 when every case passes. A vendor can read the manifest (shapes/kit/manifest.ttl) to run
    the same cases through their own exporter or validator.
    """
    from ecgraph.publish.pipeline import Pipeline, Upload
    from ecgraph.standard import kit as kit_module

    try:
        version = standard.resolve_version(profile_version)
        cases = kit_module.cases(version)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    pipeline = Pipeline()
    rows = []
    for case in cases:
        report = pipeline.report(Upload(data=case.path.read_bytes(), filename=case.path.name, profile=case.profile,
                                          profile_version=case.version, refuse_violations=False, engine=engine,
                                          base_iri=case.path.as_uri()))
        got = case.outcome(report.results)
        rows.append({"case": case.id, "name": case.name, "profile": case.profile, "passed": case.passes(report.results),
                     "expected": sorted(case.expected, key=str), "got": sorted(got, key=str)})
    failed = [r for r in rows if not r["passed"]]
    if fmt == "json":
        click.echo(json.dumps({"cases": len(rows), "failed": len(failed), "results": rows}, indent=2))
    else:
        for r in rows:
            click.echo(f"{'ok  ' if r['passed'] else 'FAIL'} {r['case']}: {r['name']}")
        click.echo(f"{len(rows) - len(failed)}/{len(rows)} cases give their expected outcome")
    sys.exit(1 if failed else 0)


# --- export ---------------------------------------------------------------------------------------

@main.command()
@settings.options("data", *STORE_SETTINGS)
@click.option("--format", "fmt", type=click.Choice([f.key for f in formats.DATASET if f.key != "jsonld"]),
              default="nquads", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of standard output.")
def export(fmt, output, **options):
    """Dump every graph of the store (twins, inferences, catalog, ontology) as N-Quads or TriG."""
    node = _open_node(_config(**options), read_only=True)
    try:
        rdf_format = formats.by_key(formats.DATASET)[fmt].rdf
        data = node.store.engine().dump(format=rdf_format)
    finally:
        node.close()
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


# --- twins ----------------------------------------------------------------------------------------

@main.group()
def twins():
    """List twins, register them, rotate or revoke their publisher tokens (beside a running node too)."""


def _offline(options):
    config = _config(**options)
    config.data.mkdir(parents=True, exist_ok=True)
    if not (config.data / "oxigraph").exists():  # a registry without a store yet: create the store
        _open_node(config).close()
    return _open_node(config, read_only=True)


@twins.command("list")
@settings.options("data", *STORE_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def twins_list(as_json, **options):
    """Registered twins and what they have published."""
    node = _offline(options)
    try:
        rows = []
        for twin_id, _, _ in node.titles():
            row = node.twin_info(twin_id)
            row.pop("links", None)
            rows.append(row)
    finally:
        node.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = (f"v{row['version']}, {row['triples']:,} triples, {row['conformance']}"
                 if row["published"] else "not published")
        revoked = " [token revoked]" if row.get("token_revoked") else ""
        click.echo(f"{row['id']:<40} {state}{revoked}")


@twins.command("register")
@settings.options("data", *STORE_SETTINGS)
@click.argument("twin_id")
@click.option("--title", default=None)
@click.option("--namespace", "namespaces", multiple=True, help="An IRI prefix the twin speaks for (repeatable; "
                                                                "default: fixed by its first upload).")
@click.option("--source", default=None, help="The URL where the twin lives: a running node refreshes it from "
                                             "there on a schedule.")
@click.option("--interval", type=float, default=None, help="Seconds between refreshes from --source.")
@click.option("--source-graph", default=None, help="--source is a SPARQL endpoint, and the twin is this named graph "
                                                   "of it.")
@click.option("--source-construct", default=None, help="--source is a SPARQL endpoint, and the twin is what this "
                                                       "CONSTRUCT query builds there.")
def twins_register(twin_id, title, namespaces, source, interval, source_graph, source_construct, **options):
    """Register a twin and print its publisher token (shown once)."""
    node = _offline(options)
    try:
        if source is not None and (source_graph or source_construct):
            source = {"sparql": source, **({"graph": source_graph} if source_graph else {}),
                      **({"construct": source_construct} if source_construct else {})}
        if source is not None:
            from ecgraph.network.sources import check_source

            check_source(source)
        click.echo(node.register(twin_id, title or twin_id, list(namespaces)))
        if source is not None:
            node.set_source(twin_id, source, interval)
    except errors.Error as exc:
        raise _exit(exc) from None
    finally:
        node.close()


@twins.command("rotate")
@settings.options("data", *STORE_SETTINGS)
@click.argument("twin_id")
def twins_rotate(twin_id, **options):
    """Issue a new publisher token (the old one stops working) and print it."""
    from ecgraph.node import LOCAL

    node = _offline(options)
    try:
        click.echo(node.rotate_token(twin_id, caller=LOCAL))
    except errors.Error as exc:
        raise _exit(exc) from None
    finally:
        node.close()


@twins.command("revoke")
@settings.options("data", *STORE_SETTINGS)
@click.argument("twin_id")
def twins_revoke(twin_id, **options):
    """Revoke a twin's publisher token (only the admin can then write it, or issue a new one)."""
    from ecgraph.node import LOCAL

    node = _offline(options)
    try:
        node.revoke_token(twin_id, caller=LOCAL)
    except errors.Error as exc:
        raise _exit(exc) from None
    finally:
        node.close()
    click.echo(f"token of {twin_id} revoked")


@twins.command("erase")
@settings.options("data")
@click.argument("twin_id")
@click.argument("target")
def twins_erase(twin_id, target, **options):
    """Erase a person's data from a twin's current data and every archived version (issue 16).

    TARGET is the IRI of a person, household or contact point, or a value of one (a name, an
    e-mail address, a telephone number). Run it with the node stopped, or ask the running node:
    POST /api/twins/TWIN_ID/erasure.
    """
    from ecgraph.node import LOCAL

    node = _open_node(_config(**options))
    try:
        erased = node.erase(twin_id, target, caller=LOCAL)
    except errors.Error as exc:
        raise _exit(exc) from None
    finally:
        node.close()
    versions = ", ".join(f"v{v}: {n}" for v, n in sorted(erased.versions.items())) or "none"
    click.echo(f"erased from {twin_id}: {erased.current} statements of the current data"
               f"{f' (now version {erased.version})' if erased.current else ''}; archived versions: {versions}")


from ecgraph.importing.cli import import_command  # noqa: E402  (issue 16: registered with one line)

main.add_command(import_command)


_network_commands.register(main)  # ecgraph peers, ecgraph harvest

if __name__ == "__main__":
    main()
