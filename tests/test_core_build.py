"""The compiled core (``tools/build_core.py``): what is loaded, and never a stale build.

The stale-build tests copy the package to a temporary directory, put files
named like the compiled modules beside the sources (garbage: loading one would
fail with an ImportError), and import ``claims`` from there in a fresh
interpreter.  ``claims.kit.core_build.guard`` must see that the build does not match the
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
from claims.hypervisor.page_alloc import FreeBlock, InUse
from claims.kit import core_build as _core

PKG = Path(claims.__file__).resolve().parent
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]

PROBE = """
import warnings
warnings.simplefilter("always")
import claims
from claims.hypervisor.constants import MEMF_node
xen = claims.hosts.demo()
d = xen.domain_create()
mfn = xen.alloc_domheap_pages(d, 9, MEMF_node(0))
xen.check_invariants()
print(claims.core_build(), hex(mfn), claims.hypervisor.page_alloc.__file__.endswith(".py"))
"""


def copy_package(tmp: Path) -> Path:
    """The package's sources, without any build, in *tmp*/claims."""
    dest = tmp / "claims"
    shutil.copytree(
        PKG, dest, ignore=shutil.ignore_patterns("*.so", "*.pyd", _core.MANIFEST, "__pycache__")
    )
    return dest


def module_file(dest: Path, m: str, suffix: str = ".py") -> Path:
    """The file of module *m* (named as in ``COMPILED_MODULES``) in the package at *dest*."""
    return dest / (m.replace(".", "/") + suffix)


def fake_build(dest: Path, digests: dict[str, str] | None, python: str = sys.version) -> None:
    """Garbage extension files for every compiled module, and a manifest (unless None)."""
    for m in _core.COMPILED_MODULES:
        module_file(dest, m, SUFFIX).write_bytes(b"not a shared object")
    if digests is not None:
        (dest / _core.MANIFEST).write_text(json.dumps({"mypyc": digests, "python": python}))


def true_digests(dest: Path) -> dict[str, str]:
    return {
        m: hashlib.sha256(module_file(dest, m).read_bytes()).hexdigest()
        for m in _core.COMPILED_MODULES
    }


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without CLAIMS_PURE, plus *extra*."""
    env = {k: v for k, v in os.environ.items() if k != "CLAIMS_PURE"}
    return {**env, **extra}


def probe(tmp: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env(PYTHONPATH=str(tmp))
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
    compiled = not claims.hypervisor.page_alloc.__file__.endswith(".py")
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
    digests = true_digests(dest)
    digests["hypervisor.page_alloc"] = "0" * 64  # page_alloc.py was edited after the build
    fake_build(dest, digests)
    out = probe(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["pure", "Python", "0x1e00", "True"]
    assert "stale (hypervisor/page_alloc.py changed since the build)" in out.stderr
    assert "tools/build_core.py" in out.stderr


def test_a_build_by_another_interpreter_is_not_loaded(tmp_path: Path) -> None:
    dest = copy_package(tmp_path)
    fake_build(dest, true_digests(dest), python="3.11.0 (main, a build of its own)")
    out = probe(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["pure", "Python", "0x1e00", "True"]
    assert f"built by Python 3.11.0, this is {sys.version.split()[0]}" in out.stderr


def test_a_build_without_its_manifest_is_not_loaded(tmp_path: Path) -> None:
    dest = copy_package(tmp_path)
    fake_build(dest, None)
    out = probe(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["pure", "Python", "0x1e00", "True"]
    assert f"{_core.MANIFEST} is missing or unreadable" in out.stderr


def test_a_partial_build_is_not_loaded(tmp_path: Path) -> None:
    dest = copy_package(tmp_path)
    digests = true_digests(dest)
    fake_build(dest, digests)
    last = _core.COMPILED_MODULES[-1]
    module_file(dest, last, SUFFIX).unlink()
    out = probe(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["pure", "Python"]
    assert f"{last} has no build" in out.stderr


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


WORKLOAD = r"""
import hashlib, random, sys
import claims
from claims import DOM0, MEMF_exact_node, MEMF_no_scrub, MEMF_node, xen_memory_claim_t
from claims.hypervisor.public import XEN_DOMCTL_CLAIM_MEMORY_HOST
from claims.hypervisor.memory import XENMEMF_exact_node, XENMEMF_node

