"""What's new: recently published, changed or removed twins, with the initiatives, events and
lessons they bring, as an Atom feed (RFC 4287) and a JSON Feed (1.1), filtered by place or network.

:func:`recent` is the one place that says what changed: it reads the node's change stream
(:meth:`ecgraph.node.Node.changes`, :mod:`ecgraph.network.changes`), so every publish, replace,
refresh from a source, deletion and harvested (or dropped) copy of a peer's twin is an entry. Each
twin appears once, with its newest change: a twin deleted after it was published appears as
removed (named from the note the index keeps, :meth:`ecgraph.discovery.index.Index.gone`).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ecgraph import formats

ATOM = "http://www.w3.org/2005/Atom"
#: change kinds that take a twin away
REMOVALS = frozenset({"deleted", "unharvested"})


@dataclass(frozen=True)
class Change:
    #: the twin's key in the discovery index: its id, or a harvested copy's graph IRI
    twin_id: str
    version: int
    modified: str  # ISO 8601, UTC
    kind: str = "published"
    #: the node a harvested copy comes from (None: this node's own twin)
    home: str | None = None
    #: the twin's id at its home
    name: str = ""
    seq: int = 0

    @property
    def removed(self) -> bool:
        return self.kind in REMOVALS


def recent(rows: Iterable[dict], *, key: Callable[[dict], str], stamp: Callable[[dict], str] | None = None,
           since: str | None = None, limit: int = 50) -> list[Change]:
    """The newest change of each twin, newest first, from change-stream rows (``seq``, ``time``,
    ``twin``, ``version``, ``kind``, ``home``) in any order; ``key`` names a row's twin in the
    index, ``stamp`` its moment (the row's time by default)."""
    after = _moment(since) if since else None
    latest: dict[str, dict] = {}
    for row in rows:
        k = key(row)
        if k not in latest or row["seq"] > latest[k]["seq"]:
            latest[k] = row
    changes = []
    for k, row in latest.items():
        moment = (stamp(row) if stamp else None) or row["time"]
        if after is not None and _moment(moment) <= after:
            continue
        changes.append(Change(k, int(row.get("version") or 0), moment, row["kind"], row.get("home"), row["twin"],
                              row["seq"]))
    changes.sort(key=lambda c: (c.modified, c.seq), reverse=True)
    return changes[:limit]


def _moment(stamp: str) -> datetime:
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _rfc3339(stamp: str) -> str:
    """A stamp as RFC 3339 (Atom's date-time): the catalog's are already, with milliseconds and Z."""
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        parsed = datetime.now(UTC)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def atom(feed: dict) -> bytes:
    """The feed (see :meth:`ecgraph.discovery.Discovery.whats_new`) as an Atom 1.0 document."""
    ET.register_namespace("", ATOM)

    def sub(parent, tag: str, text: str | None = None, **attrs) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: v for k, v in attrs.items() if v is not None})
        if text is not None:
            element.text = text
        return element

    root = ET.Element(f"{{{ATOM}}}feed")
    sub(root, "id", feed["id"])
    sub(root, "title", feed["title"])
    sub(root, "updated", _rfc3339(feed["updated"]))
    sub(root, "link", rel="self", href=feed["feed_url"], type=formats.ATOM.media_types[0])
    sub(root, "link", rel="alternate", href=feed["home_page_url"])
    author = sub(root, "author")
    sub(author, "name", feed["author"])
    sub(author, "uri", feed["home_page_url"])
    sub(root, "generator", "ecgraph")
    for item in feed["items"]:
        entry = sub(root, "entry")
        sub(entry, "id", item["id"])
        sub(entry, "title", item["title"])
        sub(entry, "updated", _rfc3339(item["updated"]))
        sub(entry, "link", rel="alternate", href=item["url"])
        sub(entry, "summary", item["summary"])
        for tag in item["tags"]:
            sub(entry, "category", term=tag)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def json_feed(feed: dict) -> bytes:
    """The feed as a JSON Feed 1.1 document."""
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed["title"],
        "home_page_url": feed["home_page_url"],
        "feed_url": feed["feed_url"],
        "authors": [{"name": feed["author"], "url": feed["home_page_url"]}],
        "items": [{"id": i["id"], "url": i["url"], "title": i["title"], "content_text": i["summary"],
                   "date_modified": _rfc3339(i["updated"]), "tags": i["tags"],
                   "_ecgraph": {"twin": i["twin"], "version": i["version"], "change": i["change"],
                                "home": i["home"], "communities": i["communities"], "news": i["news"]}}
                  for i in feed["items"]],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
