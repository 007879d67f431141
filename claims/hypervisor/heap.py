"""page_alloc.c's heap calls, with their argument checks: ``claims.Xen`` binds them as methods.

Setting a host's heap up (``init_heap``), handing memory to it
(``init_heap_pages``), ``alloc_heap_pages`` and ``free_heap_pages``, and what
page_alloc.c answers about its state (``avail_heap_pages``,
``avail_node_heap_pages``, ``get_outstanding_claims``, the free lists, page
states), with the heap's own invariants.  Each function checks its
arguments first (a bad one raises ``TypeError``/``ValueError`` and changes
nothing), then runs the steps of ``HeapCore`` (``claims.hypervisor.page_alloc``).

Page state is sparse: free memory is a dict of free buddy heads, allocated
memory a dict of allocated blocks, and per-page bits (``PGC_need_scrub``,
offlining) are runs or small dicts.  Memory and time grow with the number of
free blocks and of touched pages, never with the host's page count.  The
rules: ``docs/heap.md``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from .constants import (
    BITS_PER_LONG,
    INVALID_DIRTY_IDX,
    MAX_NUMNODES_X86,
    MAX_ORDER_X86,
    MEMF_ALL,
    MEMZONE_XEN,
    NR_ZONES_X86,
    NUMA_NO_NODE,
    PAGE_SHIFT,
    MEMF_keep_scrub,
    MEMF_no_scrub,
)
from .domain import check_domain
from .errors import InvariantError
from .events import AllocInfo, EventLog
from .page_alloc import (
    PG_BROKEN,
    PG_OFFLINED,
    PG_OFFLINING,
    FreeBlock,
    HeapCore,
    InUse,
    flsl,
)
from .page_alloc import bits_to_zone as _bits_to_zone
from .rangeset import RangeSet
from .sched import Domain
from .validate import check_int, check_order

NodeRange = range | tuple[int, int]
NodeSpec = NodeRange | Sequence[NodeRange]


# memflags that need a closer look: undefined bits, and MEMF_keep_scrub
MEMF_SUSPECT = ~MEMF_ALL | MEMF_keep_scrub


def init_heap(
    xen: HeapCore,
    nodes: Sequence[NodeSpec],
    *,
    max_order: int = MAX_ORDER_X86,
    nr_zones: int = NR_ZONES_X86,
    max_numnodes: int = MAX_NUMNODES_X86,
    dma_bitsize: int | str = 0,
) -> None:
    """Set up the heap of a new host: its memory map, zones, counters, empty free lists.

    As ``init_node_heap`` and ``end_boot_allocator`` leave it, before any
    memory is handed over (``init_heap_pages``).  ``docs/heap.md#zones``.
    """
    check_int("max_order", max_order, 0, 30)
    check_int("nr_zones", nr_zones, 2, 64)
    check_int("max_numnodes", max_numnodes, 1, NUMA_NO_NODE - 1)
    xen.max_order = max_order
    xen.nr_zones = nr_zones
    xen.max_numnodes = max_numnodes
    xen.node_ranges = parse_nodes(xen, nodes)
    xen.nr_nodes = len(xen.node_ranges)
    xen.node_online_map = (1 << xen.nr_nodes) - 1
    starts: list[tuple[int, int, int]] = sorted(
        (s, e, n) for n, rs in enumerate(xen.node_ranges) for s, e in rs
    )
    for (_s0, e0, n0), (s1, _e1, n1) in zip(starts, starts[1:]):
        if s1 < e0:
            raise ValueError(f"node {n1} range starting at MFN {s1:#x} overlaps node {n0}")
    xen._map_s = [s for s, _, _ in starts]
    xen._map = starts
    xen.dma_bitsize = parse_dma_bitsize(xen, dma_bitsize)
    # the top zone of a request without MEMF_bits
    xen._zone_hi_any = min(bits_to_zone(BITS_PER_LONG + PAGE_SHIFT), nr_zones - 1)
    # (zone_lo, zone_hi) pairs as recorded in events, one shared tuple per pair
    xen._zone_pairs = {}
    xen._node_zones = [
        (page_to_zone(rs[0][0]), page_to_zone(rs[-1][1] - 1)) if rs else (1, 0)
        for rs in xen.node_ranges
    ]
    nn = xen.nr_nodes
    # counters (docs/heap.md#counters)
    xen.avail = [[0] * nr_zones for _ in range(nn)]
    xen.node_avail_pages = [0] * nn
    xen.total_avail_pages = 0
    xen.node_need_scrub = [0] * nn
    xen.outstanding_claims = 0
    xen.claimed_pages = [0] * nn
    # free lists per (node, zone, order): clean at the head, dirty at the tail
    xen._heap = {}
    xen._free = {}
    xen._inuse = {}
    xen._pgstate = {}
    xen.page_offlined_list = OrderedDict()
    xen.page_broken_list = OrderedDict()
    xen._dirty = RangeSet()  # PGC_need_scrub, per page
    xen._in_heap = RangeSet()  # MFNs handed to the heap by init_heap_pages
    xen.need_scrub_leaked = [0] * nn  # online_page() quirk, docs/offlining.md#online-page
    xen._gate_skipped = []
    xen._rotated = []  # dirty buddies passed over
    xen.cpu_node = 0  # cpu_to_node(smp_processor_id()) for domain-less requests
    xen._seq = 0
    xen.domains = {}
    xen.events = EventLog()
    xen.bulk_populate = True


def parse_nodes(xen: HeapCore, nodes: Sequence[NodeSpec]) -> list[list[tuple[int, int]]]:
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Sequence):
        raise TypeError("nodes must be a sequence with one memory map per NUMA node")
    if not 1 <= len(nodes) <= xen.max_numnodes:
        raise ValueError(f"a host has 1..{xen.max_numnodes} nodes (MAX_NUMNODES), not {len(nodes)}")
    limit = 1 << (xen.nr_zones - 1)
    out: list[list[tuple[int, int]]] = []
    for n, spec in enumerate(nodes):
        if is_range(spec):
            ranges: list[object] = [spec]
        elif isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
            ranges = list(spec)
        else:
            raise TypeError(
                f"node {n}: a memory map is a memory range (range(start, stop) or a "
                f"(start, stop) pair) or a list of them, not {spec!r}"
            )
        parsed: list[tuple[int, int]] = []
        for r in ranges:
            if isinstance(r, range):
                if r.step != 1:
                    raise ValueError(f"node {n}: range {r!r} must have step 1")
                s, e = r.start, r.stop
            elif is_range(r):
                s, e = r  # type: ignore[misc]
            else:
                raise TypeError(
                    f"node {n}: a memory range is a range(start, stop) or a (start, stop) "
                    f"pair, not {r!r}"
                )
            check_int(f"node {n} range start", s, 0, limit)
            check_int(f"node {n} range end", e, s, limit)
            if e > s:
                parsed.append((s, e))
        out.append(sorted(parsed))
    return out


def is_range(r: object) -> bool:
    return isinstance(r, range) or (
        isinstance(r, tuple) and len(r) == 2 and all(isinstance(x, int) for x in r)
    )


def node_map(xen: HeapCore, node: int) -> list[tuple[int, int]]:
    # a node id below MAX_NUMNODES without memory reads as empty (NODE_DATA zeroed)
    check_int("node", node, 0, xen.max_numnodes - 1)
    return xen.node_ranges[node] if node < xen.nr_nodes else []


def node_start_pfn(xen: HeapCore, node: int) -> int:
    rs = node_map(xen, node)
    return rs[0][0] if rs else 0


def node_spanned_pages(xen: HeapCore, node: int) -> int:
    rs = node_map(xen, node)
    return rs[-1][1] - rs[0][0] if rs else 0


def node_present_pages(xen: HeapCore, node: int) -> int:
    return sum(e - s for s, e in node_map(xen, node))


def parse_dma_bitsize(xen: HeapCore, spec: int | str) -> int:
    # dma_bits= (docs/heap.md#zones): an int, 0 for none, or "x86" for the default
    # that end_boot_allocator() picks on hosts with more than one node.
    if spec == "x86":
        if xen.nr_nodes <= 1:
            return 0
        for n in range(xen.nr_nodes):
            start = node_start_pfn(xen, n)
            if node_spanned_pages(xen, n) and not start >> (32 - PAGE_SHIFT):
                end = start + node_spanned_pages(xen, n) // 4 - 1
                return min(flsl(end) + PAGE_SHIFT, 32)
        raise ValueError("dma_bitsize='x86' needs a node with memory below 4 GiB")
    if isinstance(spec, str):
        raise ValueError(f"dma_bitsize must be an int or 'x86', not {spec!r}")
    return check_int("dma_bitsize", spec, 0, 64)


def mfn_to_nid(xen: HeapCore, mfn: int) -> int | None:
    """The node whose memory map holds *mfn*, or ``None`` (a hole)."""
    if type(mfn) is not int:
        check_int("mfn", mfn)  # a bool or float is no MFN
    return xen._mfn_to_nid(mfn)


def mfn_valid(xen: HeapCore, mfn: int) -> bool:
    return mfn_to_nid(xen, mfn) is not None


def page_to_zone(mfn: int) -> int:
    """``page_to_zone``: the MFN's bit length, at least 1 (docs/heap.md#zones)."""
    if type(mfn) is not int:
        check_int("mfn", mfn)
    return mfn.bit_length() or 1


