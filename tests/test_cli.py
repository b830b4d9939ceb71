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
    assert "registered twin solar-school; publisher token (shown once): ecg_" in result.output
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


def test_load_a_directory(runner, tmp_path):
    data = tmp_path / "data"
    directory = demo_files()[0].parent
    result = runner.invoke(main, ["load", "--data", str(data), str(directory)])
    assert result.exit_code == 0, result.output
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
