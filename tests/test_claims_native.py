"""The upstream native claim tests (docs/toolstack.md#native-tests, docs/heap.md#native-harness),
exactly.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

import claims
from claims import (
    DOM0,
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    MEMF_node,
    xen_memory_claim_t,
)

HOST = XEN_DOMCTL_CLAIM_MEMORY_HOST


def get(xen: claims.Xen, d: claims.Domain) -> list[tuple[int, int]]:
    """GET through the domctl, as the harness's ``CLAIMS(d, expected)`` does."""
    buf = (xen_memory_claim_t * 65)()
    rc, nr = xen.do_domctl_claim_memory(DOM0, d, XEN_DOMCTL_CLAIM_MEMORY_GET, 65, buf)
    assert rc == 0
    return [buf[i].as_tuple() for i in range(nr)]


def claim_legacy(xen: claims.Xen, d: claims.Domain, pages: int) -> int:
    """The harness's legacy wrapper: reset, then ``claim_pages(pages + tot_pages)``."""
    rc = xen.do_memory_op_claim_pages(DOM0, d.domid, 0)
    assert rc == 0
    if pages == 0:
        return rc
    return xen.do_memory_op_claim_pages(DOM0, d.domid, pages + d.tot_pages)


def claim_host(xen: claims.Xen, d: claims.Domain, pages: int) -> int:
    """``xc_domain_claim_memory`` SET with one HOST entry."""
    ents = (xen_memory_claim_t * 1)(xen_memory_claim_t(pages, HOST))
    rc, _nr = xen.do_domctl_claim_memory(DOM0, d, XEN_DOMCTL_CLAIM_MEMORY_SET, 1, ents)
    return rc


Claim = Callable[[claims.Xen, claims.Domain, int], int]


@pytest.mark.parametrize(
    ("semantics", "claim"),
    [("v7", claim_legacy), ("v7", claim_host), ("master", claim_legacy), ("v6", claim_host)],
    ids=["TCCD-v7", "TCCH-v7", "TCCD-master", "TCCH-v6"],
)
def test_claim_alloc_cancel(semantics: str, claim: Claim) -> None:
    xen = claims.hosts.native_harness(8, semantics=semantics)
    xen.init_heap_pages(8, 8)
    dom1, dom2 = xen.domains[1], xen.domains[2]
    assert xen.total_avail_pages == 8
    assert claim(xen, dom1, 4) == 0
    assert xen.outstanding_claims == 4
    assert xen.alloc_domheap_pages(dom1, 1, 0) == 14
    assert xen.outstanding_claims == 2
    assert xen.alloc_domheap_pages(dom1, 0, 0) == 13
    assert (xen.outstanding_claims, xen.total_avail_pages) == (1, 5)
    assert claim(xen, dom2, 8 - 1 + 1) == -errno.ENOMEM
    assert claim(xen, dom2, xen.total_avail_pages) == -errno.ENOMEM
    assert xen.outstanding_claims == 1
    xen.domain_set_max_pages(dom1, dom1.tot_pages - 1)
    assert dom1.max_pages == 2
    assert claim(xen, dom1, 0) == 0  # release ignores max_pages
    assert xen.outstanding_claims == 0
    assert claim(xen, dom2, 5) == 0
    assert xen.outstanding_claims == 5
    assert claim(xen, dom1, 1) == -errno.EINVAL  # max_pages
    xen.domain_set_max_pages(dom1, 8)
    assert claim(xen, dom1, 1) == -errno.ENOMEM
    assert xen.alloc_domheap_pages(dom1, 0, 0) is None
    assert xen.alloc_domheap_pages(dom2, 0, 0) == 12
    assert xen.outstanding_claims == 4
    assert xen.alloc_domheap_pages(dom2, 2, 0) == 8
    assert (xen.outstanding_claims, xen.total_avail_pages) == (0, 0)


