"""v7 of "xen/mm: Introduce NUMA-aware memory claim sets" (8 May 2026): the kit's default.

What v7 changes from master (``claims.series.master``), from the patch
series as posted to xen-devel ("[PATCH v7 0/3]", 2026-05-08) and its design
document; the code wins where the two disagree (``docs/versions.md#v7``):

* ABI: ``XEN_DOMCTL_claim_memory`` (91) with ``mode`` SET (0) or GET (1),
  entries ``xen_memory_claim_t {pages, target, cmd}`` whose target is a node,
  ``XEN_DOMCTL_CLAIM_MEMORY_HOST`` or ``..._LEGACY``
  (``claims.hypervisor.public``);
* ``domain_set_claim_entries`` installs a whole claim set, replacing the
  old one, with its check order and errno (``docs/claims.md#set-phases``);
  ``XENMEM_claim_pages`` becomes a LEGACY entry through it;
* GET lists the host-wide entry first (even at 0), then each node with a
  claim; too small a buffer is ``-ERANGE`` with the count needed;
* a per-node gate in ``get_free_buddy``; the host-wide gate stays master's;
* three-step redemption: the allocation's node, host-wide, other nodes;
* after offlining, claims above free memory are recalled.
"""

from __future__ import annotations

import errno
from typing import Any, ClassVar

from ..hypervisor.claim_accounting import (
    domain_recall_node_claims,
    domain_release_all_claims,
    domain_release_host_claims,
    domain_release_node_claims,
)
from ..hypervisor.constants import NUMA_NO_NODE, MEMF_no_refcount
from ..hypervisor.domctl import Caller, read_guest, write_guest
from ..hypervisor.page_alloc import HeapCore, register
from ..hypervisor.public import (
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_LEGACY,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    XEN_DOMCTL_claim_memory,
    target_name,
    xen_memory_claim_t,
)
from ..hypervisor.sched import Domain
from .master import Master, refcounted


def n_entries(n: int) -> str:
    """``1 entry``, ``2 entries``: a count of claim entries in a reason."""
    return f"{n} entr{'y' if n == 1 else 'ies'}"


