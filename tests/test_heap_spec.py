"""The buddy heap against the numbers of ``docs/heap.md`` and the native harness."""

from __future__ import annotations

import errno

import pytest
from conftest import free_map

import claims
from claims import (
    INVALID_DIRTY_IDX,
    MEMF_bits,
    MEMF_exact_node,
    MEMF_keep_scrub,
    MEMF_no_dma,
    MEMF_no_refcount,
    MEMF_no_scrub,
    MEMF_node,
)
from claims.hypervisor.constants import (
    PG_OFFLINE_ANONYMOUS,
    PG_OFFLINE_BROKEN,
    PG_OFFLINE_FAILED,
    PG_OFFLINE_OFFLINED,
    PG_OFFLINE_OWNED,
    PG_OFFLINE_OWNER_SHIFT,
    PG_OFFLINE_PENDING,
    PG_OFFLINE_STATUS_BROKEN,
    PG_OFFLINE_STATUS_OFFLINE_PENDING,
    PG_OFFLINE_STATUS_OFFLINED,
    PG_ONLINE_BROKEN,
    PG_ONLINE_FAILED,
    PG_ONLINE_ONLINED,
)


# --- docs/heap.md#init-heap-pages init_heap_pages -------------------------------------------------
def test_init_heap_pages_greedy_aligned_chunks() -> None:
    xen = claims.Xen([range(0, 64)])
    assert xen.init_heap_pages(0, 23) == 22  # MFN 0 is never added
    # 1..22 in greedy aligned chunks
    assert free_map(xen) == {1: 0, 2: 1, 4: 2, 8: 3, 16: 2, 20: 1, 22: 0}
    assert xen.total_avail_pages == 22
    assert xen.avail[0][1] == 1 and xen.avail[0][2] == 2 and xen.avail[0][3] == 4
    assert xen.avail[0][4] == 8 and xen.avail[0][5] == 7
    xen.check_invariants()


def test_init_heap_pages_merges_with_earlier_frees() -> None:
    xen = claims.Xen([range(8, 24)])
    xen.init_heap_pages(12, 4)
    xen.init_heap_pages(8, 4)
    assert free_map(xen) == {8: 3}
    xen.init_heap_pages(16, 8)
    assert free_map(xen) == {8: 3, 16: 3}  # 8..15 and 16..23 are in different zones
    xen.check_invariants()


def test_init_heap_pages_of_no_pages_adds_nothing_anywhere() -> None:
    """Xen's loop over ``nr_pages`` does nothing for 0, even at an MFN already in the heap
    (the model once called that an overlap, "MFNs 0x13..0x12 are already in the heap")."""
    xen = claims.Xen([range(8, 24)])
    xen.init_heap_pages(8, 16)
    before = xen.state()
    assert xen.init_heap_pages(19, 0) == 0
    assert xen.init_heap_pages(30, 0) == 0  # past the node's memory: nothing to check either
    assert xen.state() == before
    xen.check_invariants()


def test_init_heap_pages_caps_at_max_order() -> None:
    xen = claims.Xen([range(1 << 20, 1 << 21)], max_order=4)
    xen.init_heap_pages(1 << 20, 64)
    assert free_map(xen) == {(1 << 20) + 16 * i: 4 for i in range(4)}


def test_merge_stops_at_node_boundary() -> None:
    xen = claims.Xen([range(16, 20), range(20, 24)])
    xen.init_heap_pages(16, 8)
    assert free_map(xen) == {16: 2, 20: 2}  # same zone, different nodes
    assert xen.node_avail_pages == [4, 4]


# --- docs/heap.md#alloc-heap-pages split and the native harness S1 (allocation part) --------------
def test_split_returns_top_sub_block() -> None:
    xen = claims.Xen([range(8, 16)])
    xen.init_heap_pages(8, 8)
    assert xen.alloc_heap_pages(1, 40, 0, 0, None) == 15
    assert free_map(xen) == {8: 2, 12: 1, 14: 0}
    assert xen.total_avail_pages == 7
    xen.check_invariants()


