"""Page offlining: ``offline_page``, ``online_page``, ``query_page_offline``.

After ``xen/common/page_alloc.c`` (with master's June/July 2026 fixes to
``reserve_offlined_page``) and ``XEN_SYSCTL_page_offline_op``
(``xen/common/sysctl.c``).  A free page is taken out of its buddy at once; a
page in use is only marked and leaves the heap when it is freed.  Taking
pages out of a buddy (``HeapCore._reserve_offlined_page``) then asks the
host's version what to do about claims (v7 recalls those above free memory).
The rules: ``docs/offlining.md``.
"""

from __future__ import annotations

import errno
from typing import Any

from .constants import (
    DOMID_INVALID,
    DOMID_XEN,
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
from .heap import find_free_head, find_inuse_head, mfn_to_nid, mfn_valid, page_state
from .page_alloc import PG_BROKEN, PG_OFFLINED, PG_OFFLINING, HeapCore
from .sched import Domain
from .validate import check_bool, check_int


def reserve_offlined_page(xen: HeapCore, head_mfn: int) -> int:
    """Take the offlined pages out of the free buddy at *head_mfn*; return their count.

    Raises ``ValueError`` (nothing changed) if *head_mfn* heads no free buddy.
    """
    check_int("head_mfn", head_mfn, 0)
    if head_mfn not in xen._free:
        raise ValueError(f"MFN {head_mfn:#x} is not the head of a free buddy")
    before = claims_snapshot(xen)
    count = xen._reserve_offlined_page(head_mfn)
    xen.events.record(
        "reserve_offlined_page",
        {"head_mfn": head_mfn},
        count,
        recalled=claims_delta(xen, before),
        **xen._counters(),
    )
    return count


def claims_snapshot(xen: HeapCore) -> dict[int, tuple[int, tuple[int, ...]]]:
    return {d.domid: (d.outstanding_pages, tuple(d.claims)) for d in xen.domains.values()}


def claims_delta(xen: HeapCore, before: dict[int, tuple[int, tuple[int, ...]]]) -> dict[int, int]:
    out = {}
    for d in xen.domains.values():
        was = before.get(d.domid, (d.outstanding_pages, ()))[0]
        if was != d.outstanding_pages:
            out[d.domid] = was - d.outstanding_pages
    return out


def mark_page_offline(xen: HeapCore, mfn: int, broken: bool = False) -> str:
    """``mark_page_offline``: free -> offlined, other -> offlining; returns the old state.

    Only the state changes: a free page stays inside its buddy until
    ``reserve_offlined_page`` (or ``offline_page``, which calls it).
    """
    check_mfn(xen, mfn)
    check_bool("broken", broken)
    old = page_state(xen, mfn)
    _mark_page_offline(xen, mfn, broken)
    xen.events.record(
        "mark_page_offline", {"mfn": mfn, "broken": broken}, old, now=page_state(xen, mfn)
    )
    return old


def check_mfn(xen: HeapCore, mfn: int) -> None:
    check_int("mfn", mfn, 0)
    if not mfn_valid(xen, mfn):
        raise ValueError(f"MFN {mfn:#x} is outside every node's memory map")


def _mark_page_offline(xen: HeapCore, mfn: int, broken: bool) -> None:
    f = xen._pgstate.get(mfn, 0)
    if not f & (PG_OFFLINED | PG_OFFLINING):
        f |= PG_OFFLINED if find_free_head(xen, mfn) is not None else PG_OFFLINING
    if broken:
        f |= PG_BROKEN
    xen._pgstate[mfn] = f


def owner_of(xen: HeapCore, mfn: int) -> Domain | None:
    head = find_inuse_head(xen, mfn)
    return xen._inuse[head].owner if head is not None else None


def offline_page(xen: HeapCore, mfn: int, broken: bool = False) -> tuple[int, int]:
    """``offline_page``: returns ``(rc, status)`` (docs/offlining.md#offline-page)."""
    check_int("mfn", mfn, 0)
    if not isinstance(broken, bool):
        raise TypeError("broken must be a bool")
    args = {"mfn": mfn, "broken": broken}
    if not mfn_valid(xen, mfn):
        xen.events.record("offline_page", args, -errno.EINVAL, status=0)
        return -errno.EINVAL, 0
    owner = owner_of(xen, mfn)
    if xen._pgstate.get(mfn, 0) & PG_BROKEN and owner is not None:
        owner.is_crashed = True  # domain_crash(owner)
        xen.events.record("offline_page", args, 0, status=PG_OFFLINE_AGAIN, crashed=owner.domid)
        return 0, PG_OFFLINE_AGAIN
    before = claims_snapshot(xen)
    head = find_inuse_head(xen, mfn)
    xen_heap = head is not None and xen._inuse[head].xen_heap
    _mark_page_offline(xen, mfn, broken)
    info: dict[str, Any] = {}
    if xen._pgstate[mfn] & PG_OFFLINED:
        free_head = find_free_head(xen, mfn)  # reserve_heap_page()
        if free_head is not None:
            info["reserved"] = xen._reserve_offlined_page(free_head)
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
    recalled = claims_delta(xen, before)
    if recalled:
        info["recalled"] = recalled
    xen.events.record(
        "offline_page",
        args,
        0,
        status=status,
        state=page_state(xen, mfn),
        **info,
        **xen._counters(),
    )
    return 0, status


def online_page(xen: HeapCore, mfn: int) -> tuple[int, int]:
    """``online_page``: returns ``(rc, status)`` (docs/offlining.md#online-page)."""
    check_int("mfn", mfn, 0)
    args = {"mfn": mfn}
    if not mfn_valid(xen, mfn):
        xen.events.record("online_page", args, -errno.EINVAL, status=0)
        return -errno.EINVAL, 0
    f = xen._pgstate.get(mfn, 0)
    if f & PG_BROKEN:
        status = PG_ONLINE_FAILED | PG_ONLINE_BROKEN
        xen.events.record("online_page", args, -errno.EINVAL, status=status)
        return -errno.EINVAL, status
    if f & PG_OFFLINED:
        del xen.page_offlined_list[mfn]
        del xen._pgstate[mfn]
        node = mfn_to_nid(xen, mfn)
        assert node is not None
        # PGC_need_scrub dropped, node_need_scrub kept (docs/offlining.md#online-page)
        if mfn in xen._dirty:
            xen.need_scrub_leaked[node] += 1
        xen._free_heap_pages(mfn, 0, False)
        xen.events.record("online_page", args, 0, status=PG_ONLINE_ONLINED, **xen._counters())
        return 0, PG_ONLINE_ONLINED
    if f & PG_OFFLINING:
        del xen._pgstate[mfn]
        xen.events.record("online_page", args, 0, status=PG_ONLINE_ONLINED, cancelled=True)
        return 0, PG_ONLINE_ONLINED
    return 0, 0


def query_page_offline(xen: HeapCore, mfn: int) -> tuple[int, int]:
    """``query_page_offline``: returns ``(rc, status)`` (docs/offlining.md#online-page)."""
    check_int("mfn", mfn, 0)
    if not mfn_valid(xen, mfn):
        return -errno.EINVAL, 0
    f = xen._pgstate.get(mfn, 0)
    status = 0
    if f & PG_OFFLINING:
        status |= PG_OFFLINE_STATUS_OFFLINE_PENDING
    if f & PG_BROKEN:
        status |= PG_OFFLINE_STATUS_BROKEN
    if f & PG_OFFLINED:
        status |= PG_OFFLINE_STATUS_OFFLINED
    return 0, status
