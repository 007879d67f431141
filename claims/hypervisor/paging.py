"""``xen/arch/x86/mm/hap/hap.c``: a domain's paging pool (HAP), as the page allocator sees it.

``XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION`` (libxc ``xc_shadow_control``, xenopsd's
``shadow_allocation_set``) sizes the pool in MiB; ``hap_set_allocation`` grows it
one page at a time with ``alloc_domheap_page(d, MEMF_no_owner)`` (placed by the
domain's node affinity, counted against no domain and redeeming no claim: a request
without refcount) and shrinks it by freeing pages.  ``domain_kill`` frees the pool
(``paging_teardown``).  Each pool page is an allocation event of its own.
"""

from __future__ import annotations

import errno

from .constants import PAGE_SHIFT, MEMF_no_owner
from .domain import check_domain
from .domheap import alloc_domheap_pages, free_domheap_pages
from .page_alloc import HeapCore
from .sched import Domain
from .validate import check_int


def hap_set_allocation(xen: HeapCore, d: Domain, pages: int) -> int:
    """Grow or shrink *d*'s paging pool to *pages*: 0, or ``-ENOMEM`` when a page cannot
    be had (the pages taken so far stay in the pool, as in Xen)."""
    check_domain(xen, d)
    check_int("pages", pages, 0, (1 << 32) - 1)
    rc = 0
    while len(d.paging_pool) < pages:
        mfn = alloc_domheap_pages(xen, d, 0, MEMF_no_owner)
        if mfn is None:
            rc = -errno.ENOMEM
            break
        d.paging_pool.append(mfn)
    while len(d.paging_pool) > pages:
        free_domheap_pages(xen, d.paging_pool.pop(), 0)
    xen.events.record(
        "hap_set_allocation",
        {"d": d.domid, "pages": pages},
        rc,
        pool=len(d.paging_pool),
    )
    return rc


def shadow_set_allocation_mb(xen: HeapCore, d: Domain, mb: int) -> int:
    """``XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION`` with ``mb`` MiB: ``hap_set_allocation(d,
    mb << (20 - PAGE_SHIFT))``."""
    check_int("mb", mb, 0, (1 << 32) - 1)
    return hap_set_allocation(xen, d, mb << (20 - PAGE_SHIFT))
