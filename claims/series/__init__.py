"""The versions of the claims series, one module each: what each version decides.

| module | version | what it changes |
|---|---|---|
| ``master`` | Xen master, August 2026 | legacy ``XENMEM_claim_pages`` only; strict host-wide gate |
| ``v6`` | v6, 14 April 2026 | claim sets without GET; the shortfall gate; no recall |
| ``v7`` | v7, 8 May 2026 (default) | claim sets, GET; node gate; three-step redemption; recall |
| ``v8`` | v8, prepared Oct 2026 | set/get domctls; no replacement; paused domain; no recall |
| ``xenserver`` | XenServer, Xen 4.21.1 | one claim, host-wide or on one node; redeemed on it only |

Each module defines a ``RuleSet`` subclass (``claims.hypervisor.page_alloc``)
that overrides what its version changes, and registers it by name:
``claims.Xen(nodes, semantics="v6")`` runs the heap under v6's rules.  A new
version is a new module here (and its tests); the differences are compared in
``docs/versions.md``.
"""

from __future__ import annotations

from ..hypervisor.page_alloc import RULE_SETS, RuleSet
from . import master, v6, v7, v8, xenserver

__all__ = ["RULE_SETS", "RuleSet", "master", "names", "v6", "v7", "v8", "xenserver"]


def names() -> list[str]:
    """The versions a host can run, sorted by name."""
    return sorted(RULE_SETS)
