"""``python -m bench.service_check``: the SERVICE/LOAD check's cost on hostile texts, by size.

The check runs on the HTTP threads before a query reaches a worker, so its cost must grow linearly
with the text whatever the text is (its predecessor took 124 s of CPU on 80 KB of repeated ``é``).
Each shape below is an input that would make a naive scanner rescan from every occurrence of a
keyword to the end of the text. Two figures per shape and size:

* as deployed (with the caps of :mod:`ecgraph.query.federate`): the CPU time to answer (most hostile
  shapes are refused once a cap is reached, in bounded time);
* without the caps (``uncapped``): the CPU time and the work per character (``Scan.steps``), which
  show that the algorithm itself is linear: a constant number of steps per character at every size.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from unittest import mock

from ecgraph.query import federate

SIZES = (64 * 1024, 256 * 1024, 1024 * 1024)
PEERS = federate.PeerPolicy(["http://127.0.0.1:5000/sparql"])


def _fill(unit: str, size: int, head: str = "SELECT * WHERE { ?s ?p ", tail: str = " }") -> str:
    body = (unit * (size // len(unit) + 1))[:size - len(head) - len(tail)]
    return head + body + tail


def shapes(size: int) -> dict[str, str]:
    """Hostile texts of ``size`` characters."""
    return {
        "repeated service": _fill("service ", size),
        "serviceservice...": _fill("service", size),
        "repeated <": _fill("<", size),
        "service< repeated": _fill("service<", size),
        "non-ASCII letters": _fill("é", size),
        "non-ASCII after service": _fill("service éé ", size),
        "long comments": _fill("#" + "x" * 1000 + "\n", size),
        "service#service#...": _fill("service#", size),
        "#service lines": _fill("#service\n", size),
        "serviceex:serviceex:...": "PREFIX ex: <urn:x:> " + _fill("serviceex:", size - 20),
        "prefixprefix...": _fill("prefix", size) + " prefix ex: <x>",
        "base<base<...": _fill("base<", size) + ">",
        "\\u escapes": _fill("\\u0073ervice ", size),
    }


@contextmanager
def uncapped():
    """The check with every cap lifted: what the algorithm costs by itself."""
    big = 1 << 40
    with mock.patch.multiple(federate, MAX_OCCURRENCES=big, MAX_CALLS=big, MAX_CANDIDATES=big):
        yield


def measure(text: str) -> dict:
    """CPU time of inspect + check; the answer; and the steps of one uncapped scan."""
    started = time.process_time()
    try:
        PEERS.check(federate.inspect(text))
        answer = "allowed"
    except federate.QueryRefused as exc:
        answer = "refused: " + str(exc).removeprefix("refused: ")[:60]
    capped = time.process_time() - started
    with uncapped():
        started = time.process_time()
        steps = 0
        texts = [text] + ([federate._decode_uchars(text)] if "\\u" in text or "\\U" in text else [])
        for each in texts:  # as inspect() does: the text, and the text with its \u escapes decoded
            scan = federate.Scan(each)
            try:
                scan.calls(("service", "load"))
                scan.form()
            except federate.QueryRefused:
                pass
            steps += scan.steps
        free = time.process_time() - started
    return {"ms": round(capped * 1000, 1), "uncapped_ms": round(free * 1000, 1),
            "steps_per_char": round(steps / len(text), 2), "answer": answer}


def linearity(sizes=SIZES) -> dict[str, dict[int, dict]]:
    table: dict[str, dict[int, dict]] = {}
    for size in sizes:
        for name, text in shapes(size).items():
            table.setdefault(name, {})[size] = measure(text)
    return table


def render(table: dict[str, dict[int, dict]]) -> str:
    sizes = sorted({s for row in table.values() for s in row})
    head = "| shape | " + " | ".join(f"{s // 1024} KB: ms (uncapped ms, steps/char)" for s in sizes) + " | answer |"
    lines = [head, "| --- " * (len(sizes) + 2) + "|"]
    for name, row in table.items():
        cells = [f"{row[s]['ms']} ({row[s]['uncapped_ms']}, {row[s]['steps_per_char']})" for s in sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row[sizes[-1]]['answer']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[s // 1024 for s in SIZES], help="sizes in KB")
    args = parser.parse_args()
    print(render(linearity([s * 1024 for s in args.sizes])))


if __name__ == "__main__":
    main()
