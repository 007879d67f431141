"""``struct domain`` as the page allocator sees it (``xen/include/xen/sched.h``).

And ``Caller``: ``current->domain``, the domain a hypercall comes from.  The
domain's lifecycle (``domain_create``, ``domain_kill``, ...) is in
``claims.hypervisor.domain``, after ``xen/common/domain.c``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .constants import MAX_PAGES_UNLIMITED, NUMA_NO_NODE
from .locks import PAGE_ALLOC_LOCK_RANK, OrderedLock
from .p2m import P2M
from .validate import check_int


@dataclass(eq=False)
class Domain:
    """A guest: its page counters, claims, NUMA placement and p2m.

    Field names are Xen's.  ``claims`` is indexed by node; ``node_claims`` is
    their sum; ``outstanding_pages`` is the domain's whole claim (host-wide
    part plus node claims, ``docs/claims.md#domain-state``).
    """

    domid: int
    max_pages: int = MAX_PAGES_UNLIMITED
    tot_pages: int = 0
    extra_pages: int = 0
    xenheap_pages: int = 0
    outstanding_pages: int = 0
    node_claims: int = 0
    claims: list[int] = field(default_factory=list)
    _node_affinity: frozenset[int] = field(default=frozenset(), init=False, repr=False)
    node_affinity_mask: int = field(default=0, init=False, repr=False, compare=False)
    node_affinity: frozenset[int] = frozenset()
    last_alloc_node: int = 0
    is_dying: bool = False
    is_crashed: bool = False
    privileged: bool = False
    p2m: P2M = field(default_factory=P2M)
    creation_finished: bool = False
    controller_pause_count: int = 0
    """The toolstack's pauses: ``XEN_DOMCTL_createdomain`` leaves 1, the first unpause
    ends the build (``claims.hypervisor.domain``)."""
    auto_node_affinity: bool = True
    """``d->auto_node_affinity``: the node affinity follows the vCPUs' CPU affinity
    (``domain_update_node_aff``) until the toolstack sets one explicitly."""
    vcpu_hard_affinity: list[frozenset[int]] = field(default_factory=list)
    """Each vCPU's hard CPU affinity (``d->vcpu[i]->sched_unit->cpu_hard_affinity``);
    as many entries as ``XEN_DOMCTL_max_vcpus`` made vCPUs."""
    vcpu_soft_affinity: list[frozenset[int]] = field(default_factory=list)
    """Each vCPU's soft CPU affinity."""
    paging_pool: list[int] = field(default_factory=list)
    """The MFNs of the domain's paging (HAP) pool: ``claims.hypervisor.paging``."""
    claim_node: int = NUMA_NO_NODE
    """XenServer's ``d->claim_node``: the node of the domain's one claim, or
    ``NUMA_NO_NODE`` (a host-wide claim, or none).  Only the ``xenserver`` rule set
    sets it (``claims/series/xenserver.py``); other versions have no such field."""
    page_alloc_lock: OrderedLock = field(
        default_factory=lambda: OrderedLock("page_alloc_lock", PAGE_ALLOC_LOCK_RANK),
        repr=False,
        compare=False,
    )

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


def _get_node_affinity(d: Domain) -> frozenset[int]:
    return d._node_affinity


def _set_node_affinity(d: Domain, nodes: frozenset[int]) -> None:
    d._node_affinity = nodes
    d.node_affinity_mask = sum(1 << n for n in nodes)


# ``node_affinity`` is a dataclass field stored through a property, so that
# ``node_affinity_mask`` (``d->node_affinity`` as a bitmask, which the NUMA walk
# reads on every allocation) is a plain attribute kept in step with it.
Domain.node_affinity = property(_get_node_affinity, _set_node_affinity)  # type: ignore[assignment]


@dataclass(frozen=True)
class Caller:
    """The domain issuing a hypercall; only its privilege matters to the claims code."""

    domid: int = 0
    privileged: bool = True

    def __post_init__(self) -> None:
        check_int("caller domid", self.domid, 0, 0xFFFF)  # a domid_t
        if not isinstance(self.privileged, bool):
            raise TypeError(f"caller privileged must be a bool, not {self.privileged!r}")


DOM0 = Caller(0, True)
