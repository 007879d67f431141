"""Hostile inputs (reliability issue, part 3).

Every public callable of the three faces -- ``claims.Xen`` and the helpers
``claims`` exports, ``claims.libxc`` and ``claims.xenctrl`` -- is called with
wrong types, ``None``, bools, negative numbers, numbers past ``2**32`` and
``2**64``, floats, NaN and infinities, huge counts, bad claim sets, unknown
domids and destroyed or foreign domains.  Each call must end in its face's
documented error, with a message, or in a Xen refusal (a negative errno,
``None``, no extents done), and must leave the host exactly as it was.

The callables are found by introspection: a new public function without a
row in the tables below fails ``test_every_public_callable_has_a_row``, and a
row whose parameters differ from the signature fails too.
"""

from __future__ import annotations

import ctypes
import errno
import inspect
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from claims.libxc import XcError
from claims.libxc import xen_domctl_memory_claim_t as E8
from claims.xenctrl import Invalid_argument, claim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import claims
from claims import (
    DOM0,
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_LEGACY,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    hosts,
    libxc,
    xenctrl,
)
from claims import xen_memory_claim_t as E
from claims.hypervisor.public import xen_sysctl_node_meminfo_t
from claims.hypervisor.topology import make_topology

HOST, LEGACY = XEN_DOMCTL_CLAIM_MEMORY_HOST, XEN_DOMCTL_CLAIM_MEMORY_LEGACY
SET, GET = XEN_DOMCTL_CLAIM_MEMORY_SET, XEN_DOMCTL_CLAIM_MEMORY_GET
NAN, INF = float("nan"), float("inf")
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "150"))  # raise it for a soak run


# ---------------------------------------------------------------- the host
class World:
    """A small host with something of everything, and objects that do not belong to it.

    Two nodes of 16 MFNs (16..47); MFNs 44..47 are not yet in the heap.  d1
    has 4 mapped frames (gfns 0-3, one of them pending offline), a node claim
    and a host claim; d2 is empty; d3 was killed (its pages freed dirty); one
    anonymous page is allocated.  d1 and d2 are paused by the toolstack, as
    ``domain_create`` leaves them.  *semantics* is the host's version of the
    series; on ``v8`` there is also d4, unpaused (running) and without claims.
    """

    def __init__(self, semantics: str = "v7") -> None:
        xen = claims.hosts.native_harness(16, semantics=semantics)
        xen.init_heap_pages(16, 28)
        self.xen = xen
        self.d1, self.d2 = xen.domains[1], xen.domains[2]
        assert xen.domain_max_vcpus(self.d2, 1) == 0  # d2 has a vCPU to set affinities on
        assert xen.do_memory_op_populate_physmap(DOM0, 1, 4, 0, 0, [0, 1, 2, 3]) == 4
        assert xen.domain_set_claim_entries(self.d1, [E(2, HOST), E(3, 0)]) == 0
        d3 = xen.domain_create(3)
        assert xen.do_memory_op_populate_physmap(DOM0, 3, 1, 0, 0, [0]) == 1
        xen.domain_kill(d3)
        self.killed = d3  # destroyed: gone from xen.domains, is_dying set
        anon = xen.alloc_domheap_pages(None, 0)
        assert anon is not None
        self.anon = anon
        mfn = self.d1.p2m.get(0)
        assert mfn is not None
        self.d1_mfn = mfn
        pending = self.d1.p2m.get(3)
        assert pending is not None and xen.offline_page(pending)[0] == 0
        self.free_head = next(m for m, _ in xen.free_blocks())
        self.foreign = claims.hosts.native_harness(16).domains[1]  # same domid, other host
        self.stranger = claims.Domain(77)  # on no host at all
        self.xch = libxc.xc_interface_open(xen)
        self.closed_xch = libxc.xc_interface_open(xen)
        libxc.xc_interface_close(self.closed_xch)
        self.h = xenctrl.interface_open(xen)
        self.closed_h = xenctrl.interface_open(xen)
        xenctrl.interface_close(self.closed_h)
        self.dom0 = DOM0
        if semantics == "v8":
            running = xen.domain_create(4)
            assert xen.domain_unpause_by_systemcontroller(running) == 0
            self.running = running

    # fresh buffers for every call: GET writes into them
    @property
    def entries2(self) -> Any:
        return (E * 2)(E(3, 0), E(2, HOST))

    @property
    def entries2_v8(self) -> Any:
        return (E8 * 2)(E8(3, 0), E8(2, HOST))

    @property
    def nr2(self) -> ctypes.c_uint32:
        return ctypes.c_uint32(2)

    @property
    def u64s2(self) -> Any:
        return (ctypes.c_uint64 * 2)()

    @property
    def meminfo2(self) -> Any:
        return (xen_sysctl_node_meminfo_t * 2)()


@dataclass(frozen=True)
class W:
    """An attribute of the World: a valid argument or a hostile object."""

    name: str

    def get(self, w: World) -> Any:
        return getattr(w, self.name)


def resolve(v: Any, w: World) -> Any:
    if isinstance(v, W):
        return v.get(w)
    if isinstance(v, list):  # a fresh copy: guest buffers may be written
        return [resolve(x, w) for x in v]
    return v


# ----------------------------------------------------------- hostile values
# "wrong" values are of a type the argument can never take: they must be
# refused with an exception naming the argument (except guest buffers on the
# hypervisor face, which Xen reads as memory: there a refusal may be EFAULT or
# "no extent done").  "bad" values have the right type but no meaning here:
# any refusal will do.
SCALARS: tuple[Any, ...] = ("1", b"1", [1], {1: 1}, {1}, object(), 1.5, 1.0, NAN, INF, -INF, 1j)
NUMBERS: tuple[Any, ...] = (
    -1,
    -(1 << 64),
    1 << 32,
    (1 << 32) + 1,
    1 << 64,
    (1 << 64) + 1,
    1 << 100,
)
OTHER_HOST = (W("killed"), W("foreign"), W("stranger"))

BAD_SETS: tuple[Any, ...] = (
    [E(1, 0), E(1, 0)],  # node twice
    [E(0, 0), E(0, 0)],
    [E(1, 7), E(0, 0)],  # offline node
    [E(1, 64), E(0, 0)],  # >= MAX_NUMNODES
    [E(1, 0x1234), E(0, 0)],  # unknown selector
    [E(1, 0, 1), E(0, 1)],  # cmd != 0
    [E(1, 0, (1 << 32) - 1), E(0, 1)],
    [E(1, HOST), E(1, LEGACY)],  # two host-wide entries
    [E(5, LEGACY), E(0, 0)],  # legacy while claims exist
    [E(1, LEGACY), E(1, 0)],  # legacy with node pages
    [E((1 << 64) - 1, 0), E(0, 1)],  # more than the node has
    [E((1 << 32), HOST), E(0, 0)],  # above max_pages
    [E((1 << 64) - 1, HOST), E((1 << 64) - 1, 1)],
    [E(0, 0)] * 100,  # huge, and duplicates
    [E(1, n) for n in range(69, -1, -1)],  # huge; node 69 first
)
BAD_OCAML_SETS: tuple[Any, ...] = (
    [],
    [claim(-1, 0)],
    [claim(1, -2)],
    [claim(1, -(1 << 31))],
    [claim(1, 99)],
    [claim(1, 0), claim(1, 0)],
    [claim(5, -1), claim(5, -1)],
    [claim((1 << 63) - 1, 0)],
    [claim((1 << 63) - 1, -1)],
    [claim(1, (1 << 31) - 1)],
    [claim(0, 0)] * 100,
)
GPFN_WRONG: tuple[Any, ...] = (
    None,
    "100",
    b"100",
    100,
    object(),
    1.5,
    {},
    {0: 100},
    {100},
    [1.5],
    [100.0],
    [NAN],
    [INF],
    [True],
    ["100"],
    [None],
    [[100]],
    [1j],
)
GPFN_BAD: tuple[Any, ...] = ([], [-1], [1 << 64], [(1 << 64) + 1])

