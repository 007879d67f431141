"""A guest's memory figures as xenopsd computes them: ``ocaml/xapi-idl/memory/memory.ml``
(xen-api @ ``e2ee48d688``), the ``HVM``, ``Linux`` (PV) and ``PVinPVH`` memory models.

All figures are MiB except ``build_claim_pages``.  What the build uses them for
(``domain.ml``): ``required_host_free_mib`` is the
free host memory ``build_pre`` waits for; ``shadow_mib`` the paging pool it asks
Xen for; ``build_claim_pages`` the claim it stakes (``pages_of_mib
build_start_mib``); ``build_start_mib`` what xenguest populates
(``-mem_start_mib``); ``xen_max_mib`` the domain's ``max_pages``.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGES_PER_MIB = 256  # bytes_per_mib / bytes_per_page
KIB_PER_MIB = 1024
BYTES_PER_PAGE = 4096


def divide_rounding_up(n: int, d: int) -> int:
    """``divide_rounding_up``: ``(n + d - 1) / d`` (OCaml ``Int64.div`` truncates)."""
    return _div(n + d - 1, d)


def _div(n: int, d: int) -> int:
    """``Int64.div``: division truncated toward zero."""
    q = abs(n) // abs(d)
    return q if (n >= 0) == (d > 0) else -q


def mib_of_pages_used(pages: int) -> int:
    """``mib_of_pages_used``: pages to MiB, rounding up."""
    return divide_rounding_up(pages, PAGES_PER_MIB)


def pages_of_bytes_used(n: int) -> int:
    """``pages_of_bytes_used``: bytes to pages, rounding up."""
    return divide_rounding_up(n, BYTES_PER_PAGE)


def pages_of_mib(mib: int) -> int:
    """``pages_of_mib``."""
    return mib * PAGES_PER_MIB


def mib_of_kib_used(kib: int) -> int:
    """``mib_of_kib_used``: KiB to MiB, rounding up."""
    return divide_rounding_up(kib, KIB_PER_MIB)


@dataclass(frozen=True)
class MemoryModelData:
    """``module type MEMORY_MODEL_DATA``: one guest type's constants."""

    name: str
    extra_internal_mib: int
    extra_external_mib: int
    shim_per_90_mib: bool  # PVinPVH: shim_mib x = 23 + x / 90; the others 0
    can_start_ballooned_down: bool = True

    def shim_mib(self, static_max_mib: int) -> int:
        """``D.shim_mib``."""
        return 23 + _div(static_max_mib, 90) if self.shim_per_90_mib else 0


HVM = MemoryModelData("HVM", 1, 1, False)
"""``HVM_memory_model_data``."""
LINUX = MemoryModelData("Linux", 0, 1, False)
"""``Linux_memory_model_data`` (PV guests)."""
PV_IN_PVH = MemoryModelData("PVinPVH", 1, 1, True)
"""``PVinPVH_memory_model_data``."""


@dataclass(frozen=True)
class memory_config:  # noqa: N801 (the OCaml type)
    """``type memory_config``: the figures of one build."""

    build_max_mib: int
    build_start_mib: int
    xen_max_mib: int
    shadow_mib: int
    required_host_free_mib: int
    overhead_mib: int
    build_claim_pages: int


def build_max_mib(d: MemoryModelData, static_max_mib: int, video_mib: int) -> int:
    """``build_max_mib``: static max less video RAM, plus the shim."""
    return static_max_mib - video_mib + d.shim_mib(static_max_mib)


def build_start_mib(
    d: MemoryModelData, static_max_mib: int, target_mib: int, video_mib: int
) -> int:
    """``build_start_mib``: the target less video RAM, plus the shim (every model here
    can start ballooned down)."""
    if d.can_start_ballooned_down:
        return target_mib - video_mib + d.shim_mib(target_mib)
    return build_max_mib(d, static_max_mib, video_mib)


def xen_max_mib(d: MemoryModelData, static_max_mib: int) -> int:
    """``xen_max_mib``: static max plus ``extra_internal`` and the shim."""
    return static_max_mib + d.extra_internal_mib + d.shim_mib(static_max_mib)


def shadow_mib(static_max_mib: int, vcpus: int, multiplier: float = 1.0) -> int:
    """``shadow_mib``: 256 pages per vCPU plus twice the static max in pages (p2m map and
    shadow resident pages), in MiB rounded up, times the multiplier; at least 1."""
    total = mib_of_pages_used(256 * vcpus + static_max_mib + static_max_mib)
    return max(1, int(float(total) * multiplier))


def overhead_mib(d: MemoryModelData, static_max_mib: int, vcpus: int, multiplier: float) -> int:
    """``overhead_mib``: the extras, the shadow, 38 pages per vCPU Xen uses (CA-423172)
    and the shim."""
    return (
        d.extra_internal_mib
        + d.extra_external_mib
        + shadow_mib(static_max_mib, vcpus, multiplier)
        + mib_of_pages_used(38 * vcpus)
        + d.shim_mib(static_max_mib)
    )


def full_config(
    d: MemoryModelData,
    static_max_mib: int,
    video_mib: int,
    target_mib: int,
    vcpus: int,
    shadow_multiplier: float = 1.0,
) -> memory_config:
    """``Memory_model(D).full_config static_max_mib video_mib target_mib vcpus
    shadow_multiplier``."""
    start = build_start_mib(d, static_max_mib, target_mib, video_mib)
    return memory_config(
        build_max_mib=build_max_mib(d, static_max_mib, video_mib),
        build_start_mib=start,
        xen_max_mib=xen_max_mib(d, static_max_mib),
        shadow_mib=shadow_mib(static_max_mib, vcpus, shadow_multiplier),
        required_host_free_mib=target_mib
        + overhead_mib(d, static_max_mib, vcpus, shadow_multiplier),
        overhead_mib=overhead_mib(d, static_max_mib, vcpus, shadow_multiplier),
        build_claim_pages=pages_of_mib(start),
    )
