"""The bulk path of ``populate_physmap``: many extents, the same result as the loop.

When a node's free blocks of order ``k`` or more (in the zone ``get_free_buddy``
reaches first) are each alone on their list and clean, the next extents of
order ``k`` it serves are known in advance: the smallest block first, each
split from its top down (``alloc_heap_pages`` keeps the lower halves), one
extent after another, until those blocks are used up.  That is the state
right after an allocation splits a big block, so it holds for almost every
extent of a large populate.

A populate asks either for a node (``XENMEMF_node``, ``XENMEMF_exact_node``),
which serves every extent while it has memory, or for none (``mem_flags`` 0,
what libxl's builder sends for a guest without vNUMA), and then
``get_free_buddy`` starts each extent at ``cycle_node(d->last_alloc_node)``:
the extents go round robin over the domain's node affinity.  This module
takes the run of extents in one go for both: it checks, extent by extent, the
same gates Xen checks (host-wide and per node, through the rule set), redeems
claims the same way, records the same events, and rewrites the free lists of
the blocks it used once at the end instead of after every extent.  The run
stops before the first extent whose node has no such block left, whose gates
refuse, whose frame is misaligned or mapped, or that ``assign_pages`` would
refuse; the per-extent loop takes that extent.

It applies only where that reasoning holds, which :func:`bulk_plan` checks;
everywhere else ``populate_physmap`` runs its per-extent loop.  A randomised
test (``tests/test_bulk.py``) proves both give the same MFNs, p2m, counters,
claims and events, with and without a node, under every rule set.
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
from .errors import XenBugError
from .events import AllocRun
from .page_alloc import HeapCore, InUse, cycle_node
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

Blocks = tuple[tuple[int, int], ...]


class BulkPlan:
    """Where the next extents of a populate come from: the nodes in turn, and on each
    node the zone and the blocks ``(addr, order)`` the walk takes, smallest order first."""

    __slots__ = ("nodes", "zones", "blocks", "steps")

    def __init__(
        self, nodes: tuple[int, ...], zones: tuple[int, ...], blocks: tuple[Blocks, ...], k: int
    ) -> None:
        self.nodes = nodes
        self.zones = zones
        self.blocks = blocks
        m = len(nodes)
        units = [sum(1 << (o - k) for _a, o in bl) for bl in blocks]
        # the run ends before the first step whose node has no block left
        self.steps = min(u * m + p for p, u in enumerate(units))


def bulk_nodes(xen: HeapCore, d: Domain, memflags: int) -> tuple[int, ...] | None:
    """The nodes ``get_free_buddy`` starts at for the next extents, in turn.

    With a node in *memflags*: that node, every time.  Without one: the
    domain's node affinity (within the online nodes), from
    ``cycle_node(d->last_alloc_node)`` round (xen/common/page_alloc.c,
    ``get_free_buddy``).  ``None`` where the walk would start past the host's
    nodes: the loop handles that.
    """
    node = MEMF_get_node(memflags)
    if node != NUMA_NO_NODE:
        return (node,) if node < xen.nr_nodes else None
    maxn = xen.max_numnodes
    nodemask = xen.node_online_map
    if nodemask & d.node_affinity_mask:
        nodemask &= d.node_affinity_mask
    start = cycle_node(d.last_alloc_node, nodemask, maxn)
    if start >= xen.nr_nodes:
        return None
    nodes = [start]
    nxt = cycle_node(start, nodemask, maxn)
    while nxt != start:
        if nxt >= xen.nr_nodes:
            return None  # an online-map bit past the host's nodes: the walk moves on
        nodes.append(nxt)
        nxt = cycle_node(nxt, nodemask, maxn)
    return tuple(nodes)


def node_blocks(xen: HeapCore, node: int, k: int) -> tuple[int, Blocks]:
    """The zone the walk takes an order-*k* extent from on *node*, and the blocks it
    will take them from in order: every block of order *k* or more in that zone,
    lowest order first, up to the first order whose list holds several blocks or a
    dirty one (the loop decides from there).  ``(0, ())`` if the node has none.
    """
    zmin, zmax = xen._node_zones[node]
    hi = min(xen._zone_hi_any, zmax)
    lo = max(1, zmin)
    heap, free, top = xen._heap, xen._free, xen.max_order
    avail = xen.avail[node]
    request = 1 << k
    for zone in range(hi, lo - 1, -1):
        if avail[zone] < request:
            continue
        lists = [heap.get((node, zone, j)) for j in range(k, top + 1)]
        if not any(lists):
            continue
        blocks: list[tuple[int, int]] = []
        for j, lst in enumerate(lists, k):
            if not lst:
                continue
            if len(lst) != 1:
                break
            head = next(iter(lst))
            if free[head].first_dirty != INVALID_DIRTY_IDX:
                break
            blocks.append((head, j))
        return zone, tuple(blocks)
    return 0, ()


def bulk_plan(xen: HeapCore, d: Domain, order: int, memflags: int) -> BulkPlan | None:
    """The plan of the next extents of a populate, if they may be taken in bulk."""
    if xen.debug_checks or xen.dma_bitsize or memflags & ~BULK_FLAGS:
        return None
    if xen._pgstate:
        # offlined or offlining pages: the loop checks each extent (docs/heap.md#alloc-heap-pages
        # step 9)
        return None
    if memflags & (MEMF_no_refcount | MEMF_no_owner) or d.is_dying:
        return None
    nodes = bulk_nodes(xen, d, memflags)
    if nodes is None:
        return None
    found = [node_blocks(xen, n, order) for n in nodes]
    plan = BulkPlan(nodes, tuple(z for z, _b in found), tuple(b for _z, b in found), order)
    return plan if plan.steps > 0 else None


def _gates_pass_throughout(
    xen: HeapCore, d: Domain, plan: BulkPlan, k: int, memflags: int, n: int
) -> bool:
    """True if all *n* steps of a run pass the gates and redeem nothing.

    With no claim of its own, the domain redeems nothing (docs/redemption.md#redemption), so
    through the run only the free counters change, and they only drop.  The
    gates of every version are monotone in the free counters
    (``page_alloc.RuleSet``), so if each node's last step passes them, every
    step does: ask the rule set about each node's last step, with the
    counters it would see.
    """
    if d.outstanding_pages:
        return False
    nodes, m, size = plan.nodes, len(plan.nodes), 1 << k
    rules = xen.rules
    node_avail = xen.node_avail_pages
    for p in range(min(m, n)):
        last = p + (n - 1 - p) // m * m  # the last step on nodes[p]
        taken = [((last - 1 - q) // m + 1 if last > q else 0) << k for q in range(m)]
        for q, node in enumerate(nodes):
            node_avail[node] -= taken[q]
        xen.total_avail_pages -= last << k
        try:
            ok = rules.host_gate(xen, d, size, memflags) and rules.node_gate(
                xen, nodes[p], k, memflags, d
            )
        except XenBugError:
            ok = False  # the loop raises it at the very step
        finally:
            for q, node in enumerate(nodes):
                node_avail[node] += taken[q]
            xen.total_avail_pages += last << k
        if not ok:
            return False
    return True


def _decomposition(base: int, units: int, k: int) -> list[tuple[int, int]]:
    """The free blocks the sequential splits leave of ``[base, base + units * 2**k)``."""
    out = []
    addr = base
    for bit in range(units.bit_length() - 1, -1, -1):
        if units >> bit & 1:
            out.append((addr, k + bit))
            addr += 1 << (k + bit)
    return out


def _node_mfns(blocks: Blocks, k: int, count: int) -> list[int]:
    """The first *count* MFNs a node's blocks give, each block from its top down."""
    size = 1 << k
    out: list[int] = []
    for addr, o in blocks:
        if len(out) >= count:
            break
        out.extend(range(addr + (1 << o) - size, addr - size, -size))
    del out[count:]
    return out


def bulk_run(
    xen: HeapCore,
    d: Domain,
    order: int,
    memflags: int,
    plan: BulkPlan,
    gpfns: list[int],
    mfns: list[int],
) -> int:
    """Take up to ``len(gpfns)`` extents as *plan* says; return how many."""
    nodes, zones = plan.nodes, plan.zones
    m, k = len(nodes), order
    size = 1 << k
    n = min(len(gpfns), plan.steps)
    tot = d.domain_tot_pages()  # assign_pages' limit: stop before the step it refuses
    n = min(n, (d.max_pages - tot) >> k) if tot <= d.max_pages else 0
    if n <= 0:
        return 0
    log = xen.events
    run = AllocRun(
        {"d": d.domid, "order": k, "memflags": memflags},
        (1, xen._zone_hi_any),
        nodes,
        zones,
        k,
        plan.blocks,
        len(log),
        xen._counter_values(),
    )
    # the MFNs of steps 0..n-1, node by node interleaved
    steps = [0] * n
    for p in range(min(m, n)):
        steps[p::m] = _node_mfns(plan.blocks[p], k, len(range(p, n, m)))
    seq = xen._seq
    inuse = xen._inuse
    node_avail = xen.node_avail_pages
    rules = xen.rules
    host_gate, node_gate, redeem = rules.host_gate, rules.node_gate, rules.redeem
    # frames in one ascending stride of 2**k, all unmapped: check once for the run
    strided = not gpfns[0] & (size - 1) and gpfns[:n] == list(
        range(gpfns[0], gpfns[0] + n * size, size)
    )
    free_run = strided and not d.p2m.overlaps_range(gpfns[0], gpfns[0] + n * size)
    if free_run and _gates_pass_throughout(xen, d, plan, k, memflags, n):
        # no claim to redeem and every gate passes: only the counters move
        for mfn in steps:
            seq += 1
            inuse[mfn] = InUse(k, d, seq)
        done = n
        for p, node in enumerate(nodes):
            node_avail[node] -= len(range(p, n, m)) << k
        xen.total_avail_pages -= n << k
        d.tot_pages += n << k
    else:
        done = 0
        for j in range(n):
            gpfn = gpfns[j]
            if not free_run and (gpfn & (size - 1) or d.p2m.overlaps(gpfn, k)):
                break
            node = nodes[j % m]
            try:
                if not host_gate(xen, d, size, memflags) or not node_gate(
                    xen, node, k, memflags, d
                ):
                    break
                redeemed = redeem(xen, d, node, size, memflags)
            except XenBugError:
                break  # raised before any change: the loop raises it again at this step
            node_avail[node] -= size
            xen.total_avail_pages -= size
            d.tot_pages += size
            seq += 1
            mfn = steps[j]
            inuse[mfn] = InUse(k, d, seq)
            if redeemed:
                run.redeemed(j, redeemed, xen._counter_values())
            if not free_run:
                d.p2m.add(gpfn, mfn, k, True)
            done += 1
    log._extend([run] * done)  # a step's event is built when first read
    del steps[done:]
    if free_run:
        d.p2m.add_run(gpfns[:done], steps, k)
    mfns.extend(steps)
    xen._seq = seq
    if done:
        d.last_alloc_node = nodes[(done - 1) % m]
    # the free lists of the blocks used: what the splits would have left
    for p, node in enumerate(nodes):
        used = len(range(p, done, m))
        if not used:
            continue
        zone = zones[p]
        xen.avail[node][zone] -= used << k
        for addr, o in plan.blocks[p]:
            if not used:
                break
            units = 1 << (o - k)
            xen._unlink(addr)
            if used < units:  # the block the node's run ended in: its lower part stays
                for a, bo in _decomposition(addr, units - used, k):
                    xen.page_list_add_scrub(a, node, zone, bo, INVALID_DIRTY_IDX)
                break
            used -= units
    return done
