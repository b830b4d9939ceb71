"""Killable worker processes: how the node puts a hard time limit on work it cannot interrupt.

Neither a running pyoxigraph query nor a pyshacl validation can be interrupted from a thread, and
a parser fed a hostile document can exhaust memory or crash. So that work runs in a small pool of
long-lived worker processes. Each worker builds its state once (a store snapshot, the compiled
shapes) and then answers requests one at a time. A request that outlives its deadline gets its
worker killed (its CPU and memory are freed at once) and replaced in the background; a worker
that dies is replaced too. The caller gets :class:`TaskTimeout` or :class:`WorkerDied`, and the
other workers keep serving. Workers never outlive the process that started them, even mid-request.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import threading
import time
import traceback
from typing import Any, Callable

log = logging.getLogger("ecgraph.workers")

_CTX = mp.get_context("spawn")


class TaskTimeout(Exception):
    pass


class WorkerDied(Exception):
    pass


class PoolBusy(Exception):
    pass


def shared_counter(initial: int = 0):
    """A counter visible to every worker (the store generation)."""
    return _CTX.Value("q", initial)


def _exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """Exit as soon as the process that started this worker is gone. An idle worker sees its pipe
    close, but one busy with a query that would run for hours must not outlive a killed server as
    an orphan burning CPU. (A thread can watch: the engine releases the GIL while it works.)"""

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="ecgraph-parent-watch", daemon=True).start()


def _worker_main(conn, init: Callable[..., Any], init_args: tuple, handler: Callable[[Any, Any], Any],
                 parent: int | None = None) -> None:
    if parent is not None:
        _exit_with_parent(parent)
    state = init(*init_args)
    conn.send(("ready",))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            conn.send(("ok", handler(state, request)))
        except Exception as exc:
            try:
                conn.send(("error", exc))
            except Exception:  # the exception itself would not pickle: send its text
                conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")))


class _Worker:
    def __init__(self, init, init_args, handler, name):
        parent, child = _CTX.Pipe()
        self.conn = parent
        self.process = _CTX.Process(target=_worker_main, args=(child, init, init_args, handler, os.getpid()),
                                    name=name, daemon=True)
        self.process.start()
        child.close()

    def wait_ready(self, timeout: float) -> bool:
        if not self.conn.poll(timeout):
            return False
        try:
            return self.conn.recv() == ("ready",)
        except (EOFError, OSError):
            return False

    def kill(self) -> None:
        try:
            self.process.kill()
        except Exception:
            pass
        self.process.join(timeout=5)
        try:
            self.conn.close()
        except OSError:
            pass

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.kill()


class WorkerPool:
    """``size`` processes, each running ``handler(state, request)`` with ``state = init(*init_args)``.

    ``init`` and ``handler`` must be importable module-level functions (the workers are spawned,
    not forked: forking a threaded server that holds a RocksDB handle is not safe). A worker that
    cannot start is retried a few times, then given up on (logged) rather than retried forever.
    """

    MAX_START_ATTEMPTS = 5

    def __init__(self, init: Callable, init_args: tuple, handler: Callable, *, size: int = 2,
                 timeout: float = 10.0, name: str = "ecgraph-worker", startup_timeout: float = 60.0):
        self.init = init
        self.init_args = init_args
        self.handler = handler
        self.size = max(1, size)
        self.timeout = timeout
        self.name = name
        self.startup_timeout = startup_timeout
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.timeouts = 0
        self.deaths = 0

    def start(self, wait: bool = True) -> "WorkerPool":
        workers = [_Worker(self.init, self.init_args, self.handler, self.name) for _ in range(self.size)]
        for worker in workers:
            if wait:
                self._admit(worker)
            else:
                threading.Thread(target=self._admit, args=(worker,), daemon=True).start()
        return self

    def _admit(self, worker: _Worker, attempt: int = 1) -> None:
        if not worker.wait_ready(self.startup_timeout):
            worker.kill()
            if self._closed:
                return
            if attempt >= self.MAX_START_ATTEMPTS:
                log.error("%s failed to start %d times in a row; giving up on this worker", self.name, attempt)
                return
            log.error("%s failed to start; retrying", self.name)
            time.sleep(min(2 ** attempt * 0.1, 5))
            self._admit(_Worker(self.init, self.init_args, self.handler, self.name), attempt + 1)
            return
        with self._lock:
            if self._closed:
                worker.stop()
                return
            self._all.add(worker)
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
            closed = self._closed
        threading.Thread(target=worker.kill, daemon=True).start()
        if not closed:
            replacement = _Worker(self.init, self.init_args, self.handler, self.name)
            threading.Thread(target=self._admit, args=(replacement,), daemon=True).start()

    def run(self, request: Any, timeout: float | None = None) -> Any:
        """Answer ``request`` within ``timeout`` seconds (waiting for a free worker included)."""
        deadline = self.timeout if timeout is None else timeout
        started = time.perf_counter()
        while True:
            try:
                worker = self._idle.get(timeout=max(0.001, deadline - (time.perf_counter() - started)))
            except queue.Empty:
                raise PoolBusy(f"all {self.size} workers stayed busy for {deadline:g} s") from None
            if worker.process.is_alive():
                break
            self.deaths += 1  # died while idle (killed from outside, out of memory): replace it
            log.error("%s died while idle; replacing it", self.name)
            self._replace(worker)
        remaining = max(0.001, deadline - (time.perf_counter() - started))
        try:
            worker.conn.send(request)
            if not worker.conn.poll(remaining):
                self.timeouts += 1
                self._replace(worker)
                raise TaskTimeout(f"stopped after the {deadline:g} s limit")
            message = worker.conn.recv()
        except TaskTimeout:
            raise
        except (EOFError, OSError):
            self.deaths += 1
            log.error("%s died while working; replacing it", self.name)
            self._replace(worker)
            raise WorkerDied("the worker process stopped unexpectedly while handling this request") from None
        except BaseException:
            self._replace(worker)
            raise
        self._idle.put(worker)
        if message[0] == "ok":
            return message[1]
        raise message[1]

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.stop()