def bits_to_zone(bits: int) -> int:
    """``bits_to_zone(b)`` (docs/heap.md#zones)."""
    if type(bits) is not int:
        check_int("bits", bits)
    return _bits_to_zone(bits)


def heap(xen: HeapCore, node: int, zone: int, order: int) -> list[int]:
    """``heap(node, zone, order)``: the free list's heads, head first."""
    check_int("node", node, 0)
    check_int("zone", zone, 0)
    check_int("order", order, 0)
    return list(xen._heap.get((node, zone, order), ()))


def find_free_head(xen: HeapCore, mfn: int) -> int | None:
    """Head of the free buddy that holds *mfn*, or ``None``."""
    if type(mfn) is not int:
        check_int("mfn", mfn)
    return xen._find_free_head(mfn)


def find_inuse_head(xen: HeapCore, mfn: int) -> int | None:
    """Head of the allocated block that holds *mfn*, or ``None``."""
    if type(mfn) is not int:
        check_int("mfn", mfn)
    return xen._find_inuse_head(mfn)


def init_heap_pages(xen: HeapCore, mfn: int, nr: int, need_scrub: bool = False) -> int:
    """Hand MFNs ``[mfn, mfn+nr)`` to the heap as Xen does (docs/heap.md#init-heap-pages).

    Greedy naturally aligned chunks of at most ``MAX_ORDER``, each freed
    through ``free_heap_pages`` (so they merge); MFN 0 is never added.
    Returns the number of pages added.
    """
    check_int("mfn", mfn, 0)
    check_int("nr", nr, 0)
    if not isinstance(need_scrub, bool):
        raise TypeError("need_scrub must be a bool")
    check_in_nodes(xen, mfn, nr)
    if xen._in_heap.overlaps(mfn, mfn + nr):
        first = next(xen._in_heap.runs(mfn, mfn + nr))
        raise ValueError(
            f"init_heap_pages: MFNs {first[0]:#x}..{first[1] - 1:#x} are already in the heap"
        )
    for m, f in xen._pgstate.items():
        if mfn <= m < mfn + nr and f & PG_OFFLINED:
            raise ValueError(f"init_heap_pages: MFN {m:#x} is offlined")
    args = {"mfn": mfn, "nr": nr, "need_scrub": need_scrub}
    s, e = mfn, mfn + nr
    if s == 0 and e > 0:
        s = 1  # keep MFN 0 out of the buddy allocator (docs/heap.md#init-heap-pages step 1)
    chunks = 0
    while s < e:
        node = mfn_to_nid(xen, s)
        assert node is not None
        run_end = min(e, node_run_end(xen, s))
        xen._in_heap.add(s, run_end)
        chunks += xen._init_node_run(s, run_end, need_scrub)
        s = run_end
    added = max(0, e - max(mfn, 1 if mfn == 0 else mfn))
    xen.events.record("init_heap_pages", args, added, chunks=chunks, **xen._counters())
    return added


