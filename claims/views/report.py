"""The HTML report of a scenario compared under several rule sets: one file to share.

The page is self-contained: plotly's JavaScript is inlined once (never a CDN
link), so it opens offline.  The text of each step is ``claims.review.report``'s.

The page follows the reader's light or dark preference (``prefers-color-scheme``):
its text and background are CSS variables with a light and a dark value, and the
figures have transparent backgrounds and the kit's mid-grey text
(:mod:`claims.views.style`), so they read on either.  Result colours are the
palette's ``STATUS`` colours, which read on both.
"""

from __future__ import annotations

import html
from typing import Any

from ..review.report import result_line
from ..review.runner import Comparison
from . import figures as viz
from . import style
from .review_figures import scenario_counters, scenario_placement


def _rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


CSS = f"""
:root {{ color-scheme: light dark; --fg: #1d1d1d; --bg: #ffffff; --muted: #5f5f5f;
  --border: #c8c8c8; }}
@media (prefers-color-scheme: dark) {{
  :root {{ --fg: #e4e4e4; --bg: #111111; --muted: #a8a8a8; --border: #4a4a4a; }}
}}
body {{ font-family: system-ui, sans-serif; margin: 2em; color: var(--fg);
  background: var(--bg); line-height: 1.4; }}
small {{ color: var(--muted); }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid var(--border); padding: 4px 6px; vertical-align: top; }}
tr.differs td.step {{ background: {_rgba(style.STATUS["error"], 0.16)}; font-weight: bold; }}
td.rc-bad {{ color: {style.STATUS["error"]}; }} td.rc-ok {{ color: {style.STATUS["ok"]}; }}
.figure {{ margin-top: 1.5em; }}
"""


def report_figures(cmp: Comparison) -> list[Any]:
    """The report's figures: counters, placement, and each rule set's host at the end
    (domains named as the scenario names them)."""
    figs: list[Any] = [scenario_counters(cmp), scenario_placement(cmp)]
    for r in cmp.runs:
        names = {domid: name for name, domid in r.names.items()}
        fig = viz.node_bars(r.xen, names=names)
        figs.append(fig.update_layout(title={"text": f"{r.semantics}: the host at the end"}))
    return figs


def report_body(cmp: Comparison, *, include_plotlyjs: bool = True,
                table_class: str = "") -> str:  # fmt: skip
    """The report without its page: the question, the table of steps and the figures.
    *include_plotlyjs*: inline plotly.js once (a page of its own) or not (a page that
    loads it, as the static site does)."""
    import plotly.io as pio  # to_html only; kept out of the import of this module

    sc = cmp.scenario
    figs = report_figures(cmp)
    parts = [
        '<div class="figure">'
        + (
            pio.to_html(
                f,
                include_plotlyjs=i == 0,  # True: the whole library inline, once; never "cdn"
                full_html=False,
                default_height=f"{int(f.layout.height or 380)}px",
                config={"displaylogo": False, "responsive": True},
            )
            if include_plotlyjs
            else style.figure_html(f)  # drawn by the page's own plotly.js
        )
        + "</div>"
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
    cls = f' class="{table_class}"' if table_class else ""
    return (
        f"{q}{d}"
        f"<p>{len(cmp.differing_steps())} of {len(sc.steps)} steps differ between the rule "
        "sets (marked in red).</p>"
        f"<table{cls}><tr><th>step</th>{head}</tr>{''.join(rows)}</table>" + "".join(parts)
    )


def html_report(cmp: Comparison) -> str:
    """A self-contained HTML page: the table of steps and the figures."""
    sc = cmp.scenario
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='color-scheme' content='light dark'>"
        f"<title>{html.escape(sc.name)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(sc.name)}</h1>" + report_body(cmp) + "</body></html>"
    )
