"""The OCaml face: ``tools/ocaml/libs/xc/xenctrl.mli`` with the v7 binding (docs/toolstack.md#xenctrl).

v8 dropped the binding: ``domain_claim_memory`` on a v8 host fails with
``ENOSYS``, as a call the v8 tree does not have.

Hypercall failures raise :class:`Error` (with ``.errno``), as ``failwith_xc``
raises ``Xenctrl.Error``; the binding's own checks raise
:class:`Invalid_argument` (a ``ValueError``) before any hypercall.  Values that
would not fit OCaml's ``int64``/``int32`` are refused the same way, and so are
arguments libxc refuses before the hypercall and a closed handle.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..hypervisor.errors import errname
from ..hypervisor.public import (
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    xen_memory_claim_t,
)
from ..hypervisor.xen import Xen
from . import libxc

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
OCAML_INT_MIN, OCAML_INT_MAX = -(1 << 62), (1 << 62) - 1

T = TypeVar("T")


class Error(Exception):
    """``exception Error of string``: a hypercall failed; ``.errno`` says why."""

    def __init__(self, err: int, message: str) -> None:
        super().__init__(f"{errname(err)}: {message}")
        self.errno = err


class Invalid_argument(ValueError):  # noqa: N818 (the OCaml name)
    """OCaml's ``Invalid_argument``: the binding refused the arguments before any hypercall."""


@dataclass(frozen=True)
class claim:
    """``type claim = { pages : int64; node : int32 }``; node ``-1`` is host-wide."""

    pages: int
    node: int

    def __post_init__(self) -> None:
        _ocaml("claim.pages", self.pages, INT64_MIN, INT64_MAX, "int64")
        _ocaml("claim.node", self.node, INT32_MIN, INT32_MAX, "int32")


@dataclass(frozen=True)
class domaininfo:
    """The ``domaininfo`` record fields the kit keeps."""

    domid: int
    dying: bool
    total_memory_pages: int
    max_memory_pages: int
    outstanding_pages: int


@dataclass(frozen=True)
class physinfo_record:
    """The ``physinfo`` record fields the kit keeps (``physinfo`` is the function here)."""

    total_pages: int
    free_pages: int
    scrub_pages: int
    outstanding_pages: int
    nr_nodes: int


class handle:
    """``type handle``: an open interface on one host."""

    def __init__(self, xch: libxc.xc_interface) -> None:
        self.xch = xch

    @property
    def xen(self) -> Xen:
        return self.xch.xen


def _ocaml(name: str, value: object, lo: int, hi: int, kind: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an OCaml {kind}, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise Invalid_argument(f"{name} = {value} does not fit an OCaml {kind}")
    return value


def _h(h: object) -> handle:
    if not isinstance(h, handle):
        raise TypeError(f"expected a Xenctrl.handle from interface_open, not {h!r}")
    if not h.xch.open:
        raise Invalid_argument("the handle is closed (interface_close)")
    return h


def _domid(domid: object) -> int:
    return _ocaml("domid", domid, 0, OCAML_INT_MAX, "int (domid)")


def _call(fn: Callable[[], T]) -> T:
    """Run a libxc call; its failure becomes ``Error`` (``failwith_xc``)."""
    try:
        return fn()
    except libxc.XcError as e:
        raise Error(e.errno or 0, e.message) from e
    except ValueError as e:  # libxc refused before any hypercall: the binding's error
        if isinstance(e, Invalid_argument):
            raise
        raise Invalid_argument(str(e)) from e


_default_host: Xen | None = None


def interface_open(xen: Xen | None = None) -> handle:
    """``val interface_open : unit -> handle`` (on *xen*, or on a shared demo host)."""
    global _default_host
    if xen is None:
        if _default_host is None:
            from ..hypervisor.hosts import demo

            _default_host = demo()
        xen = _default_host
    return handle(libxc.xc_interface_open(xen))


def interface_close(h: handle) -> None:
    """``val interface_close : handle -> unit``."""
    libxc.xc_interface_close(_h(h).xch)


def with_intf(f: Callable[[handle], T], xen: Xen | None = None) -> T:
    """``val with_intf : (handle -> 'a) -> 'a``."""
    if not callable(f):
        raise TypeError(f"with_intf: f must be a function of the handle, not {type(f).__name__}")
    h = interface_open(xen)
    try:
        return f(h)
    finally:
        interface_close(h)


def domain_create(h: handle, config: dict[str, Any] | None = None, domid: int | None = None) -> int:
    """``val domain_create : handle -> ?domid:int -> domctl_create_config -> domid``."""
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"config must be a dict or None, not {type(config).__name__}")
    cfg = dict(config or {})
    if domid is not None:
        cfg["domid"] = _domid(domid)
    return _call(lambda: libxc.xc_domain_create(_h(h).xch, cfg))


def domain_destroy(h: handle, domid: int) -> None:
    """``external domain_destroy : handle -> domid -> unit``."""
    _call(lambda: libxc.xc_domain_destroy(_h(h).xch, _domid(domid)))


