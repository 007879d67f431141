"""page_alloc.c's claim calls, as the hypervisor face offers them.

``domain_set_outstanding_pages`` is master's legacy claim;
``domain_set_claim_entries`` and ``domain_get_claim_entries`` are the claim-set
functions of the v6/v7 patches.  Each checks its arguments (a bad one raises
and changes nothing), lets the host's version of the series decide
(``RuleSet`` in ``claims/series/``: the check order, the errno, what is
installed) and records the event.  The hypercalls that reach them are
``claims.hypervisor.domctl`` (``XEN_DOMCTL_claim_memory``) and
``claims.hypervisor.memory`` (``XENMEM_claim_pages``).  The rules:
``docs/claims.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .constants import NUMA_NO_NODE
from .domain import check_domain
from .domctl import claim_event, domain_claims, entries_of
from .page_alloc import HeapCore
from .public import ClaimEntry, entry_words
from .sched import Domain
from .validate import check_int


def domain_set_claim_entries(xen: HeapCore, d: Domain, entries: Sequence[ClaimEntry]) -> int:
    """Install the claim set of *d* (v6, v7: replacing the old one); 0 or a negative errno.

    All-or-nothing: a refused set leaves every counter as it was.  Entries of
    either version's type are accepted (one layout).
    ``docs/claims.md#set-phases``.
    """
    check_domain(xen, d)
    ents = entries_of(entries, xen.rules.entry_type())
    rc, reason = xen.rules.domain_set_claim_entries(xen, d, ents)
    claim_event(
        xen,
        "domain_set_claim_entries",
        {"d": d.domid, "entries": [entry_words(e) for e in ents]},
        rc,
        reason=reason,
        claims=domain_claims(d),
    )
    return rc


def domain_get_claim_entries(
    xen: HeapCore, d: Domain, max_entries: int
) -> tuple[int, int, list[ClaimEntry] | None]:
    """GET: ``(rc, needed, entries)`` in the shape the host's version has.

    v7: the host-wide entry first (even at 0), ``-ERANGE`` with the needed
    count when *max_entries* is too small; v8: the host-wide entry only when
    nonzero, ``-ENOBUFS``.  ``max_entries=0`` is the size query.
    ``docs/claims.md#get``.
    """
    check_domain(xen, d)
    check_int("max_entries", max_entries, 0)
    return xen.rules.domain_get_claim_entries(xen, d, max_entries)


def domain_set_outstanding_pages(
    xen: HeapCore, d: Domain, pages: int, node: int = NUMA_NO_NODE
) -> int:
    """Master's legacy claim: an absolute target, one claim per domain.

    Under ``v6``/``v7`` this is ``domain_set_claim_entries`` with one LEGACY
    entry, which is what ``XENMEM_claim_pages`` calls there.  *node* is
    XenServer's argument (``domain_set_outstanding_pages(d, node, pages)``): the
    claim's one node, or ``NUMA_NO_NODE`` for a host-wide claim; every other
    version has no node argument and refuses one.
    ``docs/claims.md#legacy-claims``.
    """
    check_domain(xen, d)
    check_int("pages", pages, 0, (1 << 64) - 1)
    check_int("node", node, 0, NUMA_NO_NODE)
    if node != NUMA_NO_NODE and not xen.rules.claim_node_field:
        raise ValueError(
            f"the {xen.rules.name} rule set's domain_set_outstanding_pages has no node "
            "argument (XenServer's single-node claims are semantics='xenserver')"
        )
    rc, reason = xen.rules.domain_set_outstanding_pages(xen, d, pages, node)
    args: dict[str, Any] = {"d": d.domid, "pages": pages}
    if node != NUMA_NO_NODE:
        args["node"] = node
    claim_event(
        xen,
        "domain_set_outstanding_pages",
        args,
        rc,
        reason=reason,
        claims=domain_claims(d),
    )
    return rc
