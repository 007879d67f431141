"""The claims reference model (``tests/reference_model.py``) on the spec's own scenarios,
and the model fixes the state machine (``test_state_machine.py``) led to."""

from __future__ import annotations

import errno

import pytest
from reference_model import HOST, LEGACY, MODE_GET, MODE_SET, ClaimsReference

import claims
from claims import DOM0, Caller, xen_memory_claim_t


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