@pytest.mark.parametrize("semantics", ["v7", "master"])
def test_offlining_host_claims(semantics: str) -> None:
    """OHCH: offlining recalls a host-wide claim under v7; master leaves the excess."""
    xen = claims.hosts.native_harness(4, semantics=semantics)
    xen.init_heap_pages(4, 4)
    dom1 = xen.domains[1]
    assert claim_legacy(xen, dom1, 3) == 0
    assert xen.outstanding_claims == 3
    xen.mark_page_offline(7)
    assert (xen.total_avail_pages, xen.outstanding_claims) == (4, 3)
    assert xen.reserve_offlined_page(4) == 1
    assert (xen.total_avail_pages, xen.outstanding_claims) == (3, 3)
    xen.mark_page_offline(5)
    assert xen.reserve_offlined_page(4) == 1
    if semantics == "v7":
        assert (xen.total_avail_pages, xen.outstanding_claims) == (2, 2)
        ev = xen.events.last()
        assert ev is not None and ev.info["recalled"] == {1: 1}
    else:
        assert (xen.total_avail_pages, xen.outstanding_claims) == (2, 3)


def cnis_host() -> claims.Xen:
    xen = claims.hosts.native_harness(4)
    xen.init_heap_pages(8, 4)
    xen.init_heap_pages(24, 4)
    assert xen.total_avail_pages == 8
    entries = [xen_memory_claim_t(2, HOST), xen_memory_claim_t(2, 0), xen_memory_claim_t(2, 1)]
    assert xen.domain_set_claim_entries(xen.domains[1], entries) == 0
    return xen


def test_claims_numa_install() -> None:
    """CNIS: a claim set redeemed same node, host-wide, other nodes."""
    xen = cnis_host()
    d = xen.domains[1]
    assert xen.outstanding_claims == 6
    assert get(xen, d) == [(HOST, 2), (0, 2), (1, 2)]
    steps = [
        (0, 0, 11, 5, 7, [(HOST, 2), (0, 1), (1, 2)]),
        (0, 1, 27, 4, 6, [(HOST, 2), (0, 1), (1, 1)]),
        (1, 1, 24, 2, 4, [(HOST, 1), (0, 1)]),
        (0, 1, 26, 1, 3, [(HOST, 0), (0, 1)]),
        (0, 1, 10, 0, 2, [(HOST, 0)]),  # node 1 empty: falls back to node 0
    ]
    for order, node, mfn, total, free, after in steps:
        assert xen.alloc_domheap_pages(d, order, MEMF_node(node)) == mfn
        assert (xen.outstanding_claims, xen.total_avail_pages) == (total, free)
        assert get(xen, d) == after
    # the allocation event says which claim gave what
    assert [e.info.get("redeemed") for e in xen.events if e.op == "alloc_domheap_pages"] == [
        {"node0": 1},
        {"node1": 1},
        {"node1": 1, "host": 1},
        {"host": 1},
        {"node0": 1},
    ]


def test_claims_numa_get() -> None:
    """CNGS: the size query and GET."""
    xen = cnis_host()
    d = xen.domains[1]
    assert xen.domain_get_claim_entries(d, 0) == (-errno.ERANGE, 3, None)
    assert xen.do_domctl_claim_memory(DOM0, d, XEN_DOMCTL_CLAIM_MEMORY_GET, 0, None) == (
        -errno.ERANGE,
        3,
    )
    rc, needed, ents = xen.domain_get_claim_entries(d, 3)
    assert (rc, needed) == (0, 3)
    assert ents is not None and [e.as_tuple() for e in ents] == [(HOST, 2), (0, 2), (1, 2)]
    # too small a buffer: -ERANGE and the needed count copied back, nothing written
    buf = (xen_memory_claim_t * 2)()
    assert xen.do_domctl_claim_memory(DOM0, d, XEN_DOMCTL_CLAIM_MEMORY_GET, 2, buf) == (
        -errno.ERANGE,
        3,
    )
    assert [buf[i].as_tuple() for i in range(2)] == [(0, 0), (0, 0)]
    # a domain without claims: exactly [{HOST, 0}]
    assert get(xen, xen.domains[2]) == [(HOST, 0)]