NODES_WRONG = ("x", b"x", 5, object(), 1.5, NAN, {0: 1}, [1.5], [NAN], [None], [True], ["0"], [[0]])
NODES_BAD = ([-1], [1 << 32], [1 << 64], [], [99], [63], range(10**12))  # huge: 10**12 ids


def _wrong_list(*extra: Any) -> tuple[Any, ...]:
    return ("x", b"x", 5, None, object(), 1.5, NAN, {}, {1: 1}, set(), *extra)


KINDS: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {
    # kind: (wrong values, bad values)
    "int": ((*SCALARS, None, True, False), NUMBERS),
    "int?": ((*SCALARS, True, False), NUMBERS),
    "bool": (("1", b"1", [1], {}, object(), None, 0, 1, -1, 1 << 64, 1.5, NAN), ()),
    "domain": (("x", [1], {}, object(), None, 1, True, 1.5, NAN, DOM0, W("xen")), OTHER_HOST),
    "domain?": (("x", [1], {}, object(), 1, True, 1.5, NAN, DOM0, W("xen")), OTHER_HOST),
    "domain|domid": (
        ("x", [1], {}, object(), None, True, 1.5, NAN, INF, DOM0, W("xen")),
        (-1, 99, 3, 1 << 32, 1 << 64, *OTHER_HOST),
    ),
    "domid": ((*SCALARS, None, True, False), (*NUMBERS, 99, 3, 0x7FF0, 0xFFFF)),
    "caller": (("x", [1], {}, object(), None, 0, True, 1.5, NAN, W("xen")), OTHER_HOST),
    "entries": (
        _wrong_list([1], [None], ["x"], [(1, 0)], [[1, 0]], (ctypes.c_uint64 * 2)(), iter([])),
        BAD_SETS,
    ),
    "guest entries": (
        _wrong_list(INF, [1, 2], [None, None], ["x", "y"], (ctypes.c_uint64 * 4)()),
        (*BAD_SETS, [E(1, 0)]),  # one entry: too short for nr_entries 2
    ),
    "meminfo buffer": (
        _wrong_list([1], (ctypes.c_uint64 * 2)(), [xen_sysctl_node_meminfo_t()]),
        ((xen_sysctl_node_meminfo_t * 1)(),),
    ),
    "u64 buffer": (_wrong_list([1], (ctypes.c_uint32 * 2)()), ((ctypes.c_uint64 * 1)(),)),
    "topology?": (
        ("x", 5, object(), 1.5, [], {}, [[10]]),
        (make_topology([[10, 20], [20, 10]]),),  # two nodes, one in the memory map
    ),
    "cpumap?": (("x", b"x", 5, object(), 1.5, {}, [1], [None], ["x"]), ()),
    "out list?": (("x", b"x", 5, object(), 1.5, NAN, {}, (1, 2), set()), ()),
    # guest buffers of XenServer's statistics calls: Xen reads no type, a bad one faults
    "guest u64s": (_wrong_list(INF, [None], ["x"], [-1], [1 << 64], (ctypes.c_double * 4)()), ()),
    "guest meminfo": (_wrong_list(INF, [None], ["x"], [1], (ctypes.c_uint64 * 4)()), ()),
    "claim_set": (
        _wrong_list([1], [None], [(1, 0)], [[1, 0]], (ctypes.c_uint64 * 4)()),
        (*BAD_SETS, None, [E(1, 0)], (E * 1)()),
    ),
    "claim_set v8": (
        _wrong_list([1], [None], [(1, 0)], [[1, 0]], [E(1, 0)], (E * 2)(), (ctypes.c_uint64 * 4)()),
        (*[[E8.from_buffer_copy(bytes(e)) for e in s] for s in BAD_SETS], None, [E8(1, 0)]),
    ),
    "ocaml claims": (
        _wrong_list([(1, 0)], [None], [E(1, 0)], ["x"], iter([claim(1, 0)])),
        BAD_OCAML_SETS,
    ),
    "nodes": ((*NODES_WRONG, None), NODES_BAD),
    "nodes?": (NODES_WRONG, NODES_BAD),
    "gpfns": (GPFN_WRONG, (*GPFN_BAD, (ctypes.c_double * 1)(100.0))),
    "pfn array": (
        (*GPFN_WRONG, (ctypes.c_double * 1)(100.0), (ctypes.c_int8 * 1)(-1)),
        GPFN_BAD,
    ),
    "out pfns": (("x", b"x", 5, object(), 1.5, NAN, {}, {0: 1}, {1}), ([],)),
    "xch": (("x", [1], {}, object(), None, 1, True, 1.5, W("xen"), W("h")), (W("closed_xch"),)),
    "handle": (("x", [1], {}, object(), None, 1, True, 1.5, W("xen"), W("xch")), (W("closed_h"),)),
    "xen": (("x", [1], {}, object(), None, 1, True, 1.5, W("xch"), W("h")), ()),
    "xen?": (("x", [1], {}, object(), 1, True, 1.5, W("xch"), W("h")), ()),
    "config": (
        (
            "x",
            b"x",
            5,
            object(),
            1.5,
            NAN,
            [],
            [("domid", 5)],
            {"domid": "x"},
            {"domid": 1.5},
            {"domid": True},
            {"domid": NAN},
            {"node_affinity": "x"},
            {"node_affinity": 5},
            {"node_affinity": [None]},
            {"node_affinity": {0: 1}},
            {1: 2},
        ),
        (
            {"domid": -1},
            {"domid": 1 << 32},
            {"domid": 1 << 64},
            {"domid": 1},
            {"domid": 0x7FF0},
            {"node_affinity": [99]},
            {"node_affinity": []},
            {"node_affinity": range(10**12)},
            {"bogus": 1},
        ),
    ),
    "nr_entries": (
        ("x", None, 1.5, NAN, True, [1], object(), ctypes.c_int32(2), ctypes.c_uint64(2)),
        (-1, 1 << 32, 0, 66, (1 << 32) - 1, ctypes.c_uint32(0), ctypes.c_uint32(66)),
    ),
    # v8 reads a SET of 0 entries as "release every claim": 0 is a valid count there
    "nr_entries v8": (
        ("x", None, 1.5, NAN, True, [1], object(), ctypes.c_int32(2), ctypes.c_uint64(2)),
        (-1, 1 << 32, 66, (1 << 32) - 1, ctypes.c_uint32(66)),
    ),
    "int64": (
        ("x", None, 1.5, NAN, INF, True, [1], object(), 1j),
        (1 << 63, -(1 << 63) - 1, 1 << 64, 1 << 100),
    ),
    "ocaml domid": (
        ("x", None, 1.5, NAN, INF, True, [1], object()),
        (-1, 1 << 32, 1 << 62, 1 << 63, 1 << 64, 99, 3, 0x7FF0),
    ),
    "function": (("x", 5, None, object(), [1], 1.5), ()),
    "semantics": ((5, None, b"v7", ["v7"], object(), 1.5, NAN), ("v9", "", "V7")),
    "nodes spec": (
        ("x", 5, None, object(), 1.5, {0: 1}, ["x"], [None], [5], [(8.0, 16.0)], [NAN]),
        (
            [],
            [range(8, 16)] * 65,
            [range(0, 8), range(4, 12)],
            [range(8, 16, 2)],
            [(16, 8)],
            [(-8, 8)],
            [range(0, 1 << 64)],
        ),
    ),
}


