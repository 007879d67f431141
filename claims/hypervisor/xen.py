"""The hypervisor face: ``claims.Xen``, a simulated Xen host.

Method names are the Xen-internal function names; return values follow the
hypervisor's C convention (``0`` or a negative errno, ``None`` for NULL).
Bad arguments that C would never see (wrong types, MFNs outside the host, a
double free) raise ``TypeError``/``ValueError`` before anything changes.

``Xen`` is composed: each public method is a function of the module named
after the Xen source it follows, bound here in one table (below), so
``Xen.offline_page`` is ``claims.hypervisor.offline.offline_page``.  Xen keeps
one base class, ``HeapCore`` (``claims.hypervisor.page_alloc``): the host's
state and the heap's hot steps live in one class so that mypyc can compile it
to a C struct (``tools/build_core.py``); binding functions to it costs no
call on the allocation path, where delegating to a separate object would.
The version of the claims series a host runs is ``xen.rules``, a
``RuleSet`` of ``claims/series/`` picked by name with ``semantics``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import claims, domain, domctl, domheap, heap, memory, offline, paging, scrub, sysctl
from .constants import MAX_NUMNODES_X86, MAX_ORDER_X86, NR_ZONES_X86
from .domctl import DOM0, Caller
from .errors import InvariantError
from .events import AfterEvent
from .heap import NodeSpec
from .locks import HEAP_LOCK_RANK, OrderedLock, lock_entry_points
from .page_alloc import HeapCore, rules_for
from .sched import Domain
from .topology import Topology, default_topology
from .validate import check_bool


class Xen(HeapCore):
    """A simulated Xen host: NUMA buddy heap, domains and claims.

    ``nodes`` has one entry per NUMA node: its memory map, a ``range`` or a
    ``(start, stop)`` pair of MFNs, or a list of them.  Nothing is free until
    it is handed to ``init_heap_pages``.  ``semantics`` picks the version of
    the claims series (``master``, ``v6``, ``v7`` or ``v8``: ``claims/series/``).
    ``dma_bitsize`` is Xen's ``dma_bits=``: ``0`` for no DMA zone (the native
    test harness) or ``"x86"`` for the default x86 picks on a multi-node host
    (``docs/heap.md#zones``).
    """

    def __init__(
        self,
        nodes: Sequence[NodeSpec],
        semantics: str = "v7",
        max_order: int = MAX_ORDER_X86,
        nr_zones: int = NR_ZONES_X86,
        max_numnodes: int = MAX_NUMNODES_X86,
        *,
        dma_bitsize: int | str = 0,
        opt_scrub_domheap: bool = False,
        topology: Topology | None = None,
    ) -> None:
        self.heap_lock = OrderedLock("heap_lock", HEAP_LOCK_RANK)  # docs/claims.md#locks
        self.rules = rules_for(semantics)
        self.config = {
            "nodes": nodes,
            "semantics": semantics,
            "max_order": max_order,
            "nr_zones": nr_zones,
            "max_numnodes": max_numnodes,
            "dma_bitsize": dma_bitsize,
            "opt_scrub_domheap": opt_scrub_domheap,
            "topology": topology,
        }
        heap.init_heap(
            self,
            nodes,
            max_order=max_order,
            nr_zones=nr_zones,
            max_numnodes=max_numnodes,
            dma_bitsize=dma_bitsize,
        )
        self.semantics = semantics
        self.opt_scrub_domheap = check_bool("opt_scrub_domheap", opt_scrub_domheap)
        self.llc_coloring_enabled = False
        if topology is None:
            topology = default_topology(self.nr_nodes)
        if not isinstance(topology, Topology):
            raise TypeError(f"topology must be a claims Topology, not {type(topology).__name__}")
        if topology.nr_nodes != self.nr_nodes:
            raise ValueError(
                f"topology has {topology.nr_nodes} nodes, the memory map {self.nr_nodes}"
            )
        self.topology = topology
        """Distances and CPUs, as ``XEN_SYSCTL_numainfo``/``cputopoinfo`` report them."""
        self.events.on_record = AfterEvent(self)

    @property
    def dom0(self) -> Caller:
        """The privileged control domain, as a hypercall caller."""
        return DOM0

    def __repr__(self) -> str:
        return (
            f"<Xen {self.semantics}: {self.nr_nodes} nodes, "
            f"total_avail_pages={self.total_avail_pages}, "
            f"outstanding_claims={self.outstanding_claims}, {len(self.domains)} domains>"
        )

    # ------------------------------------------------------ the method table
    # xen/common/page_alloc.c, the heap (claims/hypervisor/heap.py)
    init_heap_pages = heap.init_heap_pages
    alloc_heap_pages = heap.alloc_heap_pages
    free_heap_pages = heap.free_heap_pages
    avail_heap_pages = heap.avail_heap_pages
    avail_node_heap_pages = heap.avail_node_heap_pages
    get_outstanding_claims = heap.get_outstanding_claims
    mfn_to_nid = heap.mfn_to_nid
    mfn_valid = heap.mfn_valid
    node_start_pfn = heap.node_start_pfn
    node_spanned_pages = heap.node_spanned_pages
    node_present_pages = heap.node_present_pages
    page_to_zone = staticmethod(heap.page_to_zone)
    bits_to_zone = staticmethod(heap.bits_to_zone)
    find_free_head = heap.find_free_head
    find_inuse_head = heap.find_inuse_head
    free_blocks = heap.free_blocks
    allocated_blocks = heap.allocated_blocks
    dirty_runs = heap.dirty_runs
    page_state = heap.page_state
    buddyinfo = heap.buddyinfo
    check_heap_invariants = heap.check_heap_invariants
    heap = heap.heap  # last: from here on, ``heap`` in this class body is the function
    # xen/common/page_alloc.c, scrub_free_pages (claims/hypervisor/scrub.py)
    scrub = scrub.scrub
    # xen/common/page_alloc.c, the domheap wrappers (claims/hypervisor/domheap.py)
    alloc_domheap_pages = domheap.alloc_domheap_pages
    assign_pages = domheap.assign_pages
    free_domheap_pages = domheap.free_domheap_pages
    allocated_by_node = domheap.allocated_by_node
    pages_by_node = domheap.pages_by_node
    owned_pages = domheap.owned_pages
    # xen/common/page_alloc.c and sysctl.c, page offlining (claims/hypervisor/offline.py)
    offline_page = offline.offline_page
    online_page = offline.online_page
    query_page_offline = offline.query_page_offline
    mark_page_offline = offline.mark_page_offline
    reserve_offlined_page = offline.reserve_offlined_page
    # xen/common/page_alloc.c, the claim calls (claims/hypervisor/claims.py)
    domain_set_outstanding_pages = claims.domain_set_outstanding_pages
    domain_set_claim_entries = claims.domain_set_claim_entries
    domain_get_claim_entries = claims.domain_get_claim_entries
    # xen/common/domctl.c (claims/hypervisor/domctl.py)
    do_domctl_claim_memory = domctl.do_domctl_claim_memory
    do_domctl_set_memory_claims = domctl.do_domctl_set_memory_claims
    do_domctl_get_memory_claims = domctl.do_domctl_get_memory_claims
    do_domctl_numa_op = domctl.do_domctl_numa_op
    # xen/common/sysctl.c (claims/hypervisor/sysctl.py)
    do_sysctl_numa_meminfo = sysctl.do_sysctl_numa_meminfo
    # xen/common/memory.c (claims/hypervisor/memory.py)
    do_memory_op_populate_physmap = memory.do_memory_op_populate_physmap
    do_memory_op_increase_reservation = memory.do_memory_op_increase_reservation
    do_memory_op_decrease_reservation = memory.do_memory_op_decrease_reservation
    do_memory_op_claim_pages = memory.do_memory_op_claim_pages
    guest_remove_page = memory.guest_remove_page
    memop_max_order = memory.memop_max_order
    construct_memop_from_reservation = memory.construct_memop_from_reservation
    # xen/common/domain.c (claims/hypervisor/domain.py)
    domain_create = domain.domain_create
    domain_kill = domain.domain_kill
    domain_set_max_pages = domain.domain_set_max_pages
    domain_node_setaffinity = domain.domain_node_setaffinity
    domain_max_vcpus = domain.domain_max_vcpus
    vcpu_set_affinity = domain.vcpu_set_affinity
    # xen/arch/x86/mm/hap/hap.c, the paging pool (claims/hypervisor/paging.py)
    hap_set_allocation = paging.hap_set_allocation
    shadow_set_allocation_mb = paging.shadow_set_allocation_mb
    domain_unpause_by_systemcontroller = domain.domain_unpause_by_systemcontroller
    domain_pause_by_systemcontroller = domain.domain_pause_by_systemcontroller

    # ------------------------------------------------------- state and checks
    def state(self) -> dict[str, Any]:
        """The whole host as plain values (heap, domains with claims and p2m)."""
        st = heap.heap_state(self)
        st["domains"] = {
            d.domid: (
                d.tot_pages,
                d.max_pages,
                d.extra_pages,
                d.outstanding_pages,
                d.node_claims,
                tuple(d.claims),
                tuple(sorted(d.node_affinity)),
                d.last_alloc_node,
                d.is_dying,
                tuple(d.p2m.extents()),
                d.controller_pause_count,
                *((d.claim_node,) if self.rules.claim_node_field else ()),
            )
            for d in self.domains.values()
        }
        return st

    def check_invariants(self) -> None:
        """Raise ``claims.InvariantError`` naming the first broken invariant.

        The heap's own (``heap.check_heap_invariants``), the claims accounting
        (``docs/claims.md#invariants``), and, where the host's version promises
        it (``RuleSet.claims_within_free``), claims within free memory.
        """
        self.check_heap_invariants()
        doms = list(self.domains.values())
        total = sum(d.outstanding_pages for d in doms)
        if total != self.outstanding_claims:
            raise InvariantError(
                f"outstanding_claims = {self.outstanding_claims} but the domains' "
                f"outstanding_pages add up to {total}"
            )
        for n in range(self.nr_nodes):
            s = sum(d.claims[n] for d in doms)
            if s != self.claimed_pages[n]:
                raise InvariantError(
                    f"claimed_pages[{n}] = {self.claimed_pages[n]} but the domains' "
                    f"claims on node {n} add up to {s}"
                )
        owned: dict[int, int] = {}
        extra: dict[int, int] = {}
        for rec in self._inuse.values():
            if rec.owner is not None:
                owned[rec.owner.domid] = owned.get(rec.owner.domid, 0) + (1 << rec.order)
                if rec.extra:
                    extra[rec.owner.domid] = extra.get(rec.owner.domid, 0) + (1 << rec.order)
        for d in doms:
            if d.node_claims != sum(d.claims):
                raise InvariantError(
                    f"d{d.domid}: node_claims = {d.node_claims} != sum(claims) = {sum(d.claims)}"
                )
            if d.outstanding_pages < d.node_claims:
                raise InvariantError(
                    f"d{d.domid}: outstanding_pages {d.outstanding_pages} < "
                    f"node_claims {d.node_claims}"
                )
            if d.tot_pages != owned.get(d.domid, 0):
                raise InvariantError(
                    f"d{d.domid}: tot_pages = {d.tot_pages} but it owns "
                    f"{owned.get(d.domid, 0)} pages"
                )
            if d.extra_pages != extra.get(d.domid, 0):
                raise InvariantError(
                    f"d{d.domid}: extra_pages = {d.extra_pages} but it owns "
                    f"{extra.get(d.domid, 0)} extra pages"
                )
        if self.rules.claims_within_free:
            if self.outstanding_claims > self.total_avail_pages:
                raise InvariantError(
                    f"outstanding_claims {self.outstanding_claims} > "
                    f"total_avail_pages {self.total_avail_pages}"
                )
            for n in range(self.nr_nodes):
                if self.claimed_pages[n] > self.node_avail_pages[n]:
                    raise InvariantError(
                        f"claimed_pages[{n}] {self.claimed_pages[n]} > "
                        f"node_avail_pages[{n}] {self.node_avail_pages[n]}"
                    )

    # copy and pickle: the core's attributes and the instance dict together
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)  # all when interpreted; the subclass's part when compiled
        core = super().__getstate__()
        if isinstance(core, dict):  # compiled: HeapCore's own attributes (mypyc's serializable)
            state.update(core)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)


# Public methods that take no lock of their own: in Xen they run with heap_lock
# already held by their caller, or they read the fixed memory map.
LOCK_FREE = {
    "get_free_buddy",
    "page_list_add_scrub",
    "find_free_head",
    "find_inuse_head",
    "heap",
    "mfn_to_nid",
    "mfn_valid",
    "node_start_pfn",
    "node_spanned_pages",
    "node_present_pages",
}

lock_entry_points(Xen, Domain, skip=LOCK_FREE)  # every other public method: claims.locks

__all__ = ["Xen", "LOCK_FREE"]
