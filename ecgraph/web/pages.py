"""The HTML pages: a home page that explains the node and a query editor that works in any
browser (plain HTML forms, a little vanilla JavaScript shipped with the package; nothing is
fetched from the internet)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ecgraph.standard.examples import example_queries
from ecgraph.web.common import node, node_url

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")


@bp.get("/")
def home():
    n = node()
    twins = [{"id": twin_id, "title": title, "entry": entry} for twin_id, title, entry in n.titles()]
    return render_template("home.html", stats=n.stats(), twins=twins, examples=example_queries(),
                           query=request.args.get("query", ""), base=node_url(),
                           peers=n.peers.describe())
