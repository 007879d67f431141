"""Protection (docs/claims.md#protection), redemption (docs/redemption.md#redemption) rule by rule,
design examples (docs/toolstack.md#design-examples),
and master beside v7 where they differ."""

from __future__ import annotations

import errno

import pytest

import claims
from claims import (
    DOM0,
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    MEMF_exact_node,
    MEMF_no_owner,
    MEMF_no_refcount,
    MEMF_node,
    xen_memory_claim_t,
)

HOST = XEN_DOMCTL_CLAIM_MEMORY_HOST
E = xen_memory_claim_t


def four_nodes(semantics: str = "v7", pages: int = 64) -> claims.Xen:
    """Four nodes of *pages* pages each from MFN 1024, all free and clean."""
    xen = claims.Xen(
        [range(1024 + i * pages, 1024 + (i + 1) * pages) for i in range(4)], semantics=semantics
    )
    xen.init_heap_pages(1024, 4 * pages)
    return xen


# --- redemption, docs/redemption.md#redemption, one rule at a time --------------------------------
def test_same_node_claim_first() -> None:
    xen = four_nodes()
    d = xen.domain_create()
    assert xen.domain_set_claim_entries(d, [E(8, HOST), E(8, 2)]) == 0
    xen.alloc_domheap_pages(d, 2, MEMF_node(2))
    assert (d.claims[2], d.host_claims) == (4, 8)


def test_host_wide_after_same_node() -> None:
    xen = four_nodes()
    d = xen.domain_create()
    assert xen.domain_set_claim_entries(d, [E(8, HOST), E(2, 2)]) == 0
    xen.alloc_domheap_pages(d, 2, MEMF_node(2))  # 2 from node 2's claim, 2 host-wide
    assert (d.claims[2], d.host_claims, d.outstanding_pages) == (0, 6, 6)


def test_other_nodes_last_in_ascending_order() -> None:
    xen = four_nodes()
    d = xen.domain_create()
    assert xen.domain_set_claim_entries(d, [E(1, HOST), E(2, 3), E(2, 1)]) == 0
    mfn = xen.alloc_domheap_pages(d, 3, MEMF_node(0))  # 8 pages on node 0
    assert mfn is not None and xen.mfn_to_nid(mfn) == 0
    # node 0: nothing; host-wide: 1; then node 1 (2), then node 3 (2)
    assert d.claims == [0, 0, 0, 0] and d.outstanding_pages == 0
    ev = xen.events.last()
    assert ev is not None and ev.info["redeemed"] == {"host": 1, "node1": 2, "node3": 2}
    # an allocation larger than all claims consumed them all; the rest was unclaimed
    assert xen.outstanding_claims == 0


def test_partial_redemption_leaves_the_rest() -> None:
    """The protection page's example: a node claim of 100 redeemed by 20 pages leaves 80."""
    xen = four_nodes(pages=256)
    d = xen.domain_create()
    assert xen.domain_set_claim_entries(d, [E(100, 1)]) == 0
    xen.alloc_domheap_pages(d, 4, MEMF_node(1))
    xen.alloc_domheap_pages(d, 2, MEMF_node(1))
    assert d.tot_pages == 20 and d.claims[1] == 80 and d.outstanding_pages == 80


@pytest.mark.parametrize(
    "flags", [MEMF_no_refcount, MEMF_no_owner], ids=["no_refcount", "no_owner"]
)
def test_non_refcounted_requests_never_redeem(flags: int) -> None:
    xen = four_nodes()
    d = xen.domain_create()
    assert xen.domain_set_claim_entries(d, [E(4, HOST), E(4, 0)]) == 0
    assert xen.alloc_domheap_pages(d, 1, MEMF_node(0) | flags) is not None
    assert d.outstanding_pages == 8


def test_domainless_requests_never_redeem() -> None:
    xen = four_nodes()
    d = xen.domain_create()
    assert xen.domain_set_claim_entries(d, [E(4, HOST)]) == 0
    assert xen.alloc_domheap_pages(None, 3) is not None
    assert d.outstanding_pages == 4


def test_free_never_restores_claims_and_kill_releases() -> None:
    xen = four_nodes()
    d = xen.domain_create()
    assert xen.domain_set_claim_entries(d, [E(4, HOST), E(4, 0)]) == 0
    mfn = xen.alloc_domheap_pages(d, 1, MEMF_node(0))
    assert mfn is not None and d.outstanding_pages == 6
    xen.free_domheap_pages(mfn, 1)
    assert d.outstanding_pages == 6
    xen.domain_kill(d)
    assert (xen.outstanding_claims, xen.claimed_pages) == (0, [0, 0, 0, 0])
    ev = xen.events.last()
    assert ev is not None and ev.info["released_claims"] == 6


def test_claim_lost_when_assign_pages_fails() -> None:
    xen = four_nodes()
    d = xen.domain_create(max_pages=8)
    assert xen.domain_set_claim_entries(d, [E(8, HOST)]) == 0
    xen.domain_set_max_pages(d, 2)  # max_mem lowered after the claim
    assert xen.alloc_domheap_pages(d, 2) is None  # -E2BIG from assign_pages
    assert d.outstanding_pages == 4 and xen.total_avail_pages == 256
    ev = xen.events.last()
    assert ev is not None and ev.info["assign_pages"] == -errno.E2BIG


