"""The libxc face: ``xenctrl.h`` names, argument order, structs and constants (docs/toolstack.md#libxc).

Where C returns -1 and sets ``errno``, these functions raise :class:`XcError`
(an ``OSError`` with ``.errno``), as Xen's own Python binding raises
``xc.Error``.  Pointer arguments take ``ctypes`` objects and are updated in
place like C; ``None`` is NULL.  Arguments C could not even express (wrong
types, values past the C type's range, NULL where C would fault) raise
``TypeError``/``ValueError`` naming the argument, before anything changes.
The handle acts as the privileged control domain of its host.
"""

from __future__ import annotations

import ctypes
import errno
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..hypervisor.constants import MEMZONE_XEN, PAGE_SHIFT
from ..hypervisor.domain import Domain
from ..hypervisor.domctl import DOM0
from ..hypervisor.errors import errname
from ..hypervisor.memory import (
    XENMEM_decrease_reservation,
    XENMEM_increase_reservation,
    XENMEM_populate_physmap,
    XENMEMF_address_bits,
    XENMEMF_exact_node,
    XENMEMF_exact_node_request,
    XENMEMF_node,
    XENMEMF_populate_on_demand,
)
from ..hypervisor.public import (
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_LEGACY,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST,
    XEN_DOMCTL_claim_memory,
    XEN_DOMCTL_get_memory_claims,
    XEN_DOMCTL_set_memory_claims,
    XENMEM_claim_pages,
    xen_domctl_memory_claim_t,
    xen_domctl_memory_claims,
    xen_memory_claim_t,
    xen_sysctl_node_meminfo_t,
)
from ..hypervisor.xen import Xen

__all__ = [
    "XcError",
    "xc_interface",
    "xen_memory_claim_t",
    "xen_domctl_memory_claim_t",
    "xen_domctl_memory_claims",
    "xen_pfn_t",
    "XEN_DOMCTL_CLAIM_MEMORY_HOST",
    "XEN_DOMCTL_CLAIM_MEMORY_LEGACY",
    "XEN_DOMCTL_CLAIM_MEMORY_SET",
    "XEN_DOMCTL_CLAIM_MEMORY_GET",
    "XEN_DOMCTL_claim_memory",
    "XEN_DOMCTL_set_memory_claims",
    "XEN_DOMCTL_get_memory_claims",
    "XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST",
    "XENMEM_claim_pages",
    "XENMEM_populate_physmap",
    "XENMEM_increase_reservation",
    "XENMEM_decrease_reservation",
    "XENMEMF_node",
    "XENMEMF_exact_node",
    "XENMEMF_exact_node_request",
    "XENMEMF_address_bits",
    "XENMEMF_populate_on_demand",
    "XC_NUMA_NO_NODE",
    "XEN_VCPUAFFINITY_HARD",
    "XEN_VCPUAFFINITY_SOFT",
    "XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION",
    "XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION",
    "xen_sysctl_node_meminfo_t",
]

xen_pfn_t = ctypes.c_uint64
U32 = (1 << 32) - 1
U64 = (1 << 64) - 1


class XcError(OSError):
    """A libxc call returned -1: ``.errno`` is the error, the message says what was refused."""

    def __init__(self, err: int, message: str) -> None:
        super().__init__(err, f"{errname(err)}: {message}")
        self.message = message
        self.status: list[int] = []


class xc_interface:
    """``xc_interface *``: a handle on one simulated host, as its control domain."""

    def __init__(self, xen: Xen) -> None:
        self.xen = xen
        self.open = True

    def __repr__(self) -> str:
        return f"<xc_interface {'open' if self.open else 'closed'} on {self.xen!r}>"


