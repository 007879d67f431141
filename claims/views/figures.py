"""Views: pure functions from a host's state or events to plotly figures.

One colour per domain across every view (:func:`domain_colour`), one palette
for every figure (:mod:`claims.views.style`); hover text gives exact numbers
and MFN ranges; legends name the states.  Views read what the model recorded;
they never decide anything the model decides.  A figure given no data says
what will appear instead of drawing empty axes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from ..hypervisor.constants import INVALID_DIRTY_IDX
from ..hypervisor.events import Event
from ..hypervisor.xen import Xen
from . import style
from .style import domain_colour, domain_label

__all__ = [
    "ALLOC_OPS",
    "DOMAIN_PALETTE",
    "MAX_STRIP_RUNS",
    "REDEEM_COLOURS",
    "STATE_COLOURS",
    "STATE_LABELS",
    "address_strip",
    "allocated_by_node",
    "buddyinfo",
    "domain_colour",
    "figure_values",
    "node_bars",
    "offlined_by_node",
    "redemption",
    "redemption_parts",
    "redemption_sankey",
    "strip_runs",
    "timeline",
]

DOMAIN_PALETTE = list(style.DOMAINS)
STATE_COLOURS = {
    "free clean": style.HEAP["free"],
    "free dirty": style.HEAP["free dirty"],
    "unclaimed free": style.HEAP["free"],
    "offlined": style.HEAP["offlined"],
    "broken": style.HEAP["broken"],
    "reserved": style.HEAP["never handed to the heap"],
    "MFN 0": style.HEAP["MFN 0"],
    "Xen / anonymous": style.HEAP["Xen / anonymous"],
}
# legend names of the address strip's states (``strip_runs`` keeps the model's words)
STATE_LABELS = {
    "reserved": "never handed to the heap",
    "MFN 0": "MFN 0 (kept out of the heap)",
}
REDEEM_COLOURS = {k: style.REDEMPTION[k] for k in style.REDEMPTION}
MAX_STRIP_RUNS = 4000

Names = Mapping[int, str]  # domid -> the name a scenario gave the domain


def _layout(fig: go.Figure, title: str, **kw: Any) -> go.Figure:
    """The kit's look (:func:`style.apply`): template, title, legend at the right."""
    return style.apply(fig, title, **kw)


# ------------------------------------------------------------ per-node bars
def allocated_by_node(xen: Xen) -> dict[tuple[int, int | None], int]:
    """Pages allocated per ``(node, domid)`` (the model's count, for the views)."""
    return xen.allocated_by_node()


def offlined_by_node(xen: Xen) -> list[int]:
    """Offlined and broken pages per node."""
    out = [0] * xen.nr_nodes
    for mfn in list(xen.page_offlined_list) + list(xen.page_broken_list):
        node = xen.mfn_to_nid(mfn)
        if node is not None:
            out[node] += 1
    return out


