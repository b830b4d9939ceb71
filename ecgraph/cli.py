"""The ``ecgraph`` command: thin over the library (parse options, call the node, print).

Every option has an environment variable (see CONTRACT.md); the option wins.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path

import click

from . import standard
from .config import Config

DATA_OPTION = click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=None,
                           help="Data directory [env ECGRAPH_DATA; default ./ecgraph-data].")


def _config(**options) -> Config:
    try:
        return Config.load(**options)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from None


def _open_node(config: Config, *, workers: bool = False):
    from .node import Node
    from .store import StoreLocked

    try:
        return Node(config, workers=workers)
    except StoreLocked as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="ecgraph")
def main():
    """ecgraph: energy communities' digital twins as one queryable knowledge graph.

    Run a node (serve), publish twins (load, twins), ask questions (query), check conformance
    (validate) and take the data out (export).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# --- serve ----------------------------------------------------------------------------------------

@main.command()
@DATA_OPTION
@click.option("--host", default=None, help="Interface to listen on [env ECGRAPH_HOST; default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port (0 picks a free one) [env ECGRAPH_PORT; default 8080].")
@click.option("--admin-token", default=None, help="Admin token, at least 32 characters (visible in ps: prefer "
                                                  "--admin-token-file) [env ECGRAPH_ADMIN_TOKEN; default: generated "
                                                  "on first start into DATA/admin-token, mode 0600].")
@click.option("--admin-token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Read the admin token from this file [env ECGRAPH_ADMIN_TOKEN_FILE].")
@click.option("--query-timeout", type=float, default=None, help="Seconds before a query is stopped "
                                                                "[env ECGRAPH_QUERY_TIMEOUT; default 10].")
@click.option("--max-upload-bytes", type=int, default=None, help="Request body cap [env "
                                                                 "ECGRAPH_MAX_UPLOAD_BYTES; default 50 MB].")
@click.option("--max-result-rows", type=int, default=None, help="Result row cap [env "
                                                                "ECGRAPH_MAX_RESULT_ROWS; default 100000].")
@click.option("--peer", "peers", multiple=True, help="A peer endpoint URL that SERVICE and URL pulls may "
                                                     "reach (repeatable) [env ECGRAPH_PEERS, space-separated].")
@click.option("--no-demo", is_flag=True, default=None, help="Do not load the demo network into an empty "
                                                            "store [env ECGRAPH_NO_DEMO=1].")
@click.option("--query-workers", type=int, default=None, help="Query worker processes [default 2].")
@click.option("--pipeline-workers", type=int, default=None, help="Publishing worker processes [default 1].")
@click.option("--validate-workers", type=int, default=None, help="Worker processes of the anonymous validator, "
                                                                 "apart from publishing [env ECGRAPH_VALIDATE_WORKERS; default 1].")
@click.option("--query-memory-mb", type=int, default=None, help="Memory ceiling of one query worker in MB; a query "
                                                                "past it is stopped with a 503 [env "
                                                                "ECGRAPH_QUERY_MEMORY_MB; default 1024].")
@click.option("--max-query-bytes", type=int, default=None, help="Largest query or update text accepted (413 above "
                                                                "it) [env ECGRAPH_MAX_QUERY_BYTES; default 1 MiB].")
@click.option("--publish-timeout", type=float, default=None, help="Seconds one upload may take to prepare "
                                                                  "[default 120].")
@click.option("--threads", type=int, default=None, help="HTTP server threads [default 16].")
@click.option("--allow-host", "allow_hosts", multiple=True, help="A private or loopback host URL pulls may "
                                                                 "reach (repeatable) [env ECGRAPH_ALLOW_HOSTS].")
@click.option("--public-url", default=None, help="The URL clients reach this node at [env ECGRAPH_PUBLIC_URL].")
@click.option("--header-timeout", type=float, default=None, help="Seconds a client has to send a request's "
                                                                 "headers [env ECGRAPH_HEADER_TIMEOUT; default 10].")
@click.option("--min-body-rate", type=int, default=None, help="Bytes/s a request body must average after that "
                                                              "grace [env ECGRAPH_MIN_BODY_RATE; default 10000].")
