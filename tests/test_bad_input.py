"""Bad input gets a clear error and changes nothing (issue: heap model, item 5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import claims
from claims import MEMF_bits, MEMF_keep_scrub, MEMF_node


def host() -> claims.Xen:
    xen = claims.hosts.native_harness(16)
    xen.init_heap_pages(16, 16)
    d = xen.domains[1]
    assert xen.alloc_domheap_pages(d, 1) == 30
    return xen


CASES: list[tuple[str, Callable[[claims.Xen], Any], type[Exception], str]] = [
    ("MFN outside every node", lambda x: x.init_heap_pages(100, 4), ValueError, "outside every"),
    ("hole inside range", lambda x: x.init_heap_pages(40, 20), ValueError, "outside every"),
    ("overlaps heap", lambda x: x.init_heap_pages(20, 4), ValueError, "already in the heap"),
    ("negative count", lambda x: x.init_heap_pages(32, -1), ValueError, "nr must not be negative"),
    ("float count", lambda x: x.init_heap_pages(32, 1.5), TypeError, "nr must be an int"),
    ("nan mfn", lambda x: x.init_heap_pages(float("nan"), 1), TypeError, "NaN"),
    ("free order > MAX_ORDER", lambda x: x.free_heap_pages(16, 19), ValueError, "MAX_ORDER"),
    ("free negative order", lambda x: x.free_heap_pages(16, -1), ValueError, "negative"),
    ("double free", lambda x: x.free_heap_pages(16, 0), ValueError, "is free"),
    ("free misaligned", lambda x: x.free_heap_pages(17, 1), ValueError, "not aligned"),
    ("free outside", lambda x: x.free_heap_pages(1000, 0), ValueError, "outside every"),
    ("free reserved", lambda x: x.free_domheap_pages(40, 0), ValueError, "not allocated"),
    ("scrub bad node", lambda x: x.scrub(2), ValueError, "node 2 is above 1"),
    ("scrub negative node", lambda x: x.scrub(-1), ValueError, "node must not be negative"),
    ("MEMF_node out of range", lambda x: MEMF_node(300), ValueError, "out of range"),
    ("MEMF_bits zero", lambda x: MEMF_bits(0), ValueError, "out of range"),
    (
        "affinity bad node",
        lambda x: x.domain_create(node_affinity={99}),
        ValueError,
        "node_affinity node 99",
    ),
    (
        "affinity offline only",
        lambda x: x.domain_create(node_affinity={5}),
        ValueError,
        "no online node",
    ),
    ("duplicate domid", lambda x: x.domain_create(1), ValueError, "already exists"),
    ("negative max_pages", lambda x: x.domain_create(max_pages=-1), ValueError, "max_pages"),
    ("max_pages > u32", lambda x: x.domain_create(max_pages=1 << 32), ValueError, "max_pages"),
    ("alloc negative order", lambda x: x.alloc_domheap_pages(None, -1), ValueError, "order"),
    (
        "unknown memflags",
        lambda x: x.alloc_domheap_pages(None, 0, 1 << 10),
        ValueError,
        "no MEMF_ flag",
    ),
    (
        "keep_scrub alone",
        lambda x: x.alloc_domheap_pages(None, 0, MEMF_keep_scrub),
        ValueError,
        "MEMF_no_scrub",
    ),
    (
        "foreign domain",
        lambda x: x.alloc_domheap_pages(claims.Domain(7), 0),
        ValueError,
        "not a live domain",
    ),
    ("not a domain", lambda x: x.alloc_domheap_pages(7, 0), TypeError, "Domain"),
    (
        "zone_hi below zone_lo",
        lambda x: x.alloc_heap_pages(5, 4, 0, 0, None),
        ValueError,
        "zone_hi",
    ),
    ("reserve non-head", lambda x: x.reserve_offlined_page(17), ValueError, "not the head"),
    ("mark outside", lambda x: x.mark_page_offline(1000), ValueError, "outside every"),
    ("broken not bool", lambda x: x.offline_page(16, broken=1), TypeError, "broken"),
]


@pytest.mark.parametrize(("name", "call", "exc", "msg"), CASES, ids=[c[0] for c in CASES])
def test_refused_and_unchanged(
    name: str, call: Callable[[claims.Xen], Any], exc: type[Exception], msg: str
) -> None:
    xen = host()
    before = xen.state()
    nev = len(xen.events)
    with pytest.raises(exc, match=msg):
        call(xen)
    assert xen.state() == before
    assert len(xen.events) == nev
    xen.check_invariants()


@pytest.mark.parametrize(
    ("nodes", "exc", "msg"),
    [
        ([], ValueError, "1..64 nodes"),
        ([range(0, 8)] * 65, ValueError, "1..64 nodes"),
        ([range(0, 8), range(4, 12)], ValueError, "overlaps"),
        ([range(0, 8, 2)], ValueError, "step 1"),
        ([(8, 4)], ValueError, "end 4 is below 8"),
        (["abc"], TypeError, "memory range"),
        ("abc", TypeError, "sequence"),
        ([range(0, 1 << 41)], ValueError, "above"),
    ],
)
def test_bad_host(nodes: Any, exc: type[Exception], msg: str) -> None:
    with pytest.raises(exc, match=msg):
        claims.Xen(nodes)


def test_bad_semantics() -> None:
    with pytest.raises(ValueError, match="semantics must be one of"):
        claims.Xen([range(8, 16)], semantics="v9")


def test_alloc_order_above_max_order_returns_null_like_xen() -> None:
    """``alloc_heap_pages`` returns NULL for ``order > MAX_ORDER`` (docs/heap.md#alloc-heap-pages
    step 1).
    """
    xen = host()
    before = xen.state()
    assert xen.alloc_domheap_pages(None, 19) is None
    ev = xen.events.last()
    assert ev is not None and "MAX_ORDER" in ev.info["reason"]
    assert xen.state() == before
