"""Xen master (August 2026): one legacy claim per domain, host-wide only.

What master decides where the claims series later changes things, read in
``xen/common/page_alloc.c`` and ``xen/common/memory.c`` of xen-project/xen
(``docs/versions.md#master``):

* claims: ``XENMEM_claim_pages`` only (``domain_set_outstanding_pages``): an
  absolute target above ``tot_pages``, one claim per domain, 0 releases;
  there is no claims domctl (``-ENOSYS``) and no ``domain_set_claim_entries``;
* the host-wide gate in ``alloc_heap_pages`` is strict: with claimed memory
  at stake a request passes only if the domain's own claim covers all of it;
* there is no per-node gate;
* redemption takes ``min(outstanding, request)`` off the claim;
* nothing repairs claims after offlining (claims may exceed free memory).

Master took v7's first patch (the per-node free page counter,
44adbac3c7, August 2026); the kit's heap keeps that counter for every version.
"""

from __future__ import annotations

import errno
from typing import Any

from ..hypervisor.claim_accounting import domain_release_all_claims, domain_release_host_claims
from ..hypervisor.constants import NUMA_NO_NODE, MEMF_no_refcount
from ..hypervisor.domctl import Caller
from ..hypervisor.page_alloc import HeapCore, RuleSet, register
from ..hypervisor.public import XEN_DOMCTL_CLAIM_MEMORY_HOST, xen_memory_claim_t
from ..hypervisor.sched import Domain

ULONG_MAX = (1 << 64) - 1
"""``unsigned long`` arithmetic on x86-64: where Xen subtracts counters in it, the model
masks the difference, so that a negative result wraps as in C."""


def refcounted(d: Domain | None, memflags: int) -> bool:
    """A request may use claims iff it is for a domain and lacks ``MEMF_no_refcount``.

    ``docs/claims.md#protection``.
    """
    return d is not None and not memflags & MEMF_no_refcount


class Master(RuleSet):
    """The strict upstream rules: legacy host-wide claims only."""

    name = "master"
    claims_within_free = False

    # ------------------------------------------------------------ protection
    def host_gate(self, heap: HeapCore, d: Domain | None, request: int, memflags: int) -> bool:
        """The strict host-wide gate of ``alloc_heap_pages``, before the search.

        Unclaimed memory may always be used; beyond it, a refcounted request
        passes only if the domain's outstanding claim is at least the whole
        request.  ``docs/claims.md#host-gate``.
        """
        if heap.outstanding_claims + request <= heap.total_avail_pages:
            return True
        return refcounted(d, memflags) and d is not None and d.outstanding_pages >= request

    def node_gate(
        self, heap: HeapCore, node: int, order: int, memflags: int, d: Domain | None
    ) -> bool:
        """Master has no per-node gate."""
        return True

    def domain_kill_claims(self, heap: HeapCore, d: Domain) -> int:
        """``domain_kill`` (xen/common/domain.c) calls ``domain_set_outstanding_pages(d, 0)``:
        every claim of *d* is released; the pages released."""
        return domain_release_all_claims(heap, d)

    # ------------------------------------------------------------ redemption
    def redeem(
        self, heap: HeapCore, d: Domain | None, node: int, request: int, memflags: int
    ) -> dict[str, int]:
        """``min(outstanding, request)`` off the domain's claim.

        In ``alloc_heap_pages``, before the free counters drop; never for a
        request without refcount.  ``docs/redemption.md#master``.
        """
        if d is None or not d.outstanding_pages or memflags & MEMF_no_refcount:
            return {}
        got = domain_release_host_claims(heap, d, min(d.outstanding_pages, request))
        return {"host": got} if got else {}

    # ------------------------------------------------------------ offlining
    def after_offline(self, heap: HeapCore, node: int, domains: list[Domain]) -> dict[str, int]:
        """Master does not repair claims after offlining.

        ``docs/offlining.md#claims-after-offlining``.
        """
        return {}

    # ------------------------------------------------------------ claims
    def domain_set_outstanding_pages(
        self, heap: HeapCore, d: Domain, pages: int, node: int = NUMA_NO_NODE
    ) -> tuple[int, str]:
        """Master's ``domain_set_outstanding_pages``: an absolute target, one claim per domain.

        0 releases the claim; a second claim is ``-EINVAL``; the target must be
        above ``tot_pages`` and at most ``max_pages`` (``-EINVAL``); the claim
        (target less ``tot_pages``) must fit into unclaimed memory (``-ENOMEM``).
        ``docs/claims.md#legacy-claims``.
        """
        if pages == 0:
            domain_release_all_claims(heap, d)
            return 0, "released"
        if d.outstanding_pages:
            return -errno.EINVAL, f"d{d.domid} already has a claim (one per domain)"
        tot = d.domain_tot_pages()
        if pages <= tot or pages > d.max_pages:
            return -errno.EINVAL, (
                f"target {pages} must be above tot_pages {tot} and at most max_pages {d.max_pages}"
            )
        claim = pages - tot
        # avail_pages is an unsigned long: once claims exceed free memory (offlining
        # without recall) the difference wraps, and any claim fits
        avail = (heap.total_avail_pages - heap.outstanding_claims) & ULONG_MAX
        if claim > avail:
            return -errno.ENOMEM, f"{claim} pages > {avail} unclaimed"
        d.outstanding_pages = claim
        heap.outstanding_claims += claim
        return 0, "installed"

    def domain_set_claim_entries(
        self, heap: HeapCore, d: Domain, entries: list[xen_memory_claim_t]
    ) -> tuple[int, str]:
        """Master has no claim sets: the call is refused before anything changes."""
        raise ValueError(
            f"the {self.name} rule set has no domain_set_claim_entries: "
            "use domain_set_outstanding_pages (legacy claims only)"
        )

    def domain_get_claim_entries(
        self, heap: HeapCore, d: Domain, max_entries: int
    ) -> tuple[int, int, list[xen_memory_claim_t] | None]:
        """The claims of *d* as a list: the host-wide entry first, then each node with a claim.

        Master has no GET of its own; the kit reads every host's claims in the
        shape v7's GET gives them (which v7 inherits from here unchanged):
        ``-ERANGE`` with the count needed when *max_entries* is too small.
        ``docs/claims.md#get``.
        """
        out = [
            xen_memory_claim_t(d.outstanding_pages - d.node_claims, XEN_DOMCTL_CLAIM_MEMORY_HOST)
        ]
        out += [xen_memory_claim_t(c, n) for n, c in enumerate(d.claims) if c]
        if len(out) > max_entries:
            return -errno.ERANGE, len(out), None
        return 0, len(out), out

    def entry_type(self) -> type[Any]:
        """Master has no claim entries; the kit reads its claims as v7's entries."""
        return xen_memory_claim_t

    def claims_domctl(
        self,
        heap: HeapCore,
        caller: Caller | Domain,
        cmd: int,
        d: Domain,
        nr: int,
        buf: Any,
        word: int,
    ) -> tuple[int, int, str] | None:
        """Master has no claims domctl: ``do_domctl`` looks the domain up and asks
        XSM (``XSM_PRIV`` for an unknown command) before ``arch_do_domctl`` answers
        ``-ENOSYS``."""
        return None


register(Master)