def node_run_end(xen: HeapCore, mfn: int) -> int:
    i = bisect_right(xen._map_s, mfn) - 1
    s, e, n = xen._map[i]
    # extend across adjacent ranges of the same node
    while i + 1 < len(xen._map) and xen._map[i + 1][0] == e and xen._map[i + 1][2] == n:
        i += 1
        e = xen._map[i][1]
    return e


def check_in_nodes(xen: HeapCore, mfn: int, nr: int) -> None:
    m, end = mfn, mfn + nr
    while m < end:
        i = bisect_right(xen._map_s, m) - 1
        if i < 0 or m >= xen._map[i][1]:
            raise ValueError(f"MFN {m:#x} is outside every node's memory map")
        m = xen._map[i][1]


def free_heap_pages(xen: HeapCore, mfn: int, order: int, need_scrub: bool = False) -> None:
    """Free an allocated, aligned block and merge it (docs/heap.md#free-heap-pages).

    Refuses (``ValueError``, nothing changed) a block that is not wholly
    allocated from the heap: a double free, a hole, a misaligned head.
    """
    check_int("mfn", mfn, 0)
    check_order(order, xen.max_order)
    if not isinstance(need_scrub, bool):
        raise TypeError("need_scrub must be a bool")
    for rec in xen._take_inuse(mfn, order, dry_run=True):
        if rec.owner is not None:
            raise ValueError(
                f"block {mfn:#x} order {order} holds pages of d{rec.owner.domid}: "
                "free them with free_domheap_pages"
            )
    xen._take_inuse(mfn, order)
    node = mfn_to_nid(xen, mfn)
    xen._free_heap_pages(mfn, order, need_scrub)
    xen.events.record(
        "free_heap_pages",
        {"mfn": mfn, "order": order, "need_scrub": need_scrub},
        None,
        node=node,
        **xen._counters(),
    )


