"""The node's HTTP server (ecgraph.web.server) on its own: a real waitress server on a loopback
port, serving a tiny WSGI app, driven by real sockets and requests."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
import requests

from ecgraph.config import Config
from ecgraph.web import server as server_module


def app(environ, start_response):
    body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture()
def served():
    config = Config.load(environ={}, host="127.0.0.1", port=0, header_timeout=2.0)
    srv = server_module.create_server(app, config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.effective_port}"
    srv.close()
    srv.task_dispatcher.shutdown()


def test_a_fault_in_one_connections_deadline_check_costs_that_connection_only(served, monkeypatch, caplog):
    """The sweep runs inside the event loop's poll, outside waitress's own error handling: before,
    an exception there ended the loop, and with it the listening socket and every connection."""
    srv, url = served
    faulty = socket.create_connection(("127.0.0.1", srv.effective_port))
    faulty_port = faulty.getsockname()[1]
    original = server_module._Channel.overdue
    marked: list = []

    def overdue(self, now, limits):
        # the faulty connection's channel alone (by identity: once it is closed, a new connection
        # may get the same client port)
        if not marked and self.addr[1] == faulty_port:
            marked.append(self)
        if marked and self is marked[0]:
            raise RuntimeError("a deadline check that fails")
        return original(self, now, limits)

    monkeypatch.setattr(server_module._Channel, "overdue", overdue)
    caplog.set_level(logging.INFO, logger="ecgraph.web.server")
    faulty.settimeout(10)
    started = time.monotonic()
    try:
        assert faulty.recv(1) == b""  # cut by the next sweep (every 0.5 s)
    except ConnectionResetError:
        pass
    assert time.monotonic() - started < 5
    faulty.close()
    # the server goes on: new connections are accepted and answered, several sweeps later too
    for _ in range(4):
        r = requests.get(url + "/", timeout=10)
        assert r.status_code == 200 and r.text == "ok"
        time.sleep(0.3)
    assert any(f"closed the connection from 127.0.0.1:{faulty_port}: checking its deadlines failed" in m
               for m in caplog.messages), caplog.messages


def test_a_keep_alive_connection_is_served_across_sweeps(served):
    """A client that keeps its connection and asks again within the deadline is never cut."""
    _, url = served
    session = requests.Session()
    for _ in range(8):  # 4 s: eight sweeps, twice the 2 s deadline, never idle for as long
        assert session.get(url + "/", timeout=10).text == "ok"
        time.sleep(0.5)
    session.close()
