"""``Xenctrlext``: the OCaml bindings xenopsd calls for NUMA placement
(xapi-project/xen-api, ``ocaml/libs/xenctrl-ext/xenctrlext.ml`` and
``xenctrlext_stubs.c``; docs/toolstack.md#xenctrlext).

Results follow the OCaml: a stub that fails raises :class:`Unix_error` with the
errno and a binding name, and the wrapped calls (``domain_claim_pages``,
``HostNuma.numa_get_meminfo``, ...) return an *outcome*, :class:`Ok` or
:class:`Error` ``(errno, binding)``, as ``Xenctrlext.wrap`` does.  Underneath are
the libxc calls XenServer's stubs make (``claims.libxc``), so the same toolstack
runs against any hypervisor the kit has: on one without XenServer's patches the
node claim fails with ``EINVAL`` and ``numa_meminfo`` falls back to ``numainfo``,
as the stubs do.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..hypervisor.errors import errname
from ..hypervisor.public import xen_sysctl_node_meminfo_t
from ..hypervisor.xen import Xen
from . import libxc

T = TypeVar("T")


class Unix_error(Exception):  # noqa: N801, N818 (the OCaml name)
    """``exception Unix_error of Unix.error * string``: *err* is the errno, *binding* the
    call that failed (OCaml's ``Unix.error`` is the errno's name)."""

    def __init__(self, err: int, binding: str) -> None:
        super().__init__(f"{errname(err)}: {binding}")
        self.err = err
        self.binding = binding


@dataclass(frozen=True)
class Ok(Generic[T]):
    """``Ok v`` of an ``'a outcome``."""

    value: T


@dataclass(frozen=True)
class Error:
    """``Error (err, binding)`` of an ``'a outcome``: *err* is the errno."""

    err: int
    binding: str

    def __str__(self) -> str:
        return f"{errname(self.err)}: {self.binding}"


Outcome = Ok[T] | Error


def wrap(fn: Callable[[], T], name: str) -> Ok[T] | Error:
    """``Xenctrlext.wrap``: ``Unix_error`` becomes ``Error (errno, binding)``; a
    ``Failure`` or a stray ``Xenctrl.Error`` (a stub bug) becomes ``Error ENOSYS``."""
    try:
        return Ok(fn())
    except Unix_error as e:
        return Error(e.err, e.binding)
    except libxc.XcError:  # a stub that let a libxc failure through: the OCaml's Failure
        return Error(errno.ENOSYS, name)


def handle_outcome(outcome: Ok[T] | Error, default: T) -> T:
    """``handle_outcome ~default``: the value, or *default* (the OCaml logs a warning)."""
    return outcome.value if isinstance(outcome, Ok) else default


class handle:  # noqa: N801 (the OCaml type)
    """``Xenctrlext.handle``: ``interface_open ()`` on the host of the kit's choosing."""

    def __init__(self, xen: Xen) -> None:
        if not isinstance(xen, Xen):
            raise TypeError(f"interface_open needs a claims.Xen host, not {type(xen).__name__}")
        self.xch = libxc.xc_interface_open(xen)

    @property
    def xen(self) -> Xen:
        return self.xch.xen


def interface_open(xen: Xen) -> handle:
    """``external interface_open : unit -> handle``, on *xen*."""
    return handle(xen)


def _h(h: object) -> handle:
    if not isinstance(h, handle):
        raise TypeError(f"handle must be a Xenctrlext handle from interface_open, not {h!r}")
    return h


def _domid(domid: object) -> int:
    if isinstance(domid, bool) or not isinstance(domid, int):
        raise TypeError(f"domid must be an int, not {type(domid).__name__}")
    if not 0 <= domid < 0x7FF0:
        raise ValueError(f"domid {domid} is not a domain id")
    return domid


# ------------------------------------------------------------------ topology
@dataclass(frozen=True)
class meminfo:
    """``type meminfo = {memfree: int64; memsize: int64}`` (bytes)."""

    memfree: int
    memsize: int


@dataclass(frozen=True)
class numainfo_t:
    """``type numainfo = {memory: meminfo array; distances: int array array}``."""

    memory: list[meminfo]
    distances: list[list[int]]


@dataclass(frozen=True)
class cputopo:
    """``type cputopo = {core: int; socket: int; node: int}``."""

    core: int
    socket: int
    node: int