@click.option("--max-connections", type=int, default=None, help="Open HTTP connections [env "
                                                                 "ECGRAPH_MAX_CONNECTIONS; default 1000].")
def serve(**options):
    """Start a node: create the store if needed, load the standard and (into an empty store) the
    demo network, and serve HTTP with a production WSGI server (waitress, see ecgraph/server.py)."""
    from .server import create_server
    from .web import create_app

    config = _config(**options)
    if options.get("admin_token") is not None:
        logging.getLogger("ecgraph").warning(
            "the admin token was given on the command line, where any user of this machine can read it "
            "(ps, /proc); give it with --admin-token-file or ECGRAPH_ADMIN_TOKEN_FILE instead")
    node = _open_node(config, workers=True)
    if not config.no_demo and not node.entries() and not node.registry.twins():
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
@DATA_OPTION
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--twin", "twin_id", default=None, help="Twin id (default: each file's name without extension).")
@click.option("--title", default=None, help="Title when the twin is registered by this load.")
@click.option("--from", "url", default=None, help="Publish the twin from this URL (pulled safely).")
@click.option("--format", "format_name", default=None, help="Input format (turtle, jsonld, ntriples, rdfxml, "
                                                            "trig, nquads); default: from the extension.")
@click.option("--peer", "peers", multiple=True, help="A peer URL the pull may reach.")
@click.option("--allow-host", "allow_hosts", multiple=True, help="A private host the pull may reach.")
@click.option("--bulk", is_flag=True, help="Fast path for many new twins: prepared in parallel and written with "
                                           "the store's bulk loader (not atomic per twin: if interrupted, run it again).")
@click.option("--jobs", type=int, default=None, help="Worker processes for --bulk [default: the CPU count].")
def load(data, files, twin_id, title, url, format_name, peers, allow_hosts, bulk, jobs):
    """Publish twins from files (or a directory of them), or one twin from a URL.

    Each twin goes through the whole pipeline (validated, inferred, archived, committed
    atomically). A twin that is not registered yet is registered, and its publisher token printed.
    """
    from .fetch import FetchRefused
    from .ingest import EXTENSIONS, IngestError
    from .node import NotFound
    from .pipeline import NotConformant

    if not files and not url:
        raise click.UsageError("give FILES or --from URL")
    if url and not twin_id:
        raise click.UsageError("--from needs --twin ID")
    paths: list[Path] = []
    for f in files:
        if f.is_dir():
            paths.extend(sorted(p for p in f.iterdir() if p.suffix in EXTENSIONS))
        else:
            paths.append(f)
    if twin_id and len(paths) > 1:
        raise click.UsageError("--twin names one twin: give one file")
    node = _open_node(_config(data=data, peers=list(peers), allow_hosts=list(allow_hosts)))
    failures = 0
    try:
        if bulk:
            failures = _bulk_load(node, paths, title, format_name, jobs)
            paths = []
        work = [(twin_id or p.stem, p) for p in paths] + ([(twin_id, None)] if url else [])
        total = sum(p.stat().st_size for p in paths)
        with click.progressbar(length=max(total, 1), label="publishing", file=sys.stderr,
                               show_pos=False, hidden=total < 5_000_000 and len(work) < 4) as bar:
            for tid, path in work:
                if node.registry.twin(tid) is None:
                    token = node.register(tid, title or tid)
                    click.echo(f"registered twin {tid}; publisher token (shown once): {token}")
                try:
                    if path is None:
                        published = node.publish_from_url(tid, url, admin=True)
                    else:
                        upload = node.upload_for(tid, path.read_bytes(), filename=path.name,
                                                 format_name=format_name)
                        published = node.publish(tid, upload, admin=True)
                        bar.update(path.stat().st_size)
                    e = published.entry
                    click.echo(f"{tid}: version {e.version}, {e.triples:,} triples (+{e.inferred:,} inferred), "
                               f"{e.conformance}" + (f" ({e.warnings} warnings)" if e.warnings else ""))
                except IngestError as exc:
                    failures += 1
                    where = f" at line {exc.line}, column {exc.column}" if exc.line else ""
                    click.echo(f"{tid}: {exc.message}{where}; nothing stored", err=True)
                except NotConformant as exc:
                    failures += 1
                    v = exc.report["summary"]["counts"]["Violation"]
                    click.echo(f"{tid}: not conformant to the core profile ({v} violations); nothing stored", err=True)
                    for r in exc.report["results"][:10]:
                        if r["severity"] == "Violation":
                            click.echo(f"  - {r['focus']}: {r['message']}", err=True)
                except (FetchRefused, NotFound) as exc:
                    failures += 1
                    click.echo(f"{tid}: {exc}", err=True)
    finally:
        node.close()
    sys.exit(1 if failures else 0)


def _bulk_load(node, paths: list[Path], title, format_name, jobs) -> int:
    """Register what is new, bulk-publish the twins without data, publish the others normally."""
    import os

    from .ingest import IngestError
    from .pipeline import NotConformant

    fresh, existing = [], []
    for path in paths:
        tid = path.stem
        if node.registry.twin(tid) is None:
            token = node.register(tid, title or tid)
            click.echo(f"registered twin {tid}; publisher token (shown once): {token}")
        (existing if node.entry(tid) is not None else fresh).append(path)
    failures = 0
    items = [(p.stem, node.upload_for(p.stem, p.read_bytes(), filename=p.name, format_name=format_name))
             for p in fresh]
    with click.progressbar(length=max(len(items), 1), label="bulk publishing", file=sys.stderr,
                           hidden=len(items) < 20) as bar:
        results = node.bulk_publish(items, jobs=jobs or os.cpu_count() or 2, progress=bar.update)
    for tid, outcome in results.items():
        if isinstance(outcome, Exception):
            failures += 1
            detail = outcome.message if isinstance(outcome, IngestError) else (
                "not conformant to the core profile" if isinstance(outcome, NotConformant) else str(outcome))
            click.echo(f"{tid}: {detail}; nothing stored", err=True)
    published = sum(1 for o in results.values() if not isinstance(o, Exception))
    triples = sum(o.entry.triples for o in results.values() if not isinstance(o, Exception))
    click.echo(f"bulk-published {published} twins, {triples:,} triples")
    for path in existing:
        try:
            upload = node.upload_for(path.stem, path.read_bytes(), filename=path.name, format_name=format_name)
            node.publish(path.stem, upload, admin=True)
        except (IngestError, NotConformant) as exc:
            failures += 1
            click.echo(f"{path.stem}: {getattr(exc, 'message', exc)}; nothing stored", err=True)
    return failures


# --- query ----------------------------------------------------------------------------------------

@main.command()
@DATA_OPTION
@click.argument("query", required=False)
@click.option("--file", "query_file", type=click.File("r"), default=None, help="Read the query from a file.")
@click.option("--format", "fmt", default=None,
              help="json, xml, csv, tsv (SELECT/ASK; default tsv) or turtle, ntriples, jsonld, rdfxml "
                   "(CONSTRUCT/DESCRIBE; default turtle).")
@click.option("--limit", type=int, default=None, help="Row cap.")
def query(data, query, query_file, fmt, limit):
    """Run a SPARQL query over the node's data (works beside a running node: it reads a snapshot)."""
    from .federate import QueryRefused, inspect
    from .query import QueryFailed, QueryRequest, execute
    from .store import open_read_only

    text = query_file.read() if query_file else query
    if not text:
        raise click.UsageError("give a QUERY or --file")
    config = _config(data=data)
    try:
        form = inspect(text).form
    except QueryRefused as exc:
        raise click.ClickException(str(exc)) from None
    if form == "UPDATE":
        raise click.ClickException("this is an update; ecgraph query only runs queries")
    if fmt is None:
        fmt = "tsv" if form in ("SELECT", "ASK") else "turtle"
    if not (config.data / "oxigraph").exists():
        raise click.ClickException(f"no store in {config.data}; start a node or load twins first")
    store = open_read_only(config.data)
    try:
        result = execute(store, QueryRequest(query=text, result_format=fmt, max_rows=limit))
    except QueryFailed as exc:
        raise click.ClickException(exc.message) from None
    except KeyError:
        raise click.UsageError(f"format {fmt!r} does not fit a {form} query") from None
    sys.stdout.buffer.write(result.body)
    if result.truncated:
        click.echo(f"(cut at {limit} rows)", err=True)


# --- validate -------------------------------------------------------------------------------------

@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--profile", type=click.Choice(["core", "recommended", "all"]), default="core", show_default=True,
              help="core: MUST rules only; recommended (= all): core plus the SHOULD rules, as warnings.")
