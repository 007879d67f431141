"""XenServer's hypervisor: Xen 4.21.1 with its patch queue's single-node claims.

What XenServer ships (``xenserver/xen.pg``, ``patches/`` at 2c284d0348, the queue
of ``xen.spec`` Version 4.21.1; ``docs/versions.md#xenserver``), where it differs
from upstream master:

* ``0005-xen-page_alloc-Implement-per-NUMA-node-outstandin.patch``: a domain's
  one claim is host-wide or all on one node (``d->claim_node``); the node's
  claims are counted in ``per_node_outstanding_claims[]`` (the kit's
  ``claimed_pages``); ``domain_set_outstanding_pages(d, node, pages)`` checks the
  node, then master's rules, then the node's unclaimed memory; ``get_free_buddy``
  skips a node whose unclaimed memory (plus the domain's own claim, on its claim
  node) cannot hold the request, for every allocation, Xen's own included;
  ``alloc_heap_pages`` redeems only pages taken from the claim node (or any node
  for a host-wide claim), never from the other nodes;
* ``tools-xc_domain_claim_pages_node.patch``: ``XENMEM_claim_pages`` takes
  ``XENMEMF_exact_node(n)`` in ``mem_flags`` (there is no new hypercall);
* ``tools-xc_numa_meminfo.patch`` with ``add-avail_node_heap_pages-param.patch``:
  ``XEN_SYSCTL_numa_meminfo``, each node's size, free and claimed bytes;
* ``tools-xc_domain_numa_get_node_pages.patch``: ``XEN_DOMCTL_numa_op``, a
  domain's pages on each node.

The strict host-wide gate is master's, and nothing repairs claims after
offlining.  No claim sets, no claims domctl.
"""

from __future__ import annotations

import errno
from typing import Any

from ..hypervisor.constants import NUMA_NO_NODE, PAGE_SHIFT, MEMF_no_refcount
from ..hypervisor.domctl import Caller
from ..hypervisor.errors import XenBugError
from ..hypervisor.heap import mfn_to_nid, node_present_pages
from ..hypervisor.memory import XENMEMF_exact_node_request, XENMEMF_get_node, XENMEMF_node
from ..hypervisor.page_alloc import HeapCore, register
from ..hypervisor.public import (
    XEN_DOMCTL_NUMA_OP_GET_NODE_PAGES,
    XEN_DOMCTL_numa_op,
    XEN_SYSCTL_numa_meminfo,
    xen_sysctl_node_meminfo_t,
)
from ..hypervisor.sched import Domain
from .master import ULONG_MAX, Master, refcounted

U64_MAX = (1 << 64) - 1
CLAIM_FLAGS = XENMEMF_node(0xFE) | XENMEMF_exact_node_request
"""The ``mem_flags`` bits ``XENMEM_claim_pages`` accepts: the node field (8-15) and
``XENMEMF_exact_node_request`` (17), mask ``0x2ff00``."""


def node_online(heap: HeapCore, node: int) -> bool:
    """``node_online(n)``: *n* is below ``MAX_NUMNODES`` and in ``node_online_map``."""
    return node < heap.max_numnodes and bool(heap.node_online_map >> node & 1)


def last_online_node(heap: HeapCore) -> int:
    """``last_node(node_online_map)``."""
    return heap.node_online_map.bit_length() - 1


def avail_node_heap_pages(heap: HeapCore, node: int) -> tuple[int, int]:
    """``avail_node_heap_pages(node, &claimed)``: the node's free pages (clean,
    dirty and claimed alike) and ``per_node_outstanding_claims[node]``
    (``add-avail_node_heap_pages-param.patch``)."""
    return heap.node_avail_pages[node], heap.claimed_pages[node]


