"""The hypervisor face: ``claims.Xen``, a simulated Xen host (``api.md`` §1).

Method names are the Xen-internal function names; return values follow the
hypervisor's C convention (``0`` or a negative errno, ``None`` for NULL).
Bad arguments that C would never see (wrong types, MFNs outside the host, a
double free) raise ``TypeError``/``ValueError`` before anything changes.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Sequence
from typing import Any

from .claim_accounting import domain_release_all_claims
from .claimsets import DOM0, Caller
from .constants import (
    DOMID_FIRST_RESERVED,
    MAX_NUMNODES_X86,
    MAX_ORDER_X86,
    MAX_PAGES_UNLIMITED,
    MEMF_ALL,
    NR_ZONES_X86,
    UINT32_MAX,
)
from .domain import Domain
from .errors import InvariantError
from .events import AfterEvent
from .heap import _MEMF_SUSPECT, NodeSpec
from .locks import HEAP_LOCK_RANK, OrderedLock, lock_entry_points
from .memory import MemoryOps
from .page_alloc import PG_OFFLINING
from .rules import rules_for
from .validate import check_bool, check_int, check_nodes


class Xen(MemoryOps):
    """A simulated Xen host: NUMA buddy heap, domains and claims.

    ``nodes`` has one entry per NUMA node: its memory map, a ``range`` or a
    ``(start, stop)`` pair of MFNs, or a list of them.  Nothing is free until
    it is handed to ``init_heap_pages``.  ``semantics`` picks the rule set
    (``master``, ``v6`` or ``v7``).  ``dma_bitsize`` is Xen's ``dma_bits=``:
    ``0`` for no DMA zone (the native test harness) or ``"x86"`` for the
    default x86 picks on a multi-node host (PA §1.2).
    """

    debug_checks: bool = False
    """Run ``check_invariants()`` after every recorded operation (the tests turn it on)."""

    lock_checks: bool = False
    """Check every lock taken against Xen's lock order (``claims.locks``; the tests turn it on)."""

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
    ) -> None:
        self.heap_lock = OrderedLock("heap_lock", HEAP_LOCK_RANK)  # CV §1.6
        self.rules = rules_for(semantics)
        self.config: dict[str, Any] = {
            "nodes": nodes,
            "semantics": semantics,
            "max_order": max_order,
            "nr_zones": nr_zones,
            "max_numnodes": max_numnodes,
            "dma_bitsize": dma_bitsize,
            "opt_scrub_domheap": opt_scrub_domheap,
        }
        super().__init__(
            nodes,
            max_order=max_order,
            nr_zones=nr_zones,
            max_numnodes=max_numnodes,
            dma_bitsize=dma_bitsize,
        )
        self.semantics = semantics
        self.domains = {}
        self.opt_scrub_domheap = check_bool("opt_scrub_domheap", opt_scrub_domheap)
        self.llc_coloring_enabled = False
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

    # -------------------------------------------------------------- domains
    def domain_create(
        self,
        domid: int | None = None,
        max_pages: int = MAX_PAGES_UNLIMITED,
        node_affinity: Iterable[int] | None = None,
        privileged: bool = False,
    ) -> Domain:
        """Create a domain; ``domid=None`` takes the lowest free id from 1."""
        if domid is None:
            domid = 1
            while domid in self.domains:
                domid += 1
        check_int("domid", domid, 0, DOMID_FIRST_RESERVED - 1)
        if domid in self.domains:
            raise ValueError(f"domain {domid} already exists")
        check_int("max_pages", max_pages, 0, UINT32_MAX)
        if node_affinity is None:
            aff = frozenset(range(self.nr_nodes))
        else:
            aff = check_nodes(
                "node_affinity", node_affinity, self.max_numnodes, "node_affinity node"
            )
            if not aff & frozenset(range(self.nr_nodes)):
                raise ValueError(f"node_affinity {sorted(aff)} holds no online node")
        if not isinstance(privileged, bool):
            raise TypeError("privileged must be a bool")
        d = Domain(
            domid=domid,
            max_pages=max_pages,
            claims=[0] * self.nr_nodes,
            node_affinity=aff,
            privileged=privileged,
        )
        self.domains[domid] = d
        self.events.record(
            "domain_create",
            {"domid": domid, "max_pages": max_pages, "node_affinity": sorted(aff)},
            domid,
        )
        return d

    def _check_domain(self, d: Domain) -> None:
        if not isinstance(d, Domain):
            raise TypeError(f"d must be a Domain, not {type(d).__name__}")
        if self.domains.get(d.domid) is not d:
            raise ValueError(f"domain {d.domid} is not a live domain of this host (destroyed?)")

    def domain_node_setaffinity(self, d: Domain, nodes: Iterable[int]) -> int:
        """``domain_set_node_affinity``: 0, or ``-EINVAL`` for a mask with no online node."""
        self._check_domain(d)
        aff = check_nodes("nodes", nodes, self.max_numnodes)
        if not aff & frozenset(range(self.nr_nodes)):
            return -errno.EINVAL
        d.node_affinity = aff
        self.events.record("domain_node_setaffinity", {"d": d.domid, "nodes": sorted(aff)}, 0)
        return 0

    def domain_set_max_pages(self, d: Domain, max_pages: int) -> int:
        """``XEN_DOMCTL_max_mem``: set ``max_pages``; existing claims are untouched (PA §3.3)."""
        self._check_domain(d)
        check_int("max_pages", max_pages, 0, UINT32_MAX)
        d.max_pages = max_pages
        self.events.record("domain_set_max_pages", {"d": d.domid, "max_pages": max_pages}, 0)
        return 0

    def domain_unpause_by_systemcontroller(self, d: Domain) -> int:
        """The toolstack's first unpause ends the build: ``d->creation_finished`` (PA §2.6).

        From then on ``populate_physmap`` no longer takes dirty memory as it comes.
        """
        self._check_domain(d)
        d.creation_finished = True
        self.events.record("domain_unpause_by_systemcontroller", {"d": d.domid}, 0)
        return 0

    def domain_kill(self, d: Domain) -> int:
        """Kill and destroy *d*: release its claims, free its pages dirty (PA §3.3).

        Pages are freed in the order of the domain's page list, as
        ``relinquish_memory`` does; the domain then leaves ``domains``.
        """
        self._check_domain(d)
        d.is_dying = True
        released = domain_release_all_claims(self, d)
        freed = self._relinquish_memory(d)
        d.p2m.clear()
        del self.domains[d.domid]
        self.events.record(
            "domain_kill",
            {"d": d.domid},
            0,
            released_claims=released,
            freed=freed,
            **self._counters(),
        )
        return 0

    def _relinquish_memory(self, d: Domain) -> int:
        # Freeing a block's pages one by one in ascending order leaves the heap
        # exactly as one free of the block does (each partial block is a lower
        # half whose successor is still in use); pages pending offline change
        # that, so blocks holding them are freed page by page.
        owned = sorted(
            ((rec.seq, mfn, rec) for mfn, rec in self._inuse.items() if rec.owner is d),
            key=lambda t: (t[0], t[1]),
        )
        freed = 0
        for _seq, mfn, rec in owned:
            size = 1 << rec.order
            self._uncount_pages(d, rec)
            del self._inuse[mfn]
            if any(self._pgstate[m] & PG_OFFLINING for m in self._pgstate_in(mfn, mfn + size)):
                for m in range(mfn, mfn + size):
                    self._free_heap_pages(m, 0, True)
            else:
                self._free_heap_pages(mfn, rec.order, True)
            freed += size
        return freed

    # ------------------------------------------------------------- domheap
    def assign_pages(self, mfn: int, nr: int, d: Domain, memflags: int = 0) -> int:
        """``assign_pages``: give allocated, unowned pages to *d* (PA §2.6).

        ``-EINVAL`` for a dying domain; for refcounted pages ``-EPERM`` when
        ``tot_pages > max_pages`` and ``-E2BIG`` when *nr* does not fit.
        """
        check_int("mfn", mfn, 0)
        check_int("nr", nr, 1)
        self._check_domain(d)
        check_int("memflags", memflags, 0)
        if memflags & ~MEMF_ALL:
            raise ValueError(f"memflags {memflags:#x} has bits no MEMF_ flag defines")
        if nr & (nr - 1):
            raise ValueError(f"nr {nr} is not a power of two (assign_page takes an order)")
        order = nr.bit_length() - 1
        recs = self._take_inuse(mfn, order, dry_run=True)
        if any(r.owner is not None for r in recs):
            raise ValueError(f"pages at MFN {mfn:#x} already have an owner")
        rc = self._assign_pages(mfn, order, d, memflags)
        self.events.record(
            "assign_pages", {"mfn": mfn, "nr": nr, "d": d.domid, "memflags": memflags}, rc
        )
        return rc

    def alloc_domheap_pages(self, d: Domain | None, order: int, memflags: int = 0) -> int | None:
        """``alloc_domheap_pages``: the head MFN, or ``None`` (PA §2.6).

        With a DMA zone, the zones above it are tried on every node first.
        Pages for *d* are assigned unless ``MEMF_no_owner`` or
        ``MEMF_keep_scrub``; if ``assign_pages`` fails they are freed again and
        the redeemed claim stays lost.
        """
        if (
            type(order) is not int
            or type(memflags) is not int
            or order < 0
            or memflags & _MEMF_SUSPECT  # also true for negative flags
            or (d is not None and (type(d) is not Domain or self.domains.get(d.domid) is not d))
        ):
            self._check_alloc_args(order, memflags, d)  # raises, naming what is wrong
        return self._alloc_domheap_pages(d, order, memflags)

    def free_domheap_pages(self, mfn: int, order: int) -> None:
        """``free_domheap_pages``: uncount the owner's pages and free them (PA §2.6).

        Freed dirty when the owner is dying, with ``scrub-domheap``, or for
        anonymous pages; otherwise clean (the guest cleared them).
        """
        if (
            type(mfn) is not int
            or type(order) is not int
            or mfn < 0
            or not 0 <= order <= self.max_order
        ):
            check_int("mfn", mfn, 0)  # raises, naming what is wrong
            check_int("order", order, 0, self.max_order)
        self._free_domheap_pages(mfn, order)

    def allocated_by_node(self) -> dict[tuple[int, int | None], int]:
        """Pages allocated per ``(node, domid)``; ``domid`` is ``None`` for unowned pages."""
        out: dict[tuple[int, int | None], int] = {}
        for mfn, rec in self._inuse.items():
            node = self.mfn_to_nid(mfn)
            assert node is not None
            key = (node, rec.owner.domid if rec.owner else None)
            out[key] = out.get(key, 0) + (1 << rec.order)
        return out

    def pages_by_node(self, d: Domain) -> list[int]:
        """How many of *d*'s pages sit on each node (XenServer's NUMA placement metric)."""
        self._check_domain(d)
        alloc = self.allocated_by_node()
        return [alloc.get((n, d.domid), 0) for n in range(self.nr_nodes)]

    def owned_pages(self, d: Domain) -> list[tuple[int, int]]:
        """``(mfn, order)`` of the blocks *d* owns, in page-list order."""
        self._check_domain(d)
        owned = sorted(
            (rec.seq, mfn, rec.order) for mfn, rec in self._inuse.items() if rec.owner is d
        )
        return [(mfn, order) for _s, mfn, order in owned]

    def state(self) -> dict[str, Any]:
        """The whole host as plain values (heap, domains with claims and p2m)."""
        st = super().state()
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
            )
            for d in self.domains.values()
        }
        return st

    # ----------------------------------------------------------- invariants
    def check_invariants(self) -> None:
        """Raise ``claims.InvariantError`` naming the first broken invariant."""
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
        if self.rules.name == "v7":
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
