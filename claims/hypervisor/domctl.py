"""``xen/common/domctl.c``: the claims domctls, dispatched by number.

``do_domctl`` looks the domain up (``-ESRCH``) and asks XSM (``-EPERM`` for
an unprivileged caller) before the command's own handler runs; a command the
host's version does not have answers ``-ENOSYS``.  What a command then
checks, and in which order, is the version's (``RuleSet.claims_domctl`` in
``claims/series/``; ``docs/claims.md#domctl-dispatch``).  The faces are the
commands as a toolstack issues them: v7's ``XEN_DOMCTL_claim_memory`` (91,
with a mode) and v8's ``XEN_DOMCTL_set_memory_claims`` (91) and
``XEN_DOMCTL_get_memory_claims`` (92); each reaches whatever the host's
version does with that number.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import MutableSequence, Sequence
from typing import Any, TypeVar, overload

from .errors import errname
from .page_alloc import HeapCore
from .public import (
    CLAIM_ENTRY_TYPES,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    ClaimEntry,
    XEN_DOMCTL_claim_memory,
    XEN_DOMCTL_get_memory_claims,
    XEN_DOMCTL_numa_op,
    XEN_DOMCTL_set_memory_claims,
    entry_words,
    target_name,
    xen_domctl_memory_claim_t,
    xen_memory_claim_t,
)
from .sched import DOM0, Caller, Domain
from .validate import check_int

E = TypeVar("E", xen_memory_claim_t, xen_domctl_memory_claim_t)

__all__ = [
    "DOM0",
    "Caller",
    "caller_key",
    "check_caller",
    "do_domctl",
    "do_domctl_claim_memory",
    "do_domctl_get_memory_claims",
    "do_domctl_set_memory_claims",
]


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
    entries: MutableSequence[ClaimEntry] | Any | None,
) -> tuple[int, int]:
    """``XEN_DOMCTL_claim_memory`` (v6, v7: domctl 91 with a ``mode``): ``(rc, nr_entries)``.

    SET reads ``nr_entries`` entries from *entries* (``None`` is a NULL
    handle); GET writes into *entries* in place and returns the needed or
    written count, also on ``-ERANGE``.  On a v8 host domctl 91 is
    ``XEN_DOMCTL_set_memory_claims`` and reads ``mode`` as its ``pad``: a v7
    toolstack's SET arrives as a v8 SET, its GET as a SET with ``pad`` 1.
    ``docs/claims.md#domctl-dispatch``.
    """
    check_caller(xen, caller)
    check_int("mode", mode, 0, (1 << 32) - 1)
    check_int("nr_entries", nr_entries, 0, (1 << 32) - 1)
    args = _domctl_args(caller, d, mode=mode, nr_entries=nr_entries)
    if mode == XEN_DOMCTL_CLAIM_MEMORY_SET:
        args["entries"] = _entries_arg(entries, nr_entries)
    rc, nr, reason = do_domctl(
        xen, caller, XEN_DOMCTL_claim_memory, "claim_memory", d, nr_entries, entries, mode
    )
    info = _domctl_info(xen, d, nr_entries_out=nr, reason=reason)
    if mode == XEN_DOMCTL_CLAIM_MEMORY_SET and rc in (0,) and entries is not None:
        info["entries"] = [(target_name(e.target), e.pages) for e in list(entries)[:nr_entries]]
    claim_event(xen, "do_domctl_claim_memory", args, rc, **info)
    return rc, nr


def do_domctl_set_memory_claims(
    xen: HeapCore,
    caller: Caller | Domain,
    d: Domain | int,
    nr_entries: int,
    claims: MutableSequence[ClaimEntry] | Any | None,
    pad: int = 0,
) -> int:
    """``XEN_DOMCTL_set_memory_claims`` (v8, domctl 91): 0 or a negative errno.

    Reads ``nr_entries`` entries from *claims* (``None`` is a NULL handle);
    ``nr_entries`` 0 releases every claim.  *pad* is the argument's reserved
    word (``struct xen_domctl_memory_claims``).  On a v7 host domctl 91 is
    ``XEN_DOMCTL_claim_memory``, which reads *pad* as its ``mode``.
    ``docs/versions.md#v8``.
    """
    check_caller(xen, caller)
    check_int("nr_entries", nr_entries, 0, (1 << 32) - 1)
    check_int("pad", pad, 0, (1 << 32) - 1)
    args = _domctl_args(caller, d, nr_entries=nr_entries, pad=pad)
    args["entries"] = _entries_arg(claims, nr_entries)
    rc, _nr, reason = do_domctl(
        xen, caller, XEN_DOMCTL_set_memory_claims, "set_memory_claims", d, nr_entries, claims, pad
    )
    claim_event(xen, "do_domctl_set_memory_claims", args, rc, **_domctl_info(xen, d, reason=reason))
    return rc


def do_domctl_get_memory_claims(
    xen: HeapCore,
    caller: Caller | Domain,
    d: Domain | int,
    nr_entries: int,
    claims: MutableSequence[ClaimEntry] | Any | None,
    pad: int = 0,
) -> tuple[int, int]:
    """``XEN_DOMCTL_get_memory_claims`` (v8, domctl 92): ``(rc, nr_entries)`` after copy-back.

    *nr_entries* is the capacity of *claims* (``None`` with 0 is the size
    query); the count comes back on success and with ``-ENOBUFS``, and the
    entries are written into *claims* in place.  ``docs/versions.md#v8``.
    """
    check_caller(xen, caller)
    check_int("nr_entries", nr_entries, 0, (1 << 32) - 1)
    check_int("pad", pad, 0, (1 << 32) - 1)
    args = _domctl_args(caller, d, nr_entries=nr_entries, pad=pad)
    rc, nr, reason = do_domctl(
        xen, caller, XEN_DOMCTL_get_memory_claims, "get_memory_claims", d, nr_entries, claims, pad
    )
    info = _domctl_info(xen, d, nr_entries_out=nr, reason=reason)
    claim_event(xen, "do_domctl_get_memory_claims", args, rc, **info)
    return rc, nr


def do_domctl_numa_op(
    xen: HeapCore,
    caller: Caller | Domain,
    d: Domain | int,
    op: int,
    nr_nodes: int,
    node_tot_pages: MutableSequence[int] | Any | None,
) -> tuple[int, int]:
    """``XEN_DOMCTL_numa_op`` (XenServer, domctl 1101): ``(rc, nr_nodes)`` after copy-back.

    ``op`` 0 is ``XEN_DOMCTL_NUMA_OP_GET_NODE_PAGES``: the domain's pages on each
    node, written into *node_tot_pages* (``uint64_t`` per node); *nr_nodes* 0 is the
    size query.  Read-only statistics.  ``docs/versions.md#xenserver``.
    """
    check_caller(xen, caller)
    check_int("op", op, 0, (1 << 32) - 1)
    check_int("nr_nodes", nr_nodes, 0, (1 << 32) - 1)
    args = _domctl_args(caller, d, op=op, nr_nodes=nr_nodes)
    rc, nr, reason = do_domctl(
        xen, caller, XEN_DOMCTL_numa_op, "numa_op", d, nr_nodes, node_tot_pages, op
    )
    info = _domctl_info(xen, d, nr_nodes_out=nr, reason=reason)
    claim_event(xen, "do_domctl_numa_op", args, rc, **info)
    return rc, nr


def _domctl_args(caller: Caller | Domain, d: Domain | int, **fields: int) -> dict[str, Any]:
    """A claims domctl's arguments as its event records them: the caller, the domain, the
    argument's fields in the struct's order."""
    return {"caller": caller_key(caller), "d": d.domid if isinstance(d, Domain) else d, **fields}


def _domctl_info(xen: HeapCore, d: Domain | int, **info: Any) -> dict[str, Any]:
    """What a claims domctl's event reports besides its arguments, and the domain's claims."""
    dom = lookup(xen, d)
    if dom is not None:
        info["claims"] = domain_claims(dom)
    return info


def _entries_arg(buf: Any, nr: int) -> list[tuple[int, int, int]] | None:
    """The entries a SET names, as the event records them (``None``: unreadable)."""
    got = read_guest(buf, nr) if nr <= 65536 else None
    return None if got is None else [entry_words(e) for e in got]


def do_domctl(
    xen: HeapCore,
    caller: Caller | Domain,
    cmd: int,
    name: str,
    d: Domain | int,
    nr: int,
    buf: Any,
    word: int,
) -> tuple[int, int, str]:
    """``do_domctl`` for the claims domctls: ``(rc, nr_entries copied back, reason)``.

    The domain (``-ESRCH``), XSM (``-EPERM``), then the host's version's
    handler of *cmd*; a command the version does not have is ``-ENOSYS``
    (``arch_do_domctl``'s default).  *word* is the argument's third word:
    v7's ``mode``, v8's ``pad``.
    """
    dom = lookup(xen, d)
    if dom is None:
        return -errno.ESRCH, nr, f"no domain {d}"
    if not caller.privileged:  # xsm_claim_pages(XSM_PRIV, d), v8: xsm_domctl's default
        return -errno.EPERM, nr, f"caller d{caller.domid} is not privileged"
    handled = xen.rules.claims_domctl(xen, caller, cmd, dom, nr, buf, word)
    if handled is None:
        return -errno.ENOSYS, nr, f"the {xen.rules.name} rule set has no {name} domctl"
    return handled


def entries_of(entries: Sequence[ClaimEntry], entry_type: type[E]) -> list[E]:
    """The caller's claim entries, copied as *entry_type*; ``TypeError`` for anything else.

    Entries of either version are accepted: they have one layout.
    """
    if isinstance(entries, (str, bytes)) or not isinstance(entries, (Sequence, ctypes.Array)):
        raise TypeError(
            f"entries must be a sequence of {entry_type.__name__}, not {type(entries).__name__}"
        )
    out = []
    for i, e in enumerate(entries):
        if not isinstance(e, CLAIM_ENTRY_TYPES):
            raise TypeError(f"entry {i} must be a {entry_type.__name__}, not {type(e).__name__}")
        out.append(entry_type.from_buffer_copy(bytes(e)))
    return out


@overload
def read_guest(buf: Any, nr: int) -> list[xen_memory_claim_t] | None: ...
@overload
def read_guest(buf: Any, nr: int, entry_type: type[E]) -> list[E] | None: ...
def read_guest(buf: Any, nr: int, entry_type: type[Any] = xen_memory_claim_t) -> list[Any] | None:
    """``copy_from_guest``: *nr* entries, or ``None`` where the copy would fault."""
    if buf is None:
        return None
    try:
        if len(buf) < nr:
            return None
        return entries_of([buf[i] for i in range(nr)], entry_type)
    except TypeError:
        return None


def write_guest(buf: Any, entries: Sequence[ClaimEntry]) -> bool:
    """``copy_to_guest``: False where the copy would fault.

    The bytes land in the caller's buffer as the caller's entry type.
    """
    if buf is None:
        return False
    try:
        if len(buf) < len(entries):
            return False
        for i, e in enumerate(entries):
            old = buf[i]
            if isinstance(old, CLAIM_ENTRY_TYPES) and type(old) is not type(e):
                e = type(old).from_buffer_copy(bytes(e))
            buf[i] = e
    except TypeError:
        return False
    return True
