"""Shared fixtures: hosts from the spec."""

from __future__ import annotations

import pytest

import claims


@pytest.fixture
def harness8() -> claims.Xen:
    """Native-harness host (start 8), non-NUMA, one order-3 buddy at MFN 8..15
    (docs/heap.md#native-harness S1).
    """
    xen = claims.hosts.native_harness(8, numa=False)
    xen.init_heap_pages(8, 8)
    return xen


def free_map(xen: claims.Xen) -> dict[int, int]:
    """Free buddy heads -> order."""
    return {m: b.order for m, b in xen.free_blocks()}


# every operation in the test suite is followed by check_invariants()
claims.Xen.debug_checks = True
# ... and every lock taken is checked against Xen's lock order (claims.locks)
claims.Xen.lock_checks = True
