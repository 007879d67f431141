"""Reports of a scenario compared under several rule sets: text for a terminal, HTML to share.

The HTML report is one self-contained file: plotly's JavaScript is inlined,
so it opens offline.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.io as pio

from ..views import figures as viz
from ..views.review_figures import scenario_counters, scenario_placement
from .runner import Comparison, StepResult

MAX_MFNS_SHOWN = 4


def mfn_text(mfns: list[int]) -> str:
    if not mfns:
        return ""
    if len(mfns) <= MAX_MFNS_SHOWN:
        return " ".join(f"{m:#x}" for m in mfns)
    return f"{mfns[0]:#x} … {mfns[-1]:#x} ({len(mfns)} extents)"


def _claims_text(claims: dict[str, tuple[int, tuple[int, ...]]]) -> str:
    parts = [f"{n} {out} {list(per)}" for n, (out, per) in claims.items() if out]
    return "; ".join(parts) if parts else "none"


def result_line(r: StepResult) -> str:
    """One rule set's outcome of a step."""
    c = r.counters
    out = r.outcome
    if r.reason:
        out += f" ({r.reason})"
    bits = [out]
    if r.pages_by_node:
        bits.append("on " + ", ".join(f"node{n} {p}" for n, p in r.pages_by_node.items()))
        bits.append("MFNs " + mfn_text(r.mfns))
    bits.append(
        f"free {c['total_avail_pages']} {list(c['node_avail_pages'])}, "
        f"claimed {c['outstanding_claims']} {list(c['claimed_pages'])}, "
        f"claims: {_claims_text(r.claims)}"
    )
    return " | ".join(bits)


def text(cmp: Comparison) -> str:
    """The comparison as plain text: per step, one line per rule set, and what differs."""
    sc = cmp.scenario
    width = max(len(r.semantics) for r in cmp.runs)
    lines = [f"scenario: {sc.name}"]
    if sc.question:
        lines.append(f"question: {sc.question}")
    lines.append(
        f"host: {len(sc.nodes)} nodes of {', '.join(map(str, sc.nodes))} pages from MFN "
        f"{sc.base_mfn:#x}; rule sets: {', '.join(r.semantics for r in cmp.runs)}"
    )
    for i, st in enumerate(sc.steps):
        first = cmp.runs[0].results[i]
        diff = cmp.differs(i)
        mark = "≠" if diff else " "
        lines.append(
            f"\n{mark} #{i + 1} {first.label}" + (f"  — {st['note']}" if "note" in st else "")
        )
        for r in cmp.runs:
            lines.append(f"    {r.semantics:<{width}} : {result_line(r.results[i])}")
        if diff:
            lines.append(f"    ≠ differs in: {', '.join(diff)}")
    n = len(cmp.differing_steps())
    lines.append(f"\n{n} of {len(sc.steps)} steps differ between the rule sets")
    return "\n".join(lines)


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
