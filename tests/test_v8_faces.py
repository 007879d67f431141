"""One version's toolstack against another version's hypervisor, and v8's faces.

* A v7 toolstack (``xc_domain_claim_memory``, domctl 91 with a ``mode``) on a v8 host
  reaches v8's ``XEN_DOMCTL_set_memory_claims`` (also 91), which reads the mode word as
  its ``pad``: SET is a v8 SET (paused domain, no claims yet), GET is ``pad`` 1.
* A v8 toolstack on a v7 host: domctl 91 is v7's SET (replacement works, ``nr`` 0 is
  ``EINVAL``), domctl 92 does not exist (``ENOSYS``); on master neither exists.
* The OCaml binding is v7's: on a v8 host it fails with ``ENOSYS`` after its own checks.
* A GET that is refused copies nothing back (v7 on a dying domain; v8 with ``pad``).
* The toolstack's pause count (``XEN_DOMCTL_pausedomain``/``unpausedomain``).

``docs/versions.md#v8``, ``docs/claims.md#domctl-dispatch``.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Callable
from typing import Any

import pytest
from claims.libxc import (
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST,
    XcError,
    xen_domctl_memory_claim_t,
    xen_memory_claim_t,
)

import claims
from claims import DOM0, libxc, xenctrl

E7, E8 = xen_memory_claim_t, xen_domctl_memory_claim_t
HOST7, HOST8 = XEN_DOMCTL_CLAIM_MEMORY_HOST, XEN_DOMCTL_MEMORY_CLAIM_TARGET_HOST
SET, GET = XEN_DOMCTL_CLAIM_MEMORY_SET, XEN_DOMCTL_CLAIM_MEMORY_GET


def host(semantics: str) -> tuple[claims.Xen, libxc.xc_interface]:
    """The native harness at start 4 with an order-2 buddy on each node (MFNs 8, 24)."""
    xen = claims.hosts.native_harness(4, semantics=semantics)
    xen.init_heap_pages(8, 4)
    xen.init_heap_pages(24, 4)
    return xen, libxc.xc_interface_open(xen)


def xc(fn: Callable[..., int], *args: Any) -> int:
    """0, or ``-errno`` of the ``XcError`` the call raised."""
    try:
        return fn(*args)
    except XcError as e:
        assert e.errno is not None and str(e)
        return -e.errno


def get8(xen: claims.Xen, d: claims.Domain) -> list[tuple[int, int]]:
    """v8's GET through the hypervisor face: ``(target, pages)`` of each entry."""
    rc, nr, ents = xen.domain_get_claim_entries(d, 65)
    assert rc == 0 and ents is not None and len(ents) == nr
    return [e.as_tuple() for e in ents]


# ------------------------------------------------- a v7 toolstack, a v8 hypervisor
def test_v7_set_on_v8_host_follows_v8_rules() -> None:
    """``xc_domain_claim_memory`` SET reaches v8's ``set_memory_claims`` (mode read as pad 0)."""
    xen, xch = host("v8")
    d1 = xen.domains[1]
    claim_set = (E7 * 2)(E7(2, HOST7), E7(1, 0))
    nr = ctypes.c_uint32(2)
    assert xc(libxc.xc_domain_claim_memory, xch, 1, SET, nr, claim_set) == 0
    assert nr.value == 2  # SET copies nothing back
    assert get8(xen, d1) == [(HOST8, 2), (0, 1)]
    assert (xen.outstanding_claims, d1.outstanding_pages, d1.node_claims) == (3, 3, 1)
    assert list(d1.claims) == [1, 0] and list(xen.claimed_pages[:2]) == [1, 0]

    # v8: no replacement; v7's SET over an existing claim is EINVAL here
    before = xen.state()
    other = (E7 * 1)(E7(3, 1))
    assert xc(libxc.xc_domain_claim_memory, xch, 1, SET, ctypes.c_uint32(1), other) == (
        -errno.EINVAL
    )
    assert xen.state() == before

    # v8: the domain must be paused by the toolstack
    d2 = xen.domains[2]
    assert xc(libxc.xc_domain_unpause, xch, 2) == 0
    before = xen.state()
    assert xc(libxc.xc_domain_claim_memory, xch, 2, SET, 1, other) == -errno.EBUSY
    assert xen.state() == before
    assert d2.outstanding_pages == 0


def test_v7_get_on_v8_host_is_a_set_with_pad_1() -> None:
    """``xc_domain_claim_memory`` GET (mode 1) is a v8 SET with ``pad`` 1: ``EINVAL``."""
    xen, xch = host("v8")
    d1 = xen.domains[1]
    assert xen.domain_set_claim_entries(d1, [E8(2, HOST8), E8(1, 0)]) == 0
    before = xen.state()
    buf = (E7 * 4)()
    nr = ctypes.c_uint32(4)
    assert xc(libxc.xc_domain_claim_memory, xch, 1, GET, nr, buf) == -errno.EINVAL
    assert nr.value == 4  # not a count: nothing was copied back
    assert [buf[i].as_tuple() for i in range(4)] == [(0, 0)] * 4
    assert xen.state() == before
    # the same through the hypervisor face
    assert xen.do_domctl_claim_memory(DOM0, d1, GET, 4, buf) == (-errno.EINVAL, 4)
    ev = xen.events.last()
    assert ev is not None and "pad" in ev.info["reason"]


