"""The benchmark's cached loaded stores and the targets table built from one run.

A cache that served a store loaded by an older loader or standard would make every figure after it
a figure of the old code; a working copy that wrote through to the cache would make the next run
start from another run's writes. The targets table is what the README shows as met or not, so it
must say "not measured" for what a run left out, never "met".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from bench import stores
from bench.queries import growth
from bench.targets import main as targets_command
from bench.targets import table

EX = "http://example.org/"


def _package(tmp_path: Path) -> tuple[Path, Path]:
    package = tmp_path / "ecgraph"
    for relative in ("publish/reason.py", "_standard/ontology.ttl", "web/face/views.py", "node.py",
                     "query/figures.py", "query/bounded.py", "query/pool.py"):
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text(f"# {relative}\n")
    generator = tmp_path / "generate.py"
    generator.write_text("# the generator\n")
    return package, generator


def test_a_changed_loader_standard_or_generator_is_another_cache_key_and_the_web_layer_is_not(tmp_path):
    package, generator = _package(tmp_path)
    first = stores.key(package, generator)
    assert stores.key(package, generator) == first  # stable
    (package / "web/face/views.py").write_text("# a faster page\n")
    assert stores.key(package, generator) == first  # a load never runs the HTTP layer
    (package / "query/figures.py").write_text("# kept figures: in memory, built by a serving node\n")
    assert stores.key(package, generator) == first  # nor writes the network figures
    (package / "query/bounded.py").write_text("# answers to /sparql in the web process\n")
    assert stores.key(package, generator) == first  # nor answers /sparql
    for changed in (package / "publish/reason.py", package / "_standard/ontology.ttl", package / "node.py",
                    package / "query/pool.py", generator):
        before = stores.key(package, generator)
        changed.write_text(changed.read_text() + "# changed\n")
        assert stores.key(package, generator) != before, changed.name
    (package / "publish/new_step.py").write_text("# a new module of the loader\n")
    assert stores.key(package, generator) != before


def _store_with(path: Path, n: int) -> None:
    store = ox.Store(str(path))
    store.bulk_load(b"".join(f"<{EX}s{i}> <{EX}p> \"{i}\" <{EX}g> .\n".encode() for i in range(n)),
                    format=ox.RdfFormat.N_QUADS)
    store.optimize()
    store.flush()
    del store


def test_a_working_copy_shares_the_table_files_and_writes_never_reach_the_cached_store(tmp_path):
    source = tmp_path / "cached"
    _store_with(source, 2000)
    copy = stores.working_copy(source, tmp_path / "run")
    tables = sorted(p.name for p in source.iterdir() if p.suffix == ".sst")
    assert tables  # the store has table files to share
    for name in tables:
        assert (copy / name).stat().st_ino == (source / name).stat().st_ino  # hard-linked, not copied
    store = ox.Store(str(copy))
    store.update(f"DELETE WHERE {{ GRAPH <{EX}g> {{ ?s ?p ?o }} }}; INSERT DATA {{ <{EX}new> <{EX}p> 1 }}")
    store.optimize()  # compaction writes new table files and unlinks the old ones
    store.flush()
    assert len(store) == 1
    del store
    cached = ox.Store.read_only(str(source))
    assert len(cached) == 2000
    assert not list(cached.quads_for_pattern(ox.NamedNode(f"{EX}new"), None, None))


def test_the_growth_rows_give_the_exponent_of_each_figure_and_its_anchors():
    figures = {1000: {"load time": (30.0, 10.0, "s")}, 10_000: {"load time": (300.0, 200.0, "s")},
               30_000: {"load time": (900.0, 600.0, "s")}}
    [row] = growth(figures)
    assert row.case == "growth with N (1,000 -> 10,000 -> 30,000): load time, exponent k of N^k"
    assert row.ecgraph == pytest.approx(1.0)  # 30x the communities, 30x the time: linear
    assert row.anchor == pytest.approx(1.0 + 0.2038, abs=1e-3)  # 60x for 30x: log(60)/log(30)
    assert "10,000: 300 vs 200 s" in row.note
    assert growth({1000: figures[1000]}) == []  # one size says nothing about growth


def _row(section: str, case: str, ours: float, anchor: float, **extra) -> dict:
    return {"section": section, "case": case, "ecgraph": ours, "anchor": anchor, "unit": "ms",
            "anchor_name": "oxigraph serve", "note": "", "extra": extra, "ratio": ours / anchor}


def test_the_targets_table_says_met_not_met_and_not_measured_from_the_runs_rows():
    rows = [_row("aggregates", "N=10000: total PV capacity per community network (kW), units normalised, p95 "
                               "after a publish", 40.0, 2000.0, equal=True),
            _row("aggregates", "N=1000: every indicator: how many values, their average and maximum, p95 after a "
                               "publish", 50.0, 9000.0, equal=True),
            _row("aggregates", "N=10000: installed capacity per technology and community network (kW), units "
                               "normalised, p95 after a publish", 20.0, 3000.0, equal=False),
            _row("overhead", "N=200: lookup by IRI, cold (each IRI asked once), median", 3.0, 2.0),
            _row("scale", "N=10,000: query set, worst p95 (GROUP BY over every indicator value)", 900.0, 4500.0,
                 under_1s=12, queries=12, anchor_worst_p95=4500.0),
            _row("scale", "N=10,000: ecgraph load --bulk (18,171,603 quads stored)", 320.0, 300.0,
                 quads=18_171_603)]
    text = table({"rows": rows, "seconds": 1500, "quick": False, "every_section": False, "sections": ["scale"]})
    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()[2:]}

    def verdict(start: str) -> str:
        return next(v for k, v in lines.items() if k.startswith(start)).rstrip(" |").rsplit("| ", 1)[1]

    assert verdict("Network aggregates at N=10,000: PV") == "yes"
    assert verdict("Network aggregates at N=10,000: the indicator") == "no"  # measured at N=1,000 only
    assert "the target is at N=10,000" in lines[next(k for k in lines if "indicator GROUP BY" in k)]
    assert verdict("Network aggregates at N=10,000: capacity per technology") == "no"  # fast, but not equal
    assert "equal to the raw answer: NO" in lines[next(k for k in lines if "capacity per technology" in k)]
    assert verdict("Network aggregates at N=10,000: members per type") == "not measured"
    assert verdict("Cold lookups") == "no"  # 1.5x
    assert verdict("Cold DESCRIBE") == "not measured"
    assert verdict("N=10,000 loads") == "yes"
    assert "12 of 12 queries under 1 s" in lines[next(k for k in lines if k.startswith("N=10,000 loads"))]
    assert verdict("Memory at N=10,000") == "not measured"
    assert verdict("The whole run") == "reported"  # one section: says nothing about a full run's time


def test_the_targets_command_writes_the_table_into_the_readme_block_and_keeps_the_rest(tmp_path, capsys):
    results = tmp_path / "latest.json"
    results.write_text(json.dumps({"header": "ecgraph benchmarks, full run", "rows": [], "seconds": 10,
                                   "quick": False}))
    readme = tmp_path / "README.md"
    readme.write_text("# before\n<!-- bench-targets -->\nold table\n<!-- /bench-targets -->\n# after\n")
    targets_command([str(results), "--readme", str(readme)])
    assert "| target (issue 19) | measured |" in capsys.readouterr().out
    text = readme.read_text()
    assert text.startswith("# before\n<!-- bench-targets -->\nTargets of issue 19, from one run: ecgraph "
                           "benchmarks, full run.")
    assert "old table" not in text and text.endswith("<!-- /bench-targets -->\n# after\n")
    unmarked = tmp_path / "other.md"
    unmarked.write_text("no markers\n")
    with pytest.raises(SystemExit, match="add the two markers"):
        targets_command([str(results), "--readme", str(unmarked)])
    assert unmarked.read_text() == "no markers\n"


@pytest.mark.slow  # a real load of a small network: the default suite proves the key and the copies
def test_a_loaded_network_is_cached_reused_and_replaced_when_its_key_changes(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setattr(stores, "CACHE", cache)
    first = stores.loaded(3, cache=cache)
    assert first.quads > 3000 and (first.node / "oxigraph").is_dir() and first.anchor.is_dir()
    assert ox.Store.read_only(str(first.anchor)).__len__() == first.quads
    # the entry holds the network figures a node saved, which a node over a copy of it reads back
    from ecgraph.node import FIGURES_FILE
    from ecgraph.query.figures import definitions

    assert (first.node / FIGURES_FILE).exists() and first.figures_definitions == definitions()
    assert first.figures_seconds is not None and first.figures_seconds > 0
    again = stores.loaded(3, cache=cache)
    assert again == first  # the same entry, its load's figures kept: nothing loaded again
    (first.node / FIGURES_FILE).unlink()  # figures of other definitions, or none: built again, the stores kept
    rebuilt = stores.loaded(3, cache=cache)
    assert (first.node / FIGURES_FILE).exists() and rebuilt.load_seconds == first.load_seconds
    monkeypatch.setattr(stores, "key", lambda *a, **k: "another-loader")
    third = stores.loaded(3, cache=cache)
    assert third.path.name.endswith("another-loader") and third.measured
    assert not first.path.exists()  # the stale entry is gone, not left to fill the disk
    shutil.rmtree(cache)


def test_the_memory_row_says_which_process_holds_what(tmp_path):
    """The memory target is judged on a node's whole process tree; the row says how it splits
    (the web process, each worker), which is what decides where the memory can be saved."""
    import subprocess
    import sys
    import time

    from bench.common import memory_parts, processes_of, rss_of

    script = ("import multiprocessing as mp, time\n"
              "def idle(): time.sleep(60)\n"
              "if __name__ == '__main__':\n"
              "    mp.get_context('spawn').Process(target=idle, daemon=True).start()\n"
              "    print('up', flush=True); time.sleep(60)\n")
    (tmp_path / "tree.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "tree.py")], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "up"
        deadline = time.time() + 30
        while time.time() < deadline and not any(role == "worker" for _, role, _ in processes_of(parent.pid)):
            time.sleep(0.1)
        tree = processes_of(parent.pid)
        roles = sorted(role for _, role, _ in tree)
        assert roles[:1] == ["main"] and "worker" in roles
        assert all(rss > 0 for _, _, rss in tree)
        assert rss_of(parent.pid) >= 0.8 * sum(rss for _, _, rss in tree)  # the same tree, read again
        said = memory_parts(parent.pid)
        assert said.startswith("main ") and "worker " in said and said.endswith(" MiB")
    finally:
        parent.kill()
        parent.wait()
    row = _row("scale", "N=10,000: server resident memory after the query set", 600.0, 150.0,
               processes="main 300, 2 workers 150 + 150 MiB")
    text = table({"rows": [row], "seconds": 60, "quick": False, "every_section": False, "sections": ["scale"]})
    line = next(line for line in text.splitlines() if line.startswith("| Memory at N=10,000"))
    assert "600 MiB, 4.00x (main 300, 2 workers 150 + 150 MiB)" in line and line.endswith("| no |")
