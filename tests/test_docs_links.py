"""Every reference to the design notes resolves, and nothing points outside the repository.

Code, tests, notebooks and the README cite the rules they follow as
``docs/<page>.md#<anchor>``; each anchor must exist on its page (an explicit
``<a id="...">``).  And no file of the project may send a reader to notes
they do not have: only the repository and public upstream sources.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REF = re.compile(r"docs/([a-z0-9-]+\.md)(?:#([a-z0-9-]+))?")
PRIVATE = re.compile(r"(?:\bCV|\bPA) §\d|\.\./shared|claims-v7\.md|page-allocator\.md|\bapi\.md\b")


def project_files() -> list[Path]:
    files = [ROOT / "README.md", *DOCS.glob("*.md")]
    for folder, pattern in (("claims", "*.py"), ("claims", "*.yaml"), ("tests", "*.py")):
        files += (ROOT / folder).rglob(pattern)
    files += (ROOT / "notebooks").rglob("*.ipynb")
    files += (ROOT / "tools").glob("*.py")
    return sorted(f for f in files if ".ipynb_checkpoints" not in f.parts)


def anchors(page: Path) -> set[str]:
    return set(re.findall(r'<a id="([^"]+)"></a>', page.read_text()))


def test_every_docs_reference_resolves() -> None:
    pages = {p.name: anchors(p) for p in DOCS.glob("*.md")}
    bad = []
    seen = 0
    for f in project_files():
        for n, line in enumerate(f.read_text().splitlines(), 1):
            for page, anchor in REF.findall(line):
                seen += 1
                if page not in pages:
                    bad.append(f"{f.relative_to(ROOT)}:{n}: no page docs/{page}")
                elif anchor and anchor not in pages[page]:
                    bad.append(f"{f.relative_to(ROOT)}:{n}: no anchor #{anchor} on docs/{page}")
    assert seen > 200  # the code really cites the notes
    assert not bad, "\n".join(bad)


def test_links_between_docs_pages_resolve() -> None:
    pages = {p.name: anchors(p) for p in DOCS.glob("*.md")}
    bad = []
    for p in DOCS.glob("*.md"):
        for target, anchor in re.findall(
            r"\]\(([a-z0-9-]+\.md)?(?:#([a-z0-9-]+))?\)", p.read_text()
        ):
            page = target or p.name
            if page not in pages or (anchor and anchor not in pages[page]):
                bad.append(f"{p.name}: ({target}#{anchor})")
    assert not bad, bad


def test_nothing_points_at_private_notes() -> None:
    bad = [
        f"{f.relative_to(ROOT)}:{n}: {line.strip()[:80]}"
        for f in project_files()
        if f.name != "test_docs_links.py"
        for n, line in enumerate(f.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert not bad, "\n".join(bad)
