"""Events: every state change of a host is recorded as one event.

An event says what was asked (``op`` and ``args``), what happened (``result``)
and the details views need to explain it (``info``: MFNs, nodes, redeemed
claims, counters after the step).  Views replay and explain events; they never
recompute what the model decided.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, overload


class Counters(tuple[Any, ...]):
    """The host's counters after an event; read like a dict (``c["total_avail_pages"]``)."""

    KEYS = (
        "total_avail_pages",
        "outstanding_claims",
        "node_avail_pages",
        "claimed_pages",
        "domain_claims",
    )
    _INDEX = {k: i for i, k in enumerate(KEYS)}

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


class AllocRun:
    """The allocation events of one bulk populate run, built when first read.

    Each step keeps what differs between its events (MFN, the order of the block
    it came from, the claims redeemed); the counters after a step follow from the
    counters before the run, the pages taken so far, and the last step that
    redeemed claims.  ``event(j)`` rebuilds exactly the event the per-extent
    loop records.
    """

    __slots__ = ("args", "zones", "node", "zone", "size", "steps", "snaps")

    def __init__(
        self,
        args: dict[str, Any],
        zones: tuple[int, int],
        node: int,
        zone: int,
        size: int,
        before: tuple[Any, ...],
    ) -> None:
        self.args = args
        self.zones = zones
        self.node = node
        self.zone = zone
        self.size = size
        self.steps: list[tuple[int, int, dict[str, int] | None, int]] = []
        self.snaps: list[tuple[Any, ...]] = [
            before
        ]  # counters before the run, then after redeeming

    def event(self, j: int, seq: int) -> Event:
        mfn, from_order, redeemed, snap = self.steps[j]
        before, claims = self.snaps[0], self.snaps[snap]
        taken = (j + 1) * self.size
        node_avail = list(before[2])
        node_avail[self.node] -= taken
        counters = Counters(
            (before[0] - taken, claims[1], tuple(node_avail), claims[3], *claims[4:])
        )
        info: dict[str, Any] = {
            "zones": self.zones,
            "node": self.node,
            "zone": self.zone,
            "from_order": from_order,
        }
        if redeemed:
            info["redeemed"] = redeemed
        info["counters"] = counters
        return Event(seq, "alloc_domheap_pages", dict(self.args), mfn, info, False)


class EventLog:
    """The ordered list of a host's events (bulk runs are stored compactly, read as events)."""

    def __init__(self) -> None:
        self._events: list[Any] = []  # Event, or (AllocRun, step) until first read
        self.on_record: Callable[[], None] | None = None
        self._depth = 0

    def _get(self, i: int) -> Event:
        e = self._events[i]
        if type(e) is tuple:
            seq = i if i >= 0 else len(self._events) + i
            e = e[0].event(e[1], seq)
            self._events[seq] = e
        return e  # type: ignore[no-any-return]

    def record(self, op: str, args: dict[str, Any], result: Any, **info: Any) -> Event:
        ev = Event(len(self._events), op, args, result, info, self._depth == 0)
        self._events.append(ev)
        if self.on_record is not None:
            self.on_record()
        return ev

    def record_info(self, op: str, args: dict[str, Any], result: Any, info: dict[str, Any]) -> None:
        """``record`` with an info dict the caller built (and hands over)."""
        self._events.append(Event(len(self._events), op, args, result, info, self._depth == 0))
        if self.on_record is not None:
            self.on_record()

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
        return [e for e in self._events if type(e) is not tuple and e.top]

    def __len__(self) -> int:
        return len(self._events)

    @overload
    def __getitem__(self, i: int) -> Event: ...

    @overload
    def __getitem__(self, i: slice) -> list[Event]: ...

    def __getitem__(self, i: int | slice) -> Event | list[Event]:
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(len(self._events)))]
        return self._get(i)

    def __iter__(self) -> Iterator[Event]:
        for i in range(len(self._events)):
            yield self._get(i)

    def since(self, seq: int) -> list[Event]:
        return [self._get(i) for i in range(seq, len(self._events))]

    def last(self) -> Event | None:
        return self._get(-1) if self._events else None
