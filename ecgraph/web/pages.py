"""The HTML pages: a home page that explains the node and a query editor that works in any
browser (plain HTML forms, a little vanilla JavaScript shipped with the package; nothing is
fetched from the internet)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ecgraph.standard.examples import example_queries
from ecgraph.web.common import node, node_url

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")


#: how many twins the home page lists (the most recently updated): at 10,000 twins the whole list
#: was a 3.5 MB page with 10,000 badge images for a browser to fetch; the directory, what's new,
#: the catalog and /api/twins hold them all
HOME_TWINS = 20


@bp.get("/")
def home():
    n = node()
    twins = [{"id": twin_id, "title": title, "entry": entry} for twin_id, title, entry in n.titles()]
    # the newest first; twins registered but not published yet after every published one
    published = sorted((t for t in twins if t["entry"] is not None), key=lambda t: (t["entry"].modified, t["id"]),
                       reverse=True)
    shown = (published + [t for t in twins if t["entry"] is None])[:HOME_TWINS]
    return render_template("home.html", stats=n.stats(), twins=shown, registered=len(twins),
                           examples=example_queries(), query=request.args.get("query", ""), base=node_url(),
                           peers=n.peers.describe())
