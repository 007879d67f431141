"""v8's upstream test programs, ported case by case and number for number.

The C programs are in xenserver-next/xen:

* ``tools/tests/claims/host-claims.c`` at 55a2bc87497a6b53a66cb831c8c16fee36f717c2,
* ``tools/tests/claims/node-claims.c`` at 57330c7ef8e80932874ea51206e1bffe0e8e94e2,

run on the native harness of ``tools/tests/native/harness/`` (``page-alloc-env.h``,
``xc-domain-env.h``, ``libxc-wrapper.h``, ``memory-wrapper.h``).  One test here per C
test function and per ``run_test`` of its ``main``; every ``EQ``/``ASSERT`` of the C is
an ``assert`` here, with the same numbers, in the same order.  Where a C assertion
checks something the kit does not have, the test says so in a comment and asserts the
nearest observable thing instead.

How the harness maps onto the kit:

* ``run_test(fn, start_mfn)``: ``claims.hosts.native_harness(start_mfn, semantics="v8")``,
  nodes of 16 MFNs from *start_mfn* (``init_numa_node_data``: ``node_start_pfn =
  start_mfn + 16 * node``), domains 1 and 2 with affinity {0, 1}, ``max_pages`` unlimited
  (the C has ``MAX_PAGES``) and ``controller_pause_count`` 1 ("Like domain_create()");
* ``frame_table + mfn`` is the MFN itself: ``alloc_domheap_pages`` returns the head MFN
  (``None`` for NULL);
* ``test_page_list_add_buddy(frame_table + mfn, order)`` frees ``1 << order`` pages at
  *mfn* into the heap: ``xen.init_heap_pages(mfn, 1 << order)``;
* ``test_page_list_add_node_buddy(node, start_mfn, order)`` does the same at
  ``node_data[node].node_start_pfn + start_mfn``: the node's start MFN *plus* the
  test's ``start_mfn`` again (MFNs 8 and 24 for ``run_test(..., 4)``);
* ``xch`` and ``&test_xc_handle`` are one handle: ``claims.libxc.xc_interface_open``;
* the harness replaces libxc's ``do_domctl`` and ``xc_memory_op`` with direct calls of
  the hypervisor's ``do_domctl``/``do_memory_op``, so the C tests see the hypervisor's
  return value (``0`` or ``-errno``) where real libxc returns -1 and sets ``errno``; the
  kit's libxc raises ``XcError``, which :func:`xc` turns back into ``-errno``;
* ``EQ_CLAIMS(d, expected)`` (``xc-domain-env.h``): ``xc_domain_get_memory_claims`` with
  ``nr = ARRAY_SIZE(expected)`` must return 0 and that many entries, with the expected
  ``pages`` and ``target`` each (:func:`eq_claims`).

Argument order: the kit follows the v8 cover letter's prototypes,
``xc_domain_set_memory_claims(xch, domid, claims, nr)`` and
``xc_domain_get_memory_claims(xch, domid, claims, &nr)``, as these versions of the test
programs (and of ``xc-domain-env.h``) do; earlier versions of them passed ``(nr, claims)``.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from claims.libxc import XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST, XcError
from claims.libxc import xen_domctl_memory_claim_t as Claim

import claims
from claims import MEMF_exact_node, MEMF_no_refcount, MEMF_node, libxc

HOST = XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST
UINT64_MAX = (1 << 64) - 1
node0, node1 = 0, 1
order0, order1, order2, order3 = 0, 1, 2, 3


class Harness:
    """``run_test``'s fresh state for one test function: the host, ``xch``, dom1 and dom2."""

    def __init__(self, start_mfn: int) -> None:
        self.start_mfn = start_mfn
        self.xen = claims.hosts.native_harness(start_mfn, semantics="v8")
        self.xch = libxc.xc_interface_open(self.xen)
        self.dom1 = self.xen.domains[1]
        self.dom2 = self.xen.domains[2]

    def test_page_list_add_buddy(self, mfn: int, order: int) -> None:
        """``test_page_list_add_buddy(frame_table + mfn, order)``."""
        self.xen.init_heap_pages(mfn, 1 << order)

    def test_page_list_add_node_buddy(self, node: int, start_mfn: int, order: int) -> None:
        """``test_page_list_add_node_buddy(node, start_mfn, order)``."""
        self.xen.init_heap_pages(self.xen.node_start_pfn(node) + start_mfn, 1 << order)