# --------------------------------------------------------------------- checks
def _int(name: str, value: object, hi: int, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and math.isnan(value):
            raise TypeError(f"{name} must be an integer, not NaN")
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if value < lo:
        raise ValueError(f"{name} = {value} is negative: not a valid C unsigned value")
    if value > hi:
        kind = "uint32_t" if hi == U32 else "uint64_t" if hi == U64 else f"<= {hi}"
        raise ValueError(f"{name} = {value} does not fit {kind}")
    return value


def _xch(xch: object) -> Xen:
    if not isinstance(xch, xc_interface):
        raise TypeError(f"xch must be an xc_interface from xc_interface_open, not {xch!r}")
    if not xch.open:
        raise ValueError("xch is closed")
    return xch.xen


def _dom(xen: Xen, fn: str, domid: object) -> Domain:
    _int("domid", domid, U32)
    assert isinstance(domid, int)
    d = xen.domains.get(domid)
    if d is None:
        raise XcError(errno.ESRCH, f"{fn}: no domain {domid}")
    return d


def _reason(xen: Xen) -> str:
    ev = xen.events.last_mine()  # this thread's call, whatever other threads did since
    return str(ev.info.get("reason", "")) if ev else ""


# ---------------------------------------------------------------- interface
def xc_interface_open(xen: Xen) -> xc_interface:
    """``xc_interface *xc_interface_open(xentoollog_logger *, xentoollog_logger *, unsigned)``."""
    if not isinstance(xen, Xen):
        raise TypeError(f"xc_interface_open needs a claims.Xen host, not {type(xen).__name__}")
    return xc_interface(xen)


def xc_interface_close(xch: xc_interface) -> int:
    """``int xc_interface_close(xc_interface *xch)``."""
    _xch(xch)
    xch.open = False
    return 0


# ------------------------------------------------------------------- domains
def xc_domain_create(xch: xc_interface, config: dict[str, Any] | None = None) -> int:
    """``int xc_domain_create(xc_interface *xch, uint32_t *pdomid, struct xen_domctl_createdomain *config)``.

    Returns the new domid.  ``config`` may give ``domid`` and ``node_affinity``.
    Like Xen's ``domain_create``, which leaves ``d->max_pages`` at 0, the new
    domain may hold no pages until ``xc_domain_setmaxmem`` (libxl sets it
    before it claims or populates).
    """
    xen = _xch(xch)
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"config must be a dict or None, not {type(config).__name__}")
    cfg = dict(config or {})
    unknown = set(cfg) - {"domid", "node_affinity"}
    if unknown:
        raise ValueError(f"config: unknown keys {sorted(unknown)}")
    domid = cfg.get("domid")
    if domid is not None:
        _int("config['domid']", domid, 0x7FEF)
        if domid in xen.domains:
            raise XcError(errno.EEXIST, f"xc_domain_create: domain {domid} exists")
    return xen.domain_create(domid, max_pages=0, node_affinity=cfg.get("node_affinity")).domid


def xc_domain_destroy(xch: xc_interface, domid: int) -> int:
    """``int xc_domain_destroy(xc_interface *xch, uint32_t domid)``."""
    xen = _xch(xch)
    xen.domain_kill(_dom(xen, "xc_domain_destroy", domid))
    return 0


def xc_domain_setmaxmem(xch: xc_interface, domid: int, max_memkb: int) -> int:
    """``int xc_domain_setmaxmem(xc_interface *xch, uint32_t domid, uint64_t max_memkb)``.

    ``max_pages = min(max_memkb >> 2, UINT32_MAX)`` (``XEN_DOMCTL_max_mem``).
    """
    xen = _xch(xch)
    _int("max_memkb", max_memkb, U64)
    d = _dom(xen, "xc_domain_setmaxmem", domid)
    xen.domain_set_max_pages(d, min(max_memkb >> (PAGE_SHIFT - 10), U32))
    return 0


def xc_domain_node_setaffinity(xch: xc_interface, domid: int, nodes: Iterable[int]) -> int:
    """``int xc_domain_node_setaffinity(xc_interface *xch, uint32_t domid, xc_nodemap_t nodemap)``.

    ``nodes`` is an iterable of node ids (the bits of the nodemap).
    """
    xen = _xch(xch)
    if isinstance(nodes, (str, bytes, Mapping)) or not isinstance(nodes, Iterable):
        raise TypeError(f"nodes must be an iterable of node ids, not {type(nodes).__name__}")
    ids = [_int("node", n, xen.max_numnodes - 1) for n in nodes]
    d = _dom(xen, "xc_domain_node_setaffinity", domid)
    rc = xen.domain_node_setaffinity(d, ids)
    if rc:
        raise XcError(-rc, f"xc_domain_node_setaffinity: {sorted(ids)} holds no online node")
    return 0


@dataclass(frozen=True)
class xc_domaininfo_t:
    """The fields of ``xc_domaininfo_t`` (``struct xen_domctl_getdomaininfo``) the kit keeps."""

    domain: int
    tot_pages: int
    max_pages: int
    outstanding_pages: int
    dying: bool
    shr_pages: int = 0
    paused: bool = False
    """``XEN_DOMINF_paused``: the toolstack holds the domain paused."""


def xc_domain_getinfo_single(xch: xc_interface, domid: int) -> xc_domaininfo_t:
    """``int xc_domain_getinfo_single(xc_interface *xch, uint32_t domid, xc_domaininfo_t *info)``."""
    xen = _xch(xch)
    d = _dom(xen, "xc_domain_getinfo_single", domid)
    return xc_domaininfo_t(
        d.domid,
        d.tot_pages,
        d.max_pages,
        d.outstanding_pages,
        d.is_dying,
        paused=d.controller_pause_count > 0,
    )