def numainfo(h: handle) -> numainfo_t:
    """``external numainfo : handle -> numainfo``: ``xc_numainfo`` with distances."""
    xch = _h(h).xch
    flat: list[int] = []
    mem = libxc.xc_numainfo(xch, flat)
    n = len(mem)
    return numainfo_t(
        [meminfo(m.memfree, m.memsize) for m in mem],
        [flat[i * n : (i + 1) * n] for i in range(n)],
    )


def cputopoinfo(h: handle) -> list[cputopo]:
    """``external cputopoinfo : handle -> cputopo array``."""
    return [cputopo(c.core, c.socket, c.node) for c in libxc.xc_cputopoinfo(_h(h).xch)]


# ------------------------------------------------------------------ claims
class NumaNode:
    """``module NumaNode``: a node id; ``none`` is ``XC_NUMA_NO_NODE`` (``~0U``)."""

    none = 0xFFFFFFFF

    @staticmethod
    def from_(n: int) -> int:
        """``NumaNode.from``."""
        return n


def _stub_domain_claim_pages(h: handle, domid: int, numa_node: int, nr_pages: int) -> None:
    """``stub_xenctrlext_domain_claim_pages``: ``xc_domain_claim_pages_node``; on failure
    ``Unix_error (errno, "Error when trying to claim memory pages")``."""
    try:
        libxc.xc_domain_claim_pages_node(h.xch, domid, numa_node, nr_pages)
    except libxc.XcError as e:
        raise Unix_error(e.errno or errno.EIO, "Error when trying to claim memory pages") from None


def domain_claim_pages(
    h: handle, domid: int, nr_pages: int, numa_node: int = NumaNode.none
) -> Ok[None] | Error:
    """``domain_claim_pages handle domid ?(numa_node = NumaNode.none) nr_pages``: a claim
    of *nr_pages* (an absolute target) on *numa_node*, or host-wide; an outcome."""
    h = _h(h)
    _domid(domid)
    for name, v, hi in (
        ("nr_pages", nr_pages, (1 << 62) - 1),
        ("numa_node", numa_node, 0xFFFFFFFF),
    ):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int, not {type(v).__name__}")
        if not 0 <= v <= hi:
            raise ValueError(f"{name} = {v} does not fit the C unsigned argument")
    return wrap(lambda: _stub_domain_claim_pages(h, domid, numa_node, nr_pages),
                "domain_claim_pages")  # fmt: skip


# ------------------------------------------------------------------ HostNuma
@dataclass(frozen=True)
class node_meminfo:
    """``type node_meminfo = {size: int64; free: int64; claimed: int64}`` (bytes)."""

    size: int
    free: int
    claimed: int


def _stub_numa_meminfo(h: handle) -> list[node_meminfo]:
    """``stub_xenctrlext_numa_meminfo``: ``xc_numa_meminfo`` for the count, then the
    rows; ``ENOSYS``/``EOPNOTSUPP`` fall back to ``xc_numainfo`` (size = memsize,
    free = memfree, claimed = 0); other errors raise ``Unix_error``."""
    n = ctypes.c_uint32(0)
    try:
        libxc.xc_numa_meminfo(h.xch, n, None)
        rows = (xen_sysctl_node_meminfo_t * n.value)()
        libxc.xc_numa_meminfo(h.xch, n, rows)
    except libxc.XcError as e:
        if e.errno in (errno.ENOSYS, errno.EOPNOTSUPP):
            return [node_meminfo(m.memsize, m.memfree, 0) for m in libxc.xc_numainfo(h.xch)]
        raise Unix_error(e.errno or errno.EIO, "xc_numa_meminfo") from None
    return [node_meminfo(r.size, r.free, r.claimed) for r in rows[: n.value]]


class HostNuma:
    """``module HostNuma``: the NUMA state of the host (its record type is
    :class:`node_meminfo`)."""

    @staticmethod
    def numa_get_meminfo(h: handle) -> Ok[list[node_meminfo]] | Error:
        """``HostNuma.numa_get_meminfo : handle -> node_meminfo array outcome``."""
        hh = _h(h)
        return wrap(lambda: _stub_numa_meminfo(hh), "numa_get_meminfo")


