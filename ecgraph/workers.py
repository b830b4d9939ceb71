"""Killable worker processes: how the node puts hard limits on work it cannot interrupt.

Neither a running pyoxigraph query nor a pyshacl validation can be interrupted from a thread, and
a parser fed a hostile document can exhaust memory or crash. So that work runs in small pools of
long-lived worker processes. Each worker builds its state once (a store snapshot, the compiled
shapes) and then answers requests one at a time. Limits are enforced where the work happens:

* **time**: a request that outlives its deadline gets its worker killed (its CPU and memory are
  freed at once) and replaced in the background; the caller gets :class:`TaskTimeout`;
* **memory**: with a ceiling set, a watchdog reads each busy worker's resident memory every
  50 ms and kills a worker that goes over it (:class:`MemoryCeiling`); a worker left holding more
  than half the ceiling (or ``recycle_above_mb``) after a request is replaced, so memory a big
  request took is given back;
* **network**: a pool made with ``isolate_network=True`` cuts its workers off the network before
  they do anything (:mod:`ecgraph.sandbox`);
* **fairness**: free workers go to the waiting client that holds the fewest of them, then in
  turn, so that one client looping heavy requests cannot make everyone else queue behind it.
  A client is whoever the web layer says (its address).

A worker that dies is replaced too (:class:`WorkerDied`), and workers never outlive the process
that started them, even mid-request.

A handler may answer in two parts (:class:`Later`): the caller gets the first at once, and the
second on a :class:`~concurrent.futures.Future` that the same worker fulfils next, before it takes
another request, within a time limit as long as the request's. Publishing uses it: the node commits an upload while
the worker that prepared it extracts the twin's discovery features from the triples it still holds.

A pool made with ``on_demand=True`` spawns its workers at its first request, not at start: a node
that serves reads and publishes now and then does not hold publishing's processes (about 45 MB
each before their first upload, more after) while it only answers queries; the first request
pays the start (a second or two), inside its own time limit.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Self

from ecgraph import errors

log = logging.getLogger("ecgraph.workers")

_CTX = mp.get_context("spawn")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class TaskTimeout(errors.Unavailable):
    """The request ran past its time limit; its worker was stopped."""

    title, retry_after = "timeout", 1


class WorkerDied(errors.Error):
    """The worker process stopped unexpectedly (a crash in a parser or the engine)."""

    title = "worker failed"


class MemoryCeiling(errors.Unavailable):
    """The request made its worker grow past the memory ceiling; the worker was stopped."""

    title, retry_after = "too large", 1


class PoolBusy(errors.Unavailable):
    """No worker became free before the request's deadline."""

    title, retry_after = "busy", 2


