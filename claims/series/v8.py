"""v8 of the series (prepared October 2026): what changed from v7 after review.

v8 has not been posted to xen-devel as far as the public record goes; it is
read from its cover letter, the author's per-patch review notes and its test
programs in xenserver-next/xen (``tools/tests/claims/host-claims.c``,
``node-claims.c``).  No v8 hypervisor source is public, so the details no
source states are inferred, and said so here (``INFERRED``) and in
``docs/versions.md#v8``.  What v8 changes from v7 (``claims.series.v7``):

* ABI: two domctls, ``XEN_DOMCTL_set_memory_claims`` (91) and
  ``XEN_DOMCTL_get_memory_claims`` (92), one argument
  ``xen_domctl_memory_claims {claims, nr_entries, pad}`` and entries
  ``xen_domctl_memory_claim_t {pages, target, pad}``; no LEGACY target; a
  nonzero ``pad`` is ``-EINVAL``;
* SET installs only where no claim exists (``-EINVAL`` otherwise): release
  first (``nr_entries`` 0, which works on any domain), then set; zero-page
  entries are ``-EINVAL``; every ``-EINVAL``/``-ENOENT`` comes before any
  ``-ENOMEM``; the domain must be paused by the toolstack (``-EBUSY``);
* GET lists the host-wide entry only when it is nonzero; too small a buffer
  is ``-ENOBUFS`` with the count needed;
* the node gate clamps the unclaimed memory of a node at 0;
* ``XENMEM_claim_pages`` is master's ``domain_set_outstanding_pages`` again
  (any claim, host or node, makes a new one ``-EINVAL``);
* no OCaml binding;
* no recall after offlining: claims may exceed free memory afterwards.
"""

from __future__ import annotations

import errno
from typing import Any

from ..hypervisor.claim_accounting import domain_release_all_claims
from ..hypervisor.constants import NUMA_NO_NODE
from ..hypervisor.domctl import Caller, read_guest, write_guest
from ..hypervisor.page_alloc import HeapCore, register
from ..hypervisor.public import (
    XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST,
    XEN_DOMCTL_get_memory_claims,
    XEN_DOMCTL_set_memory_claims,
    target_name,
    xen_domctl_memory_claim_t,
)
from ..hypervisor.sched import Domain
from .master import Master, refcounted
from .v7 import V7, n_entries

INFERRED = (
    "XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST is 0x80000000 (bit 31 marks special targets; "
    "no v8 header is public)",
    "the order of the checks inside one SET entry: pad, zero pages, a second HOST, another "
    "bit-31 target, the node (MAX_NUMNODES or offline), the node twice, the running total "
    "against max_pages (the order the review notes list them in)",
    "SET's capacity checks: outstanding_claims + total > total_avail_pages, then each node's "
    "node_claimed_pages[n] + pages > node_avail_pages[n], both ENOMEM",
    "GET has none of SET's state checks: no ESRCH for a dying domain, no EOPNOTSUPP for LLC "
    "colouring, no EBUSY (the notes name only pad and the capacity clamp)",
    "the domctl interface version is the same in v7 and v8, so a v7 toolstack's domctl 91 "
    "reaches v8's handler (neither series is known to bump it)",
)
"""The v8 details no public source states, as the kit decides them (``docs/versions.md#v8``)."""


