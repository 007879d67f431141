"""The compiled core (``tools/build_core.py``): what is loaded, and never a stale build.

The stale-build tests copy the package to a temporary directory, put files
named like the compiled modules beside the sources (garbage: loading one would
fail with an ImportError), and import ``claims`` from there in a fresh
interpreter.  ``claims._core.guard`` must see that the build does not match the
sources, warn, and load every hot module from its ``.py`` file.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import claims
from claims import _core
from claims.buddy import FreeBlock, InUse

PKG = Path(claims.__file__).resolve().parent
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]

PROBE = """
import warnings
warnings.simplefilter("always")
import claims
from claims.constants import MEMF_node
xen = claims.hosts.demo()
d = xen.domain_create()
mfn = xen.alloc_domheap_pages(d, 9, MEMF_node(0))
xen.check_invariants()
print(claims.core_build(), hex(mfn), claims.buddy.__file__.endswith(".py"))
"""


def copy_package(tmp: Path) -> Path:
    """The package's sources, without any build, in *tmp*/claims."""
    dest = tmp / "claims"
    shutil.copytree(
        PKG, dest, ignore=shutil.ignore_patterns("*.so", "*.pyd", _core.MANIFEST, "__pycache__")
    )
    return dest


def fake_build(dest: Path, digests: dict[str, str] | None) -> None:
    """Garbage extension files for every compiled module, and a manifest (unless None)."""
    for m in _core.COMPILED_MODULES:
        (dest / f"{m}{SUFFIX}").write_bytes(b"not a shared object")
    if digests is not None:
        (dest / _core.MANIFEST).write_text(json.dumps({"mypyc": digests}))


def probe(tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tmp)}
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_core_build_says_what_is_loaded() -> None:
    build = claims.core_build()
    assert build in ("mypyc", "pure Python")
    compiled = not claims.buddy.__file__.endswith(".py")
    assert (build == "mypyc") == compiled
    for m in _core.COMPILED_MODULES:  # all or none of the hot modules are compiled
        mod = sys.modules[f"claims.{m}"]
        assert mod.__file__ is not None and mod.__file__.endswith(".py") != compiled


def test_no_build_imports_the_sources_without_a_warning(tmp_path: Path) -> None:
    copy_package(tmp_path)
    out = probe(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["pure", "Python", "0x1e00", "True"]
    assert "stale" not in out.stderr


def test_a_build_of_other_sources_is_not_loaded(tmp_path: Path) -> None:
    dest = copy_package(tmp_path)
    digests = {
        m: hashlib.sha256((dest / f"{m}.py").read_bytes()).hexdigest()
        for m in _core.COMPILED_MODULES
    }
    digests["buddy"] = "0" * 64  # buddy.py was edited after the build
    fake_build(dest, digests)
    out = probe(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["pure", "Python", "0x1e00", "True"]
    assert "compiled core is stale (buddy.py changed since the build)" in out.stderr
    assert "tools/build_core.py" in out.stderr


def test_a_build_without_its_manifest_is_not_loaded(tmp_path: Path) -> None:
    dest = copy_package(tmp_path)
    fake_build(dest, None)
    out = probe(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["pure", "Python", "0x1e00", "True"]
    assert f"{_core.MANIFEST} is missing or unreadable" in out.stderr


def test_a_partial_build_is_not_loaded(tmp_path: Path) -> None:
    dest = copy_package(tmp_path)
    digests = {
        m: hashlib.sha256((dest / f"{m}.py").read_bytes()).hexdigest()
        for m in _core.COMPILED_MODULES
    }
    fake_build(dest, digests)
    (dest / f"rules{SUFFIX}").unlink()
    out = probe(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["pure", "Python"]
    assert "rules has no build" in out.stderr


@pytest.mark.skipif(claims.core_build() != "mypyc", reason="the compiled core is not built")
def test_compiled_heap_blocks_stay_out_of_the_cyclic_gc() -> None:
    """Compiled, FreeBlock and InUse are acyclic: the GC never walks the heap's blocks."""
    xen = claims.hosts.demo()
    d = xen.domain_create()
    for _ in range(100):
        xen.alloc_domheap_pages(d, 0)
    blocks = [b for _m, b in xen.free_blocks()] + [r for _m, r in xen.allocated_blocks()]
    assert len(blocks) > 100
    assert not any(gc.is_tracked(b) for b in blocks)
    assert not gc.is_tracked(FreeBlock(0, 0, 0)) and not gc.is_tracked(InUse(0, d, 1))