def xc(fn: Callable[..., int], *args: Any) -> int:
    """A libxc call as the harness returns it: 0, or the hypervisor's ``-errno``."""
    try:
        return fn(*args)
    except XcError as e:
        assert e.errno is not None
        return -e.errno


def claim_array(*entries: Claim) -> Any:
    """A C array of ``xen_domctl_memory_claim_t`` (the entries are copied, as C copies)."""
    return (Claim * len(entries))(*entries)


def eq_claims(h: Harness, d: claims.Domain, expected: Sequence[Claim]) -> None:
    """``EQ_CLAIMS(d, expected)`` of ``xc-domain-env.h``."""
    entries = len(expected)
    got = ctypes.c_uint32(entries)
    buf = (Claim * entries)()
    assert xc(libxc.xc_domain_get_memory_claims, h.xch, d.domid, buf, got) == 0
    assert got.value == entries
    for i in range(entries):
        assert (buf[i].pages, buf[i].target) == (expected[i].pages, expected[i].target)


# ===================================================================== host-claims.c
InstallHostClaims = Callable[[Harness, claims.Domain, int], int]


def install_host_claims_legacy(h: Harness, d: claims.Domain, pages: int) -> int:
    """host-claims.c's ``install_host_claims_legacy``: ``xc_domain_claim_pages``."""
    if pages == 0:
        return xc(libxc.xc_domain_claim_pages, h.xch, d.domid, 0)
    xc(libxc.xc_domain_claim_pages, h.xch, d.domid, 0)
    pages += d.domain_tot_pages()
    return xc(libxc.xc_domain_claim_pages, h.xch, d.domid, pages)


def xc_domain_claim_memory_host(h: Harness, d: claims.Domain, pages: int) -> int:
    """host-claims.c's ``xc_domain_claim_memory_host``: ``xc_domain_set_memory_claims``
    with one HOST entry, or ``nr`` 0 (release) for 0 pages."""
    claim_set = claim_array(Claim(pages, HOST))
    nr = 1 if pages else 0
    return xc(libxc.xc_domain_set_memory_claims, h.xch, d.domid, claim_set, nr)


# main() runs these two test functions once with each wrapper, in this order
INSTALLERS = pytest.mark.parametrize(
    "install_host_claims",
    [install_host_claims_legacy, xc_domain_claim_memory_host],
    ids=["install_host_claims_legacy", "xc_domain_claim_memory_host"],
)


