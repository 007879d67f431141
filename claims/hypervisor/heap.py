"""The NUMA buddy heap of ``xen/common/page_alloc.c``, MFN for MFN.

Page state is sparse: free memory is a dict of free buddy heads, allocated
memory a dict of allocated blocks, and per-page bits (``PGC_need_scrub``,
offlining) are runs or small dicts.  Memory and time grow with the number of
free blocks and of touched pages, never with the host's page count.

``Heap`` is the public face: it sets the heap up and checks every argument;
the state and the steps an allocation or a free runs through are in
``claims.hypervisor.page_alloc.HeapCore`` (which ``tools/build_core.py`` can compile).

Section references are to ``page-allocator.md`` (PA) and ``claims-v7.md`` (CV).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

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
from .domain import Domain
from .errors import InvariantError
from .events import AllocInfo, Counters, EventLog, counters_from_flat
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
from .validate import check_int, check_order

if TYPE_CHECKING:
    from .rules import RuleSet

NodeRange = range | tuple[int, int]
NodeSpec = NodeRange | Sequence[NodeRange]


# memflags that need a closer look: undefined bits, and MEMF_keep_scrub
_MEMF_SUSPECT = ~MEMF_ALL | MEMF_keep_scrub


class Heap(HeapCore):
    """Xen's buddy heap: free lists, split, merge, the NUMA walk, scrubbing.

    The public calls check their arguments here, then run the steps of
    ``HeapCore``.  The claims gates and redemption are delegated to
    ``self.rules`` (a rule set of ``claims.rules``) at the places Xen has them.
    """

    rules: RuleSet

    def __init__(
        self,
        nodes: Sequence[NodeSpec],
        *,
        max_order: int = MAX_ORDER_X86,
        nr_zones: int = NR_ZONES_X86,
        max_numnodes: int = MAX_NUMNODES_X86,
        dma_bitsize: int | str = 0,
    ) -> None:
        check_int("max_order", max_order, 0, 30)
        check_int("nr_zones", nr_zones, 2, 64)
        check_int("max_numnodes", max_numnodes, 1, NUMA_NO_NODE - 1)
        self.max_order = max_order
        self.nr_zones = nr_zones
        self.max_numnodes = max_numnodes
        self.node_ranges = self._parse_nodes(nodes)
        self.nr_nodes = len(self.node_ranges)
        self.node_online_map = (1 << self.nr_nodes) - 1
        starts: list[tuple[int, int, int]] = sorted(
            (s, e, n) for n, rs in enumerate(self.node_ranges) for s, e in rs
        )
        for (_s0, e0, n0), (s1, _e1, n1) in zip(starts, starts[1:]):
            if s1 < e0:
                raise ValueError(f"node {n1} range starting at MFN {s1:#x} overlaps node {n0}")
        self._map_s = [s for s, _, _ in starts]
        self._map = starts
        self.dma_bitsize = self._dma_bitsize(dma_bitsize)
        # the top zone of a request without MEMF_bits
        self._zone_hi_any = min(self.bits_to_zone(BITS_PER_LONG + PAGE_SHIFT), nr_zones - 1)
        # (zone_lo, zone_hi) pairs as recorded in events, one shared tuple per pair
        self._zone_pairs: dict[int, tuple[int, int]] = {}
        self._node_zones = [
            (self.page_to_zone(rs[0][0]), self.page_to_zone(rs[-1][1] - 1)) if rs else (1, 0)
            for rs in self.node_ranges
        ]
        nn = self.nr_nodes
        # counters (PA §1.3)
        self.avail: list[list[int]] = [[0] * nr_zones for _ in range(nn)]
        self.node_avail_pages: list[int] = [0] * nn
        self.total_avail_pages = 0
        self.node_need_scrub: list[int] = [0] * nn
        self.outstanding_claims = 0
        self.claimed_pages: list[int] = [0] * nn
        # free lists per (node, zone, order): clean at the head, dirty at the tail
        self._heap: dict[tuple[int, int, int], OrderedDict[int, None]] = {}
        self._free: dict[int, FreeBlock] = {}
        self._inuse: dict[int, InUse] = {}
        self._pgstate: dict[int, int] = {}
        self.page_offlined_list: OrderedDict[int, None] = OrderedDict()
        self.page_broken_list: OrderedDict[int, None] = OrderedDict()
        self._dirty = RangeSet()  # PGC_need_scrub, per page
        self._in_heap = RangeSet()  # MFNs handed to the heap by init_heap_pages
        self.need_scrub_leaked: list[int] = [0] * nn  # online_page() quirk, PA §5.3
        self._gate_skipped: list[int] = []
        self._rotated: list[tuple[OrderedDict[int, None], int]] = []  # dirty buddies passed over
        self.cpu_node = 0  # cpu_to_node(smp_processor_id()) for domain-less requests
        self._seq = 0
        self.domains = {}  # a bare heap has none: claims.Xen creates them
        self.events = EventLog()

    # ------------------------------------------------------------------ setup
    def _parse_nodes(self, nodes: Sequence[NodeSpec]) -> list[list[tuple[int, int]]]:
        if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Sequence):
            raise TypeError("nodes must be a sequence with one memory map per NUMA node")
        if not 1 <= len(nodes) <= self.max_numnodes:
            raise ValueError(
                f"a host has 1..{self.max_numnodes} nodes (MAX_NUMNODES), not {len(nodes)}"
            )
        limit = 1 << (self.nr_zones - 1)
        out: list[list[tuple[int, int]]] = []
        for n, spec in enumerate(nodes):
            if self._is_range(spec):
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
                elif self._is_range(r):
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

    @staticmethod
    def _is_range(r: object) -> bool:
        return isinstance(r, range) or (
            isinstance(r, tuple) and len(r) == 2 and all(isinstance(x, int) for x in r)
        )

    def _node_map(self, node: int) -> list[tuple[int, int]]:
        # a node id below MAX_NUMNODES without memory reads as empty (NODE_DATA zeroed)
        check_int("node", node, 0, self.max_numnodes - 1)
        return self.node_ranges[node] if node < self.nr_nodes else []

    def node_start_pfn(self, node: int) -> int:
        rs = self._node_map(node)
        return rs[0][0] if rs else 0

    def node_spanned_pages(self, node: int) -> int:
        rs = self._node_map(node)
        return rs[-1][1] - rs[0][0] if rs else 0

    def node_present_pages(self, node: int) -> int:
        return sum(e - s for s, e in self._node_map(node))

    def _dma_bitsize(self, spec: int | str) -> int:
        # dma_bits= (PA §1.2): an int, 0 for none, or "x86" for the default
        # that end_boot_allocator() picks on hosts with more than one node.
        if spec == "x86":
            if self.nr_nodes <= 1:
                return 0
            for n in range(self.nr_nodes):
                start = self.node_start_pfn(n)
                if self.node_spanned_pages(n) and not start >> (32 - PAGE_SHIFT):
                    end = start + self.node_spanned_pages(n) // 4 - 1
                    return min(flsl(end) + PAGE_SHIFT, 32)
            raise ValueError("dma_bitsize='x86' needs a node with memory below 4 GiB")
        if isinstance(spec, str):
            raise ValueError(f"dma_bitsize must be an int or 'x86', not {spec!r}")
        return check_int("dma_bitsize", spec, 0, 64)

    # ------------------------------------------------------------- geometry
    def mfn_to_nid(self, mfn: int) -> int | None:
        """The node whose memory map holds *mfn*, or ``None`` (a hole)."""
        if type(mfn) is not int:
            check_int("mfn", mfn)  # a bool or float is no MFN
        return self._mfn_to_nid(mfn)

    def mfn_valid(self, mfn: int) -> bool:
        return self.mfn_to_nid(mfn) is not None

    @staticmethod
    def page_to_zone(mfn: int) -> int:
        """``page_to_zone``: the MFN's bit length, at least 1 (PA §1.2)."""
        if type(mfn) is not int:
            check_int("mfn", mfn)
        return mfn.bit_length() or 1

    @staticmethod
    def bits_to_zone(bits: int) -> int:
        """``bits_to_zone(b)`` (PA §1.2)."""
        if type(bits) is not int:
            check_int("bits", bits)
        return _bits_to_zone(bits)

    def heap(self, node: int, zone: int, order: int) -> list[int]:
        """``heap(node, zone, order)``: the free list's heads, head first."""
        check_int("node", node, 0)
        check_int("zone", zone, 0)
        check_int("order", order, 0)
        return list(self._heap.get((node, zone, order), ()))

    # ----------------------------------------------------------- free lists

    def find_free_head(self, mfn: int) -> int | None:
        """Head of the free buddy that holds *mfn*, or ``None``."""
        if type(mfn) is not int:
            check_int("mfn", mfn)
        return self._find_free_head(mfn)

    def find_inuse_head(self, mfn: int) -> int | None:
        """Head of the allocated block that holds *mfn*, or ``None``."""
        if type(mfn) is not int:
            check_int("mfn", mfn)
        return self._find_inuse_head(mfn)

    # ------------------------------------------------------- init_heap_pages
    def init_heap_pages(self, mfn: int, nr: int, need_scrub: bool = False) -> int:
        """Hand MFNs ``[mfn, mfn+nr)`` to the heap as Xen does (PA §2.1).

        Greedy naturally aligned chunks of at most ``MAX_ORDER``, each freed
        through ``free_heap_pages`` (so they merge); MFN 0 is never added.
        Returns the number of pages added.
        """
        check_int("mfn", mfn, 0)
        check_int("nr", nr, 0)
        if not isinstance(need_scrub, bool):
            raise TypeError("need_scrub must be a bool")
        self._check_in_nodes(mfn, nr)
        if self._in_heap.overlaps(mfn, mfn + nr):
            first = next(self._in_heap.runs(mfn, mfn + nr))
            raise ValueError(
                f"init_heap_pages: MFNs {first[0]:#x}..{first[1] - 1:#x} are already in the heap"
            )
        for m, f in self._pgstate.items():
            if mfn <= m < mfn + nr and f & PG_OFFLINED:
                raise ValueError(f"init_heap_pages: MFN {m:#x} is offlined")
        args = {"mfn": mfn, "nr": nr, "need_scrub": need_scrub}
        s, e = mfn, mfn + nr
        if s == 0 and e > 0:
            s = 1  # keep MFN 0 out of the buddy allocator (PA §2.1 step 1)
        chunks = 0
        while s < e:
            node = self.mfn_to_nid(s)
            assert node is not None
            run_end = min(e, self._node_run_end(s))
            self._in_heap.add(s, run_end)
            chunks += self._init_node_run(s, run_end, need_scrub)
            s = run_end
        added = max(0, e - max(mfn, 1 if mfn == 0 else mfn))
        self.events.record("init_heap_pages", args, added, chunks=chunks, **self._counters())
        return added

    def _node_run_end(self, mfn: int) -> int:
        i = bisect_right(self._map_s, mfn) - 1
        s, e, n = self._map[i]
        # extend across adjacent ranges of the same node
        while i + 1 < len(self._map) and self._map[i + 1][0] == e and self._map[i + 1][2] == n:
            i += 1
            e = self._map[i][1]
        return e

    def _check_in_nodes(self, mfn: int, nr: int) -> None:
        m, end = mfn, mfn + nr
        while m < end:
            i = bisect_right(self._map_s, m) - 1
            if i < 0 or m >= self._map[i][1]:
                raise ValueError(f"MFN {m:#x} is outside every node's memory map")
            m = self._map[i][1]

    # ------------------------------------------------------- free_heap_pages
    def free_heap_pages(self, mfn: int, order: int, need_scrub: bool = False) -> None:
        """Free an allocated, aligned block and merge it (PA §2.2).

        Refuses (``ValueError``, nothing changed) a block that is not wholly
        allocated from the heap: a double free, a hole, a misaligned head.
        """
        check_int("mfn", mfn, 0)
        check_order(order, self.max_order)
        if not isinstance(need_scrub, bool):
            raise TypeError("need_scrub must be a bool")
        for rec in self._take_inuse(mfn, order, dry_run=True):
            if rec.owner is not None:
                raise ValueError(
                    f"block {mfn:#x} order {order} holds pages of d{rec.owner.domid}: "
                    "free them with free_domheap_pages"
                )
        self._take_inuse(mfn, order)
        node = self.mfn_to_nid(mfn)
        self._free_heap_pages(mfn, order, need_scrub)
        self.events.record(
            "free_heap_pages",
            {"mfn": mfn, "order": order, "need_scrub": need_scrub},
            None,
            node=node,
            **self._counters(),
        )

    # ------------------------------------------------------ alloc_heap_pages
    def alloc_heap_pages(
        self, zone_lo: int, zone_hi: int, order: int, memflags: int = 0, d: Domain | None = None
    ) -> int | None:
        """Allocate ``2**order`` pages (PA §2.3); the head MFN or ``None``."""
        self._check_alloc_args(order, memflags, d)
        check_int("zone_lo", zone_lo, 0, self.nr_zones - 1)
        check_int("zone_hi", zone_hi, zone_lo, self.nr_zones - 1)
        mfn, info = self._alloc_heap_pages(zone_lo, zone_hi, order, memflags, d)
        self._record_alloc("alloc_heap_pages", d, order, memflags, mfn, info)
        return mfn

    def _check_alloc_args(self, order: int, memflags: int, d: Domain | None) -> None:
        if type(order) is not int or type(memflags) is not int or order < 0 or memflags < 0:
            check_int("order", order, 0)
            check_int("memflags", memflags, 0)
        if memflags & _MEMF_SUSPECT:
            self._check_memflags(memflags)
        if d is not None:
            self._check_domain(d)

    @staticmethod
    def _check_memflags(memflags: int) -> None:
        if memflags & ~MEMF_ALL:
            raise ValueError(f"memflags {memflags:#x} has bits no MEMF_ flag defines")
        if memflags & MEMF_keep_scrub and not memflags & MEMF_no_scrub:
            raise ValueError("MEMF_keep_scrub is only valid together with MEMF_no_scrub")

    def _check_domain(self, d: Domain) -> None:
        raise NotImplementedError  # provided by the Xen class, which owns domains

    def _record_alloc(
        self,
        op: str,
        d: Domain | None,
        order: int,
        memflags: int,
        mfn: int | None,
        info: AllocInfo | dict[str, Any],
    ) -> None:
        domid = d.domid if d else None
        self.events.record_alloc(op, domid, order, memflags, mfn, info, self._flat_counters())

    # ------------------------------------------------------------- scrubbing
    def scrub(self, node: int | None = None) -> int:
        """Scrub the dirty free buddies of *node* (all nodes for ``None``).

        ``scrub_free_pages`` without preemption (PA §2.5): zones upward, orders
        downward, each list from its tail; a scrubbed buddy moves to the head as
        clean; the walk stops once ``node_need_scrub[node]`` is 0.  Returns the
        number of pages scrubbed.
        """
        if node is None:
            nodes: Iterable[int] = range(self.nr_nodes)
        else:
            nodes = [check_int("node", node, 0, self.nr_nodes - 1)]
        total = 0
        per_node: dict[int, int] = {}
        for n in nodes:
            cnt = self._scrub_node(n)
            if cnt:
                per_node[n] = cnt
            total += cnt
        self.events.record("scrub", {"node": node}, total, per_node=per_node, **self._counters())
        return total

    # ------------------------------------------------------------ accessors
    def avail_heap_pages(self, zone_lo: int, zone_hi: int, node: int = -1) -> int:
        """``avail_heap_pages``: free pages in zones ``zone_lo..zone_hi`` (PA §1.3)."""
        check_int("zone_lo", zone_lo, 0)
        check_int("zone_hi", zone_hi, 0)
        check_int("node", node, -1)
        zone_hi = min(zone_hi, self.nr_zones - 1)
        return sum(
            sum(self.avail[n][zone_lo : zone_hi + 1])
            for n in range(self.nr_nodes)
            if node == -1 or node == n
        )

    def avail_node_heap_pages(self, node: int) -> int:
        """``avail_node_heap_pages``: ``node_avail_pages[node]``, 0 off-line."""
        check_int("node", node)
        return self.node_avail_pages[node] if 0 <= node < self.nr_nodes else 0

    def get_outstanding_claims(self) -> tuple[int, int]:
        """``(free_pages, outstanding_pages)`` as physinfo reports them (PA §1.3)."""
        return self.avail_heap_pages(MEMZONE_XEN + 1, self.nr_zones - 1), self.outstanding_claims

    def free_blocks(self, node: int | None = None) -> Iterator[tuple[int, FreeBlock]]:
        """Free buddies ``(head, block)`` in list order, per node, zone and order."""
        if node is not None:
            check_int("node", node, 0)
        for (n, _z, _o), lst in sorted(self._heap.items()):
            if node is None or n == node:
                for mfn in lst:
                    yield mfn, self._free[mfn]

    def allocated_blocks(self) -> Iterator[tuple[int, InUse]]:
        """Allocated blocks ``(head, record)`` in address order."""
        for mfn in sorted(self._inuse):
            yield mfn, self._inuse[mfn]

    def dirty_runs(self, start: int | None = None, end: int | None = None) -> list[tuple[int, int]]:
        """Runs of pages with ``PGC_need_scrub`` set."""
        if start is not None:
            check_int("start", start)
        if end is not None:
            check_int("end", end)
        return list(self._dirty.runs(start, end))

    def page_state(self, mfn: int) -> str:
        """``'free'``, ``'inuse'``, ``'offlining'``, ``'offlined'`` or ``'reserved'``."""
        check_int("mfn", mfn)
        f = self._pgstate.get(mfn, 0)
        if f & PG_OFFLINED:
            return "offlined"
        if f & PG_OFFLINING:
            return "offlining"
        if self.find_free_head(mfn) is not None:
            return "free"
        if self.find_inuse_head(mfn) is not None:
            return "inuse"
        if not self.mfn_valid(mfn):
            return "invalid"
        return "reserved"

    def buddyinfo(self, zone: int | None = None) -> list[list[int]]:
        """Free blocks per node and order (``/proc/buddyinfo``)."""
        if zone is not None:
            check_int("zone", zone, 0)
        out = [[0] * (self.max_order + 1) for _ in range(self.nr_nodes)]
        for (n, z, o), lst in self._heap.items():
            if zone is None or z == zone:
                out[n][o] += len(lst)
        return out

    def _counters(self) -> dict[str, Any]:
        return {"counters": Counters(self._counter_values())}

    def _counter_values(self) -> tuple[Any, ...]:
        return counters_from_flat(self._flat_counters())

    # copy and pickle: the core's attributes and the instance dict together
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)  # all when interpreted; the subclasses' part when compiled
        core = super().__getstate__()
        if isinstance(core, dict):  # compiled: HeapCore's own attributes (mypyc's serializable)
            state.update(core)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    def state(self) -> dict[str, Any]:
        """Everything the heap holds, as plain values: equal states are equal hosts."""
        return {
            "avail": [list(a) for a in self.avail],
            "node_avail_pages": list(self.node_avail_pages),
            "total_avail_pages": self.total_avail_pages,
            "node_need_scrub": list(self.node_need_scrub),
            "outstanding_claims": self.outstanding_claims,
            "claimed_pages": list(self.claimed_pages),
            "lists": {k: list(v) for k, v in self._heap.items() if v},
            "free": {m: (b.order, b.node, b.first_dirty) for m, b in self._free.items()},
            "inuse": {
                m: (r.order, r.owner.domid if r.owner else None, r.seq, r.extra, r.xen_heap)
                for m, r in self._inuse.items()
            },
            "pgstate": dict(self._pgstate),
            "offlined": list(self.page_offlined_list),
            "broken": list(self.page_broken_list),
            "dirty": list(self._dirty.runs()),
            "in_heap": list(self._in_heap.runs()),
            "need_scrub_leaked": list(self.need_scrub_leaked),
        }

    # ----------------------------------------------------------- invariants
    def check_heap_invariants(self) -> None:
        """Check the heap's own invariants; raise ``InvariantError`` naming the first broken one."""
        avail = [[0] * self.nr_zones for _ in range(self.nr_nodes)]
        seen = 0
        spans: list[tuple[int, int, str]] = []
        for (node, zone, order), lst in self._heap.items():
            clean_done = False
            for pos, mfn in enumerate(lst):
                blk = self._free.get(mfn)
                where = f"free block {mfn:#x} on heap({node}, {zone}, {order})"
                if blk is None or blk.order != order or blk.node != node:
                    raise InvariantError(f"{where}: list and block record disagree ({blk!r})")
                size = 1 << order
                if mfn & (size - 1):
                    raise InvariantError(f"{where}: not aligned to its order")
                if mfn == 0 or self._range_node(mfn, size) != node:
                    raise InvariantError(f"{where}: not inside node {node}")
                if self.page_to_zone(mfn) != zone or self.page_to_zone(mfn + size - 1) != zone:
                    raise InvariantError(f"{where}: crosses zone {zone}")
                dirty = blk.first_dirty != INVALID_DIRTY_IDX
                if dirty:
                    clean_done = True
                    if blk.first_dirty >= size:
                        raise InvariantError(f"{where}: first_dirty {blk.first_dirty} >= size")
                    if self._dirty.count(mfn, mfn + blk.first_dirty):
                        raise InvariantError(f"{where}: dirty page before first_dirty")
                else:
                    if clean_done:
                        raise InvariantError(f"{where}: clean block after a dirty one (pos {pos})")
                    if self._dirty.count(mfn, mfn + size):
                        raise InvariantError(f"{where}: clean block holds dirty pages")
                avail[node][zone] += size
                seen += 1
                spans.append((mfn, mfn + size, "free"))
        if seen != len(self._free):
            raise InvariantError(f"{len(self._free)} free blocks recorded, {seen} on free lists")
        if avail != self.avail:
            for n in range(self.nr_nodes):
                for z in range(self.nr_zones):
                    if avail[n][z] != self.avail[n][z]:
                        raise InvariantError(
                            f"avail[{n}][{z}] = {self.avail[n][z]} but its free lists hold "
                            f"{avail[n][z]} pages"
                        )
        for n in range(self.nr_nodes):
            if self.node_avail_pages[n] != sum(self.avail[n]):
                raise InvariantError(
                    f"node_avail_pages[{n}] = {self.node_avail_pages[n]} != "
                    f"sum(avail[{n}]) = {sum(self.avail[n])}"
                )
        if self.total_avail_pages != sum(self.node_avail_pages):
            raise InvariantError(
                f"total_avail_pages = {self.total_avail_pages} != "
                f"sum(node_avail_pages) = {sum(self.node_avail_pages)}"
            )
        for mfn, rec in self._inuse.items():
            size = 1 << rec.order
            if mfn & (size - 1):
                raise InvariantError(f"allocated block {mfn:#x} not aligned to order {rec.order}")
            spans.append((mfn, mfn + size, "inuse"))
        for mfn, f in self._pgstate.items():
            if f & PG_OFFLINED:
                if mfn not in self.page_offlined_list and mfn not in self.page_broken_list:
                    # marked offline inside a free buddy, not yet reserved (PA §5.1)
                    if self.find_free_head(mfn) is None:
                        raise InvariantError(f"offlined MFN {mfn:#x} is on no offline list")
                    continue
                spans.append((mfn, mfn + 1, "offlined"))
                lst = self.page_broken_list if f & PG_BROKEN else self.page_offlined_list
                other = self.page_offlined_list if f & PG_BROKEN else self.page_broken_list
                if mfn not in lst and mfn not in other:
                    raise InvariantError(f"offlined MFN {mfn:#x} is on no offline list")
        spans.sort()
        for (s0, e0, k0), (s1, _e1, k1) in zip(spans, spans[1:]):
            if s1 < e0:
                raise InvariantError(f"{k0} {s0:#x}..{e0 - 1:#x} overlaps {k1} at {s1:#x}")
        for s, e, _k in spans:
            if self._in_heap.count(s, e) != e - s:
                raise InvariantError(f"block {s:#x}..{e - 1:#x} lies outside the heap's memory")
        for n in range(self.nr_nodes):
            want = self.need_scrub_leaked[n]
            for mfn, blk in self._free.items():
                if blk.node == n:
                    want += self._dirty.count(mfn, mfn + (1 << blk.order))
            for mfn in self._pgstate:
                reserved = mfn in self.page_offlined_list or mfn in self.page_broken_list
                # (offlined pages not yet reserved are counted in their free block)
                if reserved and self.mfn_to_nid(mfn) == n and mfn in self._dirty:
                    want += 1
            if want != self.node_need_scrub[n]:
                raise InvariantError(
                    f"node_need_scrub[{n}] = {self.node_need_scrub[n]} but {want} free or "
                    f"offlined pages need a scrub"
                )
