"""claims: a model of Xen's NUMA buddy heap and its memory claims, exact to the MFN.

The hypervisor face is :class:`claims.Xen`; ready-made hosts are in
:mod:`claims.hosts`.  The package is layered, lowest first (each layer imports
only from itself and the layers below it; ``tests/test_layers.py`` checks it):

* ``claims.hypervisor``: the model of Xen, a module per Xen source it follows;
* ``claims.series``: one module per version of the claims series (``master``,
  ``v6``, ``v7``, ``v8``), everything in which a version differs;
* ``claims.toolstack``: the libxc and OCaml faces and the builders above them;
* ``claims.review``: scenario files, their runner and reports, sweeps, replay;
* ``claims.views``: figures (pure functions) and controllers (widgets);
* ``claims.kit``: the kit's own tools: the benchmark, the install doctor and
  the compiled-core guard.

The short public names of earlier releases stay: ``claims.hosts``,
``claims.libxc``, ``claims.xenctrl``, ``claims.bootstorm``, ``claims.sweep``,
``claims.scenario``, ``claims.viz``, ``claims.widgets`` (and a few more, see
``ALIASES``) are the modules of their new homes, imported when first used.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

from .kit import core_build as _core

_core.guard()  # before the hot modules load: never run a stale compiled build

ALIASES = {
    "hosts": "claims.hypervisor.hosts",
    "constants": "claims.hypervisor.constants",
    "libxc": "claims.toolstack.libxc",
    "xenctrl": "claims.toolstack.xenctrl",
    "xenctrlext": "claims.toolstack.xenctrlext",
    "xenopsd": "claims.toolstack.xenopsd",
    "bootstorm": "claims.toolstack.bootstorm",
    "scenario": "claims.review.scenario",
    "sweep": "claims.review.sweep",
    "viz": "claims.views.figures",
    "viz_review": "claims.views.review_figures",
    "viz_bench": "claims.views.bench_figures",
    "widgets": "claims.views.controllers",
    "bench": "claims.kit.bench",
    "doctor": "claims.kit.doctor",
}
"""Short names (``claims.viz``) and the modules they stand for (``claims.views.figures``)."""


class _AliasLoader(importlib.abc.Loader):
    """Loads ``claims.<alias>`` as the module it stands for (the same module object)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        pass  # already executed under its own name


class _AliasFinder(importlib.abc.MetaPathFinder):
    """``import claims.viz`` and ``from claims.viz import x`` find ``claims.views.figures``."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        pkg, _, name = fullname.rpartition(".")
        if pkg != __name__ or name not in ALIASES:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(ALIASES[name]))


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.append(_AliasFinder())


def __getattr__(name: str) -> Any:
    """``claims.viz`` and the other short names, imported when first used."""
    if name in ALIASES:
        module = importlib.import_module(ALIASES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


from . import series  # noqa: F401  (registers the versions of the series)
from .hypervisor import hosts
from .hypervisor.constants import (
    INVALID_DIRTY_IDX,
    NUMA_NO_NODE,
    MEMF_bits,
    MEMF_exact_node,
    MEMF_get_node,
    MEMF_keep_scrub,
    MEMF_no_dma,
    MEMF_no_owner,
    MEMF_no_refcount,
    MEMF_no_scrub,
    MEMF_node,
)
from .hypervisor.domctl import DOM0, Caller
from .hypervisor.errors import InvariantError, XenBugError
from .hypervisor.events import Event, EventLog
from .hypervisor.public import (
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_LEGACY,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    XEN_DOMCTL_claim_memory,
    XENMEM_claim_pages,
    xen_memory_claim_t,
)
from .hypervisor.sched import Domain
from .hypervisor.xen import Xen
from .kit.core_build import core_build

__all__ = [
    "core_build",
    "DOM0",
    "Caller",
    "xen_memory_claim_t",
    "XEN_DOMCTL_CLAIM_MEMORY_GET",
    "XEN_DOMCTL_CLAIM_MEMORY_HOST",
    "XEN_DOMCTL_CLAIM_MEMORY_LEGACY",
    "XEN_DOMCTL_CLAIM_MEMORY_SET",
    "XEN_DOMCTL_claim_memory",
    "XENMEM_claim_pages",
    "Xen",
    "Domain",
    "Event",
    "EventLog",
    "InvariantError",
    "XenBugError",
    "hosts",
    "INVALID_DIRTY_IDX",
    "MEMF_bits",
    "MEMF_exact_node",
    "MEMF_get_node",
    "MEMF_keep_scrub",
    "MEMF_no_dma",
    "MEMF_no_owner",
    "MEMF_no_refcount",
    "MEMF_no_scrub",
    "MEMF_node",
    "NUMA_NO_NODE",
]
__version__ = "0.1.0"