@INSTALLERS
def test_claim_and_alloc_mechanics(install_host_claims: InstallHostClaims) -> None:
    """``test_claim_and_alloc_mechanics`` of host-claims.c, ``run_test(..., 8)``."""
    h = Harness(8)
    xen, dom1, dom2 = h.xen, h.dom1, h.dom2
    page = h.start_mfn  # frame_table + start_mfn

    h.test_page_list_add_buddy(page, order3)
    heap_pages = xen.total_avail_pages
    installed_claims = heap_pages // 2

    # Claim half of the free pages for domain 1
    assert install_host_claims(h, dom1, installed_claims) == 0
    assert xen.outstanding_claims == installed_claims

    # Allocate an order 1 page for domain 1: the highest available page
    alloc_order = order1
    expected_page = page + xen.total_avail_pages - (1 << alloc_order)
    assert xen.alloc_domheap_pages(dom1, alloc_order, 0) == expected_page
    installed_claims -= 1 << alloc_order
    assert xen.outstanding_claims == installed_claims
    assert xen.outstanding_claims == installed_claims

    # Allocate an order 0 page for domain 1
    alloc_order = order0
    expected_page = page + xen.total_avail_pages - (1 << alloc_order)
    assert dom1.outstanding_pages == 2
    assert xen.alloc_domheap_pages(dom1, alloc_order, 0) == expected_page
    assert dom1.outstanding_pages == 1
    installed_claims -= 1 << alloc_order
    assert xen.outstanding_claims == installed_claims

    # Domain 2 can claim neither more than the unclaimed pages nor all free pages
    assert install_host_claims(h, dom2, heap_pages - installed_claims + 1) == -errno.ENOMEM
    assert install_host_claims(h, dom2, xen.total_avail_pages) == -errno.ENOMEM

    # Cancelling claims works even when max_pages is below domain_tot_pages()
    dom1.max_pages = dom1.domain_tot_pages() - 1
    assert install_host_claims(h, dom1, 0) == 0  # Cancel remaining claims of dom1
    assert xen.outstanding_claims == 0

    installed_claims = xen.total_avail_pages
    assert install_host_claims(h, dom2, installed_claims) == 0
    assert xen.outstanding_claims == installed_claims

    # max_pages is below domain_tot_pages(): EINVAL
    assert install_host_claims(h, dom1, 1) == -errno.EINVAL

    # With max_pages above domain_tot_pages(): ENOMEM, domain 2 owns every free page
    dom1.max_pages = heap_pages
    assert install_host_claims(h, dom1, 1) == -errno.ENOMEM
    assert xen.alloc_domheap_pages(dom1, order0, 0) is None

    # Domain 2 redeems its claim with an order-0 allocation
    alloc_order = order0
    expected_page = page + xen.total_avail_pages - (1 << alloc_order)
    assert xen.alloc_domheap_pages(dom2, alloc_order, 0) == expected_page
    installed_claims -= 1 << alloc_order
    assert xen.outstanding_claims == installed_claims

    # The remaining order-2 buddy is exactly the rest of domain 2's claim
    alloc_order = order2
    expected_page -= 1 << alloc_order
    assert xen.alloc_domheap_pages(dom2, alloc_order, 0) == expected_page
    installed_claims -= 1 << alloc_order
    assert xen.outstanding_claims == installed_claims


@INSTALLERS
def test_alloc_domheap_pages(install_host_claims: InstallHostClaims) -> None:
    """``test_alloc_domheap_pages`` of host-claims.c, ``run_test(..., 4)``."""
    h = Harness(4)
    xen, dom1, dom2 = h.xen, h.dom1, h.dom2
    pages = h.start_mfn  # frame_table + start_mfn
    set_ = claim_array(Claim(3, HOST))

    h.test_page_list_add_buddy(pages, order2)
    assert install_host_claims(h, dom1, 3) == 0
    eq_claims(h, dom1, set_)
    assert xen.alloc_domheap_pages(dom1, order1, 0) == pages + 2
    assert xen.alloc_domheap_pages(dom1, order0, 0) == pages + 1
    assert xen.outstanding_claims == 0
    assert xen.total_avail_pages == 1
    assert install_host_claims(h, dom2, xen.total_avail_pages) == 0
    assert install_host_claims(h, dom1, dom1.domain_tot_pages() + 1) == -errno.ENOMEM
    assert install_host_claims(h, dom1, dom1.max_pages + 1) == -errno.EINVAL
    assert xen.alloc_domheap_pages(dom1, order0, 0) is None
    assert xen.outstanding_claims == 1
    assert xen.total_avail_pages == 1


def test_claims_on_running_domain() -> None:
    """``test_claims_on_running_domain`` of host-claims.c, ``run_test(..., 4)``."""
    h = Harness(4)
    xen, dom1 = h.xen, h.dom1

    h.test_page_list_add_buddy(h.start_mfn, order2)
    assert xc_domain_claim_memory_host(h, dom1, 1) == 0
    assert xen.outstanding_claims == 1

    assert xc(libxc.xc_domain_unpause, h.xch, dom1.domid) == 0
    assert xc_domain_claim_memory_host(h, dom1, 2) == -errno.EBUSY
    assert xen.outstanding_claims == 1

    # Releasing claims remains possible
    assert xc(libxc.xc_domain_set_memory_claims, h.xch, dom1.domid, None, 0) == 0
    assert xen.outstanding_claims == 0


