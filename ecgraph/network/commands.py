"""``ecgraph peers add|remove|list|check`` and ``ecgraph harvest``: thin over the node.

Like ``ecgraph twins``, the peers commands work on the node's data directory, beside a running node
too (it reads the peers table again within a second). ``ecgraph harvest`` writes the store, so it
runs when the node does not; a running node harvests with ``POST /api/peers/harvest``.
"""

from __future__ import annotations

import json

import click

from ecgraph import config as settings
from ecgraph import errors


def _print(peers: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(peers, indent=2))
        return
    for p in peers:
        state = "reachable" if p["reachable"] else ("unreachable" if p["reachable"] is False else "not contacted")
        twins = f", {p['twins']} twins" if p.get("twins") is not None else ""
        harvest = p.get("last_harvest") or {}
        last = f", last harvest {harvest.get('time')}: {harvest.get('outcome')}" if harvest else ""
        error = f" ({p['error']})" if p.get("error") else ""
        click.echo(f"{p['id']:>3}  {p['url']:<40} {p['kind']:<8} {state}{twins}{last}{error}")


@click.group()
def peers():
    """The peers of this node: list, add, remove, check (beside a running node too)."""


@peers.command("list")
@settings.options("data")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def peers_list(as_json, **options):
    """Peers and what this node knows of them."""
    from ecgraph.cli import _offline

    node = _offline(options)
    try:
        _print(node.peers_status(), as_json)
    finally:
        node.close()


@peers.command("add")
@settings.options("data", "peer_timeout")
@click.argument("url")
def peers_add(url, **options):
    """Add a peer (a node's base URL or a SPARQL endpoint's URL) and contact it once."""
    from ecgraph.cli import _exit, _offline

    node = _offline(options)
    try:
        peer, created = node.add_peer(url)
    except errors.Error as exc:
        raise _exit(exc) from None
    finally:
        node.close()
    _print([peer], False)
    if not created:
        click.echo("(it was a peer already)")


@peers.command("remove")
@settings.options("data")
@click.argument("peer_id", type=int)
def peers_remove(peer_id, **options):
    """Remove a peer (by the id peers list shows) and what was harvested from it. Run it when the
    node is stopped if the peer had harvested copies (they are in the store)."""
    from ecgraph.cli import _config, _exit, _open_node

    node = _open_node(_config(**options))
    try:
        node.remove_peer(peer_id)
    except errors.Error as exc:
        raise _exit(exc) from None
    finally:
        node.close()
    click.echo(f"peer {peer_id} removed")


@peers.command("check")
@settings.options("data", "peer_timeout")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def peers_check(as_json, **options):
    """Contact every peer now: kind, reachability, latency, twins, profile versions."""
    from ecgraph.cli import _offline

    node = _offline(options)
    try:
        _print(node.check_peers(), as_json)
    finally:
        node.close()


@click.command()
@settings.options("data", "peer_timeout", "harvest_timeout", "fetch_timeout")
@click.option("--peer", "peer_id", type=int, default=None, help="Only this peer (its id in peers list).")
def harvest(peer_id, **options):
    """Harvest the ecgraph peers' twins into this node's store now (the node must be stopped; a
    running node harvests with POST /api/peers/harvest)."""
    from ecgraph.cli import _config, _exit, _open_node

    node = _open_node(_config(**options))
    try:
        outcomes = node.harvest(peer_id)
    except errors.Error as exc:
        raise _exit(exc) from None
    finally:
        node.close()
    failed = False
    for o in outcomes:
        refused = f", {len(o.get('refused', []))} refused" if o.get("refused") else ""
        click.echo(f"{o['peer']}: {o['outcome']}: {len(o.get('harvested', []))} harvested, "
                   f"{o.get('unchanged', 0)} unchanged, {len(o.get('removed', []))} removed{refused}"
                   + (f" ({o['error']})" if o.get("error") else ""))
        for r in o.get("refused", []):
            click.echo(f"  - {r['twin']}: {r['reason']}", err=True)
        failed = failed or bool(o.get("error"))
    if failed:
        raise SystemExit(1)


def register(main: click.Group) -> None:
    main.add_command(peers)
    main.add_command(harvest)
