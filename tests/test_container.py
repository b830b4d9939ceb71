"""The Containerfile, the licences and the one version (issue 13).

These machines have no container engine that runs (and no image registry), so the Containerfile is
checked for its structure: every instruction known, the stages it copies from defined, an
unprivileged user, the port and data directory the same as the settings it sets, the command one
the ``ecgraph`` command has, the health check a path the node serves. It is built (and the image's
node answered) only where an engine answers ``info``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import ecgraph
from ecgraph import config as settings

ROOT = Path(__file__).resolve().parent.parent
CONTAINERFILE = ROOT / "Containerfile"
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
                "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, rest = whole.partition(" ")
        out.append((keyword, rest.strip()))
    assert not pending, "the Containerfile ends inside a continued line"
    return out


def env_pairs(arguments: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(arguments))


@pytest.fixture(scope="module")
def parsed():
    return instructions(CONTAINERFILE.read_text())


def test_the_containerfile_uses_known_instructions_and_pinned_bases(parsed):
    assert parsed, "no instructions"
    assert all(keyword in INSTRUCTIONS for keyword, _ in parsed), [k for k, _ in parsed if k not in INSTRUCTIONS]
    assert parsed[0][0] == "FROM"
    stages = []
    for keyword, arguments in parsed:
        if keyword == "FROM":
            image, *alias = arguments.split()
            assert re.fullmatch(r"[\w.-]+/[\w./-]+:[\w.-]+", image), f"{image}: name the registry and a tag"
            if alias:
                assert alias[0].upper() == "AS"
                stages.append(alias[1])
        if keyword == "COPY" and arguments.startswith("--from="):
            assert arguments.split()[0][len("--from="):] in stages, arguments


def test_the_image_runs_the_node_as_an_unprivileged_user_with_the_settings_it_declares(parsed):
    final = parsed[max(i for i, (k, _) in enumerate(parsed) if k == "FROM"):]
    users = [a for k, a in final if k == "USER"]
    assert users and users[-1] not in ("root", "0"), "the node must not run as root"
    env: dict[str, str] = {}
    for keyword, arguments in final:
        if keyword == "ENV":
            env.update(env_pairs(arguments))
    known = {settings.env_name(f.name) for f in settings.fields(settings.Config)}
    assert {k for k in env if k.startswith(settings.PREFIX)} <= known, "an ECGRAPH_ variable that is no setting"
    config = settings.Config.load(environ=env)       # the values are valid settings
    assert [a for k, a in final if k == "EXPOSE"] == [str(config.port)]
    assert json.loads(next(a for k, a in final if k == "VOLUME")) == [str(config.data)]
    assert config.host == "0.0.0.0"                   # reachable from outside the container
    entrypoint = json.loads(next(a for k, a in final if k == "ENTRYPOINT"))
    command = json.loads(next(a for k, a in final if k == "CMD"))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint == ["ecgraph"] and "ecgraph" in scripts
    from ecgraph.cli import main
    assert command[0] in main.commands                 # type: ignore[attr-defined]
    health = next(a for k, a in final if k == "HEALTHCHECK")
    assert f"127.0.0.1:{config.port}/health" in health


def test_the_build_context_leaves_out_the_virtualenv_and_the_repository():
    ignored = (ROOT / ".containerignore").read_text().split()
    assert {".ci-venv", ".git", "ecgraph-data"} <= set(ignored)
    assert (ROOT / ".dockerignore").resolve() == (ROOT / ".containerignore").resolve()


def _engine() -> str | None:
    for name in ("podman", "docker"):
        path = shutil.which(name)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=30).returncode == 0:
            return path
    return None


def test_the_image_builds_where_a_container_engine_runs(tmp_path):
    engine = _engine()
    if engine is None:
        pytest.skip("no container engine runs on this machine (podman/docker info fails): the Containerfile "
                    "is checked for its structure only")
    tag = "ecgraph-test:latest"
    built = subprocess.run([engine, "build", "-t", tag, "-f", str(CONTAINERFILE), str(ROOT)], capture_output=True,
                           text=True, timeout=1800)
    assert built.returncode == 0, built.stderr[-3000:]
    ran = subprocess.run([engine, "run", "--rm", "--entrypoint", "ecgraph", tag, "--version"], capture_output=True,
                         text=True, timeout=300)
    assert ran.returncode == 0 and ecgraph.__version__ in ran.stdout, ran.stderr


# --- python -m ecgraph, licences, one version -------------------------------------------------------

def test_python_dash_m_ecgraph_is_the_ecgraph_command():
    out = subprocess.run([sys.executable, "-m", "ecgraph", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Usage: ecgraph ") and "serve" in out.stdout
    version = subprocess.run([sys.executable, "-m", "ecgraph", "--version"], capture_output=True, text=True,
                             timeout=120)
    assert version.stdout.strip() == f"ecgraph, version {ecgraph.__version__}"


def test_the_licences_are_in_the_repository_and_the_package_metadata():
    code = (ROOT / "LICENSE").read_text()
    content = (ROOT / "LICENSE-CC-BY-4.0").read_text()
    assert "Apache License" in code and "Version 2.0, January 2004" in code
    assert content.startswith("Attribution 4.0 International")
    assert "Creative Commons Attribution 4.0 International Public License" in content
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0 AND CC-BY-4.0"
    assert project["license-files"] == ["LICENSE", "LICENSE-CC-BY-4.0"]
    # the installed distribution was built from that: its metadata names both files
    assert sorted(metadata.metadata("ecgraph").get_all("License-File") or []) == ["LICENSE", "LICENSE-CC-BY-4.0"]
    readme = (ROOT / "README.md").read_text()
    assert "Apache-2.0" in readme and "CC BY 4.0" in readme


def test_every_place_that_states_the_version_says_the_package_version(client):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert ecgraph.__version__ == metadata.version("ecgraph") == project["version"]
    doc = client.get("/api/openapi.json").get_json()
    assert doc["info"]["version"] == ecgraph.__version__