@dataclass(frozen=True)
class Arg:
    kind: str
    ok: Any  # a valid value (a W for one of the World's objects)
    extra: tuple[Any, ...] = ()  # more bad values for this argument
    valid: tuple[Any, ...] = ()  # values of the kind's lists that are valid here
    names: tuple[str, ...] = ()  # words that name it in a refusal (default: its name)


def A(kind: str, ok: Any, *extra: Any, **kw: Any) -> Arg:
    return Arg(kind, ok, tuple(extra), **kw)


def same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and not isinstance(a, float) and a == b)


def hostile(arg: Arg, w: World) -> Iterator[tuple[Any, bool]]:
    """``(value, wrong)`` for every hostile value of *arg*."""
    wrong, bad = KINDS[arg.kind]
    for values, is_wrong in ((wrong, True), (bad, False), (arg.extra, False)):
        for v in values:
            if not any(same(v, x) for x in arg.valid):
                yield resolve(v, w), is_wrong


# -------------------------------------------------------------------- faces
@dataclass(frozen=True)
class Face:
    name: str
    allowed: tuple[type[BaseException], ...]  # what a refusal may raise
    errno_errors: tuple[type[BaseException], ...]  # Xen refusals: may record an event
    memory_kinds: frozenset[str] = frozenset()  # guest buffers: Xen may refuse by return


XEN_FACE = Face(
    "claims.Xen",
    (TypeError, ValueError),
    (),
    frozenset({"guest entries", "gpfns", "guest u64s", "guest meminfo"}),
)
LIBXC = Face("claims.libxc", (XcError, TypeError, ValueError), (XcError,))
XENCTRL = Face("claims.xenctrl", (xenctrl.Error, Invalid_argument, TypeError), (xenctrl.Error,))

D1, D2, ANON, D1_MFN = W("d1"), W("d2"), W("anon"), W("d1_mfn")
CALLER = A("caller", W("dom0"))
DOMID1 = A("domid", 1)

# exempt: not entry points (reason given); everything else public needs a row
EXEMPT: dict[str, str] = {
    "Xen.get_free_buddy": "a step inside alloc_heap_pages: it unlinks a buddy without "
    "counting it, so no outside call leaves the host consistent (static in page_alloc.c)",
    "Xen.page_list_add_scrub": "a step inside free/alloc: it links a buddy without counting "
    "it (static in page_alloc.c)",
    "claims.Domain": "made by Xen.domain_create",
    "claims.Event": "a record of the event log",
    "claims.EventLog": "made by Xen",
    "claims.InvariantError": "an exception",
    "claims.XenBugError": "an exception",
    "libxc.XcError": "an exception",
    "libxc.xc_interface": "made by xc_interface_open",
    "libxc.xc_domaininfo_t": "a result record",
    "libxc.xc_physinfo_t": "a result record",
    "libxc.xc_meminfo_t": "a result record",
    "libxc.xc_cputopo_t": "a result record",
    "libxc.xen_sysctl_node_meminfo_t": "a ctypes struct of guest memory (bytes, no checks in C)",
    "libxc.xen_pfn_t": "ctypes.c_uint64",
    "xenctrl.Error": "an exception",
    "xenctrl.Invalid_argument": "an exception",
    "xenctrl.domaininfo": "a result record",
    "xenctrl.physinfo_record": "a result record",
    "xenctrl.handle": "made by interface_open",
}