def node_tot_pages(heap: HeapCore, d: Domain) -> list[int]:
    """``d->node_tot_pages[]``: the domain's pages on each node (``add-domain-node_tot_pages
    .patch`` keeps the array in ``domain_adjust_tot_pages``; the model counts the
    domain's blocks, which is the same number)."""
    out = [0] * heap.nr_nodes
    for mfn, rec in heap._inuse.items():
        if rec.owner is d:
            node = mfn_to_nid(heap, mfn)
            if node is not None:
                out[node] += 1 << rec.order
    return out


class XenServer(Master):
    """XenServer's single-node claims on Xen 4.21.1 (``docs/versions.md#xenserver``)."""

    name = "xenserver"
    claims_within_free = False  # no recall after offlining
    claim_node_field = True

    # ------------------------------------------------------------ claims
    def xenmem_claim_flags(self, mem_flags: int) -> tuple[int, str, int]:
        """``XENMEM_claim_pages``'s ``mem_flags`` (``tools-xc_domain_claim_pages_node
        .patch``, in ``do_memory_op`` after the ``extent_order`` check): bits outside
        the node field and ``XENMEMF_exact_node_request`` are ``-EINVAL``; with the
        exact bit the node field must name a node (field 0 is ``NUMA_NO_NODE``,
        ``-EINVAL``).  Node bits without the exact bit are ignored: a host-wide claim.
        """
        if mem_flags & ~CLAIM_FLAGS:
            return (
                -errno.EINVAL,
                f"mem_flags {mem_flags:#x} has bits outside {CLAIM_FLAGS:#x}",
                (NUMA_NO_NODE),
            )
        if not mem_flags & XENMEMF_exact_node_request:
            return 0, "", NUMA_NO_NODE
        node = XENMEMF_get_node(mem_flags)
        if node == NUMA_NO_NODE:
            return -errno.EINVAL, "XENMEMF_exact_node_request without a node", NUMA_NO_NODE
        return 0, "", node

    def domain_set_outstanding_pages(
        self, heap: HeapCore, d: Domain, pages: int, node: int = NUMA_NO_NODE
    ) -> tuple[int, str]:
        """``domain_set_outstanding_pages(d, node, pages)`` of 0005, in its order.

        The node first (``-ENOENT`` offline or out of range, ``-EINVAL`` for a node
        claim of 0 pages), both before any lock; then 0 releases the claim, host-wide
        or node, and forgets its node; a second claim is ``-EINVAL`` (no
        replacement); the absolute target must be above ``tot_pages`` and at most
        ``max_pages`` (``-EINVAL``); the claim must fit the host's unclaimed memory,
        then the node's (``-ENOMEM``).  A host-wide claim leaves ``claim_node`` as it
        was (``docs/versions.md#xenserver-stale-claim-node``).
        """
        if node != NUMA_NO_NODE and not node_online(heap, node):
            return -errno.ENOENT, f"node {node}: no such online node"
        if not pages and node != NUMA_NO_NODE:
            return -errno.EINVAL, f"a claim on node {node} needs pages (0 releases, without a node)"
        if pages == 0:
            self.release(heap, d)
            return 0, "released"
        if d.outstanding_pages:
            return -errno.EINVAL, f"d{d.domid} already has a claim (one per domain)"
        tot = d.domain_tot_pages()
        if pages <= tot or pages > d.max_pages:
            return -errno.EINVAL, (
                f"target {pages} must be above tot_pages {tot} and at most max_pages {d.max_pages}"
            )
        claim = pages - tot
        # both differences are unsigned long: past free memory they wrap, and fit
        unclaimed = (heap.total_avail_pages - heap.outstanding_claims) & ULONG_MAX
        if claim > unclaimed:
            return -errno.ENOMEM, f"{claim} pages > {unclaimed} unclaimed on the host"
        if node != NUMA_NO_NODE:
            on_node = (heap.node_avail_pages[node] - heap.claimed_pages[node]) & ULONG_MAX
            if claim > on_node:
                return -errno.ENOMEM, f"{claim} pages > {on_node} unclaimed on node {node}"
            d.claim_node = node
            d.claims[node] += claim  # per_node_outstanding_claims[node] += claim
            d.node_claims += claim
            heap.claimed_pages[node] += claim
        d.outstanding_pages = claim
        heap.outstanding_claims += claim
        where = "host-wide" if node == NUMA_NO_NODE else f"on node {node}"
        return 0, f"installed {claim} pages {where}"

    def release(self, heap: HeapCore, d: Domain) -> int:
        """0005's release (``pages == 0``), which ``domain_kill`` runs too: the whole claim
        leaves ``outstanding_claims``, and, if ``claim_node`` is set,
        ``per_node_outstanding_claims[claim_node]`` too, whatever kind of claim it is.
        With a stale claim node under a host-wide claim that spends another domain's
        node claim, or wraps the unsigned counter; the kit's per-domain mirror
        (``d.claims``) drops only what the domain had there."""
        out = d.outstanding_pages
        heap.outstanding_claims -= out
        if d.claim_node != NUMA_NO_NODE:
            n = d.claim_node
            heap.claimed_pages[n] = (heap.claimed_pages[n] - out) & ULONG_MAX
        d.claims = [0] * len(d.claims)
        d.node_claims = 0
        d.outstanding_pages = 0
        d.claim_node = NUMA_NO_NODE
        return out

    def domain_kill_claims(self, heap: HeapCore, d: Domain) -> int:
        """``domain_kill``: ``domain_set_outstanding_pages(d, NUMA_NO_NODE, 0)``, the
        release above."""
        return self.release(heap, d)

    # ------------------------------------------------------------ protection
    def node_gate(
        self, heap: HeapCore, node: int, order: int, memflags: int, d: Domain | None
    ) -> bool:
        """0005's check at the top of ``get_free_buddy``'s per-node loop, for every
        allocation: the node's unclaimed pages, plus the domain's whole claim if this
        is its claim node and the request is refcounted, must hold the request.
        ``BUG_ON`` if the node's claims exceed its free pages (offlining can do that).
        """
        claimed, free = heap.claimed_pages[node], heap.node_avail_pages[node]
        if claimed > free:
            raise XenBugError(
                f"BUG_ON(per_node_outstanding_claims[{node}] {claimed} > "
                f"per_node_avail_pages[{node}] {free}) in get_free_buddy: Xen would BUG() here"
            )
        avail = free - claimed
        if d is not None and d.claim_node == node and refcounted(d, memflags):
            avail += d.outstanding_pages
        return avail >= 1 << order

    # ------------------------------------------------------------ redemption
    def redeem(
        self, heap: HeapCore, d: Domain | None, node: int, request: int, memflags: int
    ) -> dict[str, int]:
        """0005's redemption in ``alloc_heap_pages``: only when the pages came from the
        claim node, or the claim is host-wide; ``min(claim, request)`` off the claim,
        and off ``per_node_outstanding_claims[claim node]`` for a node claim (``BUG_ON``
        if that counter holds less).  Pages from another node redeem nothing.

        The patch's "Reset claim node if depleted" runs before the claim is reduced,
        under a test that the claim is not zero, so it never fires: ``claim_node``
        stays set after the claim is used up (``docs/versions.md#xenserver-stale-claim-node``).
        """
        if d is None or not d.outstanding_pages or memflags & MEMF_no_refcount:
            return {}
        if d.claim_node not in (NUMA_NO_NODE, node):
            return {}
        got = min(d.outstanding_pages, request)
        if d.claim_node != NUMA_NO_NODE:
            if got > heap.claimed_pages[node]:
                raise XenBugError(
                    f"BUG_ON(outstanding {got} > per_node_outstanding_claims[{node}] "
                    f"{heap.claimed_pages[node]}) in alloc_heap_pages: Xen would BUG() here"
                )
            heap.claimed_pages[node] -= got
            own = min(got, d.claims[node])  # the domain's own node claim, where it has one
            d.claims[node] -= own
            d.node_claims -= own
            # the dead "if ( !d->outstanding_pages ) d->claim_node = NUMA_NO_NODE;"
        heap.outstanding_claims -= got
        d.outstanding_pages -= got
        return {"host" if d.claim_node == NUMA_NO_NODE else f"node{node}": got}

    # ------------------------------------------------------------ statistics
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
        """``XEN_DOMCTL_numa_op`` (``numa_domctl``, ``tools-xc_domain_numa_get_node_pages
        .patch``); *word* is ``op``, *nr* ``nr_nodes``, *buf* the ``node_tot_pages``
        handle.  Any other command is ``-ENOSYS``.

        ``op`` other than ``GET_NODE_PAGES`` is ``-EOPNOTSUPP``; ``nr_nodes`` 0 is the
        size query (``nr_nodes`` out = last online node + 1); fewer than that is
        ``-ERANGE``; a buffer that cannot take them is ``-EFAULT`` with ``nr_nodes``
        0; else the domain's pages per node, and ``nr_nodes`` out.
        """
        if cmd != XEN_DOMCTL_numa_op:
            return None
        if word != XEN_DOMCTL_NUMA_OP_GET_NODE_PAGES:
            return -errno.EOPNOTSUPP, nr, f"numa_op {word} is not GET_NODE_PAGES"
        online = last_online_node(heap) + 1
        if nr == 0:
            return 0, online, f"size query: {online} nodes"
        if online > nr:
            return -errno.ERANGE, nr, f"{online} nodes online, the buffer has {nr}"
        pages = node_tot_pages(heap, d)[:online]
        try:
            if buf is None or len(buf) < online:
                raise TypeError
            for i, p in enumerate(pages):
                buf[i] = p
        except (TypeError, OverflowError):
            return -errno.EFAULT, 0, "cannot write node_tot_pages to the buffer"
        return 0, online, f"node_tot_pages {pages}"

    def sysctl(
        self, heap: HeapCore, cmd: int, nr: int, buf: Any, word: int
    ) -> tuple[int, int, str] | None:
        """``XEN_SYSCTL_numa_meminfo`` (``tools-xc_numa_meminfo.patch``); *nr* is
        ``num_nodes``, *buf* the ``meminfo`` handle, *word* ``_rsvd``.

        ``_rsvd`` not 0 is ``-EINVAL``; a NULL handle asks for the count (last online
        node + 1); else the first ``min(count, num_nodes)`` nodes: online ones
        ``size``, ``free`` (raw free, claimed pages included) and ``claimed`` (the
        node's single-node claims; host-wide claims are on no node), in bytes;
        offline ones all ``~0``.  A failed copy is ``-EFAULT``.
        """
        if cmd != XEN_SYSCTL_numa_meminfo:
            return None
        if word:
            return -errno.EINVAL, nr, f"_rsvd {word} must be 0"
        count = last_online_node(heap) + 1
        if buf is None:
            return 0, count, f"{count} nodes"
        count = min(count, nr)
        rows = []
        for i in range(count):
            if node_online(heap, i) and i < heap.nr_nodes:
                free, claimed = avail_node_heap_pages(heap, i)
                size = node_present_pages(heap, i)
                rows.append((size << PAGE_SHIFT, free << PAGE_SHIFT, claimed << PAGE_SHIFT))
            else:
                rows.append((U64_MAX, U64_MAX, U64_MAX))
        for i, (size, free, claimed) in enumerate(rows):  # copy_to_guest_offset, row by row
            try:
                if i >= len(buf):
                    raise IndexError
                buf[i] = xen_sysctl_node_meminfo_t(size, free, claimed)
            except (TypeError, OverflowError, IndexError):
                return -errno.EFAULT, nr, f"cannot write meminfo row {i} to the buffer"
        return 0, count, f"{count} nodes"


register(XenServer)
