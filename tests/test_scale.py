"""Page state is sparse: memory grows with free blocks, not with pages (issue: scale).

Memory is measured with tracemalloc (deterministic); build *time* is printed
by ``python -m claims.kit.bench`` rather than asserted here, so a busy machine
cannot make this test flaky.
"""

from __future__ import annotations

import tracemalloc

import claims

TIB_PAGES = 1 << 28  # 1 TiB in 4 KiB pages


def test_8_nodes_of_1_tib_build_small() -> None:
    tracemalloc.start()
    xen = claims.hosts.uniform(8, TIB_PAGES)
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert xen.total_avail_pages == 8 * TIB_PAGES == 1 << 31
    assert xen.node_avail_pages == [TIB_PAGES] * 8
    # 1 TiB per node = 1024 blocks of order 18 per node
    assert xen.buddyinfo() == [[0] * 18 + [1024]] * 8
    assert peak < 50 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_allocation_on_big_host_is_exact() -> None:
    xen = claims.hosts.uniform(8, TIB_PAGES)
    d = xen.domain_create()
    base = 1 << 20
    # first allocation of a fresh domain goes to node 1, top of its last 1 GiB block
    mfn = xen.alloc_domheap_pages(d, 9)
    assert mfn == base + 2 * TIB_PAGES - 512
    assert xen.node_avail_pages[1] == TIB_PAGES - 512
    xen.domain_kill(d)
    xen.check_invariants()


def test_stored_allocations_and_frees_leave_the_cyclic_gc_alone() -> None:
    """A long session stays fast: allocations and frees are stored without a dict,
    so the GC stops tracking them, and read back with every detail."""
    import gc

    from claims.hypervisor.constants import MEMF_no_scrub, MEMF_node
    from claims.hypervisor.public import XEN_DOMCTL_CLAIM_MEMORY_HOST, xen_memory_claim_t

    n = claims.hosts.DEMO_NODE_PAGES
    xen = claims.Xen([range(n, 2 * n), range(2 * n, 3 * n)])
    xen.init_heap_pages(n, n, need_scrub=True)  # node 0 dirty
    xen.init_heap_pages(2 * n, n)
    d = xen.domain_create()
    entries = [xen_memory_claim_t(8, 0), xen_memory_claim_t(8, XEN_DOMCTL_CLAIM_MEMORY_HOST)]
    assert xen.domain_set_claim_entries(d, entries) == 0
    first = len(xen.events)
    a = xen.alloc_domheap_pages(d, 2, MEMF_node(0) | MEMF_no_scrub)  # redeems node 0, dirty
    b = xen.alloc_domheap_pages(d, 3, MEMF_node(1))  # node 1 has no claim: host-wide
    assert a is not None and b is not None
    xen.free_domheap_pages(a, 2)
    for _ in range(4):  # one level of nesting untracked per collection; 4 levels at most
        gc.collect()
    stored = xen.events._entries(first)
    assert [type(e) for e in stored] == [tuple] * 3
    assert not any(gc.is_tracked(e) for e in stored)

    alloc_a, alloc_b, free_a = xen.events[first:]
    assert alloc_a.args == {"d": d.domid, "order": 2, "memflags": MEMF_node(0) | MEMF_no_scrub}
    assert alloc_a.result == a == 2 * n - 4
    assert alloc_a.info["redeemed"] == {"node0": 4}
    assert alloc_a.info["dirty"] == 4
    assert alloc_a.info["counters"]["domain_claims"] == {d.domid: (12, (4, 0))}
    assert alloc_b.info["redeemed"] == {"host": 8}
    assert alloc_b.info["counters"]["domain_claims"] == {d.domid: (4, (4, 0))}
    assert alloc_b.info["counters"]["outstanding_claims"] == 4
    assert free_a.args == {"mfn": a, "order": 2}
    assert free_a.info["d"] == d.domid and free_a.info["need_scrub"] is False
    assert free_a.info["counters"]["total_avail_pages"] == 2 * n - 8