def test_claims_set_once() -> None:
    """``test_claims_set_once`` of host-claims.c, ``run_test(..., 4)``."""
    h = Harness(4)
    xen, dom1 = h.xen, h.dom1

    h.test_page_list_add_buddy(h.start_mfn, order2)
    assert xc_domain_claim_memory_host(h, dom1, 1) == 0
    assert xen.outstanding_claims == 1

    # Claims have to be released before they can be set again
    assert xc_domain_claim_memory_host(h, dom1, 2) == -errno.EINVAL
    assert xen.outstanding_claims == 1
    assert xc_domain_claim_memory_host(h, dom1, 0) == 0
    assert xen.outstanding_claims == 0
    assert xc_domain_claim_memory_host(h, dom1, 2) == 0
    assert xen.outstanding_claims == 2


# ===================================================================== node-claims.c
# The C asserts ``!dom1->claims`` (the per-node array freed, a NULL pointer) and
# ``dom1->claims == installed`` (the same array after its claims are redeemed).  The kit
# keeps the per-node claims as a list that always exists, one entry per node, so there is
# no pointer to compare: those parts are skipped where they occur, and the test asserts
# the nearest observable thing instead, that every node claim is 0 (or the node claims'
# values the C checks through the pointer).


def no_node_claims(d: claims.Domain) -> bool:
    """The kit's nearest thing to ``!d->claims``: every node claim is 0."""
    return not any(d.claims)


def test_xc_domain_set_memory_claims() -> None:
    """``test_xc_domain_set_memory_claims`` of node-claims.c, ``run_test(..., 4)``."""
    h = Harness(4)
    xen, dom1 = h.xen, h.dom1
    expected_avail_pages, expected_outstanding_claims = 8, 6
    set_ = claim_array(Claim(2, HOST), Claim(2, node0), Claim(2, node1))

    # Prepare the free lists with the needed pages for the defined claims
    h.test_page_list_add_node_buddy(node0, h.start_mfn, order2)
    h.test_page_list_add_node_buddy(node1, h.start_mfn, order2)

    assert xc(libxc.xc_domain_set_memory_claims, h.xch, dom1.domid, set_, len(set_)) == 0
    assert xen.total_avail_pages == expected_avail_pages
    assert xen.outstanding_claims == expected_outstanding_claims
    eq_claims(h, dom1, set_)

    assert xen.alloc_domheap_pages(dom1, order0, MEMF_node(node0)) is not None
    expected_avail_pages -= 1
    assert xen.total_avail_pages == expected_avail_pages
    expected_outstanding_claims -= 1
    assert xen.outstanding_claims == expected_outstanding_claims
    assert set_[1].target == node0
    set_[1].pages -= 1  # Expect the allocation redeemed from node 0
    eq_claims(h, dom1, set_)

    assert xen.alloc_domheap_pages(dom1, order0, MEMF_node(node1)) is not None
    expected_avail_pages -= 1
    assert xen.total_avail_pages == expected_avail_pages
    expected_outstanding_claims -= 1
    assert xen.outstanding_claims == expected_outstanding_claims
    assert set_[2].target == node1
    set_[2].pages -= 1  # Expect the allocation redeemed from node 1
    eq_claims(h, dom1, set_)

    assert xen.alloc_domheap_pages(dom1, order1, MEMF_node(node1)) is not None
    expected_avail_pages -= 1 << order1
    assert xen.total_avail_pages == expected_avail_pages
    expected_outstanding_claims -= 1 << order1
    assert xen.outstanding_claims == expected_outstanding_claims
    claim_set2 = claim_array(set_[0], set_[1])  # The claim from node 1 is consumed
    claim_set2[0].pages -= 1  # The 2nd page is redeemed from host-wide claim
    eq_claims(h, dom1, claim_set2)

    # An allocation on node 1 falls back to the host-wide claim
    assert xen.alloc_domheap_pages(dom1, order0, MEMF_node(node1)) is not None
    expected_outstanding_claims -= 1
    assert xen.outstanding_claims == expected_outstanding_claims
    expected_avail_pages -= 1
    assert xen.total_avail_pages == expected_avail_pages
    claim_set3 = claim_array(set_[1])  # The host claim is consumed
    eq_claims(h, dom1, claim_set3)

    # An allocation on node 1 falls back to node 0
    assert xen.alloc_domheap_pages(dom1, order0, MEMF_node(node1)) is not None
    expected_outstanding_claims -= 1
    assert xen.outstanding_claims == expected_outstanding_claims
    expected_avail_pages -= 1
    assert xen.total_avail_pages == expected_avail_pages
    claim_set2[1].pages -= 1  # The node 0 claim consumed the allocation (not asserted in C)
    eq_claims(h, dom1, claim_array())


