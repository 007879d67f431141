"""The claims reference model (``tests/reference_model.py``) on the spec's own scenarios
(v7, and v8: docs/versions.md#v8), and the model fixes the state machine
(``test_state_machine.py``) led to."""

from __future__ import annotations

import errno

import pytest
from reference_model import HOST, LEGACY, MODE_GET, MODE_SET, PAUSE_MAX, ClaimsReference

import claims
from claims import DOM0, Caller, MEMF_exact_node, MEMF_node, xen_memory_claim_t
from claims.hypervisor.public import xen_domctl_memory_claim_t as E8


def test_cnis_node_claims_redeemed_same_node_host_then_other_nodes() -> None:
    """docs/toolstack.md#native-tests CNIS: two nodes of 4 free pages, SET
    [{HOST,2},{node0,2},{node1,2}].
    """
    ref = ClaimsReference("v7", [4, 4])
    ref.domain_create(1)
    assert ref.claim_memory(1, MODE_SET, 3, [(2, HOST, 0), (2, 0, 0), (2, 1, 0)])[0] == 0
    assert ref.outstanding_claims == 6
    steps = [  # (order, node) -> TOTAL, FREE, GET
        ((0, 0), 5, 7, [(HOST, 2), (0, 1), (1, 2)]),
        ((0, 1), 4, 6, [(HOST, 2), (0, 1), (1, 1)]),
        ((1, 1), 2, 4, [(HOST, 1), (0, 1)]),
        ((0, 1), 1, 3, [(HOST, 0), (0, 1)]),
        ((0, 0), 0, 2, [(HOST, 0)]),  # node 1 empty: fell back to node 0
    ]
    for (order, node), total, free, get in steps:
        rc = ClaimsReference.refcounted(1, 0)
        assert ref.host_gate(1, order, rc) and ref.node_gate(node, 1, order, rc)
        ref.alloc(1, node, order, rc)
        assert (ref.outstanding_claims, ref.total_avail_pages) == (total, free)
        assert ref.get_claim_entries(1) == get
    assert ref.claim_memory(1, MODE_GET, 0, None)[:2] == (0 - errno.ERANGE, 1)


@pytest.mark.parametrize("legacy", [False, True])
def test_tcc_host_claims(legacy: bool) -> None:
    """docs/toolstack.md#native-tests TCCD/TCCH: one order-3 buddy, legacy claims and SET {HOST,
    pages}.
    """
    ref = ClaimsReference("v7", [8])
    ref.domain_create(1)
    ref.domain_create(2)

    def claim(domid: int, pages: int) -> int:
        ref.set_tot_pages(1, tot1)
        if legacy:  # the harness resets, then claims pages + tot_pages
            rc = ref.claim_pages(domid, 0)
            return rc or pages and ref.claim_pages(domid, pages + ref.domains[domid].tot_pages)
        return ref.claim_memory(domid, MODE_SET, 1, [(pages, HOST, 0)])[0]

    def alloc(domid: int, order: int) -> bool:
        if not ref.host_gate(domid, order, True):
            return False
        ref.alloc(domid, 0, order, True)
        return True

    tot1 = 0
    assert claim(1, 4) == 0 and ref.outstanding_claims == 4
    assert alloc(1, 1) and ref.outstanding_claims == 2
    assert alloc(1, 0) and ref.outstanding_claims == 1
    tot1 = 3
    assert claim(2, 8) == -errno.ENOMEM
    assert claim(2, 5) == -errno.ENOMEM and ref.outstanding_claims == 1
    ref.set_max_pages(1, tot1 - 1)
    assert claim(1, 0) == 0 and ref.outstanding_claims == 0  # release ignores max_pages
    assert claim(2, 5) == 0 and ref.outstanding_claims == 5
    assert claim(1, 1) == -errno.EINVAL  # max_pages
    ref.set_max_pages(1, 8)
    assert claim(1, 1) == -errno.ENOMEM
    assert not alloc(1, 0)
    assert alloc(2, 0) and ref.outstanding_claims == 4
    assert alloc(2, 2) and ref.outstanding_claims == 0


def test_ohch_offlining_recalls_host_claims() -> None:
    """docs/toolstack.md#native-tests OHCH: 4 free pages, HOST claim 3, offline two pages."""
    ref = ClaimsReference("v7", [4])
    ref.domain_create(1)
    assert ref.set_claim_entries(1, [(3, HOST, 0)]) == 0
    assert ref.offline(0, 1) == {} and ref.outstanding_claims == 3
    assert ref.offline(0, 1) == {1: 1} and ref.outstanding_claims == 2
    assert ClaimsReference("v6", [4]).offline(0, 1) == {}  # v6: no recall