def test_s1_allocations_in_harness(harness8: claims.Xen) -> None:
    xen = harness8
    dom1, dom2 = xen.domains[1], xen.domains[2]
    assert xen.alloc_domheap_pages(dom1, 1, 0) == 14
    assert xen.alloc_domheap_pages(dom1, 0, 0) == 13
    assert xen.total_avail_pages == 5
    assert xen.alloc_domheap_pages(dom2, 0, 0) == 12
    assert xen.alloc_domheap_pages(dom2, 2, 0) == 8
    assert xen.total_avail_pages == 0
    assert (dom1.tot_pages, dom2.tot_pages) == (3, 5)
    assert xen.alloc_domheap_pages(dom1, 0, 0) is None
    xen.check_invariants()


def test_cnis_preferred_node_then_fallback() -> None:
    """CNIS's allocation sequence without claims: MEMF_node is a preference
    (docs/heap.md#native-harness S4).
    """
    xen = claims.hosts.native_harness(4)
    xen.init_heap_pages(8, 4)
    xen.init_heap_pages(24, 4)
    d = xen.domains[1]
    assert xen.alloc_domheap_pages(d, 0, MEMF_node(0)) == 11
    assert xen.alloc_domheap_pages(d, 0, MEMF_node(1)) == 27
    assert xen.alloc_domheap_pages(d, 1, MEMF_node(1)) == 24
    assert xen.alloc_domheap_pages(d, 0, MEMF_node(1)) == 26
    assert xen.node_avail_pages == [3, 0]
    # node 1 is empty: the walk falls back to node 0
    assert xen.alloc_domheap_pages(d, 0, MEMF_node(1)) == 10
    assert d.last_alloc_node == 0
    # ... but not with MEMF_exact_node
    assert xen.alloc_domheap_pages(d, 0, MEMF_node(1) | MEMF_exact_node) is None
    assert xen.total_avail_pages == 2
    xen.check_invariants()


# --- docs/heap.md#get-free-buddy the NUMA walk ----------------------------------------------------
def test_round_robin_starts_after_last_alloc_node() -> None:
    xen = claims.hosts.native_harness(16)
    xen.init_heap_pages(16, 32)
    d = xen.domains[1]
    nodes = []
    for _ in range(6):
        mfn = xen.alloc_domheap_pages(d, 0)
        assert mfn is not None
        nodes.append(xen.mfn_to_nid(mfn))
    assert nodes == [1, 0, 1, 0, 1, 0]
    ev = xen.events.last()
    assert ev is not None and ev.info["node"] == 0


def test_affinity_first_then_other_nodes() -> None:
    xen = claims.Xen([range(64 * i, 64 * (i + 1)) for i in range(1, 4)])
    xen.init_heap_pages(64, 192)
    d = xen.domain_create(node_affinity={2})
    assert xen.mfn_to_nid(xen.alloc_domheap_pages(d, 5) or 0) == 2
    assert xen.mfn_to_nid(xen.alloc_domheap_pages(d, 5) or 0) == 2
    # node 2 is full: fall back to the nodes outside the mask, lowest first
    assert xen.mfn_to_nid(xen.alloc_domheap_pages(d, 5) or 0) == 0
    # exact node without a node: the mask only
    e = xen.domain_create(node_affinity={2})
    assert xen.alloc_domheap_pages(e, 0, MEMF_exact_node) is None


def test_requested_node_outside_affinity_is_tried_first() -> None:
    xen = claims.hosts.native_harness(16, nr_nodes=3)
    xen.init_heap_pages(16, 48)
    d = xen.domains[1]  # affinity {0, 1}
    mfn = xen.alloc_domheap_pages(d, 0, MEMF_node(2))
    assert mfn is not None and xen.mfn_to_nid(mfn) == 2


def test_domainless_allocation_uses_cpu_node() -> None:
    xen = claims.hosts.native_harness(16)
    xen.init_heap_pages(16, 32)
    assert xen.mfn_to_nid(xen.alloc_heap_pages(1, 40, 0, 0, None) or 0) == 0
    xen.cpu_node = 1
    assert xen.mfn_to_nid(xen.alloc_heap_pages(1, 40, 0, 0, None) or 0) == 1


def test_zones_high_to_low_orders_upward() -> None:
    xen = claims.Xen([range(4, 64)])
    xen.init_heap_pages(4, 60)  # zones 3 (4..7), 4 (8..15), 5 (16..31), 6 (32..63)
    assert xen.alloc_heap_pages(1, 40, 0, 0, None) == 63  # highest zone first
    assert xen.alloc_heap_pages(1, 5, 0, 0, None) == 31  # zone cap
    assert xen.alloc_domheap_pages(None, 0, MEMF_bits(16)) == 15  # zone_hi = 16 - 12 = 4
    xen.check_invariants()