def test_xc_domain_get_memory_claims() -> None:
    """``test_xc_domain_get_memory_claims`` of node-claims.c, ``run_test(..., 4)``."""
    h = Harness(4)
    dom1 = h.dom1
    get = (Claim * 3)()
    set_ = claim_array(Claim(2, HOST), Claim(2, node0), Claim(2, node1))
    expected_records = len(set_)
    nr_records = ctypes.c_uint32(0)

    # Prepare the free lists with the needed pages for the defined claims
    h.test_page_list_add_node_buddy(node0, h.start_mfn, order2)
    h.test_page_list_add_node_buddy(node1, h.start_mfn, order2)

    # Install the defined claim in dom1
    assert xc(libxc.xc_domain_set_memory_claims, h.xch, dom1.domid, set_, len(set_)) == 0
    eq_claims(h, dom1, set_)

    # Test getting the count of claim entries
    rc = xc(libxc.xc_domain_get_memory_claims, h.xch, dom1.domid, None, nr_records)
    assert rc == -errno.ENOBUFS
    assert nr_records.value == expected_records

    # Test getting the claim entries
    assert xc(libxc.xc_domain_get_memory_claims, h.xch, dom1.domid, get, nr_records) == 0
    assert nr_records.value == expected_records
    assert bytes(get) == bytes(set_)  # memcmp(get, set, sizeof(set)) == 0: pads too
    eq_claims(h, dom1, get)


def test_protection_and_lifetime() -> None:
    """``test_protection_and_lifetime`` of node-claims.c, ``run_test(..., 4)``."""
    h = Harness(4)
    xen, dom1, dom2 = h.xen, h.dom1, h.dom2
    entry = Claim(4, 0)
    exact = MEMF_node(node0) | MEMF_exact_node

    h.test_page_list_add_node_buddy(node0, h.start_mfn, order2)
    h.test_page_list_add_node_buddy(node1, h.start_mfn, order2)
    assert xc(libxc.xc_domain_set_memory_claims, h.xch, dom1.domid, entry, 1) == 0
    # installed = dom1->claims: the C keeps the array's pointer (see no_node_claims)
    assert xen.alloc_domheap_pages(dom2, order0, exact) is None
    assert xen.alloc_domheap_pages(dom1, order0, exact | MEMF_no_refcount) is None
    assert dom1.outstanding_pages == 4 and xen.claimed_pages[0] == 4
    assert xen.alloc_domheap_pages(dom1, order2, MEMF_node(node1) | MEMF_exact_node) is not None
    assert not xen.outstanding_claims and not dom1.node_claims
    # C: dom1->claims == installed && !installed[0]; the kit has no array pointer to
    # compare, only the node claim the pointer reads
    assert not dom1.claims[0]
    assert not xen.claimed_pages[0]

    # The array of redeemed claims is replaced when claims are set again
    entry.pages = 2
    assert xc(libxc.xc_domain_set_memory_claims, h.xch, dom1.domid, entry, 1) == 0
    # C: dom1->claims && ...: the kit's list always exists
    assert dom1.claims[0] == 2 and dom1.node_claims == 2
    assert xen.claimed_pages[0] == 2 and xen.outstanding_claims == 2
    assert xen.domain_set_outstanding_pages(dom1, 0) == 0
    # C: !dom1->claims (the array is freed): no node claim is left
    assert no_node_claims(dom1) and not xen.outstanding_claims


