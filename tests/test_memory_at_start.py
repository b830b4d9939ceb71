"""What a node's start leaves in its web process: the catalog is read as a stream, not held as a
list of triples, and the memory the directory's build freed goes back to the system.

A node's web process on the benchmark's cached N=10,000 store held 642 MiB once ready: reading
the catalog's 265,000 triples as pyoxigraph objects grew it by 200 MiB (a bare scan of that graph
fills the store's caches with 137), and the directory's build left 57 MiB of freed heap that
glibc kept. These tests check each mechanism on something small and real."""

from __future__ import annotations

import ctypes
import ctypes.util
import tracemalloc

import pyoxigraph as ox
import pytest

from ecgraph import heap, standard
from ecgraph.publish import catalog
from ecgraph.store.memory import MemoryStore


def _catalog_of(twins: int) -> MemoryStore:
    store = MemoryStore()
    g = ox.NamedNode(standard.CATALOG_GRAPH)
    quads = []
    for i in range(twins):
        twin = f"twin-{i:05d}"
        entry = catalog.Entry(id=twin, title=f"Twin {i}", version=1 + i % 4, issued="2026-01-01T00:00:00Z",
                              modified="2026-01-02T00:00:00Z", triples=1000 + i, inferred=200,
                              content_hash=f"sha256:{i:064x}", format="text/turtle",
                              profile="https://w3id.org/ecgraph/profile/core/1.0", warnings=i % 3,
                              published_by=catalog.publisher_agent(twin, admin=i % 2 == 0),
                              license="https://creativecommons.org/licenses/by/4.0/" if i % 2 else "",
                              namespaces=[f"https://{twin}.example/", f"https://{twin}.example/more/"][:1 + i % 2])
        quads += [ox.Quad(t.subject, t.predicate, t.object, g) for t in entry.to_triples()]
    store.engine().extend(quads)
    return store


def test_every_entry_is_read_from_one_stream_of_the_catalog_holding_little_more_than_the_entries():
    store = _catalog_of(2000)
    tracemalloc.start()
    try:
        entries = catalog.read_all(store)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(entries) == 2000
    assert entries == {twin: catalog.read(store, twin) for twin in entries}  # as read twin by twin
    assert entries["twin-00001"].namespaces == ["https://twin-00001.example/", "https://twin-00001.example/more/"]
    assert entries["twin-00001"].license and not entries["twin-00002"].license
    assert entries["twin-00002"].published_by == catalog.publisher_agent("twin-00002", admin=True)
    # a triple term where an entry's value is read (an admin's update could write one) is not read
    store.engine().add(ox.Quad(ox.NamedNode(standard.twin_graph("twin-00003")), ox.NamedNode(catalog.DCT + "title"),
                               ox.Triple(ox.NamedNode("urn:a"), ox.NamedNode("urn:b"), ox.NamedNode("urn:c")),
                               ox.NamedNode(standard.CATALOG_GRAPH)))
    again = catalog.read_all(store)
    assert again == entries and again["twin-00003"] == catalog.read(store, "twin-00003")
    # Held as a list of triples grouped by subject, the read peaked at 5.7 times what it kept
    # (29.6 against 5.2 MiB at 5,000 twins); streamed, 2.6 times.
    assert peak < 4 * kept, (peak, kept)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(heap._TRIM is None, reason="the C library has no malloc_trim (not glibc)")
def test_the_heap_s_free_pages_go_back_to_the_system():
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    block = 64 * 1024  # under glibc's mmap threshold: from the heap, as a build's many small objects
    blocks = [libc.malloc(block) for _ in range(1600)]  # 100 MiB
    for address in blocks:
        ctypes.memset(address, 1, block)  # resident
    last = libc.malloc(block)  # above them: their freed space is not the heap's top, which glibc returns itself
    try:
        for address in blocks:
            libc.free(address)
        held = _rss()
        heap.give_back("the test's blocks")
        assert held - _rss() > 60 * 2**20, (held, _rss())
    finally:
        libc.free(last)


def test_the_directory_gives_back_what_its_build_freed(node, monkeypatch):
    given: list[str] = []
    monkeypatch.setattr(heap, "give_back", given.append)
    node.directory.index()
    assert given == ["the directory's index"]
