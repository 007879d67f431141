"""The OCaml face (xenctrl.mli with the v7 binding, docs/toolstack.md#xenctrl)."""

from __future__ import annotations

import errno

import pytest
from claims.xenctrl import Error, Invalid_argument, claim

import claims
from claims import xenctrl


@pytest.fixture
def h() -> xenctrl.handle:
    return xenctrl.interface_open(claims.hosts.demo())


def test_legacy_mem_claim_ocaml(h: xenctrl.handle) -> None:
    """The upstream legacy test as an OCaml toolstack would write it."""
    assert xenctrl.physinfo(h).outstanding_pages == 0
    domid = xenctrl.domain_create(h)
    xenctrl.domain_setmaxmem(h, domid, -1)
    assert xenctrl.domain_getinfo(h, domid).max_memory_pages == 0xFFFFFFFF
    xenctrl.domain_claim_memory(h, domid, [claim(pages=1024, node=-1)])
    assert xenctrl.physinfo(h).outstanding_pages == 1024
    xenctrl.domain_memory_increase_reservation(h, domid, 2048)  # 2 MiB
    assert xenctrl.physinfo(h).outstanding_pages == 512
    assert xenctrl.domain_getinfo(h, domid).total_memory_pages == 512
    xenctrl.domain_destroy(h, domid)
    assert xenctrl.physinfo(h).outstanding_pages == 0


def test_node_claims_and_host(h: xenctrl.handle) -> None:
    domid = xenctrl.domain_create(h, domid=5)
    assert domid == 5
    xenctrl.domain_setmaxmem(h, 5, -1)  # a new domain has max_pages 0, as in Xen
    xenctrl.domain_claim_memory(h, 5, [claim(100, 0), claim(50, 1), claim(10, -1)])
    d = h.xen.domains[5]
    assert (d.claims, d.host_claims, d.outstanding_pages) == ([100, 50], 10, 160)
    info = xenctrl.domain_getinfo(h, 5)
    assert info.outstanding_pages == 160 and not info.dying


@pytest.mark.parametrize(
    ("claims_", "exc", "msg"),
    [
        ([], Invalid_argument, "domain_claim_memory: claim_set cannot be empty"),
        ([claim(-1, 0)], Invalid_argument, "domain_claim_memory: invalid pages or node"),
        ([claim(1, -2)], Invalid_argument, "domain_claim_memory: invalid pages or node"),
        ("x", TypeError, "array of claim"),
        ([(1, 0)], TypeError, "claim record"),
    ],
)
def test_binding_checks(h: xenctrl.handle, claims_: object, exc: type, msg: str) -> None:
    domid = xenctrl.domain_create(h)
    before = h.xen.state()
    with pytest.raises(exc, match=msg):
        xenctrl.domain_claim_memory(h, domid, claims_)  # type: ignore[arg-type]
    assert h.xen.state() == before


def test_ocaml_ranges() -> None:
    with pytest.raises(Invalid_argument, match="int64"):
        claim(1 << 63, 0)
    with pytest.raises(Invalid_argument, match="int32"):
        claim(1, 1 << 31)
    with pytest.raises(TypeError, match="int64"):
        claim(1.5, 0)  # type: ignore[arg-type]


def test_hypercall_errors_carry_errno(h: xenctrl.handle) -> None:
    domid = xenctrl.domain_create(h)
    xenctrl.domain_setmaxmem(h, domid, -1)
    before = h.xen.state()
    with pytest.raises(Error) as e:
        xenctrl.domain_claim_memory(h, domid, [claim(1, 7)])
    assert e.value.errno == errno.ENOENT and "no such online node" in str(e.value)
    with pytest.raises(Error) as e:
        xenctrl.domain_claim_memory(h, domid, [claim(1 << 20, -1)])
    assert e.value.errno == errno.ENOMEM
    assert str(e.value).startswith("ENOMEM: xc_domain_claim_memory(d1): 1048576 pages > 8192")
    assert h.xen.state() == before
    with pytest.raises(Error) as e:
        xenctrl.domain_getinfo(h, 99)
    assert e.value.errno == errno.ESRCH


def test_with_intf() -> None:
    xen = claims.hosts.demo()
    free = xenctrl.with_intf(lambda h: xenctrl.physinfo(h).free_pages, xen)
    assert free == 8192