def test_errno_scenarios() -> None:
    """docs/toolstack.md#dom0-suite I1-x and A1-8, on one node of 16 pages."""
    ref = ClaimsReference("v7", [16])
    ref.domain_create(1)

    def set_(entries: list[tuple[int, int, int]] | None, nr: int | None = None) -> int:
        n = len(entries or []) if nr is None else nr
        return ref.claim_memory(1, MODE_SET, n, entries)[0]

    assert set_([(1, 1, 0)]) == -errno.ENOENT  # I1-1: num_nodes
    assert set_([(1, 0, 0)] * 256) == -errno.E2BIG  # I1-2
    assert set_([(1, 256, 0)]) == -errno.ENOENT  # I1-3
    assert set_([(2**31, 0, 0)]) == -errno.ENOMEM  # I1-4
    assert set_([(1, 0, 1)]) == -errno.EINVAL  # I1-5
    assert set_(None, 0) == -errno.EINVAL  # I1-6
    assert set_(None, 1) == -errno.EFAULT  # I1-7
    assert set_([(1, 0, 0)], 0) == -errno.EINVAL  # I1-8
    assert ref.claim_pages(1, 17) == -errno.ENOMEM  # I1-9
    assert set_([(17, HOST, 0)]) == -errno.ENOMEM
    assert set_([(17, 0, 0)]) == -errno.ENOMEM
    assert ref.claim_memory(1, MODE_GET, 0, None) == (-errno.ERANGE, 1, None)  # A1-8
    assert ref.claim_memory(1, MODE_GET, 1, None, buffer_len=1) == (0, 1, [(HOST, 0)])
    # LEGACY rules inside the domctl (docs/claims.md#set-phases phase 2)
    assert set_([(4, LEGACY, 0), (0, 0, 0)]) == 0 and ref.domains[1].host == 4
    assert set_([(4, LEGACY, 0)]) == -errno.EINVAL  # a claim exists
    assert set_([(4, LEGACY, 0), (1, 0, 0)]) == -errno.EINVAL  # node pages
    assert set_([(0, LEGACY, 0)]) == 0 and ref.outstanding_claims == 0


# ------------------------------------------------ model fixes found by the machine
def test_master_domctl_checks_domain_and_privilege_first() -> None:
    """On master XEN_DOMCTL_claim_memory is an unknown domctl: do_domctl still looks
    the domain up (ESRCH) and asks XSM (EPERM) before arch_do_domctl's ENOSYS."""
    xen = claims.hosts.native_harness(16, semantics="master")
    ref = ClaimsReference("master", xen.node_avail_pages)
    ref.domain_create(1)
    ref.domain_create(2)
    buf = [xen_memory_claim_t(1, HOST)]
    for caller, domid, want in (
        (DOM0, 3, -errno.ESRCH),
        (Caller(5, False), 1, -errno.EPERM),
        (DOM0, 1, -errno.ENOSYS),
    ):
        assert xen.do_domctl_claim_memory(caller, domid, MODE_SET, 1, buf)[0] == want
        got = ref.claim_memory(domid, MODE_SET, 1, [(1, HOST, 0)], privileged=caller.privileged)
        assert got[0] == want


def test_offline_recall_follows_the_domid_sorted_domain_list() -> None:
    """docs/offlining.md#claims-after-offlining recalls in domain-list order; Xen keeps domain_list
    sorted by domid,
    whatever order the domains were created in."""
    xen = claims.hosts.uniform(1, 16)
    ref = ClaimsReference("v7", xen.node_avail_pages)
    for domid in (3, 1):
        xen.domain_create(domid)
        ref.domain_create(domid)
    for domid in (3, 1):
        assert xen.domain_set_claim_entries(xen.domains[domid], [xen_memory_claim_t(8, 0)]) == 0
        assert ref.set_claim_entries(domid, [(8, 0, 0)]) == 0
    assert xen.offline_page((1 << 20) + 5) == (0, 2)  # PG_OFFLINE_OFFLINED
    ev = xen.events.last()
    assert ev is not None and ev.info["recalled"] == {1: 1} == ref.offline(0, 1)
    assert xen.domains[1].claims == [7] and xen.domains[3].claims == [8]


