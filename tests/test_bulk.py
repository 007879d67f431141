"""The bulk populate path gives exactly what the per-extent loop gives (issue: speed, item 3).

Two identical random hosts (claims, dirty memory, offlined pages, other
domains' allocations, all three rule sets) populate the same guest, one with
the bulk path and one with the loop; MFNs, p2m, counters, claims, free lists
and every event must be equal.
"""

from __future__ import annotations

import random

import pytest

import claims
from claims import DOM0, xen_memory_claim_t
from claims.hypervisor.memory import XENMEMF_exact_node, XENMEMF_node


def make_host(seed: int, semantics: str) -> claims.Xen:
    rng = random.Random(seed)
    nodes = [range(1 << 14, (1 << 14) + 4096), range((1 << 14) + 4096, (1 << 14) + 8192)]
    xen = claims.Xen(nodes, semantics=semantics, max_order=rng.choice([9, 10, 12]))
    xen.debug_checks = False
    for n in range(2):
        start = nodes[n].start
        cut = start + rng.randrange(0, 4096, 64)
        xen.init_heap_pages(start, cut - start, need_scrub=rng.random() < 0.3)
        xen.init_heap_pages(cut, nodes[n].stop - cut, need_scrub=rng.random() < 0.3)
    if rng.random() < 0.5:
        xen.scrub()
    other = xen.domain_create()
    for _ in range(rng.randrange(0, 30)):
        xen.alloc_domheap_pages(other, rng.choice([0, 0, 3, 6]), claims.MEMF_node(rng.randrange(2)))
    for _ in range(rng.randrange(0, 4)):
        xen.offline_page(rng.choice(nodes[rng.randrange(2)]))
    guest = xen.domain_create(max_pages=rng.choice([1 << 20, 3000, 5000]))
    if rng.random() < 0.35:
        pass  # no claim of its own: the bulk path asks the gates once per run
    elif semantics == "master":
        xen.do_memory_op_claim_pages(DOM0, guest.domid, rng.randrange(0, 6000))
    else:
        ents = [
            xen_memory_claim_t(rng.randrange(0, 3000), 0),
            xen_memory_claim_t(rng.randrange(0, 2000), 1),
            xen_memory_claim_t(rng.randrange(0, 1000), claims.XEN_DOMCTL_CLAIM_MEMORY_HOST),
        ]
        xen.domain_set_claim_entries(guest, ents)
    if rng.random() < 0.5:  # another domain claims part of node 0 (or of the host)
        if semantics == "master":
            xen.do_memory_op_claim_pages(DOM0, other.domid, rng.randrange(0, 3000))
        else:
            ents = [xen_memory_claim_t(rng.randrange(0, 3000), 0)]
            xen.domain_set_claim_entries(other, ents)
    return xen


def events(xen: claims.Xen, since: int) -> list[tuple[object, ...]]:
    return [(e.op, e.args, e.result, e.info, e.top) for e in xen.events.since(since)]


@pytest.mark.parametrize("semantics", ["v7", "v6", "master"])
@pytest.mark.parametrize("seed", range(16))
def test_bulk_equals_loop(seed: int, semantics: str) -> None:
    rng = random.Random(1000 + seed)
    a, b = make_host(seed, semantics), make_host(seed, semantics)
    b.bulk_populate = False
    assert a.state() == b.state()
    guest = max(a.domains)
    n0 = len(a.events)
    for _ in range(3):
        order = rng.choice([0, 2, 4, 9])
        nr = rng.randrange(1, 400)
        node = rng.randrange(2)
        flags = rng.choice([XENMEMF_node(node), XENMEMF_exact_node(node), 0])
        gfn0 = rng.randrange(0, 1 << 20) << order
        gfns = [gfn0 + (i << order) for i in range(nr)]
        if rng.random() < 0.1:
            gfns[rng.randrange(nr)] += 1  # a misaligned frame stops both paths at the same place
        da = a.do_memory_op_populate_physmap(DOM0, guest, nr, order, flags, gfns)
        db = b.do_memory_op_populate_physmap(DOM0, guest, nr, order, flags, gfns)
        assert da == db
    assert a.state() == b.state()
    assert events(a, n0) == events(b, n0)
    a.check_invariants()


def test_bulk_path_is_taken_and_fast_enough_to_matter() -> None:
    """A whole 1 GiB block split into 2 MiB extents: one allocation, then a bulk run."""
    xen = claims.hosts.uniform(2, 1 << 20)
    xen.debug_checks = False
    d = xen.domain_create()
    xen.domain_set_claim_entries(d, [xen_memory_claim_t(1 << 19, 0)])
    gfns = [i << 9 for i in range(1024)]
    done = xen.do_memory_op_populate_physmap(DOM0, d.domid, 1024, 9, XENMEMF_exact_node(0), gfns)
    assert done == 1024 and d.tot_pages == 1 << 19 and d.claims == [0, 0]
    loop = claims.hosts.uniform(2, 1 << 20)
    loop.debug_checks = False
    loop.bulk_populate = False
    e = loop.domain_create()
    loop.domain_set_claim_entries(e, [xen_memory_claim_t(1 << 19, 0)])
    loop.do_memory_op_populate_physmap(DOM0, e.domid, 1024, 9, XENMEMF_exact_node(0), gfns)
    assert xen.state() == loop.state()
    xen.check_invariants()


def test_bulk_events_read_like_recorded_ones() -> None:
    xen = claims.hosts.uniform(1, 1 << 12)
    xen.debug_checks = False
    d = xen.domain_create()
    n = len(xen.events)
    xen.do_memory_op_populate_physmap(
        DOM0, d.domid, 8, 9, XENMEMF_node(0), [i << 9 for i in range(8)]
    )
    allocs = xen.events[n:]
    assert [e.op for e in allocs] == ["alloc_domheap_pages"] * 8 + ["do_memory_op_populate_physmap"]
    assert [e.seq for e in allocs] == list(range(n, n + 9))
    assert xen.events[-2].result == (1 << 20) and xen.events[-2].info["from_order"] == 9
    assert [e.top for e in allocs] == [False] * 8 + [True]
