"""v6 of the series (14 April 2026): claim sets without GET, and the shortfall gate.

What v6 does differently from v7 (``claims.series.v7``), from the v6 patches
(``docs/versions.md#v6``):

* the host-wide gate of ``alloc_heap_pages`` lets free unclaimed pages cover
  a claim's shortfall (``claims_permit_request``, "Allow free pages to cover
  a claims shortfall"); v7 went back to master's strict gate;
* ``XEN_DOMCTL_claim_memory`` installs claim sets but has no GET: v6's
  argument had a pad word where v7 has ``mode``, and the kit answers any mode
  but SET with ``-EOPNOTSUPP``;
* no claim recall after offlining ("no offline handling in code").

Not in the public record, and therefore chosen here and said here only:
v6's redemption order is modelled as v7's, and v6's entry layout
``{pages, target, pad}`` as v7's ``{pages, target, cmd}``.
"""

from __future__ import annotations

from ..hypervisor.page_alloc import HeapCore, register
from ..hypervisor.sched import Domain
from .master import refcounted
from .v7 import V7


class V6(V7):
    """The v6 series: v7's claim sets and redemption, the shortfall gate, no GET, no recall."""

    name = "v6"
    claims_within_free = False
    get_mode = False

    def host_gate(self, heap: HeapCore, d: Domain | None, request: int, memflags: int) -> bool:
        """``claims_permit_request``: free unclaimed pages may cover a shortfall.

        ``docs/claims.md#shortfall-gate``.
        """
        unclaimed = heap.total_avail_pages - heap.outstanding_claims
        own = d.outstanding_pages if d is not None and refcounted(d, memflags) else 0
        return request <= unclaimed + own

    def after_offline(self, heap: HeapCore, node: int, domains: list[Domain]) -> dict[str, int]:
        """v6 does not repair claims after offlining."""
        return {}


register(V6)