class V8(V7):
    """v8: two domctls, no replacement, the paused-domain rule, the clamped node gate."""

    name = "v8"
    claim_sets = True
    claims_abi = "memory_claims"
    ocaml_binding = False
    claims_within_free = False

    def entry_type(self) -> type[Any]:
        return xen_domctl_memory_claim_t

    # ------------------------------------------------------------ protection
    def node_gate(
        self, heap: HeapCore, node: int, order: int, memflags: int, d: Domain | None
    ) -> bool:
        """``max(0, free - claimed)`` on the node plus the domain's own node claim.

        The clamp replaces a v7 assertion: offlining can leave a node with more
        claimed than free.  ``docs/versions.md#v8``.
        """
        unclaimed = heap.node_avail_pages[node] - heap.claimed_pages[node]
        allowance = unclaimed if unclaimed > 0 else 0
        if allowance >= 1 << order:
            return True
        if d is not None and refcounted(d, memflags) and node < len(d.claims):
            allowance += d.claims[node]
        return allowance >= 1 << order

    # ------------------------------------------------------------ offlining
    def after_offline(self, heap: HeapCore, node: int, domains: list[Domain]) -> dict[str, int]:
        """No recall: v8 moved it to a separate series, not yet posted.

        ``docs/offlining.md#claims-after-offlining``.
        """
        return {}

    # ------------------------------------------------------------ claims
    def domain_set_outstanding_pages(
        self, heap: HeapCore, d: Domain, pages: int, node: int = NUMA_NO_NODE
    ) -> tuple[int, str]:
        """``XENMEM_claim_pages`` is master's function again; 0 releases node claims too.

        Any claim the domain has, host-wide or per node, makes a new one
        ``-EINVAL`` (it is in ``outstanding_pages``); no pause is required.
        """
        return Master.domain_set_outstanding_pages(self, heap, d, pages, node)

    def domain_set_claim_entries(
        self, heap: HeapCore, d: Domain, entries: list[Any]
    ) -> tuple[int, str]:
        """v8's ``domain_set_claim_entries``: validate every entry, then install once.

        Validation (``-EINVAL``/``-ENOENT``, in array order) under
        ``d->page_alloc_lock``, then under ``heap_lock``: a domain that has
        claims is ``-EINVAL`` (no replacement), then the capacity checks
        (``-ENOMEM``).  ``docs/versions.md#v8``.
        """
        total = 0
        seen_host = False
        seen: set[int] = set()
        nodes: list[tuple[int, int]] = []
        for i, e in enumerate(entries):
            what = f"entry {i} ({target_name(e.target)}, {e.pages} pages)"
            if e.pad != 0:
                return -errno.EINVAL, f"{what}: pad must be 0, not {e.pad}"
            if e.pages == 0:
                return -errno.EINVAL, f"{what}: zero pages (release with nr_entries 0)"
            if e.target == XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST:
                if seen_host:
                    return -errno.EINVAL, f"{what}: a second HOST entry"
                seen_host = True
            elif e.target & 0x80000000:
                return -errno.EINVAL, f"{what}: no special target but HOST is defined"
            else:
                node = e.target
                if node >= heap.max_numnodes or node >= heap.nr_nodes:
                    return -errno.ENOENT, f"{what}: no such online node"
                if node in seen:
                    return -errno.EINVAL, f"{what}: node {node} appears twice"
                seen.add(node)
                nodes.append((node, e.pages))
            if e.pages > d.max_pages - total:
                return -errno.EINVAL, (
                    f"{what}: {total} + {e.pages} pages claimed exceed max_pages {d.max_pages}"
                )
            total += e.pages
        tot = d.domain_tot_pages()
        if tot > d.max_pages or tot + total > d.max_pages:
            return -errno.EINVAL, (
                f"claims {total} + tot_pages {tot} exceed max_pages {d.max_pages}"
            )
        # under heap_lock
        if d.outstanding_pages:
            return -errno.EINVAL, (
                f"d{d.domid} already has claims ({d.outstanding_pages} pages): "
                "release them first (nr_entries 0)"
            )
        if heap.outstanding_claims + total > heap.total_avail_pages:
            return -errno.ENOMEM, (
                f"{total} pages + {heap.outstanding_claims} claimed > "
                f"{heap.total_avail_pages} free on the host"
            )
        for node, pages in nodes:
            if heap.claimed_pages[node] + pages > heap.node_avail_pages[node]:
                return -errno.ENOMEM, (
                    f"node {node}: {pages} pages + {heap.claimed_pages[node]} claimed > "
                    f"{heap.node_avail_pages[node]} free there"
                )
        node_total = 0
        for node, pages in nodes:
            d.claims[node] = pages
            heap.claimed_pages[node] += pages
            node_total += pages
        d.node_claims = node_total
        d.outstanding_pages = total
        heap.outstanding_claims += total
        return 0, "installed"

    def domain_get_claim_entries(
        self, heap: HeapCore, d: Domain, max_entries: int
    ) -> tuple[int, int, list[Any] | None]:
        """The host-wide entry when nonzero, then each node with a claim, ascending.

        More entries than *max_entries* is ``-ENOBUFS`` with the count needed;
        a domain without claims has none (rc 0, count 0).
        """
        out: list[Any] = []
        host = d.outstanding_pages - d.node_claims
        if host:
            out.append(xen_domctl_memory_claim_t(host, XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST))
        out += [xen_domctl_memory_claim_t(c, n) for n, c in enumerate(d.claims) if c]
        if len(out) > max_entries:
            return -errno.ENOBUFS, len(out), None
        return 0, len(out), out

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
        """v8's two domctls: 91 sets, 92 gets; *word* is the argument's ``pad``."""
        if cmd == XEN_DOMCTL_set_memory_claims:
            return self.set_memory_claims(heap, d, nr, buf, word)
        if cmd == XEN_DOMCTL_get_memory_claims:
            return self.get_memory_claims(heap, d, nr, buf, word)
        return None

    def set_memory_claims(
        self, heap: HeapCore, d: Domain, nr: int, buf: Any, pad: int
    ) -> tuple[int, int, str]:
        """``XEN_DOMCTL_set_memory_claims`` after ``do_domctl``'s checks, in v8's order.

        ``pad`` (``-EINVAL``); ``nr_entries`` 0 releases every claim, on any
        domain; LLC colouring (``-EOPNOTSUPP``); a dying domain (``-ESRCH``);
        above ``MAX_NUMNODES + 1`` entries (``-E2BIG``); a domain the
        toolstack has not paused (``-EBUSY``); the copy (``-EFAULT``); then
        ``domain_set_claim_entries``.  Nothing is copied back.
        """
        if pad != 0:
            return -errno.EINVAL, nr, f"the argument's pad must be 0, not {pad}"
        if nr == 0:
            domain_release_all_claims(heap, d)
            return 0, nr, "released"
        if heap.llc_coloring_enabled:
            return -errno.EOPNOTSUPP, nr, "LLC colouring is enabled: claims are not supported"
        if d.is_dying:
            return -errno.ESRCH, nr, f"d{d.domid} is dying"
        max_nr = heap.max_numnodes + 1
        if nr > max_nr:
            return -errno.E2BIG, nr, f"nr_entries {nr} > MAX_NUMNODES + 1 = {max_nr}"
        if d.controller_pause_count == 0:
            return -errno.EBUSY, nr, f"d{d.domid} is running: the toolstack must pause it"
        got = read_guest(buf, nr, xen_domctl_memory_claim_t)
        if got is None:
            return (
                -errno.EFAULT,
                nr,
                f"cannot read {n_entries(nr)} from the claims buffer",
            )
        rc, reason = self.domain_set_claim_entries(heap, d, got)
        return rc, nr, reason

    def get_memory_claims(
        self, heap: HeapCore, d: Domain, nr: int, buf: Any, pad: int
    ) -> tuple[int, int, str]:
        """``XEN_DOMCTL_get_memory_claims``: ``pad`` (``-EINVAL``, nothing copied back),
        the capacity clamped to ``MAX_NUMNODES + 1``, then the entries and their count
        (``-ENOBUFS`` with the count when they do not fit)."""
        if pad != 0:
            return -errno.EINVAL, nr, f"the argument's pad must be 0, not {pad}"
        cap = min(nr, heap.max_numnodes + 1)
        rc, needed, out = self.domain_get_claim_entries(heap, d, cap)
        if rc:
            return (
                rc,
                needed,
                f"{n_entries(needed)} needed, buffer holds {cap}",
            )
        assert out is not None
        if out and not write_guest(buf, out):
            return (
                -errno.EFAULT,
                needed,
                f"cannot write {n_entries(needed)} to the claims buffer",
            )
        return 0, needed, "ok"


register(V8)