# --- docs/heap.md#alloc-heap-pages two passes, clean before dirty ---------------------------------
def test_clean_remote_block_beats_dirty_local_block() -> None:
    xen = claims.hosts.native_harness(16)
    xen.init_heap_pages(16, 2, need_scrub=True)  # node 0: a dirty order-1 block
    xen.init_heap_pages(32, 2)  # node 1: a clean order-1 block
    d = xen.domains[1]
    d.last_alloc_node = 1  # so the walk starts at node 0
    assert xen.alloc_domheap_pages(d, 1) == 32
    # order 0 takes the dirty page on the preferred node at once
    assert xen.alloc_domheap_pages(d, 0, MEMF_node(0)) == 17
    assert xen.node_need_scrub == [1, 0]
    xen.check_invariants()


def test_dirty_heads_rotate_to_the_tail_in_the_clean_pass() -> None:
    xen = claims.Xen([range(16, 32)])
    xen.init_heap_pages(16, 2, need_scrub=True)
    xen.init_heap_pages(20, 2, need_scrub=True)
    assert xen.heap(0, 5, 1) == [16, 20]
    # the clean pass pops 16, sees it dirty, rotates it to the tail; the dirty
    # pass then pops the new head, 20
    assert xen.alloc_heap_pages(1, 40, 1, 0, None) == 20
    assert xen.heap(0, 5, 1) == [16]
    assert xen.node_need_scrub == [2]  # scrubbed on allocation


def test_no_scrub_keeps_need_scrub_count_and_keep_scrub_bits() -> None:
    xen = claims.Xen([range(16, 32)])
    xen.init_heap_pages(16, 16, need_scrub=True)
    assert xen.node_need_scrub == [16]
    assert xen.alloc_heap_pages(1, 40, 0, MEMF_no_scrub, None) == 31
    assert xen.node_need_scrub == [15]
    assert xen.dirty_runs() == [(16, 31)]
    assert xen.alloc_heap_pages(1, 40, 0, MEMF_no_scrub | MEMF_keep_scrub, None) == 30
    assert xen.node_need_scrub == [14]
    assert xen.dirty_runs() == [(16, 31)]  # page 30 keeps PGC_need_scrub while in use
    xen.free_heap_pages(30, 0, False)  # mark_page_free drops the bit
    assert xen.dirty_runs() == [(16, 30)]
    xen.check_invariants()


def test_split_of_partly_dirty_block_marks_halves_dirty() -> None:
    # merge: 16..23 clean + 24..31 dirty -> first_dirty 8 on an order-4 block
    xen = claims.Xen([range(16, 32)])
    xen.init_heap_pages(16, 8)
    xen.init_heap_pages(24, 8, need_scrub=True)
    blocks = dict(xen.free_blocks())
    assert blocks[16].order == 4 and blocks[16].first_dirty == 8
    assert xen.alloc_heap_pages(1, 40, 3, MEMF_no_scrub, None) == 24
    blocks = dict(xen.free_blocks())
    assert blocks[16].first_dirty == INVALID_DIRTY_IDX


# --- docs/heap.md#scrubbing scrubbing -------------------------------------------------------
def test_scrub_cleans_and_moves_to_head() -> None:
    xen = claims.Xen([range(32, 64)])
    xen.init_heap_pages(32, 4)  # buddies 36, 44, ... stay out: no merging
    xen.init_heap_pages(40, 4, need_scrub=True)
    xen.init_heap_pages(48, 4, need_scrub=True)
    xen.init_heap_pages(56, 4)
    assert xen.heap(0, 6, 2) == [56, 32, 40, 48]
    assert xen.scrub(0) == 8
    # from the tail: 48 to the head, then 40 to the head
    assert xen.heap(0, 6, 2) == [40, 48, 56, 32]
    assert xen.node_need_scrub == [0]
    assert xen.scrub() == 0
    xen.check_invariants()


