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
    shown, registered = n.recent_titles(HOME_TWINS)
    twins = [{"id": twin_id, "title": title, "entry": entry} for twin_id, title, entry in shown]
    return render_template("home.html", stats=n.stats(), twins=twins, registered=registered,
                           examples=example_queries(), query=request.args.get("query", ""), base=node_url(),
                           peers=n.peers.describe())
