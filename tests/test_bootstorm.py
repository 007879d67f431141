"""The boot-storm simulator (``claims.bootstorm``): guests built in parallel under a seeded
scheduler, with no claims, legacy host-wide claims or v7 node claims."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import claims
from claims import bootstorm as bs
from claims import viz_review

NODE_PAGES = 1 << 16  # 256 MiB per node
MIB = bs.PAGES_PER_MIB


@pytest.fixture(autouse=True)
def checks_at_the_end() -> Iterator[None]:
    """A storm makes thousands of allocations: check the invariants after the storm
    (``boot_storm`` does) rather than after each one; one test below keeps both."""
    old = claims.Xen.debug_checks
    claims.Xen.debug_checks = False
    yield
    claims.Xen.debug_checks = old


def storm(mode: str, seed: int = 0, load: float = 0.85, **kw: object) -> bs.StormResult:
    guests = bs.storm_guests(20, 2, NODE_PAGES, load=load, seed=seed)
    return bs.boot_storm(guests, mode, seed, node_pages=NODE_PAGES, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def runs() -> dict[str, bs.StormResult]:
    old = claims.Xen.debug_checks
    claims.Xen.debug_checks = False
    try:
        return {m: storm(m) for m in bs.MODES}
    finally:
        claims.Xen.debug_checks = old


def test_the_guests_fit_one_node_each_and_most_of_the_host() -> None:
    guests = bs.storm_guests(20, 2, NODE_PAGES, load=0.85, seed=0)
    assert len(guests) == 20 and all(g % MIB == 0 and 0 < g <= NODE_PAGES for g in guests)
    assert sum(guests) == 111360  # 85 % of 2 x 65536 pages, in whole MiB
    assert bs.storm_guests(20, 2, NODE_PAGES, load=0.85, seed=0) == guests


def test_without_claims_some_guests_are_split(runs: dict[str, bs.StormResult]) -> None:
    r = runs["none"]
    assert (len(r.built), r.failed_builds, r.split_guests) == (20, 0, 2)
    split = [g for g in r.guests if g.split]
    assert [(g.name, g.placed, g.numa_node_memory) for g in split] == [
        ("vm02", (0,), (6144, 256)),
        ("vm08", (0,), (2048, 1792)),
    ]  # both planned on node 0; node 0 ran out while they populated
    assert r.claims_left == 0 and r.claim_refusals == 0


def test_a_host_wide_claim_does_not_steer_placement(runs: dict[str, bs.StormResult]) -> None:
    none, legacy = runs["none"], runs["legacy"]
    assert [g.numa_node_memory for g in legacy.guests] == [g.numa_node_memory for g in none.guests]
    assert legacy.split_guests == 2 and all(g.host_claim == g.pages for g in legacy.guests)


def test_with_node_claims_no_guest_is_split(runs: dict[str, bs.StormResult]) -> None:
    r = runs["node"]
    assert (len(r.built), r.failed_builds, r.split_guests) == (20, 0, 0)
    assert r.claim_refusals == 1  # node 0's unclaimed memory ran out: planned again
    (g,) = [g for g in r.guests if g.claim_refusals]
    assert g.placed == (1,) and g.numa_node_memory == (0, g.pages)
    for g in r.guests:
        (node,) = g.placed
        assert g.claim[node] == g.pages and sum(g.claim) == g.pages
        assert g.numa_node_memory[node] == g.pages and g.numa_nodes == 1
        assert g.claim_left == 0
    assert r.claims_left == 0


@pytest.mark.parametrize("mode", bs.MODES)
def test_every_page_is_accounted_for(runs: dict[str, bs.StormResult], mode: str) -> None:
    r = runs[mode]
    assert r.total_pages == 2 * NODE_PAGES
    assert r.guest_pages + r.free_pages == r.total_pages and r.pool_pages == 0
    for n in range(2):
        assert r.node_guest_pages()[n] + r.node_free[n] == NODE_PAGES
    assert all(sum(g.numa_node_memory) == g.pages for g in r.built)
    assert r.claims_left == 0


def test_over_committed_storm_fails_late_without_claims_early_with_them() -> None:
    rs = {m: storm(m, load=1.1) for m in bs.MODES}
    none, legacy, node = rs["none"], rs["legacy"], rs["node"]
    assert [r.failed_builds for r in rs.values()] == [2, 2, 2]
    # without claims the failed builds populated memory first, then were destroyed
    assert none.wasted_pages == 14848
    assert {g.failure for g in none.failed} == {"populate could not complete"}
    assert none.superpage_fallbacks > 0  # 2 MiB extents that fell back to 4 KiB pages
    assert all(sum(g.numa_node_memory) > 0 for g in none.failed)
    # with claims they were refused before populating anything
    assert legacy.wasted_pages == node.wasted_pages == 0
    assert {g.failure for g in legacy.failed} == {"claim refused: ENOMEM"}
    assert {g.failure for g in node.failed} == {"ENOMEM: no node set left to claim on"}
    assert node.split_guests == 0 and node.claim_refusals > node.failed_builds
    for r in rs.values():
        assert r.guest_pages + r.free_pages == r.total_pages and r.claims_left == 0


def test_without_replan_a_refused_node_claim_fails_the_build() -> None:
    r = storm("node", replan=False)
    assert r.failed_builds == r.claim_refusals == 1 and r.split_guests == 0
    assert r.failed[0].failure == "claim refused: ENOMEM"


def test_a_storm_is_deterministic_for_its_seed() -> None:
    a, b = storm("none", seed=3), storm("none", seed=3)
    assert a == b and a.split_guests == 1
    c = storm("none", seed=4)
    assert c != a


def test_fewer_workers_build_one_after_another() -> None:
    r = storm("none", workers=1)
    assert r.workers == 1 and {g.worker for g in r.guests} == {0}
    assert r.split_guests == 0 and r.failed_builds == 0  # each plan sees the guests before it
    assert [g.first_call for g in r.guests] == sorted(g.first_call for g in r.guests)


def test_a_small_storm_keeps_every_invariant_after_every_call() -> None:
    claims.Xen.debug_checks = True  # check_invariants() after every recorded operation
    guests = bs.storm_guests(4, 2, 8192, load=0.9, seed=1)
    for mode in bs.MODES:
        r = bs.boot_storm(guests, mode, 1, node_pages=8192, extents_per_call=2)
        assert r.guest_pages + r.free_pages == r.total_pages == 16384
        assert r.claims_left == 0


def test_legacy_claims_run_on_master_and_node_claims_need_claim_sets() -> None:
    guests = bs.storm_guests(6, 2, 8192, seed=1)
    r = bs.boot_storm(guests, "legacy", 1, node_pages=8192, semantics="master")
    assert r.semantics == "master" and r.failed_builds == 0
    with pytest.raises(ValueError, match="claim sets"):
        bs.boot_storm(guests, "node", 1, node_pages=8192, semantics="master")
    with pytest.raises(ValueError, match="mode"):
        bs.boot_storm(guests, "numa", 1)
    with pytest.raises(ValueError, match="guests"):
        bs.boot_storm([], "none", 1)


def test_placement_fewest_nodes_then_most_free() -> None:
    assert bs.place([100, 300, 200], 150) == [(1,), (2,), (1, 2), (0, 1), (0, 2), (0, 1, 2)]
    assert bs.place([100, 300, 200], 350) == [(1, 2), (0, 1), (0, 1, 2)]
    assert bs.place([100, 300, 200], 150, exclude=[(1,)])[0] == (2,)
    assert bs.place([100, 100], 500) == []
    assert bs.split_claim([1024, 3072], (0, 1), 2048) == [512, 1536]
    assert bs.split_claim([1000, 1000], (0, 1), 1500) == [512, 988]


def test_progress_bar_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    bs.boot_storm(bs.storm_guests(4, 2, 8192, seed=0), "node", 0, node_pages=8192, progress=True)
    assert "boot storm (node)" in capsys.readouterr().err
    bs.boot_storm(bs.storm_guests(4, 2, 8192, seed=0), "node", 0, node_pages=8192)
    assert capsys.readouterr().err == ""  # no terminal: no bar


def test_views_show_the_model_numbers(runs: dict[str, bs.StormResult]) -> None:
    results = list(runs.values())
    fig = viz_review.storm_placement(results)
    bars = [t for t in fig.data if t.name == "node 1"]
    assert [tuple(t.y) for t in bars] == [
        tuple(g.numa_node_memory[1] / MIB for g in r.guests) for r in results
    ]
    assert [a.text for a in fig.layout.annotations] == [
        "none: 2 split, 0 failed",
        "legacy: 2 split, 0 failed",
        "node: 0 split, 0 failed",
    ]
    summary = claims.viz.figure_values(viz_review.storm_summary(results))
    assert summary["split guests"] == (2, 2, 0)
    assert summary["failed builds"] == (0, 0, 0)
    assert summary["claims left over"] == (0, 0, 0)


def test_a_guest_larger_than_a_node_is_claimed_and_placed_across_nodes() -> None:
    r = bs.boot_storm([12288, 2048], "node", 0, node_pages=8192)
    big, small = r.guests
    assert big.placed == (0, 1) and big.claim == (6144, 6144)  # in proportion to free memory
    assert big.numa_node_memory == (6144, 6144) and big.split and big.claim_left == 0
    assert small.placed == (0,) and small.numa_node_memory == (2048, 0)
    assert r.claims_left == 0 and r.guest_pages + r.free_pages == r.total_pages


@pytest.mark.parametrize("seed", range(3))
def test_v8_builders_claim_while_paused_release_with_an_empty_set_and_unpause(seed: int) -> None:
    """On a v8 host the node-claim builder uses v8's ABI: it sets the claim while the new
    domain is still paused (v8 refuses a running one with EBUSY), releases what is left with
    an empty set and unpauses.  No storm step meets the rules v8 changed (no replacement, no
    offlining), so each guest lands where it lands under v7."""
    v7 = storm("node", seed, semantics="v7")
    v8 = storm("node", seed, semantics="v8")
    assert [(g.placed, g.claim, g.numa_node_memory) for g in v8.guests] == [
        (g.placed, g.claim, g.numa_node_memory) for g in v7.guests
    ]
    assert v8.claims_left == 0 and v8.split_guests == v7.split_guests == 0


def test_v8_storm_builds_unpause_every_guest() -> None:
    guests = bs.storm_guests(6, 2, 8192, seed=2)
    claims.Xen.debug_checks = True
    xen_seen: list[claims.Xen] = []
    real = bs.hosts.uniform

    def spy(*a: object, **kw: object) -> claims.Xen:
        x = real(*a, **kw)  # type: ignore[arg-type]
        xen_seen.append(x)
        return x

    bs.hosts.uniform = spy  # type: ignore[assignment]
    try:
        r = bs.boot_storm(guests, "node", 2, node_pages=8192, semantics="v8")
    finally:
        bs.hosts.uniform = real  # type: ignore[assignment]
    (xen,) = xen_seen
    built = {g.domid for g in r.guests if g.built}
    assert built and all(xen.domains[d].controller_pause_count == 0 for d in built)
    sets = [e for e in xen.events if e.op == "do_domctl_set_memory_claims"]
    installs = [e for e in sets if e.args["nr_entries"] and e.result == 0]
    releases = [e for e in sets if e.args["nr_entries"] == 0]
    left = sum(1 for g in r.guests if g.built and g.claim_left)
    assert len(installs) >= len(built) and len(releases) == left  # an empty set for what is left
    assert "do_domctl_claim_memory" not in {e.op for e in xen.events}
    assert r.claims_left == 0