def test_v7_get_on_a_dying_domain_copies_nothing_back() -> None:
    """docs/claims.md#domctl-dispatch: a GET refused for a dying domain copies nothing back,
    so the caller's nr_entries stays as it passed it, not the clamped capacity."""
    xen = claims.hosts.uniform(1, 16)
    ref = ClaimsReference("v7", xen.node_avail_pages, max_numnodes=xen.max_numnodes)
    d = xen.domain_create(1)
    ref.domain_create(1)
    xen.domain_kill(d)
    ref.domain_destroy(1)
    cap = xen.max_numnodes + 3
    got = xen.do_domctl_claim_memory(DOM0, d, MODE_GET, cap, None)
    assert got == ref.claim_memory(1, MODE_GET, cap, None, dying=True)[:2] == (-errno.ESRCH, cap)


# ------------------------------------------------------------------------- v8
def test_cnis_under_v8_get_lists_no_zero_host_entry() -> None:
    """CNIS (docs/toolstack.md#native-tests) under v8: the same redemption as v7, but GET
    lists the host-wide entry only while it is not 0, and a domain without claims has
    no entries (a size query is rc 0, count 0)."""
    ref = ClaimsReference("v8", [4, 4])
    ref.domain_create(1)
    assert ref.set_memory_claims(1, 3, [(2, HOST, 0), (2, 0, 0), (2, 1, 0)]) == 0
    assert ref.outstanding_claims == 6
    assert ref.get_memory_claims(1, 0) == (-errno.ENOBUFS, 3, None)
    steps = [  # (order, node) -> TOTAL, FREE, GET
        ((0, 0), 5, 7, [(HOST, 2), (0, 1), (1, 2)]),
        ((0, 1), 4, 6, [(HOST, 2), (0, 1), (1, 1)]),
        ((1, 1), 2, 4, [(HOST, 1), (0, 1)]),
        ((0, 1), 1, 3, [(0, 1)]),  # the host-wide claim is gone: no HOST entry
        ((0, 0), 0, 2, []),
    ]
    for (order, node), total, free, get in steps:
        rc = ClaimsReference.refcounted(1, 0)
        assert ref.host_gate(1, order, rc) and ref.node_gate(node, 1, order, rc)
        ref.alloc(1, node, order, rc)
        assert (ref.outstanding_claims, ref.total_avail_pages) == (total, free)
        assert ref.get_claim_entries(1) == get
        assert ref.get_memory_claims(1, 65, buffer_len=65) == (0, len(get), get)
    assert ref.get_memory_claims(1, 0) == (0, 0, [])  # size query, NULL buffer


def test_cnis_under_v8_on_the_model() -> None:
    """The same CNIS steps on the model's hypervisor face, through v8's domctls."""
    xen = claims.Xen([range(16, 20), range(20, 24)], semantics="v8", max_order=2)
    xen.init_heap_pages(16, 8)
    d = xen.domain_create(1)
    ents = [E8(2, HOST), E8(2, 0), E8(2, 1)]
    assert xen.do_domctl_set_memory_claims(DOM0, d, 3, ents) == 0
    assert xen.do_domctl_get_memory_claims(DOM0, d, 2, None) == (-errno.ENOBUFS, 3)
    for order, node, get in (
        (0, 0, [(HOST, 2), (0, 1), (1, 2)]),
        (0, 1, [(HOST, 2), (0, 1), (1, 1)]),
        (1, 1, [(HOST, 1), (0, 1)]),
        (0, 1, [(0, 1)]),
        (0, 0, []),
    ):
        assert xen.alloc_domheap_pages(d, order, MEMF_node(node) | MEMF_exact_node) is not None
        buf = (E8 * 3)()
        assert xen.do_domctl_get_memory_claims(DOM0, d, 3, buf) == (0, len(get))
        assert [e.as_tuple() for e in buf[: len(get)]] == get


