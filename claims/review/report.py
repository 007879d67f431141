"""The text report of a scenario compared under several rule sets, for a terminal.

The HTML report, which adds figures, is ``claims.views.report``.
"""

from __future__ import annotations

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
