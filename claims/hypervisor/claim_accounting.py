"""Claims accounting helpers, named as in the v7 patch (docs/claims.md#release-helpers,
docs/redemption.md#redemption).

Each helper takes pages off one kind of claim of one domain and keeps the
host-wide counters (``outstanding_claims``, ``claimed_pages[]``) in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .page_alloc import HeapCore as Heap
    from .sched import Domain


def domain_release_host_claims(heap: Heap, d: Domain, pages: int) -> int:
    """Release up to *pages* of the host-wide claim; return how many
    (docs/claims.md#release-helpers).
    """
    pages = min(pages, d.outstanding_pages - d.node_claims)
    d.outstanding_pages -= pages
    heap.outstanding_claims -= pages
    return pages


def domain_release_node_claims(heap: Heap, d: Domain, node: int, pages: int) -> int:
    """Release up to *pages* of the claim on *node*; return how many
    (docs/claims.md#release-helpers).
    """
    if node >= len(d.claims):
        return 0
    pages = min(pages, d.claims[node])
    d.claims[node] -= pages
    heap.claimed_pages[node] -= pages
    d.node_claims -= pages
    d.outstanding_pages -= pages
    heap.outstanding_claims -= pages
    return pages


def domain_recall_node_claims(heap: Heap, d: Domain, pages: int) -> int:
    """Release node claims in ascending node order until *pages* are gone
    (docs/claims.md#release-helpers).
    """
    done = 0
    for node in range(heap.nr_nodes):
        if pages - done == 0 or d.node_claims == 0:
            break
        done += domain_release_node_claims(heap, d, node, pages - done)
    return done


def domain_release_all_claims(heap: Heap, d: Domain) -> int:
    """Drop every claim: phase 3 of an installation, and the release target.

    ``docs/claims.md#set-phases``.
    """
    released = domain_recall_node_claims(heap, d, d.node_claims)
    d.claim_node = 0xFF  # NUMA_NO_NODE: XenServer's release forgets the claim's node
    return released + domain_release_host_claims(heap, d, d.outstanding_pages)