def xc_domain_pause(xch: xc_interface, domid: int) -> int:
    """``int xc_domain_pause(xc_interface *xch, uint32_t domid)`` (``XEN_DOMCTL_pausedomain``).

    One more toolstack pause: ``EOVERFLOW`` past 255.
    """
    xen = _xch(xch)
    d = _dom(xen, "xc_domain_pause", domid)
    rc = xen.domain_pause_by_systemcontroller(d)
    if rc:
        raise XcError(-rc, f"xc_domain_pause(d{domid}): 255 pauses already")
    return 0


def xc_domain_unpause(xch: xc_interface, domid: int) -> int:
    """``int xc_domain_unpause(xc_interface *xch, uint32_t domid)`` (``XEN_DOMCTL_unpausedomain``).

    One toolstack pause less (``EINVAL`` when none is left); the first unpause
    of a new domain ends its build and lets it run.
    """
    xen = _xch(xch)
    d = _dom(xen, "xc_domain_unpause", domid)
    rc = xen.domain_unpause_by_systemcontroller(d)
    if rc:
        raise XcError(-rc, f"xc_domain_unpause(d{domid}): the domain is not paused")
    return 0


# -------------------------------------------------------------------- claims
def xc_domain_claim_pages(xch: xc_interface, domid: int, nr_pages: int) -> int:
    """``int xc_domain_claim_pages(xc_interface *xch, uint32_t domid, unsigned long nr_pages)``.

    Deprecated in v7 in favour of ``xc_domain_claim_memory``: an absolute target.
    """
    xen = _xch(xch)
    _int("domid", domid, U32)
    _int("nr_pages", nr_pages, U64)
    rc = xen.do_memory_op_claim_pages(DOM0, domid & 0xFFFF, nr_pages)
    if rc:
        raise XcError(-rc, f"xc_domain_claim_pages(d{domid}, {nr_pages}): {_reason(xen)}")
    return 0


def xc_domain_claim_memory(
    xch: xc_interface,
    domid: int,
    mode: int,
    nr_entries: ctypes.c_uint32 | int,
    claim_set: Any,
) -> int:
    """``int xc_domain_claim_memory(xc_interface *xch, uint32_t domid, uint32_t mode,
    uint32_t *nr_entries, xen_memory_claim_t *claim_set)``.

    ``nr_entries`` is a ``ctypes.c_uint32`` updated in place from the domctl
    (GET: the needed or written count, also on ``ERANGE``); a plain int is
    accepted for SET, where it is input only.  ``claim_set`` is a ctypes array
    of ``xen_memory_claim_t`` (GET writes into it), a sequence of entries
    (SET), or ``None`` (NULL).
    """
    xen = _xch(xch)
    _int("domid", domid, U32)
    _int("mode", mode, U32)
    if nr_entries is None:
        raise TypeError("nr_entries is NULL: xc_domain_claim_memory would dereference it")
    if isinstance(nr_entries, ctypes.c_uint32):
        nr = nr_entries.value
    elif mode == XEN_DOMCTL_CLAIM_MEMORY_GET:
        raise TypeError("nr_entries is in/out for GET: pass a ctypes.c_uint32")
    else:
        nr = _int("nr_entries", nr_entries, U32)
    buf = _claim_buffer(claim_set, nr)
    d: Domain | int = xen.domains.get(domid, domid)
    rc, nr_out = xen.do_domctl_claim_memory(DOM0, d, mode, nr, buf)
    if isinstance(nr_entries, ctypes.c_uint32):
        nr_entries.value = nr_out
    if buf is not claim_set and isinstance(claim_set, list) and rc == 0:
        claim_set[: len(buf)] = list(buf)
    if rc:
        raise XcError(-rc, f"xc_domain_claim_memory(d{domid}): {_reason(xen)}")
    return 0


def _claim_buffer(
    claim_set: Any, nr: int, entry: type[Any] = xen_memory_claim_t, name: str = "claim_set"
) -> Any:
    """A claim-entry pointer of the C prototype's type: an array, one entry, a list, or NULL."""
    if claim_set is None or isinstance(claim_set, ctypes.Array):
        if isinstance(claim_set, ctypes.Array) and claim_set._type_ is not entry:
            raise TypeError(f"{name} must be an array of {entry.__name__}")
        return claim_set
    if isinstance(claim_set, entry):
        return (entry * 1)(claim_set)
    if isinstance(claim_set, Sequence) and not isinstance(claim_set, (str, bytes)):
        for i, e in enumerate(claim_set):
            if not isinstance(e, entry):
                raise TypeError(f"{name}[{i}] must be a {entry.__name__}")
        return (entry * len(claim_set))(*claim_set)
    raise TypeError(f"{name} must be a ctypes array, a list of entries or None, not {claim_set!r}")


