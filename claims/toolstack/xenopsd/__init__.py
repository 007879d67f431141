"""XenServer's toolstack, xenopsd, ported from xen-api (@ ``e2ee48d688``): its NUMA
planner and the part of its VM build that places and claims memory.

* :mod:`.topology` is ``ocaml/xenopsd/lib/topology.ml`` (the host model:
  ``NUMAResource``, ``NUMARequest``, ``NUMA``), :mod:`.softaffinity` is
  ``softaffinity.ml`` (``Softaffinity.plan``), :mod:`.hosts` holds upstream's test
  hosts as data.  Pure: no Xen model is needed; feed it distances, CPU-to-node maps
  and free memory from anywhere.
* :mod:`.memory` is ``ocaml/xapi-idl/memory/memory.ml`` (a VM's memory figures);
  :mod:`.domain` is ``ocaml/xenopsd/xc/domain.ml`` (``numa_placement``,
  ``build_pre``) over ``claims.xenctrlext``; :mod:`.xenguest` is libxenguest's
  ``meminit_hvm`` as xenguest runs it.  ``docs/toolstack.md#xenopsd``.
"""

from __future__ import annotations

from . import domain, hosts, memory, xenguest
from .domain import BuildLog, VmSpec, Xenopsd, run, run_together
from .softaffinity import Softaffinity, plan, take_same_distance
from .topology import (
    NUMA,
    CPUSet,
    NUMARequest,
    NUMAResource,
    cpuset_all,
    cpuset_to_mask,
    fits,
    gen_candidates,
    is_unreachable,
    shrink,
)

__all__ = [
    "BuildLog",
    "VmSpec",
    "Xenopsd",
    "domain",
    "memory",
    "run",
    "run_together",
    "xenguest",
    "NUMA",
    "CPUSet",
    "NUMARequest",
    "NUMAResource",
    "Softaffinity",
    "cpuset_all",
    "cpuset_to_mask",
    "fits",
    "gen_candidates",
    "hosts",
    "is_unreachable",
    "plan",
    "shrink",
    "take_same_distance",
]
