"""Fetching a document from a URL without becoming a proxy into the server's network.

Used by every feature that reaches out on a user's behalf: publishing a twin from a URL
(``ecgraph load --from``, ``POST /api/twins/<id>/pull``) and the validator's URL field.

The rules: http(s) only, no credentials in the URL; the host is resolved once and *every* address
must be public (no loopback, private, link-local, multicast, reserved or unspecified addresses,
IPv4-mapped IPv6 included) unless the URL belongs to a configured peer or an explicitly allowed
host; the connection goes to the address that was checked (a DNS answer cannot change between the
check and the connect); redirects are followed by hand, each hop checked again; a size cap and
one wall-clock deadline bound the whole transfer.

The deadline holds while a call is blocked, not only between reads: a server that drips one byte
every 2 s resets any per-read timeout, and with the deadline checked between 64 KiB reads a 20 s
limit answered after 50 s (issue 10). So name resolution runs in a thread that is given up at
the deadline, every blocking call gets the remaining time as its timeout, and a watchdog shuts
the connection's socket down at the deadline, which wakes whatever call is blocked on it (the TLS
handshake included). A fetch ends within a few milliseconds of its deadline.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ecgraph import errors, formats
from ecgraph.query.federate import PeerPolicy

MAX_REDIRECTS = 5


class FetchRefused(errors.Error):
    """The URL may not be fetched (400/403: the policy) or the fetch failed (413, 502, 504); the
    message says which."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message, status=status, title="fetch refused" if status in (400, 403) else "fetch failed")


@dataclass
class Fetched:
    url: str
    data: bytes
    media_type: str | None


@dataclass
class FetchPolicy:
    peers: PeerPolicy
    allow_hosts: tuple[str, ...] = ()
    timeout: float = 20.0
    max_bytes: int = 50 * 1024 * 1024

    def host_allowed(self, host: str, port: int) -> bool:
        host = host.lower()
        return host in self.allow_hosts or f"{host}:{port}" in self.allow_hosts


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified
                                 or ip.is_loopback or ip.is_link_local or ip.is_private)


class _Deadline:
    """One wall-clock deadline for a whole fetch, enforced on the socket in use by a watchdog."""

    def __init__(self, url: str, seconds: float):
        self.url = url
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._watched: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def error(self) -> FetchRefused:
        return FetchRefused(f"fetching {self.url} took longer than {self.seconds:g} s", 504)

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0 or self.expired:
            raise self.error()
        return left

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline. A duplicate of its descriptor is kept: shutting the
        duplicate down shuts the connection down, even after ``sock`` is wrapped in TLS."""
        with self._lock:
            self._release()
            self._watched = socket.socket(fileno=os.dup(sock.fileno()))
            if self.expired:
                self._shutdown()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._watched is not None:
            try:
                self._watched.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _release(self) -> None:
        if self._watched is not None:
            self._watched.close()
            self._watched = None

    def unwatch(self) -> None:
        with self._lock:
            self._release()

    def close(self) -> None:
        self._timer.cancel()
        self.unwatch()


def _resolve(host: str, port: int, deadline: _Deadline | None = None) -> list[str]:
    """The host's addresses; a resolver that hangs is given up at the deadline (getaddrinfo itself
    cannot be interrupted: it finishes alone in its thread)."""
    found: dict = {}

    def lookup() -> None:
        try:
            found["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            found["error"] = exc

    if deadline is None:
        lookup()
    else:
        worker = threading.Thread(target=lookup, name="ecgraph-resolve", daemon=True)
        worker.start()
        worker.join(deadline.remaining())
        if worker.is_alive():
            raise deadline.error()
    if "error" in found:
        exc = found["error"]
        raise FetchRefused(f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}", 502)
    infos = found["infos"]
    addresses = []
    for info in infos:
        address = info[4][0]
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_url(url: str, policy: FetchPolicy, deadline: _Deadline | None = None) -> tuple[str, str, int, str]:
    """Validate a URL against the policy; return (scheme, host, port, pinned address)."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # "Invalid IPv6 URL" for http://[::1 and the like
        raise FetchRefused(f"{url!r} is not a valid URL ({exc}); give a whole http or https URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs are fetched, not {scheme or 'a relative URL'!r}")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("URLs with credentials are refused")
    host = (hostname or "").rstrip(".")
    if not host:
        raise FetchRefused("the URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FetchRefused("the URL has an invalid port") from None
    addresses = _resolve(host, port, deadline)
    trusted = policy.peers.admits(url) or policy.host_allowed(host, port)
    if not trusted:
        for address in addresses:
            if not _public(address):
                raise FetchRefused(f"{host} resolves to {address}, a loopback, private, link-local or "
                                   "reserved address; this node only fetches from public addresses, its "
                                   "peers and explicitly allowed hosts", 403)
    return scheme, host, port, addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host, port, address, deadline: _Deadline):
        super().__init__(host, port, timeout=deadline.remaining())
        self._address = address
        self._deadline = deadline

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), self._deadline.remaining())
        self._deadline.watch(sock)
        sock.settimeout(self._deadline.remaining())
        return sock

    def connect(self):
        self.sock = self.live = self._open()

    def wait_at_most(self, seconds: float) -> None:
        """The next blocking read's timeout (``self.sock`` is gone once a response says close)."""
        self.live.settimeout(seconds)