def xc_domain_set_memory_claims(
    xch: xc_interface, domid: int, claims: Any, nr: ctypes.c_uint32 | int
) -> int:
    """``int xc_domain_set_memory_claims(xc_interface *xch, uint32_t domid, const xen_domctl_memory_claim_t *claims, uint32_t nr)`` (v8).

    Installs the claims of a paused domain that has none (``EBUSY`` when it
    runs, ``EINVAL`` when it has claims); ``nr`` 0 releases every claim.
    ``claims`` is a ctypes array of ``xen_domctl_memory_claim_t``, one entry,
    a list of them, or ``None``.  On a v7 host the same domctl number is
    ``XEN_DOMCTL_claim_memory``, which reads the argument's ``pad`` (0) as
    mode SET.
    """
    xen = _xch(xch)
    _int("domid", domid, U32)
    n = nr.value if isinstance(nr, ctypes.c_uint32) else _int("nr", nr, U32)
    buf = _claim_buffer(claims, n, xen_domctl_memory_claim_t, "claims")
    d: Domain | int = xen.domains.get(domid, domid)
    rc = xen.do_domctl_set_memory_claims(DOM0, d, n, buf)
    if rc:
        raise XcError(-rc, f"xc_domain_set_memory_claims(d{domid}): {_reason(xen)}")
    return 0


def xc_domain_get_memory_claims(
    xch: xc_interface, domid: int, claims: Any, nr: ctypes.c_uint32
) -> int:
    """``int xc_domain_get_memory_claims(xc_interface *xch, uint32_t domid, xen_domctl_memory_claim_t *claims, uint32_t *nr)`` (v8).

    ``nr`` is a ``ctypes.c_uint32``: the capacity of ``claims`` in, the count
    out (also with ``ENOBUFS``, when the entries do not fit: ``claims=None``
    with ``nr`` 0 is the size query).  The host-wide entry comes first when
    it is nonzero, then each node with a claim.  A v7 host has no domctl 92:
    ``ENOSYS``.
    """
    xen = _xch(xch)
    _int("domid", domid, U32)
    if not isinstance(nr, ctypes.c_uint32):
        raise TypeError(
            "nr is in/out: pass a ctypes.c_uint32 (xc_domain_get_memory_claims writes it)"
        )
    buf = _claim_buffer(claims, nr.value, xen_domctl_memory_claim_t, "claims")
    d: Domain | int = xen.domains.get(domid, domid)
    rc, nr_out = xen.do_domctl_get_memory_claims(DOM0, d, nr.value, buf)
    nr.value = nr_out
    if buf is not claims and isinstance(claims, list) and rc == 0:
        claims[: len(buf)] = list(buf)
    if rc:
        raise XcError(-rc, f"xc_domain_get_memory_claims(d{domid}): {_reason(xen)}")
    return 0


# ------------------------------------------------------------ reservations
def _pfn_buffer(extent_start: Any, nr: int, name: str = "extent_start", out: bool = False) -> Any:
    """Check a ``xen_pfn_t *``: an array of at least *nr* frames (read unless *out*)."""
    if extent_start is None:
        raise TypeError(f"{name} is NULL: the hypercall bounce buffer would fault")
    if isinstance(extent_start, (str, bytes, Mapping)) or not (
        hasattr(extent_start, "__len__") and hasattr(extent_start, "__getitem__")
    ):
        raise TypeError(f"{name} must be an array of xen_pfn_t, not {type(extent_start).__name__}")
    if isinstance(extent_start, ctypes.Array) and extent_start._type_ is not xen_pfn_t:
        raise TypeError(f"{name} must be an array of xen_pfn_t, not of {extent_start._type_}")
    if len(extent_start) < nr:
        raise ValueError(f"{name} holds {len(extent_start)} frames, nr_extents is {nr}")
    if out or not nr:
        return extent_start
    if type(extent_start) is list:  # the common case, checked at once: plain ints in range
        frames = extent_start[:nr]
        if all(type(f) is int for f in frames) and min(frames) >= 0 and max(frames) <= U64:
            return extent_start
    for i in range(nr):  # find the first bad frame and name it
        _int(
            f"{name}[{i}]",
            int(extent_start[i]) if isinstance(extent_start, ctypes.Array) else extent_start[i],
            U64,
        )
    return extent_start


def xc_domain_populate_physmap(
    xch: xc_interface,
    domid: int,
    nr_extents: int,
    extent_order: int,
    mem_flags: int,
    extent_start: Any,
) -> int:
    """``int xc_domain_populate_physmap(xc_interface *xch, uint32_t domid,
    unsigned long nr_extents, unsigned int extent_order, unsigned int mem_flags,
    xen_pfn_t *extent_start)``: the number of extents done."""
    xen = _xch(xch)
    _int("domid", domid, U32)
    _int("nr_extents", nr_extents, U64)
    _int("extent_order", extent_order, U32)
    _int("mem_flags", mem_flags, U32)
    _pfn_buffer(extent_start, nr_extents)
    return xen.do_memory_op_populate_physmap(
        DOM0, domid & 0xFFFF, nr_extents, extent_order, mem_flags, extent_start
    )


