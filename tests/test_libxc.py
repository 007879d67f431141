"""The libxc face, and the upstream Dom0 suite replayed through it.

The suite: ``docs/toolstack.md#dom0-suite``.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterator

import pytest
from claims.libxc import (
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    XcError,
    XENMEMF_exact_node,
    xen_memory_claim_t,
    xen_pfn_t,
)

import claims
from claims import libxc

HOST = XEN_DOMCTL_CLAIM_MEMORY_HOST
SET, GET = XEN_DOMCTL_CLAIM_MEMORY_SET, XEN_DOMCTL_CLAIM_MEMORY_GET
U64 = (1 << 64) - 1


def test_abi_layout() -> None:
    assert ctypes.sizeof(xen_memory_claim_t) == 16
    assert xen_memory_claim_t.pages.offset == 0
    assert xen_memory_claim_t.target.offset == 8
    assert xen_memory_claim_t.cmd.offset == 12
    assert ctypes.alignment(xen_memory_claim_t) == 8
    assert (HOST, libxc.XEN_DOMCTL_CLAIM_MEMORY_LEGACY) == (0x80000000, 0x40000000)
    assert (SET, GET, libxc.XEN_DOMCTL_claim_memory, libxc.XENMEM_claim_pages) == (0, 1, 91, 24)
    assert libxc.XENMEMF_exact_node(1) == (2 << 8) | (1 << 17)


# --- the Dom0 suite's fixture ----------------------------------------------------
class Suite:
    """A two-node host; dom_1 and dom_2 with unlimited memory; the baseline recorded."""

    def __init__(self) -> None:
        self.xen = claims.Xen([range(0x10000, 0x12000), range(0x12000, 0x13800)])
        self.xen.init_heap_pages(0x10000, 0x3800)
        self.xch = libxc.xc_interface_open(self.xen)
        self.baseline = libxc.xc_physinfo(self.xch).outstanding_pages
        self.dom_1 = libxc.xc_domain_create(self.xch)
        self.dom_2 = libxc.xc_domain_create(self.xch)
        for d in (self.dom_1, self.dom_2):
            libxc.xc_domain_setmaxmem(self.xch, d, U64)  # setmaxmem(-1)
        info = libxc.xc_numainfo(self.xch)
        order = sorted(range(len(info)), key=lambda n: -info[n].memfree)
        self.primary, self.secondary = order[0], order[1]
        self.num_nodes = libxc.xc_physinfo(self.xch).nr_nodes

    def outstanding(self) -> int:
        return libxc.xc_physinfo(self.xch).outstanding_pages

    def host_free(self) -> int:
        return libxc.xc_availheap(self.xch, 0, 0, -1) // 4096

    def node_free(self, node: int) -> int:
        return libxc.xc_numainfo(self.xch)[node].memfree // 4096

    def set(self, domid: int, *entries: tuple[int, int], cmd: int = 0) -> None:
        arr = (xen_memory_claim_t * len(entries))(
            *[xen_memory_claim_t(p, t, cmd) for t, p in entries]
        )
        nr = ctypes.c_uint32(len(entries))
        libxc.xc_domain_claim_memory(self.xch, domid, SET, nr, arr)

    def release_all(self, domid: int) -> None:
        self.set(domid, (0, 0))  # one zero-initialised entry

    def teardown(self) -> None:
        for d in (self.dom_1, self.dom_2):
            libxc.xc_domain_destroy(self.xch, d)
        assert self.outstanding() == self.baseline
        self.xen.check_invariants()


@pytest.fixture
def s() -> Iterator[Suite]:
    suite = Suite()
    yield suite
    suite.teardown()


def test_fixture_primary_node(s: Suite) -> None:
    assert (s.primary, s.secondary, s.num_nodes) == (0, 1, 2)
    assert (s.host_free(), s.node_free(0), s.node_free(1)) == (0x3800, 0x2000, 0x1800)


def test_a1_1_basic_node_claim(s: Suite) -> None:
    nf = s.node_free(s.primary)
    s.set(s.dom_1, (s.primary, nf - 1))
    assert s.outstanding() == s.baseline + nf - 1
    libxc.xc_domain_destroy(s.xch, s.dom_1)
    assert s.outstanding() == s.baseline
    s.dom_1 = libxc.xc_domain_create(s.xch)  # teardown destroys it again


def test_a1_2_host_wide_replace_after_alloc(s: Suite) -> None:
    hf = s.host_free()
    s.set(s.dom_1, (HOST, hf))
    gfns = (xen_pfn_t * 1)(0)
    assert libxc.xc_domain_populate_physmap_exact(s.xch, s.dom_1, 1, 0, 0, gfns) == 0
    assert s.outstanding() == s.baseline + hf - 1
    s.set(s.dom_1, (HOST, hf // 2))
    assert s.outstanding() == s.baseline + hf // 2
    s.release_all(s.dom_1)
    assert s.outstanding() == s.baseline


def test_a1_3_node_replace_after_alloc(s: Suite) -> None:
    nf = s.node_free(s.primary)
    s.set(s.dom_1, (s.primary, nf - 1))
    gfns = (xen_pfn_t * 1)(0)
    flags = XENMEMF_exact_node(s.primary)
    assert libxc.xc_domain_populate_physmap_exact(s.xch, s.dom_1, 1, 0, flags, gfns) == 0
    assert s.xen.domains[s.dom_1].claims[s.primary] == nf - 2
    s.set(s.dom_1, (s.primary, nf // 2))
    assert s.outstanding() == s.baseline + nf // 2
    s.release_all(s.dom_1)
    assert s.outstanding() == s.baseline


def test_a1_4_legacy_host_wide_claim(s: Suite) -> None:
    hf = s.host_free()
    libxc.xc_domain_claim_pages(s.xch, s.dom_1, hf // 2)
    assert s.outstanding() == s.baseline + hf // 2
    gfns = (xen_pfn_t * 10)(*range(10))
    assert libxc.xc_domain_populate_physmap_exact(s.xch, s.dom_1, 10, 0, 0, gfns) == 0
    assert s.outstanding() == s.baseline + hf // 2 - 10


def test_a1_6_zero_claim_resets_claim(s: Suite) -> None:
    libxc.xc_domain_claim_pages(s.xch, s.dom_1, 8)
    libxc.xc_domain_claim_pages(s.xch, s.dom_1, 0)
    assert s.outstanding() == s.baseline


def test_a1_7_zero_claim_memory_reset(s: Suite) -> None:
    s.set(s.dom_1, (s.primary, 8))
    assert s.outstanding() == s.baseline + 8
    s.set(s.dom_1, (HOST, 0))
    assert s.outstanding() == s.baseline


def test_a1_8_query_claim_memory_size(s: Suite) -> None:
    nr = ctypes.c_uint32(0)
    with pytest.raises(XcError) as e:
        libxc.xc_domain_claim_memory(s.xch, s.dom_1, GET, nr, None)
    assert e.value.errno == errno.ERANGE and nr.value == 1
    buf = (xen_memory_claim_t * 1)()
    assert libxc.xc_domain_claim_memory(s.xch, s.dom_1, GET, nr, buf) == 0
    assert nr.value == 1 and buf[0].as_tuple() == (HOST, 0)


def expect(err: int, s: Suite, fn: object, *args: object) -> XcError:
    before = s.xen.state()
    with pytest.raises(XcError) as e:
        fn(*args)  # type: ignore[operator]
    assert e.value.errno == err, str(e.value)
    assert s.xen.state() == before
    return e.value


def test_i1_1_reject_non_present_node(s: Suite) -> None:
    e = expect(errno.ENOENT, s, s.set, s.dom_1, (s.num_nodes, 1))
    assert "node2" in str(e) and "no such online node" in str(e)


def test_i1_2_reject_too_many_claims(s: Suite) -> None:
    expect(errno.E2BIG, s, s.set, s.dom_1, *[(s.primary, 1)] * 256)


def test_i1_3_reject_node_gt_uint8_max(s: Suite) -> None:
    expect(errno.ENOENT, s, s.set, s.dom_1, (256, 1))


def test_i1_4_reject_pages_gt_int32_max(s: Suite) -> None:
    expect(errno.ENOMEM, s, s.set, s.dom_1, (s.primary, 1 << 31))


def test_i1_5_reject_nonzero_pad(s: Suite) -> None:
    e = expect(errno.EINVAL, s, lambda: s.set(s.dom_1, (s.primary, 1), cmd=1))
    assert "cmd must be 0" in str(e)


def test_i1_6_reject_zero_claim_count(s: Suite) -> None:
    expect(errno.EINVAL, s, libxc.xc_domain_claim_memory, s.xch, s.dom_1, SET, 0, None)


def test_i1_7_null_claims_nonzero_count(s: Suite) -> None:
    expect(errno.EFAULT, s, libxc.xc_domain_claim_memory, s.xch, s.dom_1, SET, 1, None)


def test_i1_8_zero_count_with_pointer(s: Suite) -> None:
    buf = (xen_memory_claim_t * 1)(xen_memory_claim_t(1, HOST))
    expect(errno.EINVAL, s, libxc.xc_domain_claim_memory, s.xch, s.dom_1, SET, 0, buf)


def test_i1_9_claim_pages_gt_free_enomem(s: Suite) -> None:
    hf, nf = s.host_free(), s.node_free(s.primary)
    expect(errno.ENOMEM, s, libxc.xc_domain_claim_pages, s.xch, s.dom_1, hf + 1)
    expect(errno.ENOMEM, s, s.set, s.dom_1, (HOST, hf + 1))
    e = expect(errno.ENOMEM, s, s.set, s.dom_1, (s.primary, nf + 1))
    assert f"node {s.primary} has {nf} unclaimed pages" in str(e)


# --- the upstream legacy test (tools/tests/mem-claim), through libxc -------------
def test_legacy_mem_claim_libxc() -> None:
    xen = claims.hosts.demo()
    xch = libxc.xc_interface_open(xen)
    assert libxc.xc_physinfo(xch).outstanding_pages == 0
    domid = libxc.xc_domain_create(xch)
    libxc.xc_domain_setmaxmem(xch, domid, U64)
    libxc.xc_domain_claim_pages(xch, domid, 1024)
    assert libxc.xc_physinfo(xch).outstanding_pages == 1024
    gfns = (xen_pfn_t * 1)(0)
    assert libxc.xc_domain_populate_physmap_exact(xch, domid, 1, 9, 0, gfns) == 0
    assert libxc.xc_physinfo(xch).outstanding_pages == 512
    libxc.xc_domain_destroy(xch, domid)
    assert libxc.xc_physinfo(xch).outstanding_pages == 0


# --- reservations ------------------------------------------------------------------
def test_populate_plain_returns_count_exact_raises() -> None:
    xen = claims.Xen([range(64, 128), range(128, 192)])
    xen.init_heap_pages(64, 128)
    xch = libxc.xc_interface_open(xen)
    domid = libxc.xc_domain_create(xch)
    libxc.xc_domain_setmaxmem(xch, domid, U64)
    gfns = (xen_pfn_t * 5)(0, 16, 32, 48, 64)
    # node 0 holds 64 pages: four order-4 extents fit exactly, the fifth does not
    assert libxc.xc_domain_populate_physmap(xch, domid, 5, 4, XENMEMF_exact_node(0), gfns) == 4
    d = xen.domains[domid]
    assert [e[0] for e in d.p2m.extents()] == [0, 16, 32, 48]
    assert [e[1] for e in d.p2m.extents()] == [112, 96, 80, 64]
    gfns2 = (xen_pfn_t * 1)(64)
    with pytest.raises(XcError) as e:
        libxc.xc_domain_populate_physmap_exact(xch, domid, 1, 4, XENMEMF_exact_node(0), gfns2)
    assert e.value.errno == errno.EBUSY and "0 of 1" in str(e.value)
    assert libxc.xc_domain_getinfo_single(xch, domid).tot_pages == 64
    # decrease by guest frame: a whole extent, then single pages
    libxc.xc_domain_decrease_reservation_exact(xch, domid, 1, 4, (xen_pfn_t * 1)(16))
    libxc.xc_domain_decrease_reservation_exact(xch, domid, 2, 0, (xen_pfn_t * 2)(0, 1))
    assert libxc.xc_domain_getinfo_single(xch, domid).tot_pages == 46
    assert d.p2m.get(16) is None and d.p2m.get(0) is None and d.p2m[2] == 114
    with pytest.raises(XcError) as e:
        libxc.xc_domain_decrease_reservation_exact(xch, domid, 1, 0, [0])
    assert e.value.errno == errno.EINVAL
    xen.check_invariants()


def test_physinfo_numainfo_availheap() -> None:
    xen = claims.Xen([range(1 << 16, (1 << 16) + 4096), range(1 << 20, (1 << 20) + 2048)])
    xen.init_heap_pages(1 << 16, 4096)
    xen.init_heap_pages(1 << 20, 2048, need_scrub=True)
    xch = libxc.xc_interface_open(xen)
    p = libxc.xc_physinfo(xch)
    assert (p.total_pages, p.free_pages, p.scrub_pages, p.nr_nodes) == (6144, 6144, 2048, 2)
    info = libxc.xc_numainfo(xch)
    assert [(m.memsize, m.memfree) for m in info] == [
        (4096 * 4096, 4096 * 4096),
        (2048 * 4096,) * 2,
    ]
    assert libxc.xc_availheap(xch, 0, 0, -1) == 6144 * 4096
    assert libxc.xc_availheap(xch, 0, 0, 1) == 2048 * 4096
    assert libxc.xc_availheap(xch, 0, 32, -1) == 4096 * 4096  # node 1 starts at 4 GiB
    assert libxc.xc_availheap(xch, 33, 0, -1) == 2048 * 4096  # zones from 21 up
    assert libxc.xc_availheap(xch, 0, 28, -1) == 0  # MFNs below 2**16
    domid = libxc.xc_domain_create(xch)
    libxc.xc_domain_setmaxmem(xch, domid, U64)
    libxc.xc_domain_claim_pages(xch, domid, 100)
    assert libxc.xc_physinfo(xch).free_pages == 6144  # not reduced by claims
    assert libxc.xc_physinfo(xch).outstanding_pages == 100


def test_getinfo_setmaxmem_affinity() -> None:
    xen = claims.hosts.demo()
    xch = libxc.xc_interface_open(xen)
    domid = libxc.xc_domain_create(xch, {"domid": 7})
    assert domid == 7
    libxc.xc_domain_setmaxmem(xch, 7, 4096)
    info = libxc.xc_domain_getinfo_single(xch, 7)
    assert (info.max_pages, info.tot_pages, info.outstanding_pages, info.dying) == (
        1024,
        0,
        0,
        False,
    )
    libxc.xc_domain_node_setaffinity(xch, 7, [1])
    assert xen.domains[7].node_affinity == {1}
    with pytest.raises(XcError) as e:
        libxc.xc_domain_node_setaffinity(xch, 7, [5])
    assert e.value.errno == errno.EINVAL
    libxc.xc_domain_destroy(xch, 7)
    with pytest.raises(XcError) as e:
        libxc.xc_domain_getinfo_single(xch, 7)
    assert e.value.errno == errno.ESRCH and "no domain 7" in str(e.value)


def test_page_offline_online_query() -> None:
    xen = claims.Xen([range(16, 32)])
    xen.init_heap_pages(16, 16)
    xch = libxc.xc_interface_open(xen)
    from claims.hypervisor.constants import (
        PG_OFFLINE_OFFLINED,
        PG_OFFLINE_STATUS_OFFLINED,
        PG_ONLINE_ONLINED,
    )

    assert libxc.xc_mark_page_offline(xch, 20, 21) == [PG_OFFLINE_OFFLINED] * 2
    assert libxc.xc_query_page_offline_status(xch, 20, 20) == [PG_OFFLINE_STATUS_OFFLINED]
    assert libxc.xc_physinfo(xch).free_pages == 14
    assert libxc.xc_mark_page_online(xch, 20, 21) == [PG_ONLINE_ONLINED] * 2
    assert libxc.xc_physinfo(xch).free_pages == 16
    with pytest.raises(XcError) as e:
        libxc.xc_mark_page_offline(xch, 31, 40)
    assert e.value.errno == errno.EINVAL and len(e.value.status) == 2


# --- bad arguments: refused before anything changes ------------------------------
@pytest.mark.parametrize(
    ("call", "exc", "msg"),
    [
        (lambda x: libxc.xc_domain_claim_pages(x, -1, 5), ValueError, "domid = -1 is negative"),
        (lambda x: libxc.xc_domain_claim_pages(x, 1 << 32, 5), ValueError, "uint32_t"),
        (lambda x: libxc.xc_domain_claim_pages(x, 1, 1 << 64), ValueError, "nr_pages.*uint64_t"),
        (
            lambda x: libxc.xc_domain_claim_pages(x, 1, 2.0),
            TypeError,
            "nr_pages must be an integer",
        ),
        (lambda x: libxc.xc_domain_claim_pages(x, 1, float("nan")), TypeError, "NaN"),
        (lambda x: libxc.xc_domain_claim_pages("xch", 1, 5), TypeError, "xch must be"),
        (lambda x: libxc.xc_domain_setmaxmem(x, 1, -1), ValueError, "max_memkb = -1"),
        (lambda x: libxc.xc_domain_claim_memory(x, 1, GET, 1, None), TypeError, "c_uint32"),
        (lambda x: libxc.xc_domain_claim_memory(x, 1, SET, None, None), TypeError, "NULL"),
        (lambda x: libxc.xc_domain_claim_memory(x, 1, SET, 1, [1]), TypeError, "claim_set\\[0\\]"),
        (
            lambda x: libxc.xc_domain_populate_physmap(x, 1, 1, 0, 0, None),
            TypeError,
            "extent_start is NULL",
        ),
        (
            lambda x: libxc.xc_domain_populate_physmap(x, 1, 2, 0, 0, [0]),
            ValueError,
            "holds 1 frames",
        ),
        (
            lambda x: libxc.xc_domain_populate_physmap(x, 1, 1, 0, 0, [-5]),
            ValueError,
            "extent_start\\[0\\]",
        ),
        (lambda x: libxc.xc_availheap(x, -1, 0, 0), ValueError, "min_width"),
        (lambda x: libxc.xc_domain_getinfo_single(x, 99), XcError, "no domain 99"),
        (lambda x: libxc.xc_domain_destroy(x, 99), XcError, "no domain 99"),
    ],
)
def test_bad_arguments(call: object, exc: type[Exception], msg: str) -> None:
    xen = claims.hosts.demo()
    xch = libxc.xc_interface_open(xen)
    libxc.xc_domain_create(xch)
    before = xen.state()
    with pytest.raises(exc, match=msg):
        call(xch)  # type: ignore[operator]
    assert xen.state() == before


def test_closed_handle() -> None:
    xch = libxc.xc_interface_open(claims.hosts.demo())
    libxc.xc_interface_close(xch)
    with pytest.raises(ValueError, match="closed"):
        libxc.xc_physinfo(xch)


def test_populate_during_build_takes_dirty_memory_first() -> None:
    """populate_physmap passes MEMF_no_scrub|MEMF_keep_scrub while the domain is built
    (docs/heap.md#domheap), so a dirty block on the asked node beats a clean one elsewhere; it then
    scrubs the pages itself and assigns them."""
    for finished, want in ((False, 16), (True, 32)):
        xen = claims.hosts.native_harness(16)
        xen.init_heap_pages(16, 2, need_scrub=True)  # node 0: dirty order-1 block
        xen.init_heap_pages(32, 2)  # node 1: clean order-1 block
        d = xen.domains[1]
        d.creation_finished = finished
        xch = libxc.xc_interface_open(xen)
        gfns = (xen_pfn_t * 1)(0)
        libxc.xc_domain_populate_physmap_exact(xch, 1, 1, 1, libxc.XENMEMF_node(0), gfns)
        assert d.p2m[0] == want and d.tot_pages == 2
        assert xen.dirty_runs() == ([] if want == 16 else [(16, 18)])
        assert xen.node_need_scrub == ([0, 0] if want == 16 else [2, 0])
        xen.check_invariants()


def test_a_new_domain_holds_nothing_until_setmaxmem() -> None:
    """Xen's ``domain_create`` leaves ``max_pages`` at 0: claims are refused with
    EINVAL (the max_pages check, docs/claims.md#xenmem-claim-pages) and populate maps nothing, until
    the
    toolstack calls ``xc_domain_setmaxmem``, as libxl does before it builds."""
    xen = claims.hosts.demo()
    xch = libxc.xc_interface_open(xen)
    domid = libxc.xc_domain_create(xch)
    assert libxc.xc_domain_getinfo_single(xch, domid).max_pages == 0
    before = xen.state()
    with pytest.raises(XcError, match="exceed max_pages 0") as e:
        libxc.xc_domain_claim_pages(xch, domid, 16)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(XcError) as e:
        libxc.xc_domain_claim_memory(
            xch, domid, libxc.XEN_DOMCTL_CLAIM_MEMORY_SET, 1, [xen_memory_claim_t(16, 0)]
        )
    assert e.value.errno == errno.EINVAL
    assert xen.state() == before  # refused claims change nothing
    free = xen.total_avail_pages
    assert libxc.xc_domain_populate_physmap(xch, domid, 1, 0, 0, (xen_pfn_t * 1)(0)) == 0
    # the page was allocated, assign_pages refused it (E2BIG) and it went back to the heap
    assert xen.total_avail_pages == free and xen.domains[domid].tot_pages == 0
    populate = xen.events.last()
    assert populate is not None and populate.op == "do_memory_op_populate_physmap"
    assert populate.info["reason"] == "extent 0: assign_pages failed (E2BIG)"
    libxc.xc_domain_setmaxmem(xch, domid, 64)  # KiB: 16 pages
    libxc.xc_domain_claim_pages(xch, domid, 16)
    assert libxc.xc_domain_getinfo_single(xch, domid).outstanding_pages == 16