def alloc_heap_pages(
    xen: HeapCore,
    zone_lo: int,
    zone_hi: int,
    order: int,
    memflags: int = 0,
    d: Domain | None = None,
) -> int | None:
    """Allocate ``2**order`` pages (docs/heap.md#alloc-heap-pages); the head MFN or ``None``."""
    check_alloc_args(xen, order, memflags, d)
    check_int("zone_lo", zone_lo, 0, xen.nr_zones - 1)
    check_int("zone_hi", zone_hi, zone_lo, xen.nr_zones - 1)
    mfn, info = xen._alloc_heap_pages(zone_lo, zone_hi, order, memflags, d)
    record_alloc(xen, "alloc_heap_pages", d, order, memflags, mfn, info)
    return mfn


def check_alloc_args(xen: HeapCore, order: int, memflags: int, d: Domain | None) -> None:
    if type(order) is not int or type(memflags) is not int or order < 0 or memflags < 0:
        check_int("order", order, 0)
        check_int("memflags", memflags, 0)
    if memflags & MEMF_SUSPECT:
        check_memflags(memflags)
    if d is not None:
        check_domain(xen, d)


def check_memflags(memflags: int) -> None:
    if memflags & ~MEMF_ALL:
        raise ValueError(f"memflags {memflags:#x} has bits no MEMF_ flag defines")
    if memflags & MEMF_keep_scrub and not memflags & MEMF_no_scrub:
        raise ValueError("MEMF_keep_scrub is only valid together with MEMF_no_scrub")


