"""claims: a model of Xen's NUMA buddy heap and its memory claims, exact to the MFN.

The hypervisor face is :class:`claims.Xen`; ready-made hosts are in
:mod:`claims.hosts`.
"""

from __future__ import annotations

from . import _core

_core.guard()  # before the hot modules load: never run a stale compiled build

from . import hosts
from ._core import core_build
from .claimsets import (
    DOM0,
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_LEGACY,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    Caller,
    XEN_DOMCTL_claim_memory,
    XENMEM_claim_pages,
    xen_memory_claim_t,
)
from .constants import (
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
from .domain import Domain
from .errors import InvariantError, XenBugError
from .events import Event, EventLog
from .xen import Xen

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
