"""Events: every state change of a host is recorded as one event.

An event says what was asked (``op`` and ``args``), what happened (``result``)
and the details views need to explain it (``info``: MFNs, nodes, redeemed
claims, counters after the step).  Views replay and explain events; they never
recompute what the model decided.
"""

from __future__ import annotations

import copy
import weakref
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from threading import get_ident
from typing import Any, overload

from mypy_extensions import mypyc_attr

COUNTER_KEYS = (
    "total_avail_pages",
    "outstanding_claims",
    "node_avail_pages",
    "claimed_pages",
    "domain_claims",
)
_COUNTER_INDEX = {k: i for i, k in enumerate(COUNTER_KEYS)}


@mypyc_attr(native_class=False)  # a tuple subclass: a plain Python class when compiled
class Counters(tuple[Any, ...]):
    """The host's counters after an event; read like a dict (``c["total_avail_pages"]``)."""

    KEYS = COUNTER_KEYS
    _INDEX = _COUNTER_INDEX

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._INDEX[key])
        return tuple.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        i = self._INDEX.get(key)
        return default if i is None or i >= len(self) else tuple.__getitem__(self, i)

    def keys(self) -> tuple[str, ...]:
        return self.KEYS[: len(self)]

    def as_dict(self) -> dict[str, Any]:
        return {k: self[k] for k in self.keys()}


def counters_from_flat(flat: tuple[Any, ...]) -> Counters:
    """``Counters`` from the flat tuple the hot paths record (``HeapCore._flat_counters``).

    The flat form is ``total, outstanding, domain claims, *node_avail_pages,
    *claimed_pages``.  Domain claims are a tuple of ``(domid,
    outstanding_pages, claims)`` for each claiming domain, read back as a dict.
    All plain values and tuples, no dict: see ``EventLog``.
    """
    n = (len(flat) - 3) >> 1
    head = (flat[0], flat[1], flat[3 : 3 + n], flat[3 + n :])
    return Counters((*head, {domid: (out, claims) for domid, out, claims in flat[2]}))


# The info of a successful allocation, as ``HeapCore._alloc_heap_pages`` returns and
# the log stores it: a plain tuple (no dict, see ``EventLog``), read as a dict.
AllocInfo = tuple[
    tuple[int, int],  # zones: (zone_lo, zone_hi) asked for
    int,  # node
    int,  # zone
    int,  # from_order: the order of the buddy the pages came from
    tuple[tuple[str, int], ...] | None,  # redeemed: the rule set's redeem(), as items
    str | None,  # "scrubbed" or "dirty" ...
    int,  # ... and how many pages were
]


ALLOC_INFO_LEN = 7  # the fields of an AllocInfo


def alloc_info_dict(info: AllocInfo | dict[str, Any]) -> dict[str, Any]:
    """An allocation's info as a dict (a dict is returned as it is)."""
    if isinstance(info, dict):
        return info
    zones, node, zone, from_order, redeemed, dirty_key, dirty = info
    out: dict[str, Any] = {"zones": zones, "node": node, "zone": zone, "from_order": from_order}
    if redeemed:
        out["redeemed"] = dict(redeemed)
    if dirty_key is not None:
        out[dirty_key] = dirty
    return out


@mypyc_attr(allow_interpreted_subclasses=True, serializable=True)  # copyable when compiled
class Event:
    """One state change (or one attempt that returned a failure)."""

    __slots__ = ("seq", "op", "args", "result", "info", "top")

    def __init__(
        self,
        seq: int,
        op: str,
        args: dict[str, Any],
        result: Any,
        info: dict[str, Any] | None = None,
        top: bool = True,
    ) -> None:
        self.seq = seq
        self.op = op
        self.args = args
        self.result = result
        self.info = {} if info is None else info
        self.top = top  # False for steps recorded inside another call (replay skips them)

    def __repr__(self) -> str:
        return f"Event({self})"

    def short(self) -> str:
        """One line for people: the op, its main arguments, the result and the reason."""
        keep = {
            k: v for k, v in self.args.items() if k not in ("caller", "entries", "extent_start")
        }
        args = ", ".join(f"{k}={v}" for k, v in keep.items())
        res = (
            f"{self.result:#x}"
            if isinstance(self.result, int) and self.result > 4096
            else self.result
        )
        why = self.info.get("reason")
        return f"#{self.seq} {self.op}({args}) → {res}" + (f" ({why})" if why else "")

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        extra = "".join(f" {k}={v!r}" for k, v in self.info.items() if k != "counters")
        return f"#{self.seq} {self.op}({args}) -> {self.result!r}{extra}"