def xc_domain_populate_physmap_exact(
    xch: xc_interface,
    domid: int,
    nr_extents: int,
    extent_order: int,
    mem_flags: int,
    extent_start: Any,
) -> int:
    """``int xc_domain_populate_physmap_exact(...)``: 0, or ``XcError(EBUSY)`` if fewer were done."""
    done = xc_domain_populate_physmap(xch, domid, nr_extents, extent_order, mem_flags, extent_start)
    if done != nr_extents:
        raise XcError(
            errno.EBUSY,
            f"xc_domain_populate_physmap_exact(d{domid}): {done} of {nr_extents} extents of "
            f"order {extent_order} done: {_reason(xch.xen)}",
        )
    return 0


def xc_domain_increase_reservation_exact(
    xch: xc_interface,
    domid: int,
    nr_extents: int,
    extent_order: int,
    mem_flags: int,
    extent_start: Any = None,
) -> int:
    """``int xc_domain_increase_reservation_exact(...)``: 0 or ``XcError(ENOMEM)``."""
    xen = _xch(xch)
    _int("domid", domid, U32)
    _int("nr_extents", nr_extents, U64)
    _int("extent_order", extent_order, U32)
    _int("mem_flags", mem_flags, U32)
    if extent_start is not None:  # only written for non-translated guests: never here
        _pfn_buffer(extent_start, nr_extents, out=True)
    done = xen.do_memory_op_increase_reservation(
        DOM0, domid & 0xFFFF, nr_extents, extent_order, mem_flags
    )
    if done != nr_extents:
        raise XcError(errno.ENOMEM, f"increase_reservation(d{domid}): {done} of {nr_extents} done")
    return 0


def xc_domain_decrease_reservation_exact(
    xch: xc_interface,
    domid: int,
    nr_extents: int,
    extent_order: int,
    extent_start: Any,
) -> int:
    """``int xc_domain_decrease_reservation_exact(xc_interface *xch, uint32_t domid,
    unsigned long nr_extents, unsigned int extent_order, xen_pfn_t *extent_start)``."""
    xen = _xch(xch)
    _int("domid", domid, U32)
    _int("nr_extents", nr_extents, U64)
    _int("extent_order", extent_order, U32)
    _pfn_buffer(extent_start, nr_extents)
    done = xen.do_memory_op_decrease_reservation(
        DOM0, domid & 0xFFFF, nr_extents, extent_order, extent_start
    )
    if done != nr_extents:
        raise XcError(
            errno.EINVAL,
            f"xc_domain_decrease_reservation_exact(d{domid}): {done} of {nr_extents} done: "
            f"{_reason(xen)}",
        )
    return 0


# ------------------------------------------------------------------- sysctl
@dataclass(frozen=True)
class xc_physinfo_t:
    """The fields of ``xc_physinfo_t`` the kit keeps (pages, not bytes)."""

    total_pages: int
    free_pages: int
    scrub_pages: int
    outstanding_pages: int
    nr_nodes: int
    max_node_id: int


def xc_physinfo(xch: xc_interface) -> xc_physinfo_t:
    """``int xc_physinfo(xc_interface *xch, xc_physinfo_t *info)``.

    ``free_pages`` excludes zone 0 and is not reduced by claims (docs/heap.md#counters).
    """
    xen = _xch(xch)
    free, outstanding = xen.get_outstanding_claims()
    total = sum(xen.node_present_pages(n) for n in range(xen.nr_nodes))
    return xc_physinfo_t(
        total, free, sum(xen.node_need_scrub), outstanding, xen.nr_nodes, xen.nr_nodes - 1
    )


@dataclass(frozen=True)
class xc_meminfo_t:
    """``xen_sysctl_meminfo_t``: bytes."""

    memsize: int
    memfree: int


def xc_numainfo(xch: xc_interface, distance: list[int] | None = None) -> list[xc_meminfo_t]:
    """``int xc_numainfo(xc_interface *xch, unsigned *max_nodes, xc_meminfo_t *meminfo, uint32_t *distance)``.

    Per node: ``memsize`` (spanned pages) and ``memfree`` (``node_avail_pages``,
    claims included) in bytes.  *distance*, if a list, is filled in place with the
    node distance matrix, row by row (``distance[i * nr_nodes + j]``), as C fills
    its ``uint32_t`` array.
    """
    xen = _xch(xch)
    if distance is not None:
        if not isinstance(distance, list):
            raise TypeError(
                f"distance must be a list (filled in place), not {type(distance).__name__}"
            )
        distance[:] = [d for row in xen.topology.distances for d in row]
    return [
        xc_meminfo_t(
            xen.node_spanned_pages(n) << PAGE_SHIFT, xen.avail_node_heap_pages(n) << PAGE_SHIFT
        )
        for n in range(xen.nr_nodes)
    ]


