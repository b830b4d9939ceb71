"""Fetching a document from a URL without becoming a proxy into the server's network.

Used by every feature that reaches out on a user's behalf: publishing a twin from a URL
(``ecgraph load --from``, ``POST /api/twins/<id>/pull``) and the validator's URL field.

The rules: http(s) only, no credentials in the URL; the host is resolved once and *every* address
must be public (no loopback, private, link-local, multicast, reserved or unspecified addresses,
IPv4-mapped IPv6 included) unless the URL belongs to a configured peer or an explicitly allowed
host; the connection goes to the address that was checked (a DNS answer cannot change between the
check and the connect); redirects are followed by hand, each hop checked again; a time limit and
a size cap bound the whole transfer.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from .federate import PeerPolicy

MAX_REDIRECTS = 5


class FetchRefused(Exception):
    """The URL may not be fetched (policy) or the fetch failed; the message says which."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status

    def __reduce__(self):
        return (FetchRefused, (self.message, self.status))


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


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(f"cannot resolve {host}: {exc.strerror}", 502) from None
    addresses = []
    for info in infos:
        address = info[4][0]
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_url(url: str, policy: FetchPolicy) -> tuple[str, str, int, str]:
    """Validate a URL against the policy; return (scheme, host, port, pinned address)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs are fetched, not {scheme or 'a relative URL'!r}")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("URLs with credentials are refused")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise FetchRefused("the URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FetchRefused("the URL has an invalid port") from None
    addresses = _resolve(host, port)
    trusted = policy.peers.admits(url) or policy.host_allowed(host, port)
    if not trusted:
        for address in addresses:
            if not _public(address):
                raise FetchRefused(f"{host} resolves to {address}, a loopback, private, link-local or "
                                   "reserved address; this node only fetches from public addresses, its "
                                   "peers and explicitly allowed hosts", 403)
    return scheme, host, port, addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


ACCEPT = ("text/turtle, application/ld+json;q=0.9, application/n-triples;q=0.8, "
          "application/rdf+xml;q=0.7, application/trig;q=0.5, application/n-quads;q=0.5, */*;q=0.1")


def fetch(url: str, policy: FetchPolicy) -> Fetched:
    deadline = time.monotonic() + policy.timeout
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, address = check_url(url, policy)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchRefused(f"fetching {url} took longer than {policy.timeout:g} s", 504)
        cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        connection = cls(host, port, address, timeout=min(remaining, policy.timeout))
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", target, headers={"Accept": ACCEPT, "User-Agent": "ecgraph",
                                                       "Accept-Encoding": "identity"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                response.close()
                if not location:
                    raise FetchRefused(f"{url} redirected without a Location", 502)
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchRefused(f"{url} answered HTTP {response.status}", 502)
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise FetchRefused(f"{url} is {int(declared):,} bytes; the limit is {policy.max_bytes:,}", 413)
            chunks = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise FetchRefused(f"fetching {url} took longer than {policy.timeout:g} s", 504)
                chunk = response.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > policy.max_bytes:
                    raise FetchRefused(f"{url} is larger than the {policy.max_bytes:,}-byte limit", 413)
                chunks.append(chunk)
            return Fetched(url, b"".join(chunks), response.getheader("Content-Type"))
        except (OSError, http.client.HTTPException) as exc:
            raise FetchRefused(f"cannot fetch {url}: {exc}", 502) from None
        finally:
            connection.close()
    raise FetchRefused(f"{url}: more than {MAX_REDIRECTS} redirects", 502)