def test_v8_get_on_v7_host_is_enosys() -> None:
    """``xc_domain_get_memory_claims`` on a v7 host: no domctl 92 (``ENOSYS``), nr untouched."""
    xen, xch = host("v7")
    assert xen.domain_set_claim_entries(xen.domains[1], [E7(2, HOST7)]) == 0
    before = xen.state()
    buf = (E8 * 3)()
    nr = ctypes.c_uint32(3)
    assert xc(libxc.xc_domain_get_memory_claims, xch, 1, buf, nr) == -errno.ENOSYS
    assert nr.value == 3
    assert xen.state() == before


def test_v8_set_on_v7_host_is_a_v7_set() -> None:
    """``xc_domain_set_memory_claims`` on a v7 host is v7's SET: replacement works,
    ``nr`` 0 is ``EINVAL`` (v7 releases with ``XENMEM_claim_pages(0)``)."""
    xen, xch = host("v7")
    d1 = xen.domains[1]
    first = (E8 * 2)(E8(2, HOST8), E8(1, 0))
    assert xc(libxc.xc_domain_set_memory_claims, xch, 1, first, 2) == 0
    assert (xen.outstanding_claims, list(d1.claims)) == (3, [1, 0])
    # v7 replaces the claim set
    assert xc(libxc.xc_domain_set_memory_claims, xch, 1, E8(3, 1), 1) == 0
    assert (xen.outstanding_claims, d1.outstanding_pages, list(d1.claims)) == (3, 3, [0, 3])
    rc, nr, ents = xen.domain_get_claim_entries(d1, 65)
    assert (rc, nr) == (0, 2) and ents is not None
    assert [e.as_tuple() for e in ents] == [(HOST7, 0), (1, 3)]  # v7: HOST first, even at 0
    # v7's SET refuses nr_entries 0
    before = xen.state()
    assert xc(libxc.xc_domain_set_memory_claims, xch, 1, None, 0) == -errno.EINVAL
    assert xen.state() == before


def test_master_has_neither_v8_domctl() -> None:
    """On master both v8 calls (and v7's) are ``ENOSYS``: it has no claims domctl."""
    xen, xch = host("master")
    before = xen.state()
    assert xc(libxc.xc_domain_set_memory_claims, xch, 1, E8(1, HOST8), 1) == -errno.ENOSYS
    assert xc(libxc.xc_domain_set_memory_claims, xch, 1, None, 0) == -errno.ENOSYS
    nr = ctypes.c_uint32(2)
    assert xc(libxc.xc_domain_get_memory_claims, xch, 1, (E8 * 2)(), nr) == -errno.ENOSYS
    assert nr.value == 2
    assert xc(libxc.xc_domain_claim_memory, xch, 1, SET, 1, E7(1, HOST7)) == -errno.ENOSYS
    assert xen.state() == before


def test_ocaml_binding_on_v8_host() -> None:
    """v8 has no OCaml binding: ``Error`` ``ENOSYS`` after the binding's own checks."""
    xen, _ = host("v8")
    h = xenctrl.interface_open(xen)
    before = xen.state()
    with pytest.raises(xenctrl.Error) as ei:
        xenctrl.domain_claim_memory(h, 1, [xenctrl.claim(2, -1), xenctrl.claim(1, 0)])
    assert ei.value.errno == errno.ENOSYS
    # the binding's checks come first: an empty array, negative pages, node < -1
    with pytest.raises(xenctrl.Invalid_argument, match="empty"):
        xenctrl.domain_claim_memory(h, 1, [])
    with pytest.raises(xenctrl.Invalid_argument):
        xenctrl.domain_claim_memory(h, 1, [xenctrl.claim(-1, 0)])
    with pytest.raises(xenctrl.Invalid_argument):
        xenctrl.domain_claim_memory(h, 1, [xenctrl.claim(1, -2)])
    assert xen.state() == before


