"""Rule sets: where ``master``, ``v6`` and ``v7`` differ (spec ``README.md``).

A rule set is chosen when a host is created; it changes rules, never the heap.
The heap calls three hooks at the places Xen has them:

* ``host_gate`` in ``alloc_heap_pages`` before the search (CV §4.1),
* ``node_gate`` in ``get_free_buddy`` at the top of each node (CV §4.2),
* ``redeem`` in ``alloc_heap_pages`` before the free counters drop (CV §5),

and ``after_offline`` at the end of ``reserve_offlined_page`` (CV §7).

Both gates are monotone in the free counters: with claims unchanged, more
free memory never turns a pass into a refusal.  The bulk populate path relies
on it (``bulk._gates_pass_throughout``) and ``tests/test_claims_rules.py``
checks it for every rule set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .claim_accounting import (
    domain_recall_node_claims,
    domain_release_host_claims,
    domain_release_node_claims,
)
from .constants import MEMF_no_refcount

if TYPE_CHECKING:
    from .domain import Domain
    from .page_alloc import HeapCore as Heap


def refcounted(d: Domain | None, memflags: int) -> bool:
    """A request may use claims iff it is for a domain and lacks ``MEMF_no_refcount`` (CV §4)."""
    return d is not None and not memflags & MEMF_no_refcount


class RuleSet:
    """The strict upstream rules (``master``): legacy host-wide claims only."""

    name = "master"
    claim_sets = False  # XEN_DOMCTL_claim_memory exists
    claim_get = False  # ... with a GET mode

    def host_gate(self, heap: Heap, d: Domain | None, request: int, memflags: int) -> bool:
        """The strict host-wide gate of ``alloc_heap_pages`` (PA §2.3 step 2, CV §4.1)."""
        if heap.outstanding_claims + request <= heap.total_avail_pages:
            return True
        return refcounted(d, memflags) and d is not None and d.outstanding_pages >= request

    def node_gate(self, heap: Heap, node: int, order: int, memflags: int, d: Domain | None) -> bool:
        """``master`` has no per-node gate."""
        return True

    def redeem(
        self, heap: Heap, d: Domain | None, node: int, request: int, memflags: int
    ) -> dict[str, int]:
        """``min(outstanding, request)`` off the domain's claim (PA §2.3 step 7)."""
        if d is None or not d.outstanding_pages or memflags & MEMF_no_refcount:
            return {}
        got = domain_release_host_claims(heap, d, min(d.outstanding_pages, request))
        return {"host": got} if got else {}

    def after_offline(self, heap: Heap, node: int, domains: list[Domain]) -> dict[str, int]:
        """``master`` does not repair claims after offlining (PA §5.3)."""
        return {}

    def __repr__(self) -> str:
        return f"<rules {self.name}>"


class V7Rules(RuleSet):
    """The v7 series as posted (8 May 2026), the kit's default."""

    name = "v7"
    claim_sets = True
    claim_get = True

    def node_gate(self, heap: Heap, node: int, order: int, memflags: int, d: Domain | None) -> bool:
        """Unclaimed node memory plus the domain's own node claim must fit (CV §4.2)."""
        allowance = heap.node_avail_pages[node] - heap.claimed_pages[node]
        if allowance >= 1 << order:
            return True  # unclaimed memory alone is enough
        if d is not None and refcounted(d, memflags) and node < len(d.claims):
            allowance += d.claims[node]
        return allowance >= 1 << order

    def redeem(
        self, heap: Heap, d: Domain | None, node: int, request: int, memflags: int
    ) -> dict[str, int]:
        """Same node, then host-wide, then other nodes in ascending id (CV §5)."""
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

    def after_offline(self, heap: Heap, node: int, domains: list[Domain]) -> dict[str, int]:
        """Recall node claims, then host-wide claims, in domain-list order (CV §7)."""
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


class V6Rules(V7Rules):
    """The v6 series (14 Apr 2026): claim sets without GET, the shortfall gate.

    V6_UNKNOWN: the v6 patches' redemption order and offline handling are not
    in the spec; this rule set uses v7's redemption and, like v6's code (CV
    §11: "No offline handling in code"), no offline recall.  This is the one
    place that says so.
    """

    name = "v6"
    claim_get = False

    def host_gate(self, heap: Heap, d: Domain | None, request: int, memflags: int) -> bool:
        """``claims_permit_request``: free unclaimed pages may cover a shortfall (CV §4.1)."""
        unclaimed = heap.total_avail_pages - heap.outstanding_claims
        own = d.outstanding_pages if d is not None and refcounted(d, memflags) else 0
        return request <= unclaimed + own

    def after_offline(self, heap: Heap, node: int, domains: list[Domain]) -> dict[str, int]:
        return {}


RULE_SETS: dict[str, type[RuleSet]] = {"master": RuleSet, "v6": V6Rules, "v7": V7Rules}


def rules_for(semantics: object) -> RuleSet:
    """The rule set named *semantics* (``master``, ``v6`` or ``v7``)."""
    if not isinstance(semantics, str) or semantics not in RULE_SETS:
        raise ValueError(f"semantics must be one of {sorted(RULE_SETS)}, not {semantics!r}")
    return RULE_SETS[semantics]()


__all__: list[Any] = ["RuleSet", "V6Rules", "V7Rules", "RULE_SETS", "rules_for", "refcounted"]
