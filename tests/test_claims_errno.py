"""One test per row of the SET errno table (docs/claims.md#set-errno), in Xen's check order.

Every refused call leaves the whole host state (counters, free lists,
domains, claims) exactly as a snapshot taken before it.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

import pytest

import claims
from claims import (
    DOM0,
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_LEGACY,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    Caller,
    xen_memory_claim_t,
)
from claims.hypervisor.errors import errname

HOST = XEN_DOMCTL_CLAIM_MEMORY_HOST
LEGACY = XEN_DOMCTL_CLAIM_MEMORY_LEGACY
SET, GET = XEN_DOMCTL_CLAIM_MEMORY_SET, XEN_DOMCTL_CLAIM_MEMORY_GET
E = xen_memory_claim_t


def host() -> claims.Xen:
    """Two nodes of 16 pages (start 16), node 0 and node 1 fully free; d1 holds 2 pages."""
    xen = claims.hosts.native_harness(16)
    xen.init_heap_pages(16, 32)
    d1 = xen.domains[1]
    assert xen.alloc_domheap_pages(d1, 1, claims.MEMF_node(0)) == 30
    xen.domain_set_max_pages(d1, 20)
    assert xen.domain_set_claim_entries(d1, [E(3, 0)]) == 0  # an existing node claim
    return xen


def domctl(
    xen: claims.Xen, ents: list[E] | None, nr: int | None = None, mode: int = SET, **kw: Any
) -> int:
    buf = None if ents is None else (E * max(1, len(ents)))(*ents)
    caller = kw.get("caller", DOM0)
    d = kw.get("d", xen.domains.get(1, 1))
    rc, _ = xen.do_domctl_claim_memory(caller, d, mode, len(ents or []) if nr is None else nr, buf)
    return rc


def dying(xen: claims.Xen) -> claims.Domain:
    d2 = xen.domains[2]
    xen.domain_kill(d2)
    return d2


def llc(xen: claims.Xen) -> int:
    xen.llc_coloring_enabled = True
    return domctl(xen, [E(1, HOST)])


ROWS: list[tuple[str, Callable[[claims.Xen], int], int]] = [
    (
        "unprivileged caller",
        lambda x: domctl(x, [E(1, HOST)], caller=Caller(5, False)),
        errno.EPERM,
    ),
    ("unknown domain", lambda x: domctl(x, [E(1, HOST)], d=77), errno.ESRCH),
    ("LLC colouring", llc, errno.EOPNOTSUPP),
    ("bad mode", lambda x: domctl(x, [E(1, HOST)], mode=2), errno.EOPNOTSUPP),
    ("unknown selector named", lambda x: domctl(x, [E(1, 0x80000001)]), errno.ENOENT),
    ("nr_entries 0, NULL", lambda x: domctl(x, None, nr=0), errno.EINVAL),
    ("nr_entries 0, buffer", lambda x: domctl(x, [E(1, HOST)], nr=0), errno.EINVAL),
    ("nr_entries > MAX_NUMNODES+1", lambda x: domctl(x, [E(1, 0)] * 66), errno.E2BIG),
    ("NULL buffer, nr 1", lambda x: domctl(x, None, nr=1), errno.EFAULT),
    ("short buffer", lambda x: domctl(x, [E(1, HOST)], nr=2), errno.EFAULT),
    ("cmd != 0", lambda x: domctl(x, [E(1, 0, cmd=1)]), errno.EINVAL),
    ("duplicate node", lambda x: domctl(x, [E(1, 0), E(1, 0)]), errno.EINVAL),
    ("two HOST entries", lambda x: domctl(x, [E(1, HOST), E(1, HOST)]), errno.EINVAL),
    ("HOST and LEGACY", lambda x: domctl(x, [E(1, HOST), E(9, LEGACY)]), errno.EINVAL),
    ("LEGACY with node pages", lambda x: domctl(x, [E(9, LEGACY), E(1, 1)]), errno.EINVAL),
    ("LEGACY target <= tot_pages", lambda x: domctl(x, [E(2, LEGACY)]), errno.EINVAL),
    ("LEGACY while claims exist", lambda x: domctl(x, [E(9, LEGACY)]), errno.EINVAL),
    ("max_pages: host > max", lambda x: domctl(x, [E(21, HOST)]), errno.EINVAL),
    ("max_pages: node > max - host", lambda x: domctl(x, [E(10, HOST), E(11, 1)]), errno.EINVAL),
    ("max_pages: with tot_pages", lambda x: domctl(x, [E(10, HOST), E(9, 1)]), errno.EINVAL),
    ("node >= MAX_NUMNODES", lambda x: domctl(x, [E(1, 64)]), errno.ENOENT),
    ("node 256", lambda x: domctl(x, [E(1, 256)]), errno.ENOENT),
    ("offline node", lambda x: domctl(x, [E(1, 2)]), errno.ENOENT),
    ("unknown selector 0x80000001", lambda x: domctl(x, [E(1, 0x80000001)]), errno.ENOENT),
    ("offline node with 0 pages", lambda x: domctl(x, [E(0, 5)]), errno.ENOENT),
    ("node > unclaimed + own", lambda x: domctl(x, [E(15, 0)]), errno.ENOMEM),
    ("dying domain", lambda x: domctl(x, [E(1, HOST)], d=dying(x)), errno.ESRCH),
    ("GET on dying domain", lambda x: domctl(x, [E()], mode=GET, d=dying(x)), errno.ESRCH),
]


@pytest.mark.parametrize(("name", "call", "err"), ROWS, ids=[r[0] for r in ROWS])
def test_errno_row(name: str, call: Callable[[claims.Xen], int], err: int) -> None:
    xen = host()
    before = xen.state()
    rc = call(xen)
    assert rc == -err, f"{name}: got {errno.errorcode.get(-rc, rc)}"
    if "dying" in name:
        before["domains"].pop(2)  # the kill itself changed the host
        assert xen.state()["domains"] == before["domains"]
    else:
        xen.llc_coloring_enabled = False
        assert xen.state() == before
    ev = xen.events.last()
    assert ev is not None and ev.result == -err and ev.info["errno"] == errname(err)


def test_errno_row_host_total_over_unclaimed() -> None:
    """ENOMEM: node + host > (total_avail - outstanding) + own claims (phase 2)."""
    xen = host()
    assert xen.do_memory_op_claim_pages(DOM0, 2, 25) == 0  # d2 takes 25 of the 27 unclaimed
    before = xen.state()
    # d1: 7 > 30 - 28 + 3 = 5, within max_pages (7 + 2 <= 20) and node 0's memory
    assert domctl(xen, [E(4, HOST), E(3, 0)]) == -errno.ENOMEM
    assert xen.state() == before
    assert domctl(xen, [E(2, HOST), E(3, 0)]) == 0


def test_errnames_as_xen_writes_them() -> None:
    assert errname(-errno.EOPNOTSUPP) == "EOPNOTSUPP"
    xen = host()
    domctl(xen, [E(1, 0x80000001)])
    ev = xen.events.last()
    assert ev is not None and "target 0x80000001" in ev.info["reason"]


def test_own_claims_are_credited() -> None:
    xen = host()
    d1 = xen.domains[1]
    # node 0: 14 free, 3 claimed by d1 -> 11 unclaimed + 3 own = 14
    assert domctl(xen, [E(14, 0)]) == 0
    assert xen.claimed_pages == [14, 0]
    # host-wide: 30 free, 14 claimed (all d1's) -> 16 + 14 own = 30, but max_pages 20 - tot 2
    assert domctl(xen, [E(18, HOST)]) == 0
    assert (d1.outstanding_pages, d1.node_claims, xen.claimed_pages) == (18, 0, [0, 0])


def test_check_order_node_memory_before_max_pages() -> None:
    xen = host()
    # 15 on node 0 is both too much memory (ENOMEM, phase 1) and over max_pages
    xen.domain_set_max_pages(xen.domains[1], 4)
    assert domctl(xen, [E(15, 0)]) == -errno.ENOMEM
    # a host entry over max_pages and over memory: EINVAL (phase 2 checks max_pages first)
    assert domctl(xen, [E(1000, HOST)]) == -errno.EINVAL
    # the first failing entry decides: ENOENT before a later cmd != 0
    assert domctl(xen, [E(1, 9), E(1, 0, cmd=1)]) == -errno.ENOENT


def test_replace_never_accumulate_and_release() -> None:
    xen = host()
    d1 = xen.domains[1]
    assert domctl(xen, [E(2, HOST), E(4, 1)]) == 0
    assert (d1.outstanding_pages, d1.claims, xen.claimed_pages) == (6, [0, 4], [0, 4])
    assert domctl(xen, [E(5, 0)]) == 0  # replaces: node 1 and host-wide are gone
    assert (d1.outstanding_pages, d1.claims, xen.outstanding_claims) == (5, [5, 0], 5)
    # all-zero sets release, whatever the targets; even under max_pages < tot_pages
    xen.domain_set_max_pages(d1, 1)
    assert domctl(xen, [E(0, 1), E(0, HOST)]) == 0
    assert (d1.outstanding_pages, xen.outstanding_claims, xen.claimed_pages) == (0, 0, [0, 0])


def test_new_claims_are_relative_legacy_is_absolute() -> None:
    xen = host()
    d1 = xen.domains[1]  # tot_pages 2
    assert domctl(xen, [E(0, HOST)]) == 0
    assert domctl(xen, [E(10, LEGACY)]) == 0  # the LEGACY selector through the domctl
    assert d1.outstanding_pages == 8
    assert domctl(xen, [E(10, HOST)]) == 0
    assert d1.outstanding_pages == 10
    # a LEGACY entry plus node entries of 0 pages is accepted (needs no claims first)
    assert domctl(xen, [E(0, HOST)]) == 0
    assert domctl(xen, [E(10, LEGACY), E(0, 1)]) == 0
    assert d1.outstanding_pages == 8


def test_memory_op_claim_pages_checks() -> None:
    xen = host()
    assert xen.do_memory_op_claim_pages(DOM0, 1, 5, start_extent=1) == -errno.EINVAL
    assert xen.do_memory_op_claim_pages(DOM0, 1, 5, extent_start=[0]) == -errno.EINVAL
    assert xen.do_memory_op_claim_pages(DOM0, 1, 5, extent_order=1) == -errno.EINVAL
    assert xen.do_memory_op_claim_pages(DOM0, 1, 5, mem_flags=1) == -errno.EINVAL
    assert xen.do_memory_op_claim_pages(DOM0, 9, 5) == -errno.EINVAL  # unknown: EINVAL
    assert xen.do_memory_op_claim_pages(Caller(3, False), 1, 5) == -errno.EPERM
    assert xen.do_memory_op_claim_pages(DOM0, 2, 5) == 0
    assert xen.domains[2].outstanding_pages == 5
    # one active claim per domain: node claims count too
    assert xen.do_memory_op_claim_pages(DOM0, 1, 9) == -errno.EINVAL
    assert xen.do_memory_op_claim_pages(DOM0, 1, 0) == 0  # releases node claims too
    assert xen.domains[1].outstanding_pages == 0 and xen.claimed_pages == [0, 0]
    xen.llc_coloring_enabled = True
    assert xen.do_memory_op_claim_pages(DOM0, 1, 5) == -errno.EOPNOTSUPP


def test_master_has_no_claim_sets() -> None:
    xen = claims.hosts.native_harness(16, semantics="master")
    xen.init_heap_pages(16, 16)
    d1 = xen.domains[1]
    rc, _ = xen.do_domctl_claim_memory(DOM0, d1, SET, 1, (E * 1)(E(1, HOST)))
    assert rc == -errno.ENOSYS
    with pytest.raises(ValueError, match="no domain_set_claim_entries"):
        xen.domain_set_claim_entries(d1, [E(1, HOST)])
    assert xen.domain_set_outstanding_pages(d1, 4) == 0
    assert xen.domain_set_outstanding_pages(d1, 5) == -errno.EINVAL  # one claim per domain


def test_v6_has_no_get() -> None:
    xen = claims.hosts.native_harness(16, semantics="v6")
    xen.init_heap_pages(16, 16)
    rc, _ = xen.do_domctl_claim_memory(DOM0, xen.domains[1], GET, 1, (E * 1)())
    assert rc == -errno.EOPNOTSUPP