@click.option("--profile-version", default=None, help="The release to check against (this validator has "
              f"{', '.join(standard.VERSIONS)}); default: the one each twin claims.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "turtle", "jsonld", "junit", "csv", "sarif"]),
              default="text", show_default=True, help="Report format.")
@click.option("--input-format", default=None, help="turtle, jsonld, ntriples, rdfxml, trig, nquads "
                                                   "(default: from the extension; required for -).")
@click.option("--max-results", type=int, default=100, show_default=True, help="Results listed per input.")
@click.option("--fail-on", type=click.Choice(["violation", "warning"]), default="violation", show_default=True,
              help="Exit 1 on violations only, or on warnings too.")
@click.option("--engine", type=click.Choice(["fast", "pyshacl"]), default="fast", show_default=True,
              help="ecgraph's SHACL engine, or pyshacl (the reference; same results, slower).")
@click.option("--max-bytes", type=int, default=500 * 1024 * 1024, show_default=True, help="Size cap per input.")
@click.option("--max-triples", type=int, default=10_000_000, show_default=True, help="Triple cap per input.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds allowed per input.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here instead of standard output.")
@click.option("--lang", type=click.Choice(["en", "fr", "nl"]), default="en", show_default=True,
              help="The language of the report's messages.")
def validate(inputs, profile, profile_version, fmt, input_format, max_results, fail_on, engine, max_bytes,
             max_triples, timeout, output, lang):
    """Check files, globs or standard input (-) against a conformance profile.

    Exit 0 when every input conforms, 1 when one does not, 2 on an error (unreadable, unparseable,
    over a limit). With several inputs, structured formats hold one report per input (JSON: a
    list under "reports"; JUnit: one test suite each; SARIF: one run each).
    """
    from . import reports
    from .ingest import IngestError
    from .pipeline import Pipeline, Upload

    try:
        profile_version = standard.resolve_version(profile_version)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    pipeline = Pipeline()
    worst = 0
    done: list[tuple[str, object]] = []
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
            with _time_limit(timeout, name):
                report = pipeline.validate(upload)
        except IngestError as exc:
            where = f":{exc.line}:{exc.column}" if exc.line else ""
            click.echo(f"{name}{where}: {exc.message}", err=True)
            worst = 2
            continue
        except TimeoutError as exc:
            click.echo(str(exc), err=True)
            worst = 2
            continue
        done.append(("stdin" if name == "-" else name, report))
        failed = not report.conforms or (fail_on == "warning" and report.warnings)
        worst = max(worst, 1 if failed else 0)
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