class _PinnedHTTPS(_PinnedHTTP):
    default_port = http.client.HTTPS_PORT

    def connect(self):
        context = ssl.create_default_context()
        self.sock = self.live = context.wrap_socket(self._open(), server_hostname=self.host)


#: what a pull asks for: the formats a twin can be in, Turtle first
ACCEPT = ", ".join([formats.INPUT[0].media_types[0]]
                   + [f"{f.media_types[0]};q={0.9 - i * 0.1:.1f}" for i, f in enumerate(formats.INPUT[1:])]
                   + ["*/*;q=0.1"])


def fetch(url: str, policy: FetchPolicy) -> Fetched:
    """GET ``url`` under the policy: every hop checked, the whole transfer within one deadline."""
    deadline = _Deadline(url, policy.timeout)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            fetched = _get(url, policy, deadline)
            if isinstance(fetched, Fetched):
                return fetched
            url = fetched
        raise FetchRefused(f"{url}: more than {MAX_REDIRECTS} redirects", 502)
    except FetchRefused:
        if deadline.expired:  # the watchdog cut what came after it: a redirect, a status line
            raise deadline.error() from None
        raise
    finally:
        deadline.close()


def _get(url: str, policy: FetchPolicy, deadline: _Deadline) -> Fetched | str:
    """One hop: the document, or the URL it redirects to."""
    scheme, host, port, address = check_url(url, policy, deadline)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = None
    try:
        connection = (_PinnedHTTPS if scheme == "https" else _PinnedHTTP)(host, port, address, deadline)
        connection.request("GET", target, headers={"Accept": ACCEPT, "User-Agent": "ecgraph",
                                                   "Accept-Encoding": "identity"})
        connection.wait_at_most(deadline.remaining())
        response = connection.getresponse()
        if response.status in (301, 302, 303, 307, 308):
            location = response.getheader("Location")
            if not location:
                raise FetchRefused(f"{url} redirected without a Location", 502)
            try:
                return urljoin(url, location)
            except ValueError:
                raise FetchRefused(f"{url} redirected to {location!r}, which is not a valid URL", 502) from None
        if response.status != 200:
            raise FetchRefused(f"{url} answered HTTP {response.status}", 502)
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > policy.max_bytes:
            raise FetchRefused(f"{url} is {int(declared):,} bytes; the limit is {policy.max_bytes:,}", 413)
        chunks = []
        size = 0
        while True:
            connection.wait_at_most(deadline.remaining())
            chunk = response.read1(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > policy.max_bytes:
                raise FetchRefused(f"{url} is larger than the {policy.max_bytes:,}-byte limit", 413)
            chunks.append(chunk)
        deadline.remaining()  # a body cut short by the watchdog is no document
        return Fetched(url, b"".join(chunks), response.getheader("Content-Type"))
    except (OSError, http.client.HTTPException) as exc:
        if deadline.expired or time.monotonic() >= deadline.end:
            raise deadline.error() from None
        raise FetchRefused(f"cannot fetch {url}: {exc}", 502) from None
    finally:
        if connection is not None:
            connection.close()
        deadline.unwatch()
