"""The discovery index: what :mod:`ecgraph.discovery.features` extracted from each twin, kept in
SQLite (``discovery.sqlite3`` beside the registry) in step with publishing.

One twin is replaced or removed in one SQLite transaction (every row of a twin carries its id), so
a reader sees a twin's old features or its new ones, never half. Each twin's row in ``twins`` holds
the version and content hash it was indexed from: at start the node compares them with its
catalog and re-indexes what differs (a crash between the store's commit and the index's, a
database deleted by hand, a node that predates discovery), and drops what the catalog no longer has.

Lessons, best practices, initiatives and events are in an FTS5 table, one row per item and language
(an untagged text goes with every language), with the labels of their topics in that language, so
"écoles" finds a lesson written in English about ec:topic-schools.

A removed twin leaves a small note in ``gone`` (its communities' and networks' names and the places
they were in), so that the feeds can say what went away and where; indexing the twin again clears it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from ecgraph.discovery.features import Community, Extracted
from ecgraph.discovery.vocab import LANGUAGES, Vocabulary, vocabulary

SCHEMA = """
CREATE TABLE IF NOT EXISTS twins (twin_id TEXT PRIMARY KEY, version INTEGER, content_hash TEXT, indexed TEXT);
CREATE TABLE IF NOT EXISTS communities (
    iri TEXT PRIMARY KEY, twin_id TEXT NOT NULL, network TEXT, lau TEXT, nuts TEXT, features TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS communities_twin ON communities (twin_id);
CREATE INDEX IF NOT EXISTS communities_network ON communities (network);
CREATE TABLE IF NOT EXISTS facets (
    community TEXT NOT NULL, twin_id TEXT NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS facets_value ON facets (facet, value);
CREATE INDEX IF NOT EXISTS facets_twin ON facets (twin_id);
CREATE TABLE IF NOT EXISTS networks (iri TEXT NOT NULL, twin_id TEXT NOT NULL, names TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS networks_twin ON networks (twin_id);
CREATE TABLE IF NOT EXISTS indicators (
    community TEXT NOT NULL, twin_id TEXT NOT NULL, indicator TEXT NOT NULL, period_start TEXT NOT NULL,
    period_end TEXT NOT NULL, value REAL, family TEXT, raw_value REAL, raw_unit TEXT);
CREATE INDEX IF NOT EXISTS indicators_kpi ON indicators (indicator, period_start, period_end);
CREATE INDEX IF NOT EXISTS indicators_twin ON indicators (twin_id);
CREATE INDEX IF NOT EXISTS indicators_community ON indicators (community);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY, twin_id TEXT NOT NULL, iri TEXT, kind TEXT NOT NULL, owner TEXT NOT NULL,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS items_twin ON items (twin_id);
CREATE INDEX IF NOT EXISTS items_owner ON items (owner);
CREATE TABLE IF NOT EXISTS item_topics (item INTEGER NOT NULL, topic TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS item_topics_topic ON item_topics (topic);
CREATE INDEX IF NOT EXISTS item_topics_item ON item_topics (item);
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5 (
    title, summary, worked, did_not_work, topics, lang UNINDEXED, item UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS tools (
    tool TEXT, twin_id TEXT NOT NULL, relation TEXT NOT NULL, owner TEXT NOT NULL, names TEXT NOT NULL,
    category TEXT, description TEXT NOT NULL, url TEXT);
CREATE INDEX IF NOT EXISTS tools_twin ON tools (twin_id);
CREATE TABLE IF NOT EXISTS gone (twin_id TEXT PRIMARY KEY, data TEXT NOT NULL);
"""

#: the version of what :func:`ecgraph.discovery.features.extract` keeps; bump it when that changes
#: (2: only public contact points, as the pages show)
EXTRACTION = 2


class Index:
    """The discovery database. Thread-safe: one connection, one lock (reads are short)."""

    def __init__(self, path: str | Path, vocab: Vocabulary | None = None):
        self.path = Path(path)
        self.vocab = vocab or vocabulary()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # what a twin no longer says (an erasure of personal data) is overwritten, not left in free space
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(SCHEMA)
        if self._db.execute("PRAGMA user_version").fetchone()[0] != EXTRACTION:
            # what is extracted from a twin changed (e.g. which contact points are public): the
            # index starts empty and the sync at start extracts every twin again; old rows are
            # overwritten on disk (secure_delete), not left behind
            for table in ("twins", "communities", "facets", "networks", "indicators", "items", "item_topics",
                          "items_fts", "tools"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - the names above, no input
            self._db.execute(f"PRAGMA user_version={EXTRACTION}")
        self.lock = threading.RLock()
        #: bumped at every change: caches built from the index compare it
        self.generation = 0
        #: (generation, twin id) of recent changes, so a cache refreshes only the twins that changed
        self._log: list[tuple[int, str]] = []
        #: changes up to this generation are no longer in the log
        self._log_floor = 0

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def read(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        with self.lock:
            return self._db.execute(sql, params).fetchall()

    # --- keeping in step ------------------------------------------------------------------------

    def indexed(self) -> dict[str, tuple[int, str]]:
        """Twin id -> (version, content hash) of what the index holds."""
        return {r[0]: (r[1], r[2]) for r in self.read("SELECT twin_id, version, content_hash FROM twins")}

    def replace(self, twin_id: str, version: int, content_hash: str, extracted: Extracted, stamp: str = "") -> None:
        """Put one twin's features in place of what the index held for it, in one transaction."""
        with self.lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                self._delete(twin_id)
                db.execute("DELETE FROM gone WHERE twin_id = ?", (twin_id,))
                for c in extracted.communities:
                    self._insert_community(c)
                for iri, names in extracted.networks.items():
                    db.execute("INSERT INTO networks VALUES (?, ?, ?)", (iri, twin_id, json.dumps(names)))
                db.executemany("INSERT INTO indicators VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               [(i[0], twin_id, *i[1:]) for i in extracted.indicators])
                for item in extracted.items:
                    self._insert_item(twin_id, item)
                db.executemany("INSERT INTO tools VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               [(t[0], twin_id, t[1], t[2], json.dumps(t[3]), t[4], json.dumps(t[5]), t[6])
                                for t in extracted.tools])
                db.execute("INSERT INTO twins VALUES (?, ?, ?, ?)", (twin_id, version, content_hash, stamp))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._changed(twin_id)

    def remove(self, twin_id: str) -> None:
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                note = self._note(twin_id)
                self._delete(twin_id)
                if note is not None:
                    self._db.execute("INSERT OR REPLACE INTO gone VALUES (?, ?)", (twin_id, json.dumps(note)))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._changed(twin_id)

    def _note(self, twin_id: str) -> dict | None:
        """What a twin about to be removed held, for the feeds: names and places."""
        db = self._db
        names = [json.loads(r[0]).get("names", {}) for r in
                 db.execute("SELECT features FROM communities WHERE twin_id = ? ORDER BY iri", (twin_id,))]
        names += [json.loads(r[0]) for r in db.execute("SELECT names FROM networks WHERE twin_id = ? ORDER BY iri",
                                                       (twin_id,))]
        if not names:
            return None
        places = {r[0] for r in db.execute("SELECT value FROM facets WHERE twin_id = ? AND facet IN "
                                           "('network', 'lau', 'nuts', 'country')", (twin_id,))}
        places |= {r[0] for r in db.execute("SELECT community FROM facets WHERE twin_id = ?", (twin_id,))}
        places |= {r[0] for r in db.execute("SELECT iri FROM networks WHERE twin_id = ?", (twin_id,))}
        return {"names": names, "places": sorted(places)}

    def scrub(self) -> None:
        """After an erasure: no byte of what was replaced stays in the file or its write-ahead log
        (checkpointed and truncated, the database rebuilt)."""
        with self.lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def gone(self, twin_id: str) -> dict | None:
        rows = self.read("SELECT data FROM gone WHERE twin_id = ?", (twin_id,))
        return json.loads(rows[0][0]) if rows else None

    def _changed(self, twin_id: str) -> None:
        self.generation += 1
        self._log.append((self.generation, twin_id))
        if len(self._log) > 20000:
            self._log_floor = self._log[9999][0]
            del self._log[:10000]

    def changed_since(self, generation: int) -> set[str] | None:
        """The twins changed after ``generation``, or None when the log no longer reaches back so far."""
        with self.lock:
            if generation < self._log_floor or generation < 0:
                return None
            return {t for g, t in self._log if g > generation}

    def communities_of(self, twin_ids: set[str]) -> list[str]:
        """The features (JSON) of the communities of these twins."""
        out: list[str] = []
        ids = sorted(twin_ids)
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            out.extend(r[0] for r in self.read(
                f"SELECT features FROM communities WHERE twin_id IN ({','.join('?' * len(part))})", part))
        return out

    def _delete(self, twin_id: str) -> None:
        db = self._db
        items = [r[0] for r in db.execute("SELECT id FROM items WHERE twin_id = ?", (twin_id,))]
        for chunk in range(0, len(items), 500):
            ids = items[chunk:chunk + 500]
            marks = ",".join("?" * len(ids))
            db.execute(f"DELETE FROM items_fts WHERE item IN ({marks})", ids)
            db.execute(f"DELETE FROM item_topics WHERE item IN ({marks})", ids)
        for table in ("twins", "communities", "facets", "networks", "indicators", "items", "tools"):
            db.execute(f"DELETE FROM {table} WHERE twin_id = ?", (twin_id,))

    def _insert_community(self, c: Community) -> None:
        db = self._db
        db.execute("INSERT OR REPLACE INTO communities VALUES (?, ?, ?, ?, ?, ?)",
                   (c.iri, c.twin_id, c.network, c.lau, c.nuts, json.dumps(c.to_dict())))
        facets = [("member", t) for t, n in c.member_types.items() if n > 0]
        facets += [("technology", t) for t in c.technologies]
        facets += [("activity", a) for a in c.activities]
        facets += [("topic", t) for t in c.topics]
        for name, value in (("network", c.network), ("lau", c.lau), ("nuts", c.nuts), ("country", c.country),
                            ("legal_kind", c.legal_kind)):
            if value:
                facets.append((name, value))
        if c.nuts:  # every coarser NUTS level too: BE10 is in BE1 and in BE
            facets += [("nuts", c.nuts[:n]) for n in range(2, len(c.nuts))]
        db.executemany("INSERT INTO facets VALUES (?, ?, ?, ?)", [(c.iri, c.twin_id, f, v) for f, v in facets])

    def _insert_item(self, twin_id: str, item: dict) -> None:
        db = self._db
        cursor = db.execute("INSERT INTO items (twin_id, iri, kind, owner, data) VALUES (?, ?, ?, ?, ?)",
                            (twin_id, item["iri"], item["kind"], item["owner"], json.dumps(item)))
        row = cursor.lastrowid
        db.executemany("INSERT INTO item_topics VALUES (?, ?)", [(row, t) for t in item["topics"]])
        fields = ("title", "summary", "worked", "did_not_work")
        tagged = {lang for f in fields for lang in item[f] if lang}
        for lang in sorted(set(LANGUAGES) | tagged):
            texts = [item[f].get(lang) or "" for f in fields]
            untagged = [item[f].get("") or "" for f in fields]
            texts = [" ".join(x for x in (t, u) if x) for t, u in zip(texts, untagged, strict=True)]
            if not any(texts) and lang not in LANGUAGES:
                continue
            topics = " ".join(self.vocab.label(t, lang) for t in item["topics"] + item["activities"])
            if not any(texts) and not topics:
                continue
            db.execute("INSERT INTO items_fts VALUES (?, ?, ?, ?, ?, ?, ?)", (*texts, topics, lang, row))