XEN_METHODS: dict[str, dict[str, Arg]] = {
    "alloc_domheap_pages": {"d": A("domain?", D1), "order": A("int", 0), "memflags": A("int", 0)},
    "alloc_heap_pages": {
        "zone_lo": A("int", 1),
        "zone_hi": A("int", 40),
        "order": A("int", 0),
        "memflags": A("int", 0),
        "d": A("domain?", None),
    },
    "allocated_blocks": {},
    "allocated_by_node": {},
    "assign_pages": {
        "mfn": A("int", ANON, 16, 17),
        "nr": A("int", 1, 0, 3, 2),
        "d": A("domain", D2),
        "memflags": A("int", 0, 1 << 10),
    },
    "avail_heap_pages": {
        "zone_lo": A("int", 1),
        "zone_hi": A("int", 40),
        "node": A("int", -1, valid=(-1,)),
    },
    "avail_node_heap_pages": {"node": A("int", 0)},
    "bits_to_zone": {"bits": A("int", 32)},
    "buddyinfo": {"zone": A("int?", None)},
    "check_heap_invariants": {},
    "check_invariants": {},
    "construct_memop_from_reservation": {"caller": CALLER, "mem_flags": A("int", 0)},
    "dirty_runs": {"start": A("int?", None), "end": A("int?", None)},
    "do_domctl_claim_memory": {
        "caller": A("caller", W("dom0"), D1, D2),
        "d": A("domain|domid", D1),
        "mode": A("int", SET, 2, HOST, LEGACY, (1 << 32) - 1),
        "nr_entries": A("int", 2, 0, 3, 66, 65536, 65537, (1 << 32) - 1),
        "entries": A("guest entries", W("entries2")),
    },
    "do_memory_op_claim_pages": {
        "caller": A("caller", W("dom0"), D1),
        "domid": DOMID1,
        "nr_extents": A("int", 0),
        "extent_order": A("int", 0, 1),
        "mem_flags": A("int", 0, 1),
        "extent_start": A("gpfns", None, [0], valid=(None,)),
        "start_extent": A("int", 0, 1),
    },
    "do_memory_op_decrease_reservation": {
        "caller": A("caller", W("dom0"), D2),
        "domid": DOMID1,
        "nr_extents": A("int", 1, 1 << 26, (1 << 26) - 1),
        "extent_order": A("int", 0, 19),
        "extent_start": A("gpfns", [0], [100]),
    },
    "do_memory_op_increase_reservation": {
        "caller": A("caller", W("dom0"), D2),
        "domid": DOMID1,
        "nr_extents": A("int", 1, 1 << 26),
        "extent_order": A("int", 0, 19),
        "mem_flags": A(
            "int", 0, libxc.XENMEMF_exact_node(5), libxc.XENMEMF_exact_node(254), 1 << 18
        ),
    },
    "do_memory_op_populate_physmap": {
        "caller": A("caller", W("dom0"), D2),
        "domid": DOMID1,
        "nr_extents": A("int", 1, 1 << 26, (1 << 26) - 1),
        "extent_order": A("int", 0, 19),
        "mem_flags": A("int", 0, libxc.XENMEMF_exact_node(5), 1 << 16, 1 << 18),
        "extent_start": A("gpfns", [100]),  # mapped or misaligned frames are fine (p2m_add_page)
    },
    "domain_create": {
        "domid": A("int?", 7, 1, 0x7FF0),
        "max_pages": A("int", 100),
        "node_affinity": A("nodes?", None, names=("node",)),
        "privileged": A("bool", False),
    },
    "domain_get_claim_entries": {"d": A("domain", D1), "max_entries": A("int", 4)},
    "domain_kill": {"d": A("domain", D2)},
    "domain_node_setaffinity": {"d": A("domain", D1), "nodes": A("nodes", [0], names=("node",))},
    "domain_set_claim_entries": {
        "d": A("domain", D1),
        "entries": A("entries", [E(3, 0)], names=("entr",)),
    },
    "domain_set_max_pages": {"d": A("domain", D1), "max_pages": A("int", 100)},
    "domain_unpause_by_systemcontroller": {"d": A("domain", D1)},
    "domain_pause_by_systemcontroller": {"d": A("domain", D1)},
    "do_domctl_set_memory_claims": {
        "caller": A("caller", W("dom0"), D1, D2),
        "d": A("domain|domid", D1),
        "nr_entries": A("int", 2, 3, 66, 65536, 65537, (1 << 32) - 1),
        "claims": A("guest entries", W("entries2")),
        "pad": A("int", 0, 2, HOST, (1 << 32) - 1),
    },
    "domain_max_vcpus": {"d": A("domain", D1), "max_vcpus": A("int", 2, 0, 4097)},
    "vcpu_set_affinity": {
        "d": A("domain", D2),
        "vcpu": A("int", 0, 1, 2, 4096),
        "cpus": A("nodes", [0, 1], [99], names=("cpu",)),
        "hard": A("bool", True),
    },
    "hap_set_allocation": {"d": A("domain", D2), "pages": A("int", 2)},
    "shadow_set_allocation_mb": {"d": A("domain", D2), "mb": A("int", 0)},
    "do_domctl_numa_op": {
        "caller": A("caller", W("dom0"), D1, D2),
        "d": A("domain|domid", D1),
        "op": A("int", 0, 1, (1 << 32) - 1),
        "nr_nodes": A("int", 2, 0, 1, (1 << 32) - 1),
        "node_tot_pages": A("guest u64s", W("u64s2")),
    },
    "do_sysctl_numa_meminfo": {
        "caller": A("caller", W("dom0"), D1, D2),
        "num_nodes": A("int", 2, 0, 1, (1 << 32) - 1),
        "meminfo": A("guest meminfo", W("meminfo2")),
        "rsvd": A("int", 0, 1, (1 << 32) - 1),
    },
    "do_domctl_get_memory_claims": {
        "caller": A("caller", W("dom0"), D1, D2),
        "d": A("domain|domid", D1),
        "nr_entries": A("int", 2, 0, 66, (1 << 32) - 1),
        "claims": A("guest entries", W("entries2")),
        "pad": A("int", 0, 1, (1 << 32) - 1),
    },
    "domain_set_outstanding_pages": {
        "d": A("domain", D1),
        "pages": A("int", 0),
        "node": A("int", 0xFF, 0, 1, 0xFE),
    },
    "find_free_head": {"mfn": A("int", 16)},
    "find_inuse_head": {"mfn": A("int", 16)},
    "free_blocks": {"node": A("int?", None)},
    "free_domheap_pages": {"mfn": A("int", D1_MFN, 16, 100), "order": A("int", 0, 1, 19)},
    "free_heap_pages": {
        "mfn": A("int", ANON, 16, D1_MFN),
        "order": A("int", 0, 1, 19),
        "need_scrub": A("bool", False),
    },
    "get_outstanding_claims": {},
    "guest_remove_page": {"d": A("domain", D1), "gfn": A("int", 0, 100)},
    "heap": {"node": A("int", 0), "zone": A("int", 5), "order": A("int", 0)},
    "init_heap_pages": {
        "mfn": A("int", 44, 16, 48, 0),
        "nr": A("int", 4, 5),
        "need_scrub": A("bool", False),
    },
    "mark_page_offline": {"mfn": A("int", 20, 0, 100), "broken": A("bool", False)},
    "memop_max_order": {"caller": CALLER},
    "mfn_to_nid": {"mfn": A("int", 16)},
    "mfn_valid": {"mfn": A("int", 16)},
    "node_present_pages": {"node": A("int", 0, 2, 63)},
    "node_spanned_pages": {"node": A("int", 0, 2, 63)},
    "node_start_pfn": {"node": A("int", 0, 2, 63)},
    "offline_page": {"mfn": A("int", 20, 0, 100), "broken": A("bool", False)},
    "online_page": {"mfn": A("int", 20, 0, 100)},
    "owned_pages": {"d": A("domain", D1)},
    "page_state": {"mfn": A("int", 16)},
    "page_to_zone": {"mfn": A("int", 16)},
    "pages_by_node": {"d": A("domain", D1)},
    "query_page_offline": {"mfn": A("int", 20, 0, 100)},
    "reserve_offlined_page": {"head_mfn": A("int", W("free_head"), 17, 0, 100)},
    "scrub": {"node": A("int?", None, 2, 63)},
    "state": {},
}

# the helpers and structs the package exports, and the ready-made hosts
XEN_FUNCTIONS: dict[str, tuple[Callable[..., Any], dict[str, Arg]]] = {
    "claims.Xen": (
        claims.Xen,
        {
            "nodes": A("nodes spec", [range(8, 16)], names=("node",)),
            "semantics": A("semantics", "v7"),
            "max_order": A("int", 18, 31),
            "nr_zones": A("int", 41, 0, 1, 65),
            "max_numnodes": A("int", 64, 0, 255),
            "dma_bitsize": A("int", 0, 65, "x64", valid=(-1,)),
            "opt_scrub_domheap": A("bool", False),
            "topology": A("topology?", None),
        },
    ),
    "claims.Caller": (claims.Caller, {"domid": A("int", 0), "privileged": A("bool", True)}),
    "claims.xen_memory_claim_t": (
        E,
        {"pages": A("int", 0), "target": A("int", 0), "cmd": A("int", 0)},
    ),
    "claims.MEMF_node": (claims.MEMF_node, {"node": A("int", 0, 255)}),
    "claims.MEMF_bits": (claims.MEMF_bits, {"bits": A("int", 32, 0, 256)}),
    "claims.MEMF_get_node": (claims.MEMF_get_node, {"memflags": A("int", 0)}),
    "claims.core_build": (claims.core_build, {}),
    "hosts.demo": (hosts.demo, {"semantics": A("semantics", "v7")}),
    "hosts.native_harness": (
        hosts.native_harness,
        {
            "start_mfn": A("int", 16, valid=(1 << 32, (1 << 32) + 1)),
            "numa": A("bool", True),
            "semantics": A("semantics", "v7"),
            "nr_nodes": A("int", 2, 0, 65, 10**9),
        },
    ),
    "hosts.example_distances": (
        hosts.example_distances,
        {"nr_nodes": A("int", 2, 0, 65, 10**9)},
    ),
    "hosts.numa_example": (
        hosts.numa_example,
        {
            "nr_nodes": A("int", 2, 0, 65, 10**9),
            "pages_per_node": A("int", 16, valid=(1 << 32, (1 << 32) + 1)),
            "cpus_per_node": A("int", 4, 4097, 10**9),
            "semantics": A("semantics", "v7"),
            "base_mfn": A("int", 1 << 20, valid=(1 << 32, (1 << 32) + 1)),
        },
    ),
    "hosts.opteron_6272": (
        hosts.opteron_6272,
        {
            "pages_per_node": A("int", 16, valid=(1 << 32, (1 << 32) + 1)),
            "semantics": A("semantics", "v7"),
            "base_mfn": A("int", 1 << 20, valid=(1 << 32, (1 << 32) + 1)),
        },
    ),
    "hosts.uniform": (
        hosts.uniform,
        {
            "nr_nodes": A("int", 2, 0, 65, 10**9),
            "pages_per_node": A("int", 16, valid=(1 << 32, (1 << 32) + 1)),
            "semantics": A("semantics", "v7"),
            "base_mfn": A("int", 1 << 20, valid=(1 << 32, (1 << 32) + 1)),
        },
    ),
}

