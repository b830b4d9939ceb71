"""A wall-clock limit on what one page for people reads from the store.

The pages (directory, community, network, resource, ``/ns``) run fixed, bounded SPARQL in the request
thread, on the embedded store, where a query cannot be interrupted (see LIBRARY-FACTS: pyoxigraph has
no cancel). So the limit is enforced where the reads happen, in :class:`ecgraph.directory.Directory`:
before each query and every few hundred rows while its answer streams; past the deadline the read
raises :class:`PageTimeout` (503), the request's thread is free again and the next reader is served.
A query whose operator must finish before its first row (ORDER BY, GROUP BY) can overrun by its own
run time: every page query is bounded (one resource, a LIMIT), so that overrun is small. The
directory's index, built once per store generation, is built outside any request: a reader waits for
it until its own deadline, then is told to come back while the build goes on (:meth:`Directory.index`).

The web layer opens the limit per request (:func:`start`, :func:`end`) from the ``page_timeout`` setting; code with
no limit open (the command line, the bench, tests) reads without one.
"""

from __future__ import annotations

import contextvars
import time

from ecgraph import errors

#: the time.monotonic() by which the current request's page reads must be done
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("ecgraph_page_deadline", default=None)
_seconds: contextvars.ContextVar[float] = contextvars.ContextVar("ecgraph_page_seconds", default=0.0)


class PageTimeout(errors.Unavailable):
    """A page's reads went past the node's ``page_timeout``."""

    title = "page took too long"
    retry_after = 5


def start(seconds: float) -> tuple[contextvars.Token, contextvars.Token]:
    """Open a limit: page reads from now on must end within ``seconds``; :func:`end` closes it
    (a request opens it in one hook and closes it in another)."""
    return _deadline.set(time.monotonic() + seconds), _seconds.set(seconds)


def end(tokens: tuple[contextvars.Token, contextvars.Token]) -> None:
    _deadline.reset(tokens[0])
    _seconds.reset(tokens[1])


def remaining() -> float | None:
    """Seconds left, or None when no limit is open."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def check(building: bool = False) -> None:
    """Raise :class:`PageTimeout` when the current limit has passed."""
    left = remaining()
    if left is not None and left <= 0:
        raise timeout(building)


def timeout(building: bool = False) -> PageTimeout:
    seconds = _seconds.get()
    if building:
        return PageTimeout(f"the directory of communities is being prepared after a change and was not ready within "
                           f"this page's {seconds:g} s; it goes on being prepared: try again in a few seconds",
                           building=True)
    return PageTimeout(f"reading this page's data took longer than the node allows a page ({seconds:g} s, the "
                       f"page_timeout setting); nothing was changed: try again in a moment, or ask the question "
                       f"on /sparql", building=False)
