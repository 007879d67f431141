"""The benchmark's measuring functions: real hosts, real counts (times are not asserted)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import claims
from claims import bench
from claims.hypervisor.events import AllocRun

GIB = 1 << 18


def test_host_build_record_counts_pages_and_free_blocks() -> None:
    r = bench.host_build_record(2, 64 * GIB, runs=1)
    assert (r["nodes"], r["pages"]) == (2, 128 * GIB)
    assert r["free_blocks"] == 2 * 64  # order-18 blocks of 1 GiB
    assert r["seconds"] > 0 and r["peak_bytes"] > 0


def test_host_build_records_cover_the_grid() -> None:
    recs = bench.host_build_records([1, 2], [GIB, 4 * GIB], runs=1)
    assert [(r["nodes"], r["node_pages"]) for r in recs] == [
        (1, GIB),
        (1, 4 * GIB),
        (2, GIB),
        (2, 4 * GIB),
    ]
    assert [r["free_blocks"] for r in recs] == [1, 4, 2, 8]


def test_allocation_rate_records_leave_the_host_as_it_was() -> None:
    xen = claims.hosts.demo()
    before = xen.state()["free"]
    recs = bench.allocation_rate_records([("demo", lambda: xen, 9, 8)], runs=2)
    assert len(recs) == 1 and recs[0]["order"] == 9 and recs[0]["n"] == 8
    assert recs[0]["alloc_per_s"] > 0 and recs[0]["free_per_s"] > 0
    assert xen.state()["free"] == before  # every cycle freed what it took, and it merged


@pytest.fixture
def no_debug_checks() -> Iterator[None]:
    """The bulk path stands aside under debug_checks; the bench runs without them."""
    old = claims.Xen.debug_checks
    claims.Xen.debug_checks = False
    yield
    claims.Xen.debug_checks = old


def test_populate_guest_bulk_and_loop_agree(no_debug_checks: None) -> None:
    bulk, _ = bench.populate_guest(1, bulk=True)
    loop, _ = bench.populate_guest(1, bulk=False)
    assert any(type(e) is AllocRun for e in bulk.events._entries())  # the bulk path ran
    assert not any(type(e) is AllocRun for e in loop.events._entries())
    assert bulk.domains[1].tot_pages == loop.domains[1].tot_pages == GIB
    assert bulk.state() == loop.state()
    assert [str(e) for e in bulk.events] == [str(e) for e in loop.events]


def test_views_of_the_records_carry_their_numbers() -> None:
    from claims import viz_bench

    recs = bench.host_build_records([1, 2], [GIB, 4 * GIB], runs=1)
    fig = viz_bench.host_growth(recs)
    assert [t.name for t in fig.data] == ["1 nodes", "1 nodes", "2 nodes", "2 nodes"]
    assert list(fig.data[2].x) == [2, 8]  # free blocks of 2 x 1 GiB and 2 x 4 GiB
    assert list(fig.data[3].y) == [r["peak_bytes"] / 2**20 for r in recs[2:]]
    rates = [
        {"host": "a", "order": 0, "n": 8, "alloc_per_s": 1.0, "free_per_s": 2.0},
        {"host": "a", "order": 9, "n": 8, "alloc_per_s": 3.0, "free_per_s": 4.0},
        {"host": "b", "order": 0, "n": 8, "alloc_per_s": 5.0, "free_per_s": 6.0},
    ]
    fig = viz_bench.allocation_rates(rates)
    assert [(t.name, list(t.x), list(t.y)) for t in fig.data] == [
        ("order 0", ["a", "b"], [1.0, 5.0]),
        ("order 9", ["a"], [3.0]),
    ]
    assert fig.layout.shapes[0].y0 == viz_bench.TARGET_ALLOCS_PER_S


def test_log_growth_records_time_allocations_after_the_log_has_grown(
    no_debug_checks: None,
) -> None:
    recs = bench.log_growth_records([0, 10_000], runs=1)
    assert recs[0]["events"] == 1  # the demo host's init_heap_pages
    # then 3 cycles: domain_create, 2000 allocations, 2000 frees, domain_kill
    assert recs[1]["events"] == 1 + 3 * (1 + 4000 + 1) and all(r["alloc_per_s"] > 0 for r in recs)


def test_log_growth_view_plots_the_records() -> None:
    from claims import viz_bench

    recs = [{"events": 1, "alloc_per_s": 150_000.0}, {"events": 400_001, "alloc_per_s": 149_000.0}]
    fig = viz_bench.log_growth(recs)
    assert list(fig.data[0].x) == [1, 400_001]
    assert list(fig.data[0].y) == [150_000.0, 149_000.0]
    assert "400,001 events" in fig.data[0].hovertext[1]


def test_build_comparison_runs_each_build_in_a_fresh_interpreter() -> None:
    from claims import viz_bench

    recs = bench.build_comparison_records(runs=1)
    want = ["pure Python"] + (["mypyc"] if claims.kit.core_build.good_build() else [])
    assert [r["build"] for r in recs] == want
    assert all(r["order_0"] > 0 and r["order_9"] > 0 for r in recs)
    fig = viz_bench.build_comparison(recs)
    assert [(t.name, list(t.x)) for t in fig.data] == [("order 0", want), ("order 9", want)]
    assert list(fig.data[1].y) == [r["order_9"] for r in recs]
    assert fig.layout.shapes[0].y0 == viz_bench.TARGET_ALLOCS_PER_S


def test_storm_rates_time_the_sweeps_storms(no_debug_checks: None) -> None:
    """The storms the bench times are a sweep's: the 20-guest storm on 2 x 1024 MiB, seeds
    from 0, the three modes in turn; its sweep's table is the sweep's own."""
    from concurrent.futures import ThreadPoolExecutor

    from claims import sweep

    (rec,) = bench.storm_rate_records(["none"], 1)
    assert rec["mode"] == "none" and rec["storms"] == 1 and rec["per_s"] > 0
    with ThreadPoolExecutor(1) as ex:
        r = bench.sweep_rate_record(2, workers=1, executor=ex)
    assert r["storms"] == 2 and r["per_s"] > 0
    todo = sweep.tasks([0], [bench.STORM_HOST])[:2]
    assert [(t.seed, t.mode) for t in todo] == [(0, "none"), (0, "legacy")]
    assert r["df"].to_dict("records") == sweep.run_batch(todo)


def test_the_kit_beside_xen_is_the_ratio_of_the_times() -> None:
    """kit / Xen at both ends of Xen's range, in words by which side of 1 it falls."""
    rates = [
        {"host": "demo, fresh", "order": 0, "alloc_per_s": 200_000.0, "free_per_s": 250_000.0},
        {"host": "demo, fresh", "order": 9, "alloc_per_s": 200_000.0, "free_per_s": 200_000.0},
    ]
    rows = bench.xen_comparison_records(rates, {"node 0": 0.5, "no node": 1.6})
    assert [(r["operation"], r["kit"]) for r in rows] == [
        ("order-0 alloc + free", "demo host"),
        ("order-9 alloc + free", "demo host"),
        ("populate 1 TiB in 2 MiB extents", "bulk path, node 0"),
        ("populate 1 TiB in 2 MiB extents", "bulk path, no node"),
    ]
    order0 = rows[0]
    assert order0["kit_s"] == pytest.approx(9e-6)  # 5 µs to allocate, 4 µs to free
    assert (order0["ratio_lo"], order0["ratio_hi"]) == pytest.approx((9e-6 / 80e-9, 9e-6 / 50e-9))
    assert bench.ratio_text(order0) == "112–180× Xen's time (slower)"
    assert bench.ratio_text(rows[1]) == "1.25–3.33× Xen's time (slower)"  # 10 µs vs 3–8 µs
    assert bench.ratio_text(rows[2]) == "2.8–3.8× faster than Xen"  # 0.5 s vs 1.4–1.9 s
    assert bench.ratio_text(rows[3]) == "0.842–1.14× Xen's time (as fast)"
    table = bench.xen_comparison_markdown(rows)
    assert "| order-0 alloc + free | demo host | 9 µs | 50 ns–80 ns |" in table
    assert table.endswith(bench.XEN_REFERENCE_BUILD + ".")