XCH = A("xch", W("xch"))
PAGE_RANGE = {"xch": XCH, "start": A("int", 20, 100), "end": A("int", 20, 19)}
LIBXC_FUNCTIONS: dict[str, dict[str, Arg]] = {
    "xc_interface_open": {"xen": A("xen", W("xen"), names=("Xen",))},
    "xc_interface_close": {"xch": XCH},
    "xc_domain_create": {
        "xch": XCH,
        "config": A("config", None, names=("config", "domid", "node")),
    },
    "xc_domain_destroy": {"xch": XCH, "domid": A("domid", 2)},
    "xc_domain_setmaxmem": {
        "xch": XCH,
        "domid": DOMID1,
        "max_memkb": A("int", 400, valid=(1 << 32, (1 << 32) + 1)),
    },
    "xc_domain_node_setaffinity": {
        "xch": XCH,
        "domid": DOMID1,
        "nodes": A("nodes", [0], names=("node",)),
    },
    "xc_domain_getinfo_single": {"xch": XCH, "domid": DOMID1},
    "xc_domain_claim_pages": {"xch": XCH, "domid": DOMID1, "nr_pages": A("int", 0)},
    "xc_domain_pause": {"xch": XCH, "domid": DOMID1},
    "xc_domain_unpause": {"xch": XCH, "domid": DOMID1},
    "xc_domain_set_memory_claims": {
        "xch": XCH,
        "domid": DOMID1,
        "claims": A("claim_set v8", W("entries2_v8")),
        "nr": A("int", 2, 3, 66, (1 << 32) - 1),
    },
    "xc_domain_get_memory_claims": {
        "xch": XCH,
        "domid": DOMID1,
        "claims": A("claim_set v8", W("entries2_v8")),
        "nr": A("nr_entries", W("nr2")),
    },
    "xc_domain_claim_memory": {
        "xch": XCH,
        "domid": DOMID1,
        "mode": A("int", SET, 2, HOST, LEGACY),
        "nr_entries": A("nr_entries", W("nr2")),
        "claim_set": A("claim_set", W("entries2")),
    },
    "xc_domain_populate_physmap": {
        "xch": XCH,
        "domid": DOMID1,
        "nr_extents": A("int", 1, 1 << 26),
        "extent_order": A("int", 0, 19),
        "mem_flags": A("int", 0, libxc.XENMEMF_exact_node(5), libxc.XENMEMF_populate_on_demand),
        "extent_start": A("pfn array", [100]),
    },
    "xc_domain_populate_physmap_exact": {
        "xch": XCH,
        "domid": DOMID1,
        "nr_extents": A("int", 1, 1 << 26),
        "extent_order": A("int", 0, 19),
        "mem_flags": A("int", 0, libxc.XENMEMF_exact_node(5), libxc.XENMEMF_populate_on_demand),
        "extent_start": A("pfn array", [100]),
    },
    "xc_domain_increase_reservation_exact": {
        "xch": XCH,
        "domid": DOMID1,
        "nr_extents": A("int", 1, 1 << 26),
        "extent_order": A("int", 0, 19),
        "mem_flags": A("int", 0, libxc.XENMEMF_exact_node(5)),
        "extent_start": A("out pfns", None),
    },
    "xc_domain_decrease_reservation_exact": {
        "xch": XCH,
        "domid": DOMID1,
        "nr_extents": A("int", 1, 1 << 26),
        "extent_order": A("int", 0, 19),
        "extent_start": A("pfn array", [0], [100]),
    },
    "xc_physinfo": {"xch": XCH},
    "xc_cputopoinfo": {"xch": XCH},
    "xc_domain_max_vcpus": {"xch": XCH, "domid": DOMID1, "max": A("int", 2, 0, 4097)},
    "xc_vcpu_setaffinity": {
        "xch": XCH,
        "domid": A("domid", 2),
        "vcpu": A("int", 0, 1, 5),
        "cpumap_hard": A("cpumap?", [True, False]),
        "cpumap_soft": A("cpumap?", None),
        "flags": A("int", libxc.XEN_VCPUAFFINITY_HARD, 0, 4, 2),
    },
    "xc_shadow_control": {
        "xch": XCH,
        "domid": DOMID1,
        "sop": A("int", libxc.XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION, 0, 1),
        "mb": A("nr_entries", W("nr2"), names=("mb",)),
        "mode": A("int", 0),
    },
    "xc_domain_claim_pages_node": {
        "xch": XCH,
        "domid": DOMID1,
        "node": A("int", libxc.XC_NUMA_NO_NODE, 0, 0xFF, 0xFE),
        "nr_pages": A("int", 0, 1, 10),
    },
    "xc_numa_meminfo": {
        "xch": XCH,
        "max_nodes": A("nr_entries", W("nr2"), names=("max_nodes",)),
        "meminfo": A("meminfo buffer", W("meminfo2"), names=("meminfo",)),
    },
    "xc_domain_numa_get_node_pages": {
        "xch": XCH,
        "domid": DOMID1,
        "nr_nodes": A("nr_entries", W("nr2"), names=("nr_nodes",)),
        "tot_pages_per_node": A("u64 buffer", W("u64s2"), names=("tot_pages_per_node",)),
    },
    "xc_numainfo": {"xch": XCH, "distance": A("out list?", None)},
    "xc_availheap": {
        "xch": XCH,
        "min_width": A("int", 0, 1 << 31),
        "max_width": A("int", 0, 1 << 31),
        "node": A("int", -1, -2, valid=(-1,)),
    },
    "xc_mark_page_offline": PAGE_RANGE,
    "xc_mark_page_online": PAGE_RANGE,
    "xc_query_page_offline_status": PAGE_RANGE,
    "XENMEMF_node": {"node": A("int", 0, 255)},
    "XENMEMF_exact_node": {"node": A("int", 0, 255)},
    "XENMEMF_address_bits": {"bits": A("int", 32, 256)},
    "xen_memory_claim_t": {"pages": A("int", 0), "target": A("int", 0), "cmd": A("int", 0)},
    "xen_domctl_memory_claim_t": {
        "pages": A("int", 0),
        "target": A("int", 0),
        "pad": A("int", 0),
    },
    "xen_domctl_memory_claims": {
        "claims": A("int", 0),
        "nr_entries": A("int", 0),
        "pad": A("int", 0),
    },
}

