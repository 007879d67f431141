"""Which build of the hot modules runs: pure Python, or compiled by ``tools/build_core.py``.

The compiled build (mypyc) lives beside the sources as extension modules, which
Python prefers to the ``.py`` files.  A build records the SHA-256 of each
source it compiled and the interpreter it was built by; ``guard()`` runs first
thing in ``import claims`` and, if a source has changed since, a module's build
is missing or another interpreter runs, warns and loads the pure-Python
modules instead, so an edit is never shadowed by a stale build.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

COMPILED_MODULES = (
    "hypervisor.page_alloc",
    "hypervisor.claim_accounting",
    "hypervisor.rangeset",
    "hypervisor.events",
    "series.master",
    "series.v6",
    "series.v7",
    "series.v8",
    "series.xenserver",
)
"""The modules ``tools/build_core.py`` compiles (the allocation and free paths), by
their names inside the package."""

MANIFEST = "core-build.json"
_PKG = Path(__file__).resolve().parent.parent  # the claims package
_PACKAGE = __name__.split(".")[0]  # "claims"


def source(module: str) -> Path:
    """The ``.py`` file of a module named as in ``COMPILED_MODULES``."""
    return _PKG / (module.replace(".", "/") + ".py")


def _extension(module: str) -> Path | None:
    src = source(module)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        p = src.with_name(src.stem + suffix)
        if p.exists():
            return p
    return None


def stale_reason() -> str | None:
    """Why a build present beside the sources must not be used, or ``None``."""
    built = [m for m in COMPILED_MODULES if _extension(m) is not None]
    if not built:
        return None
    try:
        manifest = json.loads((_PKG / MANIFEST).read_text())
        digests, python = manifest["mypyc"], manifest["python"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{MANIFEST} is missing or unreadable"
    if python != sys.version:  # extensions are built for one interpreter
        return f"built by Python {python.split()[0]}, this is {sys.version.split()[0]}"
    for m in COMPILED_MODULES:
        if _extension(m) is None:
            return f"{m} has no build"
        if digests.get(m) != hashlib.sha256(source(m).read_bytes()).hexdigest():
            return f"{m.replace('.', '/')}.py changed since the build"
    return None


def good_build() -> bool:
    """A build of every hot module is beside the sources and matches them."""
    return _extension(COMPILED_MODULES[0]) is not None and stale_reason() is None


class _PureFinder:
    """A meta path finder that loads the listed ``claims`` modules from their ``.py`` files."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.names = {f"{_PACKAGE}.{m}": m for m in modules}

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        m = self.names.get(fullname)
        if m is None:
            return None
        path = str(source(m))
        loader = importlib.machinery.SourceFileLoader(fullname, path)
        return importlib.util.spec_from_file_location(fullname, path, loader=loader)


def _use_sources() -> None:
    if not any(isinstance(f, _PureFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _PureFinder(COMPILED_MODULES))


def guard() -> None:
    """Fall back to the pure-Python modules (with a warning) if the build is stale.

    ``CLAIMS_PURE=1`` in the environment loads the pure-Python modules even
    beside a good build, without a warning (to compare the two builds).
    """
    if os.environ.get("CLAIMS_PURE") == "1":
        _use_sources()
        return
    why = stale_reason()
    if why is None:
        return
    _use_sources()
    warnings.warn(
        f"claims: the compiled core is stale ({why}); running the pure-Python modules. "
        "Rebuild with `python tools/build_core.py`, or remove it with `--clean`.",
        RuntimeWarning,
        stacklevel=3,
    )


def core_build() -> str:
    """``"mypyc"`` if the compiled hot modules are loaded, ``"pure Python"`` if not."""
    mod = sys.modules.get(f"{_PACKAGE}.{COMPILED_MODULES[0]}")
    if mod is None:
        return "not loaded"
    return "mypyc" if not str(getattr(mod, "__file__", "")).endswith(".py") else "pure Python"
