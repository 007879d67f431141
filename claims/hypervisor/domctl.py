"""``xen/common/domctl.c``: the caller of a hypercall, and the claims domctl's dispatch.

``do_domctl`` looks the domain up (``-ESRCH``) and asks XSM (``-EPERM`` for
an unprivileged caller) before the command's own handler runs; a command the
hypervisor does not know answers ``-ENOSYS``.  What ``XEN_DOMCTL_claim_memory``
then checks, and in which order, is the version's (``RuleSet.claim_memory``
in ``claims/series/``; ``docs/claims.md#domctl-dispatch``).
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import MutableSequence, Sequence
from typing import Any

from .errors import errname
from .page_alloc import HeapCore
from .public import XEN_DOMCTL_CLAIM_MEMORY_SET, target_name, xen_memory_claim_t
from .sched import DOM0, Caller, Domain

__all__ = ["DOM0", "Caller", "caller_key", "check_caller", "do_domctl_claim_memory"]
from .validate import check_int


def caller_key(caller: Caller | Domain) -> tuple[int, bool]:
    """How an event records who called: ``(domid, privileged)``."""
    return (caller.domid, caller.privileged)


def check_caller(xen: HeapCore, caller: Caller | Domain) -> None:
    """A caller is a ``Caller`` or a live ``Domain`` of this host."""
    if not isinstance(caller, (Caller, Domain)):
        raise TypeError(f"caller must be a Caller or Domain, not {type(caller).__name__}")
    if isinstance(caller, Domain) and xen.domains.get(caller.domid) is not caller:
        raise ValueError(f"caller d{caller.domid} is not a live domain of this host")


def lookup(xen: HeapCore, d: Domain | int) -> Domain | None:
    """``rcu_lock_domain_by_id``: the domain a domctl names (a dying one too), or ``None``."""
    if isinstance(d, Domain):
        return d if (xen.domains.get(d.domid) is d or d.is_dying) else None
    if isinstance(d, bool) or not isinstance(d, int):
        raise TypeError(f"d must be a Domain or a domid, not {type(d).__name__}")
    return xen.domains.get(d)


def domain_claims(d: Domain) -> dict[str, int]:
    """A domain's claims as events record them: ``host`` and each node with a claim."""
    out = {"host": d.outstanding_pages - d.node_claims}
    out.update({f"node{n}": c for n, c in enumerate(d.claims) if c})
    return out


def claim_event(xen: HeapCore, op: str, args: dict[str, Any], rc: int, **info: Any) -> None:
    """Record a claims call: its arguments, the return code and errno, the reason, the counters."""
    xen.events.record(op, args, rc, errno=errname(rc), **info, **xen._counters())


def do_domctl_claim_memory(
    xen: HeapCore,
    caller: Caller | Domain,
    d: Domain | int,
    mode: int,
    nr_entries: int,
    entries: MutableSequence[xen_memory_claim_t] | Any | None,
) -> tuple[int, int]:
    """``XEN_DOMCTL_claim_memory``: ``(rc, nr_entries)`` after copy-back.

    SET reads ``nr_entries`` entries from *entries* (``None`` is a NULL
    handle); GET writes into *entries* in place and returns the needed or
    written count, also on ``-ERANGE``.  ``docs/claims.md#domctl-dispatch``.
    """
    check_caller(xen, caller)
    check_int("mode", mode, 0, (1 << 32) - 1)
    check_int("nr_entries", nr_entries, 0, (1 << 32) - 1)
    args: dict[str, Any] = {
        "caller": caller_key(caller),
        "d": d.domid if isinstance(d, Domain) else d,
        "mode": mode,
        "nr_entries": nr_entries,
    }
    if mode == XEN_DOMCTL_CLAIM_MEMORY_SET:
        got = read_guest(entries, nr_entries) if nr_entries <= 65536 else None
        args["entries"] = None if got is None else [(e.pages, e.target, e.cmd) for e in got]
    rc, nr, reason = _do_domctl_claim_memory(xen, caller, d, mode, nr_entries, entries)
    info: dict[str, Any] = {"nr_entries_out": nr, "reason": reason}
    dom = lookup(xen, d)
    if dom is not None:
        info["claims"] = domain_claims(dom)
    if mode == XEN_DOMCTL_CLAIM_MEMORY_SET and rc in (0,) and entries is not None:
        info["entries"] = [(target_name(e.target), e.pages) for e in list(entries)[:nr_entries]]
    claim_event(xen, "do_domctl_claim_memory", args, rc, **info)
    return rc, nr


def _do_domctl_claim_memory(
    xen: HeapCore,
    caller: Caller | Domain,
    d: Domain | int,
    mode: int,
    nr: int,
    entries: Any,
) -> tuple[int, int, str]:
    """``do_domctl``'s part: the domain, XSM; then the version's handler."""
    dom = lookup(xen, d)
    if dom is None:
        return -errno.ESRCH, nr, f"no domain {d}"
    if not caller.privileged:  # xsm_claim_pages(XSM_PRIV, d)
        return -errno.EPERM, nr, f"caller d{caller.domid} is not privileged"
    return xen.rules.claim_memory(xen, caller, dom, mode, nr, entries)


def entries_of(entries: Sequence[xen_memory_claim_t]) -> list[xen_memory_claim_t]:
    """The caller's claim entries, copied; ``TypeError`` for anything but entries."""
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


def read_guest(buf: Any, nr: int) -> list[xen_memory_claim_t] | None:
    """``copy_from_guest``: *nr* entries, or ``None`` where the copy would fault."""
    if buf is None:
        return None
    try:
        if len(buf) < nr:
            return None
        return entries_of([buf[i] for i in range(nr)])
    except TypeError:
        return None


def write_guest(buf: Any, entries: list[xen_memory_claim_t]) -> bool:
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