# --- protection, docs/claims.md#protection --------------------------------------------------------
def one_node(semantics: str) -> claims.Xen:
    xen = claims.Xen([range(256, 512)], semantics=semantics)
    xen.init_heap_pages(256, 256)
    return xen


@pytest.mark.parametrize("semantics", ["v7", "master", "v6"])
def test_host_gate_strict_or_shortfall(semantics: str) -> None:
    xen = one_node(semantics)
    a, b = xen.domain_create(), xen.domain_create()
    assert xen.do_memory_op_claim_pages(DOM0, a.domid, 250) == 0
    # 6 unclaimed pages: b may take 4 but not 8
    assert xen.alloc_domheap_pages(b, 3) is None
    ev = xen.events.last()
    assert ev is not None and "host-wide claims gate" in ev.info["reason"]
    assert xen.alloc_domheap_pages(b, 2) is not None
    # 256 pages: more than a's claim and more than the host has
    assert xen.alloc_domheap_pages(a, 8) is None
    # 128 <= 250: a's own claim covers the whole request
    assert xen.alloc_domheap_pages(a, 7) is not None
    assert a.outstanding_pages == 122
    # 124 free, 122 of them claimed by a: a takes 64 + 32 + 16 more
    xen.alloc_domheap_pages(a, 6)
    xen.alloc_domheap_pages(a, 5)
    xen.alloc_domheap_pages(a, 4)
    assert (a.outstanding_pages, xen.total_avail_pages) == (10, 12)
    # request 8 with a claim of 10: fine; then request 4 with a claim of 2 and 2 free
    # unclaimed pages: the strict gate refuses, v6's shortfall rule allows
    assert xen.alloc_domheap_pages(a, 3) is not None
    assert (a.outstanding_pages, xen.total_avail_pages) == (2, 4)
    got = xen.alloc_domheap_pages(a, 2)
    if semantics == "v6":
        assert got is not None and a.outstanding_pages == 0
    else:
        assert got is None and a.outstanding_pages == 2


def test_node_gate_protects_claimed_node() -> None:
    xen = four_nodes(pages=16)
    a, b = xen.domain_create(), xen.domain_create()
    assert xen.domain_set_claim_entries(a, [E(14, 1)]) == 0
    # b asks node 1 exactly: 2 unclaimed pages fit order 1, not order 2
    assert xen.alloc_domheap_pages(b, 1, MEMF_node(1) | MEMF_exact_node) is not None
    assert xen.alloc_domheap_pages(b, 1, MEMF_node(1) | MEMF_exact_node) is None
    ev = xen.events.last()
    assert ev is not None and ev.info["node_gate_skipped"] == [1]
    assert "per-node claims gate skipped node 1" in ev.info["reason"]
    # without exact node, b falls back to another node
    mfn = xen.alloc_domheap_pages(b, 1, MEMF_node(1))
    assert mfn is not None and xen.mfn_to_nid(mfn) == 2
    # a's own claim is credited on node 1
    assert xen.alloc_domheap_pages(a, 3, MEMF_node(1) | MEMF_exact_node) is not None
    assert a.claims[1] == 6
    # Xen's own (domain-less) allocations respect node claims too
    xen.cpu_node = 1
    mfn = xen.alloc_heap_pages(1, 40, 3, 0, None)
    assert mfn is not None and xen.mfn_to_nid(mfn) == 2


def test_master_has_no_node_gate() -> None:
    xen = four_nodes(semantics="master", pages=16)
    a, b = xen.domain_create(), xen.domain_create()
    assert xen.domain_set_outstanding_pages(a, 14) == 0  # host-wide only
    # the same request succeeds on node 1: master protects nothing per node
    assert xen.alloc_domheap_pages(b, 2, MEMF_node(1) | MEMF_exact_node) is not None


# --- design examples, docs/toolstack.md#design-examples -------------------------------------------
def test_guest_guide_replace_example() -> None:
    xen = four_nodes(pages=4096)
    d = xen.domain_create()
    assert xen.domain_set_claim_entries(d, [E(1024, 0), E(1024, 1), E(1024, HOST)]) == 0
    assert d.outstanding_pages == 3072
    assert xen.domain_set_claim_entries(d, [E(1024, 1), E(1024, 2), E(1024, 3)]) == 0
    assert (d.claims, d.host_claims) == ([0, 1024, 1024, 1024], 0)
    assert xen.domain_set_claim_entries(d, [E(0, HOST)]) == 0
    assert (d.outstanding_pages, xen.outstanding_claims) == (0, 0)


def test_legacy_three_pages_claiming_ten() -> None:
    xen = four_nodes()
    d = xen.domain_create()
    for _ in range(3):
        xen.alloc_domheap_pages(d, 0)
    assert xen.do_memory_op_claim_pages(DOM0, d.domid, 10) == 0
    assert d.outstanding_pages == 7


