"""Reservation hypercalls of ``xen/common/memory.c``: populate, increase, decrease, claim.

``do_memory_op_*`` return what ``do_memory_op`` returns: the number of
extents done (``start_extent``, 0 here, when the call is refused before the
loop).  Guests are translated (HVM/PVH): ``extent_start`` holds guest frames.
``XENMEM_claim_pages`` checks its own arguments here, then lets the host's
version of the series install the claim (``RuleSet.domain_set_outstanding_pages``).
The rules: ``docs/toolstack.md#populate-physmap``, ``docs/claims.md#legacy-claims``.
"""

from __future__ import annotations

import errno
import gc
import operator
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from .constants import (
    NUMA_NO_NODE,
    MEMF_bits,
    MEMF_exact_node,
    MEMF_keep_scrub,
    MEMF_no_icache_flush,
    MEMF_no_scrub,
    MEMF_no_tlbflush,
    MEMF_node,
)
from .domain import check_domain
from .domctl import Caller, caller_key, check_caller, claim_event, domain_claims
from .domheap import alloc_domheap_pages
from .errors import errname
from .heap import find_inuse_head
from .memory_bulk import bulk_plan, bulk_run
from .page_alloc import HeapCore
from .sched import Domain
from .validate import check_int

XENMEM_increase_reservation = 0
XENMEM_decrease_reservation = 1
XENMEM_populate_physmap = 6
XENMEMF_populate_on_demand = 1 << 16
XENMEMF_exact_node_request = 1 << 17
XENMEMF_vnode = 1 << 18
MEMOP_EXTENT_SHIFT = 6
DOMU_MAX_ORDER = 9  # CONFIG_DOMU_MAX_ORDER; the control domain may use MAX_ORDER


def XENMEMF_address_bits(bits: int) -> int:
    """``XENMEMF_address_bits(x)``: addresses below ``2**x``."""
    return check_int("bits", bits, 0, 0xFF)


def XENMEMF_node(node: int) -> int:
    """``XENMEMF_node(n)``: prefer node *n* (encoded as ``n + 1`` in bits 8-15)."""
    check_int("node", node, 0, NUMA_NO_NODE - 1)
    return ((node + 1) & 0xFF) << 8


def XENMEMF_exact_node(node: int) -> int:
    """``XENMEMF_exact_node(n)``: node *n* only."""
    return XENMEMF_node(node) | XENMEMF_exact_node_request


def XENMEMF_get_node(flags: int) -> int:
    return ((flags >> 8) - 1) & 0xFF


