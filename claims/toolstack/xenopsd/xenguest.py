"""How xenguest populates an HVM guest: libxenguest's ``meminit_hvm``
(``tools/libs/guest/xg_dom_x86.c`` at RELEASE-4.21.1, with XenServer's backport of
``a76278016ef7``, "allow caller to provide extra memflags for populate physmap").

XenServer's ``xenguest.patch`` turns ``-mem_pnode N`` into
``dom->memflags = XENMEMF_exact_node(N)``, and every populate call of the build
carries those flags: with a node claim the guest is populated on that node only,
and an extent that does not fit there fails (libxenguest then tries smaller
extents; a 4 KiB failure fails the build).  Without ``-mem_pnode`` no node is named
and Xen follows the domain's node affinity.

The order of the calls, as ``meminit_hvm`` makes them, without vNUMA and PoD (the
guest's target is its whole memory):

1. the 0xA0 low pages, 4 KiB each (``xc_domain_populate_physmap_exact``);
2. skipping the VGA hole (0xA0-0xC0), each vmemrange (below the MMIO hole, then
   from 4 GiB) in passes of at most 1 GiB: a 1 GiB extent where the pass is
   1 GiB-aligned and clear of the MMIO hole (``xc_domain_populate_physmap``, which
   may do none), else up to four 2 MiB extents where aligned, else 4 KiB pages
   (``_exact``, whose failure fails the build);
3. at the end, success or not, ``xc_domain_claim_pages(xch, domid, 0)``: "ensure
   no unclaimed pages are left unused".

Each hypercall is one step of a generator (``yield`` after it), so a boot storm can
interleave builds call by call.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

from .. import libxc
from ..libxc import XcError, xc_interface

SUPERPAGE_2MB_SHIFT = 9
SUPERPAGE_1GB_SHIFT = 18
SUPERPAGE_2MB_NR_PFNS = 1 << SUPERPAGE_2MB_SHIFT
SUPERPAGE_1GB_NR_PFNS = 1 << SUPERPAGE_1GB_SHIFT
VGA_HOLE_START = 0xA0
VGA_HOLE_END = 0xC0
MMIO_START_PFN = 0xF0000  # HVM_BELOW_4G_MMIO_START, 0xF0000000: the default 256 MiB hole
FOUR_GIB_PFN = 1 << 20

Steps = Generator[None, None, "MeminitResult"]


@dataclass
class MeminitResult:
    """What ``meminit_hvm`` did: ``rc`` 0 or -1, and its page statistics."""

    rc: int = 0
    stat_normal_pages: int = 0
    stat_2mb_pages: int = 0
    stat_1gb_pages: int = 0
    calls: int = 0
    failure: str = ""
    extents: list[tuple[int, int, int]] = field(default_factory=list)
    """``(first gfn, order, count)`` of every populate call that did something."""
    claim_left: int = 0
    """The domain's claim just before libxenguest cancels it (read off the model for the
    record; xenguest does not look)."""


def vmemranges(total_pages: int, mmio_start: int = MMIO_START_PFN) -> list[tuple[int, int]]:
    """The dummy vmemranges of a guest without vNUMA, in pages: ``[0, lowmem_end)`` and,
    if the guest is larger than the space below the MMIO hole, ``[4 GiB, highmem_end)``."""
    lowmem_end = min(total_pages, mmio_start)
    out = [(0, lowmem_end)]
    if total_pages > lowmem_end:
        out.append((FOUR_GIB_PFN, FOUR_GIB_PFN + total_pages - lowmem_end))
    return out


def _mmio_hole(start: int, size: int, mmio_start: int, mmio_size: int) -> bool:
    """``check_mmio_hole``: [start, start + size) meets the MMIO hole (all in pages)."""
    return start + size > mmio_start and start < mmio_start + mmio_size


def meminit_hvm(
    xch: xc_interface,
    domid: int,
    total_pages: int,
    memflags: int = 0,
    mmio_start: int = MMIO_START_PFN,
) -> Steps:
    """Populate an HVM guest of *total_pages* (its ``-mem_start_mib`` in pages, the VGA
    hole included), every call with *memflags*; then cancel the claim.  A generator:
    one populate call per step; its return value is a :class:`MeminitResult`."""
    res = MeminitResult()
    mmio_size = FOUR_GIB_PFN - mmio_start

    def populate(gfn: int, order: int, count: int, exact: bool) -> int:
        frames = [gfn + (i << order) for i in range(count)]
        res.calls += 1
        if exact:
            libxc.xc_domain_populate_physmap_exact(xch, domid, count, order, memflags, frames)
            done = count
        else:
            done = libxc.xc_domain_populate_physmap(xch, domid, count, order, memflags, frames)
        if done:
            res.extents.append((gfn, order, done))
        return done

    try:
        try:
            populate(0, 0, VGA_HOLE_START, exact=True)  # the device model's low memory
        except XcError as e:
            res.rc, res.failure = -1, f"could not populate low memory (< 0xA0): {e}"
            return res
        yield
        for start, end in vmemranges(total_pages, mmio_start):
            if start == 0:
                cur = VGA_HOLE_END
                res.stat_normal_pages += VGA_HOLE_END
            else:
                cur = start
            while end > cur:
                count = min(end - cur, SUPERPAGE_1GB_NR_PFNS)
                cur_pfn = cur
                # the corner cases of superpage tails
                if cur_pfn & (SUPERPAGE_1GB_NR_PFNS - 1) and count > (
                    -cur_pfn & (SUPERPAGE_1GB_NR_PFNS - 1)
                ):
                    count = -cur_pfn & (SUPERPAGE_1GB_NR_PFNS - 1)
                elif count & (SUPERPAGE_1GB_NR_PFNS - 1) and count > SUPERPAGE_1GB_NR_PFNS:
                    count &= ~(SUPERPAGE_1GB_NR_PFNS - 1)
                if not (count | cur_pfn) & (SUPERPAGE_1GB_NR_PFNS - 1) and not _mmio_hole(
                    cur_pfn, SUPERPAGE_1GB_NR_PFNS, mmio_start, mmio_size
                ):
                    done = populate(cur, SUPERPAGE_1GB_SHIFT, count >> SUPERPAGE_1GB_SHIFT, False)
                    yield
                    if done > 0:
                        res.stat_1gb_pages += done
                        cur += done << SUPERPAGE_1GB_SHIFT
                        count -= done << SUPERPAGE_1GB_SHIFT
                if count:
                    count = min(count, SUPERPAGE_2MB_NR_PFNS * 4)
                    if cur_pfn & (SUPERPAGE_2MB_NR_PFNS - 1) and count > (
                        -cur_pfn & (SUPERPAGE_2MB_NR_PFNS - 1)
                    ):
                        count = -cur_pfn & (SUPERPAGE_2MB_NR_PFNS - 1)
                    elif count & (SUPERPAGE_2MB_NR_PFNS - 1) and count > SUPERPAGE_2MB_NR_PFNS:
                        count &= ~(SUPERPAGE_2MB_NR_PFNS - 1)
                    if not (count | cur_pfn) & (SUPERPAGE_2MB_NR_PFNS - 1):
                        done = populate(cur, SUPERPAGE_2MB_SHIFT, count >> SUPERPAGE_2MB_SHIFT,
                                        False)  # fmt: skip
                        yield
                        if done > 0:
                            res.stat_2mb_pages += done
                            cur += done << SUPERPAGE_2MB_SHIFT
                            count -= done << SUPERPAGE_2MB_SHIFT
                if count:
                    try:
                        populate(cur, 0, count, exact=True)
                    except XcError as e:
                        res.rc, res.failure = -1, f"could not allocate memory for HVM guest: {e}"
                        return res
                    yield
                    cur += count
                    res.stat_normal_pages += count
        return res
    finally:
        d = xch.xen.domains.get(domid)
        res.claim_left = d.outstanding_pages if d is not None else 0
        # "ensure no unclaimed pages are left unused", on success and error alike
        libxc.xc_domain_claim_pages(xch, domid, 0)