@pytest.mark.parametrize("semantics", ["master", "v6", "v7", "v8"])
def test_upstream_legacy_test_mem_claim(semantics: str) -> None:
    """tools/tests/mem-claim: claim 1024, populate order 9, 512 left, destroy, 0."""
    xen = four_nodes(semantics=semantics, pages=1024)
    d = xen.domain_create()
    assert xen.do_memory_op_claim_pages(DOM0, d.domid, 1024) == 0
    assert xen.get_outstanding_claims()[1] == 1024
    assert xen.alloc_domheap_pages(d, 9) is not None
    assert xen.get_outstanding_claims()[1] == 512
    xen.domain_kill(d)
    assert xen.get_outstanding_claims()[1] == 0


def test_two_node_build_with_host_wide_shortfall() -> None:
    """Claim on the preferred node plus a host-wide claim for the shortfall
    (docs/toolstack.md#design-examples).
    """
    xen = four_nodes(pages=64)
    d = xen.domain_create(node_affinity={0})
    assert xen.domain_set_claim_entries(d, [E(48, 0), E(16, HOST)]) == 0
    for _ in range(4):
        assert xen.alloc_domheap_pages(d, 4, MEMF_node(0)) is not None
    assert (d.claims[0], d.host_claims) == (0, 0)
    assert xen.node_avail_pages[0] == 0


def test_offline_recalls_node_claims_in_domain_order() -> None:
    xen = four_nodes(pages=16)
    a, b = xen.domain_create(), xen.domain_create()
    assert xen.domain_set_claim_entries(a, [E(8, 0)]) == 0
    assert xen.domain_set_claim_entries(b, [E(8, 0), E(4, HOST)]) == 0
    # node 0: 16 free, 16 claimed; offline 3 pages -> a's node-0 claim loses 3
    for mfn in (1024 + 1, 1024 + 5, 1024 + 9):
        assert xen.offline_page(mfn)[0] == 0
    assert (a.claims[0], b.claims[0], xen.claimed_pages[0]) == (5, 8, 13)
    assert xen.node_avail_pages[0] == 13


@pytest.mark.parametrize("semantics", ["master", "v6", "v7", "v8"])
@pytest.mark.parametrize("seed", range(6))
def test_gates_are_monotone_in_free_memory(semantics: str, seed: int) -> None:
    """More free memory, with claims unchanged, never turns a gate's pass into a refusal.

    The bulk populate path asks the gates about the last extent of a run only
    when this holds (``rules`` module doc).
    """
    import random

    rng = random.Random(seed)
    xen = claims.hosts.native_harness(1 << 12, semantics=semantics)
    for n in range(2):
        xen.init_heap_pages((1 << 12) + 16 * n, 16)
    d1, d2 = xen.domains[1], xen.domains[2]
    if semantics == "master":
        xen.do_memory_op_claim_pages(DOM0, 2, rng.randrange(20, 30))
    else:
        xen.domain_set_claim_entries(d2, [xen_memory_claim_t(rng.randrange(0, 12), 0)])
        xen.domain_set_claim_entries(d1, [xen_memory_claim_t(rng.randrange(0, 8), 1)])
    rules = xen.rules
    checked = 0
    for _ in range(300):
        d = rng.choice([d1, d2, None])
        order = rng.randrange(0, 5)
        flags = rng.choice([0, claims.MEMF_no_refcount])
        node = rng.randrange(2)
        before = (
            rules.host_gate(xen, d, 1 << order, flags),
            rules.node_gate(xen, node, order, flags, d),
        )
        extra = rng.randrange(1, 40)
        xen.node_avail_pages[node] += extra
        xen.total_avail_pages += extra
        try:
            after = (
                rules.host_gate(xen, d, 1 << order, flags),
                rules.node_gate(xen, node, order, flags, d),
            )
        finally:
            xen.node_avail_pages[node] -= extra
            xen.total_avail_pages -= extra
        assert after[0] >= before[0] and after[1] >= before[1]
        checked += before != (True, True)
    assert checked > 0  # some draws were refused before the extra memory


@pytest.mark.parametrize("semantics", ["master", "xenserver"])
def test_legacy_claim_past_free_memory_wraps_and_fits(semantics: str) -> None:
    """master's ``domain_set_outstanding_pages`` (xen/common/page_alloc.c at c447b7308b):
    ``avail_pages = total_avail_pages; avail_pages -= outstanding_claims;`` in an
    ``unsigned long``.  Offlining a free page under a claim of all memory (no recall on
    master) leaves claims above free memory; the subtraction wraps, and the next claim
    fits where a signed comparison would refuse it (``ENOMEM``)."""
    xen = claims.hosts.uniform(1, 64, semantics)
    d1 = xen.domain_create(max_pages=1000)
    d2 = xen.domain_create(max_pages=1000)
    assert xen.do_memory_op_claim_pages(claims.DOM0, d1.domid, 64) == 0
    rc, _ = xen.offline_page((1 << 20) + 5)
    assert rc == 0 and (xen.total_avail_pages, xen.outstanding_claims) == (63, 64)
    assert xen.do_memory_op_claim_pages(claims.DOM0, d2.domid, 10) == 0  # wrapped: it fits
    assert xen.outstanding_claims == 74
