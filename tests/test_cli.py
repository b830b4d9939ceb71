"""The ecgraph command: every subcommand helps, loads, queries, validates, exports and manages
twins over a real on-disk store."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from ecgraph.cli import main
from tests.helpers import demo_files, make_twin
from tests.servers import FileServer

COMMANDS = [[], ["serve"], ["load"], ["query"], ["validate"], ["export"], ["twins"], ["twins", "list"],
            ["twins", "register"], ["twins", "rotate"], ["twins", "revoke"]]


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "ecgraph")
def test_every_command_has_help(runner, command):
    result = runner.invoke(main, command + ["--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_load_query_export_and_list(runner, tmp_path):
    data = tmp_path / "data"
    twin = tmp_path / "solar-school.ttl"
    twin.write_bytes(make_twin("solar-school", schools=1))
    result = runner.invoke(main, ["load", "--data", str(data), str(twin)])
    assert result.exit_code == 0, result.output
    assert f"registered twin solar-school; its publisher token is in {data / 'new-tokens.txt'}" in result.output
    assert "ecg_" not in result.output   # the token is in the file, not on the terminal
    assert "solar-school: version 1" in result.output

    query = "PREFIX ec: <https://w3id.org/ecgraph/ns#> SELECT DISTINCT ?c WHERE { ?c ec:hasMember/a ec:School }"
    result = runner.invoke(main, ["query", "--data", str(data), query, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["c", "https://solar-school.example/id/community"]

    out = tmp_path / "dump.nq"
    assert runner.invoke(main, ["export", "--data", str(data), "-o", str(out)]).exit_code == 0
    graphs = {q.graph_name.value for q in ox.parse(path=str(out), format=ox.RdfFormat.N_QUADS)}
    assert "https://w3id.org/ecgraph/twin/solar-school" in graphs
    assert "https://w3id.org/ecgraph/twin/solar-school/inferred" in graphs

    listing = runner.invoke(main, ["twins", "list", "--data", str(data), "--json"])
    rows = json.loads(listing.output)
    assert rows[0]["id"] == "solar-school" and rows[0]["version"] == 1


def test_load_refuses_a_non_conformant_file_and_stores_nothing(runner, tmp_path):
    data = tmp_path / "data"
    bad = tmp_path / "bad.ttl"
    bad.write_bytes(make_twin("bad").replace(b"ec:legalForm ec:legalform-cooperative ;", b""))
    result = runner.invoke(main, ["load", "--data", str(data), str(bad)])
    assert result.exit_code == 1
    assert "not conformant" in result.output and "legalForm" in result.output
    dump = runner.invoke(main, ["export", "--data", str(data)]).stdout_bytes
    assert b"twin/bad>" not in dump


def test_load_ends_with_a_summary_and_puts_new_tokens_in_a_private_file(runner, tmp_path):
    import os
    import stat

    from ecgraph.config import Config
    from ecgraph.node import Caller, Node

    data, source = tmp_path / "data", tmp_path / "twins"
    source.mkdir()
    for twin_id in ("good-one", "good-two"):
        (source / f"{twin_id}.ttl").write_bytes(make_twin(twin_id))
    unconformant = make_twin("unconformant").replace(b"ec:legalForm ec:legalform-cooperative ;", b"")
    (source / "unconformant.ttl").write_bytes(unconformant)
    (source / "broken.ttl").write_bytes(b"<a> <b> .")
    tokens = tmp_path / "tokens.txt"
    result = runner.invoke(main, ["load", "--data", str(data), str(source), "--tokens-file", str(tokens)])
    assert result.exit_code == 1
    assert "summary: 2 twins published (2 new, 0 replaced), 2 refused" in result.output
    assert "  refused, 400 parse error: broken" in result.output
    assert any(line.startswith("  refused, 422 ") and line.endswith(": unconformant")
               for line in result.output.splitlines())
    assert "ecg_" not in result.output
    assert stat.S_IMODE(os.stat(tokens).st_mode) == 0o600
    lines = [line.split("\t") for line in tokens.read_text().splitlines()]
    assert sorted(row[0] for row in lines) == ["broken", "good-one", "good-two", "unconformant"]
    node = Node(Config.load(environ={}, data=data, no_demo=True), workers=False)
    try:
        for twin_id, token, _ in lines:   # each token written is the one that writes its twin
            node.check_writer(twin_id, Caller(token=token))
    finally:
        node.close()
    again = runner.invoke(main, ["load", "--data", str(data), str(source / "good-one.ttl"),
                                 "--tokens-file", str(tokens)])
    assert again.exit_code == 0
    assert "summary: 1 twins published (0 new, 1 replaced), 0 refused" in again.output
    assert len(tokens.read_text().splitlines()) == 4   # nothing new registered, nothing appended


def test_load_a_directory_reads_the_registered_twins_once_not_once_per_file(runner, tmp_path, monkeypatch):
    """Reading every registered twin per file made a load of N files take N^2 (at N = 30,000, hours
    of registering before the first twin was published)."""
    from ecgraph.node import Node

    reads = []
    titles = Node.titles
    monkeypatch.setattr(Node, "titles", lambda self: reads.append(1) or titles(self))
    data = tmp_path / "data"
    directory = demo_files()[0].parent
    result = runner.invoke(main, ["load", "--data", str(data), str(directory)])
    assert result.exit_code == 0, result.output
    assert len(reads) == 1 < len(demo_files())
    listing = json.loads(runner.invoke(main, ["twins", "list", "--data", str(data), "--json"]).output)
    assert len(listing) == len(demo_files())


def test_load_from_url_follows_the_fetch_rules(runner, tmp_path):
    served = tmp_path / "www"
    served.mkdir()
    (served / "twin.ttl").write_bytes(make_twin("pulled"))
    server = FileServer(served)
    try:
        data = tmp_path / "data"
        refused = runner.invoke(main, ["load", "--data", str(data), "--twin", "pulled",
                                       "--from", server.url + "/twin.ttl"])
        assert refused.exit_code == 1 and "loopback" in refused.output
        allowed = runner.invoke(main, ["load", "--data", str(data), "--twin", "pulled", "--from",
                                       server.url + "/twin.ttl", "--allow-host", "127.0.0.1"])
        assert allowed.exit_code == 0, allowed.output
        assert "pulled: version 1" in allowed.output
    finally:
        server.close()


def test_validate_exit_codes_and_formats(runner, tmp_path):
    good = tmp_path / "good.ttl"
    good.write_bytes(make_twin("good"))
    bad = tmp_path / "bad.ttl"
    bad.write_bytes(make_twin("bad").replace(b"ec:status ec:status-active ;", b"ec:status ec:status-sleeping ;"))
    broken = tmp_path / "broken.ttl"
    broken.write_bytes(b"@prefix x: <http://x/> .\nx:a x:b .\n")
    assert runner.invoke(main, ["validate", str(good)]).exit_code == 0
    result = runner.invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1 and "status-sleeping" in result.output
    result = runner.invoke(main, ["validate", str(broken)])
    assert result.exit_code == 2 and "broken.ttl:2:" in result.output
    result = runner.invoke(main, ["validate", str(tmp_path / "missing.ttl")])
    assert result.exit_code == 2
    result = runner.invoke(main, ["validate", "--format", "json", str(good)])
    assert json.loads(result.output)["conforms"] is True
    result = runner.invoke(main, ["validate", "-", "--input-format", "turtle"], input=make_twin("stdin"))
    assert result.exit_code == 0


def test_twins_register_rotate_revoke(runner, tmp_path):
    data = tmp_path / "data"
    first = runner.invoke(main, ["twins", "register", "--data", str(data), "school-one"]).output.strip()
    assert first.startswith("ecg_")
    assert runner.invoke(main, ["twins", "register", "--data", str(data), "school-one"]).exit_code == 1
    assert runner.invoke(main, ["twins", "register", "--data", str(data), "Bad Id"]).exit_code == 2
    second = runner.invoke(main, ["twins", "rotate", "--data", str(data), "school-one"]).output.strip()
    assert second.startswith("ecg_") and second != first
    assert runner.invoke(main, ["twins", "revoke", "--data", str(data), "school-one"]).exit_code == 0
    listing = runner.invoke(main, ["twins", "list", "--data", str(data)]).output
    assert "token revoked" in listing