out = [claims.core_build()]
for semantics in ("master", "v6", "v7", "v8"):
    rng = random.Random(semantics)
    n = 1 << 10
    xen = claims.Xen([range(n, 2 * n), range(2 * n, 3 * n)], semantics=semantics, max_order=9)
    xen.init_heap_pages(n, n, need_scrub=True)
    xen.init_heap_pages(2 * n, n)
    gfn = 0
    for i in range(1500):
        doms = list(xen.domains.values())
        op = rng.random()
        try:
            if op < 0.1 or not doms:
                xen.domain_create(node_affinity=rng.sample(range(2), rng.randint(1, 2)))
            elif op < 0.25:
                d = rng.choice(doms)
                entries = [xen_memory_claim_t(rng.randrange(0, 300), node) for node in (0, 1)
                           if rng.random() < 0.7]
                if rng.random() < 0.5:
                    entries.append(xen_memory_claim_t(rng.randrange(0, 300),
                                                      XEN_DOMCTL_CLAIM_MEMORY_HOST))
                out.append(f"claim {xen.domain_set_claim_entries(d, entries)}")
            elif op < 0.55:
                d = rng.choice(doms + [None])
                flags = rng.choice([0, MEMF_node(0), MEMF_node(1) | MEMF_exact_node, MEMF_no_scrub])
                xen.alloc_domheap_pages(d, rng.choice([0, 0, 1, 3, 9]), flags)
            elif op < 0.7:
                d = rng.choice(doms)
                nr, order = rng.randrange(1, 40), rng.choice([0, 0, 2])
                flags = rng.choice([0, XENMEMF_node(0), XENMEMF_exact_node(1)])
                gfns = [gfn + (j << order) for j in range(nr)]
                gfn += nr << order
                done = xen.do_memory_op_populate_physmap(DOM0, d.domid, nr, order, flags, gfns)
                out.append(f"populate {done}")
            elif op < 0.85:
                blocks = list(xen.allocated_blocks())
                if blocks:
                    mfn, rec = rng.choice(blocks)
                    xen.free_domheap_pages(mfn, rec.order)
            elif op < 0.9:
                xen.offline_page(rng.randrange(n, 3 * n))
            elif op < 0.95:
                xen.scrub(rng.choice([None, 0, 1]))
            else:
                xen.domain_kill(rng.choice(doms))
        except (ValueError, TypeError) as e:
            out.append(f"refused {type(e).__name__}: {e}")
        xen.check_invariants()
    out.append(repr(xen.state()))
    out += [f"{e} {e.info.get('counters')!r}" for e in xen.events]
print(out[0], len(out), hashlib.sha256("\n".join(out[1:]).encode()).hexdigest())
"""


def run_workload(env: dict[str, str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", WORKLOAD],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.skipif(claims.core_build() != "mypyc", reason="the compiled core is not built")
def test_the_compiled_and_the_pure_core_agree_step_for_step() -> None:
    """A random workload over all rule sets (claim sets, allocations, bulk and per-extent
    populates, frees, offlining, scrubbing, kills): every return value, refusal, event,
    counter and the final state are the same, compiled or interpreted."""
    compiled = run_workload({})
    pure = run_workload({"CLAIMS_PURE": "1"})
    assert compiled[0] == "mypyc" and pure[:2] == ["pure", "Python"]
    assert int(compiled[1]) > 3 * 1500  # events and results hashed
    assert compiled[1:] == pure[2:]