def node_bars(xen: Xen, *, names: Names | None = None) -> go.Figure:
    """Per node: pages allocated per domain, node claims per domain, unclaimed free,
    offlined; beside them, host-wide claims set against the host's unclaimed memory.

    A domain's bars are its colour: solid for its pages, hatched for its node
    claims, crossed for its host-wide claim.  *names* (domid -> name) labels
    domains as a scenario names them; without it they are ``d<domid>``.
    """
    dnames = dict(names or {})
    nodes = [f"node {n}" for n in range(xen.nr_nodes)]
    x = nodes + ["host-wide"]
    zero = [0] * len(x)
    alloc = allocated_by_node(xen)
    owners = sorted({k[1] for k in alloc if k[1] is not None} | set(xen.domains))
    fig = go.Figure()
    stacks: list[list[int]] = []

    def bar(name: str, ys: list[int], colour: str, pattern: str = "", group: str = "") -> None:
        stacks.append(ys)
        marker: dict[str, Any] = {"color": colour}
        if pattern:
            marker["pattern"] = {"shape": pattern, "fillmode": "replace", "solidity": 0.45}
        fig.add_trace(
            go.Bar(
                name=name,
                x=x,
                y=ys,
                marker=marker,
                legendgroup=group or name,
                hovertemplate=f"{name}<br>%{{x}}: %{{y:,d}} pages<extra></extra>",
            )
        )

    for domid in owners:
        colour = domain_colour(domid)
        label = domain_label(domid, dnames)
        ys = [alloc.get((n, domid), 0) for n in range(xen.nr_nodes)] + [0]
        bar(f"{label} allocated", ys, colour, group=label)
        d = xen.domains.get(domid)
        if d is not None:
            bar(f"{label} node claims", list(d.claims) + [0], colour, style.NODE_CLAIM_PATTERN,
                label)  # fmt: skip
            bar(f"{label} host-wide claim", [0] * xen.nr_nodes + [d.host_claims], colour,
                style.HOST_CLAIM_PATTERN, label)  # fmt: skip
    anon = [alloc.get((n, None), 0) for n in range(xen.nr_nodes)] + [0]
    if any(anon):
        bar("Xen / anonymous allocated", anon, STATE_COLOURS["Xen / anonymous"])
    unclaimed = [xen.node_avail_pages[n] - xen.claimed_pages[n] for n in range(xen.nr_nodes)]
    unclaimed.append(xen.total_avail_pages - xen.outstanding_claims)
    bar("unclaimed free", unclaimed, STATE_COLOURS["unclaimed free"])
    off = offlined_by_node(xen)
    if any(off):
        bar("offlined", off + [0], STATE_COLOURS["offlined"])
    if not fig.data:
        bar("unclaimed free", zero, STATE_COLOURS["unclaimed free"])
    return _layout(
        fig,
        f"Memory per node ({xen.semantics}): outstanding_claims {xen.outstanding_claims:,}, "
        f"total_avail_pages {xen.total_avail_pages:,}",
        barmode="stack",
        yaxis={"title": {"text": "pages"}, **style.int_axis(style.stack_top(stacks))},
        xaxis={"type": "category"},
    )


# ---------------------------------------------------------------- buddyinfo
def buddyinfo(xen: Xen, zone: int | None = None) -> go.Figure:
    """Free blocks per node and order, like ``/proc/buddyinfo`` (one zone on request)."""
    counts = xen.buddyinfo(zone)
    orders = list(range(xen.max_order + 1))
    top = max((c for row in counts for c in row), default=0)
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=orders,
            y=[f"node {n}" for n in range(xen.nr_nodes)],
            text=[[str(c) if c else "" for c in row] for row in counts],
            texttemplate="%{text}",
            colorscale=[[0.0, "rgba(84,162,75,0.10)"], [1.0, style.HEAP["free"]]],
            zmin=0,
            zmax=max(top, 1),
            xgap=1,
            ygap=1,
            hovertemplate="%{y}, order %{x}: %{z:,d} free blocks<extra></extra>",
            colorbar=style.colorbar_int(max(top, 1), "free blocks"),
        )
    )
    where = "all zones" if zone is None else f"zone {zone}"
    return _layout(
        fig,
        f"Free blocks per node and order ({where})",
        xaxis={
            "title": {"text": "order"},
            "tick0": 0,
            "dtick": 1,
            "showgrid": False,
            "zeroline": False,
        },
        yaxis={"showgrid": False},
    )