def shared_counter(initial: int = 0):
    """A counter visible to every worker (the store generation)."""
    return _CTX.Value("q", initial)


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a process, or None if it is gone (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Later:
    """A handler's answer in two parts: ``value`` goes back at once; ``then()`` runs next in the
    same worker, and its result (or exception) fulfils the future :meth:`WorkerPool.run` returns
    beside ``value`` (as :class:`Answered`)."""

    value: Any
    then: Callable[[], Any]


@dataclass
class Answered:
    """What :meth:`WorkerPool.run` returns for a :class:`Later`: the first part, and the second to come."""

    value: Any
    later: Future


def on_thread(work: Callable[[], Any], name: str) -> Future:
    """``work()`` running on a thread of its own, beside the caller: its result, or its exception,
    in the future (the node reads a twin's old graphs so while its upload is prepared; the store
    reads a commit's figure shares so while it flushes)."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def _send_error(conn, kind: str, exc: BaseException) -> None:
    try:
        conn.send((kind, exc))
    except Exception:  # the exception itself would not pickle: send its text
        conn.send((kind, RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")))


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
                 parent: int | None = None, isolate_network: bool = False) -> None:
    isolation = None
    if isolate_network:  # first, while the process is still single-threaded
        from ecgraph.sandbox import isolate

        isolation = isolate()
    if parent is not None:
        _exit_with_parent(parent)
    state = init(*init_args)
    conn.send(("ready", isolation))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            answer = handler(state, request)
        except Exception as exc:
            _send_error(conn, "error", exc)
            continue
        if not isinstance(answer, Later):
            conn.send(("ok", answer))
            continue
        conn.send(("ok+", answer.value))
        try:
            conn.send(("later", answer.then()))
        except Exception as exc:
            _send_error(conn, "later-error", exc)


class _Worker:
    def __init__(self, init, init_args, handler, name, isolate_network):
        parent, child = _CTX.Pipe()
        self.conn = parent
        self.process = _CTX.Process(target=_worker_main,
                                    args=(child, init, init_args, handler, os.getpid(), isolate_network),
                                    name=name, daemon=True)
        self.process.start()
        child.close()
        self.isolation: dict | None = None
        #: why the pool killed it ("memory"), so that the waiting request can say so
        self.killed_for: str | None = None

    def wait_ready(self, timeout: float) -> bool:
        if not self.conn.poll(timeout):
            return False
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            return False
        if not (isinstance(message, tuple) and message and message[0] == "ready"):
            return False
        self.isolation = message[1]
        return True

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


class _Ticket:
    __slots__ = ("client", "worker")

    def __init__(self, client: str):
        self.client = client
        self.worker: _Worker | None = None


class _FairQueue:
    """Idle workers and the requests waiting for one, handed out fairly between clients: the
    client holding the fewest workers first, then the one served longest ago (a newcomer before
    anyone already served); each client's own requests in arrival order.

    The worker handed out is the one that became idle last: its caches (a query worker's RocksDB
    blocks) hold what the last requests read, so requests one after the other all go to one worker
    and the others take requests only while it is busy. Taken in turn, two query workers each ran
    every heavy query cold once and each grew the caches of the whole query set
    (``tests/test_worker_order.py``)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._waiting: dict[str, deque[_Ticket]] = {}
        self._turn: deque[str] = deque()
        self._held: dict[str, int] = {}
        self._served: dict[str, int] = {}
        self._grants = 0

    def put(self, worker: _Worker) -> None:
        with self._cond:
            self._idle.append(worker)
            self._dispatch()

    def release(self, client: str) -> None:
        with self._cond:
            held = self._held.get(client, 0) - 1
            if held > 0:
                self._held[client] = held
            else:
                self._held.pop(client, None)

    def get(self, client: str, timeout: float) -> _Worker | None:
        ticket = _Ticket(client)
        deadline = time.monotonic() + timeout
        with self._cond:
            self._waiting.setdefault(client, deque()).append(ticket)
            if client not in self._turn:
                self._turn.append(client)
            self._dispatch()
            while ticket.worker is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._withdraw(ticket)
                    return None
                self._cond.wait(remaining)
            return ticket.worker

    def _withdraw(self, ticket: _Ticket) -> None:
        queue = self._waiting.get(ticket.client)
        if queue is not None:
            try:
                queue.remove(ticket)
            except ValueError:
                pass
            if not queue:
                del self._waiting[ticket.client]
                try:
                    self._turn.remove(ticket.client)
                except ValueError:
                    pass

    def _dispatch(self) -> None:
        granted = False
        while self._idle and self._turn:
            client = min(self._turn, key=lambda c: (self._held.get(c, 0), self._served.get(c, -1)))
            self._grants += 1
            self._served[client] = self._grants
            if len(self._served) > 10_000:  # forget long-gone clients
                for gone in [c for c in self._served if c not in self._waiting][:5000]:
                    del self._served[gone]
            queue = self._waiting[client]
            ticket = queue.popleft()
            self._turn.remove(client)
            if queue:
                self._turn.append(client)
            else:
                del self._waiting[client]
            ticket.worker = self._idle.pop()  # the warmest: idle last
            self._held[client] = self._held.get(client, 0) + 1
            granted = True
        if granted:
            self._cond.notify_all()

    def idle_workers(self) -> list[_Worker]:
        with self._cond:
            return list(self._idle)

    def take_dead(self) -> list[_Worker]:
        """Remove and return the idle workers whose process has died. With the warmest handed out
        first, a worker at the bottom may wait a long time to be handed out, so a death there is
        looked for at every request instead."""
        with self._cond:
            dead = [w for w in self._idle if not w.process.is_alive()]
            for worker in dead:
                self._idle.remove(worker)
            return dead


class WorkerPool:
    """``size`` processes, each running ``handler(state, request)`` with ``state = init(*init_args)``.

    ``init`` and ``handler`` must be importable module-level functions (the workers are spawned,
    not forked: forking a threaded server that holds a RocksDB handle is not safe). A worker that
    cannot start is retried a few times, then given up on (logged) rather than retried forever.
    """

    MAX_START_ATTEMPTS = 5
    WATCH_INTERVAL = 0.05

    def __init__(self, init: Callable, init_args: tuple, handler: Callable, *, size: int = 2,
                 timeout: float = 10.0, name: str = "ecgraph-worker", startup_timeout: float = 60.0,
                 isolate_network: bool = False, memory_limit_mb: int | None = None,
                 recycle_above_mb: int | None = None, on_demand: bool = False):
        self.init = init
        self.init_args = init_args
        self.handler = handler
        self.size = max(1, size)
        self.timeout = timeout
        self.name = name
        self.startup_timeout = startup_timeout
        self.isolate_network = isolate_network
        self.memory_limit_mb = memory_limit_mb
        #: a worker holding more than this after a request is replaced (memory a big request took
        #: is given back); half the ceiling by default
        self.recycle_above_mb = recycle_above_mb or (memory_limit_mb // 2 if memory_limit_mb else None)
        self._queue = _FairQueue()
        self._launched: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.timeouts = 0
        self.deaths = 0
        self.memory_kills = 0
        #: how the last worker to start was cut off the network (see ecgraph.sandbox)
        self.isolation: dict | None = None
        #: spawn the workers at the first request (see the module's doc); ``started`` says whether
        #: they were
        self.on_demand = on_demand
        self.started = not on_demand
        self._start_lock = threading.Lock()

    def _new_worker(self) -> _Worker:
        return _Worker(self.init, self.init_args, self.handler, self.name, self.isolate_network)

    def launch(self) -> Self:
        """Spawn the workers without waiting for them to be ready (:meth:`start` then admits
        them): pools launched one after the other start side by side, each worker importing
        what it needs while the others do. (An on-demand pool spawns nothing yet.)"""
        if not self.on_demand:
            self._launched = [self._new_worker() for _ in range(self.size)]
        return self

    def start(self, wait: bool = True) -> Self:
        if not self.started:  # on demand: at the first request (_start_now)
            return self
        workers = self._launched or [self._new_worker() for _ in range(self.size)]
        self._launched = []
        for worker in workers:
            if wait:
                self._admit(worker)
            else:
                threading.Thread(target=self._admit, args=(worker,), daemon=True).start()
        if self.memory_limit_mb:
            threading.Thread(target=self._watch_memory, name=f"{self.name}-memory", daemon=True).start()
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
            self._admit(self._new_worker(), attempt + 1)
            return
        with self._lock:
            if self._closed:
                worker.stop()
                return
            self._all.add(worker)
            self.isolation = worker.isolation
        self._queue.put(worker)

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
            self._busy.discard(worker)
            closed = self._closed
        threading.Thread(target=worker.kill, daemon=True).start()
        if not closed:
            threading.Thread(target=self._admit, args=(self._new_worker(),), daemon=True).start()

    def _watch_memory(self) -> None:
        limit = (self.memory_limit_mb or 0) * 1024 * 1024
        while not self._closed:
            time.sleep(self.WATCH_INTERVAL)
            with self._lock:
                busy = list(self._busy)
            for worker in busy:
                rss = rss_bytes(worker.process.pid)
                if rss is not None and rss > limit and worker.killed_for is None:
                    worker.killed_for = "memory"
                    log.warning("%s pid %s grew to %d MB, over the %d MB ceiling: stopping it", self.name,
                                worker.process.pid, rss // (1024 * 1024), self.memory_limit_mb)
                    try:
                        worker.process.kill()
                    except Exception:
                        pass

    def run(self, request: Any, timeout: float | None = None, client: str = "", wait: float | None = None) -> Any:
        """Answer ``request``: wait at most ``wait`` seconds (by default ``timeout``) for a free
        worker (:class:`PoolBusy`), then let it work at most ``timeout`` seconds
        (:class:`TaskTimeout`). ``client`` names who asks, for sharing the workers fairly. (The
        wait has a budget of its own so that a cheap request that waited for a worker is not then
        cut short; the command line's validator waits longer than it lets a worker work, for the
        worker that replaces one stopped at the limit.)"""
        deadline = self.timeout if timeout is None else timeout
        waiting = deadline if wait is None else wait
        started = time.perf_counter()
        if not self.started:
            self._start_now()
        for dead in self._queue.take_dead():
            self._died_idle(dead)
        while True:
            worker = self._queue.get(client, max(0.001, waiting - (time.perf_counter() - started)))
            if worker is None:
                raise PoolBusy(f"all {self.size} workers stayed busy for {waiting:g} s")
            if worker.process.is_alive():
                break
            self._queue.release(client)
            self._died_idle(worker)  # between the look above and being handed out
        with self._lock:
            self._busy.add(worker)
        try:
            worker.conn.send(request)
            message = self._receive(worker, deadline)
        except BaseException:
            self._queue.release(client)
            raise
        if message[0] == "ok+":  # a second part follows: the worker stays out until it comes
            later: Future = Future()
            started_later = time.perf_counter()
            threading.Thread(target=self._second_part, args=(worker, client, later, deadline, started_later),
                             name=f"{self.name}-later", daemon=True).start()
            return Answered(message[1], later)
        self._queue.release(client)
        self._give_back(worker)
        if message[0] == "ok":
            return message[1]
        raise message[1]

    def _died_idle(self, worker: _Worker) -> None:
        """A worker that died while idle (killed from outside, out of memory): replace it."""
        self.deaths += 1
        log.error("%s died while idle; replacing it", self.name)
        self._replace(worker)

    def _receive(self, worker: _Worker, deadline: float) -> tuple:
        """The worker's next message within ``deadline`` seconds; a worker that does not answer in
        time, or dies, is replaced and the caller gets why."""
        try:
            if not worker.conn.poll(deadline):
                self.timeouts += 1
                self._replace(worker)
                raise TaskTimeout(f"stopped after the {deadline:g} s limit")
            return worker.conn.recv()
        except TaskTimeout:
            raise
        except (EOFError, OSError):
            self._replace(worker)
            if worker.killed_for == "memory":
                self.memory_kills += 1
                raise MemoryCeiling(f"the request needed more than the {self.memory_limit_mb:,} MB memory "
                                    "ceiling of a worker and was stopped") from None
            self.deaths += 1
            log.error("%s died while working; replacing it", self.name)
            raise WorkerDied("the worker process stopped unexpectedly while handling this request") from None
        except BaseException:
            self._replace(worker)
            raise

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
        if self.recycle_above_mb and (rss_bytes(worker.process.pid) or 0) > self.recycle_above_mb * 1024 * 1024:
            self._replace(worker)  # give back what a big request left behind
        else:
            self._queue.put(worker)

    def _second_part(self, worker: _Worker, client: str, later: Future, deadline: float, started: float) -> None:
        """Wait for a :class:`Later`'s second part (in a thread of the pool's caller) for as long as
        the request's time limit, counted from its first part; then give the worker back."""
        try:
            message = self._receive(worker, max(0.001, deadline - (time.perf_counter() - started)))
        except BaseException as exc:
            self._queue.release(client)
            later.set_exception(exc)
            return
        if message[0] == "later":  # fulfilled before the worker takes another request
            later.set_result(message[1])
        else:
            later.set_exception(message[1])
        self._queue.release(client)
        self._give_back(worker)

    def _start_now(self) -> None:
        """An on-demand pool's first request: spawn the workers (the request waits for one
        within its own time limit, like any request waiting for a free worker)."""
        with self._start_lock:
            if self.started or self._closed:
                return
            self.started = True
        self.start(wait=False)

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