@mypyc_attr(allow_interpreted_subclasses=True, serializable=True)  # copyable when compiled
class AllocRun:
    """The allocation events of one bulk populate run, built when first read.

    A run takes extents of order ``k`` from one node, or from several nodes in
    turn (``populate_physmap`` without a node: step ``j`` on ``nodes[j % m]``).
    On each node it takes them from that node's free blocks ``(addr, order)``,
    the smallest order first, each from its top down as ``alloc_heap_pages``
    splits it, so step ``j``'s MFN and the order of the block it came from
    follow from ``j``.  Only the steps that redeemed claims are stored, with
    the counters after them; the counters after any other step follow from
    those and the pages taken since.  ``event(j)`` rebuilds exactly the event
    the per-extent loop records.  The event log holds the run object once per
    step (``first`` is the sequence number of step 0).
    """

    __slots__ = (
        "args",
        "zones",
        "nodes",
        "node_zones",
        "k",
        "blocks",
        "starts",
        "first",
        "red_steps",
        "red",
        "snaps",
    )

    def __init__(
        self,
        args: dict[str, Any],
        zones: tuple[int, int],
        nodes: tuple[int, ...],
        node_zones: tuple[int, ...],
        k: int,
        blocks: tuple[tuple[tuple[int, int], ...], ...],
        first: int,
        before: tuple[Any, ...],
    ) -> None:
        self.args = args
        self.zones = zones
        self.nodes = nodes  # the nodes in turn (one, unless round robin)
        self.node_zones = node_zones  # the zone each node's blocks are in
        self.k = k
        self.blocks = blocks  # each node's blocks (addr, order), ascending order
        starts: list[tuple[int, ...]] = []
        for bl in blocks:  # the node step at which each block is reached
            acc, st = 0, []
            for _addr, o in bl:
                st.append(acc)
                acc += 1 << (o - k)
            starts.append(tuple(st))
        self.starts = tuple(starts)
        self.first = first
        self.red_steps: list[int] = []  # the steps that redeemed claims, ascending
        self.red: list[dict[str, int]] = []  # ... and what each redeemed
        self.snaps: list[tuple[Any, ...]] = [before]  # counters before, then after each red

    def redeemed(self, j: int, redeemed: dict[str, int], counters: tuple[Any, ...]) -> None:
        """Step *j* redeemed claims; *counters* are the host's counters after it."""
        self.red_steps.append(j)
        self.red.append(redeemed)
        self.snaps.append(counters)

    def mfn(self, j: int) -> tuple[int, int, int]:
        """Step *j*'s ``(node index, MFN, order of the block it was taken from)``."""
        m = len(self.nodes)
        p, t = j % m, j // m
        starts = self.starts[p]
        b = bisect_right(starts, t) - 1
        addr, o = self.blocks[p][b]
        k = self.k
        left = (1 << (o - k)) - (t - starts[b])  # units of the block left before step j
        return p, addr + ((left - 1) << k), k + ((left & -left).bit_length() - 1)

    def event(self, j: int, seq: int) -> Event:
        p, mfn, from_order = self.mfn(j)
        r = bisect_right(self.red_steps, j)  # redemptions at or before step j
        redeemed = self.red[r - 1] if r and self.red_steps[r - 1] == j else None
        before, claims = self.snaps[0], self.snaps[r]
        k, m = self.k, len(self.nodes)
        node_avail = list(before[2])
        for q, node in enumerate(self.nodes):
            if j >= q:  # steps 0..j taken on nodes[q]
                node_avail[node] -= ((j - q) // m + 1) << k
        counters = Counters(
            (before[0] - ((j + 1) << k), claims[1], tuple(node_avail), claims[3], *claims[4:])
        )
        info: dict[str, Any] = {
            "zones": self.zones,
            "node": self.nodes[p],
            "zone": self.node_zones[p],
            "from_order": from_order,
        }
        if redeemed:
            info["redeemed"] = redeemed
        info["counters"] = counters
        return Event(seq, "alloc_domheap_pages", dict(self.args), mfn, info, False)


@mypyc_attr(allow_interpreted_subclasses=True, serializable=True)  # copyable when compiled
class AfterEvent:
    """A host's ``on_record`` hook: ``check_invariants()`` after each event with ``debug_checks``.

    It holds the host weakly, so that a host and its event log form no
    reference cycle and a dropped host is freed at once, not by the cyclic GC.
    """

    host: weakref.ref[Any]

    def __init__(self, host: Any) -> None:
        self.host = weakref.ref(host)

    def check(self) -> None:
        xen = self.host()
        if xen is not None and xen.debug_checks:
            xen.check_invariants()

    def __deepcopy__(self, memo: dict[int, Any]) -> AfterEvent:
        host = self.host()
        if host is None:
            return self  # a dropped host's hook does nothing
        return AfterEvent(copy.deepcopy(host, memo))  # the copy's hook checks the copy


FREE_OP = "free_domheap_pages"  # the op of the events record_free stores

LOG_CHUNK = 1024
"""Entries per sealed chunk of an ``EventLog``: a full collection walks chunks, not events."""


@mypyc_attr(allow_interpreted_subclasses=True, serializable=True)  # copyable when compiled
class EventLog:
    """The ordered list of a host's events, each built when first read.

    Allocations and frees, the hottest steps, are stored as one flat tuple of
    plain values (``record_alloc``, ``record_free``); bulk runs as one
    ``AllocRun``.  Holding no dict lets Python's cyclic GC stop tracking
    those tuples: it untracks a tuple of untracked values when it collects
    it (an allocation with no claims about at its first collection).  The
    entries are kept in sealed chunks of ``LOG_CHUNK`` (tuples, which the GC
    untracks in turn once their entries are) and an open tail, so a full
    collection walks a few chunks, not every event: a log of millions of
    events costs it almost nothing, and allocation stays as fast in a long
    session as in a new one (``tests/test_event_log.py``, README Speed).
    """

    def __init__(self) -> None:
        # the entries (Event; AllocRun or tuple until first read) in sealed chunks
        # of LOG_CHUNK, then the open tail; entries of sealed chunks once built
        self._chunks: list[tuple[Any, ...]] = []
        self._tail: list[Any] = []
        self._built: dict[int, Event] = {}
        self.on_record: AfterEvent | None = None  # the host's hook (claims.Xen sets it)
        self._depth = 0
        self._by_thread: dict[int, int] = {}  # thread id -> its last top-level event

    def _seal(self) -> None:
        """Move whole chunks from the tail into sealed chunks (tuples the GC can untrack)."""
        tail = self._tail
        n = len(tail) - len(tail) % LOG_CHUNK
        for i in range(0, n, LOG_CHUNK):
            self._chunks.append(tuple(tail[i : i + LOG_CHUNK]))
        self._tail = tail[n:]

    def _entries(self, start: int = 0) -> list[Any]:
        """The stored entries from sequence number *start* on, as kept (for tests and tools)."""
        flat = [e for chunk in self._chunks for e in chunk] + self._tail
        return flat[start:]

    def _extend(self, entries: list[Any]) -> None:
        """Append stored entries (a bulk run's steps) without running the hook."""
        self._tail.extend(entries)
        if len(self._tail) >= LOG_CHUNK:
            self._seal()

    def _get(self, i: int) -> Event:
        n = len(self._chunks) * LOG_CHUNK
        seq = i if i >= 0 else n + len(self._tail) + i
        if not 0 <= seq < n + len(self._tail):
            raise IndexError(f"event {i} out of range: the log holds {n + len(self._tail)}")
        e: Any
        if seq < n:
            built = self._built.get(seq)
            if built is not None:
                return built
            e = self._chunks[seq // LOG_CHUNK][seq % LOG_CHUNK]
        else:
            e = self._tail[seq - n]
        if type(e) is Event:
            return e
        ev: Event
        if type(e) is AllocRun:
            ev = e.event(seq - e.first, seq)
        elif e[0] == FREE_OP:  # recorded by record_free
            op, top, mfn, order, domid, need_scrub = e[:6]
            info = {"d": domid, "need_scrub": need_scrub, "counters": counters_from_flat(e[6:])}
            ev = Event(seq, op, {"mfn": mfn, "order": order}, None, info, top)
        else:  # recorded by record_alloc: its AllocInfo inline, then the counters
            op, top, domid, order, memflags, mfn = e[:6]
            info = alloc_info_dict(e[6 : 6 + ALLOC_INFO_LEN])
            info["counters"] = counters_from_flat(e[6 + ALLOC_INFO_LEN :])
            args = {"d": domid, "order": order, "memflags": memflags}
            ev = Event(seq, op, args, mfn, info, top)
        if seq < n:
            self._built[seq] = ev
        else:
            self._tail[seq - n] = ev
        return ev

    def _push(self, entry: Any, top: bool) -> None:
        """Append one entry (an ``Event`` or a compact tuple) and run the hook."""
        tail = self._tail
        if top:
            self._by_thread[get_ident()] = len(self._chunks) * LOG_CHUNK + len(tail)
        tail.append(entry)
        if len(tail) == LOG_CHUNK:
            self._seal()
        if self.on_record is not None:
            self.on_record.check()

    def record(self, op: str, args: dict[str, Any], result: Any, **info: Any) -> Event:
        top = self._depth == 0
        ev = Event(len(self), op, args, result, info, top)
        self._push(ev, top)
        return ev

    def record_info(self, op: str, args: dict[str, Any], result: Any, info: dict[str, Any]) -> None:
        """``record`` with an info dict the caller built (and hands over)."""
        top = self._depth == 0
        self._push(Event(len(self), op, args, result, info, top), top)

    def record_alloc(
        self,
        op: str,
        domid: int | None,
        order: int,
        memflags: int,
        mfn: int | None,
        info: AllocInfo | dict[str, Any],
        flat_counters: tuple[Any, ...],
    ) -> None:
        """An allocation (args ``d``, ``order``, ``memflags``), with the counters after it.

        *info* is an ``AllocInfo`` (an allocation from one zone range) or a dict
        (a refusal, or the DMA zone's two attempts: rare); *flat_counters* is
        ``HeapCore._flat_counters()``.  An ``AllocInfo`` event is kept as one flat
        tuple, the AllocInfo's fields inline (no tuple inside a tuple, so the
        GC untracks it at its first collection), and built when first read; a
        dict one is built at once.  The hottest call of the model: ``_push``
        is written out here to save a call.
        """
        top = self._depth == 0
        if type(info) is dict:
            info["counters"] = counters_from_flat(flat_counters)
            args = {"d": domid, "order": order, "memflags": memflags}
            self._push(Event(len(self), op, args, mfn, info, top), top)
            return
        tail = self._tail
        if top:
            self._by_thread[get_ident()] = len(self._chunks) * LOG_CHUNK + len(tail)
        tail.append((op, top, domid, order, memflags, mfn, *info, *flat_counters))
        if len(tail) == LOG_CHUNK:
            self._seal()
        if self.on_record is not None:
            self.on_record.check()

    def record_free(
        self,
        mfn: int,
        order: int,
        domid: int | None,
        need_scrub: bool,
        flat_counters: tuple[Any, ...],
    ) -> None:
        """``free_domheap_pages`` (args ``mfn``, ``order``; info ``d``, ``need_scrub``).

        Kept as one plain tuple, as ``record_alloc`` keeps an allocation; the op
        name at its head tells ``_get`` which of the two layouts it is.
        """
        top = self._depth == 0
        self._push((FREE_OP, top, mfn, order, domid, need_scrub, *flat_counters), top)

    @contextmanager
    def nested(self) -> Iterator[None]:
        """Events recorded inside this block belong to an enclosing call."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def top_level(self) -> list[Event]:
        """The events a caller asked for directly (what replay re-runs)."""
        return [
            self._get(i)
            for i, e in enumerate(self._entries())
            if (e.top if type(e) is Event else type(e) is tuple and e[1])
        ]

    def __len__(self) -> int:
        return len(self._chunks) * LOG_CHUNK + len(self._tail)

    @overload
    def __getitem__(self, i: int) -> Event: ...

    @overload
    def __getitem__(self, i: slice) -> list[Event]: ...

    def __getitem__(self, i: int | slice) -> Event | list[Event]:
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(len(self)))]
        return self._get(i)

    def __iter__(self) -> Iterator[Event]:
        for i in range(len(self)):
            yield self._get(i)

    def since(self, seq: int) -> list[Event]:
        return [self._get(i) for i in range(seq, len(self))]

    def last_mine(self) -> Event | None:
        """The last top-level event the calling thread recorded (its last call's result)."""
        i = self._by_thread.get(get_ident())
        return None if i is None else self._get(i)

    def last(self) -> Event | None:
        return self._get(-1) if len(self) else None