def domain_setmaxmem(h: handle, domid: int, kib: int) -> None:
    """``external domain_setmaxmem : handle -> domid -> int64 -> unit``.

    ``-1L`` (as OCaml toolstacks pass) means unlimited: the stub hands it to C
    as ``uint64_t``.
    """
    _ocaml("kib", kib, INT64_MIN, INT64_MAX, "int64")
    _call(lambda: libxc.xc_domain_setmaxmem(_h(h).xch, _domid(domid), kib & libxc.U64))


def domain_max_vcpus(h: handle, domid: int, max_vcpus: int) -> None:
    """``external domain_max_vcpus : handle -> domid -> int -> unit``."""
    _ocaml("max_vcpus", max_vcpus, 0, OCAML_INT_MAX, "int")
    _call(lambda: libxc.xc_domain_max_vcpus(_h(h).xch, _domid(domid), max_vcpus & libxc.U32))


def shadow_allocation_set(h: handle, domid: int, mb: int) -> None:
    """``external shadow_allocation_set : handle -> domid -> int -> unit``: the paging
    pool in MiB (``xc_shadow_control`` ``SET_ALLOCATION``)."""
    _ocaml("mb", mb, 0, OCAML_INT_MAX, "int")
    if mb > libxc.U32:
        raise Invalid_argument(f"mb = {mb} does not fit an unsigned int")
    _call(
        lambda: libxc.xc_shadow_control(
            _h(h).xch, _domid(domid), libxc.XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION, ctypes.c_uint32(mb)
        )
    )


def domain_getinfo(h: handle, domid: int) -> domaininfo:
    """``external domain_getinfo : handle -> domid -> domaininfo``."""
    info = _call(lambda: libxc.xc_domain_getinfo_single(_h(h).xch, _domid(domid)))
    return domaininfo(
        info.domain, info.dying, info.tot_pages, info.max_pages, info.outstanding_pages
    )


def physinfo(h: handle) -> physinfo_record:
    """``external physinfo : handle -> physinfo``."""
    p = libxc.xc_physinfo(_h(h).xch)
    return physinfo_record(
        p.total_pages, p.free_pages, p.scrub_pages, p.outstanding_pages, p.nr_nodes
    )


def domain_memory_increase_reservation(h: handle, domid: int, kib: int) -> None:
    """``external domain_memory_increase_reservation : handle -> domid -> int64 -> unit``.

    Order-0 extents of ``kib / 4`` pages, not mapped (the stub passes no frames).
    """
    _ocaml("kib", kib, INT64_MIN, INT64_MAX, "int64")
    if kib < 0:
        raise Invalid_argument("domain_memory_increase_reservation: negative size")
    nr = kib >> 2
    _call(lambda: libxc.xc_domain_increase_reservation_exact(_h(h).xch, _domid(domid), nr, 0, 0))


def domain_claim_memory(h: handle, domid: int, claims: Sequence[claim]) -> None:
    """``external domain_claim_memory : handle -> domid -> claim array -> unit``.

    SET only.  An empty array, ``pages < 0`` or ``node < -1`` raise
    ``Invalid_argument`` before the hypercall; node ``-1`` is host-wide.

    The binding is v7's (patch 3/3).  v8 has no OCaml binding and its libxc no
    ``xc_domain_claim_memory``: on a v8 host the call fails as the missing
    call would, with ``Error`` ``ENOSYS`` after the binding's own checks.  On
    master it reaches a hypervisor without the domctl: ``ENOSYS`` too.
    """
    _h(h)
    _domid(domid)
    if isinstance(claims, (str, bytes)) or not isinstance(claims, Sequence):
        raise TypeError("claims must be an array of claim records")
    if len(claims) == 0:
        raise Invalid_argument("domain_claim_memory: claim_set cannot be empty")
    entries = []
    for i, c in enumerate(claims):
        if not isinstance(c, claim):
            raise TypeError(f"claims[{i}] must be a claim record, not {type(c).__name__}")
        if c.pages < 0 or c.node < -1:
            raise Invalid_argument("domain_claim_memory: invalid pages or node")
        target = XEN_DOMCTL_CLAIM_MEMORY_HOST if c.node == -1 else c.node
        entries.append(xen_memory_claim_t(c.pages, target))
    xen = h.xch.xen
    if xen.rules.claim_sets and not xen.rules.ocaml_binding:
        raise Error(
            errno.ENOSYS,
            f"domain_claim_memory: the {xen.rules.name} tree has no OCaml claims binding "
            "(and no xc_domain_claim_memory); its toolstack uses xc_domain_set_memory_claims",
        )
    arr = (xen_memory_claim_t * len(entries))(*entries)
    _call(
        lambda: libxc.xc_domain_claim_memory(
            h.xch, domid, XEN_DOMCTL_CLAIM_MEMORY_SET, len(entries), arr
        )
    )