H = A("handle", W("h"), names=("handle",))
ODOMID = A("ocaml domid", 1, names=("domid",))
XENCTRL_FUNCTIONS: dict[str, dict[str, Arg]] = {
    "interface_open": {"xen": A("xen?", W("xen"), names=("Xen",))},
    "interface_close": {"h": H},
    "with_intf": {"f": A("function", lambda h: None), "xen": A("xen?", W("xen"), names=("Xen",))},
    "domain_create": {
        "h": H,
        "config": A("config", None, names=("config", "domid", "node")),
        "domid": A("ocaml domid", None, 1, valid=(None, 99, 3), names=("domid",)),
    },
    "domain_destroy": {"h": H, "domid": ODOMID},
    "domain_setmaxmem": {"h": H, "domid": ODOMID, "kib": A("int64", 400)},
    "domain_getinfo": {"h": H, "domid": ODOMID},
    "domain_max_vcpus": {"h": H, "domid": ODOMID, "max_vcpus": A("int64", 2, 0, 4097, 1 << 32)},
    "shadow_allocation_set": {
        "h": H,
        "domid": A("ocaml domid", 2, names=("domid",)),
        "mb": A("int64", 0, 1 << 32),
    },
    "physinfo": {"h": H},
    "domain_memory_increase_reservation": {
        "h": H,
        "domid": ODOMID,
        "kib": A("int64", 4, -1, -(1 << 63), 1 << 62),
    },
    "domain_claim_memory": {"h": H, "domid": ODOMID, "claims": A("ocaml claims", [claim(3, 0)])},
    "claim": {
        "pages": A("int64", 0, names=("pages",)),
        "node": A("int64", 0, 1 << 31, -(1 << 31) - 1, names=("node",)),
    },
}


@dataclass(frozen=True)
class Row:
    name: str
    face: Face
    fn: Callable[[World], Callable[..., Any]]
    args: dict[str, Arg] = field(default_factory=dict)


def _xen_row(name: str, args: dict[str, Arg]) -> Row:
    return Row(f"Xen.{name}", XEN_FACE, lambda w: getattr(w.xen, name), args)


ROWS: list[Row] = (
    [_xen_row(n, a) for n, a in XEN_METHODS.items()]
    + [Row(n, XEN_FACE, lambda w, f=f: f, a) for n, (f, a) in XEN_FUNCTIONS.items()]
    + [
        Row(f"libxc.{n}", LIBXC, lambda w, n=n: getattr(libxc, n), a)
        for n, a in LIBXC_FUNCTIONS.items()
    ]
    + [
        Row(f"xenctrl.{n}", XENCTRL, lambda w, n=n: getattr(xenctrl, n), a)
        for n, a in XENCTRL_FUNCTIONS.items()
    ]
)


# ---------------------------------------------------------- introspection
def _public(ns: dict[str, Any], module: str, exported: list[str]) -> set[str]:
    out = set()
    for name, obj in ns.items():
        if name.startswith("_") or not callable(obj) or inspect.ismodule(obj):
            continue
        if getattr(obj, "__module__", None) == module or name in exported:
            out.add(name)
    return out


def public_callables() -> dict[str, Callable[..., Any]]:
    """Every public callable of the three faces, by row name."""
    out: dict[str, Callable[..., Any]] = {}
    for name, _ in inspect.getmembers(claims.Xen):
        # methods and static methods; not properties (dom0) or flags (debug_checks)
        if not name.startswith("_") and callable(inspect.getattr_static(claims.Xen, name)):
            out[f"Xen.{name}"] = getattr(claims.Xen, name)
    for name in claims.__all__:
        obj = getattr(claims, name)
        if callable(obj) and not inspect.ismodule(obj):
            out[f"claims.{name}"] = obj
    for name in _public(vars(hosts), hosts.__name__, []):
        out[f"hosts.{name}"] = getattr(hosts, name)
    for name in _public(vars(libxc), libxc.__name__, libxc.__all__):
        out[f"libxc.{name}"] = getattr(libxc, name)
    for name in _public(vars(xenctrl), xenctrl.__name__, []):
        out[f"xenctrl.{name}"] = getattr(xenctrl, name)
    return out


def test_every_public_callable_has_a_row() -> None:
    found = public_callables()
    rows = {r.name for r in ROWS}
    missing = sorted(set(found) - rows - set(EXEMPT))
    assert not missing, f"public callables without a hostile-input row: {missing}"
    stale = sorted((rows | set(EXEMPT)) - set(found))
    assert not stale, f"rows for callables that no longer exist: {stale}"
    for r in ROWS:
        sig = inspect.signature(found[r.name])
        params = list(sig.parameters)
        if r.name.startswith("Xen.") and params[:1] in (["self"], ["xen"]):
            params = params[1:]  # the host: self, or xen for a function bound as a method
        assert set(params) == set(r.args), f"{r.name}: parameters {params}, row {list(r.args)}"


# ------------------------------------------------------------------ calling
def call(row: Row, w: World, kwargs: dict[str, Any]) -> tuple[Any, BaseException | None]:
    try:
        result = row.fn(w)(**kwargs)
        if isinstance(result, Iterator):
            result = list(result)
        return result, None
    except Exception as e:  # classified by the caller
        return None, e


def is_refusal(result: Any) -> bool:
    """A Xen refusal by return value: a negative errno (alone or first), or ``None``."""
    if isinstance(result, tuple) and result:
        result = result[0]
    return result is None or (
        isinstance(result, int) and not isinstance(result, bool) and result < 0
    )


def check_refused(
    row: Row, w: World, param: str, value: Any, wrong: bool, strict: bool = False
) -> None:
    """Call *row* with *value* for *param* (valid values elsewhere); assert it was refused.

    *strict*: a call that returns must return a refusal (``is_refusal``), not merely
    leave the host as it was.
    """
    xen = w.xen
    before = xen.state()
    nev = len(xen.events)
    kwargs = {p: resolve(a.ok, w) for p, a in row.args.items()}
    kwargs[param] = value
    what = f"{row.name}({param}={value!r})"
    result, exc = call(row, w, kwargs)
    if exc is None:
        assert not wrong or row.args[param].kind in row.face.memory_kinds, (
            f"{what} returned {result!r}: a wrong type must be refused with an exception"
        )
        assert not strict or is_refusal(result), f"{what} returned {result!r}: not a refusal"
    else:
        assert isinstance(exc, row.face.allowed), (
            f"{what} raised {type(exc).__name__}: {exc} (not one of {row.face.name}'s errors)"
        )
        msg = str(exc)
        assert msg.strip(), f"{what} raised {type(exc).__name__} without a message"
        if not isinstance(exc, row.face.errno_errors):
            assert len(xen.events) == nev, f"{what} raised {type(exc).__name__} after recording"
            if wrong:
                names = row.args[param].names or (("domain",) if param == "d" else (param,))
                assert any(n.lower() in msg.lower() for n in names), (
                    f"{what}: the message {msg!r} does not name the argument"
                )
    after = xen.state()
    assert after == before, f"{what} changed the host: " + ", ".join(
        k for k in before if before[k] != after.get(k)
    )
    xen.check_invariants()


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_hostile_arguments(row: Row) -> None:
    """Each argument in turn takes each hostile value, the others valid ones."""
    w = World()
    for param, arg in row.args.items():
        for value, wrong in hostile(arg, w):
            check_refused(row, w, param, value, wrong)
    if not row.args:  # no arguments: still callable, and it changes nothing
        before = w.xen.state()
        row.fn(w)()
        assert w.xen.state() == before