@dataclass(frozen=True)
class xc_cputopo_t:
    """``xen_sysctl_cputopo_t``: a CPU's core, socket and node ids."""

    core: int
    socket: int
    node: int


def xc_cputopoinfo(xch: xc_interface) -> list[xc_cputopo_t]:
    """``int xc_cputopoinfo(xc_interface *xch, unsigned *max_cpus, xc_cputopo_t *cputopo)``:
    every CPU's core, socket and node (``XEN_SYSCTL_cputopoinfo``)."""
    t = _xch(xch).topology
    return [
        xc_cputopo_t(core, socket, node)
        for core, socket, node in zip(t.cpu_core, t.cpu_socket, t.cpu_to_node)
    ]


# ------------------------------------------------------------ vCPUs and paging
XEN_VCPUAFFINITY_HARD = 1 << 0
XEN_VCPUAFFINITY_SOFT = 1 << 1
XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION = 30
XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION = 31


def xc_domain_max_vcpus(xch: xc_interface, domid: int, max: int) -> int:  # noqa: A002 (C name)
    """``int xc_domain_max_vcpus(xc_interface *xch, uint32_t domid, unsigned int max)``:
    the domain's vCPUs, each affine to every CPU (``XEN_DOMCTL_max_vcpus``)."""
    xen = _xch(xch)
    d = _dom(xen, "xc_domain_max_vcpus", domid)
    _int("max", max, U32)
    if not 1 <= max <= 4096:
        raise XcError(errno.EINVAL, f"xc_domain_max_vcpus(d{domid}, {max}): 1..4096 vCPUs")
    rc = xen.domain_max_vcpus(d, max)
    if rc:
        raise XcError(-rc, f"xc_domain_max_vcpus(d{domid}, {max}): the domain has vCPUs")
    return 0


def _cpumap(name: str, cpumap: object, ncpus: int) -> list[int] | None:
    if cpumap is None:
        return None
    if isinstance(cpumap, (str, bytes)) or not isinstance(cpumap, (list, tuple)):
        raise TypeError(f"{name} must be a list of bools (one per CPU) or None")
    if any(not isinstance(b, bool) for b in cpumap):
        raise TypeError(f"{name} must hold bools (one per CPU)")
    return [i for i, on in enumerate(cpumap) if on and i < ncpus]


def xc_vcpu_setaffinity(
    xch: xc_interface,
    domid: int,
    vcpu: int,
    cpumap_hard: list[bool] | None,
    cpumap_soft: list[bool] | None,
    flags: int,
) -> int:
    """``int xc_vcpu_setaffinity(xc_interface *xch, uint32_t domid, int vcpu, xc_cpumap_t
    cpumap_hard_inout, xc_cpumap_t cpumap_soft_inout, uint32_t flags)``: *flags* says
    which maps to set (``XEN_VCPUAFFINITY_HARD``, ``_SOFT``); a map is a list of bools,
    one per CPU.  The domain's node affinity follows its vCPUs'."""
    xen = _xch(xch)
    d = _dom(xen, "xc_vcpu_setaffinity", domid)
    _int("vcpu", vcpu, 0x7FFFFFFF)
    _int("flags", flags, U32)
    ncpus = len(xen.topology.cpu_to_node)
    hard = _cpumap("cpumap_hard", cpumap_hard, ncpus)
    soft = _cpumap("cpumap_soft", cpumap_soft, ncpus)
    if not flags & (XEN_VCPUAFFINITY_HARD | XEN_VCPUAFFINITY_SOFT) or flags & ~3:
        raise XcError(errno.EINVAL, f"xc_vcpu_setaffinity(d{domid}): flags {flags:#x}")
    for bit, cpus, is_hard in ((1, hard, True), (2, soft, False)):
        if flags & bit:
            if cpus is None:
                raise XcError(errno.EFAULT, "xc_vcpu_setaffinity: a map the flags ask for is NULL")
            rc = xen.vcpu_set_affinity(d, vcpu, cpus, is_hard)
            if rc:
                raise XcError(-rc, f"xc_vcpu_setaffinity(d{domid}, vcpu {vcpu})")
    return 0


