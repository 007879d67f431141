"""Views for design review: scenario runs side by side (pure functions to figures)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import style
from .figures import _layout

if TYPE_CHECKING:
    import pandas as pd

    from ..review.runner import Comparison
    from ..toolstack.bootstorm import StormResult

RULE_DASH = dict(style.VERSION_DASH)
RULE_COLOURS = dict(style.VERSIONS)


def _no_data(title: str, message: str, **layout: Any) -> go.Figure:
    """A figure of *title* that says *message* where its data would be."""
    return style.empty_state(_layout(go.Figure(), title, **layout), message)


def scenario_counters(cmp: Comparison) -> go.Figure:
    """Free pages and outstanding claims after each step, one line per rule set.

    Each rule set has its colour (``style.VERSIONS``) and dash in both panels;
    the legend names each rule set once.
    """
    title = f"{cmp.scenario.name}: counters after each step"
    steps = list(range(1, len(cmp.scenario.steps) + 1))
    if not steps or not cmp.runs:
        return _no_data(
            title,
            "No step to run: free pages and outstanding claims after<br>"
            "each step will appear here, one line per rule set",
            height=360,
        )
    fig = make_subplots(rows=1, cols=2, subplot_titles=("free pages", "outstanding claims"))
    values: dict[int, list[int]] = {1: [], 2: []}
    n = len(cmp.runs)
    for i, r in enumerate(cmp.runs):
        dash = RULE_DASH.get(r.semantics, "solid")
        colour = style.version_colour(r.semantics)
        symbol = style.VERSION_SYMBOL.get(r.semantics, "circle-open")
        width, size = 1.5 + 1.5 * (n - 1 - i), 6 + 3 * (n - 1 - i)  # first drawn: widest
        labels = [s.label for s in r.results]
        for col, key in ((1, "total_avail_pages"), (2, "outstanding_claims")):
            ys = [s.counters[key] for s in r.results]
            values[col] += ys
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=ys,
                    mode="lines+markers",
                    name=r.semantics,
                    legendgroup=r.semantics,
                    showlegend=col == 1,
                    line={"dash": dash, "shape": "hv", "color": colour, "width": width},
                    marker={
                        "color": colour,
                        "symbol": symbol,
                        "size": size,
                        "line": {"width": 1.5, "color": colour},
                    },  # fmt: skip
                    text=labels,
                    hovertemplate="step %{x}: %{text}<br>%{y:,d} pages<extra>"
                    + r.semantics
                    + "</extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="step", tick0=1, dtick=1)
    for col in (1, 2):
        ys = values[col] or [0]
        fig.update_yaxes(style.int_axis(max(ys), min(ys)), row=1, col=col)
    fig.update_yaxes(title_text="pages", row=1, col=1)
    return _layout(fig, title, height=360, margin={"t": 90})


NODE_COLOURS = list(style.NODES)


def scenario_placement(cmp: Comparison) -> go.Figure:
    """Each live guest's pages per node at the end: a stacked bar per (rule set, guest).

    Guests are named as the scenario names them; a scenario that leaves no guest
    holding memory shows a message instead of empty axes.
    """
    title = "where each guest's memory is at the end"
    fig = go.Figure()
    nr_nodes = len(cmp.scenario.nodes)
    names = sorted({n for r in cmp.runs for n in r.names})
    series: list[tuple[int, list[str], list[int]]] = []
    for node in range(nr_nodes):
        xs, ys = [], []
        for r in cmp.runs:
            for name in names:
                domid = r.names.get(name)
                d = r.xen.domains.get(domid) if domid is not None else None
                xs.append(f"{r.semantics} · {name}")
                ys.append(r.xen.pages_by_node(d)[node] if d is not None else 0)
        series.append((node, xs, ys))
    if not any(y for _, _, ys in series for y in ys):
        who = ", ".join(names) if names else "no guest"
        return _no_data(
            title,
            f"No guest holds memory at the end ({who}):<br>"
            "each live guest's pages per node would appear here,<br>"
            "one stacked bar per rule set and guest",
            height=360,
        )
    for node, xs, ys in series:
        fig.add_trace(
            go.Bar(
                x=xs,
                y=ys,
                name=f"node {node}",
                marker={"color": style.node_colour(node)},
                hovertemplate=f"node {node}: " + "%{y:,d} pages<extra>%{x}</extra>",
            )
        )
    top = style.stack_top(ys for _, _, ys in series)
    return _layout(
        fig,
        title,
        height=360,
        barmode="stack",
        yaxis={"title": {"text": "pages"}, **style.int_axis(top)},
        xaxis={"type": "category"},
    )


# ------------------------------------------------------------------ boot storms
MODE_COLOURS = dict(style.MODES)
FAILED_COLOUR = style.STORM["failed builds"]


def _storm_label(r: StormResult) -> str:
    """A storm's row label: its mode, and for xenopsd the hypervisor it ran on."""
    return f"xenopsd on {r.semantics}" if r.mode == "xenopsd" else r.mode