# ------------------------------------------------------------ a v8 host
# The v8 callables, and the claim calls whose meaning v8 changes, run against a v8
# World too.  Their valid arguments there are a call that succeeds on v8 (checked by
# test_v8_valid_calls_succeed), so that a refusal is the hostile value's doing:
#
# * v8 installs claims only where none exist and only on a domain the toolstack has
#   paused: SETs go to d2 (paused, no claims), and d1 (has claims) and d4 (running)
#   become hostile values;
# * a SET of 0 entries releases every claim on v8 (v7: EINVAL), so 0 is not a hostile
#   count there ("nr_entries v8");
# * v7's domctl 91 is v8's set_memory_claims with the mode read as pad: every nonzero
#   mode, GET included, is hostile;
# * XENMEM_claim_pages is master's again: any new claim over d1's is EINVAL.
D4 = W("running")
V8_ARGS: dict[str, dict[str, Arg] | None] = {
    # None: the row's own arguments, which already make a v8 call that succeeds
    "Xen.do_domctl_set_memory_claims": {
        "caller": A("caller", W("dom0"), D1, D2),
        "d": A("domain|domid", D2, D1, D4, 1, 4),
        "nr_entries": A("int", 2, 3, 66, 65536, 65537, (1 << 32) - 1),
        "claims": A("guest entries", W("entries2")),
        "pad": A("int", 0, 1, 2, HOST, (1 << 32) - 1),
    },
    "Xen.do_domctl_get_memory_claims": {
        "caller": A("caller", W("dom0"), D1, D2),
        "d": A("domain|domid", D1),
        "nr_entries": A("int", 2, 0, 1, 66, (1 << 32) - 1),
        "claims": A("guest entries", W("entries2")),
        "pad": A("int", 0, 1, 2, HOST, (1 << 32) - 1),
    },
    "Xen.domain_pause_by_systemcontroller": None,
    "Xen.domain_unpause_by_systemcontroller": {"d": A("domain", D1, D4)},
    "Xen.domain_set_claim_entries": {
        "d": A("domain", D2, D1),
        "entries": A("entries", [E(3, 0)], names=("entr",)),
    },
    "Xen.domain_get_claim_entries": {"d": A("domain", D1), "max_entries": A("int", 4, 0, 1)},
    "Xen.domain_set_outstanding_pages": {
        "d": A("domain", D1),
        "pages": A("int", 0, 1, 5, 100),
        "node": A("int", 0xFF, 0, 1, 0xFE),
    },
    "Xen.do_domctl_claim_memory": {
        "caller": A("caller", W("dom0"), D1, D2),
        "d": A("domain|domid", D2, D1, D4, 1, 4),
        "mode": A("int", SET, GET, 2, HOST, LEGACY, (1 << 32) - 1),
        "nr_entries": A("int", 2, 3, 66, 65536, 65537, (1 << 32) - 1),
        "entries": A("guest entries", W("entries2")),
    },
    "libxc.xc_domain_set_memory_claims": {
        "xch": XCH,
        "domid": A("domid", 2, 1, 4),
        "claims": A("claim_set v8", W("entries2_v8")),
        "nr": A("int", 2, 3, 66, (1 << 32) - 1),
    },
    "libxc.xc_domain_get_memory_claims": None,
    "libxc.xc_domain_pause": None,
    "libxc.xc_domain_unpause": {"xch": XCH, "domid": A("domid", 1, 4)},
    "libxc.xc_domain_claim_memory": {
        "xch": XCH,
        "domid": A("domid", 2, 1, 4),
        "mode": A("int", SET, GET, 2, HOST, LEGACY),
        "nr_entries": A("nr_entries v8", W("nr2")),
        "claim_set": A("claim_set", W("entries2")),
    },
    "libxc.xc_domain_claim_pages": {
        "xch": XCH,
        "domid": DOMID1,
        "nr_pages": A("int", 0, 1, 5, 100),
    },
    "libxc.xen_domctl_memory_claim_t": None,
    "libxc.xen_domctl_memory_claims": None,
}
_ROW = {r.name: r for r in ROWS}
V8_ROWS: list[Row] = [
    Row(n, _ROW[n].face, _ROW[n].fn, _ROW[n].args if a is None else a) for n, a in V8_ARGS.items()
]


def test_v8_rows_match_the_rows() -> None:
    """Each v8 row is a row of the table, with the same parameters."""
    for r in V8_ROWS:
        assert r.name in _ROW, f"{r.name}: no such row"
        assert set(r.args) == set(_ROW[r.name].args), f"{r.name}: parameters differ"


@pytest.mark.parametrize("row", V8_ROWS, ids=[r.name for r in V8_ROWS])
def test_v8_valid_calls_succeed(row: Row) -> None:
    """On a v8 World the valid arguments of each v8 row make a call that succeeds."""
    w = World("v8")
    result = row.fn(w)(**{p: resolve(a.ok, w) for p, a in row.args.items()})
    if isinstance(result, tuple):
        result = result[0]
    assert not isinstance(result, int) or result == 0, f"{row.name} returned {result}"
    w.xen.check_invariants()


def changes_state(row: Row) -> bool:
    """Whether the valid call of *row* changes a fresh v8 World (a SET, a pause)."""
    w = World("v8")
    before = w.xen.state()
    row.fn(w)(**{p: resolve(a.ok, w) for p, a in row.args.items()})
    return w.xen.state() != before


@pytest.mark.parametrize("row", V8_ROWS, ids=[r.name for r in V8_ROWS])
def test_hostile_arguments_v8(row: Row) -> None:
    """The v8 rows on a v8 World: each hostile value refused, the host unchanged.

    Where the valid call changes the host, a hostile value that returns must return
    a refusal: an accepted call that happens to change nothing (a release where
    there is no claim) is not refused.  Reads (GET, the structs) are only checked
    to change nothing: a larger buffer or any bytes in an output buffer are fine.
    """
    w = World("v8")
    assert w.xen.rules.name == "v8"
    strict = changes_state(row)
    for param, arg in row.args.items():
        for value, wrong in hostile(arg, w):
            check_refused(row, w, param, value, wrong, strict=strict)


def test_v8_set_rows_are_strict() -> None:
    """The rows whose valid call changes a v8 host: every SET, pause and claim."""
    strict = {r.name for r in V8_ROWS if changes_state(r)}
    assert strict == {
        "Xen.do_domctl_set_memory_claims",
        "Xen.domain_pause_by_systemcontroller",
        "Xen.domain_unpause_by_systemcontroller",
        "Xen.domain_set_claim_entries",
        "Xen.domain_set_outstanding_pages",
        "Xen.do_domctl_claim_memory",
        "libxc.xc_domain_set_memory_claims",
        "libxc.xc_domain_pause",
        "libxc.xc_domain_unpause",
        "libxc.xc_domain_claim_memory",
        "libxc.xc_domain_claim_pages",
    }


