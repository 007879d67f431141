"""``xen/include/public/``: the ABI names and structs of the claims hypercalls.

One place for every name the versions of the series use on the wire: the
claim entry ``struct xen_memory_claim`` (``xen_memory_claim_t``), the
special targets, the ``XEN_DOMCTL_claim_memory`` domctl and its modes, and
``XENMEM_claim_pages``.  Which of them a version accepts, and what it does
with them, is that version's module under ``claims/series/``: master has
only ``XENMEM_claim_pages``; v6 has the domctl with SET alone; v7 adds GET
(``docs/claims.md#abi``, ``docs/versions.md``).
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