def storm_placement(results: Sequence[StormResult]) -> go.Figure:
    """Each guest's memory per node (MiB), stacked, one row per storm (XenServer's NUMA
    metrics); a failed build is a hatched bar of the memory it asked for."""
    results = list(results)
    title = "boot storm: each guest's memory per node"
    if not results:
        return _no_data(
            title,
            "No storm run yet: each guest's memory per node will appear here,<br>"
            "one row per claims mode",
            height=360,
        )
    height = 220 + 200 * len(results)
    fig = make_subplots(
        rows=len(results),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=[
            f"{_storm_label(r)}: {r.split_guests} split, {r.failed_builds} failed" for r in results
        ],
    )
    mib = 1 << 8  # pages per MiB
    for row, r in enumerate(results, start=1):
        names = [g.name for g in r.guests]
        for node in range(r.nr_nodes):
            fig.add_trace(
                go.Bar(
                    x=names,
                    y=[g.numa_node_memory[node] / mib if g.built else 0 for g in r.guests],
                    name=f"node {node}",
                    legendgroup=f"node {node}",
                    showlegend=row == 1,
                    marker={
                        "color": style.node_colour(node),
                        "pattern": {
                            "shape": style.node_pattern(node),
                            "fgcolor": style.TEXT,
                            "fillmode": "overlay",
                            "size": 7,
                            "solidity": 0.45,
                        },
                    },
                    customdata=[[g.numa_node_memory[node], g.domid] for g in r.guests],
                    hovertemplate=f"{_storm_label(r)} · %{{x}} (d%{{customdata[1]}})<br>"
                    f"node {node}: "
                    "%{y:,} MiB (%{customdata[0]:,d} pages)<extra></extra>",
                ),
                row=row,
                col=1,
            )
        fig.add_trace(
            go.Bar(
                x=names,
                y=[None if g.built else g.pages / mib for g in r.guests],
                name="failed build",
                legendgroup="failed",
                showlegend=row == 1,
                marker={
                    "color": style.TRANSPARENT,
                    "line": {"color": FAILED_COLOUR, "width": 1.5},
                    "pattern": {"shape": "x", "fgcolor": FAILED_COLOUR, "fillmode": "overlay"},
                },
                text=[g.failure for g in r.guests],
                textposition="none",
                customdata=[sum(g.numa_node_memory) // mib for g in r.guests],
                hovertemplate=f"{_storm_label(r)} · %{{x}}: asked %{{y:,}} MiB, "
                "failed: %{text}"
                "<br>held %{customdata:,d} MiB before it was destroyed<extra></extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="MiB", rangemode="nonnegative", row=row, col=1)
    fig.update_xaxes(type="category")
    return _layout(fig, title, height=height, barmode="stack", bargap=0.15,
                   margin={"t": 90})  # fmt: skip


def storm_summary(results: Sequence[StormResult]) -> go.Figure:
    """Per storm: split guests, failed builds and refused claims; pages populated by builds
    that failed, and claims left over after the storm."""
    results = list(results)
    title = "boot storm: what each claims mode gave"
    if not results:
        return _no_data(
            title,
            "No storm run yet: split guests, failed builds, refused claims<br>"
            "and pages left over will appear here, per claims mode",
            height=380,
        )
    fig = make_subplots(rows=1, cols=2, subplot_titles=("guests and claims", "pages"))
    modes = [r.mode for r in results]
    counts = (
        ("split guests", [r.split_guests for r in results]),
        ("failed builds", [r.failed_builds for r in results]),
        ("claims refused", [r.claim_refusals for r in results]),
    )
    pages = (
        ("pages of failed builds", [r.wasted_pages for r in results]),
        ("claims left over", [r.claims_left for r in results]),
    )
    for col, unit, series in ((1, "", counts), (2, "pages ", pages)):
        for name, ys in series:
            fig.add_trace(
                go.Bar(
                    x=modes,
                    y=ys,
                    name=name,
                    marker={"color": style.STORM[name]},
                    text=ys,
                    textposition="outside",
                    cliponaxis=False,
                    hovertemplate="%{x}: %{y:,d} " + unit + name + "<extra></extra>",
                ),
                row=1,
                col=col,
            )
        top = max((y for _, ys in series for y in ys), default=0)
        fig.update_yaxes(style.int_axis(top), row=1, col=col)
    return _layout(fig, title, height=380, barmode="group", margin={"t": 90})


def sweep_summary(df: pd.DataFrame) -> go.Figure:
    """A sweep's split guests and failed builds per host and mode: the mean over seeds
    (hover: the range)."""
    title_empty = "sweep: no run yet"
    if not len(df):
        return _no_data(
            title_empty,
            "No sweep run yet: split guests and failed builds per host<br>"
            "and claims mode will appear here, the mean over seeds",
            height=380,
        )
    fig = make_subplots(rows=1, cols=2, subplot_titles=("split guests", "failed builds"))
    hosts = sorted({(int(n), int(m)) for n, m in zip(df["nodes"], df["node_mib"])})
    labels = [f"{n} × {m} MiB" for n, m in hosts]
    for mode in [m for m in MODE_COLOURS if m in set(df["mode"])]:
        part = df[df["mode"] == mode]
        for col, key in ((1, "split_guests"), (2, "failed_builds")):
            means, lo, hi = [], [], []
            for n, m in hosts:
                vals = part[(part["nodes"] == n) & (part["node_mib"] == m)][key]
                means.append(float(vals.mean()) if len(vals) else 0.0)
                lo.append(int(vals.min()) if len(vals) else 0)
                hi.append(int(vals.max()) if len(vals) else 0)
            fig.add_trace(
                go.Bar(
                    x=labels,
                    y=means,
                    name=mode,
                    legendgroup=mode,
                    showlegend=col == 1,
                    marker={"color": MODE_COLOURS[mode]},
                    customdata=list(zip(lo, hi)),
                    text=[f"{v:.3g}" for v in means],
                    textposition="outside",
                    cliponaxis=False,
                    hovertemplate=f"{mode} · %{{x}}: mean %{{y:.2f}} "
                    "(%{customdata[0]} to %{customdata[1]})<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_yaxes(rangemode="nonnegative")
    fig.update_yaxes(title_text="per storm (mean over seeds)", row=1, col=1)
    seeds = df["seed"].nunique()
    return _layout(fig, f"sweep: {seeds} seeds per host and mode", height=380,
                   barmode="group", margin={"t": 90})  # fmt: skip


def split_distribution(df: pd.DataFrame) -> go.Figure:
    """How a sweep's storms spread, per claims mode: how many storms split no guest, one,
    two, ...; a bar per count in the mode's colour (``style.MODES``; hover: the share of
    the mode's storms)."""
    if not len(df):
        return _no_data(
            "sweep: no run yet",
            "No sweep run yet: how many storms split how many guests<br>"
            "will appear here, per claims mode",
            height=380,
        )
    fig = go.Figure()
    top = int(df["split_guests"].max())
    xs = list(range(top + 1))
    for mode in [m for m in MODE_COLOURS if m in set(df["mode"])]:
        counts = df[df["mode"] == mode]["split_guests"].value_counts()
        storms = int(counts.sum())
        ys = [int(counts.get(x, 0)) for x in xs]
        fig.add_trace(
            go.Bar(
                x=xs,
                y=ys,
                name=mode,
                marker={"color": MODE_COLOURS[mode]},
                customdata=[y / storms for y in ys],
                hovertemplate=f"{mode} · %{{x}} split guests: %{{y:,d}} of {storms:,} storms "
                "(%{customdata:.1%})<extra></extra>",
            )
        )
    fig.update_xaxes(
        style.int_axis(top) | {"rangemode": "normal", "range": [-0.5, top + 0.5]},
        title_text="split guests in one storm",
    )
    fig.update_yaxes(title_text="storms", tickformat=",d", rangemode="nonnegative")
    hosts = sorted({(int(n), int(m)) for n, m in zip(df["nodes"], df["node_mib"])})
    where = ", ".join(f"{n} × {m} MiB" for n, m in hosts)
    title = f"{df['seed'].nunique():,} seeds on {where}: split guests per storm"
    return _layout(fig, title, height=380, barmode="group", bargap=0.15, showlegend=True)
