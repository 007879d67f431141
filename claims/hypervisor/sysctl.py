"""``xen/common/sysctl.c``: the sysctls a version adds (XenServer's
``XEN_SYSCTL_numa_meminfo``).

``do_sysctl`` checks XSM (``xsm_sysctl(XSM_PRIV)``: ``-EPERM`` for an unprivileged
caller), then hands the command to the host's version (``RuleSet.sysctl``); a
command the version does not have is ``-ENOSYS`` (``arch_do_sysctl``'s default on
x86).  The other sysctls the toolstack reads (``physinfo``, ``numainfo``) are read
straight from the heap by ``claims.libxc``.
"""

from __future__ import annotations

import errno
from collections.abc import MutableSequence
from typing import Any

from .domctl import caller_key, check_caller, claim_event
from .page_alloc import HeapCore
from .public import XEN_SYSCTL_numa_meminfo, xen_sysctl_node_meminfo_t
from .sched import Caller, Domain
from .validate import check_int


def do_sysctl(
    xen: HeapCore, caller: Caller | Domain, cmd: int, name: str, nr: int, buf: Any, word: int
) -> tuple[int, int, str]:
    """``do_sysctl``: ``(rc, count written back, reason)``."""
    if not caller.privileged:
        return -errno.EPERM, nr, f"caller d{caller.domid} is not privileged"
    handled = xen.rules.sysctl(xen, cmd, nr, buf, word)
    if handled is None:
        return -errno.ENOSYS, nr, f"the {xen.rules.name} rule set has no {name} sysctl"
    return handled


def do_sysctl_numa_meminfo(
    xen: HeapCore,
    caller: Caller | Domain,
    num_nodes: int,
    meminfo: MutableSequence[xen_sysctl_node_meminfo_t] | Any | None,
    rsvd: int = 0,
) -> tuple[int, int]:
    """``XEN_SYSCTL_numa_meminfo`` (XenServer, sysctl 1117): ``(rc, num_nodes)`` after
    copy-back.  *meminfo* ``None`` asks for the count; else up to *num_nodes* rows of
    ``size``, ``free`` and ``claimed`` bytes are written into it in place.
    ``docs/versions.md#xenserver``."""
    check_caller(xen, caller)
    check_int("num_nodes", num_nodes, 0, (1 << 32) - 1)
    check_int("rsvd", rsvd, 0, (1 << 32) - 1)
    rc, nr, reason = do_sysctl(
        xen, caller, XEN_SYSCTL_numa_meminfo, "numa_meminfo", num_nodes, meminfo, rsvd
    )
    args = {"caller": caller_key(caller), "num_nodes": num_nodes, "rsvd": rsvd}
    claim_event(xen, "do_sysctl_numa_meminfo", args, rc, num_nodes_out=nr, reason=reason)
    return rc, nr