# --- docs/heap.md#domheap domheap: DMA two-step and max_pages -------------------------------
def test_dma_two_step() -> None:
    # node 0 below 4 GiB: dma_bitsize = min(flsl(start + spanned/4 - 1) + 12, 32)
    xen = claims.Xen([range(8, 16), range(16, 32)], dma_bitsize="x86")
    assert xen.dma_bitsize == 4 + 12  # flsl(8 + 2 - 1) = 4
    xen.init_heap_pages(8, 24)
    d = xen.domain_create()
    # dma_zone = 4 (MFNs < 16): zones above it are tried on every node first
    got = [xen.alloc_domheap_pages(d, 2) for _ in range(4)]
    assert got == [28, 24, 20, 16]
    assert {xen.mfn_to_nid(m or 0) for m in got} == {1}
    assert xen.alloc_domheap_pages(d, 2, MEMF_no_dma) is None
    assert xen.alloc_domheap_pages(d, 2) == 12  # then all zones
    ev = xen.events.last()
    assert ev is not None and len(ev.info["attempts"]) == 2
    xen.check_invariants()


def test_max_pages_refusals() -> None:
    xen = claims.hosts.native_harness(8, numa=False)
    xen.init_heap_pages(8, 8)
    d = xen.domains[1]
    xen.domain_set_max_pages(d, 2)
    assert xen.alloc_domheap_pages(d, 2) is None  # -E2BIG: 4 > 2 - 0
    ev = xen.events.last()
    assert ev is not None and ev.info["assign_pages"] == -errno.E2BIG
    assert xen.total_avail_pages == 8 and free_map(xen) == {8: 3}
    assert xen.alloc_domheap_pages(d, 1) == 14
    xen.domain_set_max_pages(d, 1)
    assert xen.alloc_domheap_pages(d, 0) is None  # -EPERM: tot 2 > max 1
    ev = xen.events.last()
    assert ev is not None and ev.info["assign_pages"] == -errno.EPERM
    # a failed assignment frees the block again (clean: MEMF_no_scrub was not set)
    assert xen.total_avail_pages == 6 and xen.node_need_scrub == [0]
    # no-refcount pages are extra and not checked against max_pages
    assert xen.alloc_domheap_pages(d, 0, MEMF_no_refcount) is not None
    assert (d.tot_pages, d.extra_pages, d.domain_tot_pages()) == (3, 1, 2)
    xen.check_invariants()


def test_keep_scrub_leaves_pages_unassigned_and_assign_pages() -> None:
    xen = claims.hosts.native_harness(8, numa=False)
    xen.init_heap_pages(8, 8)
    d = xen.domains[1]
    mfn = xen.alloc_domheap_pages(d, 1, MEMF_no_scrub | MEMF_keep_scrub)
    assert mfn == 14 and d.tot_pages == 0
    assert xen.assign_pages(14, 2, d) == 0
    assert d.tot_pages == 2 and xen.owned_pages(d) == [(14, 1)]
    xen.check_invariants()


def test_domain_kill_frees_dirty_in_page_list_order() -> None:
    xen = claims.hosts.native_harness(8, numa=False)
    xen.init_heap_pages(8, 8)
    d = xen.domains[1]
    assert [xen.alloc_domheap_pages(d, 0) for _ in range(3)] == [15, 14, 13]
    xen.domain_kill(d)
    assert 1 not in xen.domains and d.is_dying
    assert free_map(xen) == {8: 3}
    blk = dict(xen.free_blocks())[8]
    assert blk.first_dirty == 5  # 8..12 clean, 13..15 freed dirty
    assert xen.node_need_scrub == [3]
    xen.check_invariants()
    assert xen.scrub() == 3
    xen.check_invariants()


def test_free_domheap_pages_partial_block() -> None:
    xen = claims.hosts.native_harness(8, numa=False)
    xen.init_heap_pages(8, 8)
    d = xen.domains[1]
    assert xen.alloc_domheap_pages(d, 2) == 12
    xen.free_domheap_pages(13, 0)
    assert d.tot_pages == 3 and free_map(xen) == {8: 2, 13: 0}
    xen.free_domheap_pages(12, 0)
    xen.free_domheap_pages(14, 1)
    assert free_map(xen) == {8: 3} and d.tot_pages == 0
    xen.check_invariants()


# --- docs/offlining.md#offlining offlining --------------------------------------------------------
def _order2_at_4() -> claims.Xen:
    xen = claims.hosts.native_harness(4, numa=False)
    xen.init_heap_pages(4, 4)
    return xen


