"""Views: pure functions from a host's state or events to plotly figures.

One colour per domain across every view (:func:`domain_colour`); hover text
gives exact numbers and MFN ranges; legends name the states.  Views read what
the model recorded; they never decide anything the model decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import plotly.graph_objects as go

from ..hypervisor.constants import INVALID_DIRTY_IDX
from ..hypervisor.events import Event
from ..hypervisor.xen import Xen

DOMAIN_PALETTE = [
    "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#ad494a",
]  # fmt: skip
STATE_COLOURS = {
    "free clean": "#a1d99b",
    "free dirty": "#fdd0a2",
    "unclaimed free": "#a1d99b",
    "offlined": "#d62728",
    "broken": "#67000d",
    "reserved": "#d9d9d9",
    "Xen / anonymous": "#636363",
}
REDEEM_COLOURS = {
    "same-node claim": "#2ca02c",
    "host-wide claim": "#1f77b4",
    "other nodes' claims": "#9467bd",
    "unclaimed memory": "#bdbdbd",
}
MAX_STRIP_RUNS = 4000


def domain_colour(domid: int | None) -> str:
    """The colour of domain *domid* in every view (grey for Xen's own pages)."""
    if domid is None:
        return STATE_COLOURS["Xen / anonymous"]
    return DOMAIN_PALETTE[domid % len(DOMAIN_PALETTE)]


def _layout(fig: go.Figure, title: str, **kw: Any) -> go.Figure:
    fig.update_layout(
        title=title,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        **kw,
    )
    return fig


# ------------------------------------------------------------ per-node bars
def allocated_by_node(xen: Xen) -> dict[tuple[int, int | None], int]:
    """Pages allocated per ``(node, domid)`` (the model's count, for the views)."""
    return xen.allocated_by_node()


def offlined_by_node(xen: Xen) -> list[int]:
    out = [0] * xen.nr_nodes
    for mfn in list(xen.page_offlined_list) + list(xen.page_broken_list):
        node = xen.mfn_to_nid(mfn)
        if node is not None:
            out[node] += 1
    return out


def node_bars(xen: Xen) -> go.Figure:
    """Per node: pages allocated per domain, node claims per domain, unclaimed free,
    offlined; beside them, host-wide claims set against the host's unclaimed memory."""
    nodes = [f"node {n}" for n in range(xen.nr_nodes)]
    x = nodes + ["host-wide"]
    zero = [0] * len(x)
    alloc = allocated_by_node(xen)
    owners = sorted({k[1] for k in alloc if k[1] is not None} | set(xen.domains))
    fig = go.Figure()

    def bar(name: str, ys: list[int], colour: str, pattern: str = "", group: str = "") -> None:
        fig.add_trace(
            go.Bar(
                name=name,
                x=x,
                y=ys,
                marker={"color": colour, "pattern": {"shape": pattern}},
                legendgroup=group or name,
                hovertemplate=f"{name}<br>%{{x}}: %{{y}} pages<extra></extra>",
            )
        )

    for domid in owners:
        colour = domain_colour(domid)
        ys = [alloc.get((n, domid), 0) for n in range(xen.nr_nodes)] + [0]
        bar(f"d{domid} allocated", ys, colour, group=f"d{domid}")
        d = xen.domains.get(domid)
        if d is not None:
            bar(f"d{domid} node claims", list(d.claims) + [0], colour, "/", f"d{domid}")
            bar(f"d{domid} host-wide claim", [0] * xen.nr_nodes + [d.host_claims], colour, "x",
                f"d{domid}")  # fmt: skip
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
        f"Memory per node ({xen.semantics}): outstanding_claims {xen.outstanding_claims}, "
        f"total_avail_pages {xen.total_avail_pages}",
        barmode="stack",
        yaxis_title="pages",
    )


# ---------------------------------------------------------------- buddyinfo
def buddyinfo(xen: Xen, zone: int | None = None) -> go.Figure:
    """Free blocks per node and order, like ``/proc/buddyinfo`` (one zone on request)."""
    counts = xen.buddyinfo(zone)
    orders = list(range(xen.max_order + 1))
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=orders,
            y=[f"node {n}" for n in range(xen.nr_nodes)],
            text=[[str(c) if c else "" for c in row] for row in counts],
            texttemplate="%{text}",
            colorscale="Greens",
            hovertemplate="%{y}, order %{x}: %{z} free blocks<extra></extra>",
            colorbar={"title": "blocks"},
        )
    )
    where = "all zones" if zone is None else f"zone {zone}"
    return _layout(fig, f"Free blocks per node and order ({where})", xaxis_title="order")


# ------------------------------------------------------------ address strip
def strip_runs(xen: Xen, node: int, zone: int | None = None) -> list[tuple[int, int, str, str]]:
    """``(start, length, state, detail)`` runs of a node's memory, by address."""
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
    i = 0
    for s, e in xen.node_ranges[node]:
        if zone is not None:
            s, e = max(s, 1 << (zone - 1) if zone else 0), min(e, 1 << zone)
            if s >= e:
                continue
        cur = s
        while i < len(runs) and runs[i][0] < e:
            r = runs[i]
            if r[0] > cur:
                out.append((cur, r[0] - cur, "reserved", "not in the heap"))
            out.append(r)
            cur = max(cur, r[0] + r[1])
            i += 1
        if cur < e:
            out.append((cur, e - cur, "reserved", "not in the heap"))
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