class V7(Master):
    """The v7 series as posted: claim sets with GET, the node gate, three-step redemption."""

    name = "v7"
    claim_sets = True
    claims_abi = "claim_memory"
    ocaml_binding = True
    claims_within_free = True
    get_mode: ClassVar[bool] = True
    """``XEN_DOMCTL_claim_memory`` knows the GET mode."""

    # ------------------------------------------------------------ protection
    def node_gate(
        self, heap: HeapCore, node: int, order: int, memflags: int, d: Domain | None
    ) -> bool:
        """Unclaimed node memory plus the domain's own node claim must fit the request.

        In ``get_free_buddy``, at the top of each candidate node, before its
        zones are scanned; a refused node is skipped (with ``MEMF_exact_node``
        the allocation fails).  ``docs/claims.md#node-gate``.
        """
        allowance = heap.node_avail_pages[node] - heap.claimed_pages[node]
        if allowance >= 1 << order:
            return True  # unclaimed memory alone is enough
        if d is not None and refcounted(d, memflags) and node < len(d.claims):
            allowance += d.claims[node]
        return allowance >= 1 << order

    # ------------------------------------------------------------ redemption
    def redeem(
        self, heap: HeapCore, d: Domain | None, node: int, request: int, memflags: int
    ) -> dict[str, int]:
        """Same node, then host-wide, then other nodes in ascending id.

        ``docs/redemption.md#three-steps``.
        """
        if d is None or not d.outstanding_pages or memflags & MEMF_no_refcount:
            return {}
        out: dict[str, int] = {}
        redeem = min(d.outstanding_pages, request)
        got = domain_release_node_claims(heap, d, node, redeem)
        if got:
            out[f"node{node}"] = got
        redeem -= got
        if redeem:
            got = domain_release_host_claims(heap, d, redeem)
            if got:
                out["host"] = got
            redeem -= got
            before = list(d.claims)
            domain_recall_node_claims(heap, d, redeem)
            for n, (a, b) in enumerate(zip(before, d.claims)):
                if a != b:
                    out[f"node{n}"] = out.get(f"node{n}", 0) + a - b
        return out

    # ------------------------------------------------------------ offlining
    def after_offline(self, heap: HeapCore, node: int, domains: list[Domain]) -> dict[str, int]:
        """Recall node claims, then host-wide claims, in domain-list order.

        At the end of ``reserve_offlined_page``: first the node's claims above
        its free memory, then host-wide claims above the host's.
        ``docs/offlining.md#claims-after-offlining``.
        """
        out: dict[str, int] = {}
        over = heap.claimed_pages[node] - heap.node_avail_pages[node]
        for d in domains:
            if over <= 0:
                break
            got = domain_release_node_claims(heap, d, node, over)
            if got:
                out[f"d{d.domid}.node{node}"] = got
            over -= got
        over = heap.outstanding_claims - heap.total_avail_pages
        for d in domains:
            if over <= 0:
                break
            got = domain_release_host_claims(heap, d, over)
            if got:
                out[f"d{d.domid}.host"] = got
            over -= got
        return out

    # ------------------------------------------------------------ claims
    def domain_set_outstanding_pages(
        self, heap: HeapCore, d: Domain, pages: int, node: int = NUMA_NO_NODE
    ) -> tuple[int, str]:
        """``XENMEM_claim_pages`` is one LEGACY entry through ``domain_set_claim_entries``.

        ``docs/claims.md#legacy-claims``.
        """
        legacy = xen_memory_claim_t(pages, XEN_DOMCTL_CLAIM_MEMORY_LEGACY)
        return self.domain_set_claim_entries(heap, d, [legacy])

    def domain_set_claim_entries(
        self, heap: HeapCore, d: Domain, entries: list[xen_memory_claim_t]
    ) -> tuple[int, str]:
        """``domain_set_claim_entries``: ``(rc, reason)``; the reason names the refused entry.

        Phase 1 checks each entry in array order (the first failure decides);
        phase 2 the combined request; phase 3 releases the old set; phases 4-5
        install the new one.  ``docs/claims.md#set-phases``.
        """
        # Phase 1: each entry in array order; the first failure decides
        host_req = node_req = 0
        seen_host = legacy = False
        seen: set[int] = set()
        for i, e in enumerate(entries):
            what = f"entry {i} ({target_name(e.target)}, {e.pages} pages)"
            if e.cmd != 0:
                return -errno.EINVAL, f"{what}: cmd must be 0, not {e.cmd}"
            if e.target in (XEN_DOMCTL_CLAIM_MEMORY_LEGACY, XEN_DOMCTL_CLAIM_MEMORY_HOST):
                legacy |= e.target == XEN_DOMCTL_CLAIM_MEMORY_LEGACY
                if seen_host:
                    return -errno.EINVAL, f"{what}: a second HOST or LEGACY entry"
                seen_host, host_req = True, e.pages
                continue
            node = e.target
            if node >= heap.max_numnodes or node >= heap.nr_nodes:
                return -errno.ENOENT, f"{what}: no such online node"
            if node in seen:
                return -errno.EINVAL, f"{what}: node {node} appears twice"
            seen.add(node)
            unclaimed = heap.node_avail_pages[node] - heap.claimed_pages[node]
            if e.pages > unclaimed + d.claims[node]:
                return -errno.ENOMEM, (
                    f"{what}: node {node} has {unclaimed} unclaimed pages "
                    f"+ {d.claims[node]} claimed by d{d.domid}"
                )
            node_req += e.pages
        # Phase 2: combined checks
        tot = d.domain_tot_pages()
        if legacy:
            if node_req:
                return -errno.EINVAL, "LEGACY cannot be combined with node claims"
            if host_req == 0:
                domain_release_all_claims(heap, d)
                return 0, "released"
            if d.outstanding_pages:
                return -errno.EINVAL, (
                    f"LEGACY: d{d.domid} already has a claim of {d.outstanding_pages} pages "
                    "(release it first)"
                )
            if host_req <= tot:
                return -errno.EINVAL, (
                    f"LEGACY target {host_req} is not above tot_pages {tot} (absolute target)"
                )
            host_req -= tot  # absolute target -> claim
        elif host_req == 0 and node_req == 0:
            domain_release_all_claims(heap, d)  # release ignores max_pages
            return 0, "released"
        if (
            host_req > d.max_pages
            or node_req > d.max_pages - host_req
            or node_req + host_req + tot > d.max_pages
        ):
            return -errno.EINVAL, (
                f"claims {host_req + node_req} + tot_pages {tot} exceed max_pages {d.max_pages}"
            )
        unclaimed = heap.total_avail_pages - heap.outstanding_claims
        if node_req + host_req > unclaimed + d.outstanding_pages:
            return -errno.ENOMEM, (
                f"{node_req + host_req} pages > {unclaimed} unclaimed on the host "
                f"+ {d.outstanding_pages} claimed by d{d.domid}"
            )
        # Phase 3: release the old set; phases 4-5: install the new one
        domain_release_all_claims(heap, d)
        d.node_claims = node_req
        d.outstanding_pages = host_req + node_req
        heap.outstanding_claims += d.outstanding_pages
        for e in entries:
            if e.target < heap.nr_nodes:
                d.claims[e.target] = e.pages
                heap.claimed_pages[e.target] += e.pages
        return 0, "installed"

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
        """v7 has one claims domctl, ``XEN_DOMCTL_claim_memory`` (91); *word* is its mode."""
        if cmd == XEN_DOMCTL_claim_memory:
            return self.claim_memory(heap, caller, d, word, nr, buf)
        return None

    def claim_memory(
        self,
        heap: HeapCore,
        caller: Caller | Domain,
        d: Domain,
        mode: int,
        nr: int,
        buf: Any,
    ) -> tuple[int, int, str]:
        """``claim_memory()`` of v7's domctl.c, after the domain lookup and XSM.

        LLC colouring (``-EOPNOTSUPP``); SET: ``nr_entries`` 0 (``-EINVAL``) or
        above ``MAX_NUMNODES + 1`` (``-E2BIG``); GET: the capacity clamped to
        ``MAX_NUMNODES + 1``; another mode ``-EOPNOTSUPP``; a dying domain
        ``-ESRCH``; then the copy from or to the caller's buffer (``-EFAULT``).
        Returns ``(rc, nr_entries, reason)``, ``nr_entries`` as copied back: GET
        copies it back on success and ``-ERANGE`` only (a dying domain's GET
        leaves the caller's count as it was, as Xen's does).
        ``docs/claims.md#domctl-dispatch``.
        """
        if heap.llc_coloring_enabled:
            return -errno.EOPNOTSUPP, nr, "LLC colouring is enabled: claims are not supported"
        max_nr = heap.max_numnodes + 1
        cap = nr
        if mode == XEN_DOMCTL_CLAIM_MEMORY_SET:
            if nr == 0:
                return -errno.EINVAL, nr, "SET with nr_entries 0"
            if nr > max_nr:
                return -errno.E2BIG, nr, f"nr_entries {nr} > MAX_NUMNODES + 1 = {max_nr}"
        elif mode == XEN_DOMCTL_CLAIM_MEMORY_GET and self.get_mode:
            cap = min(nr, max_nr)
        else:
            # v6 had no mode but a pad word that must be 0: see claims.series.v6
            return -errno.EOPNOTSUPP, nr, f"unknown mode {mode}"
        if d.is_dying:
            # nothing is copied back: the caller's nr_entries stays as it passed it
            return -errno.ESRCH, nr, f"d{d.domid} is dying"
        if mode == XEN_DOMCTL_CLAIM_MEMORY_SET:
            got = read_guest(buf, nr)
            if got is None:
                return (
                    -errno.EFAULT,
                    nr,
                    f"cannot read {n_entries(nr)} from the claim_set buffer",
                )
            rc, reason = self.domain_set_claim_entries(heap, d, got)
            return rc, nr, reason
        rc, needed, out = self.domain_get_claim_entries(heap, d, cap)
        if rc:
            return (
                rc,
                needed,
                f"{n_entries(needed)} needed, buffer holds {cap}",
            )
        assert out is not None
        if not write_guest(buf, out):
            return (
                -errno.EFAULT,
                needed,
                f"cannot write {n_entries(needed)} to the claim_set buffer",
            )
        return 0, needed, "ok"


register(V7)