@pytest.mark.parametrize(
    ("victim", "left"),
    [(5, {4: 0, 6: 1}), (4, {5: 0, 6: 1}), (7, {4: 1, 6: 0}), (6, {4: 1, 7: 0})],
)
def test_offline_structure(victim: int, left: dict[int, int]) -> None:
    xen = _order2_at_4()
    assert xen.offline_page(victim) == (0, PG_OFFLINE_OFFLINED)
    assert free_map(xen) == left
    assert xen.total_avail_pages == 3
    assert list(xen.page_offlined_list) == [victim]
    xen.check_invariants()


def test_offline_keeps_first_dirty_exact() -> None:
    xen = claims.hosts.native_harness(4, numa=False)
    xen.init_heap_pages(4, 3)
    xen.init_heap_pages(7, 1, need_scrub=True)
    assert dict(xen.free_blocks())[4].first_dirty == 3
    assert xen.offline_page(5) == (0, PG_OFFLINE_OFFLINED)
    blocks = dict(xen.free_blocks())
    assert blocks[6].order == 1 and blocks[6].first_dirty == 1
    assert blocks[4].first_dirty == INVALID_DIRTY_IDX
    xen.check_invariants()


def test_ohch_two_step_mark_and_reserve() -> None:
    xen = _order2_at_4()
    xen.mark_page_offline(7)
    assert xen.total_avail_pages == 4
    assert xen.reserve_offlined_page(4) == 1
    assert xen.total_avail_pages == 3
    xen.mark_page_offline(5)
    assert xen.reserve_offlined_page(4) == 1
    assert xen.total_avail_pages == 2 and free_map(xen) == {4: 0, 6: 0}
    xen.check_invariants()


def test_offline_in_use_page_pends_until_freed() -> None:
    xen = _order2_at_4()
    d = xen.domains[1]
    assert xen.alloc_domheap_pages(d, 2) == 4
    rc, status = xen.offline_page(6, broken=True)
    assert rc == 0
    assert status == PG_OFFLINE_OWNED | PG_OFFLINE_PENDING | PG_OFFLINE_BROKEN | (
        1 << PG_OFFLINE_OWNER_SHIFT
    )
    assert xen.query_page_offline(6) == (
        0,
        PG_OFFLINE_STATUS_OFFLINE_PENDING | PG_OFFLINE_STATUS_BROKEN,
    )
    xen.free_domheap_pages(4, 2)
    assert xen.query_page_offline(6) == (0, PG_OFFLINE_STATUS_OFFLINED | PG_OFFLINE_STATUS_BROKEN)
    assert list(xen.page_broken_list) == [6] and xen.total_avail_pages == 3
    assert free_map(xen) == {4: 1, 7: 0}
    # broken pages cannot come back
    assert xen.online_page(6) == (-errno.EINVAL, PG_ONLINE_FAILED | PG_ONLINE_BROKEN)
    xen.check_invariants()


def test_offline_unowned_reserved_page_fails_anonymous() -> None:
    xen = claims.hosts.native_harness(4, numa=False)
    xen.init_heap_pages(8, 4)
    rc, status = xen.offline_page(5)  # in the node, never handed to the heap
    assert rc == 0 and status & PG_OFFLINE_ANONYMOUS and status & PG_OFFLINE_FAILED
    assert xen.offline_page(1000) == (-errno.EINVAL, 0)


def test_online_page_merges_back_and_keeps_need_scrub_count() -> None:
    xen = claims.hosts.native_harness(4, numa=False)
    xen.init_heap_pages(4, 4, need_scrub=True)
    assert xen.offline_page(5) == (0, PG_OFFLINE_OFFLINED)
    assert xen.node_need_scrub == [4]  # the offlined page still counts
    assert xen.online_page(5) == (0, PG_ONLINE_ONLINED)
    assert free_map(xen) == {4: 2} and xen.total_avail_pages == 4
    # the quirk: page 5 came back clean, node_need_scrub was not decremented
    assert xen.node_need_scrub == [4] and xen.need_scrub_leaked == [1]
    xen.check_invariants()
    assert xen.scrub(0) == 3 and xen.node_need_scrub == [1]
    xen.check_invariants()