def address_strip(xen: Xen, node: int, zone: int | None = None) -> go.Figure:
    """A node's MFNs as runs coloured by state, block boundaries outlined.

    Drawn from runs (free blocks, allocated blocks, offlined pages), never
    from pages; past ``MAX_STRIP_RUNS`` runs, neighbours of one state merge.
    """
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
        if state.startswith("d") and state[1:].isdigit():
            colour, name = domain_colour(int(state[1:])), f"{state} allocated"
        else:
            colour, name = STATE_COLOURS[state], state
        fig.add_trace(
            go.Bar(
                name=name,
                orientation="h",
                y=[label] * len(rs),
                x=[r[1] for r in rs],
                base=[r[0] for r in rs],
                marker={"color": colour, "line": {"color": "#333", "width": 0.5}},
                hovertext=[
                    f"{name}: MFN {s:#x}-{s + n - 1:#x} ({n} pages, {detail})"
                    for s, n, _st, detail in rs
                ],
                hoverinfo="text",
            )
        )
    where = "" if zone is None else f", zone {zone}"
    note = " (runs merged)" if merged else ""
    return _layout(
        fig,
        f"Node {node} by address{where}: {len(runs)} runs{note}",
        barmode="overlay",
        xaxis_title="MFN",
        xaxis_tickformat="#x",
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


def redemption(events: Event | Iterable[Event]) -> go.Figure:
    """For each successful allocation: the node that served it and how many pages
    came from the same-node claim, the host-wide claim, other nodes' claims and
    unclaimed memory."""
    evs = [events] if isinstance(events, Event) else list(events)
    allocs = [e for e in evs if e.op in ALLOC_OPS and e.result is not None]
    labels = [f"#{e.seq} d{e.args['d']} o{e.args['order']} → node {e.info['node']}" for e in allocs]
    parts = [redemption_parts(e) for e in allocs]
    fig = go.Figure()
    for cat, colour in REDEEM_COLOURS.items():
        fig.add_trace(
            go.Bar(
                name=cat,
                x=labels,
                y=[p[cat] for p in parts],
                marker_color=colour,
                customdata=[f"{e.result:#x}" for e in allocs],
                hovertemplate=(
                    f"%{{x}}<br>MFN %{{customdata}}<br>{cat}: %{{y}} pages<extra></extra>"
                ),
            )
        )
    return _layout(
        fig, "Redemption: where each allocation's pages came from", barmode="stack",
        yaxis_title="pages",
    )  # fmt: skip


def redemption_sankey(events: Event | Iterable[Event]) -> go.Figure:
    """Where allocated pages came from (claims or unclaimed memory) and which node served
    them, summed over one allocation or a run of them, as a sankey diagram."""
    evs = [events] if isinstance(events, Event) else list(events)
    allocs = [e for e in evs if e.op in ALLOC_OPS and e.result is not None]
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
    fig = go.Figure(
        go.Sankey(
            node={
                "label": labels,
                "color": list(REDEEM_COLOURS.values()) + ["#636363"] * len(nodes),
                "pad": 20,
            },
            link={
                "source": [a for a, _ in links],
                "target": [b for _, b in links],
                "value": [flows[k] for k in links],
                "hovertemplate": "%{source.label} → %{target.label}: %{value} pages<extra></extra>",
            },
        )
    )
    total = sum(1 << e.args["order"] for e in allocs)
    return _layout(fig, f"Redemption of {len(allocs)} allocations ({total} pages)")


# --------------------------------------------------------------- timeline
def timeline(events: Iterable[Event]) -> go.Figure:
    """``outstanding_claims``, ``total_avail_pages`` and each domain's claim over a trace."""
    evs = [e for e in events if "counters" in e.info]
    seq = [e.seq for e in evs]
    fig = go.Figure()
    for key, colour in (("total_avail_pages", "#2ca02c"), ("outstanding_claims", "#d62728")):
        fig.add_trace(
            go.Scatter(
                name=key,
                x=seq,
                y=[e.info["counters"][key] for e in evs],
                mode="lines+markers",
                line={"shape": "hv", "color": colour},
                hovertemplate=f"event #%{{x}}<br>{key}: %{{y}}<extra></extra>",
            )
        )
    domids = sorted({k for e in evs for k in e.info["counters"].get("domain_claims", {})})
    for domid in domids:
        ys = [e.info["counters"].get("domain_claims", {}).get(domid, (0,))[0] for e in evs]
        fig.add_trace(
            go.Scatter(
                name=f"d{domid} outstanding_pages",
                x=seq,
                y=ys,
                mode="lines",
                line={"shape": "hv", "color": domain_colour(domid), "dash": "dot"},
                hovertemplate=f"event #%{{x}}<br>d{domid} claims: %{{y}}<extra></extra>",
            )
        )
    return _layout(fig, "Claims and free memory over the trace", xaxis_title="event",
                   yaxis_title="pages")  # fmt: skip


def figure_values(fig: go.Figure) -> dict[str, Sequence[Any]]:
    """Trace name -> y values (or x for horizontal bars): what tests and widgets compare."""
    out: dict[str, Sequence[Any]] = {}
    for t in fig.data:
        vals = t.x if getattr(t, "orientation", None) == "h" else getattr(t, "y", None)
        out[str(t.name)] = tuple(vals) if vals is not None else ()
    return out