# ---------------------------------------------------------- hypothesis: values
def _scalar_junk() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=4),
        st.binary(max_size=4),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.complex_numbers(),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.integers(), st.integers(), max_size=2),
        st.tuples(st.integers()),
        st.builds(object),
    )


INT_KINDS = {"int", "int?", "domid", "int64", "ocaml domid"}
FUZZ_ARGS = [
    (row, param)
    for row in ROWS
    for param, arg in row.args.items()
    if arg.kind in INT_KINDS | {"bool", "domain", "domain?", "caller", "xch", "handle"}
]


@settings(
    max_examples=EXAMPLES * 3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    st.sampled_from(FUZZ_ARGS),
    st.one_of(
        _scalar_junk(),
        st.integers(max_value=-1),
        st.integers(min_value=1 << 64),
        st.none(),
    ),
)
def test_hostile_values_fuzzed(row_param: tuple[Row, str], value: Any) -> None:
    """Random junk for scalar arguments: refused, named, nothing changed."""
    row, param = row_param
    arg = row.args[param]
    if any(same(value, x) for x in arg.valid) or (value is None and arg.kind.endswith("?")):
        return
    if isinstance(value, bool) and arg.kind == "bool":
        return
    if isinstance(value, int) and not isinstance(value, bool):
        if arg.kind not in INT_KINDS:
            wrong = True
        elif arg.kind in ("int64", "ocaml domid") and -(1 << 63) <= value < 0:
            if row.name in ("xenctrl.domain_setmaxmem", "xenctrl.claim"):
                return  # -1L is "unlimited"; claim records take any int64
            wrong = False
        elif value < 0 and -1 in arg.valid:
            return  # -1 means "all nodes" there; below it is refused, not named
        else:
            wrong = False
    else:
        wrong = True
    check_refused(row, World(), param, value, wrong)


# ------------------------------------------------------ hypothesis: claim sets
TARGETS = st.one_of(
    st.sampled_from([0, 1, 2, 7, 63, 64, 0xFF, 0x100, HOST, LEGACY, HOST | 1, (1 << 32) - 1]),
    st.integers(0, (1 << 32) - 1),
)
PAGES = st.one_of(
    st.sampled_from([0, 1, 3, 16, 17, 32, (1 << 31), (1 << 32) - 1, 1 << 32, (1 << 64) - 1]),
    st.integers(0, (1 << 64) - 1),
)
ENTRY = st.builds(E, PAGES, TARGETS, st.sampled_from([0, 0, 0, 0, 1, (1 << 32) - 1]))
SET_ERRNOS = {0, -errno.EINVAL, -errno.ENOENT, -errno.ENOMEM}


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(ENTRY, max_size=6))
def test_claim_sets_fuzzed(entries: list[E]) -> None:
    """Any claim set: installed (invariants hold), or refused with SET's errno and no change."""
    w = World()
    before = w.xen.state()
    rc = w.xen.domain_set_claim_entries(w.d1, entries)
    assert rc in SET_ERRNOS
    if rc:
        assert w.xen.state() == before
    w.xen.check_invariants()


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.lists(ENTRY, max_size=6),
    st.one_of(st.integers(0, 8), st.sampled_from([66, 65536, (1 << 32) - 1])),
    st.sampled_from([SET, SET, GET, 2, HOST]),
    st.sampled_from([1, 2, 3, 99]),
)
def test_domctl_claim_memory_fuzzed(entries: list[E], nr: int, mode: int, domid: int) -> None:
    """The domctl with any buffer, count, mode and domid: its errno table, no change on errors."""
    w = World()
    before = w.xen.state()
    buf = (E * len(entries))(*entries) if entries else None
    target = w.killed if domid == 3 else w.xen.domains.get(domid, domid)
    rc, nr_out = w.xen.do_domctl_claim_memory(DOM0, target, mode, nr, buf)
    allowed = SET_ERRNOS | {-errno.ESRCH, -errno.E2BIG, -errno.EFAULT, -errno.EOPNOTSUPP}
    assert rc in allowed | {-errno.ERANGE}
    if rc or mode != SET:
        assert w.xen.state() == before
    w.xen.check_invariants()
    # the libxc face: the same call, as XcError
    w2 = World()
    before = w2.xen.state()
    nr_c = ctypes.c_uint32(nr)
    buf2 = (E * len(entries))(*entries) if entries else None
    try:
        libxc.xc_domain_claim_memory(w2.xch, domid, mode, nr_c, buf2)
    except XcError as e:
        assert -(e.errno or 0) in allowed | {-errno.ERANGE} and str(e)
        assert w2.xen.state() == before
    w2.xen.check_invariants()


OCAML_CLAIM = st.builds(
    claim,
    st.one_of(st.integers(-(1 << 63), (1 << 63) - 1), st.sampled_from([-1, 0, 1, 3, 16, 33])),
    st.one_of(st.integers(-(1 << 31), (1 << 31) - 1), st.sampled_from([-2, -1, 0, 1, 2, 64])),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(OCAML_CLAIM, max_size=5))
def test_ocaml_claims_fuzzed(claims_: list[claim]) -> None:
    """The OCaml binding: Invalid_argument or Error, nothing changed; or installed."""
    w = World()
    before = w.xen.state()
    try:
        xenctrl.domain_claim_memory(w.h, 1, claims_)
    except (xenctrl.Error, Invalid_argument) as e:
        assert str(e)
        assert w.xen.state() == before
    else:
        assert claims_ and all(c.pages >= 0 and c.node >= -1 for c in claims_)
    w.xen.check_invariants()


V8_SET_ERRNOS = SET_ERRNOS | {
    -errno.ESRCH,
    -errno.E2BIG,
    -errno.EFAULT,
    -errno.EBUSY,
    -errno.EOPNOTSUPP,
}


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.lists(ENTRY, max_size=6),
    st.one_of(st.integers(0, 8), st.sampled_from([66, 65536, (1 << 32) - 1])),
    st.sampled_from([0, 0, 0, 1, (1 << 32) - 1]),
    st.sampled_from([1, 2, 3, 4, 99]),
)
def test_v8_memory_claims_domctls_fuzzed(entries: list[E], nr: int, pad: int, domid: int) -> None:
    """v8's two domctls with any buffer, count, pad and domid (d1 has claims, d2 is paused
    without claims, d3 was killed, d4 runs): SET installs only on d2 (or releases with
    ``nr`` 0), else refuses with no change; GET never changes anything."""
    w = World("v8")
    before = w.xen.state()
    buf = (E8 * len(entries))(*[E8.from_buffer_copy(bytes(e)) for e in entries]) or None
    target = w.killed if domid == 3 else w.xen.domains.get(domid, domid)
    rc = w.xen.do_domctl_set_memory_claims(DOM0, target, nr, buf, pad)
    assert rc in V8_SET_ERRNOS
    if rc:
        assert w.xen.state() == before
    else:
        assert pad == 0 and (nr == 0 or domid == 2)
    w.xen.check_invariants()
    before = w.xen.state()
    rc, _nr = w.xen.do_domctl_get_memory_claims(DOM0, target, nr, buf, pad)
    assert rc in {0, -errno.ENOBUFS, -errno.EINVAL, -errno.ESRCH, -errno.EFAULT}
    assert w.xen.state() == before
