"""Page state is sparse: memory grows with free blocks, not with pages (issue: scale).

Memory is measured with tracemalloc (deterministic); build *time* is printed
by ``python -m claims.bench`` rather than asserted here, so a busy machine
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
