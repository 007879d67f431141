"""``xen/common/domain.c``: a domain's life as the page allocator sees it.

``domain_create`` (``XEN_DOMCTL_createdomain``: the domain starts paused by
the toolstack), the settings the toolstack makes before it builds
(``max_pages``, node affinity), the toolstack's pause and unpause (the first
unpause to 0 ends the build) and ``domain_kill`` (claims released, pages
freed dirty, as ``relinquish_memory`` frees them).  ``struct domain`` itself
is ``claims.hypervisor.sched.Domain``.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable

from .constants import DOMID_FIRST_RESERVED, MAX_PAGES_UNLIMITED, UINT32_MAX
from .page_alloc import PG_OFFLINING, HeapCore
from .sched import Domain
from .validate import check_int, check_nodes

__all__ = [
    "Domain",
    "check_domain",
    "domain_create",
    "domain_kill",
    "domain_max_vcpus",
    "domain_node_setaffinity",
    "domain_update_node_aff",
    "vcpu_set_affinity",
    "domain_pause_by_systemcontroller",
    "domain_set_max_pages",
    "domain_unpause_by_systemcontroller",
]


def domain_create(
    xen: HeapCore,
    domid: int | None = None,
    max_pages: int = MAX_PAGES_UNLIMITED,
    node_affinity: Iterable[int] | None = None,
    privileged: bool = False,
) -> Domain:
    """Create a domain; ``domid=None`` takes the lowest free id from 1."""
    if domid is None:
        domid = 1
        while domid in xen.domains:
            domid += 1
    check_int("domid", domid, 0, DOMID_FIRST_RESERVED - 1)
    if domid in xen.domains:
        raise ValueError(f"domain {domid} already exists")
    check_int("max_pages", max_pages, 0, UINT32_MAX)
    if node_affinity is None:
        aff = frozenset(range(xen.nr_nodes))
    else:
        aff = check_nodes("node_affinity", node_affinity, xen.max_numnodes, "node_affinity node")
        if not aff & frozenset(range(xen.nr_nodes)):
            raise ValueError(f"node_affinity {sorted(aff)} holds no online node")
    if not isinstance(privileged, bool):
        raise TypeError("privileged must be a bool")
    d = Domain(
        domid=domid,
        max_pages=max_pages,
        claims=[0] * xen.nr_nodes,
        node_affinity=aff,
        privileged=privileged,
        controller_pause_count=1,  # createdomain: paused until the toolstack unpauses it
    )
    xen.domains[domid] = d
    xen.events.record(
        "domain_create",
        {"domid": domid, "max_pages": max_pages, "node_affinity": sorted(aff)},
        domid,
    )
    return d


def check_domain(xen: HeapCore, d: Domain) -> None:
    """*d* is a live domain of this host (a destroyed one would leak what it is given)."""
    if not isinstance(d, Domain):
        raise TypeError(f"d must be a Domain, not {type(d).__name__}")
    if xen.domains.get(d.domid) is not d:
        raise ValueError(f"domain {d.domid} is not a live domain of this host (destroyed?)")


def domain_node_setaffinity(xen: HeapCore, d: Domain, nodes: Iterable[int]) -> int:
    """``domain_set_node_affinity``: 0, or ``-EINVAL`` for a mask with no online node.

    An explicit affinity turns ``auto_node_affinity`` off; every node (``nodes_full``)
    turns it back on ("the reset node affinity command") and the affinity follows the
    vCPUs again (``xen/common/domain.c``).
    """
    check_domain(xen, d)
    aff = check_nodes("nodes", nodes, xen.max_numnodes)
    if not aff & frozenset(range(xen.nr_nodes)):
        return -errno.EINVAL
    if aff == frozenset(range(xen.max_numnodes)):
        d.auto_node_affinity = True
        domain_update_node_aff(xen, d)
    else:
        d.auto_node_affinity = False
        d.node_affinity = aff
    xen.events.record("domain_node_setaffinity", {"d": d.domid, "nodes": sorted(aff)}, 0)
    return 0


def domain_update_node_aff(xen: HeapCore, d: Domain) -> None:
    """``domain_update_node_aff`` (``xen/common/sched/core.c``): with
    ``auto_node_affinity``, the node affinity is the nodes of the vCPUs' soft affinity
    within their hard affinity and the online CPUs, or of the hard affinity alone if
    that is empty.  A domain without vCPUs keeps the affinity it has."""
    if not d.auto_node_affinity or not d.vcpu_hard_affinity:
        return
    online = frozenset(range(len(xen.topology.cpu_to_node)))
    hard = frozenset().union(*d.vcpu_hard_affinity) & online
    soft = frozenset().union(*d.vcpu_soft_affinity) & hard
    cpus = soft or hard
    d.node_affinity = frozenset(xen.topology.cpu_to_node[c] for c in cpus)


def domain_max_vcpus(xen: HeapCore, d: Domain, max_vcpus: int) -> int:
    """``XEN_DOMCTL_max_vcpus``: give *d* its vCPUs, each affine to every CPU; 0, or
    ``-EINVAL`` once it has vCPUs (Xen allows one call per domain)."""
    check_domain(xen, d)
    check_int("max_vcpus", max_vcpus, 1, 4096)
    if d.vcpu_hard_affinity:
        rc = -errno.EINVAL
    else:
        every = frozenset(range(len(xen.topology.cpu_to_node)))
        d.vcpu_hard_affinity = [every] * max_vcpus
        d.vcpu_soft_affinity = [every] * max_vcpus
        domain_update_node_aff(xen, d)
        rc = 0
    xen.events.record("domain_max_vcpus", {"d": d.domid, "max_vcpus": max_vcpus}, rc)
    return rc


def vcpu_set_affinity(xen: HeapCore, d: Domain, vcpu: int, cpus: Iterable[int], hard: bool) -> int:
    """``XEN_DOMCTL_setvcpuaffinity`` for one vCPU, hard or soft: 0, ``-EINVAL`` for a
    vCPU the domain does not have or a hard affinity with no online CPU.  The node
    affinity follows (``domain_update_node_aff``)."""
    check_domain(xen, d)
    check_int("vcpu", vcpu, 0, 4095)
    ncpus = len(xen.topology.cpu_to_node)
    mask = check_nodes("cpus", cpus, max(ncpus, 1), "cpu")
    if not isinstance(hard, bool):
        raise TypeError(f"hard must be a bool, not {type(hard).__name__}")
    if vcpu >= len(d.vcpu_hard_affinity) or (hard and not mask):
        rc = -errno.EINVAL
    else:
        (d.vcpu_hard_affinity if hard else d.vcpu_soft_affinity)[vcpu] = frozenset(mask)
        domain_update_node_aff(xen, d)
        rc = 0
    xen.events.record(
        "vcpu_set_affinity",
        {"d": d.domid, "vcpu": vcpu, "cpus": sorted(mask), "hard": hard},
        rc,
        node_affinity=sorted(d.node_affinity),
    )
    return rc


def domain_set_max_pages(xen: HeapCore, d: Domain, max_pages: int) -> int:
    """``XEN_DOMCTL_max_mem``: set ``max_pages``; existing claims are untouched.

    ``docs/claims.md#domain-lifecycle``.
    """
    check_domain(xen, d)
    check_int("max_pages", max_pages, 0, UINT32_MAX)
    d.max_pages = max_pages
    xen.events.record("domain_set_max_pages", {"d": d.domid, "max_pages": max_pages}, 0)
    return 0


def domain_pause_by_systemcontroller(xen: HeapCore, d: Domain) -> int:
    """``XEN_DOMCTL_pausedomain``: one more toolstack pause; ``-EOVERFLOW`` past 255.

    Xen caps ``controller_pause_count`` at 255 so that repeated hypercalls
    cannot overflow ``d->pause_count`` (``_domain_pause_by_systemcontroller``).
    """
    check_domain(xen, d)
    if d.controller_pause_count + 1 > 255:
        rc = -errno.EOVERFLOW
    else:
        d.controller_pause_count += 1
        rc = 0
    xen.events.record(
        "domain_pause_by_systemcontroller",
        {"d": d.domid},
        rc,
        controller_pause_count=d.controller_pause_count,
    )
    return rc


def domain_unpause_by_systemcontroller(xen: HeapCore, d: Domain) -> int:
    """``XEN_DOMCTL_unpausedomain``: one toolstack pause less; ``-EINVAL`` if none is left.

    The first time the count drops to 0 the build is over
    (``d->creation_finished``): from then on ``populate_physmap`` no longer
    takes dirty memory as it comes (``docs/toolstack.md#populate-physmap``).
    """
    check_domain(xen, d)
    if d.controller_pause_count == 0:
        rc = -errno.EINVAL
    else:
        d.controller_pause_count -= 1
        if d.controller_pause_count == 0 and not d.creation_finished:
            d.creation_finished = True
        rc = 0
    xen.events.record(
        "domain_unpause_by_systemcontroller",
        {"d": d.domid},
        rc,
        controller_pause_count=d.controller_pause_count,
        creation_finished=d.creation_finished,
    )
    return rc


def domain_kill(xen: HeapCore, d: Domain) -> int:
    """Kill and destroy *d*: release its claims, free its pages dirty.

    Pages are freed in the order of the domain's page list, as
    ``relinquish_memory`` does; the domain then leaves ``domains``.
    ``docs/claims.md#domain-lifecycle``.
    """
    check_domain(xen, d)
    d.is_dying = True
    released = xen.rules.domain_kill_claims(xen, d)
    while d.paging_pool:  # paging_teardown: the HAP pool (claims.hypervisor.paging)
        xen._free_domheap_pages(d.paging_pool.pop(), 0)
    freed = relinquish_memory(xen, d)
    d.p2m.clear()
    del xen.domains[d.domid]
    xen.events.record(
        "domain_kill",
        {"d": d.domid},
        0,
        released_claims=released,
        freed=freed,
        **xen._counters(),
    )
    return 0


def relinquish_memory(xen: HeapCore, d: Domain) -> int:
    """Free every page *d* owns, in page-list order (``xen/arch/x86/domain.c``); the count.

    Freeing a block's pages one by one in ascending order leaves the heap
    exactly as one free of the block does (each partial block is a lower half
    whose successor is still in use); pages pending offline change that, so
    blocks holding them are freed page by page.
    """
    owned = sorted(
        ((rec.seq, mfn, rec) for mfn, rec in xen._inuse.items() if rec.owner is d),
        key=lambda t: (t[0], t[1]),
    )
    freed = 0
    for _seq, mfn, rec in owned:
        size = 1 << rec.order
        xen._uncount_pages(d, rec)
        del xen._inuse[mfn]
        if any(xen._pgstate[m] & PG_OFFLINING for m in xen._pgstate_in(mfn, mfn + size)):
            for m in range(mfn, mfn + size):
                xen._free_heap_pages(m, 0, True)
        else:
            xen._free_heap_pages(mfn, rec.order, True)
        freed += size
    return freed
