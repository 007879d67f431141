#!/usr/bin/env python3
"""Keep notebooks stored clean: ``python tools/nbtool.py check|clean [paths...]``.

Stored notebooks have kernelspec ``python3`` and no outputs, except code cells
tagged ``nbval-check-output`` (golden text checked by nbval), which keep their
text outputs and a deterministic execution count (their index among code
cells), and every cell has an id (nbformat 4.5).  ``check`` exits 1 and lists what
is wrong; ``clean`` fixes it in place.
A folder is searched recursively, so ``notebooks`` covers the apps in ``notebooks/apps/``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

GOLDEN = "nbval-check-output"


def notebooks(args: list[str]) -> list[Path]:
    paths = [Path(a) for a in args] or [Path("notebooks")]
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        else:
            out.append(p)
    return out


def problems(nb: dict, name: str) -> list[str]:
    bad = []
    ks = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if ks != "python3":
        bad.append(f"{name}: kernelspec is {ks!r}, want 'python3'")
    if "widgets" in nb.get("metadata", {}):
        bad.append(f"{name}: stored widget state in metadata")
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):  # cell ids are required
        ids = [c.get("id") for c in nb.get("cells", [])]
        for i, cid in enumerate(ids):
            if not cid:
                bad.append(f"{name}: cell {i} has no id (nbformat 4.5)")
            elif ids.count(cid) > 1:
                bad.append(f"{name}: cell {i} repeats the id {cid!r}")
    n = 0
    for i, c in enumerate(nb.get("cells", [])):
        if c.get("cell_type") != "code":
            continue
        n += 1
        tags = c.get("metadata", {}).get("tags", [])
        if GOLDEN in tags:
            if c.get("execution_count") != n:
                got = c.get("execution_count")
                bad.append(f"{name}: golden cell {i} has execution_count {got}, want {n}")
            for o in c.get("outputs", []):
                if o.get("output_type") not in ("stream", "execute_result") or (
                    o.get("output_type") == "execute_result"
                    and set(o.get("data", {})) != {"text/plain"}
                ):
                    bad.append(f"{name}: golden cell {i} stores a non-text output")
        else:
            if c.get("outputs"):
                bad.append(f"{name}: cell {i} stores outputs but is not tagged {GOLDEN}")
            if c.get("execution_count") is not None:
                bad.append(f"{name}: cell {i} stores an execution count")
    return bad


def clean(nb: dict) -> dict:
    nb.setdefault("metadata", {})["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb["metadata"].pop("widgets", None)
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
        seen = {c.get("id") for c in nb.get("cells", [])}
        for i, c in enumerate(nb.get("cells", [])):
            if not c.get("id"):  # a stable id from the cell's place and text
                text = f"{i}:{''.join(c.get('source', ''))}"
                cid = hashlib.sha1(text.encode()).hexdigest()[:8]
                while cid in seen:
                    cid = hashlib.sha1(cid.encode()).hexdigest()[:8]
                c["id"] = cid
                seen.add(cid)
    n = 0
    for c in nb.get("cells", []):
        if c.get("cell_type") != "code":
            continue
        n += 1
        if GOLDEN in c.get("metadata", {}).get("tags", []):
            c["execution_count"] = n
            keep = []
            for o in c.get("outputs", []):
                if o.get("output_type") == "stream":
                    keep.append(o)
                elif o.get("output_type") == "execute_result":
                    o["data"] = {"text/plain": o.get("data", {}).get("text/plain", "")}
                    o["metadata"] = {}
                    o["execution_count"] = n
                    keep.append(o)
            c["outputs"] = keep
        else:
            c["outputs"] = []
            c["execution_count"] = None
    return nb


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("check", "clean"):
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    bad: list[str] = []
    for path in notebooks(rest):
        nb = json.loads(path.read_text())
        if cmd == "clean":
            path.write_text(json.dumps(clean(nb), indent=1, ensure_ascii=False) + "\n")
        else:
            bad += problems(nb, str(path))
    for b in bad:
        print(b)
    if cmd == "check":
        print(f"{len(notebooks(rest))} notebooks checked, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
