"""Views of the benchmark's records (``claims.bench``): pure functions to plotly figures.

Times come from the machine that measured them; the figures show their shape
(what grows with what), and hover text gives the exact figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import style
from .figures import _layout

TARGET_ALLOCS_PER_S = 200_000  # the kit's speed target for orders 0 and 9 on the demo host
TARGET_LABEL = f"speed target: {TARGET_ALLOCS_PER_S:,} allocations/s"
_ORDER_PATTERNS = dict(style.BENCH_ORDER_PATTERNS)
_LINE_STYLES = list(style.BENCH_LINE_STYLES)


def _order_marker(order: int) -> dict[str, Any]:
    """A bar of *order*: the neutral ink, told apart by its pattern."""
    shape = _ORDER_PATTERNS.get(order, "x")
    return {
        "color": style.BENCH_INK if not shape else "rgba(0,0,0,0)",
        "line": {"color": style.BENCH_INK, "width": 1},
        "pattern": {"shape": shape, "fgcolor": style.BENCH_INK, "solidity": 0.45},
    }


_PAGES_PER_GIB = 1 << 18


def _size(pages: int) -> str:
    gib = pages // _PAGES_PER_GIB
    return f"{gib // 1024} TiB" if gib >= 1024 else f"{gib} GiB"


def host_growth(records: Sequence[dict[str, Any]]) -> go.Figure:
    """Build time and peak memory against free blocks, one line per node count.

    *records* are ``bench.host_build_records``; both axes are logarithmic, so
    a line of slope 1 grows in proportion to the free blocks.
    """
    if not records:
        return _no_records(
            "Host builds grow with free blocks",
            "build time and peak memory per host will appear here",
        )
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("build time (s)", "peak memory while building (MiB)")
    )
    for i, nodes in enumerate(sorted({r["nodes"] for r in records})):
        dash, symbol = _LINE_STYLES[i % len(_LINE_STYLES)]
        rows = sorted((r for r in records if r["nodes"] == nodes), key=lambda r: r["pages"])
        x = [r["free_blocks"] for r in rows]
        hover = [
            f"{nodes} × {_size(r['node_pages'])}: {r['pages']:,} pages, "
            f"{r['free_blocks']:,} free blocks<br>{r['seconds']:.4f} s, "
            f"{r['peak_bytes'] / 2**20:.2f} MiB"
            for r in rows
        ]
        seconds = [r["seconds"] for r in rows]
        mib = [r["peak_bytes"] / 2**20 for r in rows]
        for col, y in ((1, seconds), (2, mib)):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines+markers",
                    name=f"{nodes} nodes",
                    line={"color": style.BENCH_INK, "dash": dash},
                    marker={"symbol": symbol, "color": style.BENCH_INK, "size": 7},
                    legendgroup=str(nodes),
                    showlegend=col == 1,
                    hovertext=hover,
                    hoverinfo="text",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(type="log", title_text="free blocks")
    fig.update_yaxes(type="log")
    _layout(fig, "Host builds grow with free blocks (node sizes 64 GiB to 4 TiB)")
    return fig.update_layout(margin={"t": 90})  # room for the subplot titles


def _no_records(title: str, what: str) -> go.Figure:
    """A figure of *title* saying that *what* will appear once records are given."""
    return style.empty_state(_layout(go.Figure(), title), f"No records yet: {what}")


def _target_line(fig: go.Figure) -> go.Figure:
    """The dashed line of the speed target across a rate figure, labelled with its number.

    The label sits in the right margin, beside the line, where no bar can hide it;
    the legend moves above the plot to leave it room.
    """
    fig.add_hline(y=TARGET_ALLOCS_PER_S, line_dash="dash", line_color=style.TEXT, line_width=1,
                  layer="above")  # fmt: skip
    fig.add_annotation(
        text=TARGET_LABEL.replace(": ", "<br>", 1),
        xref="paper",
        x=1.01,
        xanchor="left",
        yref="y",
        y=TARGET_ALLOCS_PER_S,
        yanchor="middle",
        align="left",
        showarrow=False,
        font={"color": style.TEXT, "size": 11},
    )
    return fig.update_layout(
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
        margin={"r": 150, "t": 80},
    )


def allocation_rates(records: Sequence[dict[str, Any]]) -> go.Figure:
    """Allocations per second per host and order (``bench.allocation_rate_records``)."""
    if not records:
        return _no_records(
            "alloc_domheap_pages per second, by host and order",
            "allocations per second per host and order will appear here",
        )
    fig = go.Figure()
    hosts = list(dict.fromkeys(r["host"] for r in records))
    for order in sorted({r["order"] for r in records}):
        rows = {r["host"]: r for r in records if r["order"] == order}
        fig.add_trace(
            go.Bar(
                x=[h for h in hosts if h in rows],
                y=[rows[h]["alloc_per_s"] for h in hosts if h in rows],
                name=f"order {order}",
                marker=_order_marker(order),
                hovertext=[
                    f"{h}, order {order}: {rows[h]['alloc_per_s']:,.0f} allocations/s, "
                    f"{rows[h]['free_per_s']:,.0f} frees/s (cycles of {rows[h]['n']})"
                    for h in hosts
                    if h in rows
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(barmode="group", yaxis_title="allocations per second")
    return _target_line(_layout(fig, "alloc_domheap_pages per second, by host and order"))


def log_growth(records: Sequence[dict[str, Any]]) -> go.Figure:
    """Order-0 allocations per second against events in the log (``bench.log_growth_records``)."""
    if not records:
        return _no_records(
            "Allocation rate as the event log grows",
            "allocations per second against events in the log will appear here",
        )
    fig = go.Figure(
        go.Scatter(
            x=[r["events"] for r in records],
            y=[r["alloc_per_s"] for r in records],
            mode="lines+markers",
            name="order 0, demo host",
            marker_color=style.BENCH_INK,
            line_color=style.BENCH_INK,
            hovertext=[
                f"{r['events']:,} events in the log: {r['alloc_per_s']:,.0f} allocations/s"
                for r in records
            ],
            hoverinfo="text",
        )
    )
    fig.update_layout(
        xaxis={"title": {"text": "events in the log"}, "tickformat": ",d"},
        yaxis_title="allocations per second",
    )
    fig.update_yaxes(rangemode="tozero")  # a flat line reads as flat, not as noise magnified
    return _layout(fig, "Allocation rate as the event log grows")


def build_comparison(records: Sequence[dict[str, Any]]) -> go.Figure:
    """Demo-host allocations per second by build (``bench.build_comparison_records``)."""
    if not records:
        return _no_records(
            "alloc_domheap_pages per second on the demo host, by build",
            "allocations per second per build of the hot modules will appear here",
        )
    fig = go.Figure()
    builds = [r["build"] for r in records]
    for order in (0, 9):
        fig.add_trace(
            go.Bar(
                x=builds,
                y=[r[f"order_{order}"] for r in records],
                name=f"order {order}",
                marker=_order_marker(order),
                hovertext=[
                    f"{r['build']}, order {order}: {r[f'order_{order}']:,.0f} allocations/s"
                    for r in records
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        barmode="group",
        xaxis_title="build of the hot modules",
        yaxis_title="allocations per second",
    )
    return _target_line(_layout(fig, "alloc_domheap_pages per second on the demo host, by build"))
