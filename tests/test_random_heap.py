"""Thousands of random alloc/free/offline/online/scrub/kill steps, invariants after each.

After every step ``check_invariants`` holds: counters equal sums over the free
lists, free blocks are aligned, inside one node and zone, and never overlap
allocated or offlined pages.  At the end everything is freed and the free
lists are back to the initial buddies.
"""

from __future__ import annotations

import random

import pytest

import claims
from claims import (
    MEMF_exact_node,
    MEMF_keep_scrub,
    MEMF_no_owner,
    MEMF_no_refcount,
    MEMF_no_scrub,
    MEMF_node,
)

NODES = [[(1, 40), (48, 100)], [(100, 230)], [(256, 300), (310, 400)]]


def build(semantics: str, rng: random.Random) -> claims.Xen:
    xen = claims.Xen(NODES, semantics=semantics, max_order=5, max_numnodes=4)
    for rs in NODES:
        for s, e in rs:
            mid = rng.randrange(s, e)
            xen.init_heap_pages(s, mid - s, need_scrub=rng.random() < 0.5)
            xen.init_heap_pages(mid, e - mid, need_scrub=rng.random() < 0.5)
    return xen


def random_flags(rng: random.Random, nr_nodes: int) -> int:
    f = 0
    if rng.random() < 0.4:
        f |= MEMF_node(rng.randrange(nr_nodes))
        if rng.random() < 0.3:
            f |= MEMF_exact_node
    if rng.random() < 0.2:
        f |= MEMF_no_scrub
        if rng.random() < 0.3:
            f |= MEMF_keep_scrub
    if rng.random() < 0.1:
        f |= MEMF_no_refcount
    if rng.random() < 0.05:
        f |= MEMF_no_owner
    return f


def step(xen: claims.Xen, rng: random.Random, broken: bool) -> None:
    doms = list(xen.domains.values())
    op = rng.random()
    if op < 0.45:
        d = rng.choice(doms + [None])
        order = rng.choice([0, 0, 0, 1, 2, 3, 4, 5, 6])
        xen.alloc_domheap_pages(d, order, random_flags(rng, xen.nr_nodes))
    elif op < 0.75:
        blocks = list(xen.allocated_blocks())
        if blocks:
            mfn, rec = rng.choice(blocks)
            sub = rng.randrange(rec.order + 1)
            mfn += rng.randrange(1 << (rec.order - sub)) << sub
            if rng.random() < 0.8 or rec.owner is not None:
                xen.free_domheap_pages(mfn, sub)
            else:
                xen.free_heap_pages(mfn, sub, rng.random() < 0.5)
    elif op < 0.83:
        rs = rng.choice(NODES)
        s, e = rng.choice(rs)
        xen.offline_page(rng.randrange(s, e), broken=broken and rng.random() < 0.1)
    elif op < 0.9:
        pending = [m for m in xen.page_offlined_list] + [
            m for m, f in xen._pgstate.items() if f == 1
        ]
        if pending:
            xen.online_page(rng.choice(pending))
    elif op < 0.95:
        xen.scrub(rng.choice([None, *range(xen.nr_nodes)]))
    elif doms and rng.random() < 0.5:
        xen.domain_kill(rng.choice(doms))
    else:
        xen.domain_create(node_affinity=rng.sample(range(3), rng.randint(1, 3)))


@pytest.mark.parametrize("semantics", ["master", "v6", "v7", "v8"])
@pytest.mark.parametrize("seed", range(3))
def test_random_steps_keep_invariants(seed: int, semantics: str) -> None:
    rng = random.Random(seed * 7919 + len(semantics))
    xen = build(semantics, rng)
    xen.check_invariants()
    xen.scrub()
    initial = {m: (b.order, b.node) for m, b in xen.free_blocks()}
    initial_total = xen.total_avail_pages
    for _ in range(2):
        xen.domain_create(node_affinity=rng.sample(range(3), rng.randint(1, 3)))
    for i in range(1500):
        step(xen, rng, broken=seed == 2)
        try:
            xen.check_invariants()
        except claims.InvariantError as e:  # pragma: no cover - the message is the point
            raise AssertionError(f"step {i}: {xen.events.last()}: {e}") from e
    ops = {e.op for e in xen.events}
    assert ops >= {
        "alloc_domheap_pages",
        "free_domheap_pages",
        "free_heap_pages",
        "offline_page",
        "online_page",
        "scrub",
        "domain_kill",
        "domain_create",
    }
    assert sum(1 for e in xen.events if e.op == "alloc_domheap_pages" and e.result) > 200
    # put everything back
    for m, f in list(xen._pgstate.items()):
        if not f & 4:  # not broken
            xen.online_page(m)
    for d in list(xen.domains.values()):
        xen.domain_kill(d)
    for mfn, rec in list(xen.allocated_blocks()):
        xen.free_domheap_pages(mfn, rec.order)
    xen.check_invariants()
    broken = set(xen.page_broken_list)
    assert bool(broken) == (seed == 2)
    if not broken:
        xen.scrub()
        assert {m: (b.order, b.node) for m, b in xen.free_blocks()} == initial
        assert xen.total_avail_pages == initial_total
        assert all(b.first_dirty == claims.INVALID_DIRTY_IDX for _, b in xen.free_blocks())
    else:
        assert xen.total_avail_pages == initial_total - len(broken)
