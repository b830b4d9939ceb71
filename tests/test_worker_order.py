"""Which idle worker takes the next request: the one that finished last (its store caches are warm),
so that requests one after the other all go to one worker and the others are used only when it is
busy. Handed out first-in first-out, the two query workers alternated: each heavy query ran cold
once more on the second worker (at N=10,000 the school question's first run there took 213 and 234
ms against a median of 134 and 137 ms), and each worker grew the caches of the whole query set.
Real spawned worker processes; the handler is this module's."""

from __future__ import annotations

import os
import threading
import time

import pytest

from ecgraph.workers import WorkerPool


def init() -> None:
    return None


def handle(_state, seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@pytest.fixture()
def pool():
    p = WorkerPool(init, (), handle, size=2, timeout=10.0, name="ecgraph-test-order").launch().start()
    yield p
    p.close()


def test_requests_one_after_the_other_stay_on_one_worker(pool):
    answered = [pool.run(0.0) for _ in range(8)]
    assert len(set(answered)) == 1, answered
    assert answered[0] in pool.pids() and len(pool.pids()) == 2


def test_the_other_worker_answers_while_the_warm_one_is_busy(pool):
    warm = pool.run(0.0)
    busy: list[int] = []
    holder = threading.Thread(target=lambda: busy.append(pool.run(1.0)))
    holder.start()
    time.sleep(0.3)  # the long request holds the warm worker
    other = pool.run(0.0)
    holder.join()
    assert busy == [warm]
    assert other != warm and other in pool.pids()
    # both idle again: the one that finished last (the warm one, after its long request) goes next
    assert pool.run(0.0) == warm


def test_a_worker_that_died_at_the_bottom_is_replaced_at_the_next_request(pool):
    """The cold worker may not be handed out for a long time: its death is looked for at every
    request, not only when it is its turn (with the warm one first, it never came)."""
    import signal

    warm = pool.run(0.0)
    cold = next(pid for pid in pool.pids() if pid != warm)
    os.kill(cold, signal.SIGKILL)
    time.sleep(0.2)
    assert pool.run(0.0) == warm  # nothing fails, and the warm worker still answers
    deadline = time.time() + 30
    while (cold in pool.pids() or len(pool.pids()) < 2) and time.time() < deadline:
        time.sleep(0.05)
    assert cold not in pool.pids() and len(pool.pids()) == 2
    assert pool.deaths == 1
