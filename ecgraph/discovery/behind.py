"""Discovery indexing behind the acknowledgement, and reads that wait for it.

Indexing a published twin for discovery (extracting its features, writing them to SQLite) took a
fifth of a 10,000-triple publish, on the path before the publisher was answered. It does not need
to be there: the twin's data is durable once the store commits, and the discovery index is
derived from it (a node that stops before indexing finds the twin's indexed version stale at its
next start and indexes it again, :meth:`ecgraph.node.Node._sync_discovery`). What must hold is
that nobody *reads* the index as it was before an acknowledged publish. So the jobs run one after
the other, in the order they were queued, on one thread, and every use of the index first waits
until every job queued before it is done (:meth:`Behind.settle`): a read after an acknowledgement
sees the twin, and a removal or a rebuild never races an index job queued before it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

log = logging.getLogger("ecgraph.discovery")

#: the text the waiting jobs may hold at most (a bulk load queues hundreds of small twins; one
#: twin larger than this still goes, alone); whoever queues beyond it waits for the oldest
MAX_WAITING_BYTES = 256 * 2**20


class Behind:
    """A FIFO of jobs run by one daemon thread; :meth:`settle` waits until all queued are done."""

    def __init__(self, name: str = "ecgraph-discovery-index", max_waiting_bytes: int = MAX_WAITING_BYTES):
        self._jobs: deque[tuple[Callable[[], None], int]] = deque()
        self._cond = threading.Condition()
        self._running = 0
        self._bytes = 0
        self._max = max_waiting_bytes
        self._closed = False
        self._thread: threading.Thread | None = None
        self._name = name

    def submit(self, job: Callable[[], None], size: int = 0) -> None:
        """Queue ``job``, which holds ``size`` bytes of text until it runs (it must log its own
        failures; an exception is logged here too)."""
        with self._cond:
            while self._jobs and self._bytes + size > self._max and not self._closed:
                self._cond.wait()
            if self._closed:
                job()  # after close: run it here rather than lose it
                return
            self._jobs.append((job, size))
            self._bytes += size
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def settle(self, timeout: float | None = None) -> bool:
        """Return once every job queued before this call has run (True), or once ``timeout``
        seconds have passed with some still waiting (False)."""
        if threading.current_thread() is self._thread:
            return True  # a job that reads the index itself
        with self._cond:
            return self._cond.wait_for(lambda: not (self._jobs or self._running), timeout)

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._jobs) + self._running

    def close(self) -> None:
        """Run what is queued, then stop the thread."""
        self.settle()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closed:
                    self._cond.wait()
                if not self._jobs:
                    return
                job, size = self._jobs.popleft()
                self._bytes -= size
                self._running = 1
            try:
                job()
            except Exception:
                log.exception("a discovery index job failed; the next start indexes again what is stale")
            finally:
                with self._cond:
                    self._running = 0
                    self._cond.notify_all()
