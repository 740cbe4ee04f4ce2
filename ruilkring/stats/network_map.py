"""The network map: members as dots coloured by wijk, ties as lines, laid out on the
server with networkx and cached per ring, period end and number of ties."""

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import networkx as nx
from sqlalchemy import select

from ruilkring.extensions import db
from ruilkring.members.models import Member
from ruilkring.stats.metrics import NEW_CONTACT, ties_until
from ruilkring.stats.models import Tie

PALETTE = ("#0b5d3b", "#1d4f91", "#a3000b", "#8a6d00", "#5b2c83", "#00727a", "#9a4d00", "#4a4a4a")


@dataclass
class Node:
    id: int
    name: str
    wijk: str
    colour: str
    x: float
    y: float


@dataclass
class Edge:
    a: Node
    b: Node
    trades: int
    new_contact: bool


@lru_cache(maxsize=32)
def _layout(ring_id: int, until: date, edges: tuple[tuple[int, int, int], ...]) -> dict[int, tuple[float, float]]:
    graph = nx.Graph()
    graph.add_weighted_edges_from(edges)
    if not graph:
        return {}
    positions = nx.spring_layout(graph, seed=1, weight="weight", iterations=80)
    # Stretch to the whole square: a few loosely tied members would otherwise squeeze the rest.
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    width, height = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    return {node: (float((x - min(xs)) / width * 2 - 1), float((y - min(ys)) / height * 2 - 1))
            for node, (x, y) in positions.items()}


def network_map(*, ring_id: int, until: date, size: int = 800) -> tuple[list[Node], list[Edge], list[tuple[str, str]]]:
    """Nodes and edges of the ties formed before ``until``, scaled to a ``size`` square,
    and the legend (wijk, colour)."""
    ties = db.session.execute(
        select(Tie.member_low_id, Tie.member_high_id, Tie.trade_count, NEW_CONTACT)
        .where(ties_until([ring_id], until))
    ).all()
    positions = _layout(ring_id, until, tuple(sorted((a, b, n) for a, b, n, _ in ties)))
    members = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(list(positions))))}
    wijken = sorted({m.neighbourhood.name if m.neighbourhood else "?" for m in members.values()})
    colours = {wijk: PALETTE[i % len(PALETTE)] for i, wijk in enumerate(wijken)}
    margin = 20
    nodes = {}
    for member_id, (x, y) in positions.items():
        member = members[member_id]
        wijk = member.neighbourhood.name if member.neighbourhood else "?"
        nodes[member_id] = Node(member_id, member.name, wijk, colours[wijk],
                                margin + (x + 1) / 2 * (size - 2 * margin), margin + (y + 1) / 2 * (size - 2 * margin))
    edges = [Edge(nodes[a], nodes[b], count, bool(new)) for a, b, count, new in ties]
    return list(nodes.values()), edges, list(colours.items())