def record_alloc(
    xen: HeapCore,
    op: str,
    d: Domain | None,
    order: int,
    memflags: int,
    mfn: int | None,
    info: AllocInfo | dict[str, Any],
) -> None:
    domid = d.domid if d else None
    xen.events.record_alloc(op, domid, order, memflags, mfn, info, xen._flat_counters())


def avail_heap_pages(xen: HeapCore, zone_lo: int, zone_hi: int, node: int = -1) -> int:
    """``avail_heap_pages``: free pages in zones ``zone_lo..zone_hi`` (docs/heap.md#counters)."""
    check_int("zone_lo", zone_lo, 0)
    check_int("zone_hi", zone_hi, 0)
    check_int("node", node, -1)
    zone_hi = min(zone_hi, xen.nr_zones - 1)
    return sum(
        sum(xen.avail[n][zone_lo : zone_hi + 1])
        for n in range(xen.nr_nodes)
        if node == -1 or node == n
    )


def avail_node_heap_pages(xen: HeapCore, node: int) -> int:
    """``avail_node_heap_pages``: ``node_avail_pages[node]``, 0 off-line."""
    check_int("node", node)
    return xen.node_avail_pages[node] if 0 <= node < xen.nr_nodes else 0


def get_outstanding_claims(xen: HeapCore) -> tuple[int, int]:
    """``(free_pages, outstanding_pages)`` as physinfo reports them (docs/heap.md#counters)."""
    return avail_heap_pages(xen, MEMZONE_XEN + 1, xen.nr_zones - 1), xen.outstanding_claims


def free_blocks(xen: HeapCore, node: int | None = None) -> Iterator[tuple[int, FreeBlock]]:
    """Free buddies ``(head, block)`` in list order, per node, zone and order."""
    if node is not None:
        check_int("node", node, 0)
    for (n, _z, _o), lst in sorted(xen._heap.items()):
        if node is None or n == node:
            for mfn in lst:
                yield mfn, xen._free[mfn]


def allocated_blocks(xen: HeapCore) -> Iterator[tuple[int, InUse]]:
    """Allocated blocks ``(head, record)`` in address order."""
    for mfn in sorted(xen._inuse):
        yield mfn, xen._inuse[mfn]


def dirty_runs(
    xen: HeapCore, start: int | None = None, end: int | None = None
) -> list[tuple[int, int]]:
    """Runs of pages with ``PGC_need_scrub`` set."""
    if start is not None:
        check_int("start", start)
    if end is not None:
        check_int("end", end)
    return list(xen._dirty.runs(start, end))


def page_state(xen: HeapCore, mfn: int) -> str:
    """``'free'``, ``'inuse'``, ``'offlining'``, ``'offlined'`` or ``'reserved'``."""
    check_int("mfn", mfn)
    f = xen._pgstate.get(mfn, 0)
    if f & PG_OFFLINED:
        return "offlined"
    if f & PG_OFFLINING:
        return "offlining"
    if find_free_head(xen, mfn) is not None:
        return "free"
    if find_inuse_head(xen, mfn) is not None:
        return "inuse"
    if not mfn_valid(xen, mfn):
        return "invalid"
    return "reserved"


def buddyinfo(xen: HeapCore, zone: int | None = None) -> list[list[int]]:
    """Free blocks per node and order (``/proc/buddyinfo``)."""
    if zone is not None:
        check_int("zone", zone, 0)
    out = [[0] * (xen.max_order + 1) for _ in range(xen.nr_nodes)]
    for (n, z, o), lst in xen._heap.items():
        if zone is None or z == zone:
            out[n][o] += len(lst)
    return out


