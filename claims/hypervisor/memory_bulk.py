"""The bulk path of ``populate_physmap``: many extents, the same result as the loop.

When one allocation of a populate splits a clean block of order ``K`` into
halves, the next ``2**(K-k) - 1`` extents of order ``k`` come, one by one,
from those halves in descending address order, as long as nothing else could
be picked first.  This module takes that run in one go: it checks, extent by
extent, the same gates Xen checks (host-wide and per-node, through the rule
set), redeems claims the same way, records the same events, and rewrites the
free lists of the split block once at the end instead of after every extent.

It applies only where that reasoning holds, which :func:`bulk_run_possible`
checks; everywhere else ``populate_physmap`` runs its per-extent loop.  A
randomised test (``tests/test_bulk.py``) proves both give the same MFNs, p2m,
counters, claims and events.
"""

from __future__ import annotations

from .constants import (
    INVALID_DIRTY_IDX,
    NUMA_NO_NODE,
    MEMF_exact_node,
    MEMF_get_node,
    MEMF_keep_scrub,
    MEMF_no_icache_flush,
    MEMF_no_owner,
    MEMF_no_refcount,
    MEMF_no_scrub,
    MEMF_no_tlbflush,
)
from .events import AllocRun, Event
from .page_alloc import HeapCore, InUse
from .sched import Domain

# memflags the bulk path understands; any other flag sends populate to the loop
BULK_FLAGS = (
    MEMF_exact_node
    | MEMF_no_tlbflush
    | MEMF_no_icache_flush
    | MEMF_no_scrub
    | MEMF_keep_scrub
    | (0xFF << 16)
)


def bulk_run_possible(
    xen: HeapCore, d: Domain, order: int, memflags: int, first: Event, run: int
) -> tuple[int, int, int, int] | None:
    """``(node, zone, base, from_order)`` if the extents after *first* may be taken in bulk."""
    if run <= 0 or xen.debug_checks or xen.dma_bitsize or memflags & ~BULK_FLAGS:
        return None
    if xen._pgstate:
        # offlined or offlining pages: the loop checks each extent (docs/heap.md#alloc-heap-pages
        # step 9)
        return None
    if memflags & (MEMF_no_refcount | MEMF_no_owner):
        return None
    node = MEMF_get_node(memflags)
    info = first.info
    if node == NUMA_NO_NODE or first.result is None or info.get("node") != node:
        return None  # round robin, or served elsewhere: the loop decides
    if "attempts" in info or info.get("scrubbed") or info.get("dirty"):
        return None
    k, big = order, info["from_order"]
    if big <= k:
        return None
    zone = info["zone"]
    mfn = first.result
    base = mfn - (1 << big) + (1 << k)  # the split block was [base, base + 2**big)
    # nothing but the halves of the split block may be reachable by the scan
    zmin, zmax = xen._node_zones[node]
    for z in range(zone + 1, zmax + 1):
        for j in range(k, xen.max_order + 1):
            if xen._heap.get((node, z, j)):
                return None
    left = (mfn - base) >> k  # units of 2**k still free below the first extent
    for j in range(k, big):
        lst = xen._heap.get((node, zone, j))
        want = 1 if left >> (j - k) & 1 else 0
        if len(lst or ()) != want:
            return None
        if want:
            head = next(iter(lst))  # type: ignore[arg-type]
            if xen._free[head].first_dirty != INVALID_DIRTY_IDX:
                return None
    if d.is_dying or d.domain_tot_pages() + (run << k) > d.max_pages:
        return None
    return node, zone, base, big


