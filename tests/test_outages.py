"""Cheap outages (issue 10, finding 4): what one client with little bandwidth could do to a node.

* **slow servers**: a URL fetch from a server that drips its headers, its body or a chain of
  redirects ends within a second of its deadline (name resolution included), directly and through
  ``/api/validate?url=`` on a real ``ecgraph serve``.

The long version (``-m slow``) drips four fetches against the default 20 s deadline; its figures
are printed at the end of the run (see checks.py).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from checks import record
from ecgraph.federate import PeerPolicy
from ecgraph.fetch import FetchPolicy, FetchRefused, fetch
from servers import Dripper, NodeProcess


# --- slow servers ---------------------------------------------------------------------------------

def timed_fetch(url: str, timeout: float) -> tuple[float, FetchRefused]:
    policy = FetchPolicy(PeerPolicy(), allow_hosts=("127.0.0.1",), timeout=timeout)
    started = time.monotonic()
    with pytest.raises(FetchRefused) as refused:
        fetch(url, policy)
    return time.monotonic() - started, refused.value


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_dripping_server_is_given_up_at_the_deadline(mode):
    dripper = Dripper(mode, interval=0.5, for_seconds=60)
    try:
        seconds, refused = timed_fetch(dripper.url + "/twin.ttl", 2)
    finally:
        dripper.close()
    assert refused.status == 504 and "longer than 2 s" in refused.message, refused.message
    assert 2 <= seconds < 3, seconds


def test_redirect_hops_share_one_deadline():
    # each hop drips its redirect over about 2.5 s: under the deadline, their sum is not
    dripper = Dripper("redirect", interval=2.5 / 80, for_seconds=60)
    try:
        seconds, refused = timed_fetch(dripper.url + "/twin.ttl", 3)
    finally:
        dripper.close()
    assert refused.status == 504, refused.message
    assert dripper.served >= 2
    assert 3 <= seconds < 4, seconds


def test_a_resolver_that_hangs_is_given_up_at_the_deadline(monkeypatch):
    import ecgraph.fetch as fetch_module

    real = socket.getaddrinfo

    def slow_resolver(*args, **kwargs):
        time.sleep(6)
        return real(*args, **kwargs)

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", slow_resolver)
    seconds, refused = timed_fetch("http://twins.example/twin.ttl", 1)
    assert refused.status == 504 and "longer than 1 s" in refused.message, refused.message
    assert seconds < 2, seconds


def drip_fed_validations(node: NodeProcess, dripper: Dripper, clients: int) -> list[tuple[float, int, str]]:
    out: list[tuple[float, int, str]] = []

    def one(i: int) -> None:
        started = time.monotonic()
        r = requests.post(node.url + "/api/validate", params={"url": f"{dripper.url}/twin-{i}.ttl"}, timeout=120)
        out.append((time.monotonic() - started, r.status_code, r.json()["detail"]))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_a_drip_fed_validation_url_answers_504_at_the_deadline(tmp_path):
    dripper = Dripper("body", interval=0.5, for_seconds=60)
    node = NodeProcess(tmp_path / "data", "--no-demo", "--allow-host", "127.0.0.1",
                       env={"ECGRAPH_FETCH_TIMEOUT": "2"}).start()
    try:
        answers = drip_fed_validations(node, dripper, 2)
    finally:
        node.stop()
        dripper.close()
    for seconds, status, detail in answers:
        assert status == 504 and "longer than 2 s" in detail, (status, detail)
        assert seconds < 3.5, seconds  # the deadline plus an HTTP round trip, on a shared CPU


@pytest.mark.slow
def test_drip_fed_fetches_stop_within_1_s_of_the_default_deadline(tmp_path):
    """The issue's target: four validations of URLs that drip one byte every 2 s, at the node's
    default 20 s deadline."""
    results = {}
    for mode in ("headers", "body"):
        dripper = Dripper(mode, interval=2, for_seconds=120)
        node = NodeProcess(tmp_path / mode / "data", "--no-demo", "--allow-host", "127.0.0.1").start()
        try:
            results[mode] = drip_fed_validations(node, dripper, 4)
        finally:
            node.stop()
            dripper.close()
    figures = {mode: {"max_s": round(max(s for s, _, _ in answers), 3),
                      "statuses": sorted({status for _, status, _ in answers})}
               for mode, answers in results.items()}
    record("drip_fed_fetch", deadline_s=20, clients=4, **figures)
    for answers in results.values():
        for seconds, status, detail in answers:
            assert status == 504 and "longer than 20 s" in detail, (status, detail)
            assert seconds < 21, seconds
