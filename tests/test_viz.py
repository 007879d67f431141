"""Views: each figure's data checked against the model's numbers."""

from __future__ import annotations

import claims
from claims import MEMF_node, viz
from claims import xen_memory_claim_t as E

HOST = claims.XEN_DOMCTL_CLAIM_MEMORY_HOST


def scene() -> claims.Xen:
    """The CNIS host after its SET and two allocations, plus an offlined page."""
    xen = claims.hosts.native_harness(4)
    xen.init_heap_pages(8, 4)
    xen.init_heap_pages(24, 4)
    d1 = xen.domains[1]
    assert xen.domain_set_claim_entries(d1, [E(2, HOST), E(2, 0), E(2, 1)]) == 0
    xen.alloc_domheap_pages(d1, 0, MEMF_node(0))  # 11
    xen.alloc_domheap_pages(d1, 1, MEMF_node(1))  # 26..27: node1 claim 2
    xen.alloc_domheap_pages(xen.domains[2], 0, MEMF_node(1))  # 25: unclaimed
    xen.offline_page(8)
    return xen


def test_node_bars_numbers() -> None:
    xen = scene()
    v = viz.figure_values(viz.node_bars(xen))
    assert v["d1 allocated"] == (1, 2, 0)
    assert v["d2 allocated"] == (0, 1, 0)
    assert v["d1 node claims"] == (1, 0, 0)
    assert v["d1 host-wide claim"] == (0, 0, 2)
    # node 0: 2 free (9, 10), 1 claimed -> 1 unclaimed; node 1: 24 free, nothing claimed
    assert v["unclaimed free"] == (1, 1, xen.total_avail_pages - xen.outstanding_claims)
    assert v["unclaimed free"][2] == 0  # 3 free, 3 claimed
    assert v["offlined"] == (1, 0, 0)
    # one colour per domain across views
    fig = viz.node_bars(xen)
    colours = {t.name: t.marker.color for t in fig.data}
    assert colours["d1 allocated"] == colours["d1 node claims"] == viz.domain_colour(1)
    assert colours["d2 allocated"] == viz.domain_colour(2) != viz.domain_colour(1)


def test_buddyinfo_matches_free_lists() -> None:
    xen = scene()
    fig = viz.buddyinfo(xen)
    z = [list(r) for r in fig.data[0].z]
    assert z == xen.buddyinfo()
    assert z[0][:2] == [2, 0] and z[1][:2] == [1, 0]  # node 0: 9, 10; node 1: 24
    assert viz.buddyinfo(xen, zone=5).data[0].z[1][0] == 1  # 24 is in zone 5


def test_address_strip_runs() -> None:
    xen = scene()
    runs = viz.strip_runs(xen, 0)
    assert [(s, n, st) for s, n, st, _ in runs] == [
        (4, 4, "reserved"),
        (8, 1, "offlined"),
        (9, 1, "free clean"),
        (10, 1, "free clean"),
        (11, 1, "d1"),
        (12, 8, "reserved"),
    ]
    fig = viz.address_strip(xen, 0)
    names = {t.name for t in fig.data}
    assert names == {"reserved", "offlined", "free clean", "d1 allocated"}
    off = next(t for t in fig.data if t.name == "offlined")
    assert tuple(off.base) == (8,) and "MFN 0x8-0x8" in off.hovertext[0]


def test_address_strip_big_node_draws_from_runs() -> None:
    xen = claims.hosts.uniform(2, 1 << 28)
    fig = viz.address_strip(xen, 1)
    free = next(t for t in fig.data if t.name == "free clean")
    assert len(free.x) == 1024 and sum(free.x) == 1 << 28


def test_redemption_view() -> None:
    xen = scene()
    fig = viz.redemption(xen.events)
    v = viz.figure_values(fig)
    assert v["same-node claim"] == (1, 2, 0)
    assert v["host-wide claim"] == (0, 0, 0)
    assert v["unclaimed memory"] == (0, 0, 1)
    assert tuple(fig.data[0].x) == (
        "#5 d1 o0 → node 0",
        "#6 d1 o1 → node 1",
        "#7 d2 o0 → node 1",
    )


def test_redemption_three_steps() -> None:
    xen = claims.hosts.native_harness(4)
    xen.init_heap_pages(8, 8)
    xen.init_heap_pages(24, 4)
    d1 = xen.domains[1]
    xen.domain_set_claim_entries(d1, [E(1, HOST), E(1, 0), E(2, 1)])
    xen.alloc_domheap_pages(d1, 2, MEMF_node(0))
    parts = viz.redemption_parts(xen.events.last())  # type: ignore[arg-type]
    assert parts == {
        "same-node claim": 1,
        "host-wide claim": 1,
        "other nodes' claims": 2,
        "unclaimed memory": 0,
    }


def test_timeline() -> None:
    xen = scene()
    fig = viz.timeline(xen.events)
    v = viz.figure_values(fig)
    assert v["outstanding_claims"][-1] == xen.outstanding_claims == 3
    assert v["total_avail_pages"][-1] == xen.total_avail_pages
    assert v["d1 outstanding_pages"][-1] == 3
    assert 6 in v["outstanding_claims"]


def test_redemption_sankey() -> None:
    xen = scene()
    fig = viz.redemption_sankey(xen.events)
    sk = fig.data[0]
    labels = list(sk.node.label)
    flows = {
        (labels[a], labels[b]): v
        for a, b, v in zip(sk.link.source, sk.link.target, sk.link.value, strict=True)
    }
    assert flows == {
        ("same-node claim", "node 0"): 1,
        ("same-node claim", "node 1"): 2,
        ("unclaimed memory", "node 1"): 1,
    }
