"""page_alloc.c's domheap wrappers: alloc_domheap_pages, assign_pages, free_domheap_pages.

The calls a domain's memory goes through (``xen/common/page_alloc.c``):
allocation with the DMA-zone two-step and every ``MEMF_`` flag, the
assignment that checks ``max_pages``, and the free that uncounts the owner's
pages and frees them clean or dirty.  Each checks its arguments first, then
runs ``HeapCore``'s steps.  With a few reads of who owns what per node.
``docs/heap.md#domheap``.
"""

from __future__ import annotations

from .constants import MEMF_ALL
from .domain import check_domain
from .heap import MEMF_SUSPECT, check_alloc_args
from .page_alloc import HeapCore
from .sched import Domain
from .validate import check_int


def assign_pages(xen: HeapCore, mfn: int, nr: int, d: Domain, memflags: int = 0) -> int:
    """``assign_pages``: give allocated, unowned pages to *d*.

    ``-EINVAL`` for a dying domain; for refcounted pages ``-EPERM`` when
    ``tot_pages > max_pages`` and ``-E2BIG`` when *nr* does not fit.
    """
    check_int("mfn", mfn, 0)
    check_int("nr", nr, 1)
    check_domain(xen, d)
    check_int("memflags", memflags, 0)
    if memflags & ~MEMF_ALL:
        raise ValueError(f"memflags {memflags:#x} has bits no MEMF_ flag defines")
    if nr & (nr - 1):
        raise ValueError(f"nr {nr} is not a power of two (assign_page takes an order)")
    order = nr.bit_length() - 1
    recs = xen._take_inuse(mfn, order, dry_run=True)
    if any(r.owner is not None for r in recs):
        raise ValueError(f"pages at MFN {mfn:#x} already have an owner")
    rc = xen._assign_pages(mfn, order, d, memflags)
    xen.events.record(
        "assign_pages", {"mfn": mfn, "nr": nr, "d": d.domid, "memflags": memflags}, rc
    )
    return rc


def alloc_domheap_pages(
    xen: HeapCore, d: Domain | None, order: int, memflags: int = 0
) -> int | None:
    """``alloc_domheap_pages``: the head MFN, or ``None``.

    With a DMA zone, the zones above it are tried on every node first.
    Pages for *d* are assigned unless ``MEMF_no_owner`` or
    ``MEMF_keep_scrub``; if ``assign_pages`` fails they are freed again and
    the redeemed claim stays lost.
    """
    if (
        type(order) is not int
        or type(memflags) is not int
        or order < 0
        or memflags & MEMF_SUSPECT  # also true for negative flags
        or (d is not None and (type(d) is not Domain or xen.domains.get(d.domid) is not d))
    ):
        check_alloc_args(xen, order, memflags, d)  # raises, naming what is wrong
    return xen._alloc_domheap_pages(d, order, memflags)


def free_domheap_pages(xen: HeapCore, mfn: int, order: int) -> None:
    """``free_domheap_pages``: uncount the owner's pages and free them.

    Freed dirty when the owner is dying, with ``scrub-domheap``, or for
    anonymous pages; otherwise clean (the guest cleared them).
    """
    if type(mfn) is not int or type(order) is not int or mfn < 0 or not 0 <= order <= xen.max_order:
        check_int("mfn", mfn, 0)  # raises, naming what is wrong
        check_int("order", order, 0, xen.max_order)
    xen._free_domheap_pages(mfn, order)


def allocated_by_node(xen: HeapCore) -> dict[tuple[int, int | None], int]:
    """Pages allocated per ``(node, domid)``; ``domid`` is ``None`` for unowned pages."""
    out: dict[tuple[int, int | None], int] = {}
    node_of = xen._mfn_to_nid  # MFNs of the heap's own blocks: no argument check needed
    for mfn, rec in xen._inuse.items():
        node = node_of(mfn)
        assert node is not None
        key = (node, rec.owner.domid if rec.owner else None)
        out[key] = out.get(key, 0) + (1 << rec.order)
    return out


def pages_by_node(xen: HeapCore, d: Domain) -> list[int]:
    """How many of *d*'s pages sit on each node (XenServer's NUMA placement metric).

    ``allocated_by_node``'s entries for *d*'s domid, counted without the other
    domains' blocks: only *d*'s are looked up on the memory map.
    """
    check_domain(xen, d)
    out = [0] * xen.nr_nodes
    domid = d.domid
    node_of = xen._mfn_to_nid
    for mfn, rec in xen._inuse.items():
        owner = rec.owner
        if owner is not None and owner.domid == domid:
            node = node_of(mfn)
            assert node is not None
            out[node] += 1 << rec.order
    return out


def owned_pages(xen: HeapCore, d: Domain) -> list[tuple[int, int]]:
    """``(mfn, order)`` of the blocks *d* owns, in page-list order."""
    check_domain(xen, d)
    owned = sorted((rec.seq, mfn, rec.order) for mfn, rec in xen._inuse.items() if rec.owner is d)
    return [(mfn, order) for _s, mfn, order in owned]