def heap_state(xen: HeapCore) -> dict[str, Any]:
    """Everything the heap holds, as plain values: equal states are equal hosts."""
    return {
        "avail": [list(a) for a in xen.avail],
        "node_avail_pages": list(xen.node_avail_pages),
        "total_avail_pages": xen.total_avail_pages,
        "node_need_scrub": list(xen.node_need_scrub),
        "outstanding_claims": xen.outstanding_claims,
        "claimed_pages": list(xen.claimed_pages),
        "lists": {k: list(v) for k, v in xen._heap.items() if v},
        "free": {m: (b.order, b.node, b.first_dirty) for m, b in xen._free.items()},
        "inuse": {
            m: (r.order, r.owner.domid if r.owner else None, r.seq, r.extra, r.xen_heap)
            for m, r in xen._inuse.items()
        },
        "pgstate": dict(xen._pgstate),
        "offlined": list(xen.page_offlined_list),
        "broken": list(xen.page_broken_list),
        "dirty": list(xen._dirty.runs()),
        "in_heap": list(xen._in_heap.runs()),
        "need_scrub_leaked": list(xen.need_scrub_leaked),
    }


def _where(mfn: int, node: int, zone: int, order: int) -> str:
    """How ``check_heap_invariants`` names a free block in its messages."""
    return f"free block {mfn:#x} on heap({node}, {zone}, {order})"


