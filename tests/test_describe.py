"""Events and flags as people read them (claims/views/describe.py)."""

from __future__ import annotations

import claims
from claims.hypervisor.public import XEN_DOMCTL_CLAIM_MEMORY_GET, xen_memory_claim_t
from claims.views.describe import event_text, memflags_text, plural, result_text


def test_memflags_by_macro() -> None:
    assert memflags_text(0) == "0"
    assert memflags_text(claims.MEMF_node(1) | claims.MEMF_exact_node) == (
        "MEMF_node(1)|MEMF_exact_node"
    )
    assert memflags_text(claims.MEMF_node(0)) == "MEMF_node(0)"
    assert memflags_text(claims.MEMF_bits(32) | claims.MEMF_no_refcount) == (
        "MEMF_no_refcount|MEMF_bits(32)"
    )
    assert memflags_text(1 << 15) == "0x8000"  # a bit no macro names


def test_events_read_as_xen_writes_them() -> None:
    xen = claims.hosts.demo()
    d = xen.domain_create()
    arr = (xen_memory_claim_t * 1)(xen_memory_claim_t(10, 0))
    xen.do_domctl_claim_memory(xen.dom0, d, 0, 1, arr)
    xen.do_domctl_claim_memory(xen.dom0, d, XEN_DOMCTL_CLAIM_MEMORY_GET, 0, arr)
    xen.do_domctl_claim_memory(xen.dom0, d, 7, 1, arr)
    xen.alloc_domheap_pages(d, 9, claims.MEMF_node(1) | claims.MEMF_exact_node)
    xen.alloc_domheap_pages(None, 13, 0)
    lines = [event_text(e) for e in xen.events.top_level()]
    assert lines[1].startswith("#1 domain_create(domid=1, max_pages=unlimited")
    assert lines[2] == "#2 do_domctl_claim_memory(d=d1, mode=SET, nr_entries=1) → 0 (installed)"
    assert "mode=GET" in lines[3]
    assert "mode=0x7" in lines[4] and "→ -EOPNOTSUPP" in lines[4]
    assert lines[5].startswith(
        "#5 alloc_domheap_pages(d=d1, order=9, memflags=MEMF_node(1)|MEMF_exact_node) → 0x2e00"
    )
    assert "d=Xen, order=13, memflags=0) → NULL" in lines[6]


def test_results_and_plurals() -> None:
    assert result_text("alloc_domheap_pages", 5) == "0x5"
    assert result_text("do_domctl_claim_memory", -22) == "-EINVAL"
    assert result_text("domain_create", 3) == "3"
    assert plural(1, "allocation") == "1 allocation"
    assert plural(0, "allocation") == "0 allocations"
    assert plural(2, "entry", "entries") == "2 entries"