class _time_limit:
    """A wall-clock limit for one input (SIGALRM: the validation engine is Python, so it stops)."""

    def __init__(self, seconds: float, name: str):
        self.seconds = seconds
        self.name = name

    def _expired(self, signum, frame):
        raise TimeoutError(f"{self.name}: validation took longer than {self.seconds:g} s (raise --timeout)")

    def __enter__(self):
        if self.seconds and self.seconds > 0:
            self.previous = signal.signal(signal.SIGALRM, self._expired)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.seconds and self.seconds > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--engine", type=click.Choice(["fast", "pyshacl"]), default="fast", show_default=True)
@click.option("--profile-version", default=standard.STANDARD_VERSION, show_default=True,
              help=f"The release whose kit to run ({', '.join(standard.VERSIONS)}).")
def kit(fmt, engine, profile_version):
    """Run the conformance kit: every case must give exactly its expected outcome.

    Exit 0 when every case passes. A vendor can read the manifest (shapes/kit/manifest.ttl) to run
    the same cases through their own exporter or validator.
    """
    from . import kit as kit_module
    from .pipeline import Pipeline, Upload

    try:
        version = standard.resolve_version(profile_version)
        cases = kit_module.cases(version)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    pipeline = Pipeline()
    rows = []
    for case in cases:
        report = pipeline.validate(Upload(data=case.path.read_bytes(), filename=case.path.name, profile=case.profile,
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
@DATA_OPTION
@click.option("--format", "fmt", type=click.Choice(["nquads", "trig"]), default="nquads", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of standard output.")
def export(data, fmt, output):
    """Dump every graph of the store (twins, inferences, catalog, ontology) as N-Quads or TriG."""
    import pyoxigraph as ox

    from .store import open_read_only

    config = _config(data=data)
    if not (config.data / "oxigraph").exists():
        raise click.ClickException(f"no store in {config.data}")
    store = open_read_only(config.data)
    rdf_format = ox.RdfFormat.N_QUADS if fmt == "nquads" else ox.RdfFormat.TRIG
    if output:
        store.dump(str(output), format=rdf_format)
    else:
        sys.stdout.buffer.write(store.dump(format=rdf_format))


# --- twins ----------------------------------------------------------------------------------------

@main.group()
def twins():
    """List twins, register them, rotate or revoke their publisher tokens."""


def _registry(data):
    from .registry import Registry

    config = _config(data=data)
    config.data.mkdir(parents=True, exist_ok=True)
    return Registry(config.data / "registry.sqlite3"), config


@twins.command("list")
@DATA_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def twins_list(data, as_json):
    """Registered twins and what they have published."""
    from . import catalog
    from .store import open_read_only

    registry, config = _registry(data)
    entries = {}
    if (config.data / "oxigraph").exists():
        entries = catalog.read_all(_ReadOnly(open_read_only(config.data)))
    rows = []
    for twin in registry.twins():
        entry = entries.get(twin.id)
        row = twin.to_dict()
        row["graph"] = standard.twin_graph(twin.id)
        if entry:
            row.update(version=entry.version, triples=entry.triples, conformance=entry.conformance,
                       warnings=entry.warnings, modified=entry.modified)
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = (f"v{row['version']}, {row['triples']:,} triples, {row['conformance']}"
                 if "version" in row else "not published")
        revoked = " [token revoked]" if row["token_revoked"] else ""
        click.echo(f"{row['id']:<40} {state}{revoked}")


class _ReadOnly:
    """Adapts a read-only pyoxigraph store to what :mod:`ecgraph.catalog` reads."""

    def __init__(self, store):
        self._store = store

    def subjects_triples(self, graph, subject):
        import pyoxigraph as ox

        return [q.triple for q in self._store.quads_for_pattern(subject, None, None, ox.NamedNode(graph))]


@twins.command("register")
@DATA_OPTION
@click.argument("twin_id")
@click.option("--title", default=None)
def twins_register(data, twin_id, title):
    """Register a twin and print its publisher token (shown once)."""
    from .registry import valid_twin_id

    if not valid_twin_id(twin_id):
        raise click.UsageError("twin ids are slugs: [a-z0-9][a-z0-9-]{0,62}")
    registry, _ = _registry(data)
    try:
        token = registry.register(twin_id, title or twin_id)
    except KeyError:
        raise click.ClickException(f"twin {twin_id!r} is already registered") from None
    click.echo(token)


@twins.command("rotate")
@DATA_OPTION
@click.argument("twin_id")
def twins_rotate(data, twin_id):
    """Issue a new publisher token (the old one stops working) and print it."""
    registry, _ = _registry(data)
    try:
        click.echo(registry.rotate_token(twin_id))
    except KeyError:
        raise click.ClickException(f"no twin {twin_id!r}") from None


@twins.command("revoke")
@DATA_OPTION
@click.argument("twin_id")
def twins_revoke(data, twin_id):
    """Revoke a twin's publisher token (only the admin can then write it, or issue a new one)."""
    registry, _ = _registry(data)
    try:
        registry.revoke_token(twin_id)
    except KeyError:
        raise click.ClickException(f"no twin {twin_id!r}") from None
    click.echo(f"token of {twin_id} revoked")


from .importing.cli import import_command  # noqa: E402  (issue 16: registered with one line)
main.add_command(import_command)

if __name__ == "__main__":
    main()
