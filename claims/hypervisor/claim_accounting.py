"""Claims accounting helpers, named as in the v7 patch (``claims-v7.md`` §4.5/§5).

Each helper takes pages off one kind of claim of one domain and keeps the
host-wide counters (``outstanding_claims``, ``claimed_pages[]``) in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .page_alloc import HeapCore as Heap
    from .sched import Domain


def domain_release_host_claims(heap: Heap, d: Domain, pages: int) -> int:
    """Release up to *pages* of the host-wide claim; return how many (CV §4.5)."""
    pages = min(pages, d.outstanding_pages - d.node_claims)
    d.outstanding_pages -= pages
    heap.outstanding_claims -= pages
    return pages


def domain_release_node_claims(heap: Heap, d: Domain, node: int, pages: int) -> int:
    """Release up to *pages* of the claim on *node*; return how many (CV §4.5)."""
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
    """Release node claims in ascending node order until *pages* are gone (CV §4.5)."""
    done = 0
    for node in range(heap.nr_nodes):
        if pages - done == 0 or d.node_claims == 0:
            break
        done += domain_release_node_claims(heap, d, node, pages - done)
    return done


def domain_release_all_claims(heap: Heap, d: Domain) -> int:
    """Phase 3 of installation and the release target: drop every claim (CV §2.2)."""
    released = domain_recall_node_claims(heap, d, d.node_claims)
    return released + domain_release_host_claims(heap, d, d.outstanding_pages)
