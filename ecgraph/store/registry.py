"""Who may write which twin, the versions a twin had, and the last report each upload got.

Kept in SQLite beside the graph store rather than in it: the store's default graph is the public
union of everything, and token hashes, superseded versions and validation reports must not show up
in anyone's query results. SQLite gives us durable, transactional bookkeeping for free.

Tokens are random (256 bits) and stored as SHA-256 hashes: a high-entropy secret needs no slow
password hash, and a leaked database gives nobody a usable token.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

TWIN_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
TOKEN_PREFIX = "ecg_"


def valid_twin_id(value: str) -> bool:
    return isinstance(value, str) and TWIN_ID.fullmatch(value) is not None


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_hint(token: str) -> str:
    """Enough of a token to tell two apart in a log, never enough to use it."""
    return token[:8] + "…"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Twin:
    """A registration as one read of the registry gives it: enough to authorise a write (the token's
    hash), apply the authority rule (its namespaces) and number the next version."""

    id: str
    title: str
    created: str
    token_issued: str | None
    revoked: bool
    token_hash: str | None = None
    namespaces: list[str] = field(default_factory=list)
    #: the highest version in its archive (0 if none)
    last_archived: int = 0

    def grants(self, token: str) -> bool:
        return self.token_hash is not None and hmac.compare_digest(self.token_hash, hash_token(token))

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "registered_at": self.created,
                "token_issued": self.token_issued, "token_revoked": self.revoked, "namespaces": self.namespaces}


@dataclass
class Version:
    twin_id: str
    version: int
    archived: str
    metadata: dict


_SCHEMA = """
CREATE TABLE IF NOT EXISTS twins (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created TEXT NOT NULL,
    token_hash TEXT,
    token_issued TEXT,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS versions (
    twin_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    archived TEXT NOT NULL,
    metadata TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (twin_id, version)
);
CREATE TABLE IF NOT EXISTS reports (
    twin_id TEXT PRIMARY KEY,
    version INTEGER,
    created TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS namespaces (
    prefix TEXT PRIMARY KEY,
    twin_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS namespaces_twin ON namespaces (twin_id);
CREATE TABLE IF NOT EXISTS bulk_pending (
    graph TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    twin TEXT NOT NULL,
    version INTEGER,
    hash TEXT,
    kind TEXT NOT NULL,
    home TEXT
);
CREATE TABLE IF NOT EXISTS erasures (
    seq INTEGER PRIMARY KEY,
    digests TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS peers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL,
    added TEXT NOT NULL,
    approved INTEGER NOT NULL DEFAULT 1,
    state TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS sources (
    twin_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    interval REAL,
    state TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS harvested (
    peer_id INTEGER NOT NULL,
    twin TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (peer_id, twin)
);
"""


class Registry:
    def __init__(self, path: str | Path, *, keep_versions: int = 10):
        self.path = Path(path)
        self.keep_versions = keep_versions
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _tx(self):
        return _Transaction(self._db, self._lock)

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        """One connection is shared by the server's threads: reads take the same lock as writes
        so that none of them runs inside another thread's open transaction."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- twins and tokens ---------------------------------------------------------------------

    def register(self, twin_id: str, title: str, namespaces: list[str] | tuple[str, ...] = ()) -> str:
        """Register a twin and return its publisher token (the only time it exists in clear). A new
        registration starts with no history: versions and reports a previous holder of the same id
        left are gone (the caller checks that ``namespaces`` overlap nobody's)."""
        if not valid_twin_id(twin_id):
            raise ValueError("twin ids are slugs: [a-z0-9][a-z0-9-]{0,62}")
        token = new_token()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM twins WHERE id = ?", (twin_id,)).fetchone():
                raise KeyError(twin_id)
            self._forget(db, twin_id)
            db.execute("INSERT INTO twins (id, title, created, token_hash, token_issued) VALUES (?, ?, ?, ?, ?)",
                       (twin_id, title, now(), hash_token(token), now()))
            db.executemany("INSERT INTO namespaces (prefix, twin_id) VALUES (?, ?)",
                           [(prefix, twin_id) for prefix in namespaces])
        return token

    def rotate_token(self, twin_id: str) -> str:
        token = new_token()
        with self._tx() as db:
            cur = db.execute("UPDATE twins SET token_hash = ?, token_issued = ?, revoked = 0 WHERE id = ?",
                             (hash_token(token), now(), twin_id))
            if cur.rowcount == 0:
                raise KeyError(twin_id)
        return token

    def revoke_token(self, twin_id: str) -> None:
        with self._tx() as db:
            cur = db.execute("UPDATE twins SET token_hash = NULL, revoked = 1 WHERE id = ?", (twin_id,))
            if cur.rowcount == 0:
                raise KeyError(twin_id)

    _TWIN = ("SELECT id, title, created, token_issued, revoked, token_hash, "
             "(SELECT group_concat(prefix, ' ') FROM namespaces n WHERE n.twin_id = t.id), "
             "(SELECT max(version) FROM versions v WHERE v.twin_id = t.id) FROM twins t")

    @staticmethod
    def _twin_row(r) -> Twin:
        return Twin(r[0], r[1], r[2], r[3], bool(r[4]), r[5], sorted((r[6] or "").split()), r[7] or 0)

    def twin(self, twin_id: str) -> Twin | None:
        """A registration, its namespaces and its last archived version, in one read."""
        row = next(iter(self._read(self._TWIN + " WHERE id = ?", (twin_id,))), None)
        return self._twin_row(row) if row else None

    def twins_of(self, twin_ids: list[str]) -> dict[str, Twin]:
        """The registrations of ``twin_ids`` (those that exist), in a few reads rather than one a
        twin: a bulk load of 1,000 twins spent 1.5 s on 2,040 single reads."""
        found: dict[str, Twin] = {}
        for start in range(0, len(twin_ids), 500):  # under SQLite's bound on a statement's parameters
            chunk = twin_ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            found.update((r[0], self._twin_row(r)) for r in self._read(self._TWIN + f" WHERE id IN ({marks})",
                                                                        tuple(chunk)))
        return found

    def twins(self) -> list[Twin]:
        return [self._twin_row(r) for r in self._read(self._TWIN + " ORDER BY id")]

    def count_twins(self) -> int:
        """How many twins are registered (``/health`` and ``/metrics`` ask at every probe: reading
        every registration with its namespaces and last version took 10 ms at 1,000 twins)."""
        return int(self._read("SELECT COUNT(*) FROM twins")[0][0])

    def unregister(self, twin_id: str) -> None:
        """Forget a twin: its registration, token, namespaces, versions and reports."""
        with self._tx() as db:
            db.execute("DELETE FROM twins WHERE id = ?", (twin_id,))
            self._forget(db, twin_id)

    @staticmethod
    def _forget(db: sqlite3.Connection, twin_id: str) -> None:
        for table in ("versions", "reports", "namespaces", "sources"):
            db.execute(f"DELETE FROM {table} WHERE twin_id = ?", (twin_id,))

    # --- namespaces (the authority rule, see ecgraph.publish.authority) ---------------------------------

    def namespaces(self, twin_id: str) -> list[str]:
        return [r[0] for r in self._read("SELECT prefix FROM namespaces WHERE twin_id = ? ORDER BY prefix",
                                          (twin_id,))]

    def claims(self) -> list[tuple[str, str]]:
        """Every twin's namespaces as (prefix, twin id), sorted by prefix."""
        return [(r[0], r[1]) for r in self._read("SELECT prefix, twin_id FROM namespaces ORDER BY prefix")]

    def claim(self, twin_id: str, namespaces: list[str]) -> None:
        """Fix a twin's namespaces (at its first accepted upload)."""
        with self._tx() as db:
            db.executemany("INSERT OR IGNORE INTO namespaces (prefix, twin_id) VALUES (?, ?)",
                           [(prefix, twin_id) for prefix in namespaces])

    def record_published(self, items: list[tuple[str, list[str], int, str]]) -> None:
        """A bulk load's twins, in one transaction: each one's namespaces fixed (:meth:`claim`) and
        its ``published`` change recorded (:meth:`record_change`); items are (twin id, namespaces,
        version, content hash)."""
        stamp = now()
        with self._tx() as db:
            db.executemany("INSERT OR IGNORE INTO namespaces (prefix, twin_id) VALUES (?, ?)",
                           [(prefix, twin_id) for twin_id, namespaces, _, _ in items for prefix in namespaces])
            db.executemany("INSERT INTO changes (time, twin, version, hash, kind, home) VALUES (?, ?, ?, ?, ?, ?)",
                           [(stamp, twin_id, version, digest, "published", None)
                            for twin_id, _, version, digest in items])

    # --- bulk loads in progress -----------------------------------------------------------------

    def mark_bulk(self, graphs: list[str]) -> None:
        """Remember the graphs a bulk load is about to write, before it writes them: if it is
        interrupted, the next start removes exactly these (and nothing an admin wrote)."""
        with self._tx() as db:
            db.executemany("INSERT OR IGNORE INTO bulk_pending (graph) VALUES (?)", [(g,) for g in graphs])

    def bulk_pending(self) -> list[str]:
        return [r[0] for r in self._read("SELECT graph FROM bulk_pending ORDER BY graph")]

    def clear_bulk(self, graphs: list[str] | None = None) -> None:
        with self._tx() as db:
            if graphs is None:
                db.execute("DELETE FROM bulk_pending")
            else:
                db.executemany("DELETE FROM bulk_pending WHERE graph = ?", [(g,) for g in graphs])

    # --- versions -----------------------------------------------------------------------------

    @staticmethod
    def pack(ntriples: str) -> bytes:
        """A version's N-Triples as :meth:`archive` keeps them (compressed: a publish packs the
        version it replaces while its upload is prepared, outside the write lock)."""
        return gzip.compress((ntriples + "\n").encode(), compresslevel=5)

    def archive(self, twin_id: str, version: int, metadata: dict, packed: bytes) -> None:
        """Keep a superseded version (its N-Triples :meth:`pack`-ed). Idempotent: archiving the
        same version twice (after a crash between archiving and committing) keeps one copy. Old
        versions go in :meth:`prune`, once the commit that supersedes this one is done."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO versions (twin_id, version, archived, metadata, data) "
                       "VALUES (?, ?, ?, ?, ?)", (twin_id, version, now(), json.dumps(metadata), packed))

    def prune(self, twin_id: str) -> None:
        """Keep a twin's newest ``keep_versions`` archived versions. Called after the commit: pruning
        when archiving dropped one version too many whenever that commit never came (a crash)."""
        with self._tx() as db:
            db.execute("DELETE FROM versions WHERE twin_id = ? AND version NOT IN "
                       "(SELECT version FROM versions WHERE twin_id = ? ORDER BY version DESC LIMIT ?)",
                       (twin_id, twin_id, self.keep_versions))

    def versions(self, twin_id: str) -> list[Version]:
        rows = self._read("SELECT twin_id, version, archived, metadata FROM versions WHERE twin_id = ? "
                          "ORDER BY version DESC", (twin_id,))
        return [Version(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def version_data(self, twin_id: str, version: int) -> bytes | None:
        if not 0 < version < 2 ** 63:  # no such version can exist (and SQLite cannot even be asked)
            return None
        row = next(iter(self._read("SELECT data FROM versions WHERE twin_id = ? AND version = ?",
                                   (twin_id, version))), None)
        return gzip.decompress(row[0]) if row else None

    def rewrite_versions(self, twin_id: str, rewrite) -> dict[int, int]:
        """Rewrite the data of a twin's archived versions (an erasure): ``rewrite(ntriples)``
        returns ``(new ntriples, statements removed)``. One transaction, with SQLite's
        secure_delete on so that the old pages are zeroed, and the write-ahead log truncated after
        it, so that no copy of the erased data stays in the file. Returns the versions changed and
        how many statements each lost."""
        changed: dict[int, int] = {}
        with self._lock:
            rows = self._db.execute("SELECT version, data FROM versions WHERE twin_id = ?", (twin_id,)).fetchall()
        updates = []
        for version, blob in rows:
            data, removed = rewrite(gzip.decompress(blob))
            if removed:
                updates.append((gzip.compress(data, compresslevel=5), twin_id, version))
                changed[version] = removed
        if updates:
            with self._lock:
                self._db.execute("PRAGMA secure_delete = ON")
            with self._tx() as db:
                db.executemany("UPDATE versions SET data = ? WHERE twin_id = ? AND version = ?", updates)
            with self._lock:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return changed

    # --- reports ------------------------------------------------------------------------------

    def save_report(self, twin_id: str, version: int | None, report: dict) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO reports (twin_id, version, created, report) VALUES (?, ?, ?, ?)",
                       (twin_id, version, now(), json.dumps(report)))

    def save_reports(self, items: list[tuple[str, int | None, dict]]) -> None:
        """Many reports in one transaction (a bulk load)."""
        stamp = now()
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO reports (twin_id, version, created, report) VALUES (?, ?, ?, ?)",
                           [(twin_id, version, stamp, json.dumps(report)) for twin_id, version, report in items])

    def report_version(self, twin_id: str) -> int | None:
        """The version the saved report is of (None: no report, or a report of no version)."""
        row = next(iter(self._read("SELECT version FROM reports WHERE twin_id = ?", (twin_id,))), None)
        return row[0] if row else None

    def report(self, twin_id: str) -> dict | None:
        row = next(iter(self._read("SELECT report FROM reports WHERE twin_id = ?", (twin_id,))), None)
        return json.loads(row[0]) if row else None

    # --- the change stream (see ecgraph.network.changes) ------------------------------------------

    def record_change(self, twin: str, version: int | None, content_hash: str | None, kind: str,
                      home: str | None = None) -> int:
        """Append one change (a twin published, replaced, deleted; a copy harvested or dropped, with
        its ``home`` node) and return its sequence number, which only grows."""
        with self._tx() as db:
            cur = db.execute("INSERT INTO changes (time, twin, version, hash, kind, home) VALUES (?, ?, ?, ?, ?, ?)",
                             (now(), twin, version, content_hash, kind, home))
            return int(cur.lastrowid or 0)

    def record_erasure(self, twin: str, version: int | None, content_hash: str | None, digests: list[str],
                       home: str | None = None) -> int:
        """Append an ``erased`` change with the digests of what was erased (one transaction)."""
        with self._tx() as db:
            cur = db.execute("INSERT INTO changes (time, twin, version, hash, kind, home) VALUES (?, ?, ?, ?, ?, ?)",
                             (now(), twin, version, content_hash, "erased", home))
            seq = int(cur.lastrowid or 0)
            db.execute("INSERT INTO erasures (seq, digests) VALUES (?, ?)", (seq, json.dumps(digests)))
            return seq

    def changes(self, since: int = 0, limit: int = 100) -> list[dict]:
        rows = self._read("SELECT c.seq, c.time, c.twin, c.version, c.hash, c.kind, c.home, e.digests FROM changes c "
                          "LEFT JOIN erasures e ON e.seq = c.seq WHERE c.seq > ? ORDER BY c.seq LIMIT ?",
                          (since, limit))
        return [{"seq": r[0], "time": r[1], "twin": r[2], "version": r[3], "hash": r[4], "kind": r[5],
                 **({"home": r[6]} if r[6] else {}), **({"erase": json.loads(r[7])} if r[7] else {})} for r in rows]

    def last_change(self) -> int:
        return int(self._read("SELECT coalesce(max(seq), 0) FROM changes")[0][0])

    # --- peers and what was harvested from them (see ecgraph.network) ------------------------------

    def peers(self) -> list[dict]:
        rows = self._read("SELECT id, url, origin, added, approved, state FROM peers ORDER BY id")
        return [{"id": r[0], "url": r[1], "origin": r[2], "added": r[3], "approved": bool(r[4]),
                 "state": json.loads(r[5])} for r in rows]

    def add_peer(self, url: str, origin: str, approved: bool = True) -> tuple[int, bool]:
        """Add a peer (or find it): its id, and whether it is new."""
        with self._tx() as db:
            row = db.execute("SELECT id FROM peers WHERE url = ?", (url,)).fetchone()
            if row:
                return int(row[0]), False
            cur = db.execute("INSERT INTO peers (url, origin, added, approved) VALUES (?, ?, ?, ?)",
                             (url, origin, now(), int(approved)))
            return int(cur.lastrowid or 0), True

    def approve_peer(self, peer_id: int) -> bool:
        with self._tx() as db:
            return db.execute("UPDATE peers SET approved = 1 WHERE id = ?", (peer_id,)).rowcount > 0

    def remove_peer(self, peer_id: int) -> bool:
        with self._tx() as db:
            db.execute("DELETE FROM harvested WHERE peer_id = ?", (peer_id,))
            return db.execute("DELETE FROM peers WHERE id = ?", (peer_id,)).rowcount > 0

    def set_peer_state(self, peer_id: int, state: dict) -> None:
        with self._tx() as db:
            db.execute("UPDATE peers SET state = ? WHERE id = ?", (json.dumps(state), peer_id))

    def harvested(self, peer_id: int) -> dict[str, dict]:
        rows = self._read("SELECT twin, state FROM harvested WHERE peer_id = ? ORDER BY twin", (peer_id,))
        return {r[0]: json.loads(r[1]) for r in rows}

    def set_harvested(self, peer_id: int, twin: str, state: dict | None) -> None:
        """Remember what the copy of a peer's twin holds (``None``: it is gone)."""
        with self._tx() as db:
            if state is None:
                db.execute("DELETE FROM harvested WHERE peer_id = ? AND twin = ?", (peer_id, twin))
            else:
                db.execute("INSERT OR REPLACE INTO harvested (peer_id, twin, state) VALUES (?, ?, ?)",
                           (peer_id, twin, json.dumps(state)))

    # --- twins that stay at home: their source URLs (see ecgraph.network.sources) ------------------

    def set_source(self, twin_id: str, url: str | None, interval: float | None = None) -> None:
        with self._tx() as db:
            if url is None:
                db.execute("DELETE FROM sources WHERE twin_id = ?", (twin_id,))
            else:
                db.execute("INSERT OR REPLACE INTO sources (twin_id, url, interval, state) VALUES (?, ?, ?, '{}')",
                           (twin_id, url, interval))

    def sources(self) -> dict[str, dict]:
        rows = self._read("SELECT twin_id, url, interval, state FROM sources ORDER BY twin_id")
        return {r[0]: {"url": r[1], "interval": r[2], "state": json.loads(r[3])} for r in rows}

    def source(self, twin_id: str) -> dict | None:
        rows = self._read("SELECT url, interval, state FROM sources WHERE twin_id = ?", (twin_id,))
        return {"url": rows[0][0], "interval": rows[0][1], "state": json.loads(rows[0][2])} if rows else None

    def set_source_state(self, twin_id: str, state: dict) -> None:
        with self._tx() as db:
            db.execute("UPDATE sources SET state = ? WHERE twin_id = ?", (json.dumps(state), twin_id))

    # --- settings -----------------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        row = next(iter(self._read("SELECT value FROM settings WHERE key = ?", (key,))), None)
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))


class _Transaction:
    def __init__(self, db: sqlite3.Connection, lock: threading.Lock):
        self.db = db
        self.lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        try:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()
        return False
