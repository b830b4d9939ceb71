"""The node's HTTP server: waitress, with deadlines for clients that send slowly.

waitress reads every connection on one event loop (a slow connection costs a socket, not a
thread) and hands whole requests to a thread pool, which is the right shape for a public node.
What it lacks, measured in a hostile review (issue 10): no deadline for receiving a request (a
channel that gets one byte now and then is never idle), a limit of 100 connections, a cleanup
sweep every 30 s, and a request body of up to 1 GiB spooled to disk before the application could
refuse it. 120 connections each sending one header line every 2 s kept ``/health`` from answering
for as long as they stayed. So, through waitress's own extension points (``channel_class``,
``parser_class``, ``error_task_class`` and the server's ``maintenance``):

* **headers by a deadline**: a request's headers must be complete ``header_timeout`` seconds after
  its first byte, and a connection that sends nothing (new, or kept alive after an answer) is
  closed after as long; a late request gets ``408`` and the connection is closed;
* **a body at a minimum rate**: after its headers, a body has ``header_timeout`` seconds of grace,
  then must keep up an average of ``min_body_rate`` bytes/s (a 50 MB upload over a 1 Mbit/s link
  passes; a drip does not);
* **an answer that is read**: an answer nobody reads for ``header_timeout`` seconds closes its
  connection (which frees the thread writing it);
* **many connections**: ``max_connections`` (1000 by default), polled with ``poll()`` (``select()``
  stops at 1024 descriptors), with the process's soft ``RLIMIT_NOFILE`` raised to fit;
* **a sweep every half second**, so a deadline is kept to within a second; each connection it cuts
  is logged with the client's address and why, and a fault while checking one connection costs
  that connection alone. The sweep runs between two iterations of the poll loop, never while
  ``poll2`` registers descriptors (see ``_Server.maintenance``);
* **bodies refused before they are read**: waitress's body cap is the node's upload limit plus
  room for form framing, so a ``Content-Length`` over it is answered ``413`` before one byte of
  the body is read, and a chunked body is stopped at the cap;
* **errors like the application's**: waitress's own answers (400, 408, 413, 431, ...) are JSON
  ``{"error", "detail"}`` with the node's security headers, and say which setting to change.

Another server would not do better here: gunicorn's sync workers give a slow client a whole
worker; uvicorn and hypercorn serve ASGI, not this WSGI app; cheroot gives each connection a
thread. waitress's event loop plus these deadlines holds thousands of slow connections cheaply.
"""

from __future__ import annotations

import json
import logging
import resource
import socket
import struct
import time
from dataclasses import dataclass

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher
from waitress.utilities import RequestEntityTooLarge, RequestHeaderFieldsTooLarge

from ecgraph.config import Config
from ecgraph.web.common import FORM_FRAMING, SECURITY_HEADERS, too_large_detail

log = logging.getLogger("ecgraph.web.server")

#: how often deadlines are checked (seconds)
SWEEP_INTERVAL = 0.5
#: descriptors kept free beside the connections (the store's files, worker pipes, spooled bodies)
SPARE_DESCRIPTORS = 512


@dataclass(frozen=True)
class Limits:
    header_timeout: float
    min_body_rate: int
    max_upload_bytes: int

    @classmethod
    def of(cls, config: Config) -> Limits:
        return cls(config.header_timeout, config.min_body_rate, config.max_upload_bytes)


def _json_error(status: int, error: str, detail: str) -> tuple[str, list[tuple[str, str]], bytes]:
    body = json.dumps({"error": error, "detail": detail}).encode("utf-8")
    headers = [("Content-Type", "application/json"), *SECURITY_HEADERS.items()]
    return f"{status} {_REASONS.get(status, error.title())}", headers, body


_REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large",
            431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented"}