def _gates_pass_throughout(
    xen: HeapCore, d: Domain, node: int, k: int, memflags: int, n: int
) -> bool:
    """True if all *n* extents of a run pass the gates and redeem nothing.

    With no claim of its own, the domain redeems nothing (docs/redemption.md#redemption), so through
    the run only the free counters change, and they only drop.  The gates of
    every version are monotone in the free counters (``page_alloc.RuleSet``),
    so if the last extent passes them, every extent does: ask the rule set
    about the last one, with the counters it would see.
    """
    if d.outstanding_pages:
        return False
    taken = (n - 1) << k
    xen.node_avail_pages[node] -= taken
    xen.total_avail_pages -= taken
    try:
        rules = xen.rules
        size = 1 << k
        return rules.host_gate(xen, d, size, memflags) and rules.node_gate(
            xen, node, k, memflags, d
        )
    finally:
        xen.node_avail_pages[node] += taken
        xen.total_avail_pages += taken


def _decomposition(base: int, units: int, k: int) -> list[tuple[int, int]]:
    """The free blocks the sequential splits leave of ``[base, base + units * 2**k)``."""
    out = []
    addr = base
    for bit in range(units.bit_length() - 1, -1, -1):
        if units >> bit & 1:
            out.append((addr, k + bit))
            addr += 1 << (k + bit)
    return out


def bulk_run(
    xen: HeapCore,
    d: Domain,
    order: int,
    memflags: int,
    where: tuple[int, int, int, int],
    gpfns: list[int],
    mfns: list[int],
) -> int:
    """Take up to ``len(gpfns)`` extents from the split block; return how many."""
    node, zone, base, _big = where
    k = order
    size = 1 << k
    top = mfns[-1]  # the first extent of the block, already allocated
    units = (top - base) >> k
    old = _decomposition(base, units, k)
    rules = xen.rules
    avail = xen.avail[node]
    log = xen.events
    run = AllocRun(
        {"d": d.domid, "order": k, "memflags": memflags},
        (1, xen.nr_zones - 1),
        node,
        zone,
        k,
        base,
        units,
        len(log),
        xen._counter_values(),
    )
    seq = xen._seq
    inuse = xen._inuse
    node_avail = xen.node_avail_pages
    host_gate, node_gate, redeem = rules.host_gate, rules.node_gate, rules.redeem
    # frames in one ascending stride of 2**k, all unmapped: check once for the run
    n = min(len(gpfns), units)
    strided = (
        n > 0
        and not gpfns[0] & (size - 1)
        and gpfns[:n] == list(range(gpfns[0], gpfns[0] + n * size, size))
    )
    free_run = strided and not d.p2m.overlaps_range(gpfns[0], gpfns[0] + n * size)
    done = 0
    if free_run and _gates_pass_throughout(xen, d, node, k, memflags, n):
        # no claim to redeem and every gate passes: only the counters move
        for _ in range(n):
            units -= 1
            seq += 1
            inuse[base + (units << k)] = InUse(k, d, seq)
        done = n
        node_avail[node] -= n << k
        xen.total_avail_pages -= n << k
    else:
        for gpfn in gpfns[:n]:
            if not free_run and (gpfn & (size - 1) or d.p2m.overlaps(gpfn, k)):
                break
            if not host_gate(xen, d, size, memflags) or not node_gate(xen, node, k, memflags, d):
                break
            units -= 1
            redeemed = redeem(xen, d, node, size, memflags)
            node_avail[node] -= size
            xen.total_avail_pages -= size
            seq += 1
            mfn = base + (units << k)
            inuse[mfn] = InUse(k, d, seq)
            if redeemed:
                run.redeemed(done, redeemed, xen._counter_values())
            if not free_run:
                d.p2m.add(gpfn, mfn, k, True)
            done += 1
    avail[zone] -= done << k
    d.tot_pages += done << k
    log._extend([run] * done)  # a step's event is built when first read
    taken = range(top - size, top - (done + 1) * size, -size)  # the MFNs, descending
    if free_run:
        d.p2m.add_run(gpfns[:done], list(taken), k)
    mfns.extend(taken)
    xen._seq = seq
    if done:
        d.last_alloc_node = node
    # the free lists of the split block: what the splits would have left
    for addr, _o in old:
        xen._unlink(addr)
    for addr, o in _decomposition(base, units, k):
        xen.page_list_add_scrub(addr, node, zone, o, INVALID_DIRTY_IDX)
    return done