def test_online_cancels_pending_offline() -> None:
    xen = _order2_at_4()
    d = xen.domains[1]
    xen.alloc_domheap_pages(d, 0)
    assert xen.offline_page(7)[1] & PG_OFFLINE_PENDING
    assert xen.online_page(7) == (0, PG_ONLINE_ONLINED)
    assert xen.query_page_offline(7) == (0, 0)
    xen.free_domheap_pages(7, 0)
    assert free_map(xen) == {4: 2}


def test_domain_kill_with_pending_offline_page() -> None:
    xen = _order2_at_4()
    d = xen.domains[1]
    assert xen.alloc_domheap_pages(d, 2) == 4
    xen.offline_page(5)
    xen.domain_kill(d)
    assert free_map(xen) == {4: 0, 6: 1} and xen.total_avail_pages == 3
    xen.check_invariants()


def test_status_names_and_pages_by_node() -> None:
    from claims.hypervisor.constants import pg_offline_status_str

    xen = _order2_at_4()
    d = xen.domains[1]
    xen.alloc_domheap_pages(d, 1)
    assert xen.pages_by_node(d) == [2]  # one node (numa=False)
    _rc, status = xen.offline_page(6)
    assert pg_offline_status_str(status) == "PENDING|OWNED|owner 0x1"
    assert pg_offline_status_str(xen.query_page_offline(6)[1], "query") == "OFFLINE_PENDING"
    assert pg_offline_status_str(xen.online_page(6)[1], "online") == "ONLINED"


def test_allocating_a_page_marked_offline_but_not_reserved_is_xens_bug() -> None:
    """docs/heap.md#alloc-heap-pages step 9: every page handed out must be free, or Xen BUG()s.

    ``mark_page_offline`` alone leaves the page inside its free buddy; the
    allocation that would hand it out is refused with ``XenBugError`` and
    changes nothing.
    """
    xen = _order2_at_4()
    d = xen.domains[1]
    xen.mark_page_offline(5)
    assert xen.alloc_domheap_pages(d, 0) == 7  # the top page: free
    assert xen.alloc_domheap_pages(d, 0) == 6
    before, events = xen.state(), len(xen.events)
    with pytest.raises(claims.XenBugError, match=r"MFN 0x5 is offlined, not free.*BUG\(\)"):
        xen.alloc_domheap_pages(d, 0)  # would split 4..5 and hand out 5
    assert xen.state() == before and len(xen.events) == events
    assert xen.reserve_offlined_page(4) == 1  # the second step: now 4 is allocatable
    assert xen.alloc_domheap_pages(d, 0) == 4
    xen.check_invariants()


def test_xen_bug_on_an_offlined_page_puts_back_the_dirty_buddies_it_passed() -> None:
    """The NUMA walk rotates dirty buddies to the tail before it finds a clean one;
    the refused allocation puts them back, so the lists are as they were."""
    xen = claims.hosts.native_harness(4, numa=False)
    xen.init_heap_pages(4, 4)  # clean, order 2, zone 3
    xen.init_heap_pages(8, 2, need_scrub=True)  # dirty, order 1, zone 4
    xen.init_heap_pages(12, 2, need_scrub=True)  # dirty, order 1, zone 4
    assert xen.heap(0, 4, 1) == [8, 12]
    xen.mark_page_offline(7)
    before = xen.state()
    with pytest.raises(claims.XenBugError, match="MFN 0x7"):
        xen.alloc_domheap_pages(xen.domains[1], 1)  # passes 8 (dirty), takes 6..7 of 4
    assert xen.heap(0, 4, 1) == [8, 12]  # not [12, 8]
    assert xen.state() == before
    xen.offline_page(7)  # both steps at once, as Xen's offline_page does
    assert xen.alloc_domheap_pages(xen.domains[1], 1) == 4  # 4..5; 6 stays free
    xen.check_invariants()


def test_a_block_outside_the_heaps_memory_is_named() -> None:
    """``check_heap_invariants`` counts a run of adjacent blocks at once; in a run that
    leaves the heap's memory it names the first block that does."""
    xen = claims.hosts.uniform(1, 64)
    d = xen.domain_create()
    mfns = sorted(m for m in (xen.alloc_domheap_pages(d, 2) for _ in range(4)) if m is not None)
    xen.check_invariants()
    victim = mfns[2]  # a block between two others, all adjacent
    xen._in_heap.remove(victim + 1, victim + 2)
    with pytest.raises(claims.InvariantError, match=f"block {victim:#x}..{victim + 3:#x} lies"):
        xen.check_heap_invariants()
