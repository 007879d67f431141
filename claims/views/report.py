"""The HTML report of a scenario compared under several rule sets: one file to share.

The page is self-contained: plotly's JavaScript is inlined, so it opens
offline.  The text of each step is ``claims.review.report``'s.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.io as pio

from ..review.report import result_line
from ..review.runner import Comparison
from . import figures as viz
from .review_figures import scenario_counters, scenario_placement

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; }
tr.differs td.step { background: #fde0dd; font-weight: bold; }
td.rc-bad { color: #b00020; } td.rc-ok { color: #2b7a0b; }
"""


def html_report(cmp: Comparison) -> str:
    """A self-contained HTML page: the table of steps and the figures."""
    sc = cmp.scenario
    figs: list[Any] = [scenario_counters(cmp), scenario_placement(cmp)]
    figs += [viz.node_bars(r.xen).update_layout(title=f"{r.semantics}: the host at the end")
             for r in cmp.runs]  # fmt: skip
    parts = [
        pio.to_html(f, include_plotlyjs=(i == 0), full_html=False, default_height="380px")
        for i, f in enumerate(figs)
    ]
    head = "".join(f"<th>{html.escape(r.semantics)}</th>" for r in cmp.runs)
    rows = []
    for i, _st in enumerate(sc.steps):
        diff = cmp.differs(i)
        cells = []
        for r in cmp.runs:
            res = r.results[i]
            cls = "rc-ok" if res.rc == 0 else "rc-bad"
            cells.append(f'<td class="{cls}">{html.escape(result_line(res))}</td>')
        label = html.escape(cmp.runs[0].results[i].label)
        why = f"<br><small>differs in {html.escape(', '.join(diff))}</small>" if diff else ""
        rows.append(
            f'<tr class="{"differs" if diff else ""}"><td class="step">#{i + 1} {label}{why}</td>'
            + "".join(cells)
            + "</tr>"
        )
    q = f"<p><b>Question:</b> {html.escape(sc.question)}</p>" if sc.question else ""
    d = f"<p>{html.escape(sc.description)}</p>" if sc.description else ""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(sc.name)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(sc.name)}</h1>{q}{d}"
        f"<p>{len(cmp.differing_steps())} of {len(sc.steps)} steps differ between the rule "
        "sets (marked in red).</p>"
        f"<table><tr><th>step</th>{head}</tr>{''.join(rows)}</table>"
        + "".join(parts)
        + "</body></html>"
    )
