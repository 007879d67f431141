"""Claims: legacy ``XENMEM_claim_pages`` and v7 claim sets (``claims-v7.md`` §1-§7).

``domain_set_claim_entries`` and ``domain_get_claim_entries`` are the v7
page_alloc.c functions; ``domain_set_outstanding_pages`` is master's legacy
path; ``do_domctl_claim_memory`` and ``do_memory_op_claim_pages`` are the
hypercall wrappers with their own argument checks, in Xen's order.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import MutableSequence, Sequence
from dataclasses import dataclass
from typing import Any

from .claim_accounting import domain_release_all_claims
from .domain import Domain
from .errors import errname
from .offline import Offlining
from .validate import check_int

XEN_DOMCTL_CLAIM_MEMORY_HOST = 0x80000000
XEN_DOMCTL_CLAIM_MEMORY_LEGACY = 0x40000000
XEN_DOMCTL_CLAIM_MEMORY_SET = 0
XEN_DOMCTL_CLAIM_MEMORY_GET = 1
XEN_DOMCTL_claim_memory = 91
XENMEM_claim_pages = 24


class xen_memory_claim_t(ctypes.Structure):
    """``struct xen_memory_claim``: ``pages`` u64 at 0, ``target`` u32 at 8, ``cmd`` u32 at 12."""

    _fields_ = [("pages", ctypes.c_uint64), ("target", ctypes.c_uint32), ("cmd", ctypes.c_uint32)]

    def __init__(self, pages: int = 0, target: int = 0, cmd: int = 0) -> None:
        check_int("pages", pages, 0, (1 << 64) - 1)
        check_int("target", target, 0, (1 << 32) - 1)
        check_int("cmd", cmd, 0, (1 << 32) - 1)
        super().__init__(pages, target, cmd)

    def __repr__(self) -> str:
        t = target_name(self.target)
        cmd = f", cmd={self.cmd}" if self.cmd else ""
        return f"xen_memory_claim_t(pages={self.pages}, target={t}{cmd})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, xen_memory_claim_t):
            return (self.pages, self.target, self.cmd) == (other.pages, other.target, other.cmd)
        return NotImplemented

    def as_tuple(self) -> tuple[int, int]:
        """``(target, pages)``, the shape tests compare GET output with."""
        return (self.target, self.pages)


def target_name(target: int) -> str:
    if target == XEN_DOMCTL_CLAIM_MEMORY_HOST:
        return "HOST"
    if target == XEN_DOMCTL_CLAIM_MEMORY_LEGACY:
        return "LEGACY"
    if target > 0xFF:
        return f"target {target:#x}"
    return f"node{target}"


@dataclass(frozen=True)
class Caller:
    """The domain issuing a hypercall; only its privilege matters to the claims code."""

    domid: int = 0
    privileged: bool = True

    def __post_init__(self) -> None:
        check_int("caller domid", self.domid, 0, 0xFFFF)  # a domid_t
        if not isinstance(self.privileged, bool):
            raise TypeError(f"caller privileged must be a bool, not {self.privileged!r}")


DOM0 = Caller(0, True)


def caller_key(caller: Caller | Domain) -> tuple[int, bool]:
    """How an event records who called: ``(domid, privileged)``."""
    return (caller.domid, caller.privileged)


class ClaimSets(Offlining):
    """Claim installation, GET and the hypercall wrappers."""

    llc_coloring_enabled: bool

    # ------------------------------------------------------------- helpers
    def _claim_event(self, op: str, args: dict[str, Any], rc: int, **info: Any) -> None:
        self.events.record(op, args, rc, errno=_errname(rc), **info, **self._counters())

    def _claims_state(self) -> tuple[Any, ...]:
        return (
            self.outstanding_claims,
            tuple(self.claimed_pages),
            tuple(
                (d.outstanding_pages, d.node_claims, tuple(d.claims)) for d in self.domains.values()
            ),
        )

    # ------------------------------------------------ domain_set_claim_entries
    def domain_set_claim_entries(self, d: Domain, entries: Sequence[xen_memory_claim_t]) -> int:
        """Install (replace) the claim set of *d*; 0 or a negative errno (CV §2.2).

        All-or-nothing: a refused set leaves every counter as it was.
        """
        self._check_domain_obj(d)
        ents = _entries(entries)
        if not self.rules.claim_sets:
            raise ValueError(
                f"the {self.rules.name} rule set has no domain_set_claim_entries: "
                "use domain_set_outstanding_pages (legacy claims only)"
            )
        rc, reason = self._set_claim_entries(d, ents)
        self._claim_event(
            "domain_set_claim_entries",
            {"d": d.domid, "entries": [(e.pages, e.target, e.cmd) for e in ents]},
            rc,
            reason=reason,
            claims=self._domain_claims(d),
        )
        return rc

    def _domain_claims(self, d: Domain) -> dict[str, int]:
        out = {"host": d.outstanding_pages - d.node_claims}
        out.update({f"node{n}": c for n, c in enumerate(d.claims) if c})
        return out

    def _set_claim_entries(
        self, d: Domain, entries: Sequence[xen_memory_claim_t]
    ) -> tuple[int, str]:
        """The installation proper: ``(rc, reason)``; the reason names the refused entry."""
        # Phase 1: each entry in array order; the first failure decides (CV §2.2)
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
            if node >= self.max_numnodes or node >= self.nr_nodes:
                return -errno.ENOENT, f"{what}: no such online node"
            if node in seen:
                return -errno.EINVAL, f"{what}: node {node} appears twice"
            seen.add(node)
            unclaimed = self.node_avail_pages[node] - self.claimed_pages[node]
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
                domain_release_all_claims(self, d)
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
            domain_release_all_claims(self, d)  # release ignores max_pages
            return 0, "released"
        if (
            host_req > d.max_pages
            or node_req > d.max_pages - host_req
            or node_req + host_req + tot > d.max_pages
        ):
            return -errno.EINVAL, (
                f"claims {host_req + node_req} + tot_pages {tot} exceed max_pages {d.max_pages}"
            )
        unclaimed = self.total_avail_pages - self.outstanding_claims
        if node_req + host_req > unclaimed + d.outstanding_pages:
            return -errno.ENOMEM, (
                f"{node_req + host_req} pages > {unclaimed} unclaimed on the host "
                f"+ {d.outstanding_pages} claimed by d{d.domid}"
            )
        # Phase 3: release the old set; phases 4-5: install the new one
        domain_release_all_claims(self, d)
        d.node_claims = node_req
        d.outstanding_pages = host_req + node_req
        self.outstanding_claims += d.outstanding_pages
        for e in entries:
            if e.target < self.nr_nodes:
                d.claims[e.target] = e.pages
                self.claimed_pages[e.target] += e.pages
        return 0, "installed"

    # ------------------------------------------------ domain_get_claim_entries
    def domain_get_claim_entries(
        self, d: Domain, max_entries: int
    ) -> tuple[int, int, list[xen_memory_claim_t] | None]:
        """GET: ``(rc, needed, entries)``; entry 0 is always host-wide (CV §2.6).

        ``-ERANGE`` with the needed count when *max_entries* is too small;
        ``max_entries=0`` is the size query.
        """
        self._check_domain_obj(d)
        check_int("max_entries", max_entries, 0)
        return self._get_claim_entries(d, max_entries)

    def _get_claim_entries(
        self, d: Domain, max_entries: int
    ) -> tuple[int, int, list[xen_memory_claim_t] | None]:
        out = [
            xen_memory_claim_t(d.outstanding_pages - d.node_claims, XEN_DOMCTL_CLAIM_MEMORY_HOST)
        ]
        out += [xen_memory_claim_t(c, n) for n, c in enumerate(d.claims) if c]
        if len(out) > max_entries:
            return -errno.ERANGE, len(out), None
        return 0, len(out), out

    # ------------------------------------------ master: domain_set_outstanding_pages
    def domain_set_outstanding_pages(self, d: Domain, pages: int) -> int:
        """Master's legacy claim: absolute target, one claim per domain (PA §3.2).

        Under ``v6``/``v7`` this is ``domain_set_claim_entries`` with one LEGACY
        entry, which is what ``XENMEM_claim_pages`` calls there.
        """
        self._check_domain_obj(d)
        check_int("pages", pages, 0, (1 << 64) - 1)
        rc, reason = self._set_outstanding_pages(d, pages)
        self._claim_event(
            "domain_set_outstanding_pages",
            {"d": d.domid, "pages": pages},
            rc,
            reason=reason,
            claims=self._domain_claims(d),
        )
        return rc

    def _set_outstanding_pages(self, d: Domain, pages: int) -> tuple[int, str]:
        if self.rules.claim_sets:
            legacy = xen_memory_claim_t(pages, XEN_DOMCTL_CLAIM_MEMORY_LEGACY)
            return self._set_claim_entries(d, [legacy])
        if pages == 0:
            domain_release_all_claims(self, d)
            return 0, "released"
        if d.outstanding_pages:
            return -errno.EINVAL, f"d{d.domid} already has a claim (one per domain)"
        tot = d.domain_tot_pages()
        if pages <= tot or pages > d.max_pages:
            return -errno.EINVAL, (
                f"target {pages} must be above tot_pages {tot} and at most max_pages {d.max_pages}"
            )
        claim = pages - tot
        if claim > self.total_avail_pages - self.outstanding_claims:
            return -errno.ENOMEM, (
                f"{claim} pages > {self.total_avail_pages - self.outstanding_claims} unclaimed"
            )
        d.outstanding_pages = claim
        self.outstanding_claims += claim
        return 0, "installed"

    # ----------------------------------------------------- hypercall wrappers
    def do_domctl_claim_memory(
        self,
        caller: Caller | Domain,
        d: Domain | int,
        mode: int,
        nr_entries: int,
        entries: MutableSequence[xen_memory_claim_t] | Any | None,
    ) -> tuple[int, int]:
        """``XEN_DOMCTL_claim_memory``: ``(rc, nr_entries)`` after copy-back (CV §2.1).

        SET reads ``nr_entries`` entries from *entries* (``None`` is a NULL
        handle); GET writes into *entries* in place and returns the needed or
        written count, also on ``-ERANGE``.
        """
        self._check_caller(caller)
        check_int("mode", mode, 0, (1 << 32) - 1)
        check_int("nr_entries", nr_entries, 0, (1 << 32) - 1)
        args: dict[str, Any] = {
            "caller": caller_key(caller),
            "d": d.domid if isinstance(d, Domain) else d,
            "mode": mode,
            "nr_entries": nr_entries,
        }
        if mode == XEN_DOMCTL_CLAIM_MEMORY_SET:
            got = _read_guest(entries, nr_entries) if nr_entries <= 65536 else None
            args["entries"] = None if got is None else [(e.pages, e.target, e.cmd) for e in got]
        rc, nr, reason = self._domctl_claim_memory(caller, d, mode, nr_entries, entries)
        info: dict[str, Any] = {"nr_entries_out": nr, "reason": reason}
        dom = self._lookup(d)
        if dom is not None:
            info["claims"] = self._domain_claims(dom)
        if mode == XEN_DOMCTL_CLAIM_MEMORY_SET and rc in (0,) and entries is not None:
            info["entries"] = [(target_name(e.target), e.pages) for e in list(entries)[:nr_entries]]
        self._claim_event("do_domctl_claim_memory", args, rc, **info)
        return rc, nr

    def _lookup(self, d: Domain | int) -> Domain | None:
        if isinstance(d, Domain):
            return d if (self.domains.get(d.domid) is d or d.is_dying) else None
        if isinstance(d, bool) or not isinstance(d, int):
            raise TypeError(f"d must be a Domain or a domid, not {type(d).__name__}")
        return self.domains.get(d)

    def _domctl_claim_memory(
        self,
        caller: Caller | Domain,
        d: Domain | int,
        mode: int,
        nr: int,
        entries: MutableSequence[xen_memory_claim_t] | Any | None,
    ) -> tuple[int, int, str]:
        dom = self._lookup(d)
        if dom is None:
            return -errno.ESRCH, nr, f"no domain {d}"
        if not caller.privileged:  # xsm_claim_pages(XSM_PRIV, d)
            return -errno.EPERM, nr, f"caller d{caller.domid} is not privileged"
        if not self.rules.claim_sets:
            # do_domctl looks the domain up and asks XSM (xsm_domctl: XSM_PRIV for
            # an unknown command) before arch_do_domctl answers -ENOSYS
            return -errno.ENOSYS, nr, f"the {self.rules.name} rule set has no claim_memory domctl"
        if self.llc_coloring_enabled:
            return -errno.EOPNOTSUPP, nr, "LLC colouring is enabled: claims are not supported"
        max_nr = self.max_numnodes + 1
        if mode == XEN_DOMCTL_CLAIM_MEMORY_SET:
            if nr == 0:
                return -errno.EINVAL, nr, "SET with nr_entries 0"
            if nr > max_nr:
                return -errno.E2BIG, nr, f"nr_entries {nr} > MAX_NUMNODES + 1 = {max_nr}"
        elif mode == XEN_DOMCTL_CLAIM_MEMORY_GET and self.rules.claim_get:
            nr = min(nr, max_nr)
        else:
            # V6_UNKNOWN (see claims.rules.V6Rules): v6 had no mode but a pad
            # word that must be 0; any other value is modelled as EOPNOTSUPP.
            return -errno.EOPNOTSUPP, nr, f"unknown mode {mode}"
        if dom.is_dying:
            return -errno.ESRCH, nr, f"d{dom.domid} is dying"
        if mode == XEN_DOMCTL_CLAIM_MEMORY_SET:
            got = _read_guest(entries, nr)
            if got is None:
                return -errno.EFAULT, nr, f"cannot read {nr} entries from the claim_set buffer"
            rc, reason = self._set_claim_entries(dom, got)
            return rc, nr, reason
        rc, needed, out = self._get_claim_entries(dom, nr)
        if rc:
            return rc, needed, f"{needed} entries needed, buffer holds {nr}"
        assert out is not None
        if not _write_guest(entries, out):
            return -errno.EFAULT, needed, f"cannot write {needed} entries to the claim_set buffer"
        return 0, needed, "ok"

    def do_memory_op_claim_pages(
        self,
        caller: Caller | Domain,
        domid: int,
        nr_extents: int,
        extent_order: int = 0,
        mem_flags: int = 0,
        extent_start: object = None,
        start_extent: int = 0,
    ) -> int:
        """``XENMEM_claim_pages`` with its own checks, in order (PA §3.4, CV §6.1)."""
        self._memop_args(caller, domid, nr_extents, extent_order, mem_flags)
        check_int("start_extent", start_extent, 0)
        rc, reason = self._memory_op_claim_pages(
            caller, domid, nr_extents, extent_order, mem_flags, extent_start, start_extent
        )
        d = self.domains.get(domid)
        info: dict[str, Any] = {"reason": reason}
        if d:
            info["claims"] = self._domain_claims(d)
        self._claim_event(
            "do_memory_op_claim_pages",
            {"caller": caller_key(caller), "domid": domid, "nr_extents": nr_extents},
            rc,
            **info,
        )
        return rc

    def _memop_args(
        self,
        caller: Caller | Domain,
        domid: int,
        nr_extents: int,
        extent_order: int,
        mem_flags: int,
    ) -> None:
        """The argument types of a ``struct xen_memory_reservation`` and its caller."""
        self._check_caller(caller)
        check_int("domid", domid, 0, 0xFFFF)
        check_int("nr_extents", nr_extents, 0, (1 << 64) - 1)
        check_int("extent_order", extent_order, 0, (1 << 32) - 1)
        check_int("mem_flags", mem_flags, 0, (1 << 32) - 1)

    def _memory_op_claim_pages(
        self,
        caller: Caller | Domain,
        domid: int,
        nr_extents: int,
        extent_order: int,
        mem_flags: int,
        extent_start: object,
        start_extent: int,
    ) -> tuple[int, str]:
        if self.llc_coloring_enabled:
            return -errno.EOPNOTSUPP, "LLC colouring is enabled: claims are not supported"
        if start_extent != 0:
            return -errno.EINVAL, "start_extent must be 0"
        if extent_start is not None or extent_order != 0 or mem_flags != 0:
            return -errno.EINVAL, "extent_start must be NULL, extent_order and mem_flags 0"
        d = self.domains.get(domid)
        if d is None:
            return -errno.EINVAL, f"no domain {domid}"
        if not caller.privileged:
            return -errno.EPERM, f"caller d{caller.domid} is not privileged"
        if d.is_dying:
            return -errno.EINVAL, f"d{domid} is dying"
        return self._set_outstanding_pages(d, nr_extents)

    def _check_domain_obj(self, d: Domain) -> None:
        if not isinstance(d, Domain):
            raise TypeError(f"d must be a Domain, not {type(d).__name__}")
        if self.domains.get(d.domid) is not d:  # a destroyed one would leak its new claims
            raise ValueError(f"domain {d.domid} is not a live domain of this host (destroyed?)")

    def _check_caller(self, caller: Caller | Domain) -> None:
        if not isinstance(caller, (Caller, Domain)):
            raise TypeError(f"caller must be a Caller or Domain, not {type(caller).__name__}")
        if isinstance(caller, Domain) and self.domains.get(caller.domid) is not caller:
            raise ValueError(f"caller d{caller.domid} is not a live domain of this host")


def _entries(entries: Sequence[xen_memory_claim_t]) -> list[xen_memory_claim_t]:
    if isinstance(entries, (str, bytes)) or not isinstance(entries, (Sequence, ctypes.Array)):
        raise TypeError(
            f"entries must be a sequence of xen_memory_claim_t, not {type(entries).__name__}"
        )
    out = []
    for i, e in enumerate(entries):
        if not isinstance(e, xen_memory_claim_t):
            raise TypeError(f"entry {i} must be a xen_memory_claim_t, not {type(e).__name__}")
        out.append(xen_memory_claim_t(e.pages, e.target, e.cmd))
    return out


def _read_guest(buf: Any, nr: int) -> list[xen_memory_claim_t] | None:
    """``copy_from_guest``: *nr* entries, or ``None`` where the copy would fault."""
    if buf is None:
        return None
    try:
        if len(buf) < nr:
            return None
        return _entries([buf[i] for i in range(nr)])
    except TypeError:
        return None


def _write_guest(buf: Any, entries: list[xen_memory_claim_t]) -> bool:
    """``copy_to_guest``: False where the copy would fault."""
    if buf is None:
        return False
    try:
        if len(buf) < len(entries):
            return False
        for i, e in enumerate(entries):
            buf[i] = e
    except TypeError:
        return False
    return True


def _errname(rc: int) -> str:
    return errname(rc)