def get_nr_nodes(h: handle) -> Ok[int] | Error:
    """``get_nr_nodes``: the length of ``numa_get_meminfo``."""
    got = HostNuma.numa_get_meminfo(h)
    return Ok(len(got.value)) if isinstance(got, Ok) else got


# ------------------------------------------------------------------ DomainNuma
@dataclass(frozen=True)
class domain_numainfo_node_pages:
    """``{tot_pages_per_node: int64 array}`` (4 KiB pages)."""

    tot_pages_per_node: list[int]


@dataclass(frozen=True)
class domain_numa_state:
    """``DomainNuma.t = {optimised: bool; nodes: int; memory: int64 array}``."""

    optimised: bool
    nodes: int
    memory: list[int]


def _stub_node_pages(h: handle, domid: int) -> domain_numainfo_node_pages:
    n = ctypes.c_uint32(0)
    try:
        libxc.xc_domain_numa_get_node_pages(h.xch, domid, n, None)
        buf = (ctypes.c_uint64 * max(1, n.value))()
        libxc.xc_domain_numa_get_node_pages(h.xch, domid, n, buf)
    except libxc.XcError as e:
        raise Unix_error(e.errno or errno.EIO, "xc_domain_numa_get_node_pages") from None
    return domain_numainfo_node_pages(list(buf[: n.value]))


class DomainNuma:
    """``module DomainNuma``: the NUMA state of a domain."""

    default = domain_numa_state(False, -1, [])

    @staticmethod
    def domain_get_numa_info_node_pages(
        h: handle, domid: int
    ) -> Ok[domain_numainfo_node_pages] | Error:
        """``domain_get_numa_info_node_pages : handle -> int -> ... outcome``."""
        hh = _h(h)
        _domid(domid)
        return wrap(lambda: _stub_node_pages(hh, domid), "domain_get_numa_info_node_pages")

    @staticmethod
    def state(h: handle, domid: int) -> domain_numa_state:
        """``DomainNuma.state ~domid``: the domain's memory per node in bytes, the nodes
        holding more than 4096 pages, and ``optimised`` when that is one node or fewer
        than the host has; ``default`` if either call fails."""
        host = get_nr_nodes(h)
        pages = DomainNuma.domain_get_numa_info_node_pages(h, domid)
        if not isinstance(host, Ok) or not isinstance(pages, Ok):
            return DomainNuma.default
        per = pages.value.tot_pages_per_node
        nodes = sum(1 for p in per if p > 4096)
        return domain_numa_state(nodes == 1 or nodes < host.value, nodes, [p << 12 for p in per])


# ------------------------------------------------------------------ vCPUs
def vcpu_setaffinity(h: handle, domid: int, vcpu: int, affinity: Sequence[bool], hard: bool) -> Any:
    """``vcpu_setaffinity_hard``/``_soft`` (``xc_vcpu_setaffinity`` with one map): *affinity*
    a bool per CPU.  The soft one is wrapped and its failure ignored
    (``handle_outcome ~default:()``); the hard one raises ``Unix_error``."""
    hh = _h(h)
    _domid(domid)
    flag = libxc.XEN_VCPUAFFINITY_HARD if hard else libxc.XEN_VCPUAFFINITY_SOFT
    cpus = list(affinity)

    def stub() -> None:
        try:
            libxc.xc_vcpu_setaffinity(hh.xch, domid, vcpu, cpus if hard else None,
                                      None if hard else cpus, flag)  # fmt: skip
        except libxc.XcError as e:
            raise Unix_error(e.errno or errno.EIO, "xc_vcpu_setaffinity") from None

    if hard:
        stub()
    else:
        handle_outcome(wrap(stub, "vcpu_setaffinity_soft"), None)
    return None


def vcpu_setaffinity_hard(h: handle, domid: int, vcpu: int, affinity: Sequence[bool]) -> None:
    """``external vcpu_setaffinity_hard : handle -> domid -> int -> bool array -> unit``."""
    vcpu_setaffinity(h, domid, vcpu, affinity, True)


def vcpu_setaffinity_soft(h: handle, domid: int, vcpu: int, affinity: Sequence[bool]) -> None:
    """``vcpu_setaffinity_soft``: a failure is logged and ignored."""
    vcpu_setaffinity(h, domid, vcpu, affinity, False)
