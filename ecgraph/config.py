"""Settings of a node, declared once: each is a field of :class:`Config` with its help, its bounds
and how it is spelled on the command line and in the environment.

That one table drives everything else: the options of ``ecgraph serve`` (and of the commands that
share a setting, such as ``--data``), their ``--help``, the environment variables, an optional
TOML file, the validation of values and the README's table (``python -m ecgraph.config``). As in
Datasette's ``SETTINGS``. The option wins over the variable, the variable over the file, the file
over the default. Limits are explicit settings with safe defaults, as a public endpoint needs them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import click

#: an admin token can write everything: it must not be guessable
MIN_ADMIN_TOKEN_LENGTH = 32
PREFIX = "ECGRAPH_"


def setting(default: Any, help: str, *, option: str | None = None, minimum: float | None = None,
            maximum: float | None = None, choices: tuple[str, ...] | None = None, env_only: bool = False,
            metavar: str | None = None, shown: str | None = None, secret: bool = False) -> Any:
    """A setting: its default, what it does (one sentence, for ``--help`` and the README) and its
    bounds. ``option`` overrides the derived option name (``--peer`` for ``peers``); ``shown``
    the default as people read it (``50 MiB``)."""
    meta = {"help": help, "option": option, "minimum": minimum, "maximum": maximum, "choices": choices,
            "env_only": env_only, "metavar": metavar, "shown": shown, "secret": secret}
    if isinstance(default, list):
        return field(default_factory=list, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Config:
    data: Path = setting(Path("./ecgraph-data"), "Data directory: the store, the registry, the admin token.",
                         metavar="DIR", shown="./ecgraph-data")
    host: str = setting("127.0.0.1", "Interface to listen on.")
    port: int = setting(8080, "Port to listen on (0 picks a free one).", minimum=0, maximum=65535)
    public_url: str | None = setting(None, "The URL clients reach the node at: links in answers use it (without "
                                           "it, the URL each request came to).", metavar="URL")
    admin_token: str | None = setting(None, "Admin token, at least 32 characters; on the command line every user "
                                            "of the machine sees it in ps (prefer --admin-token-file).",
                                      shown="generated on first start into DATA/admin-token (mode 0600)", secret=True)
    admin_token_file: Path | None = setting(None, "Read the admin token from this file (kept out of ps).",
                                            metavar="PATH")
    no_demo: bool = setting(False, "Do not load the demo network into an empty store.")
    peers: list[str] = setting([], "A peer: another node's base URL or a SPARQL endpoint that SERVICE and URL "
                                   "pulls may reach (repeatable; space-separated in the variable).",
                               option="--peer", metavar="URL", shown="none")
    allow_hosts: list[str] = setting([], "A private or loopback host (or host:port) that URL pulls may reach "
                                         "(repeatable; space-separated in the variable).",
                                     option="--allow-host", metavar="HOST", shown="none")
    query_timeout: float = setting(10.0, "Seconds a query may run before it is stopped (503).", minimum=1)
    page_timeout: float = setting(10.0, "Seconds a page for people (directory, community, network, resource) may "
                                  "spend reading the store; past it the page answers 503.", minimum=0.001)
    catalog_part: int = setting(1000, "Resources (a twin's dataset with its fragments) one answer of /catalog's RDF "
                                      "holds; a larger catalog is read in parts, each linking the next (Hydra, "
                                      "a Link header).", minimum=1)
    max_result_rows: int = setting(100_000, "Rows (or triples) a query answer holds at most; the cut is announced.",
                                   minimum=1)
    max_query_bytes: int = setting(1024 * 1024, "The largest query or update text accepted (413 above it).",
                                   minimum=1, shown="1 MiB")
    query_memory_mb: int = setting(1024, "Memory ceiling of one query worker in MB: a query whose worker grows "
                                         "past it is stopped (503).", minimum=64)
    query_workers: int = setting(2, "Query worker processes (each holds a store snapshot).", minimum=1)
    answer_cache_mb: int = setting(64, "Memory in MB for finished query answers, kept until the next commit and "
                                       "served without a worker (0 keeps none).", minimum=0)
    max_upload_bytes: int = setting(50 * 1024 * 1024, "The largest upload, validator request or form field; a "
                                                      "body declared larger is refused (413) before it is read.",
                                    minimum=1, shown="50 MiB")
    max_triples: int = setting(2_000_000, "Triples one twin (after a merge too) or one validator request may hold.",
                               minimum=1)
    publish_timeout: float = setting(120.0, "Seconds one upload's parse, validation and inference, or one "
                                            "validator request, may take.", minimum=1)
    pipeline_workers: int = setting(1, "Publishing worker processes (each holds the compiled shapes).", minimum=1)
    validate_workers: int = setting(1, "Worker processes of the anonymous validator, apart from publishing.",
                                    minimum=1)
    eager_publishing_workers: bool = setting(False, "Start the publishing and validator workers with the node, "
                                             "not at the first upload or validation (a quicker first one; "
                                             "about 90 MB more held while none comes).")
    keep_versions: int = setting(10, "Superseded versions kept per twin.", minimum=0)
    fetch_timeout: float = setting(20.0, "Seconds one URL pull or validator URL may take, all of it.", minimum=1)
    peer_timeout: float = setting(5.0, "Seconds a peer has to answer a check, or to be brought up to date before "
                                       "a network query (then it is left out and the answer says so).",
                                  minimum=0.1)
    harvest_timeout: float = setting(300.0, "Seconds one harvest of one peer may take, all of it.", minimum=1)
    refresh_interval: float = setting(3600.0, "Seconds between refreshes of a twin registered with a source URL "
                                              "(per twin: its own interval); failures back off.", minimum=1)
    harvest_interval: float = setting(0.0, "Seconds between scheduled harvests of the ecgraph peers (0: only on "
                                           "demand, POST /api/peers/harvest or ecgraph harvest).", minimum=0)
    threads: int = setting(16, "HTTP server threads.", minimum=1)
    header_timeout: float = setting(10.0, "Seconds a client has to send a request's headers (from its first "
                                          "byte), and to send anything on an open connection (408).", minimum=0.1)
    min_body_rate: int = setting(10_000, "Bytes per second a request body must average after that grace (408).",
                                 minimum=0)
    dump_personal_data: bool = setting(False, "Put personal data (where a twin states a basis for it) in the bulk "
                                              "dump too; by default the dump leaves every personal statement out.")
    dump_wait: float = setting(10.0, "Seconds a request for the bulk dump waits for a newer one being made before "
                                     "it is given the last one (or 503 before the first).", minimum=0)
    dump_timeout: float = setting(3600.0, "Seconds the node may take to write one bulk dump (in a process of its "
                                          "own) before it is stopped.", minimum=1)
    max_connections: int = setting(1000, "Open HTTP connections (the open-files limit is raised to fit).", minimum=1)
    store: str | None = setting(None, "A remote SPARQL 1.1 store to keep the graph in, by its base URL (its "
                                      "/query, /update and /store below it unless overridden); the registry, "
                                      "versions and tokens stay in --data.", metavar="URL",
                                shown="the embedded store in --data")
    store_query: str | None = setting(None, "The remote store's query endpoint, where it is not BASE/query "
                                            "(a URL, or a path below --store).", metavar="URL", shown="STORE/query")
    store_update: str | None = setting(None, "The remote store's update endpoint, where it is not BASE/update.",
                                       metavar="URL", shown="STORE/update")
    store_graph_store: str | None = setting(None, "The remote store's Graph Store Protocol endpoint, where it is "
                                                  "not BASE/store.", metavar="URL", shown="STORE/store")
    store_writes: str = setting("auto", "How the node writes a change to a remote store: 'one-request' (one "
                                "SPARQL Update, a transaction on most stores), 'steps' (Graph Store requests "
                                "under the node's generation lock, with an undo journal in --data: for a store "
                                "that takes no large update, such as Virtuoso 7), or 'auto' (steps only when a "
                                "2,000-triple update is refused).", choices=("auto", "one-request", "steps"))
    store_credentials_file: Path | None = setting(None, "A file (mode 600) with the remote store's credentials: "
                                                        "user:password (HTTP Basic) or 'Bearer TOKEN'.",
                                                  env_only=True, metavar="PATH", shown="none")
    tile_url: str | None = setting(None, "Map tiles for the directory's map, as a Leaflet URL template "
                                         "(https://tile.example.org/{z}/{x}/{y}.png); without it the map draws "
                                         "the bundled country outlines and needs no network.", metavar="URL")
    default_graph: str = setting("union", "The default graph of queries: 'union' of every graph (read-only), or "
                                 "'own', a real graph the admin writes, as in a plain store.",
                                 choices=("union", "own"))
    log_format: str = setting("text", "Log lines as 'text' or as 'json' (one object a line: access log, publish, "
                              "reject, refresh, harvest).", choices=("text", "json"))

    @classmethod
    def load(cls, environ: dict | None = None, file: str | os.PathLike | None = None, **options: Any) -> Config:
        """Defaults, then a TOML ``file`` (or ``ECGRAPH_CONFIG``), then environment variables, then
        the given options (``None`` or an empty list = not given). Raises ValueError naming what
        is wrong."""
        env: Mapping[str, str] = os.environ if environ is None else environ
        config = cls()
        given: dict[str, int] = {}  # setting -> 1 from the file, 2 the environment, 3 an option
        path = file or env.get(PREFIX + "CONFIG")
        if path:
            for name, value in _read_file(Path(path)).items():
                config._set(name, value, f"{path}: {name}")
                given[name] = 1
        for f in fields(cls):
            variable = env_name(f.name)
            if env.get(variable) not in (None, ""):
                config._set(f.name, env[variable], variable)
                given[f.name] = 2
        for name, value in options.items():
            if value is None or (isinstance(value, (list, tuple)) and not value):
                continue
            if name not in {f.name for f in fields(cls)}:
                raise TypeError(f"unknown setting {name!r}")
            config._set(name, value, option_name(name))
            given[name] = 3
        config._read_admin_token_file(given)
        config.validate()
        return config

    def _set(self, name: str, value: Any, where: str) -> None:
        f = next((f for f in fields(self) if f.name == name), None)
        if f is None:
            raise ValueError(f"{where}: no such setting; see ecgraph serve --help")
        try:
            setattr(self, name, _coerce(f.type, value))
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {value!r} is not {_kind(f.type)}") from None

    def _read_admin_token_file(self, given: dict[str, int]) -> None:
        """The token file stands for the token: the one given at the higher level wins (an option
        over a variable); both at the same level is a mistake worth saying."""
        if self.admin_token_file is None:
            return
        if self.admin_token is not None:
            if given.get("admin_token") == given.get("admin_token_file"):
                raise ValueError("give the admin token once: --admin-token-file (ECGRAPH_ADMIN_TOKEN_FILE) "
                                 "or --admin-token (ECGRAPH_ADMIN_TOKEN), not both")
            if given.get("admin_token", 0) > given.get("admin_token_file", 0):
                self.admin_token_file = None
                return
        try:
            token = self.admin_token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the admin token file {self.admin_token_file}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None
        if not token:
            raise ValueError(f"the admin token file {self.admin_token_file} is empty")
        self.admin_token = token

    def validate(self) -> None:
        for f in fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if meta.get("minimum") is not None and not value >= meta["minimum"]:
                    raise ValueError(f"{option_name(f.name)} must be at least {meta['minimum']:g}, not {value}")
                if meta.get("maximum") is not None and not value <= meta["maximum"]:
                    raise ValueError(f"{option_name(f.name)} must be at most {meta['maximum']:g}, not {value}")
            if meta.get("choices") and value not in meta["choices"]:
                raise ValueError(f"{option_name(f.name)} must be one of {', '.join(meta['choices'])}, not {value!r}")
        if self.admin_token is not None and len(self.admin_token) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(f"the admin token is {len(self.admin_token)} characters long; a token that can "
                             f"write everything needs at least {MIN_ADMIN_TOKEN_LENGTH} (make one with: "
                             "python -c 'import secrets; print(secrets.token_urlsafe(32))')")

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"http://{host}:{self.port}"


# --- names, types and files -----------------------------------------------------------------------

def env_name(name: str) -> str:
    return PREFIX + name.upper()


def option_name(name: str) -> str:
    meta = _field(name).metadata
    return meta.get("option") or "--" + name.replace("_", "-")


def _field(name: str):
    return next(f for f in fields(Config) if f.name == name)


def _base_type(annotation: Any) -> str:
    text = str(annotation)
    for kind in ("list", "Path", "bool", "int", "float", "str"):
        if text.startswith(kind) or f"{kind} |" in text or text == kind:
            return kind
    return "str"


def _kind(annotation: Any) -> str:
    return {"list": "a list", "Path": "a path", "bool": "true or false", "int": "a whole number",
            "float": "a number", "str": "text"}[_base_type(annotation)]


def _coerce(annotation: Any, value: Any) -> Any:
    kind = _base_type(annotation)
    if kind == "list":
        return [v for v in value.split() if v] if isinstance(value, str) else [str(v) for v in value]
    if kind == "Path":
        return Path(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(value)
    if kind == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value)
    if kind == "float":
        return float(value)
    return str(value)


def _read_file(path: Path) -> dict[str, Any]:
    """A TOML file of settings, by the names of this table (``query_timeout = 20`` or
    ``query-timeout = 20``), at its top level or under ``[ecgraph]``."""
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except OSError as exc:
        raise ValueError(f"cannot read the configuration file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"the configuration file {path} is not TOML: {exc}") from None
    table = document.get("ecgraph", document)
    return {key.replace("-", "_"): value for key, value in table.items()}


# --- the command line and the README --------------------------------------------------------------

def _default_text(f) -> str:
    meta = f.metadata
    if meta.get("shown"):
        return meta["shown"]
    default = f.default if f.default is not MISSING else None
    if default is None:
        return "none"
    if isinstance(default, bool):
        return "off" if not default else "on"
    if isinstance(default, float) and default.is_integer():
        return f"{int(default)}"
    return str(default)


def options(*names: str) -> Callable[[Callable], Callable]:
    """Click options for these settings (all of them without names), generated from the table:
    the option's name, type, help, environment variable and default. Values stay None when not
    given, so that :meth:`Config.load` can apply the environment, the file and the defaults."""
    chosen = [f for f in fields(Config) if not names or f.name in names]

    def decorate(command: Callable) -> Callable:
        for f in reversed(chosen):
            meta = f.metadata
            if meta.get("env_only"):
                continue
            kind = _base_type(f.type)
            help_text = f"{meta['help']} [env {env_name(f.name)}; default {_default_text(f)}]"
            decls = [option_name(f.name), f.name]
            if kind == "bool":
                command = click.option(*decls, is_flag=True, default=None, help=help_text)(command)
            elif kind == "list":
                command = click.option(*decls, multiple=True, metavar=meta.get("metavar"), help=help_text)(command)
            else:
                click_type = {"int": int, "float": float, "Path": click.Path(path_type=Path), "str": str}[kind]
                command = click.option(*decls, type=click_type, default=None, metavar=meta.get("metavar"),
                                       help=help_text)(command)
        return command

    return decorate


def markdown_table() -> str:
    """The README's table of settings."""
    rows = ["| option | variable | default | what it sets |", "| --- | --- | --- | --- |"]
    for f in fields(Config):
        meta = f.metadata
        option = "(variable only)" if meta.get("env_only") else f"`{option_name(f.name)}`"
        if meta.get("option") and _base_type(f.type) == "list":
            option += " (repeatable)"
        rows.append(f"| {option} | `{env_name(f.name)}` | {_default_text(f)} | {meta['help']} |")
    rows.append(f"| `--config FILE` | `{PREFIX}CONFIG` | none | A TOML file of these settings, by name "
                "(`query_timeout = 20`); the environment and the options win over it. |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m ecgraph.config: the README's table
    print(markdown_table())
