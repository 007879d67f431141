"""``xen/common/page_alloc.c``: the buddy heap's state and its hot steps.

``HeapCore`` holds what page_alloc.c keeps in its globals (the free lists
``heap(node, zone, order)``, ``avail[node][zone]``, ``node_avail_pages``,
``total_avail_pages``, ``outstanding_claims``, the per-node claimed pages,
the per-page state) and the steps an allocation or a free runs through:
``get_free_buddy`` (the NUMA walk), ``_alloc_heap_pages`` (the split that
keeps the top half), ``_free_heap_pages`` (merging), ``_reserve_offlined_page``,
``_assign_pages`` and the domheap wrappers proper.  The steps take checked
values only: the public calls that check their arguments first are functions
of ``claims.hypervisor.heap``, ``domheap``, ``offline``, ``scrub``, ``claims``
and ``memory``, which ``claims.Xen`` binds as its methods.

``RuleSet`` is the other half of this module: the hooks through which a
version of the claims series changes what page_alloc.c decides (the gates,
redemption, the recall after offlining, the claim calls).  The hypervisor
defines them here, next to the code that calls them; ``claims/series/`` has
one subclass per version, registered by name with ``register``.

``tools/build_core.py`` compiles this module with mypyc unchanged: the same
source runs interpreted or compiled (README, Speed).  The rules each step
follows are in ``docs/heap.md``.
"""

from __future__ import annotations

import copy
import errno
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, ClassVar

from mypy_extensions import mypyc_attr

from .constants import (
    INVALID_DIRTY_IDX,
    NUMA_NO_NODE,
    PAGE_SHIFT,
    MEMF_exact_node,
    MEMF_keep_scrub,
    MEMF_no_dma,
    MEMF_no_owner,
    MEMF_no_refcount,
    MEMF_no_scrub,
    MEMF_node_mask,
    _MEMF_bits,
    _MEMF_node,
)
from .errors import XenBugError
from .events import AllocInfo, Counters, alloc_info_dict
from .locks import OrderedLock
from .rangeset import RangeSet
from .topology import Topology

if TYPE_CHECKING:
    from .events import EventLog
    from .sched import Caller, Domain

# per-page state bits kept sparsely (PGC_state offlining/offlined, PGC_broken)
PG_OFFLINING = 1
PG_OFFLINED = 2
PG_BROKEN = 4


