"""Giving the memory a large build freed back to the operating system.

glibc's allocator keeps freed memory for the process's next allocations and returns only what
lies at the top of its heap. A build that reads much of the store at once (the directory's index
reads every membership and every member's type: 700,000 rows each at N=10,000) leaves its freed
blocks spread through the heap, and the web process's resident memory stays at the build's
high-water mark for the node's life: 57 MiB of the 630 MiB it held at N=10,000 once the index was
built were free (a node opened in process on the benchmark's cached store, resident memory from
``/proc/self/statm``). ``malloc_trim(0)`` returns the free pages anywhere in the heap (since glibc
2.8).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time

log = logging.getLogger(__name__)


def _malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to give back this way
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def give_back(what: str) -> None:
    """Return the heap's free pages to the operating system after ``what`` (a build) freed its
    working memory; nothing where the C library has no ``malloc_trim``."""
    if _TRIM is None:
        return
    started = time.perf_counter()
    _TRIM(0)
    log.debug("gave the memory freed by %s back to the system in %.1f ms", what,
              (time.perf_counter() - started) * 1000)
