"""The package's layers: imports point down only, and no module imports itself back.

Every ``import`` and ``from ... import`` statement of every module under
``claims/`` counts, wherever it stands (inside a function, or under
``TYPE_CHECKING``): a cycle that only the type checker sees is still a cycle a
reader has to untangle.  The layers, lowest first, are the packages below; a
module may import from its own layer and the layers under it.  The package's
own ``__init__`` (the public face) and ``__main__`` (the command line) sit on
top of everything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import claims

PKG = Path(claims.__file__).resolve().parent

LAYERS = ["hypervisor", "series", "toolstack", "review", "views", "kit"]
"""Lowest first."""

TOP = len(LAYERS)  # claims/__init__.py and claims/__main__.py


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """The ``claims`` modules *name* imports, with the line of each import."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "claims":
                    yield _longest_known(alias.name, known), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "claims":
                continue
            for alias in node.names:  # from pkg import module, or from module import name
                sub = f"{mod}.{alias.name}"
                yield (sub if sub in known else _longest_known(mod, known)), node.lineno


def _longest_known(mod: str, known: set[str]) -> str:
    while mod not in known and "." in mod:
        mod = mod.rpartition(".")[0]
    return mod


def layer(name: str) -> int:
    parts = name.split(".")
    if len(parts) == 1 or parts[1] in ("__main__",):
        return TOP
    return LAYERS.index(parts[1])


def graph() -> dict[str, set[tuple[str, int]]]:
    mods = modules()
    known = set(mods)
    return {
        n: {(m, line) for m, line in imports_of(n, p, known) if m != n} for n, p in mods.items()
    }


def test_every_module_is_in_a_layer() -> None:
    for name in modules():
        parts = name.split(".")
        assert len(parts) == 1 or parts[1] in LAYERS or parts[1] == "__main__", (
            f"{name} is in no layer: move it into one of {LAYERS}"
        )


def test_imports_point_down_only() -> None:
    bad = [
        f"{name} (layer {LAYERS[layer(name)] if layer(name) < TOP else 'top'}) imports "
        f"{target} (layer {LAYERS[layer(target)] if layer(target) < TOP else 'top'}) "
        f"on line {line}"
        for name, deps in graph().items()
        for target, line in sorted(deps)
        if layer(target) > layer(name)
    ]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    g = {n: {m for m, _line in deps} for n, deps in graph().items()}
    # a package's __init__ may import its own modules (series registers its versions);
    # a module importing its package's name is then no cycle of the code
    cycles = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    counter = [0]

    def strongconnect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            strongconnect(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_test_sees_imports() -> None:
    """The graph is not empty: the hypervisor's face imports its modules."""
    g = graph()
    xen = {m for m, _ in g["claims.hypervisor.xen"]}
    assert {"claims.hypervisor.heap", "claims.hypervisor.page_alloc"} <= xen
    assert "claims.hypervisor.page_alloc" in {m for m, _ in g["claims.series.v7"]}
    # an upward import would be seen: the report of views imports review below it
    assert "claims.review.report" in {m for m, _ in g["claims.views.report"]}


def test_the_short_public_names_are_their_new_homes() -> None:
    """``claims.viz`` and the other short names of earlier releases still import, as the
    very module of their new home (``import claims.viz``, ``from claims.viz import ...``)."""
    import importlib

    for short, target in claims.ALIASES.items():
        module = importlib.import_module(f"claims.{short}")
        assert module is importlib.import_module(target), short
        assert getattr(claims, short) is module
    from claims.viz import node_bars
    from claims.widgets import ClaimSetEditor

    assert node_bars.__module__ == "claims.views.figures"
    assert ClaimSetEditor.__module__ == "claims.views.controllers"
