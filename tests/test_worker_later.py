"""A worker's answer in two parts (:class:`ecgraph.workers.Later`): the caller has the first at once
and goes on; the same worker computes the second before it takes another request, under a time
limit, and a second part that fails, runs out of time or dies is the future's exception, never a
lost worker or a hang. Real spawned worker processes; the handler is this module's."""

from __future__ import annotations

import os
import time

import pytest

from ecgraph.workers import Answered, Later, TaskTimeout, WorkerDied, WorkerPool


def init() -> None:
    return None


def handle(_state, request):
    kind, value, seconds = request
    if kind == "now":
        return os.getpid()

    def then():
        if kind == "die":
            os._exit(3)
        time.sleep(seconds)
        if kind == "fail":
            raise ValueError(f"no second part for {value}")
        return value * 2, os.getpid()

    return Later((value, time.monotonic()), then)


@pytest.fixture()
def pool():
    p = WorkerPool(init, (), handle, size=1, timeout=2.0, name="ecgraph-test-later").launch().start()
    yield p
    p.close()


def test_the_caller_has_the_first_part_at_once_and_the_second_from_the_same_worker(pool):
    worker = pool.run(("now", 0, 0))
    started = time.monotonic()
    answer = pool.run(("later", 21, 0.5))
    assert isinstance(answer, Answered)
    value, at = answer.value
    assert value == 21 and time.monotonic() - started < 0.4 and not answer.later.done()
    assert answer.later.result(timeout=5) == (42, worker)


def test_the_worker_takes_no_other_request_until_its_second_part_is_done(pool):
    answer = pool.run(("later", 1, 0.5))
    pid = pool.run(("now", 0, 0))  # one worker: this waits for it
    assert answer.later.done() and answer.later.result() == (2, pid)


def test_a_second_part_that_fails_is_the_future_s_exception_and_the_worker_goes_on(pool):
    worker = pool.run(("now", 0, 0))
    answer = pool.run(("fail", 5, 0))
    with pytest.raises(ValueError, match="no second part for 5"):
        answer.later.result(timeout=5)
    assert pool.run(("now", 0, 0)) == worker and pool.timeouts == 0 and pool.deaths == 0


def test_a_second_part_past_the_time_limit_is_stopped_and_its_worker_replaced(pool):
    worker = pool.run(("now", 0, 0))
    started = time.monotonic()
    answer = pool.run(("later", 1, 30))
    with pytest.raises(TaskTimeout):
        answer.later.result(timeout=10)
    assert time.monotonic() - started < 5 and pool.timeouts == 1
    assert pool.run(("now", 0, 0), timeout=30) != worker  # a new worker answers


def test_a_worker_that_dies_in_its_second_part_is_replaced_and_the_future_says_so(pool):
    worker = pool.run(("now", 0, 0))
    answer = pool.run(("die", 1, 0))
    assert answer.value[0] == 1
    with pytest.raises(WorkerDied):
        answer.later.result(timeout=10)
    assert pool.deaths == 1 and pool.run(("now", 0, 0), timeout=30) != worker
