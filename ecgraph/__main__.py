"""``python -m ecgraph``: the ``ecgraph`` command, for where the script is not on PATH."""

from ecgraph.cli import main

if __name__ == "__main__":
    main(prog_name="ecgraph")