class RuleSet:
    """What a version of the claims series decides, asked where page_alloc.c differs.

    ``claims/series/`` has one subclass per version (``master``, ``v6``,
    ``v7``), each overriding what its version changes; the hypervisor calls:

    * ``host_gate`` in ``alloc_heap_pages`` before the search;
    * ``node_gate`` in ``get_free_buddy`` at the top of each node;
    * ``redeem`` in ``alloc_heap_pages`` before the free counters drop;
    * ``after_offline`` at the end of ``reserve_offlined_page``;
    * ``domain_set_outstanding_pages`` for ``XENMEM_claim_pages`` (after
      memory.c's own checks) and ``domain_set_claim_entries`` /
      ``domain_get_claim_entries`` for the claim-set calls;
    * ``claims_domctl`` for the claims domctls by number (after ``do_domctl``'s
      domain lookup and XSM check);
    * ``domain_kill_claims`` when ``domain_kill`` releases the domain's claims.

    Both gates must be monotone in the free counters: with claims unchanged,
    more free memory never turns a pass into a refusal.  The bulk populate path
    relies on it (``memory_bulk._gates_pass_throughout``) and
    ``tests/test_claims_rules.py`` checks it for every version.  A refused
    claim call returns ``(-errno, reason)`` and must change nothing.
    """

    name: ClassVar[str] = ""
    claim_sets: ClassVar[bool] = False
    """The version has claim sets (``domain_set_claim_entries``)."""
    claims_abi: ClassVar[str] = ""
    """The claims domctls a toolstack for this version issues: ``""`` (none),
    ``"claim_memory"`` (v6, v7: ``XEN_DOMCTL_claim_memory`` with a mode) or
    ``"memory_claims"`` (v8: ``XEN_DOMCTL_set/get_memory_claims``)."""
    ocaml_binding: ClassVar[bool] = False
    """The version's tree has the OCaml binding ``domain_claim_memory`` (v7 3/3)."""
    claims_within_free: ClassVar[bool] = False
    """The version keeps every claim within free memory, on each node and host-wide
    (``check_invariants`` then checks it; a version without recall after offlining
    cannot promise it)."""
    claim_node_field: ClassVar[bool] = False
    """The version's ``struct domain`` has ``claim_node`` (XenServer's single-node
    claims); ``Xen.state()`` then includes it."""

    def host_gate(self, heap: HeapCore, d: Domain | None, request: int, memflags: int) -> bool:
        raise NotImplementedError

    def node_gate(
        self, heap: HeapCore, node: int, order: int, memflags: int, d: Domain | None
    ) -> bool:
        raise NotImplementedError

    def redeem(
        self, heap: HeapCore, d: Domain | None, node: int, request: int, memflags: int
    ) -> dict[str, int]:
        raise NotImplementedError

    def after_offline(self, heap: HeapCore, node: int, domains: list[Domain]) -> dict[str, int]:
        raise NotImplementedError

    def domain_set_outstanding_pages(
        self, heap: HeapCore, d: Domain, pages: int, node: int = NUMA_NO_NODE
    ) -> tuple[int, str]:
        raise NotImplementedError

    def domain_kill_claims(self, heap: HeapCore, d: Domain) -> int:
        """``domain_kill``'s release of *d*'s claims (``domain_set_outstanding_pages(d, 0)``
        in each version); the pages released."""
        raise NotImplementedError

    def xenmem_claim_flags(self, mem_flags: int) -> tuple[int, str, int]:
        """``XENMEM_claim_pages``'s ``mem_flags``, after its ``extent_order`` check:
        ``(0, "", node)`` (``NUMA_NO_NODE`` for a host-wide claim) or
        ``(-errno, reason, NUMA_NO_NODE)``.  Upstream takes no flags (``-EINVAL``)."""
        if mem_flags:
            return -errno.EINVAL, "mem_flags must be 0", NUMA_NO_NODE
        return 0, "", NUMA_NO_NODE

    def sysctl(
        self, heap: HeapCore, cmd: int, nr: int, buf: Any, word: int
    ) -> tuple[int, int, str] | None:
        """Sysctl *cmd* after ``do_sysctl``'s XSM check: ``(rc, count written back,
        reason)``, or ``None`` if the version has no such command (``-ENOSYS``,
        ``arch_do_sysctl``'s default)."""
        return None

    def domain_set_claim_entries(
        self, heap: HeapCore, d: Domain, entries: list[Any]
    ) -> tuple[int, str]:
        raise NotImplementedError

    def domain_get_claim_entries(
        self, heap: HeapCore, d: Domain, max_entries: int
    ) -> tuple[int, int, list[Any] | None]:
        raise NotImplementedError

    def entry_type(self) -> type[Any]:
        """The claim entry struct of the version's ABI (``claims.hypervisor.public``)."""
        raise NotImplementedError

    def claims_domctl(
        self,
        heap: HeapCore,
        caller: Caller | Domain,
        cmd: int,
        d: Domain,
        nr: int,
        buf: Any,
        word: int,
    ) -> tuple[int, int, str] | None:
        """Domctl *cmd* after ``do_domctl``'s checks: ``(rc, nr_entries, reason)``, or
        ``None`` if the version has no such command (``-ENOSYS``).  *word* is the
        argument's third word (v7: ``mode``; v8: ``pad``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<rules {self.name}>"


RULE_SETS: dict[str, type[RuleSet]] = {}
"""The versions of the series by name; each ``claims/series/`` module registers its own."""


def register(cls: type[RuleSet]) -> type[RuleSet]:
    """Make *cls* a host's rule set by its ``name`` (``Xen(..., semantics=name)``)."""
    RULE_SETS[cls.name] = cls
    return cls


def rules_for(semantics: object) -> RuleSet:
    """The rule set named *semantics* (``master``, ``v6``, ``v7``, ``v8``: ``claims/series/``)."""
    if not isinstance(semantics, str) or semantics not in RULE_SETS:
        raise ValueError(f"semantics must be one of {sorted(RULE_SETS)}, not {semantics!r}")
    return RULE_SETS[semantics]()


# FreeBlock and InUse hold no reference that can lead back to them, so when
# compiled they are acyclic: the cyclic GC never tracks the heap's many blocks.
@mypyc_attr(acyclic=True, free_list_len=1)
class FreeBlock:
    """A free buddy head: ``PFN_ORDER``, its node and ``u.free.first_dirty``."""

    __slots__ = ("order", "node", "first_dirty")

    def __init__(self, order: int, node: int, first_dirty: int) -> None:
        self.order = order
        self.node = node
        self.first_dirty = first_dirty

    def __deepcopy__(self, memo: dict[int, Any]) -> FreeBlock:
        return FreeBlock(self.order, self.node, self.first_dirty)

    def __repr__(self) -> str:
        fd = "clean" if self.first_dirty == INVALID_DIRTY_IDX else f"first_dirty={self.first_dirty}"
        return f"FreeBlock(order={self.order}, node={self.node}, {fd})"


@mypyc_attr(acyclic=True, free_list_len=1)
class InUse:
    """An allocated, naturally aligned block of pages (``PGC_state_inuse``).

    ``seq`` orders the owner's page list (``d->page_list``); split parts of a
    block keep their ``seq`` so that the list order survives partial frees.
    """

    __slots__ = ("order", "owner", "seq", "extra", "xen_heap")

    def __init__(self, order: int, owner: Domain | None, seq: int, extra: bool = False) -> None:
        self.order = order
        self.owner = owner
        self.seq = seq
        self.extra = extra
        self.xen_heap = False

    def __deepcopy__(self, memo: dict[int, Any]) -> InUse:
        owner = self.owner if self.owner is None else copy.deepcopy(self.owner, memo)
        rec = InUse(self.order, owner, self.seq, self.extra)
        rec.xen_heap = self.xen_heap
        return rec

    def __repr__(self) -> str:
        who = f"d{self.owner.domid}" if self.owner else "anonymous"
        return f"InUse(order={self.order}, {who})"


