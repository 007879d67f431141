"""The README's Python snippets run as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path


def test_readme_snippets_run() -> None:
    text = (Path(__file__).parent.parent / "README.md").read_text()
    blocks = [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", text, re.S)]
    assert len(blocks) >= 3
    scope: dict[str, object] = {}
    exec(compile("\n".join(blocks), "README.md", "exec"), scope)  # noqa: S102
    xen = scope["xen"]
    assert xen.check_invariants() is None  # type: ignore[attr-defined]
