"""xenopsd's VM build on the model: memory.ml's figures, numa_placement and build_pre
(domain.ml at e2ee48d688), xenguest's meminit_hvm, and the storm and sweep with the
xenopsd builder on the four hypervisors."""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterator

import pytest

import claims
from claims import xenctrlext
from claims.toolstack import bootstorm as bs
from claims.toolstack.xenopsd import NUMA, BuildLog, VmSpec, Xenopsd, memory, run, run_together
from claims.toolstack.xenopsd.xenguest import meminit_hvm

GIB = 1 << 18  # pages


# ------------------------------------------------------------------ memory.ml
def test_hvm_memory_figures() -> None:
    """Memory.HVM.full_config 4096 4 4096 4 1.0, by hand from memory.ml."""
    c = memory.full_config(memory.HVM, 4096, 4, 4096, 4)
    # shadow: 256*4 + 4096 + 4096 pages = 9216 pages = 36 MiB; 38*4 pages -> 1 MiB
    assert (c.shadow_mib, c.overhead_mib) == (36, 1 + 1 + 36 + 1)
    assert (c.build_start_mib, c.build_max_mib, c.xen_max_mib) == (4092, 4092, 4097)
    assert c.required_host_free_mib == 4096 + 39
    assert c.build_claim_pages == 4092 * 256


def test_other_memory_models() -> None:
    lin = memory.full_config(memory.LINUX, 1024, 0, 512, 1)
    assert (lin.build_start_mib, lin.xen_max_mib) == (512, 1024)  # started ballooned down
    pvh = memory.full_config(memory.PV_IN_PVH, 9000, 4, 9000, 2)
    assert pvh.build_max_mib == 9000 - 4 + 23 + 100  # shim: 23 + static_max / 90
    assert memory.shadow_mib(10, 1, 0.01) == 1  # never below 1 MiB
    assert memory.pages_of_bytes_used(4097) == 2 and memory.mib_of_kib_used(1025) == 2