class _ErrorTask(ErrorTask):
    """waitress's answer to a request it refused itself, as JSON that says what to do."""

    def execute(self):
        limits: Limits = self.channel.server.limits
        error = self.request.error
        if isinstance(error, RequestEntityTooLarge):
            status, name, detail = 413, "too large", too_large_detail(limits.max_upload_bytes)
        elif isinstance(error, RequestHeaderFieldsTooLarge):
            status, name = 431, "request header fields too large"
            detail = (f"the request line and headers are longer than this node accepts "
                      f"({self.channel.adj.max_request_header_size:,} bytes)")
        else:
            status, name = error.code, error.reason.lower()
            detail = f"the request could not be read: {error.body}"
        self.status, headers, body = _json_error(status, name, detail)
        self.response_headers.extend(headers)
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Parser(HTTPRequestParser):
    """Remembers when the request's first byte came and when its headers were complete."""

    def __init__(self, adj):
        super().__init__(adj)
        self.started = time.monotonic()
        self.headers_done_at: float | None = None

    def received(self, data):
        consumed = super().received(data)
        if self.headers_finished and self.headers_done_at is None:
            self.headers_done_at = time.monotonic()
        return consumed


class _Channel(HTTPChannel):
    parser_class = _Parser
    error_task_class = _ErrorTask

    def __init__(self, server, sock, addr, adj, map=None):
        super().__init__(server, sock, addr, adj, map)
        self.idle_since = time.monotonic()

    def received(self, data):
        self.idle_since = time.monotonic()
        return super().received(data)

    def write_soon(self, data):
        # An answer that took the application longer than the deadline to produce is not a
        # client that stopped reading: its clock starts when the answer is first queued.
        if data and not self.total_outbufs_len:
            self.idle_since = time.monotonic()
        return super().write_soon(data)

    def _flush_some(self, do_close=True):
        sent = super()._flush_some(do_close=do_close)
        if sent:
            self.idle_since = time.monotonic()
        return sent

    def service(self):
        try:
            super().service()
        finally:
            self.idle_since = time.monotonic()

    def overdue(self, now: float, limits: Limits) -> str | None:
        """Why this connection should be closed now, or None. Called on the event loop's thread,
        which is also the only one that reads: ``self.request`` does not change meanwhile."""
        if self.total_outbufs_len or self.will_close or self.close_when_flushed:
            # an answer (or a refusal) is waiting to be sent: the client must read it
            return "stalled" if now - self.idle_since > limits.header_timeout else None
        if self.requests:
            return None  # the application is working on an answer: its own limits apply
        request = self.request
        if request is None:
            if now - self.idle_since <= limits.header_timeout or self._bytes_waiting():
                return None  # a request the loop has not read yet (a busy process) is not idleness
            return "idle"
        if request.headers_done_at is None:
            if now - request.started > limits.header_timeout:
                return (f"the request's headers did not arrive within {limits.header_timeout:g} s "
                        "(the node's --header-timeout / ECGRAPH_HEADER_TIMEOUT)")
            return None
        elapsed = now - request.headers_done_at - limits.header_timeout
        if elapsed > 0 and request.body_bytes_received < limits.min_body_rate * elapsed:
            return (f"the request body arrived slower than {limits.min_body_rate:,} bytes/s after "
                    f"{limits.header_timeout:g} s of grace (the node's --min-body-rate / "
                    "ECGRAPH_MIN_BODY_RATE)")
        return None

    def _bytes_waiting(self) -> bool:
        try:
            return bool(self.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except OSError:  # nothing to read (EAGAIN), or the socket is gone
            return False

    def abort(self) -> None:
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (OSError, AttributeError):  # AttributeError: the socket is already closed (None)
            pass
        try:
            self.handle_close()
        except OSError:
            self.del_channel()  # whatever the socket's state, the loop no longer polls it

    def answer_and_close(self, status: int, error: str, detail: str) -> None:
        """Queue a whole answer (no task is running and nothing is queued) and close once sent."""
        line, headers, body = _json_error(status, error, detail)
        head = [f"HTTP/1.1 {line}", f"Content-Length: {len(body)}", "Connection: close",
                *(f"{k}: {v}" for k, v in headers)]
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        with self.outbuf_lock:
            self.outbufs[-1].append(payload)
            self.current_outbuf_count += len(payload)
            self.total_outbufs_len += len(payload)
        self.request = None
        self.close_when_flushed = True


class _Server(TcpWSGIServer):
    channel_class = _Channel
    limits: Limits

    _sweep_due = False

    def maintenance(self, now):
        """waitress calls this from ``readable()``, while ``poll2`` registers every descriptor for
        the coming ``poll``: a channel closed here left its descriptor in that poll, a connection
        accepted in the same iteration got the freed descriptor, and the stale event closed it (a
        reset on a fresh connection, seen in the soak). So this only notes that a sweep is due;
        :func:`_loop` runs :meth:`sweep` between iterations."""
        self._sweep_due = True

    def run(self):
        try:
            _loop(self._map, [self], self.adj.asyncore_loop_timeout)
        except (SystemExit, KeyboardInterrupt):
            self.task_dispatcher.shutdown()

    def sweep(self) -> None:
        """Close what is overdue (waitress's own sweep closed only channels idle for 120 s)."""
        if not self._sweep_due:
            return
        self._sweep_due = False
        mono = time.monotonic()
        for channel in list(self.active_channels.values()):
            try:
                why = channel.overdue(mono, self.limits)
            except Exception:
                # The sweep runs in the loop itself, outside waitress's error handling: an
                # exception here would end the loop and with it every connection and the
                # listening socket. One channel's fault costs that channel alone.
                log.exception("closed the connection from %s: checking its deadlines failed", _peer(channel))
                channel.abort()
                continue
            if why is None:
                continue
            if why == "stalled":
                # at once, and abortively: a client that does not read never makes its socket
                # writable (the loop would wait forever to flush and close), and the kernel would
                # keep an orphaned socket with its full send buffer for minutes
                log.info("closed the connection from %s: its answer was not read for %g s "
                         "(--header-timeout)", _peer(channel), self.limits.header_timeout)
                channel.abort()
            elif why == "idle":
                channel.handle_close()
            else:
                log.info("answered 408 to %s and closed its connection: %s", _peer(channel), why)
                channel.answer_and_close(408, "request timeout", why)
        # no trigger to pull: this runs on the loop's own thread, and the next poll registers what
        # the sweep left writable


def _loop(socket_map: dict, servers: list, timeout: float) -> None:
    """waitress's poll loop, with each server's sweep between two iterations."""
    while socket_map:
        wasyncore.poll2(timeout, socket_map)
        for server in servers:
            server.sweep()


class _MultiSocketServer(MultiSocketServer):
    servers: list

    def run(self):
        try:
            _loop(self.map, self.servers, self.adj.asyncore_loop_timeout)
        except (SystemExit, KeyboardInterrupt):
            self.close()


def _peer(channel) -> str:
    addr = channel.addr
    return f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) and len(addr) >= 2 else str(addr)