def test_move_claim_at_capacity() -> None:
    """``test_move_claim_at_capacity`` of node-claims.c, ``run_test(..., 4)``."""
    h = Harness(4)
    xen, dom1, dom2 = h.xen, h.dom1, h.dom2
    entry = Claim(4, 0)

    h.test_page_list_add_node_buddy(node0, h.start_mfn, order2)
    h.test_page_list_add_node_buddy(node1, h.start_mfn, order2)
    assert xc(libxc.xc_domain_set_memory_claims, h.xch, dom1.domid, entry, 1) == 0
    assert xen.domain_set_outstanding_pages(dom2, 4) == 0
    assert xen.outstanding_claims == xen.total_avail_pages

    # The claim has to be released before it can be set on node 1
    entry.target = 1
    assert xc(libxc.xc_domain_set_memory_claims, h.xch, dom1.domid, entry, 1) == -errno.EINVAL
    assert xc(libxc.xc_domain_set_memory_claims, h.xch, dom1.domid, None, 0) == 0
    # C: !dom1->claims (freed on release): no node claim is left
    assert no_node_claims(dom1) and not xen.claimed_pages[0]
    assert xc(libxc.xc_domain_set_memory_claims, h.xch, dom1.domid, entry, 1) == 0
    # C: dom1->claims && ...: the kit's list always exists
    assert not dom1.claims[0] and dom1.claims[1] == 4
    assert not xen.claimed_pages[0] and xen.claimed_pages[1] == 4
    assert xen.alloc_domheap_pages(dom2, order2, MEMF_node(node0) | MEMF_exact_node) is not None
    assert xen.outstanding_claims == 4 and xen.total_avail_pages == 4
    assert xen.domain_set_outstanding_pages(dom1, 0) == 0
    # C: !dom1->claims: no node claim is left
    assert no_node_claims(dom1) and not xen.outstanding_claims


def test_set_errors() -> None:
    """``test_set_errors`` of node-claims.c, ``run_test(..., 4)``."""
    h = Harness(4)
    xen, dom1 = h.xen, h.dom1
    entries = claim_array(Claim(2, 0), Claim(2, HOST))
    max_numnodes = xen.max_numnodes
    assert max_numnodes == 64  # the harness's CONFIG_NR_NUMA_NODES

    h.test_page_list_add_node_buddy(node0, h.start_mfn, order2)
    h.test_page_list_add_node_buddy(node1, h.start_mfn, order2)

    def set_claims(claim_set: Any, nr: int) -> int:
        return xc(libxc.xc_domain_set_memory_claims, h.xch, dom1.domid, claim_set, nr)

    # Rejected requests leave no claims and no claims array behind
    entries[0].pages = 5
    assert set_claims(entries, 2) == -errno.ENOMEM
    entries[0].pages = 2
    entries[1].target = 0
    assert set_claims(entries, 2) == -errno.EINVAL
    entries[1].target = HOST
    entries[1].pad = 1
    assert set_claims(entries, 2) == -errno.EINVAL
    entries[1].pad = 0
    entries[0].pages = UINT64_MAX
    assert set_claims(entries, 2) == -errno.EINVAL
    entries[0].pages = 2
    entries[0].target = max_numnodes
    assert set_claims(entries, 2) == -errno.ENOENT
    # C: !dom1->claims && ...: no node claim (the kit's list always exists)
    assert no_node_claims(dom1) and not dom1.outstanding_pages
    assert not xen.claimed_pages[0] and not xen.outstanding_claims

    # Claims can be set once, a valid request is rejected until released
    entries[0].target = 0
    assert set_claims(entries, 2) == 0
    assert set_claims(entries, 2) == -errno.EINVAL
    # C: dom1->claims && ...: the kit's list always exists
    assert dom1.claims[0] == 2
    assert dom1.node_claims == 2 and dom1.outstanding_pages == 4
    assert xen.claimed_pages[0] == 2 and xen.outstanding_claims == 4
    assert set_claims(None, 0) == 0
    # C: !dom1->claims && ...: no node claim is left
    assert no_node_claims(dom1) and not dom1.outstanding_pages
    assert not xen.claimed_pages[0] and not xen.outstanding_claims