# ------------------------------------------------------------------ topology
def test_numa_hierarchy_is_what_xenctrlext_reports() -> None:
    xen = claims.hosts.opteron_6272(GIB, "xenserver")
    xo = Xenopsd(xen)
    host = xo.numa_hierarchy
    assert host is not None
    direct = NUMA.make(claims.hosts.OPTERON_6272_DISTANCES, [c // 8 for c in range(64)], [4] * 8)
    assert direct is not None
    assert host.candidates == direct.candidates and host.node_cores == (4,) * 8
    assert xo.numa_hierarchy is host  # built once (Lazy.force)
    info = xenctrlext.numainfo(xo.xcext)
    assert info.distances[0] == list(claims.hosts.OPTERON_6272_DISTANCES[0])


# ------------------------------------------------------------------ placement
@pytest.fixture
def checks_at_the_end() -> Iterator[None]:
    """A storm makes thousands of allocations: ``boot_storm`` checks the invariants at
    its end, not after each one (``tests/test_bootstorm.py`` keeps one storm that does)."""
    old = claims.Xen.debug_checks
    claims.Xen.debug_checks = False
    yield
    claims.Xen.debug_checks = old


def build(xen: claims.Xen, name: str, mib: int, vcpus: int = 2, **kw: object) -> BuildLog:
    xo = kw.pop("xo", None) or Xenopsd(xen, **kw)  # type: ignore[arg-type]
    return run(xo.build(VmSpec(name, mib, vcpus)))


def test_a_vm_on_xenserver_gets_a_node_claim_and_exact_node_memory() -> None:
    xen = claims.hosts.numa_example(2, GIB, 4, "xenserver")
    xo = Xenopsd(xen)
    log = build(xen, "vm1", 512, xo=xo)
    d = xen.domains[log.domid]
    assert log.built and log.plan == (0,) and log.node == 0
    assert log.node_claim == (508 * 256, 0) and not log.global_fallback
    assert log.affinity == (0, 1, 2, 3)  # the node's CPUs, soft
    assert d.node_affinity == frozenset({0})
    assert xen.pages_by_node(d) == [508 * 256 - 0x20, 0]  # all of it on node 0, no VGA hole
    assert log.claim_left == 0x20 and xen.outstanding_claims == 0  # cancelled at the end
    assert d.claim_node == claims.NUMA_NO_NODE  # the cancel (0 pages) forgets the node
    assert xo.numa_hierarchy is not None and xo.numa_hierarchy.node_usage == [1, 0]
    assert len(d.paging_pool) == memory.full_config(memory.HVM, 512, 4, 512, 2).shadow_mib * 256
    assert d.controller_pause_count == 0  # VM_unpause
    xen.check_invariants()


def test_on_master_the_node_claim_is_einval_and_xenopsd_claims_host_wide() -> None:
    xen = claims.hosts.numa_example(2, GIB, 4, "master")
    log = build(xen, "vm1", 512)
    assert log.built and log.plan == (0,) and log.node is None
    assert log.claim_error == "EINVAL" and log.global_fallback
    assert log.global_claim == 508 * 256 and log.affinity == (0, 1, 2, 3)
    d = xen.domains[log.domid]
    # no exact-node flags, but the soft affinity steers: the memory follows the node
    assert d.node_affinity == frozenset({0}) and xen.pages_by_node(d)[1] == 0
    ev = [e for e in xen.events if e.op == "do_memory_op_claim_pages"]
    assert [e.result for e in ev][:2] == [-errno.EINVAL, 0]


def test_on_v7_and_v8_the_plan_becomes_a_claim_set(checks_at_the_end: None) -> None:
    for sem, op in (("v7", "do_domctl_claim_memory"), ("v8", "do_domctl_set_memory_claims")):
        xen = claims.hosts.numa_example(2, GIB, 4, sem)
        log = build(xen, "vm1", 1536)  # 1.5 GiB: more than one 1 GiB node
        assert log.built and sorted(log.plan) == [0, 1] and log.node is None
        assert sum(log.node_claim) == 1532 * 256 and all(log.node_claim)
        assert not log.global_fallback
        assert any(e.op == op and e.result == 0 for e in xen.events), sem
        d = xen.domains[log.domid]
        assert sorted(d.node_affinity) == [0, 1]
        xen.check_invariants()


def test_a_plan_over_two_nodes_gets_no_node_claim_on_xenserver(checks_at_the_end: None) -> None:
    xen = claims.hosts.numa_example(2, GIB, 4, "xenserver")
    log = build(xen, "big", 1536)
    assert sorted(log.plan) == [0, 1] and log.node is None and log.node_claim == ()
    assert log.affinity == () and log.global_fallback and log.global_claim == 1532 * 256
    assert log.built
    xen.check_invariants()


def test_host_wide_claims_are_invisible_to_the_planner(checks_at_the_end: None) -> None:
    """A global claim is on no node in numa_meminfo: the next plan picks a node whose free
    memory is promised host-wide, and its node claim fails at the host-wide check."""
    xen = claims.hosts.numa_example(2, GIB, 4, "xenserver")
    xo = Xenopsd(xen)
    d = xen.domain_create(max_pages=2 * GIB)
    assert xen.do_memory_op_claim_pages(claims.DOM0, d.domid, GIB + GIB // 2) == 0  # 1.5 GiB
    meminfo = xenctrlext.HostNuma.numa_get_meminfo(xo.xcext)
    assert isinstance(meminfo, xenctrlext.Ok) and [m.claimed for m in meminfo.value] == [0, 0]
    log = build(xen, "vm1", 700, xo=xo)
    assert log.plan == (0,) and log.claim_error == "ENOMEM"  # the host-wide gate
    assert log.affinity == ()  # ENOMEM: no vCPU affinity
    assert log.global_fallback and not log.built  # and the global claim is ENOMEM too
    assert "Domain_build_pre_failed" in log.failure
    assert log.domid not in xen.domains  # destroyed
    xen.check_invariants()


def test_policies_and_hard_affinity(checks_at_the_end: None) -> None:
    xen = claims.hosts.numa_example(2, GIB, 4, "xenserver")
    log = build(xen, "any", 256, policy="any")
    assert log.built and log.plan == () and not log.global_fallback and log.global_claim == 0
    assert not any(e.op == "do_memory_op_claim_pages" and e.args["nr_extents"] for e in xen.events)
    xo = Xenopsd(xen, "best_effort_hard")
    log = run(xo.build(VmSpec("hard", 256, 2)))
    d = xen.domains[log.domid]
    assert log.node == 0 and d.vcpu_hard_affinity[0] == frozenset({0, 1, 2, 3})
    log = run(xo.build(VmSpec("pinned", 256, 2, hard_affinity=((4, 5),))))
    assert log.plan == () and log.global_claim == 0  # hard affinity: no NUMA, no claim
    assert xen.domains[log.domid].vcpu_hard_affinity == [frozenset({4, 5})] * 2
    prio = Xenopsd(xen, "prio_mem_only")
    assert prio.policy == "prio_mem_only"
    with pytest.raises(ValueError, match="policy must be one of"):
        Xenopsd(xen, "fast")
    xen.check_invariants()


def test_not_enough_memory_fails_before_anything_is_claimed() -> None:
    xen = claims.hosts.numa_example(2, GIB // 4, 4, "xenserver")  # 2 x 256 MiB
    log = build(xen, "vm1", 600)
    assert not log.built and log.failure.startswith("Not_enough_memory")
    assert xen.outstanding_claims == 0 and not xen.domains


def test_meminit_hvm_call_order() -> None:
    xen = claims.hosts.uniform(1, 4 * GIB, "xenserver")
    d = xen.domain_create()
    xch = claims.libxc.xc_interface_open(xen)
    res = run(meminit_hvm(xch, d.domid, 2 * GIB))
    assert res.rc == 0 and res.extents[:3] == [(0, 0, 0xA0), (0xC0, 0, 0x140), (0x200, 9, 4)]
    assert res.stat_1gb_pages == 1  # the second GiB in one 1 GiB extent
    assert (res.extents[-1][1], res.extents[-1][0]) == (18, GIB)
    assert d.tot_pages == 2 * GIB - 0x20  # all but the VGA hole
    n = ctypes.c_uint32(0)
    claims.libxc.xc_numa_meminfo(xch, n, None)
    assert n.value == 1


def test_exact_node_populate_fails_when_the_node_is_full() -> None:
    xen = claims.hosts.numa_example(2, GIB // 4, 4, "xenserver")
    d = xen.domain_create()
    xch = claims.libxc.xc_interface_open(xen)
    res = run(meminit_hvm(xch, d.domid, GIB // 2, claims.libxc.XENMEMF_exact_node(1)))
    assert res.rc == -1 and "could not allocate memory" in res.failure
    assert xen.pages_by_node(d)[0] == 0  # never spilled to node 0


# ------------------------------------------------------------------ storms
@pytest.fixture(scope="module")
def storms() -> Iterator[dict[str, bs.StormResult]]:
    old = claims.Xen.debug_checks
    claims.Xen.debug_checks = False
    guests = bs.storm_guests(12, 8, GIB, load=0.9, seed=1)
    runs = {
        sem: bs.boot_storm(
            guests,
            "xenopsd",
            3,
            nr_nodes=8,
            node_pages=GIB,
            semantics=sem,
            topology="opteron",
            vcpus=4,
            progress=False,
        )  # fmt: skip
        for sem in ("xenserver", "master", "v7", "v8")
    }
    claims.Xen.debug_checks = old
    yield runs


def test_storm_on_four_hypervisors(storms: dict[str, bs.StormResult]) -> None:
    for sem, r in storms.items():
        assert r.workers == bs.XENOPSD_WORKERS and r.mode == "xenopsd"
        assert len(r.built) + r.failed_builds == 12, sem
        assert r.one_node_guests + r.split_guests == len(r.built), sem
        assert r.claims_left == 0, sem
        assert r.guest_pages + r.pool_pages + r.free_pages == r.total_pages, sem
    assert storms["master"].global_fallbacks == 12  # every node claim is EINVAL upstream
    assert storms["xenserver"].global_fallbacks < 12
    one_node = [g for g in storms["master"].guests if len(g.plan) == 1]
    assert one_node and all(g.claim_error == "EINVAL" for g in one_node)  # the node claim
    assert all(g.claim_error == "" for g in storms["master"].guests if len(g.plan) > 1)
    summary = storms["xenserver"].summary()
    assert summary["semantics"] == "xenserver" and "global_fallbacks" in summary


def test_storm_is_deterministic(storms: dict[str, bs.StormResult], checks_at_the_end: None) -> None:
    guests = bs.storm_guests(12, 8, GIB, load=0.9, seed=1)
    again = bs.boot_storm(guests, "xenopsd", 3, nr_nodes=8, node_pages=GIB,
                          semantics="xenserver", topology="opteron", vcpus=4)  # fmt: skip
    assert again == storms["xenserver"]


def test_storm_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="8 nodes"):
        bs.boot_storm([256], "xenopsd", topology="opteron", nr_nodes=2, node_pages=GIB)
    with pytest.raises(ValueError, match="topology must be one of"):
        bs.boot_storm([256], "xenopsd", topology="mesh", node_pages=GIB)
    with pytest.raises(ValueError, match="vcpus"):
        bs.boot_storm([256], "xenopsd", vcpus=0, node_pages=GIB)


def test_sweep_runs_the_xenopsd_builder_on_several_hypervisors(checks_at_the_end: None) -> None:
    from claims import sweep

    todo = sweep.tasks(range(1), hosts=[(2, 512)], modes=["xenopsd"],
                       semantics=["xenserver", "master"], guests=6)  # fmt: skip
    assert [(t.semantics, t.mode) for t in todo] == [
        ("xenserver", "xenopsd"),
        ("master", "xenopsd"),
    ]
    rows = [sweep.run_task(t) for t in todo]
    assert [r["semantics"] for r in rows] == ["xenserver", "master"]
    assert rows[1]["global_fallbacks"] == rows[1]["guests"]
    assert list(rows[0]) == sweep.COLUMNS


def test_builds_side_by_side_wait_for_the_mutex_and_see_each_others_claims(
    checks_at_the_end: None,
) -> None:
    """numa_placement holds numa_mutex from numa_get_meminfo to the claim: the second
    build waits, then reads the first one's node claim in ``claimed`` and plans the other
    node (domain.ml:1027-1101)."""
    xen = claims.hosts.numa_example(2, GIB, 4, "xenserver")
    xo = Xenopsd(xen)
    a, b = run_together(xo.build(VmSpec("a", 700)), xo.build(VmSpec("b", 700)))
    assert (a.node, b.node) == (0, 1) and a.built and b.built
    assert xo.numa_mutex.waits > 0 and xo.numa_mutex.owner is None
    assert run_together() == []  # nothing to run
    xen.check_invariants()
