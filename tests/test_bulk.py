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
from claims.hypervisor.errors import XenBugError
from claims.hypervisor.memory import XENMEMF_exact_node, XENMEMF_node

SEMANTICS = ["v7", "v6", "master", "v8", "xenserver"]


def claim_entries(xen: claims.Xen, pairs: list[tuple[int, int]]) -> list[object]:
    """Claim entries ``(pages, target)`` in the host's version's ABI."""
    entry = xen.rules.entry_type()
    return [entry(pages, target) for pages, target in pairs]


def claim_some(xen: claims.Xen, d: claims.Domain, rng: random.Random, nodes: int) -> None:
    """A claim as each version takes one: legacy (master), one node or the host
    (XenServer's ``XENMEM_claim_pages`` with ``mem_flags``), or a claim set."""
    if xen.semantics == "master":
        xen.do_memory_op_claim_pages(DOM0, d.domid, rng.randrange(0, 6000))
    elif xen.semantics == "xenserver":
        node = rng.choice([None, *range(nodes)])
        flags = 0 if node is None else XENMEMF_exact_node(node)
        xen.do_memory_op_claim_pages(DOM0, d.domid, rng.randrange(0, 3000), flags)
    else:
        pairs = [(rng.randrange(0, 3000 >> (n // 2)), n) for n in rng.sample(range(nodes), 2)]
        pairs.append((rng.randrange(0, 1000), claims.XEN_DOMCTL_CLAIM_MEMORY_HOST))
        xen.domain_set_claim_entries(d, claim_entries(xen, pairs))


def make_host(seed: int, semantics: str, nodes: int = 2) -> claims.Xen:
    """A random host of *nodes* nodes: dirty and clean memory, another domain's
    allocations and claims, offlined pages, and a guest with a random node affinity
    (every node, one, two or several) and maybe claims of its own."""
    rng = random.Random(seed)
    size = 8192 // nodes if nodes > 2 else 4096
    ranges = [range((1 << 14) + n * size, (1 << 14) + (n + 1) * size) for n in range(nodes)]
    xen = claims.Xen(ranges, semantics=semantics, max_order=rng.choice([9, 10, 12]))
    xen.debug_checks = False
    for r in ranges:
        cut = r.start + rng.randrange(0, size, 64)
        xen.init_heap_pages(r.start, cut - r.start, need_scrub=rng.random() < 0.3)
        xen.init_heap_pages(cut, r.stop - cut, need_scrub=rng.random() < 0.3)
    if rng.random() < 0.5:
        xen.scrub()
    other = xen.domain_create()
    for _ in range(rng.randrange(0, 30)):
        flags = rng.choice([claims.MEMF_node(rng.randrange(nodes)), 0])
        xen.alloc_domheap_pages(other, rng.choice([0, 0, 3, 6]), flags)
    for _ in range(rng.randrange(0, 4) if rng.random() < 0.5 else 0):
        xen.offline_page(rng.choice(ranges[rng.randrange(nodes)]))
    affinity = rng.choice([None, 1, 2, nodes])
    guest = xen.domain_create(
        max_pages=rng.choice([1 << 20, 3000, 5000]),
        node_affinity=None if affinity is None else rng.sample(range(nodes), affinity),
    )
    if rng.random() >= 0.35:  # else no claim of its own: the bulk path asks the gates once
        claim_some(xen, guest, rng, nodes)
    if rng.random() < 0.5:  # another domain claims too
        claim_some(xen, other, rng, nodes)
    return xen


def events(xen: claims.Xen, since: int) -> list[tuple[object, ...]]:
    return [(e.op, e.args, e.result, e.info, e.top) for e in xen.events.since(since)]


def populate_both(
    a: claims.Xen, b: claims.Xen, rng: random.Random, nodes: int, calls: int = 3
) -> None:
    """The same populate calls on both hosts, with a node, an exact node or none."""
    guest = max(a.domains)
    for _ in range(calls):
        order = rng.choice([0, 2, 4, 9])
        nr = rng.randrange(1, 400)
        node = rng.randrange(nodes)
        flags = rng.choice([XENMEMF_node(node), XENMEMF_exact_node(node), 0, 0])
        gfn0 = rng.randrange(0, 1 << 20) << order
        gfns = [gfn0 + (i << order) for i in range(nr)]
        if rng.random() < 0.1:
            gfns[rng.randrange(nr)] += 1  # a misaligned frame stops both paths at the same place
        try:
            da = a.do_memory_op_populate_physmap(DOM0, guest, nr, order, flags, gfns)
        except XenBugError as e:
            da = repr(e)  # type: ignore[assignment]
        try:
            db = b.do_memory_op_populate_physmap(DOM0, guest, nr, order, flags, gfns)
        except XenBugError as e:
            db = repr(e)  # type: ignore[assignment]
        assert da == db


@pytest.mark.parametrize("semantics", SEMANTICS)
@pytest.mark.parametrize("seed", range(16))
@pytest.mark.parametrize("nodes", [2, 4])
def test_bulk_equals_loop(seed: int, semantics: str, nodes: int) -> None:
    """With a node, an exact node or none (round robin over 1, 2 or several nodes of
    the guest's affinity), with and without claims: bulk and loop agree on all."""
    rng = random.Random(1000 + seed)
    a, b = make_host(seed, semantics, nodes), make_host(seed, semantics, nodes)
    b.bulk_populate = False
    assert a.state() == b.state()
    n0 = len(a.events)
    populate_both(a, b, rng, nodes)
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