# ------------------------------------------------------------- refused GETs
def test_v7_get_on_dying_domain_copies_nothing_back() -> None:
    """v7's GET on a dying domain is ``-ESRCH`` and the count is not copied back.

    Xen's domain is dying but still in the domain list while it is destroyed
    (``rcu_lock_domain_by_id`` still finds it); v7's ``claim_memory`` returns
    ``-ESRCH`` before it copies anything: 80 (above ``MAX_NUMNODES + 1``) comes back
    unclamped.
    """
    xen, xch = host("v7")
    d1 = xen.domains[1]
    assert xen.domain_set_claim_entries(d1, [E7(2, HOST7), E7(1, 0)]) == 0
    d1.is_dying = True
    assert xen.domains[1] is d1
    before = xen.state()
    buf = (E7 * 80)()
    assert xen.do_domctl_claim_memory(DOM0, d1, GET, 80, buf) == (-errno.ESRCH, 80)
    assert all(buf[i].as_tuple() == (0, 0) for i in range(80))
    # through libxc: the c_uint32 stays 80
    nr = ctypes.c_uint32(80)
    assert xc(libxc.xc_domain_claim_memory, xch, 1, GET, nr, buf) == -errno.ESRCH
    assert nr.value == 80
    assert xen.state() == before


def test_v8_get_with_pad_is_einval() -> None:
    """v8's GET with ``pad != 0``: ``-EINVAL``, ``nr_entries`` and the buffer unchanged."""
    xen, _ = host("v8")
    d1 = xen.domains[1]
    assert xen.domain_set_claim_entries(d1, [E8(2, HOST8), E8(1, 0)]) == 0
    before = xen.state()
    buf = (E8 * 5)()
    for pad in (1, 2, (1 << 32) - 1):
        assert xen.do_domctl_get_memory_claims(DOM0, d1, 5, buf, pad) == (-errno.EINVAL, 5)
        assert xen.do_domctl_get_memory_claims(DOM0, d1, 0, None, pad) == (-errno.EINVAL, 0)
    assert all(buf[i].as_tuple() == (0, 0) for i in range(5))
    assert xen.state() == before
    # with pad 0 the same call works
    assert xen.do_domctl_get_memory_claims(DOM0, d1, 5, buf) == (0, 2)
    assert [buf[i].as_tuple() for i in range(2)] == [(HOST8, 2), (0, 1)]


# ------------------------------------------------------------------ pause state
@pytest.mark.parametrize("semantics", ["master", "v7", "v8"])
def test_pause_count(semantics: str) -> None:
    """``domain_create`` leaves one toolstack pause; unpause to 0 ends the build; the
    count stays in 0..255 (``-EINVAL`` below, ``-EOVERFLOW`` above)."""
    xen, xch = host(semantics)
    d = xen.domain_create()
    assert (d.controller_pause_count, d.creation_finished) == (1, False)
    assert libxc.xc_domain_getinfo_single(xch, d.domid).paused

    assert xen.domain_unpause_by_systemcontroller(d) == 0
    assert (d.controller_pause_count, d.creation_finished) == (0, True)
    assert not libxc.xc_domain_getinfo_single(xch, d.domid).paused

    before = xen.state()
    assert xen.domain_unpause_by_systemcontroller(d) == -errno.EINVAL
    assert (d.controller_pause_count, d.creation_finished) == (0, True)
    assert xen.state() == before
    assert xc(libxc.xc_domain_unpause, xch, d.domid) == -errno.EINVAL
    assert xen.state() == before

    for i in range(255):
        assert xen.domain_pause_by_systemcontroller(d) == 0, f"pause {i + 1}"
    assert d.controller_pause_count == 255
    assert libxc.xc_domain_getinfo_single(xch, d.domid).paused
    before = xen.state()
    assert xen.domain_pause_by_systemcontroller(d) == -errno.EOVERFLOW
    assert xc(libxc.xc_domain_pause, xch, d.domid) == -errno.EOVERFLOW
    assert d.controller_pause_count == 255
    assert xen.state() == before

    # pausing again does not undo the end of the build
    assert xc(libxc.xc_domain_unpause, xch, d.domid) == 0
    assert (d.controller_pause_count, d.creation_finished) == (254, True)


def test_pause_state_gates_v8_set() -> None:
    """v8's SET needs the toolstack's pause, however many: 0 is ``EBUSY``, 1 or more works;
    releasing (``nr`` 0) works either way."""
    xen, xch = host("v8")
    d1 = xen.domains[1]
    assert xc(libxc.xc_domain_unpause, xch, 1) == 0
    assert xc(libxc.xc_domain_set_memory_claims, xch, 1, E8(1, 0), 1) == -errno.EBUSY
    assert xc(libxc.xc_domain_pause, xch, 1) == 0
    assert xc(libxc.xc_domain_pause, xch, 1) == 0
    assert d1.controller_pause_count == 2
    assert xc(libxc.xc_domain_set_memory_claims, xch, 1, E8(1, 0), 1) == 0
    assert xc(libxc.xc_domain_unpause, xch, 1) == 0
    assert xc(libxc.xc_domain_unpause, xch, 1) == 0
    assert xc(libxc.xc_domain_set_memory_claims, xch, 1, None, 0) == 0  # running: release
    assert (d1.outstanding_pages, xen.outstanding_claims) == (0, 0)
