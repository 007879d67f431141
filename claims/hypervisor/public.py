"""``xen/include/public/``: the ABI names and structs of the claims hypercalls.

One place for every name the versions of the series use on the wire: the
claim entry ``struct xen_memory_claim`` (``xen_memory_claim_t``), the
special targets, the ``XEN_DOMCTL_claim_memory`` domctl and its modes, and
``XENMEM_claim_pages``; and v8's two domctls with their argument and entry
(``xen_domctl_memory_claims``, ``xen_domctl_memory_claim_t``).  Which of them a
version accepts, and what it does with them, is that version's module under
``claims/series/``: master has only ``XENMEM_claim_pages``; v6 has domctl 91
with SET alone; v7 adds GET; v8 gives 91 to ``set_memory_claims`` and adds 92
(``docs/claims.md#abi``, ``docs/versions.md``).  Both versions' entries and
arguments have one layout, so a v7 toolstack's bytes reach a v8 hypervisor
as v8 reads them: that is how the kit runs one version's toolstack against
another version's hypervisor.
"""

from __future__ import annotations

import ctypes

from .validate import check_int

XEN_DOMCTL_CLAIM_MEMORY_HOST = 0x80000000
"""Target of a host-wide claim (v7 2/3; ``..._GLOBAL`` in v4-v6)."""

XEN_DOMCTL_CLAIM_MEMORY_LEGACY = 0x40000000
"""Target of a claim with ``XENMEM_claim_pages``' semantics (v7; review asked to keep it
internal)."""

XEN_DOMCTL_CLAIM_MEMORY_SET = 0
"""``mode`` of ``XEN_DOMCTL_claim_memory``: install (the v7 patch's value; the design
text swaps SET and GET)."""

XEN_DOMCTL_CLAIM_MEMORY_GET = 1
"""``mode`` of ``XEN_DOMCTL_claim_memory``: read back (v7)."""

XEN_DOMCTL_claim_memory = 91
"""The claims domctl of v6 and v7."""

XENMEM_claim_pages = 24
"""The legacy claim, a ``memory_op`` (``xen/include/public/memory.h``)."""


class xen_memory_claim_t(ctypes.Structure):
    """``struct xen_memory_claim``: ``pages`` u64 at 0, ``target`` u32 at 8, ``cmd`` u32 at 12."""

    _fields_ = [("pages", ctypes.c_uint64), ("target", ctypes.c_uint32), ("cmd", ctypes.c_uint32)]

    def __init__(self, pages: int = 0, target: int = 0, cmd: int = 0) -> None:
        check_int("pages", pages, 0, (1 << 64) - 1)
        check_int("target", target, 0, (1 << 32) - 1)
        check_int("cmd", cmd, 0, (1 << 32) - 1)
        super().__init__(pages, target, cmd)

    def __repr__(self) -> str:
        t = target_name(self.target)
        cmd = f", cmd={self.cmd}" if self.cmd else ""
        return f"xen_memory_claim_t(pages={self.pages}, target={t}{cmd})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, xen_memory_claim_t):
            return (self.pages, self.target, self.cmd) == (other.pages, other.target, other.cmd)
        return NotImplemented

    def as_tuple(self) -> tuple[int, int]:
        """``(target, pages)``, the shape tests compare GET output with."""
        return (self.target, self.pages)


def target_name(target: int) -> str:
    """A claim target as people read it: ``HOST``, ``LEGACY``, ``node3``, or the raw value."""
    if target == XEN_DOMCTL_CLAIM_MEMORY_HOST:
        return "HOST"
    if target == XEN_DOMCTL_CLAIM_MEMORY_LEGACY:
        return "LEGACY"
    if target > 0xFF:
        return f"target {target:#x}"
    return f"node{target}"


# --------------------------------------------------------------------- v8
XEN_DOMCTL_set_memory_claims = 91
"""v8: install claims (the number v7 gave ``XEN_DOMCTL_claim_memory``)."""

XEN_DOMCTL_get_memory_claims = 92
"""v8: read claims back."""

XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST = 0x80000000
"""v8's host-wide target: bit 31 marks special targets and only HOST is defined.

The value is inferred: no v8 header has been published (``docs/versions.md#v8``).
"""


class xen_domctl_memory_claim_t(ctypes.Structure):
    """v8's claim entry: ``pages`` u64 at 0, ``target`` u32 at 8, ``pad`` u32 at 12.

    The layout of v7's ``xen_memory_claim_t``, with the reserved word named
    ``pad`` (it must be 0).
    """

    _fields_ = [("pages", ctypes.c_uint64), ("target", ctypes.c_uint32), ("pad", ctypes.c_uint32)]

    def __init__(self, pages: int = 0, target: int = 0, pad: int = 0) -> None:
        check_int("pages", pages, 0, (1 << 64) - 1)
        check_int("target", target, 0, (1 << 32) - 1)
        check_int("pad", pad, 0, (1 << 32) - 1)
        super().__init__(pages, target, pad)

    def __repr__(self) -> str:
        t = target_name(self.target)
        pad = f", pad={self.pad}" if self.pad else ""
        return f"xen_domctl_memory_claim_t(pages={self.pages}, target={t}{pad})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, xen_domctl_memory_claim_t):
            return (self.pages, self.target, self.pad) == (other.pages, other.target, other.pad)
        return NotImplemented

    def as_tuple(self) -> tuple[int, int]:
        """``(target, pages)``, the shape tests compare GET output with."""
        return (self.target, self.pages)


class xen_domctl_memory_claims(ctypes.Structure):
    """v8's argument of both claims domctls (``u.memory_claims``), 16 bytes.

    ``claims`` is the guest handle of the entry array, ``nr_entries`` its
    length (IN) or the count (OUT, GET), ``pad`` must be 0.  It has v7's
    ``xen_domctl_claim_memory`` layout, with ``pad`` where v7 has ``mode``.
    """

    _fields_ = [
        ("claims", ctypes.c_uint64),
        ("nr_entries", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),
    ]

    def __init__(self, claims: int = 0, nr_entries: int = 0, pad: int = 0) -> None:
        check_int("claims", claims, 0, (1 << 64) - 1)
        check_int("nr_entries", nr_entries, 0, (1 << 32) - 1)
        check_int("pad", pad, 0, (1 << 32) - 1)
        super().__init__(claims, nr_entries, pad)


CLAIM_ENTRY_TYPES = (xen_memory_claim_t, xen_domctl_memory_claim_t)
"""The claim entries of the series: one 16-byte layout, two names for the reserved word."""

ClaimEntry = xen_memory_claim_t | xen_domctl_memory_claim_t


def entry_words(e: ClaimEntry) -> tuple[int, int, int]:
    """``(pages, target, reserved)`` of an entry of either version, as the bytes say."""
    return (e.pages, e.target, e.cmd if isinstance(e, xen_memory_claim_t) else e.pad)


# --------------------------------------------------------------------- XenServer
# XenServer's patch queue (xenserver/xen.pg, Xen 4.21.1): docs/versions.md#xenserver
XEN_DOMCTL_numa_op = 1101
"""XenServer: per-node statistics of a domain (``tools-xc_domain_numa_get_node_pages.patch``)."""

XEN_DOMCTL_NUMA_OP_GET_NODE_PAGES = 0
"""``XEN_DOMCTL_numa_op``'s one operation: the domain's pages on each node."""

XEN_SYSCTL_numa_meminfo = 1117
"""XenServer: size, free and claimed memory of each node, in bytes
(``tools-xc_numa_meminfo.patch``)."""


class xen_sysctl_node_meminfo_t(ctypes.Structure):
    """XenServer's ``struct xen_sysctl_node_meminfo``: ``size``, ``free``, ``claimed``
    (u64 each, bytes; all three ``~0`` for an offline node)."""

    _fields_ = [("size", ctypes.c_uint64), ("free", ctypes.c_uint64), ("claimed", ctypes.c_uint64)]

    def __repr__(self) -> str:
        return (
            f"xen_sysctl_node_meminfo_t(size={self.size}, free={self.free}, claimed={self.claimed})"
        )
