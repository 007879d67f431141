"""Replay a host's events on a fresh copy: the trace scrubber and scenario files use it.

Only top-level events are re-run (a populate re-runs its allocations itself).
Every op that changes state is known here; replaying the events of a host
rebuilds it exactly (``state()`` compares equal).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from ..hypervisor.constants import NUMA_NO_NODE
from ..hypervisor.domain import Domain
from ..hypervisor.domctl import Caller
from ..hypervisor.events import Event
from ..hypervisor.public import (
    xen_domctl_memory_claim_t,
    xen_memory_claim_t,
    xen_sysctl_node_meminfo_t,
)
from ..hypervisor.xen import Xen


def fresh_host(xen: Xen) -> Xen:
    """A new, empty host built like *xen* (same memory map, parameters, rule set)."""
    return Xen(**xen.config)


def _caller(args: dict[str, Any]) -> Caller:
    domid, privileged = args.get("caller", (0, True))
    return Caller(domid, privileged)


def _dom(xen: Xen, domid: int | None) -> Domain | None:
    return None if domid is None else xen.domains[domid]


def _entries(raw: list[tuple[int, int, int]] | None) -> Any:
    if raw is None:
        return None
    return (xen_memory_claim_t * max(1, len(raw)))(*[xen_memory_claim_t(*e) for e in raw])


def _domctl(x: Xen, a: dict[str, Any]) -> None:
    d = x.domains.get(a["d"], a["d"])
    x.do_domctl_claim_memory(_caller(a), d, a["mode"], a["nr_entries"], _entries(a.get("entries")))


def _set_claims(x: Xen, a: dict[str, Any]) -> None:
    d = x.domains.get(a["d"], a["d"])
    buf = _entries(a["entries"])
    x.do_domctl_set_memory_claims(_caller(a), d, a["nr_entries"], buf, a["pad"])


def _get_claims(x: Xen, a: dict[str, Any]) -> None:
    d = x.domains.get(a["d"], a["d"])
    buf = (xen_domctl_memory_claim_t * max(1, a["nr_entries"]))()
    x.do_domctl_get_memory_claims(_caller(a), d, a["nr_entries"], buf, a["pad"])


REPLAY: dict[str, Callable[[Xen, dict[str, Any], Event], object]] = {
    "init_heap_pages": lambda x, a, e: x.init_heap_pages(a["mfn"], a["nr"], a["need_scrub"]),
    "domain_create": lambda x, a, e: x.domain_create(
        a["domid"], a["max_pages"], a["node_affinity"]
    ),
    "domain_kill": lambda x, a, e: x.domain_kill(x.domains[a["d"]]),
    "domain_unpause_by_systemcontroller": lambda x, a, e: x.domain_unpause_by_systemcontroller(
        x.domains[a["d"]]
    ),
    "domain_pause_by_systemcontroller": lambda x, a, e: x.domain_pause_by_systemcontroller(
        x.domains[a["d"]]
    ),
    "domain_set_max_pages": lambda x, a, e: x.domain_set_max_pages(
        x.domains[a["d"]], a["max_pages"]
    ),
    "domain_node_setaffinity": lambda x, a, e: x.domain_node_setaffinity(
        x.domains[a["d"]], a["nodes"]
    ),
    "alloc_heap_pages": lambda x, a, e: x.alloc_heap_pages(
        e.info["zones"][0], e.info["zones"][1], a["order"], a["memflags"], _dom(x, a["d"])
    ),
    "alloc_domheap_pages": lambda x, a, e: x.alloc_domheap_pages(
        _dom(x, a["d"]), a["order"], a["memflags"]
    ),
    "free_heap_pages": lambda x, a, e: x.free_heap_pages(a["mfn"], a["order"], a["need_scrub"]),
    "free_domheap_pages": lambda x, a, e: x.free_domheap_pages(a["mfn"], a["order"]),
    "assign_pages": lambda x, a, e: x.assign_pages(
        a["mfn"], a["nr"], x.domains[a["d"]], a["memflags"]
    ),
    "scrub": lambda x, a, e: x.scrub(a["node"]),
    "mark_page_offline": lambda x, a, e: x.mark_page_offline(a["mfn"], a["broken"]),
    "reserve_offlined_page": lambda x, a, e: x.reserve_offlined_page(a["head_mfn"]),
    "offline_page": lambda x, a, e: x.offline_page(a["mfn"], a["broken"]),
    "online_page": lambda x, a, e: x.online_page(a["mfn"]),
    "hap_set_allocation": lambda x, a, e: x.hap_set_allocation(x.domains[a["d"]], a["pages"]),
    "domain_max_vcpus": lambda x, a, e: x.domain_max_vcpus(x.domains[a["d"]], a["max_vcpus"]),
    "vcpu_set_affinity": lambda x, a, e: x.vcpu_set_affinity(
        x.domains[a["d"]], a["vcpu"], a["cpus"], a["hard"]
    ),
    "domain_set_claim_entries": lambda x, a, e: x.domain_set_claim_entries(
        x.domains[a["d"]], [xen_memory_claim_t(*t) for t in a["entries"]]
    ),
    "domain_set_outstanding_pages": lambda x, a, e: x.domain_set_outstanding_pages(
        x.domains[a["d"]], a["pages"], a.get("node", NUMA_NO_NODE)
    ),
    "do_domctl_claim_memory": lambda x, a, e: _domctl(x, a),
    "do_domctl_set_memory_claims": lambda x, a, e: _set_claims(x, a),
    "do_domctl_get_memory_claims": lambda x, a, e: _get_claims(x, a),
    "do_memory_op_claim_pages": lambda x, a, e: x.do_memory_op_claim_pages(
        _caller(a), a["domid"], a["nr_extents"], mem_flags=a.get("mem_flags", 0)
    ),
    # read-only statistics: re-run with fresh buffers of the same size
    "do_domctl_numa_op": lambda x, a, e: x.do_domctl_numa_op(
        _caller(a), a["d"], a["op"], a["nr_nodes"], (ctypes.c_uint64 * max(1, a["nr_nodes"]))()
    ),
    "do_sysctl_numa_meminfo": lambda x, a, e: x.do_sysctl_numa_meminfo(
        _caller(a),
        a["num_nodes"],
        (xen_sysctl_node_meminfo_t * a["num_nodes"])() if a["num_nodes"] else None,
        a["rsvd"],
    ),
    "do_memory_op_populate_physmap": lambda x, a, e: x.do_memory_op_populate_physmap(
        _caller(a),
        a["domid"],
        a["nr_extents"],
        a["extent_order"],
        a["mem_flags"],
        a["extent_start"],
    ),
    "do_memory_op_increase_reservation": lambda x, a, e: x.do_memory_op_increase_reservation(
        _caller(a), a["domid"], a["nr_extents"], a["extent_order"], a["mem_flags"]
    ),
    "do_memory_op_decrease_reservation": lambda x, a, e: x.do_memory_op_decrease_reservation(
        _caller(a), a["domid"], a["nr_extents"], a["extent_order"], a["extent_start"]
    ),
}


def apply(xen: Xen, event: Event) -> None:
    """Re-run one top-level event on *xen*."""
    fn = REPLAY.get(event.op)
    if fn is None:
        raise ValueError(f"event #{event.seq} {event.op!r} cannot be replayed")
    fn(xen, event.args, event)


def replay(xen: Xen, upto: int | None = None) -> Xen:
    """A fresh host with *xen*'s top-level events up to index *upto* (exclusive) re-run."""
    host = fresh_host(xen)
    for ev in xen.events.top_level()[:upto]:
        apply(host, ev)
    return host
