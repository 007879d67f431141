"""xenopsd's NUMA planner, ported from xen-api (``ocaml/xenopsd/lib``, @ ``e2ee48d688``).

:mod:`.topology` is ``topology.ml`` (the host model: ``NUMAResource``,
``NUMARequest``, ``NUMA``), :mod:`.softaffinity` is ``softaffinity.ml``
(``Softaffinity.plan``), :mod:`.hosts` holds upstream's test hosts as data.
Pure: no Xen model is needed; feed it distances, CPU-to-node maps and free
memory from anywhere.
"""

from __future__ import annotations

from . import hosts
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
