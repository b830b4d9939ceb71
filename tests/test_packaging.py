"""The standard's files ship inside the package (a wheel has no repository around it)."""

from pathlib import Path

from ecgraph import standard

PACKAGED = Path(standard.__file__).parent / "_standard"


def test_the_package_links_to_every_standard_directory():
    for name in ("ontology", "shapes", "data", "docs"):
        assert (PACKAGED / name).resolve() == (Path(standard.__file__).parent.parent / name).resolve()


def test_package_data_covers_the_standards_files():
    import tomllib

    config = tomllib.loads((Path(standard.__file__).parent.parent / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["ecgraph"]
    root = Path(standard.__file__).parent
    needed = [standard.ontology_file(), standard.vocabularies_file(), standard.context_file(),
              standard.shapes_file("core"), standard.shapes_file("recommended"), standard.kit_manifest(),
              *sorted((standard.shapes_dir() / "kit" / "cases").iterdir()),
              *sorted(standard.demo_twins_dir().iterdir()), *sorted((standard.docs_dir() / "queries").iterdir())]
    for path in needed:
        relative = "_standard/" + str(path.relative_to(standard.ontology_dir().parent))
        assert any(Path(relative).match(p) for p in patterns), relative
    assert root.joinpath("web", "templates").is_dir()