def raise_descriptor_limit(connections: int) -> int:
    """Raise the soft RLIMIT_NOFILE to hold ``connections`` plus spares; return how many
    connections fit (fewer when the hard limit is lower: the operator is told)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + SPARE_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-files limit to %d: %s", target, exc)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        fitting = max(soft - SPARE_DESCRIPTORS, 16)
        log.warning("the open-files limit (%d) holds %d connections, not %d; raise it (ulimit -n) to "
                    "serve more", soft, fitting, connections)
        return fitting
    return connections


def create_server(app, config: Config):
    """A waitress server for ``app`` with the node's limits; ``.run()`` serves until interrupted."""
    connections = raise_descriptor_limit(config.max_connections)
    adj = Adjustments(
        host=config.host, port=config.port, threads=config.threads, ident="ecgraph",
        clear_untrusted_proxy_headers=True,
        connection_limit=connections,
        asyncore_use_poll=True,
        max_request_body_size=config.max_upload_bytes + FORM_FRAMING,
    )
    # set after construction: the constructor rounds both to whole seconds (0.5 became 0, a busy loop)
    adj.cleanup_interval = adj.asyncore_loop_timeout = SWEEP_INTERVAL
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    socket_map: dict = {}
    servers = []
    for sockinfo in adj.listen:
        server = _Server(app, socket_map, dispatcher=dispatcher, adj=adj, sockinfo=sockinfo)
        server.limits = Limits.of(config)
        servers.append(server)
    if len(servers) == 1:
        return servers[0]
    listening = [(s.effective_host, s.effective_port) for s in servers]
    multi = _MultiSocketServer(socket_map, adj, listening, dispatcher, servers[-1].log_info)
    multi.servers = servers
    multi.effective_port = servers[0].effective_port
    return multi