def xc_shadow_control(
    xch: xc_interface, domid: int, sop: int, mb: ctypes.c_uint32 | None, mode: int = 0
) -> int:
    """``int xc_shadow_control(xc_interface *xch, uint32_t domid, unsigned int sop,
    unsigned int *mb, unsigned int mode)``, for the paging pool's size:
    ``XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION`` (``*mb`` MiB, read back) and
    ``..._GET_ALLOCATION``; the other operations are not modelled."""
    xen = _xch(xch)
    d = _dom(xen, "xc_shadow_control", domid)
    _int("sop", sop, U32)
    _int("mode", mode, U32)
    if not isinstance(mb, ctypes.c_uint32):
        raise TypeError("mb is in/out: pass a ctypes.c_uint32")
    if sop == XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION:
        rc = xen.shadow_set_allocation_mb(d, mb.value)
        if rc:
            raise XcError(-rc, f"xc_shadow_control(d{domid}, SET_ALLOCATION {mb.value} MiB)")
    elif sop != XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION:
        raise ValueError(f"sop {sop}: only SET_ALLOCATION and GET_ALLOCATION are modelled")
    mb.value = (len(d.paging_pool) + 255) >> 8
    return 0


# ------------------------------------------------- XenServer's libxc additions
XC_NUMA_NO_NODE = U32
"""``XC_NUMA_NO_NODE`` (``~0U``, ``tools/include/xenguest.h``): no node, a host-wide claim."""


def xc_domain_claim_pages_node(xch: xc_interface, domid: int, node: int, nr_pages: int) -> int:
    """``int xc_domain_claim_pages_node(xc_interface *xch, uint32_t domid, unsigned int node, unsigned long nr_pages)``
    (XenServer, ``tools-xc_domain_claim_pages_node.patch``).

    ``XENMEM_claim_pages`` with ``XENMEMF_exact_node(node)`` in ``mem_flags``, or none
    for ``XC_NUMA_NO_NODE`` (a host-wide claim); ``nr_pages`` is an absolute target.
    A node of ``0xFF`` or more (other than ``XC_NUMA_NO_NODE``) is ``ERANGE`` without
    a hypercall.  On a hypervisor without XenServer's patches the flags are
    ``EINVAL``.
    """
    xen = _xch(xch)
    _int("domid", domid, U32)
    _int("node", node, U32)
    _int("nr_pages", nr_pages, U64)
    mem_flags = 0
    if node != XC_NUMA_NO_NODE:
        if node >= 0xFF:
            raise XcError(errno.ERANGE, f"xc_domain_claim_pages_node: node {node} >= 0xff")
        mem_flags = XENMEMF_exact_node(node)
    rc = xen.do_memory_op_claim_pages(DOM0, domid & 0xFFFF, nr_pages, mem_flags=mem_flags)
    if rc:
        where = "host-wide" if node == XC_NUMA_NO_NODE else f"node {node}"
        raise XcError(
            -rc, f"xc_domain_claim_pages_node(d{domid}, {where}, {nr_pages}): {_reason(xen)}"
        )
    return 0


def xc_numa_meminfo(xch: xc_interface, max_nodes: ctypes.c_uint32, meminfo: Any) -> int:
    """``int xc_numa_meminfo(xc_interface *xch, unsigned int *max_nodes, xen_sysctl_node_meminfo_t *meminfo)``
    (XenServer, ``tools-xc_numa_meminfo.patch``).

    ``XEN_SYSCTL_numa_meminfo``: ``max_nodes`` (a ``ctypes.c_uint32``) is the room in
    *meminfo* in and the count out; *meminfo* ``None`` asks for the count.  Each row:
    ``size``, ``free`` (claimed pages included) and ``claimed`` (single-node claims),
    in bytes.  ``ENOSYS`` on a hypervisor without the sysctl.
    """
    xen = _xch(xch)
    if not isinstance(max_nodes, ctypes.c_uint32):
        raise TypeError("max_nodes is in/out: pass a ctypes.c_uint32 (xc_numa_meminfo writes it)")
    if meminfo is not None and not (
        isinstance(meminfo, ctypes.Array) and meminfo._type_ is xen_sysctl_node_meminfo_t
    ):
        raise TypeError(
            "meminfo must be an array of xen_sysctl_node_meminfo_t or None, "
            f"not {type(meminfo).__name__}"
        )
    if meminfo is not None and len(meminfo) < max_nodes.value:
        raise ValueError(f"meminfo holds {len(meminfo)} rows, max_nodes is {max_nodes.value}")
    rc, nr = xen.do_sysctl_numa_meminfo(DOM0, max_nodes.value, meminfo)
    if rc:
        raise XcError(-rc, f"xc_numa_meminfo: {_reason(xen)}")
    max_nodes.value = nr
    return 0


