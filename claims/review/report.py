"""The text report of a scenario compared under several rule sets, for a terminal.

The HTML report, which adds figures, is ``claims.views.report``.
"""

from __future__ import annotations

from .runner import Comparison, StepResult

MAX_MFNS_SHOWN = 4
WIDTH = 100  # columns: a line of the report breaks between fields, never inside a number


def mfn_text(mfns: list[int]) -> str:
    if not mfns:
        return ""
    if len(mfns) <= MAX_MFNS_SHOWN:
        return " ".join(f"{m:#x}" for m in mfns)
    return f"{mfns[0]:#x} … {mfns[-1]:#x} ({len(mfns)} extents)"


def _claims_chunks(claims: dict[str, tuple[int, tuple[int, ...]]]) -> list[str]:
    parts = [f"{n} {out} {list(per)}" for n, (out, per) in claims.items() if out]
    if not parts:
        return ["claims: none"]
    return [f"claims: {parts[0]}", *parts[1:]]


def result_chunks(r: StepResult) -> list[str]:
    """One rule set's outcome of a step, in the pieces a line may break between
    (each but the last ends with its separator)."""
    c = r.counters
    out = r.outcome
    if r.reason:
        out += f" ({r.reason})"
    words = out.split(" ")
    bits = [[*(w + " " for w in words[:-1]), words[-1]]]  # a long reason breaks between words
    if r.pages_by_node:
        bits.append(["on " + ", ".join(f"node{n} {p}" for n, p in r.pages_by_node.items())])
        bits.append(["MFNs " + mfn_text(r.mfns)])
    claims = _claims_chunks(r.claims)
    bits.append(
        [
            f"free {c['total_avail_pages']} {list(c['node_avail_pages'])}, ",
            f"claimed {c['outstanding_claims']} {list(c['claimed_pages'])}, ",
            *[f"{p}; " for p in claims[:-1]],
            claims[-1],
        ]
    )
    chunks: list[str] = []
    for i, group in enumerate(bits):
        chunks += group[:-1] + [group[-1] + (" | " if i < len(bits) - 1 else "")]
    return chunks


def result_line(r: StepResult) -> str:
    """One rule set's outcome of a step, on one line."""
    return "".join(result_chunks(r))


def wrap(prefix: str, chunks: list[str], width: int = WIDTH) -> list[str]:
    """*chunks* after *prefix*, broken between chunks into lines of at most *width*
    columns where they fit, continuation lines indented under the first chunk."""
    lines: list[str] = []
    line = prefix
    for ch in chunks:
        if len(line) + len(ch.rstrip()) > width and line.strip() and line != prefix:
            lines.append(line.rstrip())
            line = " " * len(prefix)
        line += ch
    lines.append(line.rstrip())
    return lines


def text(cmp: Comparison, width: int = WIDTH) -> str:
    """The comparison as plain text: per step, a line per rule set (broken between
    fields at *width* columns), and what differs."""
    sc = cmp.scenario
    name_width = max(len(r.semantics) for r in cmp.runs)
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
            prefix = f"    {r.semantics:<{name_width}} : "
            lines += wrap(prefix, result_chunks(r.results[i]), width)
        if diff:
            lines.append(f"    ≠ differs in: {', '.join(diff)}")
    n = len(cmp.differing_steps())
    lines.append(f"\n{n} of {len(sc.steps)} steps differ between the rule sets")
    return "\n".join(lines)
