"""An independent reference model of the claims accounting (``docs/claims.md``).

:class:`ClaimsReference` holds only what the claims rules read and write: the
free-page counters per node, and per domain its host-wide claim, its node
claims, ``max_pages`` and ``domain_tot_pages``.  There is no heap.  It is
written from the spec's rules, not from the model's code, so that a test can
run both side by side and compare every return code and every counter.

It is fed the facts the heap decides -- which node an allocation landed on,
how many pages were freed or offlined on a node, a domain's ``tot_pages`` --
and predicts the accounting: the errno of a claim SET, GET or legacy claim,
whether the allocation gates pass, which claims an allocation redeems, what
offlining recalls, and every counter afterwards.

Rule sets (spec ``README.md``): ``master`` (legacy host-wide claims only, no
claim-set domctl), ``v6`` (claim sets without GET, the shortfall host gate,
no offline recall), ``v7`` (the default) and ``v8`` (``docs/versions.md#v8``:
``XEN_DOMCTL_set_memory_claims`` 91 and ``XEN_DOMCTL_get_memory_claims`` 92,
no replacement, release by ``nr_entries`` 0, the paused-domain rule, GET
without a zero host-wide entry and ``ENOBUFS``, the clamped node gate,
master's legacy claim, no offline recall).  Where the spec leaves ``v6``
open this model makes the choices ``claims.series.v6`` documents
(``V6_UNKNOWN``): v7's redemption order, no offline recall, and
``EOPNOTSUPP`` for any mode other than SET.  Where the v8 material leaves
details open this model takes the project's notes on v8 (the per-entry check
order, the capacity inequalities, GET without SET's state checks).

The domctls are dispatched by number, as a hypervisor of one version sees a
toolstack of another: domctl 91 is v6/v7's ``XEN_DOMCTL_claim_memory`` (the
third word is ``mode``) and v8's ``XEN_DOMCTL_set_memory_claims`` (the third
word is ``pad``); domctl 92 exists only in v8; master has neither (``ENOSYS``).

Also modelled: the toolstack's pause count of each domain (``createdomain``
leaves 1, ``XEN_DOMCTL_pausedomain`` caps it at 255 with ``EOVERFLOW``,
``XEN_DOMCTL_unpausedomain`` at 0 is ``EINVAL``), which v8's SET reads, and,
when ``llc_coloring`` is set, LLC colouring (``EOPNOTSUPP`` for every claim
call that checks it).  Not modelled: the kernel buffer allocation failure
(``ENOMEM``) and 32-bit truncation of per-domain counters.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass, field

# ABI values (docs/claims.md#targets, docs/claims.md#domctl-abi; docs/versions.md#decisions, 1)
HOST = 0x80000000
LEGACY = 0x40000000
SPECIAL = 0x80000000  # v8: bit 31 marks a special target; HOST is the only one defined
MODE_SET = 0
MODE_GET = 1
UNLIMITED = 0xFFFFFFFF  # max_pages after setmaxmem(-1)
PAUSE_MAX = 255  # Xen caps controller_pause_count (_domain_pause_by_systemcontroller)

SEMANTICS = ("master", "v6", "v7", "v8")

Entry = tuple[int, int, int]
"""A claim entry as ``(pages, target, cmd)`` (docs/claims.md#claim-entry field order); v8
names the third word ``pad`` (same layout)."""


@dataclass
class RefDomain:
    """A domain as the claims rules see it (docs/claims.md#domain-state)."""

    domid: int
    max_pages: int = UNLIMITED
    tot_pages: int = 0  # domain_tot_pages(d): a fact fed from outside
    host: int = 0  # the host-wide claim: outstanding_pages - node_claims
    nodes: dict[int, int] = field(default_factory=dict)  # node -> claim, zeros dropped
    pause_count: int = 1  # controller_pause_count: createdomain leaves the domain paused

    @property
    def node_claims(self) -> int:
        return sum(self.nodes.values())  # docs/claims.md#domain-state: sum of claims[]

    @property
    def outstanding(self) -> int:
        return self.host + self.node_claims  # docs/claims.md#domain-state: the domain's whole claim


class ClaimsReference:
    """Counters and per-domain claims of one host, driven by the spec's rules."""

    def __init__(self, semantics: str, node_avail: Sequence[int], max_numnodes: int = 64) -> None:
        if semantics not in SEMANTICS:
            raise ValueError(f"semantics must be one of {SEMANTICS}, not {semantics!r}")
        self.semantics = semantics
        self.max_numnodes = max_numnodes
        self.node_avail_pages: list[int] = list(node_avail)
        self.domains: dict[int, RefDomain] = {}
        self.llc_coloring = False  # claims are not supported with LLC colouring

    # ------------------------------------------------------------ counters
    @property
    def nr_nodes(self) -> int:
        """Online nodes are ``0 .. nr_nodes-1``."""
        return len(self.node_avail_pages)

    @property
    def claim_sets(self) -> bool:
        return self.semantics != "master"  # README: master has legacy claims only

    @property
    def claim_get(self) -> bool:
        return self.semantics == "v7"  # README: v6 has no GET (v8: GET is domctl 92)

    @property
    def v8(self) -> bool:
        return self.semantics == "v8"

    @property
    def total_avail_pages(self) -> int:
        return sum(self.node_avail_pages)  # docs/claims.md#invariants: sum over nodes

    @property
    def outstanding_claims(self) -> int:
        return sum(d.outstanding for d in self.domains.values())  # docs/claims.md#invariants

    @property
    def claimed_pages(self) -> list[int]:
        # docs/claims.md#invariants: claimed_pages[n] = sum of the domains' claims on n
        return [sum(d.nodes.get(n, 0) for d in self.domains.values()) for n in range(self.nr_nodes)]

    def domain_claims(self, domid: int) -> list[int]:
        """``d->claims[]`` of *domid*, one slot per online node."""
        d = self.domains[domid]
        return [d.nodes.get(n, 0) for n in range(self.nr_nodes)]

    def counters(self) -> tuple[object, ...]:
        """The counters in the shape of the model's event ``counters``."""
        doms: dict[int, tuple[int, tuple[int, ...]]] = {}
        if self.outstanding_claims:
            doms = {
                d.domid: (d.outstanding, tuple(self.domain_claims(d.domid)))
                for d in self.domains.values()
                if d.outstanding
            }
        return (
            self.total_avail_pages,
            self.outstanding_claims,
            tuple(self.node_avail_pages),
            tuple(self.claimed_pages),
            doms,
        )

    # ------------------------------------------------------------- domains
    def domain_create(self, domid: int, max_pages: int = UNLIMITED) -> None:
        self.domains[domid] = RefDomain(domid, max_pages)

    def domain_destroy(self, domid: int) -> None:
        # docs/claims.md#domain-lifecycle: domain_kill releases all claims
        self._release_all(self.domains[domid])
        del self.domains[domid]

    def set_max_pages(self, domid: int, max_pages: int) -> None:
        # docs/claims.md#invariants inv. 3: claims are untouched
        self.domains[domid].max_pages = max_pages

    def set_tot_pages(self, domid: int, tot_pages: int) -> None:
        """A fact: ``domain_tot_pages(d)`` as the heap has it now."""
        self.domains[domid].tot_pages = tot_pages

    def pause(self, domid: int) -> int:
        """``XEN_DOMCTL_pausedomain``: 0, ``-ESRCH``, or ``-EOVERFLOW`` past 255 pauses."""
        d = self.domains.get(domid)
        if d is None:
            return -errno.ESRCH  # do_domctl's lookup
        if d.pause_count + 1 > PAUSE_MAX:
            return -errno.EOVERFLOW  # the count never wraps
        d.pause_count += 1
        return 0

    def unpause(self, domid: int) -> int:
        """``XEN_DOMCTL_unpausedomain``: 0, ``-ESRCH``, or ``-EINVAL`` when not paused."""
        d = self.domains.get(domid)
        if d is None:
            return -errno.ESRCH
        if d.pause_count == 0:
            return -errno.EINVAL  # no toolstack pause left to drop
        d.pause_count -= 1
        return 0

    def _domain_list(self) -> list[RefDomain]:
        # docs/offlining.md#claims-after-offlining "domain-list order": Xen keeps domain_list sorted
        # by domid
        return [self.domains[i] for i in sorted(self.domains)]

    # --- release helpers (docs/claims.md#release-helpers) -----------------------------------------
    def _release_node(self, d: RefDomain, node: int, pages: int) -> int:
        x = min(pages, d.nodes.get(node, 0))  # docs/redemption.md#redemption release_node
        if x:
            d.nodes[node] -= x
            if not d.nodes[node]:
                del d.nodes[node]
        return x

    def _release_host(self, d: RefDomain, pages: int) -> int:
        # docs/redemption.md#redemption release_host: the host-wide part only
        x = min(pages, d.host)
        d.host -= x
        return x

    def _recall_nodes(self, d: RefDomain, pages: int, out: dict[str, int]) -> int:
        done = 0
        # docs/redemption.md#redemption step 3: ascending online node id
        for n in range(self.nr_nodes):
            if pages - done == 0 or not d.node_claims:
                break
            got = self._release_node(d, n, pages - done)
            if got:
                out[f"node{n}"] = out.get(f"node{n}", 0) + got
            done += got
        return done

    def _release_all(self, d: RefDomain) -> None:
        d.nodes.clear()  # docs/claims.md#set-phases phase 3: recall all node claims
        d.host = 0  # ... then the host-wide claim

    # ----------------------------------------------------- installation (SET)
    def set_claim_entries(self, domid: int, entries: Sequence[Entry]) -> int:
        """``domain_set_claim_entries``: 0 or ``-errno``; applied only on 0
        (docs/claims.md#set-phases, docs/claims.md#atomicity).
        """
        d = self.domains[domid]
        if self.v8:
            return self._v8_set_claim_entries(d, entries)
        host_req = node_req = 0
        seen_host = legacy = False
        seen: set[int] = set()
        per_node: dict[int, int] = {}
        claimed = self.claimed_pages
        # docs/claims.md#set-phases phase 1: array order, first failure wins
        for pages, target, cmd in entries:
            if cmd != 0:
                return -errno.EINVAL  # docs/claims.md#set-phases 1.1: reserved cmd must be 0
            if target in (HOST, LEGACY):
                # docs/claims.md#set-phases 1.2: LEGACY is HOST + legacy rules
                legacy = legacy or target == LEGACY
                if seen_host:
                    # docs/claims.md#set-phases 1.3: at most one HOST/LEGACY entry
                    return -errno.EINVAL
                seen_host, host_req = True, pages
                continue
            if target >= self.max_numnodes or target >= self.nr_nodes:
                return -errno.ENOENT  # docs/claims.md#set-phases 1.4: no such online node
            if target in seen:
                return -errno.EINVAL  # docs/claims.md#set-phases 1.5: node appears twice
            seen.add(target)
            unclaimed = self.node_avail_pages[target] - claimed[target]
            if pages > unclaimed + d.nodes.get(target, 0):
                # docs/claims.md#set-phases 1.6: own node claim counts as available
                return -errno.ENOMEM
            node_req += pages  # docs/claims.md#set-phases 1.7
            per_node[target] = pages
        # docs/claims.md#set-phases phase 2, legacy branch (docs/claims.md#xenmem-claim-pages)
        if legacy:
            if node_req:
                return -errno.EINVAL  # LEGACY with non-zero node entries
            if host_req == 0:
                self._release_all(d)  # legacy claim of 0 releases everything
                return 0
            if d.outstanding or host_req <= d.tot_pages:
                return -errno.EINVAL  # one claim per domain; target must exceed tot_pages
            host_req -= d.tot_pages  # absolute target -> claim
        elif host_req == 0 and node_req == 0:
            # docs/claims.md#set-phases: all-zero set releases, ignoring max_pages
            self._release_all(d)
            return 0
        if host_req + node_req + d.tot_pages > d.max_pages:
            # docs/claims.md#set-phases phase 2: max_pages (unbounded ints: one test)
            return -errno.EINVAL
        unclaimed_host = self.total_avail_pages - self.outstanding_claims
        if host_req + node_req > unclaimed_host + d.outstanding:
            # docs/claims.md#set-phases phase 2: host capacity, own claims count
            return -errno.ENOMEM
        self._release_all(d)  # docs/claims.md#set-phases phase 3: replace, not accumulate
        d.host = host_req  # docs/claims.md#set-phases phases 4-5: install
        d.nodes = {n: p for n, p in per_node.items() if p}
        return 0

    def _v8_set_claim_entries(self, d: RefDomain, entries: Sequence[Entry]) -> int:
        """v8's ``domain_set_claim_entries``: every ``EINVAL``/``ENOENT`` before any
        ``ENOMEM``, no replacement (docs/versions.md#v8 "SET order").
        """
        total = 0
        host = 0
        seen_host = False
        per_node: dict[int, int] = {}
        for pages, target, pad in entries:  # array order, the first failure decides
            if pad != 0:
                return -errno.EINVAL  # the entry's pad must be 0
            if pages == 0:
                return -errno.EINVAL  # zero-page entries: release with nr_entries 0
            if target == HOST:
                if seen_host:
                    return -errno.EINVAL  # a second HOST entry
                seen_host, host = True, pages
            elif target & SPECIAL:
                return -errno.EINVAL  # bit 31: a special target, and only HOST is defined
            else:
                if target >= self.max_numnodes or target >= self.nr_nodes:
                    return -errno.ENOENT  # no such online node (v7's LEGACY value lands here)
                if target in per_node:
                    return -errno.EINVAL  # a node twice
                per_node[target] = pages
            if pages > d.max_pages - total:
                return -errno.EINVAL  # the running total above max_pages
            total += pages
        if d.tot_pages > d.max_pages or d.tot_pages + total > d.max_pages:
            return -errno.EINVAL  # claims + tot_pages above max_pages
        # under heap_lock
        if d.outstanding:
            return -errno.EINVAL  # no replacement: release first
        if self.outstanding_claims + total > self.total_avail_pages:
            return -errno.ENOMEM  # the host's unclaimed memory
        claimed = self.claimed_pages
        for node, pages in per_node.items():
            if claimed[node] + pages > self.node_avail_pages[node]:
                return -errno.ENOMEM  # the node's unclaimed memory (own claims: none)
        d.host = host
        d.nodes = dict(per_node)
        return 0

    def _master_set_outstanding_pages(self, d: RefDomain, pages: int) -> int:
        """master's ``domain_set_outstanding_pages`` (docs/claims.md#set-outstanding-pages,
        docs/claims.md#xenmem-claim-pages).
        """
        if pages == 0:
            self._release_all(d)  # pages == 0 unsets the claim
            return 0
        if d.outstanding:
            return -errno.EINVAL  # only one active claim per domain
        if pages <= d.tot_pages or pages > d.max_pages:
            return -errno.EINVAL  # not above tot_pages, or above max_pages
        claim = pages - d.tot_pages  # absolute target -> claim
        # avail_pages is an unsigned long: with claims above free memory (offlining, no
        # recall) the subtraction wraps to a huge number and any claim fits
        avail_pages = (self.total_avail_pages - self.outstanding_claims) % 2**64
        if claim > avail_pages:
            return -errno.ENOMEM  # more than the unclaimed memory
        d.host = claim
        return 0

    # ----------------------------------------------------- hypercall wrappers
    def claim_memory(
        self,
        domid: int,
        mode: int,
        nr_entries: int,
        buffer: Sequence[Entry] | None,
        *,
        privileged: bool = True,
        dying: bool = False,
        buffer_len: int | None = None,
    ) -> tuple[int, int, list[tuple[int, int]] | None]:
        """``XEN_DOMCTL_claim_memory``: ``(rc, nr_entries out, GET entries)``
        (docs/claims.md#domctl-dispatch).

        *domid* is looked up among the live domains unless *dying* says the
        caller holds a dying domain.  *buffer* is the guest array (``None``
        is NULL); for GET, *buffer_len* is its capacity.
        """
        if not dying and domid not in self.domains:
            # docs/claims.md#domctl-dispatch: do_domctl's lookup
            return -errno.ESRCH, nr_entries, None
        if not privileged:
            # docs/claims.md#domctl-dispatch: xsm_claim_pages / xsm_domctl
            return -errno.EPERM, nr_entries, None
        if not self.claim_sets:
            # master: no such domctl; do_domctl looks up the domain and asks
            # XSM first, then arch_do_domctl answers ENOSYS (xen/common/domctl.c)
            return -errno.ENOSYS, nr_entries, None
        if self.v8:
            # v8's domctl 91 is XEN_DOMCTL_set_memory_claims: the mode word is its pad, so a
            # v7 SET is a v8 SET and a v7 GET is EINVAL; nothing is copied back
            rc = self.set_memory_claims(domid, nr_entries, buffer, mode, dying=dying)
            return rc, nr_entries, None
        if self.llc_coloring:
            return -errno.EOPNOTSUPP, nr_entries, None  # docs/claims.md#domctl-dispatch step 3
        max_nr = self.max_numnodes + 1  # docs/claims.md#limits: one entry per node + one host-wide
        if mode == MODE_SET:
            if nr_entries == 0:
                return -errno.EINVAL, nr_entries, None  # docs/claims.md#domctl-dispatch
            if nr_entries > max_nr:
                return -errno.E2BIG, nr_entries, None  # docs/claims.md#domctl-dispatch
        elif mode == MODE_GET and self.claim_get:
            pass  # docs/claims.md#domctl-dispatch: GET clamps the capacity (below)
        else:
            # docs/claims.md#domctl-dispatch: other mode (v6: no GET)
            return -errno.EOPNOTSUPP, nr_entries, None
        if dying:
            # docs/claims.md#domctl-dispatch: dying domain; a GET refused here copies nothing
            # back, so the caller's count stays as it passed it (not the clamped capacity)
            return -errno.ESRCH, nr_entries, None
        nr_entries = min(nr_entries, max_nr) if mode == MODE_GET else nr_entries
        d = self.domains[domid]
        if mode == MODE_SET:
            if buffer is None or len(buffer) < nr_entries:
                # docs/claims.md#domctl-dispatch: copy_from_guest fails
                return -errno.EFAULT, nr_entries, None
            return self.set_claim_entries(d.domid, list(buffer)[:nr_entries]), nr_entries, None
        out = self.get_claim_entries(domid)
        if len(out) > nr_entries:
            return -errno.ERANGE, len(out), None  # docs/claims.md#get: too small, needed count back
        if buffer_len is None or buffer_len < len(out):
            return -errno.EFAULT, len(out), None  # docs/claims.md#get: copy_to_guest fails
        return 0, len(out), out

    def set_memory_claims(
        self,
        domid: int,
        nr_entries: int,
        buffer: Sequence[Entry] | None,
        pad: int = 0,
        *,
        privileged: bool = True,
        dying: bool = False,
    ) -> int:
        """Domctl 91 as a v8 toolstack issues it (``XEN_DOMCTL_set_memory_claims``): 0 or
        ``-errno`` (docs/versions.md#v8 "SET order").

        On v6/v7 hosts domctl 91 is ``XEN_DOMCTL_claim_memory``, which reads *pad* as its
        mode; on master it does not exist.
        """
        if not dying and domid not in self.domains:
            return -errno.ESRCH  # do_domctl's lookup
        if not privileged:
            return -errno.EPERM  # XSM
        if not self.v8:
            return self.claim_memory(
                domid,
                pad,
                nr_entries,
                buffer,
                dying=dying,
                buffer_len=None if buffer is None else len(buffer),
            )[0]
        if pad != 0:
            return -errno.EINVAL  # the argument's pad
        if nr_entries == 0:
            # release everything, before every state check: dying, running, LLC domains too
            if not dying:
                self._release_all(self.domains[domid])
            return 0
        if self.llc_coloring:
            return -errno.EOPNOTSUPP
        if dying:
            return -errno.ESRCH
        if nr_entries > self.max_numnodes + 1:
            return -errno.E2BIG
        d = self.domains[domid]
        if d.pause_count == 0:
            return -errno.EBUSY  # the toolstack must pause the domain
        if buffer is None or len(buffer) < nr_entries:
            return -errno.EFAULT  # copy_from_guest
        return self._v8_set_claim_entries(d, list(buffer)[:nr_entries])

    def get_memory_claims(
        self,
        domid: int,
        nr_entries: int,
        pad: int = 0,
        *,
        privileged: bool = True,
        dying: bool = False,
        buffer_len: int | None = None,
    ) -> tuple[int, int, list[tuple[int, int]] | None]:
        """Domctl 92 (v8's ``XEN_DOMCTL_get_memory_claims``): ``(rc, nr_entries out, entries)``.

        *nr_entries* is the capacity the caller gives, *buffer_len* what its buffer
        holds (``None``: NULL).  No state checks: a dying domain (its claims released
        by ``domain_kill``) has none.  Hosts before v8 have no domctl 92.
        """
        if not dying and domid not in self.domains:
            return -errno.ESRCH, nr_entries, None
        if not privileged:
            return -errno.EPERM, nr_entries, None
        if not self.v8:
            return -errno.ENOSYS, nr_entries, None  # arch_do_domctl's default
        if pad != 0:
            return -errno.EINVAL, nr_entries, None  # nothing copied back
        cap = min(nr_entries, self.max_numnodes + 1)
        out = [] if dying else self.get_claim_entries(domid)
        if len(out) > cap:
            return -errno.ENOBUFS, len(out), None  # the count needed, nothing written
        if out and (buffer_len is None or buffer_len < len(out)):
            return -errno.EFAULT, len(out), None  # copy_to_guest fails
        return 0, len(out), out

    def get_claim_entries(self, domid: int) -> list[tuple[int, int]]:
        """GET output as ``(target, pages)``: HOST first, then node claims ascending
        (docs/claims.md#get); v8 lists HOST only when it is not 0.
        """
        d = self.domains[domid]
        out = [(HOST, d.host)] if d.host or not self.v8 else []
        out += [(n, d.nodes[n]) for n in sorted(d.nodes) if n < self.nr_nodes and d.nodes[n]]
        return out

    def claim_pages(
        self,
        domid: int,
        nr_extents: int,
        *,
        privileged: bool = True,
        extent_order: int = 0,
        mem_flags: int = 0,
        extent_start_null: bool = True,
        start_extent: int = 0,
    ) -> int:
        """``XENMEM_claim_pages``: 0 or ``-errno`` (docs/claims.md#xenmem-claim-pages)."""
        if self.llc_coloring:
            return -errno.EOPNOTSUPP  # docs/claims.md#xenmem-claim-pages step 1
        if start_extent != 0:
            return -errno.EINVAL  # docs/claims.md#xenmem-claim-pages: start_extent must be 0
        if not extent_start_null or extent_order != 0 or mem_flags != 0:
            # docs/claims.md#xenmem-claim-pages: extent_start NULL, order and flags 0
            return -errno.EINVAL
        if domid not in self.domains:
            # docs/claims.md#xenmem-claim-pages / README 3: unknown (or dying) domain is EINVAL
            return -errno.EINVAL
        if not privileged:
            return -errno.EPERM  # docs/claims.md#xenmem-claim-pages: xsm_claim_pages
        d = self.domains[domid]
        if not self.claim_sets or self.v8:
            # master; v8 went back to master's function (any claim, host or node, is one
            # claim too many; 0 releases node claims too; no pause needed)
            return self._master_set_outstanding_pages(d, nr_extents)
        # docs/claims.md#xenmem-claim-pages
        return self.set_claim_entries(domid, [(nr_extents, LEGACY, 0)])

    # ------------------------------------------------------------- allocation
    @staticmethod
    def refcounted(domid: int | None, memflags: int, *, domheap: bool = False) -> bool:
        """A request may use claims iff it has a domain and lacks MEMF_no_refcount
        (docs/claims.md#protection).

        For ``alloc_domheap_pages`` (*domheap*) ``MEMF_no_owner`` implies no_refcount.
        """
        no_refcount, no_owner = 1 << 0, 1 << 5  # xen/include/xen/mm.h
        if domid is None or memflags & no_refcount:
            return False
        return not (domheap and memflags & no_owner)

    def host_gate(self, domid: int | None, order: int, refcounted: bool) -> bool:
        """The host-wide check of ``alloc_heap_pages`` (docs/claims.md#host-gate)."""
        req = 1 << order
        own = self.domains[domid].outstanding if refcounted and domid is not None else 0
        if self.semantics == "v6":
            # docs/claims.md#host-gate, docs/versions.md#history: v6 claims_permit_request, free
            # pages cover a shortfall
            return req <= self.total_avail_pages - self.outstanding_claims + own
        if self.outstanding_claims + req <= self.total_avail_pages:
            return True  # docs/claims.md#host-gate: unclaimed memory may always be used
        # docs/claims.md#host-gate: else the whole claim must cover it
        return refcounted and own >= req

    def node_gate(self, node: int, domid: int | None, order: int, refcounted: bool) -> bool:
        """The per-node check of ``get_free_buddy`` (docs/claims.md#node-gate); master has none."""
        if not self.claim_sets:
            return True  # README: master has no per-node gate
        allowance = self.node_avail_pages[node] - self.claimed_pages[node]
        if self.v8:
            allowance = max(allowance, 0)  # v8 clamps: offlining may leave claims above free
        if refcounted and domid is not None:
            # docs/claims.md#node-gate: own node claim
            allowance += self.domains[domid].nodes.get(node, 0)
        return allowance >= 1 << order

    def alloc(self, domid: int | None, node: int, order: int, refcounted: bool) -> dict[str, int]:
        """An allocation of ``2**order`` pages landed on *node*: redeem, then count
        (docs/redemption.md#redemption).

        Returns what was redeemed, as ``{"node<N>": pages, "host": pages}``.
        """
        req = 1 << order
        out: dict[str, int] = {}
        d = self.domains.get(domid) if domid is not None else None
        # docs/redemption.md#redemption: refcounted, has claims
        if d is not None and refcounted and d.outstanding:
            # docs/redemption.md#redemption: redeem = min(outstanding, request)
            left = min(d.outstanding, req)
            if self.claim_sets:
                # docs/redemption.md#redemption step 1: the allocation's node
                got = self._release_node(d, node, left)
                if got:
                    out[f"node{node}"] = got
                left -= got
            if left:
                # docs/redemption.md#redemption step 2 (master: the only step)
                got = self._release_host(d, left)
                if got:
                    out["host"] = got
                left -= got
                # docs/redemption.md#redemption step 3: other nodes ascending
                self._recall_nodes(d, left, out)
        # docs/redemption.md#redemption: then the free counters drop
        self.node_avail_pages[node] -= req
        return out

    def free(self, node: int, pages: int) -> None:
        """Pages went back to the heap on *node*; claims are untouched (docs/claims.md#invariants,
        docs/redemption.md#redemption).
        """
        self.node_avail_pages[node] += pages

    def offline(self, node: int, pages: int) -> dict[int, int]:
        """``reserve_offlined_page`` took *pages* off *node*: ``{domid: recalled}``
        (docs/offlining.md#claims-after-offlining).
        """
        self.node_avail_pages[node] -= pages
        recalled: dict[int, int] = {}
        if self.semantics != "v7":
            # README / docs/versions.md#history: master, v6 and v8 recall nothing
            return recalled
        over = self.claimed_pages[node] - self.node_avail_pages[node]
        # docs/offlining.md#claims-after-offlining step 1: node claims, domain-list order
        for d in self._domain_list():
            if over <= 0:
                break
            got = self._release_node(d, node, over)
            over -= got
            if got:
                recalled[d.domid] = recalled.get(d.domid, 0) + got
        over = self.outstanding_claims - self.total_avail_pages
        # docs/offlining.md#claims-after-offlining step 2: host-wide claims, domain-list order
        for d in self._domain_list():
            if over <= 0:
                break
            got = self._release_host(d, over)
            over -= got
            if got:
                recalled[d.domid] = recalled.get(d.domid, 0) + got
        return recalled


__all__ = [
    "HOST",
    "LEGACY",
    "MODE_GET",
    "MODE_SET",
    "PAUSE_MAX",
    "SPECIAL",
    "UNLIMITED",
    "ClaimsReference",
    "Entry",
    "RefDomain",
]
