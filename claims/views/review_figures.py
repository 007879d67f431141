"""Views for design review: scenario runs side by side (pure functions to figures)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import _layout

if TYPE_CHECKING:
    import pandas as pd

    from ..review.runner import Comparison
    from ..toolstack.bootstorm import StormResult

RULE_DASH = {"master": "dot", "v6": "dash", "v7": "solid", "v8": "dashdot"}


def scenario_counters(cmp: Comparison) -> go.Figure:
    """Free pages and outstanding claims after each step, one line per rule set."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("free pages", "outstanding claims"))
    steps = list(range(1, len(cmp.scenario.steps) + 1))
    for r in cmp.runs:
        dash = RULE_DASH.get(r.semantics, "solid")
        labels = [s.label for s in r.results]
        for col, key in ((1, "total_avail_pages"), (2, "outstanding_claims")):
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=[s.counters[key] for s in r.results],
                    mode="lines+markers",
                    name=r.semantics,
                    legendgroup=r.semantics,
                    showlegend=col == 1,
                    line={"dash": dash, "shape": "hv"},
                    text=labels,
                    hovertemplate="step %{x}: %{text}<br>%{y} pages<extra>"
                    + r.semantics
                    + "</extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="step", dtick=1)
    return _layout(fig, f"{cmp.scenario.name}: counters after each step", height=360)


NODE_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]


def scenario_placement(cmp: Comparison) -> go.Figure:
    """Each live guest's pages per node at the end: a stacked bar per (rule set, guest)."""
    fig = go.Figure()
    nr_nodes = len(cmp.scenario.nodes)
    names = sorted({n for r in cmp.runs for n in r.names})
    for node in range(nr_nodes):
        xs, ys = [], []
        for r in cmp.runs:
            for name in names:
                domid = r.names.get(name)
                d = r.xen.domains.get(domid) if domid is not None else None
                xs.append(f"{r.semantics} · {name}")
                ys.append(r.xen.pages_by_node(d)[node] if d is not None else 0)
        fig.add_trace(
            go.Bar(
                x=xs,
                y=ys,
                name=f"node {node}",
                marker={"color": NODE_COLOURS[node % len(NODE_COLOURS)]},
                hovertemplate=f"node {node}: " + "%{y} pages<extra>%{x}</extra>",
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="pages")
    return _layout(fig, "where each guest's memory is at the end", height=360)


# ------------------------------------------------------------------ boot storms
MODE_COLOURS = {"none": "#7f7f7f", "legacy": "#1f77b4", "node": "#2ca02c"}
FAILED_COLOUR = "#d62728"


def storm_placement(results: Sequence[StormResult]) -> go.Figure:
    """Each guest's memory per node (MiB), stacked, one row per storm (XenServer's NUMA
    metrics); a failed build is a hatched bar of the memory it asked for."""
    results = list(results)
    fig = make_subplots(
        rows=len(results),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=[
            f"{r.mode}: {r.split_guests} split, {r.failed_builds} failed" for r in results
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
                    marker={"color": NODE_COLOURS[node % len(NODE_COLOURS)]},
                    customdata=[[g.numa_node_memory[node], g.domid] for g in r.guests],
                    hovertemplate=f"{r.mode} · %{{x}} (d%{{customdata[1]}})<br>node {node}: "
                    "%{y} MiB (%{customdata[0]} pages)<extra></extra>",
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
                    "color": "white",
                    "line": {"color": FAILED_COLOUR, "width": 1.5},
                    "pattern": {"shape": "x", "fgcolor": FAILED_COLOUR},
                },
                text=[g.failure for g in r.guests],
                textposition="none",
                customdata=[sum(g.numa_node_memory) // mib for g in r.guests],
                hovertemplate=f"{r.mode} · %{{x}}: asked %{{y}} MiB, failed: %{{text}}"
                "<br>held %{customdata} MiB before it was destroyed<extra></extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="MiB", row=row, col=1)
    fig.update_layout(barmode="stack", bargap=0.15)
    _layout(fig, "boot storm: each guest's memory per node", height=220 + 200 * len(results))
    return fig.update_layout(legend={"y": -40 / (220 + 200 * len(results))})


def storm_summary(results: Sequence[StormResult]) -> go.Figure:
    """Per storm: split guests, failed builds and refused claims; pages populated by builds
    that failed, and claims left over after the storm."""
    results = list(results)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("guests and claims", "pages"))
    modes = [r.mode for r in results]
    counts = (
        ("split guests", [r.split_guests for r in results], "#ff7f0e"),
        ("failed builds", [r.failed_builds for r in results], FAILED_COLOUR),
        ("claims refused", [r.claim_refusals for r in results], "#9467bd"),
    )
    pages = (
        ("pages of failed builds", [r.wasted_pages for r in results], "#8c564b"),
        ("claims left over", [r.claims_left for r in results], "#17becf"),
    )
    for col, unit, series in ((1, "", counts), (2, "pages ", pages)):
        for name, ys, colour in series:
            fig.add_trace(
                go.Bar(
                    x=modes,
                    y=ys,
                    name=name,
                    marker={"color": colour},
                    text=ys,
                    textposition="outside",
                    hovertemplate="%{x}: %{y} " + unit + name + "<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_layout(barmode="group")
    fig.update_yaxes(rangemode="nonnegative")
    return _layout(fig, "boot storm: what each claims mode gave", height=380)


def sweep_summary(df: pd.DataFrame) -> go.Figure:
    """A sweep's split guests and failed builds per host and mode: the mean over seeds
    (hover: the range)."""
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
                    hovertemplate=f"{mode} · %{{x}}: mean %{{y:.2f}} "
                    "(%{customdata[0]} to %{customdata[1]})<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_layout(barmode="group")
    fig.update_yaxes(rangemode="nonnegative")
    fig.update_yaxes(title_text="per storm (mean over seeds)", row=1, col=1)
    seeds = df["seed"].nunique() if len(df) else 0
    return _layout(fig, f"sweep: {seeds} seeds per host and mode", height=380)
