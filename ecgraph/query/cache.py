"""Answers kept per store generation: the same question over the same data is answered once.

A network's traffic is the same few questions (the pages' and the examples') asked again and
again over data that changes a few times a day. So the web process keeps finished answers, keyed
by what decides their bytes (the query text with its whitespace runs shortened, the dataset, the
result format, the row cap, the base IRI) and labelled with the store *generation* they were
computed at. A hit is served in the web process: no worker, no pipe.

**Why an answer is never stale, and reads never go back in time.** The generation is a counter
shared with the workers (:func:`ecgraph.workers.shared_counter`). Every write makes it odd before
it touches the store and even again once the write is durable (:meth:`GraphStore._committing`),
before the write is acknowledged. A worker only opens a snapshot while the counter is even and
keeps it only if the counter did not move while it opened, so a snapshot labelled ``g`` holds
exactly the state after commit ``g`` (see :mod:`ecgraph.query.pool`). The cache answers only
with entries of the current stable generation (the counter, or one below it while a write is in
flight: that write is not acknowledged yet, so nobody may expect it). A commit therefore
invalidates every entry at once; finer invalidation is not worth its risk over a union default
graph, where any twin can change any answer.

Not kept: queries whose answer changes between two runs over the same data (``NOW()``, ``RAND()``,
``UUID()``, ``STRUUID()``, ``BNODE()``), federated ones (``SERVICE``: a peer's data has its own
life), failures, and answers above an eighth of the cache (one huge answer must not evict
everything). The cache is bounded in bytes (``--answer-cache-mb``), least recently used first out.

Concurrent misses of one key and generation are computed once (single flight): after a commit,
the clients that all ask the network's favourite aggregate wait for one worker's answer instead of
each taking a worker; a follower takes the answer only if it is of its own generation or newer.

Every answer with a generation carries a weak ``ETag`` from (generation, key): a client that sends
it back in ``If-None-Match`` gets ``304 Not Modified`` while nothing was committed, without the
query running at all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ecgraph.query.pool import QueryRequest, QueryResult

#: functions whose value differs between two evaluations of the same query on the same data
_VOLATILE = re.compile(r"\b(?:now|rand|uuid|struuid|bnode)\s*\(", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\n]+")
#: part of the cache one answer may take at most
LARGEST_SHARE = 8


class TextMemo:
    """What a pure function of a query text gave for the last ``entries`` texts (of at most
    ``longest`` characters, so the memo stays small): the checks every request repeats (the
    SERVICE check, the key's normalisation) cost about 1.5 ms of Python for a page's query."""

    def __init__(self, function: Callable[..., Any], entries: int = 512, longest: int = 16384):
        self.function = function
        self.entries = entries
        self.longest = longest
        self._memo: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str, *args: Any) -> Any:
        if len(text) > self.longest:
            return self.function(text, *args)
        key = (text, *args)
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = self.function(text, *args)  # an exception is not kept: it is raised again next time
        with self._lock:
            self._memo[key] = value
            if len(self._memo) > self.entries:
                self._memo.popitem(last=False)
        return value


def stable(generation: int) -> int:
    """The last acknowledged generation: while a write is in flight (odd) the one before it."""
    return generation - (generation & 1)


def _normalise(text: str) -> str:
    """The query text as a key: runs of whitespace shortened to one space (one line break where
    the run holds one, so a ``#`` comment still ends where it did). Text with a quote in it is
    only stripped: whitespace inside a string literal is part of the question."""
    text = text.strip()
    if '"' in text or "'" in text:
        return text
    return _SPACES.sub(lambda m: "\n" if "\n" in m.group(0) or "\r" in m.group(0) else " ", text)


normalise = TextMemo(_normalise)


def cache_key(request: QueryRequest) -> str | None:
    """What decides an answer's bytes, or None when the answer must not be kept."""
    if request.services or (not request.dataset_dump and _VOLATILE.search(request.query)):
        return None
    parts = [normalise(request.query), request.result_format, str(request.max_rows), request.base_iri or "",
             "\x1f".join(request.default_graphs), "\x1f".join(request.named_graphs),
             "dump" if request.dataset_dump else ""]
    return hashlib.sha256("\x1e".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


#: the generation starts again at 0 with every start of the node (and data may change while it is
#: stopped): ETags name the run too, so that no tag of an earlier run ever matches
RUN = secrets.token_hex(4)


def etag(generation: int, key: str) -> str:
    """A weak ETag (equal answers, not necessarily equal bytes: blank node labels may differ)."""
    return f'W/"{RUN}-g{generation}-{key[:20]}"'


class Flight:
    """One computation that concurrent askers of the same key and generation share."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: QueryResult | None = None

    def wait(self, seconds: float) -> QueryResult | None:
        """The leader's answer, or None if it failed or took longer than ``seconds``."""
        self.done.wait(seconds)
        return self.result


class AnswerCache:
    """Finished answers of one generation, bounded by ``max_bytes`` (0 keeps nothing)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, QueryResult] = OrderedDict()
        self._generation = -1
        self._bytes = 0
        self._lock = threading.Lock()
        self._flights: dict[tuple[str, int], Flight] = {}
        self.hits = 0
        self.misses = 0
        self.joined = 0

    def join(self, key: str, generation: int) -> tuple[Flight, bool]:
        """The flight computing ``key`` at ``generation``, and whether the caller leads it (and
        must :meth:`land` it, whatever happens)."""
        with self._lock:
            flight = self._flights.get((key, generation))
            if flight is not None:
                self.joined += 1
                return flight, False
            flight = self._flights[(key, generation)] = Flight()
            return flight, True

    def land(self, key: str, generation: int, flight: Flight, result: QueryResult | None) -> None:
        with self._lock:
            self._flights.pop((key, generation), None)
        flight.result = result
        flight.done.set()

    def _turn(self, generation: int) -> None:
        """Forget everything of an older generation (under the lock)."""
        if generation != self._generation:
            if generation < self._generation:
                return  # a late answer of an older generation: nothing to forget, nothing to keep
            self._entries.clear()
            self._bytes = 0
            self._generation = generation

    def get(self, key: str, generation: int) -> QueryResult | None:
        with self._lock:
            self._turn(generation)
            found = self._entries.get(key) if generation == self._generation else None
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: str, result: QueryResult) -> None:
        size = len(result.body) + len(key) + 200
        if result.generation is None or size * LARGEST_SHARE > self.max_bytes:
            return
        with self._lock:
            self._turn(result.generation)
            if result.generation != self._generation or key in self._entries:
                return
            self._entries[key] = dataclasses.replace(result, cached=True)
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                old_key, old = self._entries.popitem(last=False)
                self._bytes -= len(old.body) + len(old_key) + 200

    def stats(self) -> dict:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self._bytes, "max_bytes": self.max_bytes,
                    "generation": self._generation, "hits": self.hits, "misses": self.misses,
                    "joined": self.joined}
