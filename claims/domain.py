"""Domains as the page allocator sees them (``struct domain`` fields)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .constants import MAX_PAGES_UNLIMITED
from .locks import PAGE_ALLOC_LOCK_RANK, OrderedLock
from .p2m import P2M


@dataclass(eq=False)
class Domain:
    """A guest: its page counters, claims, NUMA placement and p2m.

    Field names are Xen's.  ``claims`` is indexed by node; ``node_claims`` is
    their sum; ``outstanding_pages`` is the domain's whole claim (host-wide
    part plus node claims, ``claims-v7.md`` §1.5).
    """

    domid: int
    max_pages: int = MAX_PAGES_UNLIMITED
    tot_pages: int = 0
    extra_pages: int = 0
    xenheap_pages: int = 0
    outstanding_pages: int = 0
    node_claims: int = 0
    claims: list[int] = field(default_factory=list)
    node_affinity: frozenset[int] = frozenset()
    last_alloc_node: int = 0
    is_dying: bool = False
    is_crashed: bool = False
    privileged: bool = False
    p2m: P2M = field(default_factory=P2M)
    creation_finished: bool = False
    page_alloc_lock: OrderedLock = field(
        default_factory=lambda: OrderedLock("page_alloc_lock", PAGE_ALLOC_LOCK_RANK),
        repr=False,
        compare=False,
    )

    @property
    def node_affinity_mask(self) -> int:
        """``d->node_affinity`` as a bitmask (cached per affinity set)."""
        aff = self.node_affinity
        cached = self.__dict__.get("_aff_cache")
        if cached is None or cached[0] is not aff:
            cached = (aff, sum(1 << n for n in aff))
            self.__dict__["_aff_cache"] = cached
        return cached[1]

    def domain_tot_pages(self) -> int:
        """``domain_tot_pages(d)``: pages counted against ``max_pages``."""
        return self.tot_pages - self.extra_pages

    @property
    def host_claims(self) -> int:
        """The host-wide part of the claim: ``outstanding_pages - node_claims``."""
        return self.outstanding_pages - self.node_claims

    def __repr__(self) -> str:
        return (
            f"Domain(d{self.domid}, tot_pages={self.tot_pages}, max_pages={self.max_pages}, "
            f"outstanding_pages={self.outstanding_pages}, node_claims={self.node_claims}"
            f"{', dying' if self.is_dying else ''})"
        )
