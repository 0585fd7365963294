"""The dependency map's layout, computed here and drawn by templates/depmap.html as inline SVG.

A deterministic layered layout: one column per start wave (or per host), the endpoints outside the
inventory in a last column of their own, each cluster in a box of its own rows (a band across the
columns its members are in, so the box holds its members and nothing else), the remaining
applications below, each column ordered by where its neighbours sit (fewer crossings). Edges are
cubic paths between the boxes' sides; an arrow points from an application to what it needs (the
server it connects to, the application it starts after).

Everything is plain data (numbers and raw strings); the template escapes the text.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

from migrator.text import printable

NODE_W, NODE_H = 212, 42
COL_GAP = 104          # between columns: where the edges run
ROW_GAP = 12
BAND_GAP = 26          # between a cluster's box and what is above or below it
CLUSTER_PAD = 10       # the box around a cluster's members
CLUSTER_HEAD = 20      # the box's title line
MARGIN = 16
HEADER_H = 34          # column titles
LABEL_UNITS = 24       # the first line of a node (an average character is one unit, a wide one two)
SUB_UNITS = 30         # the second line (smaller font)
TITLE_UNITS = 26       # a column's or a cluster box's title


def text_units(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def fit(text: str, units: int) -> str:
    """`text` on one line, cut with an ellipsis to about `units` average characters."""
    text = printable(text, 2000)
    if text_units(text) <= units:
        return text
    out, used = [], 0
    for c in text:
        w = 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
        if used + w > units - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "\u2026"


@dataclass
class Box:
    id: str                 # n0, n1, ... (what the script and the edges refer to)
    ref: str                # HOST/APP, or ADDRESS:PORT outside the inventory
    kind: str               # app | external
    col: int
    x: float = 0
    y: float = 0
    w: float = NODE_W
    h: float = NODE_H
    label: str = ""
    sub: str = ""
    title: str = ""
    search: str = ""
    href: str | None = None
    verdict: str = ""
    wave: int | None = None
    cluster: int | None = None

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class Edge:
    source: str
    target: str
    kind: str                       # peer | order | external
    title: str
    d: str = ""
    ports: list[str] = field(default_factory=list)


def layout(graph: dict[str, Any], waves: Iterable[Iterable[str]], by: str = "wave",
           links: dict[str, int] | None = None, verdicts: dict[str, str] | None = None,
           link_of=None) -> dict[str, Any]:
    """The map of `graph` (estate.graph_dict) with start `waves`: boxes, cluster boxes, edges,
    column titles and the picture's size. `links` maps an application ref to its page's id,
    `link_of(id)` makes the URL."""
    links, verdicts = links or {}, verdicts or {}
    nodes = {n["id"]: n for n in graph.get("nodes", [])}
    wave_of: dict[str, int] = {}
    for i, wave in enumerate(waves):
        for ref in wave:
            wave_of.setdefault(ref, i)
    last_wave = max(wave_of.values(), default=-1)
    for ref in sorted(nodes):
        if ref not in wave_of:          # not in any wave (should not happen): after the others
            wave_of[ref] = last_wave + 1

    # columns
    if by == "host":
        first_wave: dict[str, int] = {}
        for ref, n in nodes.items():
            first_wave[n["host"]] = min(first_wave.get(n["host"], 10 ** 6), wave_of[ref])
        hosts = sorted(first_wave, key=lambda h: (first_wave[h], h))
        col_of_host = {h: i for i, h in enumerate(hosts)}
        col_of = {ref: col_of_host[n["host"]] for ref, n in nodes.items()}
        columns = [{"title": fit(h, TITLE_UNITS), "full": f"host {printable(h, 300)}"} for h in hosts]
    else:
        count = max(wave_of.values(), default=-1) + 1
        col_of = dict(wave_of)
        columns = [{"title": f"Wave {i + 1}", "full": f"start wave {i + 1}: starts after waves 1 to {i}"
                    if i else "start wave 1: needs nothing found in the estate"} for i in range(count)]

    # boxes of the applications
    boxes: dict[str, Box] = {}
    by_ref: dict[str, Box] = {}
    for i, ref in enumerate(sorted(nodes)):
        n = nodes[ref]
        host, key, software = str(n.get("host", "")), str(n.get("key", "")), str(n.get("software", ""))
        box = Box(id=f"n{i}", ref=ref, kind="app", col=col_of[ref], label=fit(key, LABEL_UNITS),
                  sub=fit(f"{host} \u00b7 {software}", SUB_UNITS), wave=wave_of[ref] + 1,
                  verdict=verdicts.get(ref, ""),
                  title=printable(f"{ref} \u2014 {software}, start wave {wave_of[ref] + 1}", 1000),
                  search=printable(f"{ref} {software} {n.get('name', '')}", 1000).lower())
        if ref in links and link_of is not None:
            box.href = link_of(links[ref])
        boxes[box.id] = by_ref[ref] = box

    # edges (deduplicated: one per pair and kind, ports merged)
    edges: dict[tuple[str, str, str], Edge] = {}

    def add_edge(src: str, dst: str, kind: str, title: str, port: str = "") -> None:
        key = (src, dst, kind)
        edge = edges.get(key)
        if edge is None:
            edge = edges[key] = Edge(src, dst, kind, title)
        if port and port not in edge.ports:
            edge.ports.append(port)

    peer_pairs = set()
    for e in graph.get("edges", []):
        a, b = by_ref.get(e["source"]), by_ref.get(e["target"])
        if a is None or b is None or a is b:
            continue
        peer_pairs.add((a.id, b.id))
        add_edge(a.id, b.id, "peer", f"{a.ref} connects to {b.ref}", f"{e['port']}/{e.get('protocol', 'tcp')}")
    for o in graph.get("order", []):
        after, before = by_ref.get(o["after"]), by_ref.get(o["before"])
        if after is None or before is None or after is before or (after.id, before.id) in peer_pairs:
            continue
        add_edge(after.id, before.id, "order", printable(o.get("reason") or f"{after.ref} starts after {before.ref}",
                                                         1000))

    # endpoints outside the inventory: one box per address and port
    ext_col = len(columns)
    externals: dict[str, Box] = {}
    for e in sorted(graph.get("external", []), key=lambda e: (str(e["address"]), int(e["port"]), e["direction"])):
        app = by_ref.get(e["app"])
        if app is None:
            continue
        address = printable(str(e["address"]), 300)
        name = f"[{address}]:{e['port']}" if ":" in address else f"{address}:{e['port']}"
        if name not in externals:
            box = Box(id=f"x{len(externals)}", ref=name, kind="external", col=ext_col,
                      label=fit(name, LABEL_UNITS), title=f"{name} \u2014 outside the inventory",
                      search=name.lower())
            externals[name] = box
            boxes[box.id] = box
        ext = externals[name]
        if e["direction"] == "out":
            add_edge(app.id, ext.id, "external", f"{app.ref} connects to {name} (outside the inventory)")
        else:
            add_edge(ext.id, app.id, "external", f"{name} (outside the inventory) connects to {app.ref}",
                     f"{e['port']}")
    for ext in externals.values():
        peers = {s if t == ext.id else t for (s, t, _k) in edges if ext.id in (s, t)}
        ext.sub = fit(f"outside \u00b7 {len(peers)} application(s)", SUB_UNITS)
    if externals:
        columns.append({"title": "Outside the inventory", "full": "endpoints outside the inventory"})

    neighbours: dict[str, set[str]] = {b: set() for b in boxes}
    for (s, t, _k) in edges:
        neighbours[s].add(t)
        neighbours[t].add(s)

    col_x = [MARGIN + CLUSTER_PAD + i * (NODE_W + COL_GAP) for i in range(max(len(columns), 1))]
    top = MARGIN + HEADER_H
    bottom = [top] * max(len(columns), 1)     # the next free y of each column

    def bary(box: Box) -> tuple:
        placed = [boxes[n].cy for n in neighbours[box.id] if boxes[n].y > 0]
        host = nodes[box.ref]["host"] if box.kind == "app" else ""
        return (sum(placed) / len(placed) if placed else float("inf"), host, box.ref)

    # clusters: a band of rows each, packed on the columns' skyline
    cluster_boxes = []
    clustered: set[str] = set()
    for ci, cluster in enumerate(graph.get("clusters", [])):
        members = [by_ref[m["id"]] for m in cluster.get("members", []) if m["id"] in by_ref
                   and m["id"] not in clustered]
        if not members:
            continue
        roles = {m["id"]: m.get("role", "") for m in cluster["members"]}
        cols = sorted({b.col for b in members})
        span = range(cols[0], cols[-1] + 1)
        y0 = max(bottom[c] for c in span)
        rows = 0
        for c in cols:
            in_col = [b for b in members if b.col == c]       # primary first, as the cluster lists them
            for r, b in enumerate(in_col):
                b.x, b.y, b.cluster = col_x[c], y0 + CLUSTER_HEAD + r * (NODE_H + ROW_GAP), ci
            rows = max(rows, len(in_col))
        height = CLUSTER_HEAD + rows * (NODE_H + ROW_GAP) - ROW_GAP + CLUSTER_PAD
        for c in span:
            bottom[c] = y0 + height + BAND_GAP
        clustered.update(b.ref for b in members)
        software = printable(str(cluster.get("software", "")), 200)
        cluster_boxes.append({
            "x": col_x[cols[0]] - CLUSTER_PAD, "y": y0, "w": col_x[cols[-1]] - col_x[cols[0]] + NODE_W + 2 * CLUSTER_PAD,
            "h": height, "label": fit(f"{software} cluster ({len(members)})", TITLE_UNITS if len(cols) == 1 else 60),
            "title": f"{software} cluster: " + ", ".join(f"{b.ref} ({roles.get(b.ref, '')})" for b in members),
            "members": " ".join(b.id for b in members)})
        for b in members:
            b.title += f"; {software} cluster {roles.get(b.ref, '')}".rstrip()

    # the other applications, column by column, each in its neighbours' order
    rest = [b for b in by_ref.values() if b.ref not in clustered]
    for c in range(len(columns)):
        in_col = sorted((b for b in rest if b.col == c), key=bary)
        for b in in_col:
            b.x, b.y = col_x[c], bottom[c]
            bottom[c] += NODE_H + ROW_GAP
    if externals:
        for b in sorted(externals.values(), key=bary):
            b.x, b.y = col_x[ext_col], bottom[ext_col]
            bottom[ext_col] += NODE_H + ROW_GAP

    # edge paths: ends spread over the side of each box, in the order of the other end's height
    ends: dict[tuple[str, str], list[Edge]] = {}
    for edge in edges.values():
        a, b = boxes[edge.source], boxes[edge.target]
        out_side, in_side = _sides(a, b)
        ends.setdefault((a.id, out_side), []).append(edge)
        ends.setdefault((b.id, in_side), []).append(edge)
    offset: dict[tuple[str, str], float] = {}
    for (box_id, side), group in ends.items():
        box = boxes[box_id]
        group.sort(key=lambda e: (boxes[e.target if e.source == box_id else e.source].cy, e.source, e.target))
        for i, e in enumerate(group):
            offset[(e.source, e.target, e.kind, box_id)] = box.y + box.h * (i + 1) / (len(group) + 1)
    for edge in edges.values():
        a, b = boxes[edge.source], boxes[edge.target]
        out_side, in_side = _sides(a, b)
        sy = offset[(edge.source, edge.target, edge.kind, a.id)]
        ey = offset[(edge.source, edge.target, edge.kind, b.id)]
        sx = a.x + a.w if out_side == "right" else a.x
        ex = b.x + b.w if in_side == "right" else b.x
        if out_side == in_side:                    # same column: a loop out to the right
            bend = 36 + min(abs(ey - sy) / 8, 40)
            edge.d = f"M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {ex + bend:.1f},{ey:.1f} {ex:.1f},{ey:.1f}"
        else:
            dx = max(abs(ex - sx) / 2, 30)
            c1 = sx + dx if out_side == "right" else sx - dx
            c2 = ex - dx if in_side == "left" else ex + dx
            edge.d = f"M{sx:.1f},{sy:.1f} C{c1:.1f},{sy:.1f} {c2:.1f},{ey:.1f} {ex:.1f},{ey:.1f}"
        if edge.ports and edge.kind == "peer":
            edge.title += " on port " + ", ".join(edge.ports)

    width = (col_x[-1] + NODE_W + CLUSTER_PAD + 60 + MARGIN) if columns else 2 * MARGIN + NODE_W
    height = max(bottom + [top]) + MARGIN
    for i, col in enumerate(columns):
        col["x"], col["cx"] = col_x[i], col_x[i] + NODE_W / 2
    ordered = sorted(boxes.values(), key=lambda b: (b.kind != "app", int(b.id[1:])))
    return {"width": int(width), "height": int(height), "columns": columns, "nodes": ordered,
            "clusters": cluster_boxes, "edges": sorted(edges.values(), key=lambda e: (e.kind, e.source, e.target)),
            "header_y": MARGIN + 20, "column_top": MARGIN + HEADER_H - 6,
            "node_w": NODE_W, "node_h": NODE_H}


def _sides(a: Box, b: Box) -> tuple[str, str]:
    """Which side of `a` an edge leaves and which side of `b` it enters."""
    if a.col < b.col:
        return "right", "left"
    if a.col > b.col:
        return "left", "right"
    return "right", "right"


def overlaps(nodes: list[Box]) -> list[tuple[str, str]]:
    """Pairs of boxes that overlap (for tests: there should be none)."""
    found = []
    ordered = sorted(nodes, key=lambda b: b.x)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.x >= a.x + a.w:
                break
            if a.y < b.y + b.h and b.y < a.y + a.h:
                found.append((a.ref, b.ref))
    return found


def wave_reasons(graph: dict[str, Any], waves: list[list[str]]) -> list[dict[str, Any]]:
    """Wave 1..N, each application with why it is there: what it needs from earlier waves."""
    wave_of = {ref: i for i, wave in enumerate(waves) for ref in wave}
    nodes = {n["id"]: n for n in graph.get("nodes", [])}
    needs: dict[str, list[dict[str, Any]]] = {}
    for o in graph.get("order", []):
        needs.setdefault(o["after"], []).append({"ref": o["before"], "wave": wave_of.get(o["before"], -1) + 1,
                                                 "reason": o.get("reason", "")})
    out = []
    for i, wave in enumerate(waves):
        apps = []
        for ref in wave:
            n = nodes.get(ref, {})
            apps.append({"ref": ref, "host": n.get("host", ref.split("/", 1)[0]), "key": n.get("key", ref),
                         "software": n.get("software", ""),
                         "needs": sorted(needs.get(ref, []), key=lambda d: (-d["wave"], d["ref"]))})
        out.append({"number": i + 1, "apps": apps})
    return out