def test_v8_set_errno_order() -> None:
    """docs/versions.md#v8 "SET order": every EINVAL/ENOENT before any ENOMEM, zero pages and
    special targets refused, no replacement, a running domain EBUSY, release on any domain."""
    ref = ClaimsReference("v8", [16], max_numnodes=4)
    ref.domain_create(1)
    ref.domain_create(2, max_pages=8)

    def set_(ents: list[tuple[int, int, int]] | None, nr: int | None = None, pad: int = 0) -> int:
        n = len(ents or []) if nr is None else nr
        return ref.set_memory_claims(1, n, ents, pad)

    assert ref.set_memory_claims(9, 1, [(1, 0, 0)]) == -errno.ESRCH
    assert ref.set_memory_claims(1, 1, [(1, 0, 0)], privileged=False) == -errno.EPERM
    assert set_([(1, 0, 0)], pad=1) == -errno.EINVAL  # the argument's pad, first
    assert set_([(1, 0, 0)] * 6) == -errno.E2BIG  # MAX_NUMNODES + 1 = 5
    assert set_(None, 1) == -errno.EFAULT
    assert set_([(1, 0, 0)], 2) == -errno.EFAULT  # the buffer holds fewer than nr_entries
    assert set_([(1, 0, 1)]) == -errno.EINVAL  # an entry's pad
    assert set_([(99, HOST, 0), (0, 0, 0)]) == -errno.EINVAL  # zero pages before ENOMEM
    assert set_([(1, HOST, 0), (1, HOST, 0)]) == -errno.EINVAL  # a second HOST
    assert set_([(1, HOST + 1, 0)]) == -errno.EINVAL  # bit 31: only HOST is defined
    assert set_([(1, 0xFFFFFFFF, 0)]) == -errno.EINVAL
    assert set_([(1, LEGACY, 0)]) == -errno.ENOENT  # no LEGACY target: a node id
    assert set_([(1, 1, 0)]) == -errno.ENOENT  # offline node (< MAX_NUMNODES)
    assert set_([(1, 4, 0)]) == -errno.ENOENT  # >= MAX_NUMNODES
    assert set_([(99, 0, 0), (1, 0, 0)]) == -errno.EINVAL  # a node twice, before ENOMEM
    assert ref.set_memory_claims(2, 2, [(5, HOST, 0), (4, 0, 0)]) == -errno.EINVAL  # max_pages
    ref.set_tot_pages(2, 4)
    assert ref.set_memory_claims(2, 1, [(5, HOST, 0)]) == -errno.EINVAL  # tot_pages + claims
    assert set_([(17, HOST, 0)]) == -errno.ENOMEM  # host capacity
    assert set_([(17, 0, 0)]) == -errno.ENOMEM  # node capacity
    assert set_([(4, HOST, 0), (4, 0, 0)]) == 0 and ref.domains[1].outstanding == 8
    assert set_([(1, 0, 0)]) == -errno.EINVAL  # no replacement
    assert set_([(99, 0, 0)]) == -errno.EINVAL  # ... even before capacity
    assert ref.claim_pages(1, 20) == -errno.EINVAL  # legacy: a claim exists
    assert ref.unpause(1) == 0 and ref.unpause(1) == -errno.EINVAL  # now running
    assert set_(None, 0) == 0 and ref.outstanding_claims == 0  # release: no pause needed
    assert set_([(1, 0, 0)]) == -errno.EBUSY  # a running domain
    ref.llc_coloring = True
    assert set_([(1, 0, 0)]) == -errno.EOPNOTSUPP
    assert set_([(1, 0, 0)], 0) == 0  # release comes before the LLC check
    ref.llc_coloring = False
    assert ref.set_memory_claims(1, 0, None, dying=True) == 0  # release: dying domains too
    assert ref.set_memory_claims(1, 1, [(1, 0, 0)], dying=True) == -errno.ESRCH


def test_v8_get() -> None:
    """docs/versions.md#v8 "GET": pad, the capacity clamp, ENOBUFS with the count, no
    state checks."""
    ref = ClaimsReference("v8", [8, 8], max_numnodes=2)
    ref.domain_create(1)
    assert ref.get_memory_claims(1, 5, buffer_len=5) == (0, 0, [])
    assert ref.set_memory_claims(1, 2, [(3, 1, 0), (2, HOST, 0)]) == 0
    assert ref.get_memory_claims(1, 5, pad=1) == (-errno.EINVAL, 5, None)  # nothing back
    assert ref.get_memory_claims(1, 1) == (-errno.ENOBUFS, 2, None)
    assert ref.get_memory_claims(1, 9, buffer_len=1) == (-errno.EFAULT, 2, None)
    assert ref.get_memory_claims(1, 9, buffer_len=9) == (0, 2, [(HOST, 2), (1, 3)])
    assert ref.unpause(1) == 0  # GET has no pause rule
    assert ref.get_memory_claims(1, 2, buffer_len=2)[0] == 0
    assert ref.get_memory_claims(1, 2, privileged=False)[0] == -errno.EPERM
    assert ref.get_memory_claims(1, 0, dying=True) == (0, 0, [])  # domain_kill released them
    # other versions: a v7 GET on v8 is a SET with pad 1; v8's GET on v7 does not exist
    assert ref.claim_memory(1, MODE_GET, 3, None) == (-errno.EINVAL, 3, None)
    v7 = ClaimsReference("v7", [8])
    v7.domain_create(1)
    assert v7.get_memory_claims(1, 3) == (-errno.ENOSYS, 3, None)
    assert v7.set_memory_claims(1, 1, [(2, HOST, 0)]) == 0  # a v7 SET (mode 0)
    assert v7.set_memory_claims(1, 1, [(0, HOST, 0)], pad=1) == 0  # a v7 GET into the buffer
    assert ClaimsReference("master", [8]).set_memory_claims(9, 1, None) == -errno.ESRCH


