"""Page offlining and onlining (``page-allocator.md`` §5, ``claims-v7.md`` §7)."""

from __future__ import annotations

import errno
from bisect import bisect_left
from typing import Any

from .constants import (
    DOMID_INVALID,
    DOMID_XEN,
    INVALID_DIRTY_IDX,
    PG_OFFLINE_AGAIN,
    PG_OFFLINE_ANONYMOUS,
    PG_OFFLINE_BROKEN,
    PG_OFFLINE_FAILED,
    PG_OFFLINE_OFFLINED,
    PG_OFFLINE_OWNED,
    PG_OFFLINE_OWNER_SHIFT,
    PG_OFFLINE_PENDING,
    PG_OFFLINE_STATUS_BROKEN,
    PG_OFFLINE_STATUS_OFFLINE_PENDING,
    PG_OFFLINE_STATUS_OFFLINED,
    PG_OFFLINE_XENPAGE,
    PG_ONLINE_BROKEN,
    PG_ONLINE_FAILED,
    PG_ONLINE_ONLINED,
)
from .domain import Domain
from .heap import Heap
from .page_alloc import PG_BROKEN, PG_OFFLINED, PG_OFFLINING
from .validate import check_bool, check_int


class Offlining(Heap):
    """The offline side of ``page_alloc.c``: broken and offlined pages."""

    domains: dict[int, Domain]

    def _domain_list(self) -> list[Domain]:
        """``for_each_domain`` order: Xen keeps ``domain_list`` sorted by domid."""
        return sorted(self.domains.values(), key=lambda d: d.domid)

    # ------------------------------------------------- reserve_offlined_page
    def reserve_offlined_page(self, head_mfn: int) -> int:
        """Take the offlined pages out of the free buddy at *head_mfn*; return their count.

        Raises ``ValueError`` (nothing changed) if *head_mfn* heads no free buddy.
        """
        check_int("head_mfn", head_mfn, 0)
        if head_mfn not in self._free:
            raise ValueError(f"MFN {head_mfn:#x} is not the head of a free buddy")
        before = self._claims_snapshot()
        count = self._reserve_offlined_page(head_mfn)
        self.events.record(
            "reserve_offlined_page",
            {"head_mfn": head_mfn},
            count,
            recalled=self._claims_delta(before),
            **self._counters(),
        )
        return count

    def _reserve_offlined_page(self, head: int) -> int:
        """``reserve_offlined_page`` with the 2026 alignment fixes (PA §5.2)."""
        blk = self._unlink(head)
        node, zone, head_order = blk.node, self.page_to_zone(head), blk.order
        first_dirty = blk.first_dirty
        end = head + (1 << head_order)
        offs = [m for m in self._pgstate_in(head, end) if self._pgstate[m] & PG_OFFLINED]

        def has_offlined(s: int, e: int) -> bool:
            i = bisect_left(offs, s)
            return i < len(offs) and offs[i] < e

        cur = head
        while cur < end:
            if has_offlined(cur, cur + 1):
                cur += 1
                if first_dirty != INVALID_DIRTY_IDX and first_dirty:
                    first_dirty -= 1
                continue
            cur_order = 0
            while cur_order < head_order:
                nxt = 1 << (cur_order + 1)
                if cur + nxt > end or cur & (1 << cur_order):
                    break
                if has_offlined(cur + (1 << cur_order), cur + nxt):
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

    def _claims_snapshot(self) -> dict[int, tuple[int, tuple[int, ...]]]:
        return {d.domid: (d.outstanding_pages, tuple(d.claims)) for d in self.domains.values()}

    def _claims_delta(self, before: dict[int, tuple[int, tuple[int, ...]]]) -> dict[int, int]:
        out = {}
        for d in self.domains.values():
            was = before.get(d.domid, (d.outstanding_pages, ()))[0]
            if was != d.outstanding_pages:
                out[d.domid] = was - d.outstanding_pages
        return out

    # --------------------------------------------------------- offline_page
    def mark_page_offline(self, mfn: int, broken: bool = False) -> str:
        """``mark_page_offline``: free -> offlined, other -> offlining; returns the old state.

        Only the state changes: a free page stays inside its buddy until
        ``reserve_offlined_page`` (or ``offline_page``, which calls it).
        """
        self._check_mfn(mfn)
        check_bool("broken", broken)
        old = self.page_state(mfn)
        self._mark_page_offline(mfn, broken)
        self.events.record(
            "mark_page_offline", {"mfn": mfn, "broken": broken}, old, now=self.page_state(mfn)
        )
        return old

    def _check_mfn(self, mfn: int) -> None:
        check_int("mfn", mfn, 0)
        if not self.mfn_valid(mfn):
            raise ValueError(f"MFN {mfn:#x} is outside every node's memory map")

    def _mark_page_offline(self, mfn: int, broken: bool) -> None:
        f = self._pgstate.get(mfn, 0)
        if not f & (PG_OFFLINED | PG_OFFLINING):
            f |= PG_OFFLINED if self.find_free_head(mfn) is not None else PG_OFFLINING
        if broken:
            f |= PG_BROKEN
        self._pgstate[mfn] = f

    def _owner_of(self, mfn: int) -> Domain | None:
        head = self.find_inuse_head(mfn)
        return self._inuse[head].owner if head is not None else None

    def offline_page(self, mfn: int, broken: bool = False) -> tuple[int, int]:
        """``offline_page``: returns ``(rc, status)`` (PA §5.1)."""
        check_int("mfn", mfn, 0)
        if not isinstance(broken, bool):
            raise TypeError("broken must be a bool")
        args = {"mfn": mfn, "broken": broken}
        if not self.mfn_valid(mfn):
            self.events.record("offline_page", args, -errno.EINVAL, status=0)
            return -errno.EINVAL, 0
        owner = self._owner_of(mfn)
        if self._pgstate.get(mfn, 0) & PG_BROKEN and owner is not None:
            owner.is_crashed = True  # domain_crash(owner)
            self.events.record(
                "offline_page", args, 0, status=PG_OFFLINE_AGAIN, crashed=owner.domid
            )
            return 0, PG_OFFLINE_AGAIN
        before = self._claims_snapshot()
        head = self.find_inuse_head(mfn)
        xen_heap = head is not None and self._inuse[head].xen_heap
        self._mark_page_offline(mfn, broken)
        info: dict[str, Any] = {}
        if self._pgstate[mfn] & PG_OFFLINED:
            free_head = self.find_free_head(mfn)  # reserve_heap_page()
            if free_head is not None:
                info["reserved"] = self._reserve_offlined_page(free_head)
            status = PG_OFFLINE_OFFLINED | (PG_OFFLINE_BROKEN if broken else 0)
        else:
            if owner is not None:
                status = PG_OFFLINE_OWNED | PG_OFFLINE_PENDING
                status |= owner.domid << PG_OFFLINE_OWNER_SHIFT
            elif xen_heap:
                status = PG_OFFLINE_XENPAGE | PG_OFFLINE_PENDING
                status |= DOMID_XEN << PG_OFFLINE_OWNER_SHIFT
            else:
                status = PG_OFFLINE_ANONYMOUS | PG_OFFLINE_FAILED
                status |= DOMID_INVALID << PG_OFFLINE_OWNER_SHIFT
            if broken:
                status |= PG_OFFLINE_BROKEN
        recalled = self._claims_delta(before)
        if recalled:
            info["recalled"] = recalled
        self.events.record(
            "offline_page",
            args,
            0,
            status=status,
            state=self.page_state(mfn),
            **info,
            **self._counters(),
        )
        return 0, status

    # ---------------------------------------------------------- online_page
    def online_page(self, mfn: int) -> tuple[int, int]:
        """``online_page``: returns ``(rc, status)`` (PA §5.3)."""
        check_int("mfn", mfn, 0)
        args = {"mfn": mfn}
        if not self.mfn_valid(mfn):
            self.events.record("online_page", args, -errno.EINVAL, status=0)
            return -errno.EINVAL, 0
        f = self._pgstate.get(mfn, 0)
        if f & PG_BROKEN:
            status = PG_ONLINE_FAILED | PG_ONLINE_BROKEN
            self.events.record("online_page", args, -errno.EINVAL, status=status)
            return -errno.EINVAL, status
        if f & PG_OFFLINED:
            del self.page_offlined_list[mfn]
            del self._pgstate[mfn]
            node = self.mfn_to_nid(mfn)
            assert node is not None
            if mfn in self._dirty:  # PGC_need_scrub dropped, node_need_scrub kept (PA §5.3)
                self.need_scrub_leaked[node] += 1
            self._free_heap_pages(mfn, 0, False)
            self.events.record("online_page", args, 0, status=PG_ONLINE_ONLINED, **self._counters())
            return 0, PG_ONLINE_ONLINED
        if f & PG_OFFLINING:
            del self._pgstate[mfn]
            self.events.record("online_page", args, 0, status=PG_ONLINE_ONLINED, cancelled=True)
            return 0, PG_ONLINE_ONLINED
        return 0, 0

    def query_page_offline(self, mfn: int) -> tuple[int, int]:
        """``query_page_offline``: returns ``(rc, status)`` (PA §5.3)."""
        check_int("mfn", mfn, 0)
        if not self.mfn_valid(mfn):
            return -errno.EINVAL, 0
        f = self._pgstate.get(mfn, 0)
        status = 0
        if f & PG_OFFLINING:
            status |= PG_OFFLINE_STATUS_OFFLINE_PENDING
        if f & PG_BROKEN:
            status |= PG_OFFLINE_STATUS_BROKEN
        if f & PG_OFFLINED:
            status |= PG_OFFLINE_STATUS_OFFLINED
        return 0, status
