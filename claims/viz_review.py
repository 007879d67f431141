"""Views for design review: scenario runs side by side (pure functions to figures)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .viz import _layout

if TYPE_CHECKING:
    from .scenario_run import Comparison

RULE_DASH = {"master": "dot", "v6": "dash", "v7": "solid"}


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
