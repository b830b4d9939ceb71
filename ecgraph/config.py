"""Settings of a node: every one is a command-line option and an environment variable.

The option wins over the variable, the variable over the default (see CONTRACT.md). Limits are
explicit settings with safe defaults, as a public endpoint needs them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path


#: an admin token can write everything: it must not be guessable
MIN_ADMIN_TOKEN_LENGTH = 32


def _env_bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Config:
    data: Path = Path("./ecgraph-data")
    host: str = "127.0.0.1"
    port: int = 8080
    admin_token: str | None = None
    query_timeout: float = 10.0
    max_upload_bytes: int = 50 * 1024 * 1024
    max_result_rows: int = 100_000
    peers: list[str] = field(default_factory=list)
    no_demo: bool = False
    #: query worker processes (each holds a store snapshot)
    query_workers: int = 2
    #: publishing worker processes (each holds the compiled shapes)
    pipeline_workers: int = 1
    #: worker processes of the anonymous validator (/api/validate, /validate), apart from publishing
    validate_workers: int = 1
    #: the most resident memory one query worker may reach (MB) before its query is stopped
    query_memory_mb: int = 1024
    #: the largest query or update text accepted, in bytes (413 above it)
    max_query_bytes: int = 1024 * 1024
    #: time limit for one upload's parse + validate + infer, and for one validator request
    publish_timeout: float = 120.0
    #: triple cap of one upload or validation request
    max_triples: int = 2_000_000
    #: HTTP server threads
    threads: int = 16
    #: superseded versions kept per twin
    keep_versions: int = 10
    #: hosts (or host:port) that URL pulls may reach even though they are private or loopback
    allow_hosts: list[str] = field(default_factory=list)
    #: time limit and size cap of one URL pull
    fetch_timeout: float = 20.0
    #: the URL the node is reachable at, for links in the catalog and service description
    public_url: str | None = None
    #: a file holding the admin token (kept out of ``ps``, unlike --admin-token)
    admin_token_file: Path | None = None
    #: seconds a client has to send a request's headers (from its first byte), and to send
    #: anything at all on an open connection
    header_timeout: float = 10.0
    #: bytes/s a request body must average after header_timeout seconds of grace
    min_body_rate: int = 10_000
    #: open HTTP connections (the open-files limit is raised to fit)
    max_connections: int = 1000

    ENV = {
        "data": "ECGRAPH_DATA",
        "host": "ECGRAPH_HOST",
        "port": "ECGRAPH_PORT",
        "admin_token": "ECGRAPH_ADMIN_TOKEN",
        "query_timeout": "ECGRAPH_QUERY_TIMEOUT",
        "max_upload_bytes": "ECGRAPH_MAX_UPLOAD_BYTES",
        "max_result_rows": "ECGRAPH_MAX_RESULT_ROWS",
        "peers": "ECGRAPH_PEERS",
        "no_demo": "ECGRAPH_NO_DEMO",
        "query_workers": "ECGRAPH_QUERY_WORKERS",
        "pipeline_workers": "ECGRAPH_PIPELINE_WORKERS",
        "validate_workers": "ECGRAPH_VALIDATE_WORKERS",
        "query_memory_mb": "ECGRAPH_QUERY_MEMORY_MB",
        "max_query_bytes": "ECGRAPH_MAX_QUERY_BYTES",
        "publish_timeout": "ECGRAPH_PUBLISH_TIMEOUT",
        "max_triples": "ECGRAPH_MAX_TRIPLES",
        "threads": "ECGRAPH_THREADS",
        "keep_versions": "ECGRAPH_KEEP_VERSIONS",
        "allow_hosts": "ECGRAPH_ALLOW_HOSTS",
        "fetch_timeout": "ECGRAPH_FETCH_TIMEOUT",
        "public_url": "ECGRAPH_PUBLIC_URL",
        "admin_token_file": "ECGRAPH_ADMIN_TOKEN_FILE",
        "header_timeout": "ECGRAPH_HEADER_TIMEOUT",
        "min_body_rate": "ECGRAPH_MIN_BODY_RATE",
        "max_connections": "ECGRAPH_MAX_CONNECTIONS",
    }

    @classmethod
    def load(cls, environ: dict | None = None, **options) -> "Config":
        """Defaults, then environment variables, then the given options (``None`` = not given)."""
        environ = os.environ if environ is None else environ
        config = cls()
        given: dict[str, int] = {}  # setting -> 1 from the environment, 2 from an option
        for f in fields(cls):
            variable = cls.ENV.get(f.name)
            if variable and environ.get(variable) not in (None, ""):
                setattr(config, f.name, _coerce(f.name, environ[variable], getattr(config, f.name)))
                given[f.name] = 1
        for name, value in options.items():
            if value is None or (isinstance(value, (list, tuple)) and not value):
                continue
            if not hasattr(config, name):
                raise TypeError(f"unknown setting {name!r}")
            setattr(config, name, _coerce(name, value, getattr(config, name)))
            given[name] = 2
        config._read_admin_token_file(given)
        config.validate()
        return config

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
        if self.query_timeout <= 0:
            raise ValueError("query timeout must be positive")
        if self.max_upload_bytes <= 0 or self.max_result_rows <= 0 or self.max_query_bytes <= 0:
            raise ValueError("limits must be positive")
        if self.query_memory_mb < 64:
            raise ValueError("the query memory ceiling must be at least 64 MB")
        if not (0 <= self.port <= 65535):
            raise ValueError("port must be within 0..65535")
        if self.admin_token is not None and len(self.admin_token) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(f"the admin token is {len(self.admin_token)} characters long; a token that can "
                             f"write everything needs at least {MIN_ADMIN_TOKEN_LENGTH} (make one with: "
                             "python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        if self.header_timeout <= 0 or self.min_body_rate < 0 or self.max_connections < 1:
            raise ValueError("the header timeout and the connection limit must be positive, the minimum "
                             "body rate not negative")

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"http://{host}:{self.port}"


def _coerce(name: str, value, current):
    if name in ("peers", "allow_hosts"):
        if isinstance(value, str):
            return [v for v in value.split() if v]
        return list(value)
    if name in ("data", "admin_token_file"):
        return Path(value)
    if name == "no_demo":
        return value if isinstance(value, bool) else _env_bool(str(value))
    if isinstance(current, bool):
        return value if isinstance(value, bool) else _env_bool(str(value))
    if isinstance(current, int) and not isinstance(current, bool):
        return int(value)
    if isinstance(current, float):
        return float(value)
    return value