def check_heap_invariants(xen: HeapCore) -> None:
    """Check the heap's own invariants; raise ``InvariantError`` naming the first broken one."""
    avail = [[0] * xen.nr_zones for _ in range(xen.nr_nodes)]
    seen = 0
    spans: list[tuple[int, int, str]] = []
    dirty_pages = xen._dirty
    any_dirty = bool(dirty_pages)  # (with no dirty page, no block can hold one)
    free = xen._free
    for (node, zone, order), lst in xen._heap.items():
        clean_done = False
        size = 1 << order
        for pos, mfn in enumerate(lst):
            blk = free.get(mfn)
            if blk is None or blk.order != order or blk.node != node:
                raise InvariantError(
                    f"{_where(mfn, node, zone, order)}: list and block record disagree ({blk!r})"
                )
            if mfn & (size - 1):
                raise InvariantError(f"{_where(mfn, node, zone, order)}: not aligned to its order")
            if mfn == 0 or xen._range_node(mfn, size) != node:
                raise InvariantError(f"{_where(mfn, node, zone, order)}: not inside node {node}")
            if page_to_zone(mfn) != zone or page_to_zone(mfn + size - 1) != zone:
                raise InvariantError(f"{_where(mfn, node, zone, order)}: crosses zone {zone}")
            if blk.first_dirty != INVALID_DIRTY_IDX:
                clean_done = True
                if blk.first_dirty >= size:
                    raise InvariantError(
                        f"{_where(mfn, node, zone, order)}: first_dirty {blk.first_dirty} >= size"
                    )
                if (
                    any_dirty
                    and blk.first_dirty
                    and dirty_pages.overlaps(mfn, mfn + blk.first_dirty)
                ):
                    raise InvariantError(
                        f"{_where(mfn, node, zone, order)}: dirty page before first_dirty"
                    )
            else:
                if clean_done:
                    raise InvariantError(
                        f"{_where(mfn, node, zone, order)}: clean block after a dirty one "
                        f"(pos {pos})"
                    )
                if any_dirty and dirty_pages.overlaps(mfn, mfn + size):
                    raise InvariantError(
                        f"{_where(mfn, node, zone, order)}: clean block holds dirty pages"
                    )
            avail[node][zone] += size
            seen += 1
            spans.append((mfn, mfn + size, "free"))
    if seen != len(xen._free):
        raise InvariantError(f"{len(xen._free)} free blocks recorded, {seen} on free lists")
    if avail != xen.avail:
        for n in range(xen.nr_nodes):
            for z in range(xen.nr_zones):
                if avail[n][z] != xen.avail[n][z]:
                    raise InvariantError(
                        f"avail[{n}][{z}] = {xen.avail[n][z]} but its free lists hold "
                        f"{avail[n][z]} pages"
                    )
    for n in range(xen.nr_nodes):
        if xen.node_avail_pages[n] != sum(xen.avail[n]):
            raise InvariantError(
                f"node_avail_pages[{n}] = {xen.node_avail_pages[n]} != "
                f"sum(avail[{n}]) = {sum(xen.avail[n])}"
            )
    if xen.total_avail_pages != sum(xen.node_avail_pages):
        raise InvariantError(
            f"total_avail_pages = {xen.total_avail_pages} != "
            f"sum(node_avail_pages) = {sum(xen.node_avail_pages)}"
        )
    for mfn, rec in xen._inuse.items():
        size = 1 << rec.order
        if mfn & (size - 1):
            raise InvariantError(f"allocated block {mfn:#x} not aligned to order {rec.order}")
        spans.append((mfn, mfn + size, "inuse"))
    for mfn, f in xen._pgstate.items():
        if f & PG_OFFLINED:
            if mfn not in xen.page_offlined_list and mfn not in xen.page_broken_list:
                # marked offline inside a free buddy, not yet reserved
                # (docs/offlining.md#offline-page)
                if find_free_head(xen, mfn) is None:
                    raise InvariantError(f"offlined MFN {mfn:#x} is on no offline list")
                continue
            spans.append((mfn, mfn + 1, "offlined"))
            lst = xen.page_broken_list if f & PG_BROKEN else xen.page_offlined_list
            other = xen.page_offlined_list if f & PG_BROKEN else xen.page_broken_list
            if mfn not in lst and mfn not in other:
                raise InvariantError(f"offlined MFN {mfn:#x} is on no offline list")
    spans.sort()
    for (s0, e0, k0), (s1, _e1, k1) in zip(spans, spans[1:]):
        if s1 < e0:
            raise InvariantError(f"{k0} {s0:#x}..{e0 - 1:#x} overlaps {k1} at {s1:#x}")
    # the spans are disjoint (checked above): a run of adjacent ones lies inside the heap's
    # memory if and only if each of them does, so runs are counted, and a run that is not
    # inside is searched for its first span that is not
    in_heap = xen._in_heap
    i = 0
    while i < len(spans):
        j, end = i + 1, spans[i][1]
        while j < len(spans) and spans[j][0] == end:
            end = spans[j][1]
            j += 1
        if in_heap.count(spans[i][0], end) != end - spans[i][0]:
            for s, e, _k in spans[i:j]:
                if in_heap.count(s, e) != e - s:
                    raise InvariantError(f"block {s:#x}..{e - 1:#x} lies outside the heap's memory")
        i = j
    # pages that need a scrub, per node: the leaked count, the dirty pages of free blocks,
    # and offlined pages already reserved that are dirty (offlined pages not yet reserved
    # are counted in their free block)
    want = list(xen.need_scrub_leaked)
    if any_dirty:
        for mfn, blk in free.items():
            if 0 <= blk.node < xen.nr_nodes:
                want[blk.node] += dirty_pages.count(mfn, mfn + (1 << blk.order))
        for mfn in xen._pgstate:
            reserved = mfn in xen.page_offlined_list or mfn in xen.page_broken_list
            if reserved and mfn in dirty_pages:
                nid = mfn_to_nid(xen, mfn)
                if nid is not None and 0 <= nid < xen.nr_nodes:
                    want[nid] += 1
    for n in range(xen.nr_nodes):
        if want[n] != xen.node_need_scrub[n]:
            raise InvariantError(
                f"node_need_scrub[{n}] = {xen.node_need_scrub[n]} but {want[n]} free or "
                f"offlined pages need a scrub"
            )