def test_v8_legacy_claim_is_masters() -> None:
    """docs/versions.md#v8: XENMEM_claim_pages is master's function, no pause required; any
    claim (host or node) refuses a new one; 0 releases node claims too."""
    ref = ClaimsReference("v8", [8, 8])
    ref.domain_create(1)
    assert ref.set_memory_claims(1, 1, [(3, 1, 0)]) == 0
    assert ref.claim_pages(1, 5) == -errno.EINVAL
    assert ref.claim_pages(1, 0) == 0 and ref.outstanding_claims == 0
    assert ref.unpause(1) == 0  # running: legacy claims need no pause
    ref.set_tot_pages(1, 2)
    assert ref.claim_pages(1, 2) == -errno.EINVAL  # absolute target, not above tot_pages
    assert ref.claim_pages(1, 19) == -errno.ENOMEM
    assert ref.claim_pages(1, 18) == 0 and ref.get_claim_entries(1) == [(HOST, 16)]


def test_pause_count() -> None:
    """createdomain leaves the domain paused (1); 255 pauses at most; unpause at 0 EINVAL."""
    ref = ClaimsReference("v8", [8])
    ref.domain_create(1)
    assert ref.domains[1].pause_count == 1
    assert all(ref.pause(1) == 0 for _ in range(PAUSE_MAX - 1))
    assert ref.pause(1) == -errno.EOVERFLOW and ref.domains[1].pause_count == PAUSE_MAX
    assert all(ref.unpause(1) == 0 for _ in range(PAUSE_MAX))
    assert ref.unpause(1) == -errno.EINVAL and ref.pause(2) == -errno.ESRCH


def test_v8_no_recall_and_the_clamped_node_gate() -> None:
    """v8 after offlining: claims stay above free memory (no recall); a domain whose own node
    claim covers the request passes the clamped gate, where v7's unclamped sum would refuse
    (docs/versions.md#v8 "Allocation"); the model agrees."""
    xen = claims.hosts.uniform(2, 16, semantics="v8")
    ref = ClaimsReference("v8", xen.node_avail_pages, max_numnodes=xen.max_numnodes)
    for domid, pages in ((1, 2), (2, 14)):
        xen.domain_create(domid)
        ref.domain_create(domid)
        assert xen.do_domctl_set_memory_claims(DOM0, domid, 1, [E8(pages, 0)]) == 0
        assert ref.set_memory_claims(domid, 1, [(pages, 0, 0)]) == 0
    start = xen.node_ranges[0][0][0]
    for mfn in range(start, start + 5):
        assert xen.offline_page(mfn)[0] == 0
        ev = xen.events.last()
        assert ev is not None and ev.info.get("recalled", {}) == ref.offline(0, 1) == {}
    assert ref.claimed_pages[0] == 16 > ref.node_avail_pages[0] == 11
    assert not ref.node_gate(0, None, 0, False)  # no claim there: nothing unclaimed
    assert ref.node_gate(0, 1, 1, True)  # max(0, 11 - 16) + 2 >= 2
    assert not ref.node_gate(0, 1, 2, True)  # ... but not 4
    assert ClaimsReference("v7", [11]).node_gate(0, None, 0, True)  # (v7 unchanged)
    d1 = xen.domains[1]
    assert xen.alloc_domheap_pages(d1, 1, MEMF_node(0) | MEMF_exact_node) is not None
    assert ref.alloc(1, 0, 1, True) == {"node0": 2}
    assert list(xen.claimed_pages) == ref.claimed_pages == [14, 0]
    d3 = xen.domain_create(3)
    assert xen.alloc_domheap_pages(d3, 0, MEMF_node(0) | MEMF_exact_node) is None