def xc_domain_numa_get_node_pages(
    xch: xc_interface, domid: int, nr_nodes: ctypes.c_uint32, tot_pages_per_node: Any
) -> int:
    """``int xc_domain_numa_get_node_pages(xc_interface *xch, uint32_t domid, uint32_t *nr_nodes, uint64_t *tot_pages_per_node)``
    (XenServer, ``tools-xc_domain_numa_get_node_pages.patch``).

    ``XEN_DOMCTL_numa_op`` ``GET_NODE_PAGES``: the domain's pages on each node into
    *tot_pages_per_node* (a ``ctypes.c_uint64`` array); ``nr_nodes`` (a
    ``ctypes.c_uint32``) is its room in and the node count out.  ``*nr_nodes`` 0 with
    a buffer is ``EINVAL`` in libxc; with ``None`` it is the size query.
    """
    xen = _xch(xch)
    _int("domid", domid, U32)
    if not isinstance(nr_nodes, ctypes.c_uint32):
        raise TypeError(
            "nr_nodes is in/out: pass a ctypes.c_uint32 (xc_domain_numa_get_node_pages writes it)"
        )
    if tot_pages_per_node is not None and not (
        isinstance(tot_pages_per_node, ctypes.Array)
        and tot_pages_per_node._type_ is ctypes.c_uint64
    ):
        raise TypeError(
            "tot_pages_per_node must be a ctypes.c_uint64 array or None, "
            f"not {type(tot_pages_per_node).__name__}"
        )
    if tot_pages_per_node is not None and nr_nodes.value == 0:
        raise XcError(errno.EINVAL, "xc_domain_numa_get_node_pages: *nr_nodes is 0")
    if tot_pages_per_node is not None and len(tot_pages_per_node) < nr_nodes.value:
        raise ValueError(
            f"tot_pages_per_node holds {len(tot_pages_per_node)}, nr_nodes is {nr_nodes.value}"
        )
    d: Domain | int = xen.domains.get(domid, domid)
    rc, nr = xen.do_domctl_numa_op(DOM0, d, 0, nr_nodes.value, tot_pages_per_node)
    if rc:  # "if ( rc ) return rc;" before *nr_nodes is written
        raise XcError(-rc, f"xc_domain_numa_get_node_pages(d{domid}): {_reason(xen)}")
    nr_nodes.value = nr
    return 0


def xc_availheap(xch: xc_interface, min_width: int, max_width: int, node: int) -> int:
    """``int xc_availheap(xc_interface *xch, int min_width, int max_width, int node, uint64_t *bytes)``.

    Free bytes in the address widths given (0 = no limit) on *node* (-1 = all).
    """
    xen = _xch(xch)
    _int("min_width", min_width, 0x7FFFFFFF)
    _int("max_width", max_width, 0x7FFFFFFF)
    _int("node", node, 0x7FFFFFFF, lo=-1)
    nz = xen.nr_zones
    lo = xen.bits_to_zone(min_width) if min_width else MEMZONE_XEN + 1
    lo = max(MEMZONE_XEN + 1, min(nz - 1, lo))
    hi = xen.bits_to_zone(max_width) if max_width else nz - 1
    hi = max(MEMZONE_XEN + 1, min(nz - 1, hi))
    if lo > hi:
        return 0
    return xen.avail_heap_pages(lo, hi, node) << PAGE_SHIFT


def _page_range(xen: Xen, start: int, end: int) -> None:
    _int("start", start, U64)
    _int("end", end, U64)
    if end < start:
        raise XcError(errno.EINVAL, f"end {end:#x} < start {start:#x}")
    if end - start >= 1 << 20:
        raise ValueError("a page range of more than 2**20 pages")


def _page_op(xch: xc_interface, start: int, end: int, fn: str, op: str) -> list[int]:
    xen = _xch(xch)
    _page_range(xen, start, end)
    status = []
    for mfn in range(start, end + 1):
        if op == "offline":
            rc, st = xen.offline_page(mfn)
        elif op == "online":
            rc, st = xen.online_page(mfn)
        else:
            rc, st = xen.query_page_offline(mfn)
        status.append(st)
        if rc:
            err = XcError(-rc, f"{fn}: MFN {mfn:#x} refused")
            err.status = status
            raise err
    return status


def xc_mark_page_offline(xch: xc_interface, start: int, end: int) -> list[int]:
    """``int xc_mark_page_offline(xc_interface *xch, unsigned long start, unsigned long end, uint32_t *status)``.

    Returns the status of each page ``start..end`` (inclusive).
    """
    return _page_op(xch, start, end, "xc_mark_page_offline", "offline")


def xc_mark_page_online(xch: xc_interface, start: int, end: int) -> list[int]:
    """``int xc_mark_page_online(xc_interface *xch, unsigned long start, unsigned long end, uint32_t *status)``."""
    return _page_op(xch, start, end, "xc_mark_page_online", "online")


def xc_query_page_offline_status(xch: xc_interface, start: int, end: int) -> list[int]:
    """``int xc_query_page_offline_status(xc_interface *xch, unsigned long start, unsigned long end, uint32_t *status)``."""
    return _page_op(xch, start, end, "xc_query_page_offline_status", "query")
