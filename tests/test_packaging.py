"""The standard's files ship inside the package (a wheel has no repository around it)."""

from pathlib import Path

import ecgraph
from ecgraph import standard

PACKAGE = Path(ecgraph.__file__).parent
PACKAGED = PACKAGE / "_standard"


def test_the_package_links_to_every_standard_directory():
    for name in ("ontology", "shapes", "data", "docs"):
        assert (PACKAGED / name).resolve() == (PACKAGE.parent / name).resolve()


def test_package_data_covers_the_standards_files():
    import tomllib

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["ecgraph"]
    root = PACKAGE
    needed = [standard.ontology_file(), standard.vocabularies_file(), standard.context_file(),
              standard.shapes_file("core"), standard.shapes_file("recommended"), standard.kit_manifest(),
              *sorted((standard.shapes_dir() / "kit" / "cases").iterdir()),
              *sorted(standard.demo_twins_dir().iterdir()), *sorted((standard.docs_dir() / "queries").iterdir()),
              standard.docs_dir() / "changelog.md", standard.shapes_dir() / "countries" / "countries-50m.json"]
    for version in standard.VERSIONS:  # every release a node judges by ships: its files and its kit
        needed += [standard.ontology_file(version), standard.vocabularies_file(version),
                   standard.context_file(version), standard.kit_manifest(version),
                   *(standard.shapes_file(p, version) for p in standard.PROFILES),
                   *sorted(standard.kit_manifest(version).parent.joinpath("cases").iterdir())]
    for path in needed:
        relative = "_standard/" + str(path.relative_to(standard.ontology_dir().parent))
        assert any(Path(relative).match(p) for p in patterns), relative
    assert root.joinpath("web", "templates").is_dir()