def bits_to_zone(bits: int) -> int:
    """``bits_to_zone(b)`` (docs/heap.md#zones); ``Xen.bits_to_zone`` checks its argument first."""
    return 1 if bits < PAGE_SHIFT + 1 else bits - PAGE_SHIFT


def flsl(x: int) -> int:
    """Xen's ``flsl``: 1-based index of the highest set bit, 0 for 0."""
    return x.bit_length()


def ffsl(x: int) -> int:
    """Xen's ``ffsl``: 1-based index of the lowest set bit, 0 for 0."""
    return (x & -x).bit_length()


def _has_offlined(offs: list[int], start: int, end: int) -> bool:
    """True if the sorted MFNs *offs* hold one in ``[start, end)``."""
    i = bisect_left(offs, start)
    return i < len(offs) and offs[i] < end


def _domid(d: Domain) -> int:
    return d.domid


def first_node(mask: int, max_numnodes: int) -> int:
    """``first_node(mask)``: lowest node in the mask, or ``MAX_NUMNODES``."""
    return ffsl(mask) - 1 if mask else max_numnodes


def next_node(node: int, mask: int, max_numnodes: int) -> int:
    """``next_node(n, mask)``: lowest node above *n*, or ``MAX_NUMNODES``."""
    return first_node((mask >> (node + 1)) << (node + 1), max_numnodes)


def cycle_node(node: int, mask: int, max_numnodes: int) -> int:
    """``cycle_node(n, mask)``: the next node after *n*, wrapping around."""
    nxt = next_node(node, mask, max_numnodes)
    return first_node(mask, max_numnodes) if nxt >= max_numnodes else nxt