def _gpfn(value: object) -> int:
    """One frame number read from guest memory: an int (or an int-like, not a bool)."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a frame number")
    return operator.index(value)  # type: ignore[arg-type]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic collector while a populate builds many long-lived objects.

    The objects form no cycles; rescanning them over and over only costs time.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def memop_max_order(xen: HeapCore, caller: Caller | Domain) -> int:
    """``max_order(current->domain)``: the largest extent a caller may ask for."""
    check_caller(xen, caller)
    order = DOMU_MAX_ORDER
    if caller.privileged:
        order = max(order, xen.max_order)  # CONFIG_CTLDOM_MAX_ORDER = MAX_ORDER
    return min(order, xen.max_order)


def construct_memop_from_reservation(
    xen: HeapCore, caller: Caller | Domain, mem_flags: int
) -> tuple[int | None, str]:
    """XENMEMF flags to MEMF flags; ``None`` where Xen refuses (``propagate_node``)."""
    check_caller(xen, caller)
    check_int("mem_flags", mem_flags, 0, (1 << 32) - 1)
    memflags = 0
    bits = mem_flags & 0xFF
    if bits:
        memflags |= MEMF_bits(bits)
    if mem_flags & XENMEMF_vnode:
        return None, "XENMEMF_vnode (vNUMA translation) is not modelled"
    node = XENMEMF_get_node(mem_flags)
    if node == NUMA_NO_NODE:
        return memflags, ""
    if caller.privileged:
        if node >= xen.max_numnodes:
            return None, f"node {node} >= MAX_NUMNODES"
        memflags |= MEMF_node(node)
        if mem_flags & XENMEMF_exact_node_request:
            memflags |= MEMF_exact_node
    elif mem_flags & XENMEMF_exact_node_request:
        return None, "only the control domain may ask for an exact node"
    return memflags, ""


def _memop_prologue(
    xen: HeapCore,
    caller: Caller | Domain,
    domid: int,
    nr_extents: int,
    mem_flags: int,
) -> tuple[Domain | None, int, str]:
    """The common checks of ``do_memory_op`` for reservations (memory.c)."""
    if nr_extents > (0xFFFFFFFF >> MEMOP_EXTENT_SHIFT):
        return None, 0, "nr_extents too large to encode a continuation"
    if nr_extents == 0:
        return None, 0, "nothing to do"
    d = xen.domains.get(domid)
    if d is None:
        return None, 0, f"no domain {domid}"
    memflags, why = construct_memop_from_reservation(xen, caller, mem_flags)
    if memflags is None:
        return None, 0, why
    if not caller.privileged and caller.domid != domid:  # xsm_memory_adjust_reservation
        return None, 0, f"d{caller.domid} may not adjust d{domid}'s reservation"
    return d, memflags, ""


def _gpfns(extent_start: Sequence[int] | Any, nr: int) -> list[int] | None:
    """``copy_from_guest`` of *nr* frame numbers, or ``None`` where it faults."""
    if extent_start is None or isinstance(extent_start, (str, bytes, Mapping)):
        return None
    try:
        if len(extent_start) < nr:
            return None
        out = extent_start[:nr] if type(extent_start) is list else None
        if out is None or not set(map(type, out)) <= {int}:
            out = [_gpfn(extent_start[i]) for i in range(nr)]
    except (TypeError, ValueError, OverflowError):
        return None
    return out if not out or (min(out) >= 0 and max(out) < 1 << 64) else None


def do_memory_op_populate_physmap(
    xen: HeapCore,
    caller: Caller | Domain,
    domid: int,
    nr_extents: int,
    extent_order: int,
    mem_flags: int,
    extent_start: Sequence[int] | Any,
) -> int:
    """``XENMEM_populate_physmap``: allocate extents and map them at the given frames.

    Returns the number of extents done; stops at the first extent that
    cannot be allocated.  Each extent is mapped as x86's ``p2m_add_page``
    maps it (``_guest_physmap_add_page``): over frames already mapped, and
    at frames not aligned to the order.
    """
    _memop_args(xen, caller, domid, nr_extents, extent_order, mem_flags)
    frames = _gpfns(extent_start, nr_extents)  # copy_from_guest once
    args = {
        "caller": caller_key(caller),
        "domid": domid,
        "nr_extents": nr_extents,
        "extent_order": extent_order,
        "mem_flags": mem_flags,
        "extent_start": frames,  # the event keeps the same list
    }
    d, memflags, why = _memop_prologue(xen, caller, domid, nr_extents, mem_flags)
    done, mfns = 0, list[int]()
    replaced: list[tuple[int, int, int]] = []
    if d is not None and mem_flags & XENMEMF_populate_on_demand:
        d, why = None, "populate-on-demand is not modelled"
    if d is not None:
        with xen.events.nested(), gc_paused():
            done, mfns, why = _populate_physmap(
                xen, caller, d, nr_extents, extent_order, memflags, frames, replaced
            )
    info: dict[str, Any] = {"mfns": mfns, "reason": why}
    if replaced:  # (gfn, old mfn, pages): still the domain's, no longer mapped
        info["replaced"] = replaced
    xen.events.record_info("do_memory_op_populate_physmap", args, done, {**info, **xen._counters()})
    return done


def _populate_physmap(
    xen: HeapCore,
    caller: Caller | Domain,
    d: Domain,
    nr: int,
    order: int,
    memflags: int,
    gpfns: list[int] | None,
    replaced: list[tuple[int, int, int]],
) -> tuple[int, list[int], str]:
    if gpfns is None:
        return 0, [], "cannot read extent_start"
    if order > memop_max_order(xen, caller):
        return 0, [], f"extent_order {order} > max_order {memop_max_order(xen, caller)}"
    build = not d.creation_finished
    if build:
        # during the build, populate_physmap takes dirty memory as it comes and
        # scrubs it itself before assigning it (memory.c, docs/heap.md#domheap)
        memflags |= MEMF_no_tlbflush | MEMF_no_icache_flush | MEMF_no_scrub | MEMF_keep_scrub
    mfns: list[int] = []
    i = 0
    while i < nr:
        gpfn = gpfns[i]
        mfn = alloc_domheap_pages(xen, d, order, memflags)
        ev = xen.events.last()
        if mfn is None:
            reason = ev.info.get("reason", "") if ev else ""
            return i, mfns, f"could not allocate extent {i}: {reason}"
        if build:
            rc = _scrub_and_assign(xen, d, mfn, order, memflags)
            if rc:
                return i, mfns, f"extent {i}: assign_pages failed ({errname(rc)})"
        replaced += _guest_physmap_add_page(xen, d, gpfn, mfn, order)
        mfns.append(mfn)
        i += 1
        # an extent that split a block leaves the next ones known: take them in bulk
        split = ev is not None and ev.info.get("from_order", order) > order
        if xen.bulk_populate and i < nr and split:
            plan = bulk_plan(xen, d, order, memflags)
            if plan is not None:
                run = gpfns[i : i + min(nr - i, plan.steps)]
                i += bulk_run(xen, d, order, memflags, plan, run, mfns)
    return nr, mfns, ""


def _guest_physmap_add_page(
    xen: HeapCore, d: Domain, gfn: int, mfn: int, order: int
) -> list[tuple[int, int, int]]:
    """Map a new extent as x86's ``p2m_add_page`` does for a translated guest.

    Frames already mapped to RAM are unmapped first: their pages stay the
    domain's, counted in ``tot_pages``, but no guest frame reaches them
    until the domain dies.  A frame not aligned to the order is mapped in
    smaller aligned pieces (``p2m_set_entry``).  Never fails here: the
    mappings it refuses (grant, foreign, MMIO) are not modelled.  Returns
    the ``(gfn, mfn, pages)`` runs it unmapped (xen/arch/x86/mm/p2m.c).
    """
    if not gfn & ((1 << order) - 1) and not d.p2m.overlaps(gfn, order):
        d.p2m.add(gfn, mfn, order, checked=True)  # the common case: one extent
        return []
    replaced = d.p2m.unmap_range(gfn, gfn + (1 << order))
    d.p2m.map_range(gfn, mfn, order)
    return replaced


def _scrub_and_assign(xen: HeapCore, d: Domain, mfn: int, order: int, memflags: int) -> int:
    """populate_physmap's own scrub of a MEMF_keep_scrub extent, then ``assign_pages``.

    ``node_need_scrub`` already dropped when the allocator counted the dirty
    pages; here their ``PGC_need_scrub`` bits go.  If the assignment fails
    the extent is freed (unowned, so dirty) and the redeemed claim is lost.
    """
    xen._dirty.remove(mfn, mfn + (1 << order))
    rc = xen._assign_pages(mfn, order, d, memflags)
    if rc:
        xen._take_inuse(mfn, order)
        xen._free_heap_pages(mfn, order, True)
    return rc


def do_memory_op_increase_reservation(
    xen: HeapCore,
    caller: Caller | Domain,
    domid: int,
    nr_extents: int,
    extent_order: int = 0,
    mem_flags: int = 0,
) -> int:
    """``XENMEM_increase_reservation``: allocate extents without mapping them."""
    _memop_args(xen, caller, domid, nr_extents, extent_order, mem_flags)
    d, memflags, why = _memop_prologue(xen, caller, domid, nr_extents, mem_flags)
    done, mfns = 0, list[int]()
    if d is not None:
        if extent_order > memop_max_order(xen, caller):
            why = f"extent_order {extent_order} > max_order"
        else:
            with xen.events.nested():
                for _ in range(nr_extents):
                    mfn = alloc_domheap_pages(xen, d, extent_order, memflags)
                    if mfn is None:
                        why = "could not allocate"
                        break
                    mfns.append(mfn)
                    done += 1
    xen.events.record(
        "do_memory_op_increase_reservation",
        {
            "caller": caller_key(caller),
            "domid": domid,
            "nr_extents": nr_extents,
            "extent_order": extent_order,
            "mem_flags": mem_flags,
        },
        done,
        mfns=mfns,
        reason=why,
    )
    return done


def guest_remove_page(xen: HeapCore, d: Domain, gfn: int) -> int:
    """Unmap one guest frame and free its page: 0, ``-ENOENT`` or ``-ENXIO``.

    As x86's ``guest_remove_page``: ``-ENOENT`` when nothing is mapped at
    *gfn* (``p2m_invalid``), ``-ENXIO`` when the page there is not *d*'s.
    """
    check_domain(xen, d)
    check_int("gfn", gfn, 0)
    return _guest_remove_page(xen, d, gfn)


def _guest_remove_page(xen: HeapCore, d: Domain, gfn: int) -> int:
    mfn = d.p2m.get(gfn)
    if mfn is None:
        return -errno.ENOENT  # p2m_invalid (decrease_reservation stops there: no PoD)
    head = find_inuse_head(xen, mfn)
    if head is None or xen._inuse[head].owner is not d:
        return -errno.ENXIO
    d.p2m.remove(gfn)
    _free_owned(xen, d, mfn, 0)
    return 0


def _free_owned(xen: HeapCore, d: Domain, mfn: int, order: int) -> None:
    scrub = d.is_dying or xen.opt_scrub_domheap
    for rec in xen._take_inuse(mfn, order):
        xen._uncount_pages(d, rec)
    xen._free_heap_pages(mfn, order, scrub)


def do_memory_op_decrease_reservation(
    xen: HeapCore,
    caller: Caller | Domain,
    domid: int,
    nr_extents: int,
    extent_order: int,
    extent_start: Sequence[int] | Any,
) -> int:
    """``XENMEM_decrease_reservation``: free guest frames; the number of extents done.

    Each page is removed on its own as Xen does; a whole extent that maps
    one aligned allocated block is freed in one step, which leaves the
    heap exactly as the page-by-page frees would.
    """
    _memop_args(xen, caller, domid, nr_extents, extent_order, 0)
    d, _mf, why = _memop_prologue(xen, caller, domid, nr_extents, 0)
    done = 0
    if d is not None:
        done, why = _decrease_reservation(xen, caller, d, nr_extents, extent_order, extent_start)
    xen.events.record(
        "do_memory_op_decrease_reservation",
        {
            "caller": caller_key(caller),
            "domid": domid,
            "nr_extents": nr_extents,
            "extent_order": extent_order,
            "extent_start": _gpfns(extent_start, nr_extents),
        },
        done,
        reason=why,
        **xen._counters(),
    )
    return done


def _decrease_reservation(
    xen: HeapCore,
    caller: Caller | Domain,
    d: Domain,
    nr: int,
    order: int,
    extent_start: Sequence[int] | Any,
) -> tuple[int, str]:
    gpfns = _gpfns(extent_start, nr)
    if gpfns is None:
        return 0, "cannot read extent_start"
    if order > memop_max_order(xen, caller):
        return 0, f"extent_order {order} > max_order {memop_max_order(xen, caller)}"
    size = 1 << order
    for i, gfn in enumerate(gpfns):
        mfn = d.p2m.get(gfn)
        head = find_inuse_head(xen, mfn) if mfn is not None else None
        if (
            order
            and mfn is not None
            and head is not None
            and d.p2m.remove_extent(gfn, order) is not None
        ):
            if xen._inuse[head].owner is d and not mfn & (size - 1):
                _free_owned(xen, d, mfn, order)
                continue
            d.p2m.add(gfn, mfn, order)  # not one owned block: page by page
        for j in range(size):
            rc = _guest_remove_page(xen, d, gfn + j)
            if rc:
                return i, f"gfn {gfn + j:#x}: {errno.errorcode[-rc]}"
    return nr, ""


def do_memory_op_claim_pages(
    xen: HeapCore,
    caller: Caller | Domain,
    domid: int,
    nr_extents: int,
    extent_order: int = 0,
    mem_flags: int = 0,
    extent_start: object = None,
    start_extent: int = 0,
) -> int:
    """``XENMEM_claim_pages`` with its own checks, in order (docs/claims.md#xenmem-claim-pages)."""
    _memop_args(xen, caller, domid, nr_extents, extent_order, mem_flags)
    check_int("start_extent", start_extent, 0)
    rc, reason = _memory_op_claim_pages(
        xen, caller, domid, nr_extents, extent_order, mem_flags, extent_start, start_extent
    )
    d = xen.domains.get(domid)
    info: dict[str, Any] = {"reason": reason}
    if d:
        info["claims"] = domain_claims(d)
    args: dict[str, Any] = {"caller": caller_key(caller), "domid": domid, "nr_extents": nr_extents}
    if mem_flags:
        args["mem_flags"] = mem_flags  # XenServer's exact-node claim (recorded when given)
    claim_event(xen, "do_memory_op_claim_pages", args, rc, **info)
    return rc


def _memop_args(
    xen: HeapCore,
    caller: Caller | Domain,
    domid: int,
    nr_extents: int,
    extent_order: int,
    mem_flags: int,
) -> None:
    """The argument types of a ``struct xen_memory_reservation`` and its caller."""
    check_caller(xen, caller)
    check_int("domid", domid, 0, 0xFFFF)
    check_int("nr_extents", nr_extents, 0, (1 << 64) - 1)
    check_int("extent_order", extent_order, 0, (1 << 32) - 1)
    check_int("mem_flags", mem_flags, 0, (1 << 32) - 1)


def _memory_op_claim_pages(
    xen: HeapCore,
    caller: Caller | Domain,
    domid: int,
    nr_extents: int,
    extent_order: int,
    mem_flags: int,
    extent_start: object,
    start_extent: int,
) -> tuple[int, str]:
    if xen.llc_coloring_enabled:
        return -errno.EOPNOTSUPP, "LLC colouring is enabled: claims are not supported"
    if start_extent != 0:
        return -errno.EINVAL, "start_extent must be 0"
    if extent_start is not None or extent_order != 0:
        return -errno.EINVAL, "extent_start must be NULL and extent_order 0"
    rc, reason, node = xen.rules.xenmem_claim_flags(mem_flags)  # upstream: mem_flags must be 0
    if rc:
        return rc, reason
    d = xen.domains.get(domid)
    if d is None:
        return -errno.EINVAL, f"no domain {domid}"
    if not caller.privileged:
        return -errno.EPERM, f"caller d{caller.domid} is not privileged"
    if d.is_dying:
        return -errno.EINVAL, f"d{domid} is dying"
    return xen.rules.domain_set_outstanding_pages(xen, d, nr_extents, node)