# ------------------------------------------------------------ address strip
def strip_runs(xen: Xen, node: int, zone: int | None = None) -> list[tuple[int, int, str, str]]:
    """``(start, length, state, detail)`` runs of a node's memory, by address.

    States: ``free clean``, ``free dirty``, ``d<domid>``, ``Xen / anonymous``,
    ``offlined``, ``broken``, ``reserved`` (never handed to the heap) and
    ``MFN 0`` (the page ``init_heap_pages`` always keeps out of the heap).
    """
    runs: list[tuple[int, int, str, str]] = []
    for mfn, blk in xen.free_blocks(node):
        if zone is not None and xen.page_to_zone(mfn) != zone:
            continue
        dirty = blk.first_dirty != INVALID_DIRTY_IDX
        state = "free dirty" if dirty else "free clean"
        detail = f"order {blk.order}" + (f", first_dirty {blk.first_dirty}" if dirty else "")
        runs.append((mfn, 1 << blk.order, state, detail))
    for mfn, rec in xen.allocated_blocks():
        if xen.mfn_to_nid(mfn) != node or (zone is not None and xen.page_to_zone(mfn) != zone):
            continue
        state = f"d{rec.owner.domid}" if rec.owner else "Xen / anonymous"
        runs.append((mfn, 1 << rec.order, state, f"order {rec.order}"))
    for state, lst in (("offlined", xen.page_offlined_list), ("broken", xen.page_broken_list)):
        for mfn in lst:
            if xen.mfn_to_nid(mfn) == node and (zone is None or xen.page_to_zone(mfn) == zone):
                runs.append((mfn, 1, state, "page"))
    runs.sort()
    # the rest of the node's memory map is reserved (never handed to the heap)
    out: list[tuple[int, int, str, str]] = []

    def gap(start: int, length: int) -> None:
        if start == 0:  # init_heap_pages keeps MFN 0 out of the heap, always
            out.append((0, 1, "MFN 0", "init_heap_pages never hands MFN 0 to the heap"))
            start, length = 1, length - 1
        if length:
            out.append((start, length, "reserved", "not in the heap"))

    i = 0
    for s, e in _spans(xen, node, zone):
        cur = s
        while i < len(runs) and runs[i][0] < e:
            r = runs[i]
            if r[0] > cur:
                gap(cur, r[0] - cur)
            out.append(r)
            cur = max(cur, r[0] + r[1])
            i += 1
        if cur < e:
            gap(cur, e - cur)
    return out


def _spans(xen: Xen, node: int, zone: int | None) -> list[tuple[int, int]]:
    """The node's memory ranges, cut to *zone* if one is given."""
    out = []
    for s, e in xen.node_ranges[node]:
        if zone is not None:
            s, e = max(s, 1 << (zone - 1) if zone else 0), min(e, 1 << zone)
            if s >= e:
                continue
        out.append((s, e))
    return out


