"""What's new: recently published or changed twins, with the initiatives, events and lessons they
bring, as an Atom feed (RFC 4287) and a JSON Feed (1.1), filtered by place or network.

:func:`recent` is the one place that says what changed. Today it reads the node's catalog (each
published twin's current version and when it was published); when the node's change stream of
issue 14 (``Node.changes(since, limit)``) lands, :func:`recent` becomes a call to it and nothing
else here changes. A twin that was unpublished simply drops out (the feeds announce opportunities,
not removals).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ecgraph import formats

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Change:
    twin_id: str
    version: int
    modified: str  # ISO 8601, UTC


def recent(entries: Iterable, *, since: str | None = None, limit: int = 50) -> list[Change]:
    """The newest changes first: objects with ``id``, ``version`` and ``modified`` (catalog entries)."""
    after = _moment(since) if since else None
    changes = [Change(e.id, e.version, e.modified) for e in entries if after is None or _moment(e.modified) > after]
    changes.sort(key=lambda c: (c.modified, c.twin_id), reverse=True)
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
                   "_ecgraph": {"twin": i["twin"], "version": i["version"], "communities": i["communities"],
                                "news": i["news"]}}
                  for i in feed["items"]],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