@mypyc_attr(allow_interpreted_subclasses=True, serializable=True)
class HeapCore:
    """The host's state (page_alloc.c's globals and the domains) and the heap's hot steps.

    ``claims.Xen`` is the one subclass: ``claims.hypervisor.heap.init_heap``
    sets the state up, and the public calls are functions of the modules named
    after their Xen sources.  The claims gates and redemption are delegated to
    ``self.rules`` (a ``RuleSet`` of ``claims/series/``) where Xen has them.
    """

    debug_checks: ClassVar[bool] = False
    """Run ``check_invariants()`` after every recorded operation (the tests turn it on)."""

    lock_checks: ClassVar[bool] = False
    """Check every lock taken against Xen's lock order (``claims.hypervisor.locks``)."""

    bulk_populate: bool
    """Take runs of extents from one split block in bulk (``memory_bulk``); same results."""

    rules: RuleSet
    semantics: str  # the name of the rule set
    config: dict[str, Any]  # the arguments the host was built with
    heap_lock: OrderedLock
    node_ranges: list[list[tuple[int, int]]]  # each node's memory map
    topology: Topology  # distances and CPUs (claims.hypervisor.topology), for the toolstack
    page_offlined_list: OrderedDict[int, None]
    page_broken_list: OrderedDict[int, None]
    _in_heap: RangeSet  # MFNs handed to the heap by init_heap_pages
    need_scrub_leaked: list[int]  # online_page() quirk: node_need_scrub kept, per node
    llc_coloring_enabled: bool
    events: EventLog
    max_order: int
    nr_zones: int
    max_numnodes: int
    nr_nodes: int
    node_online_map: int  # a bitmask of node ids
    cpu_node: int  # cpu_to_node(smp_processor_id()) for domain-less requests
    _map_s: list[int]  # the memory map's range starts, sorted
    _map: list[tuple[int, int, int]]  # (start, end, node) per range, sorted
    _zone_pairs: dict[int, tuple[int, int]]  # (zone_lo, zone_hi) as events record it
    _node_zones: list[tuple[int, int]]  # each node's lowest and highest zone
    # counters (docs/heap.md#counters)
    avail: list[list[int]]
    node_avail_pages: list[int]
    total_avail_pages: int
    node_need_scrub: list[int]
    outstanding_claims: int
    claimed_pages: list[int]
    # free lists per (node, zone, order): clean at the head, dirty at the tail
    _heap: dict[tuple[int, int, int], OrderedDict[int, None]]
    _free: dict[int, FreeBlock]
    _inuse: dict[int, InUse]
    _pgstate: dict[int, int]
    _dirty: RangeSet  # PGC_need_scrub, per page
    _gate_skipped: list[int]
    _rotated: list[tuple[OrderedDict[int, None], int]]  # dirty buddies passed over
    _seq: int
    domains: dict[int, Domain]  # by domid (claims.Xen creates them)
    dma_bitsize: int  # dma_bits= (docs/heap.md#zones), 0 for no DMA zone
    _zone_hi_any: int  # the top zone of a request without MEMF_bits
    opt_scrub_domheap: bool  # scrub-domheap: freed domain pages are dirty (Xen only)

    # ------------------------------------------------------------- geometry
    def _mfn_to_nid(self, mfn: int) -> int | None:
        """The node whose memory map holds *mfn*, or ``None`` (a hole)."""
        i = bisect_right(self._map_s, mfn) - 1
        if i >= 0:
            s, e, n = self._map[i]
            if mfn < e:
                return n
        return None

    def _find_free_head(self, mfn: int) -> int | None:
        """Head of the free buddy that holds *mfn*, or ``None``."""
        for j in range(self.max_order + 1):
            head = mfn & ~((1 << j) - 1)
            blk = self._free.get(head)
            if blk is not None and blk.order == j:
                return head
        return None

    def _find_inuse_head(self, mfn: int) -> int | None:
        """Head of the allocated block that holds *mfn*, or ``None``."""
        for j in range(self.max_order + 1):
            head = mfn & ~((1 << j) - 1)
            rec = self._inuse.get(head)
            if rec is not None and rec.order >= j and mfn < head + (1 << rec.order):
                return head
        return None

    def _range_node(self, mfn: int, nr: int) -> int | None:
        """The node holding all of ``[mfn, mfn+nr)``, or ``None``."""
        i = bisect_right(self._map_s, mfn) - 1
        if i >= 0:
            s, e, n = self._map[i]
            if mfn + nr <= e:
                return n
        return None

    # ------------------------------------------------------------ free lists
    def _list(self, node: int, zone: int, order: int) -> OrderedDict[int, None]:
        key = (node, zone, order)
        lst = self._heap.get(key)
        if lst is None:
            lst = self._heap[key] = OrderedDict()
        return lst

    def page_list_add_scrub(
        self, mfn: int, node: int, zone: int, order: int, first_dirty: int
    ) -> None:
        """Put a free buddy on its list: clean at the head, dirty at the tail
        (docs/heap.md#free-lists).
        """
        self._free[mfn] = FreeBlock(order, node, first_dirty)
        lst = self._heap.get((node, zone, order))
        if lst is None:
            lst = self._list(node, zone, order)
        lst[mfn] = None
        if first_dirty == INVALID_DIRTY_IDX:
            lst.move_to_end(mfn, False)  # to the head (last=False, passed positionally: faster)

    def _unlink(self, mfn: int) -> FreeBlock:
        blk = self._free.pop(mfn)
        del self._heap[(blk.node, mfn.bit_length() or 1, blk.order)][mfn]  # page_to_zone
        return blk

    @staticmethod
    def _uncount_pages(d: Domain, rec: InUse) -> None:
        """``domain_adjust_tot_pages(d, -n)`` for a freed record (and its extra pages)."""
        size = 1 << rec.order
        d.tot_pages -= size
        if rec.extra:
            d.extra_pages -= size

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --------------------------------------------------------- init and free
    def _init_node_run(self, s: int, e: int, need_scrub: bool) -> int:
        """``_init_heap_pages``: free ``[s, e)`` in greedy aligned chunks."""
        chunks = 0
        while s < e:
            order = min(self.max_order, flsl(e - s) - 1)
            if s:
                order = min(order, ffsl(s) - 1)
            self._free_heap_pages(s, order, need_scrub)
            s += 1 << order
            chunks += 1
        return chunks

    def _take_inuse(self, mfn: int, order: int, dry_run: bool = False) -> list[InUse]:
        """Check (and unless *dry_run*, remove) the allocation records of a block."""
        rec = self._inuse.get(mfn)
        if rec is not None and rec.order == order:  # the common case: one whole record
            if not dry_run:
                del self._inuse[mfn]
            return [rec]
        size = 1 << order
        if mfn & (size - 1):
            raise ValueError(f"MFN {mfn:#x} is not aligned to order {order}")
        if self._range_node(mfn, size) is None:
            if not self._mfn_to_nid(mfn) is not None:
                raise ValueError(f"MFN {mfn:#x} is outside every node's memory map")
            raise ValueError(f"block {mfn:#x}+{size} does not lie inside one node")
        end = mfn + size
        head = self._find_inuse_head(mfn)
        if head is not None and self._inuse[head].order > order and not dry_run:
            self._split_inuse(head, mfn, order)
        m = mfn
        recs: list[InUse] = []
        while m < end:
            h = self._find_inuse_head(m)
            if h is None:
                why = "free" if self._find_free_head(m) is not None else "not allocated"
                if m in self._pgstate and self._pgstate[m] & PG_OFFLINED:
                    why = "offlined"
                raise ValueError(
                    f"MFN {m:#x} is {why}: it cannot be freed (double free or never allocated)"
                )
            rec = self._inuse[h]
            recs.append(rec)
            m = max(m, h + (1 << rec.order))
            if not dry_run:
                del self._inuse[h]
        return recs

    def _split_inuse(self, head: int, target: int, order: int) -> None:
        """Split an allocated block so that ``[target, +2**order)`` is its own record."""
        rec = self._inuse.pop(head)
        o = rec.order
        while o > order:
            o -= 1
            half = 1 << o
            lo, hi = head, head + half
            if target >= hi:
                keep, head = lo, hi
            else:
                keep, head = hi, lo
            part = InUse(o, rec.owner, rec.seq, rec.extra)
            part.xen_heap = rec.xen_heap
            self._inuse[keep] = part
        part = InUse(order, rec.owner, rec.seq, rec.extra)
        part.xen_heap = rec.xen_heap
        self._inuse[head] = part

    def _free_heap_pages(self, mfn: int, order: int, need_scrub: bool) -> None:
        """``free_heap_pages`` proper: counters, ``first_dirty``, merging
        (docs/heap.md#free-heap-pages).
        """
        size = 1 << order
        node = self._mfn_to_nid(mfn)
        assert node is not None
        zone = mfn.bit_length() or 1  # page_to_zone
        pg_offlined = False
        for m in self._pgstate_in(mfn, mfn + size) if self._pgstate else ():
            f = self._pgstate[m]
            if f & PG_OFFLINING:  # mark_page_free: offlining -> offlined
                self._pgstate[m] = (f & PG_BROKEN) | PG_OFFLINED
                pg_offlined = True
        if need_scrub:
            self._dirty.add(mfn, mfn + size)
        elif self._dirty:
            self._dirty.remove(mfn, mfn + size)  # mark_page_free drops PGC_need_scrub
        self.avail[node][zone] += size
        self.node_avail_pages[node] += size
        self.total_avail_pages += size
        if need_scrub:
            self.node_need_scrub[node] += size
            first_dirty = 0
        else:
            first_dirty = INVALID_DIRTY_IDX
        free = self._free
        while order < self.max_order:
            mask = 1 << order
            cand = mfn - mask if mfn & mask else mfn + mask
            blk = free.get(cand)
            if blk is None or blk.order != order or blk.node != node:
                break
            if self._pgstate.get(cand, 0) & PG_OFFLINED:
                break  # marked offline, not yet reserved: not page_state_is(free)
            self._unlink(cand)
            if cand < mfn:  # merge with predecessor
                if blk.first_dirty == INVALID_DIRTY_IDX and first_dirty != INVALID_DIRTY_IDX:
                    first_dirty = mask + first_dirty
                else:
                    first_dirty = blk.first_dirty
                mfn = cand
            elif first_dirty == INVALID_DIRTY_IDX and blk.first_dirty != INVALID_DIRTY_IDX:
                first_dirty = mask + blk.first_dirty
            order += 1
        self.page_list_add_scrub(mfn, node, zone, order, first_dirty)
        if pg_offlined:
            self._reserve_offlined_page(mfn)

    def _pgstate_in(self, start: int, end: int) -> list[int]:
        if not self._pgstate:
            return []
        return sorted(m for m in self._pgstate if start <= m < end)

    # -------------------------------------------------------- get_free_buddy
    def get_free_buddy(
        self, zone_lo: int, zone_hi: int, order: int, memflags: int, d: Domain | None
    ) -> int | None:
        """The NUMA walk (docs/heap.md#get-free-buddy): find and unlink a free buddy, or ``None``.

        The per-node claims gate (``rules.node_gate``) is checked at the top of
        each node, before its zones are scanned (docs/claims.md#node-gate).
        """
        maxn = self.max_numnodes
        nodemask = self.node_online_map
        if d is not None:
            aff = d.node_affinity_mask
            if nodemask & aff:
                nodemask &= aff
        node = req_node = ((memflags >> _MEMF_node) - 1) & MEMF_node_mask  # MEMF_get_node
        if node == NUMA_NO_NODE:
            if d is not None:
                node = cycle_node(d.last_alloc_node, nodemask, maxn)
            if node >= maxn:
                node = self.cpu_node
        elif node >= maxn:
            return None
        first = node
        nodemask_retry = False
        request = 1 << order
        nr_nodes, node_gate, lists, free = (
            self.nr_nodes,
            self.rules.node_gate,
            self._heap,
            self._free,
        )
        while True:
            if node >= nr_nodes:
                pass  # an online-map bit past the host's nodes: nothing there
            elif node_gate(self, node, order, memflags, d):
                avail = self.avail[node]
                zmin, zmax = self._node_zones[node]  # zones outside the node's map are empty
                hi = zone_hi if zone_hi < zmax else zmax
                lo = zone_lo if zone_lo > zmin else zmin
                for zone in range(hi, lo - 1, -1):
                    if avail[zone] < request:
                        continue
                    for j in range(order, self.max_order + 1):
                        lst = lists.get((node, zone, j))
                        if not lst:
                            continue
                        pg, _ = lst.popitem(False)  # from the head (last=False)
                        if free[pg].first_dirty == INVALID_DIRTY_IDX:
                            return pg
                        if order == 0 or memflags & MEMF_no_scrub:
                            return pg  # dirty, but the caller takes it as it is
                        lst[pg] = None  # dirty: rotate it to the tail, try next order
                        self._rotated.append((lst, pg))
            elif self.node_avail_pages[node] >= request:
                self._gate_skipped.append(node)  # memory there, but claimed by others
            exact = memflags & MEMF_exact_node
            if exact and req_node != NUMA_NO_NODE:
                return None
            if not (nodemask >> node) & 1:
                # the first node was caller-specified and outside the mask
                first = node = first_node(nodemask, maxn)
                if node < maxn:
                    continue
            else:
                node = next_node(node, nodemask, maxn)
                if node >= maxn:
                    node = first_node(nodemask, maxn)
            if node == first:
                if exact or nodemask_retry:
                    return None
                nodemask_retry = True
                nodemask = self.node_online_map & ~nodemask
                first = node = first_node(nodemask, maxn)
                if node >= maxn:
                    return None

    # ------------------------------------------------- reserve_offlined_page
    def _reserve_offlined_page(self, head: int) -> int:
        """``reserve_offlined_page`` with master's 2026 alignment fixes; the pages taken.

        Takes the free buddy at *head* apart: every offlined page leaves the
        heap (and ``avail``) for the offlined or broken list, and the rest goes
        back as the largest aligned buddies that hold no offlined page, each
        keeping its part of ``first_dirty``.  Then the version's
        ``after_offline`` hook runs (v7 recalls claims above free memory).
        ``docs/offlining.md#reserve-offlined-page``.
        """
        blk = self._unlink(head)
        node, zone, head_order = blk.node, head.bit_length() or 1, blk.order  # page_to_zone
        first_dirty = blk.first_dirty
        end = head + (1 << head_order)
        offs = [m for m in self._pgstate_in(head, end) if self._pgstate[m] & PG_OFFLINED]
        cur = head
        while cur < end:
            if _has_offlined(offs, cur, cur + 1):
                cur += 1
                if first_dirty != INVALID_DIRTY_IDX and first_dirty:
                    first_dirty -= 1
                continue
            cur_order = 0
            while cur_order < head_order:
                nxt = 1 << (cur_order + 1)
                if cur + nxt > end or cur & (1 << cur_order):
                    break
                if _has_offlined(offs, cur + (1 << cur_order), cur + nxt):
                    break
                cur_order += 1
            size = 1 << cur_order
            self.page_list_add_scrub(
                cur, node, zone, cur_order, first_dirty if size > first_dirty else INVALID_DIRTY_IDX
            )
            cur += size
            if first_dirty != INVALID_DIRTY_IDX:
                first_dirty = first_dirty - size if first_dirty >= size else 0
        for m in offs:
            self.avail[node][zone] -= 1
            self.node_avail_pages[node] -= 1
            self.total_avail_pages -= 1
            lst = self.page_broken_list if self._pgstate[m] & PG_BROKEN else self.page_offlined_list
            lst[m] = None
        self.rules.after_offline(self, node, self._domain_list())
        return len(offs)

    def _domain_list(self) -> list[Domain]:
        """``for_each_domain`` order: Xen keeps ``domain_list`` sorted by domid."""
        return sorted(self.domains.values(), key=_domid)

    # ------------------------------------------------------ alloc_heap_pages

    def _alloc_heap_pages(
        self, zone_lo: int, zone_hi: int, order: int, memflags: int, d: Domain | None
    ) -> tuple[int, AllocInfo] | tuple[None, dict[str, Any]]:
        """The allocation proper: the head MFN and an ``AllocInfo``, or ``None`` and why."""
        zones = self._zone_pairs.get(zone_lo << 8 | zone_hi)
        if zones is None:  # shared, so that the many events holding it stay out of the GC's way
            zones = self._zone_pairs.setdefault(zone_lo << 8 | zone_hi, (zone_lo, zone_hi))
        if order > self.max_order:  # before the shift: a hostile order may be 2**64
            return None, {"zones": zones, "reason": f"order {order} > MAX_ORDER {self.max_order}"}
        request = 1 << order
        if not self.rules.host_gate(self, d, request, memflags):
            return None, {
                "zones": zones,
                "reason": "claimed memory: the host-wide claims gate refused",
            }
        self._gate_skipped.clear()
        self._rotated.clear()
        pg = self.get_free_buddy(zone_lo, zone_hi, order, memflags, d)
        if pg is None and not memflags & MEMF_no_scrub:
            pg = self.get_free_buddy(zone_lo, zone_hi, order, memflags | MEMF_no_scrub, d)
        if pg is None:
            skipped = sorted(set(self._gate_skipped))
            if skipped:
                nodes = ", ".join(map(str, skipped))
                return None, {
                    "zones": zones,
                    "reason": f"no suitable free block (per-node claims gate skipped node {nodes})",
                    "node_gate_skipped": skipped,
                }
            return None, {"zones": zones, "reason": "no suitable free block"}
        if self._pgstate:
            self._check_pages_free(pg, order)
        blk = self._free[pg]
        node = blk.node
        # redemption runs before the counters and the split, and what it decides depends
        # on the node, the request and the domain only; a BUG_ON in a version's redeem
        # (XenServer's) puts the buddy back as the walk found it: nothing changed
        try:
            redeemed = self.rules.redeem(self, d, node, request, memflags)
        except XenBugError:
            self._put_back_buddy(pg)
            raise
        del self._free[pg]
        zone, buddy_order = pg.bit_length() or 1, blk.order  # page_to_zone
        first_dirty = blk.first_dirty
        # split: keep the top half (docs/heap.md#alloc-heap-pages step 5)
        while buddy_order != order:
            buddy_order -= 1
            half = 1 << buddy_order
            self.page_list_add_scrub(
                pg,
                node,
                zone,
                buddy_order,
                first_dirty if half > first_dirty else INVALID_DIRTY_IDX,
            )
            pg += half
            if first_dirty != INVALID_DIRTY_IDX:
                first_dirty = first_dirty - half if first_dirty >= half else 0
        self.avail[node][zone] -= request
        self.node_avail_pages[node] -= request
        self.total_avail_pages -= request
        if d is not None:
            d.last_alloc_node = node
        self._seq += 1
        self._inuse[pg] = InUse(order, None, self._seq)
        dirty_key: str | None = None
        dirty_cnt = 0
        if first_dirty != INVALID_DIRTY_IDX:
            end = pg + request
            if memflags & MEMF_no_scrub and memflags & MEMF_keep_scrub:
                dirty_cnt = self._dirty.count(pg, end)
            else:
                dirty_cnt = self._dirty.remove(pg, end)
            self.node_need_scrub[node] -= dirty_cnt
            if dirty_cnt:
                dirty_key = "scrubbed" if not memflags & MEMF_no_scrub else "dirty"
        return pg, (
            zones,
            node,
            zone,
            blk.order,
            tuple(redeemed.items()) if redeemed else None,
            dirty_key,
            dirty_cnt,
        )

    def _put_back_buddy(self, head: int) -> None:
        """Undo ``get_free_buddy``'s unlinking of the buddy at *head*: back at the head of
        its list, and the dirty buddies the walk rotated back in place."""
        blk = self._free[head]
        lst = self._heap[(blk.node, head.bit_length() or 1, blk.order)]  # page_to_zone
        lst[head] = None
        lst.move_to_end(head, False)
        for rotated, pg in reversed(self._rotated):
            rotated.move_to_end(pg, False)

    def _check_pages_free(self, head: int, order: int) -> None:
        """Every page handed out must be free, or Xen ``BUG()``s (docs/heap.md#alloc-heap-pages step
        9).

        The pages are the top ``2**order`` of the buddy at *head*, which
        ``get_free_buddy`` just took off its list.  A page marked offline but
        not yet reserved (``mark_page_offline`` alone) is not free.  The model
        raises ``XenBugError`` with the buddy back at the head of its list and any
        dirty buddies the walk rotated back in place: nothing changed.
        """
        blk = self._free[head]
        end = head + (1 << blk.order)
        bad = [
            m for m in self._pgstate_in(end - (1 << order), end) if self._pgstate[m] & PG_OFFLINED
        ]
        if not bad:
            return
        self._put_back_buddy(head)
        raise XenBugError(
            f"alloc_heap_pages: MFN {bad[0]:#x} is offlined, not free (marked by "
            "mark_page_offline but not yet taken out by reserve_offlined_page); "
            "Xen would BUG() here"
        )

    # ------------------------------------------------------------- scrubbing
    def _scrub_node(self, node: int) -> int:
        scrubbed = 0
        if not self.node_need_scrub[node]:
            return 0
        for zone in range(self.nr_zones):
            for order in range(self.max_order, -1, -1):
                lst = self._heap.get((node, zone, order))
                while lst:
                    pg = next(reversed(lst))
                    if self._free[pg].first_dirty == INVALID_DIRTY_IDX:
                        break
                    cnt = self._dirty.remove(pg, pg + (1 << order))
                    self.node_need_scrub[node] -= cnt
                    scrubbed += cnt
                    del lst[pg]
                    self.page_list_add_scrub(pg, node, zone, order, INVALID_DIRTY_IDX)
                    if self.node_need_scrub[node] == 0:
                        return scrubbed
        return scrubbed

    # -------------------------------------------------------------- counters
    def _counters(self) -> dict[str, Any]:
        """The counters as an event's ``counters=`` entry."""
        return {"counters": Counters(self._counter_values())}

    def _counter_values(self) -> Counters:
        """``counters_from_flat(self._flat_counters())``, built directly (no flat tuple to
        take apart again: the bulk populate path takes one after each redeeming extent)."""
        claiming: dict[int, tuple[int, tuple[int, ...]]] = {}
        if self.outstanding_claims:  # the sum of the domains' outstanding_pages
            for d in self.domains.values():
                if d.outstanding_pages:
                    claiming[d.domid] = (d.outstanding_pages, tuple(d.claims))
        return Counters(
            (
                self.total_avail_pages,
                self.outstanding_claims,
                tuple(self.node_avail_pages),
                tuple(self.claimed_pages),
                claiming,
            )
        )

    def _flat_counters(self) -> tuple[Any, ...]:
        """The counters an event records, flat (``events.counters_from_flat``)."""
        return (
            self.total_avail_pages,
            self.outstanding_claims,
            self._claims_by_domain(),
            *self.node_avail_pages,
            *self.claimed_pages,
        )

    def _claims_by_domain(self) -> tuple[tuple[int, int, tuple[int, ...]], ...]:
        """Each claiming domain's ``(domid, outstanding_pages, claims)``; others left out."""
        if not self.outstanding_claims:  # the sum of the domains' outstanding_pages
            return ()
        return tuple(
            (d.domid, d.outstanding_pages, tuple(d.claims))
            for d in self.domains.values()
            if d.outstanding_pages
        )

    # --------------------------------------------------------------- domheap
    def _assign_pages(self, mfn: int, order: int, d: Domain, memflags: int) -> int:
        """``assign_pages`` proper (docs/heap.md#domheap): 0, or ``-EINVAL`` (dying), ``-EPERM``,
        ``-E2BIG``.
        """
        if d.is_dying:
            return -errno.EINVAL
        nr = 1 << order
        rec = self._inuse.get(mfn)
        if rec is not None and rec.order == order:
            recs: tuple[InUse, ...] = (rec,)  # the common case: one whole record
            extra = rec.extra
        else:
            head = self._find_inuse_head(mfn)
            assert head is not None
            if self._inuse[head].order > order:
                self._split_inuse(head, mfn, order)
            recs = tuple(self._recs_in(mfn, nr))
            extra = any(r.extra for r in recs)
        if extra:
            d.extra_pages += nr
            memflags &= ~MEMF_no_refcount
        elif not memflags & MEMF_no_refcount:
            tot = d.domain_tot_pages()
            if tot > d.max_pages:
                return -errno.EPERM
            if nr > d.max_pages - tot:
                return -errno.E2BIG
        if not memflags & MEMF_no_refcount:
            d.tot_pages += nr
        for r in recs:
            r.owner = d
        return 0

    def _recs_in(self, mfn: int, nr: int) -> list[InUse]:
        out = []
        m = mfn
        while m < mfn + nr:
            rec = self._inuse[m]
            out.append(rec)
            m += 1 << rec.order
        return out

    def _alloc_domheap_pages(self, d: Domain | None, order: int, memflags: int) -> int | None:
        """``alloc_domheap_pages`` on checked arguments (``Xen.alloc_domheap_pages``,
        docs/heap.md#domheap).
        """
        args_flags = memflags
        bits = memflags >> _MEMF_bits
        zone_hi = min(bits_to_zone(bits), self.nr_zones - 1) if bits else self._zone_hi_any
        if memflags & MEMF_no_owner:
            memflags |= MEMF_no_refcount
        pg: int | None = None
        result: AllocInfo | dict[str, Any]
        if not self.dma_bitsize:
            memflags &= ~MEMF_no_dma
            pg, result = self._alloc_heap_pages(1, zone_hi, order, memflags, d)
        else:
            attempts: list[dict[str, Any]] = []
            dma_zone = bits_to_zone(self.dma_bitsize)
            if dma_zone < zone_hi:
                pg, info = self._alloc_heap_pages(dma_zone + 1, zone_hi, order, memflags, d)
                attempts.append(alloc_info_dict(info))
            if pg is None and not memflags & MEMF_no_dma:
                pg, info = self._alloc_heap_pages(1, zone_hi, order, memflags, d)
                attempts.append(alloc_info_dict(info))
            if len(attempts) == 1:
                result = attempts[0]
            else:
                result = dict(attempts[-1]) if attempts else {"reason": "MEMF_no_dma"}
                if attempts:
                    result["attempts"] = attempts
        if pg is not None and d is not None and not memflags & MEMF_no_owner:
            if memflags & MEMF_no_refcount:
                self._inuse[pg].extra = True
            if not memflags & MEMF_keep_scrub:
                rc = self._assign_pages(pg, order, d, memflags)
                if rc:
                    self._take_inuse(pg, order)
                    self._free_heap_pages(pg, order, bool(memflags & MEMF_no_scrub))
                    result = alloc_info_dict(result)
                    result["assign_pages"] = rc
                    result["reason"] = f"assign_pages failed ({errno.errorcode[-rc]})"
                    pg = None
        self.events.record_alloc(
            "alloc_domheap_pages",
            None if d is None else d.domid,
            order,
            args_flags,
            pg,
            result,
            self._flat_counters(),
        )
        return pg

    def _free_domheap_pages(self, mfn: int, order: int) -> None:
        """``free_domheap_pages`` on checked arguments (``Xen.free_domheap_pages``,
        docs/heap.md#domheap).
        """
        recs = self._take_inuse(mfn, order, dry_run=True)
        d = recs[0].owner
        if len(recs) > 1 and any(r.owner is not d for r in recs):
            raise ValueError(f"block {mfn:#x} order {order} spans pages of several owners")
        size = 1 << order
        for rec in self._take_inuse(mfn, order):
            if d is not None:
                self._uncount_pages(d, rec)
        if d is not None:
            scrub = d.is_dying or self.opt_scrub_domheap
            # Xen never frees a mapped page (the mapping holds a reference); the
            # model lets a caller try, and unmaps the freed frames so the p2m stays true
            for gfn, m, o in d.p2m.extents() if d.p2m else ():
                lo, hi = max(m, mfn), min(m + (1 << o), mfn + size)
                for page in range(lo, hi):
                    d.p2m.remove(gfn + page - m)
        else:
            scrub = True
        self._free_heap_pages(mfn, order, scrub)
        self.events.record_free(mfn, order, d.domid if d else None, scrub, self._flat_counters())