def _merge_runs(runs: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    out: list[tuple[int, int, str, str]] = []
    for r in runs:
        if out and out[-1][2] == r[2] and out[-1][0] + out[-1][1] == r[0]:
            p = out[-1]
            out[-1] = (p[0], p[1] + r[1], p[2], "merged run")
        else:
            out.append(r)
    return out


def address_strip(
    xen: Xen, node: int, zone: int | None = None, *, names: Names | None = None
) -> go.Figure:
    """A node's MFNs as runs coloured by state, block boundaries outlined.

    Drawn from runs (free blocks, allocated blocks, offlined pages), never
    from pages; past ``MAX_STRIP_RUNS`` runs, neighbours of one state merge.
    The MFN axis is ticked at round hexadecimal values.  *names* (domid ->
    name) labels domains as a scenario names them.
    """
    dnames = dict(names or {})
    runs = strip_runs(xen, node, zone)
    merged = len(runs) > MAX_STRIP_RUNS
    if merged:
        runs = _merge_runs(runs)
    by_state: dict[str, list[tuple[int, int, str, str]]] = {}
    for r in runs:
        by_state.setdefault(r[2], []).append(r)
    fig = go.Figure()
    label = f"node {node}"
    for state, rs in by_state.items():
        marker: dict[str, Any] = {"line": {"color": style.OUTLINE, "width": 1}}
        if state.startswith("d") and state[1:].isdigit():
            domid = int(state[1:])
            colour, name = domain_colour(domid), f"{domain_label(domid, dnames)} allocated"
        else:
            colour, name = STATE_COLOURS[state], STATE_LABELS.get(state, state)
        marker["color"] = colour
        shape = style.HEAP_PATTERN.get(STATE_LABELS.get(state, state), "")
        if shape:
            marker["pattern"] = {"shape": shape, "fgcolor": style.HEAP["MFN 0"],
                                 "fillmode": "overlay", "solidity": 0.2}  # fmt: skip
        fig.add_trace(
            go.Bar(
                name=name,
                orientation="h",
                y=[label] * len(rs),
                x=[r[1] for r in rs],
                base=[r[0] for r in rs],
                marker=marker,
                hovertext=[
                    f"{name}: MFN {s:#x}-{s + n - 1:#x} ({n:,} pages, {detail})"
                    for s, n, _st, detail in rs
                ],
                hoverinfo="text",
            )
        )
    where = "" if zone is None else f", zone {zone}"
    note = " (runs merged)" if merged else ""
    spans = _spans(xen, node, zone)
    if not spans:
        return style.empty_state(
            _layout(fig, f"Node {node} by address{where}", height=260),
            f"Node {node} has no memory{where}: its runs would appear here by MFN",
        )
    lo, hi = min(s for s, _ in spans), max(e for _, e in spans)
    return _layout(
        fig,
        f"Node {node} by address{where}: {len(runs):,} runs{note}",
        barmode="overlay",
        xaxis=style.hex_axis(lo, hi),
        yaxis={"showgrid": False},
        height=260,
    )


# ------------------------------------------------------------- redemption
ALLOC_OPS = ("alloc_domheap_pages", "alloc_heap_pages")


def redemption_parts(ev: Event) -> dict[str, int]:
    """Where an allocation's pages came from, from its event (docs/redemption.md#redemption)."""
    request = 1 << ev.args["order"]
    node = ev.info.get("node")
    red = ev.info.get("redeemed", {})
    same = red.get(f"node{node}", 0)
    host = red.get("host", 0)
    other = sum(v for k, v in red.items() if k.startswith("node") and k != f"node{node}")
    return {
        "same-node claim": same,
        "host-wide claim": host,
        "other nodes' claims": other,
        "unclaimed memory": request - same - host - other,
    }


def _allocations(events: Event | Iterable[Event]) -> list[Event]:
    evs = [events] if isinstance(events, Event) else list(events)
    return [e for e in evs if e.op in ALLOC_OPS and e.result is not None]


def _owner(e: Event, names: Mapping[int, str]) -> str:
    d = e.args.get("d")
    if d is None:
        return "Xen"
    return domain_label(d, dict(names)) if isinstance(d, int) else str(d)


def redemption(events: Event | Iterable[Event], *, names: Names | None = None) -> go.Figure:
    """For each successful allocation: the node that served it and how many pages
    came from the same-node claim, the host-wide claim, other nodes' claims and
    unclaimed memory.  Bars are labelled ``#seq domain order k → node n``;
    *names* (domid -> name) labels domains as a scenario names them."""
    allocs = _allocations(events)
    dnames = dict(names or {})
    labels = [
        f"#{e.seq} {_owner(e, dnames)} order {e.args['order']} → node {e.info['node']}"
        for e in allocs
    ]
    parts = [redemption_parts(e) for e in allocs]
    fig = go.Figure()
    title = "Redemption: where each allocation's pages came from"
    if not allocs:
        return style.empty_state(
            _layout(fig, title, barmode="stack"),
            "No allocation yet: each allocation's pages will appear here,<br>"
            "split by where they were redeemed from (a claim on its node,<br>"
            "the host-wide claim, other nodes' claims, or unclaimed memory)",
        )
    for cat, colour in REDEEM_COLOURS.items():
        fig.add_trace(
            go.Bar(
                name=cat,
                x=labels,
                y=[p[cat] for p in parts],
                marker_color=colour,
                customdata=[f"{e.result:#x}" for e in allocs],
                hovertemplate=(
                    f"%{{x}}<br>MFN %{{customdata}}<br>{cat}: %{{y:,d}} pages<extra></extra>"
                ),
            )
        )
    top = max((sum(p.values()) for p in parts), default=0)
    return _layout(
        fig,
        title,
        barmode="stack",
        yaxis={"title": {"text": "pages"}, **style.int_axis(top)},
        xaxis={"type": "category", "tickangle": -30 if len(allocs) > 3 else 0},
    )


def redemption_sankey(events: Event | Iterable[Event]) -> go.Figure:
    """Where allocated pages came from (claims or unclaimed memory) and which node served
    them, summed over one allocation or a run of them, as a sankey diagram."""
    allocs = _allocations(events)
    sources = list(REDEEM_COLOURS)
    nodes = sorted({e.info["node"] for e in allocs})
    labels = sources + [f"node {n}" for n in nodes]
    flows: dict[tuple[int, int], int] = {}
    for e in allocs:
        for i, (_cat, pages) in enumerate(redemption_parts(e).items()):
            if pages:
                key = (i, len(sources) + nodes.index(e.info["node"]))
                flows[key] = flows.get(key, 0) + pages
    links = sorted(flows)
    total = sum(1 << e.args["order"] for e in allocs)
    if not allocs:
        return style.empty_state(
            _layout(go.Figure(), "Redemption of no allocation yet"),
            "No allocation yet: the pages of each allocation will flow here<br>"
            "from where they were redeemed to the node that served them",
        )
    fig = go.Figure(
        go.Sankey(
            node={
                "label": labels,
                "color": list(REDEEM_COLOURS.values()) + [style.node_colour(n) for n in nodes],
                "line": {"width": 0},
                "pad": 20,
            },
            # the kit's grey, without plotly's halo (which follows no theme)
            textfont={"color": style.TEXT, "size": 13, "shadow": "none"},
            link={
                "source": [a for a, _ in links],
                "target": [b for _, b in links],
                "value": [flows[k] for k in links],
                "color": [_translucent(REDEEM_COLOURS[sources[a]], 0.3) for a, _ in links],
                "hovertemplate": "%{source.label} → %{target.label}: %{value:,d} pages"
                "<extra></extra>",
            },
        )
    )
    return _layout(fig, f"Redemption of {len(allocs):,} allocations ({total:,} pages)")


def _translucent(colour: str, alpha: float = 0.45) -> str:
    """``#rrggbb`` as ``rgba(...)`` with *alpha*: links that show their source's colour."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


# --------------------------------------------------------------- timeline
TIMELINE_TITLE = "Claims and free memory over the trace"


def timeline(
    events: Iterable[Event], *, title: str | None = None, names: Names | None = None
) -> go.Figure:
    """``outstanding_claims``, ``total_avail_pages`` and each domain's claim over a trace.

    *title* replaces the default title (say which host or rule set the trace is
    from); *names* (domid -> name) labels domains as a scenario names them.
    """
    evs = [e for e in events if "counters" in e.info]
    dnames = dict(names or {})
    seq = [e.seq for e in evs]
    fig = go.Figure()
    title = title or TIMELINE_TITLE
    if not evs:
        return style.empty_state(
            _layout(fig, title),
            "No event yet: free memory, outstanding claims and each<br>"
            "domain's claim will appear here, event by event",
        )
    seen: list[int] = []
    for key, colour in (
        ("total_avail_pages", style.HEAP["free"]),
        ("outstanding_claims", style.HEAP["claimed"]),
    ):
        ys = [e.info["counters"][key] for e in evs]
        seen += ys
        fig.add_trace(
            go.Scatter(
                name=key,
                x=seq,
                y=ys,
                mode="lines+markers",
                line={"shape": "hv", "color": colour, "width": 3.5},  # under domains' lines
                hovertemplate=f"event #%{{x}}<br>{key}: %{{y:,d}}<extra></extra>",
            )
        )
    domids = sorted({k for e in evs for k in e.info["counters"].get("domain_claims", {})})
    for domid in domids:
        label = domain_label(domid, dnames)
        ys = [e.info["counters"].get("domain_claims", {}).get(domid, (0,))[0] for e in evs]
        seen += ys
        fig.add_trace(
            go.Scatter(
                name=f"{label} outstanding_pages",
                x=seq,
                y=ys,
                mode="lines",
                line={"shape": "hv", "color": domain_colour(domid), "dash": "dot", "width": 2},
                hovertemplate=f"event #%{{x}}<br>{label} claims: %{{y:,d}}<extra></extra>",
            )
        )
    return _layout(
        fig,
        title,
        xaxis={
            "title": {"text": "event"},
            **style.int_axis(max(seq) - min(seq)),
            "rangemode": "normal",
        },
        yaxis={"title": {"text": "pages"}, **style.int_axis(max(seen), min(seen))},
    )


def figure_values(fig: go.Figure) -> dict[str, Sequence[Any]]:
    """Trace name -> y values (or x for horizontal bars): what tests and widgets compare.

    An empty-state message (:func:`style.empty_state`) is not a trace of values and
    is left out.
    """
    out: dict[str, Sequence[Any]] = {}
    for t in fig.data:
        if getattr(t, "meta", None) == style.EMPTY_META:
            continue
        vals = t.x if getattr(t, "orientation", None) == "h" else getattr(t, "y", None)
        out[str(t.name)] = tuple(vals) if vals is not None else ()
    return out
