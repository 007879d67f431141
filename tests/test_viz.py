"""Views: each figure's data checked against the model's numbers, and the one visual
language every figure speaks (``claims.views.style``)."""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import pytest

import claims
from claims import MEMF_node, viz, viz_bench, viz_review
from claims import xen_memory_claim_t as E
from claims.review.runner import Comparison, compare
from claims.review.scenario import load, shipped
from claims.views import style
from claims.views.report import html_report, report_figures

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
    assert names == {"never handed to the heap", "offlined", "free clean", "d1 allocated"}
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
        "#5 d1 order 0 → node 0",
        "#6 d1 order 1 → node 1",
        "#7 d2 order 0 → node 1",
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


# ---------------------------------------------------------------- the palette
def _lab(colour: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of ``#rrggbb``."""

    def lin(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _contrast(a: str, b: str) -> float:
    def lum(c: str) -> float:
        ch = [int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _entries(fams: tuple[str, ...]) -> dict[str, str]:
    table = style.families()
    return {f"{f}:{k}": c for f in fams for k, c in table[f].items()}


def _alias(a: str, b: str) -> bool:
    short = {k.split(" (")[0] for k in (a, b)}
    return any({x, y} == short for x, y in style.ALIASES)


@pytest.mark.parametrize("group", list(style.CO_OCCUR))
def test_families_that_meet_share_no_colour(group: str) -> None:
    """In figures that show several families, a colour means one thing: no two entries
    share a colour unless they mean the same (``ALIASES``), and any two colours differ
    by at least 15 (CIE76 delta E)."""
    entries = _entries(style.CO_OCCUR[group])
    for (ka, a), (kb, b) in itertools.combinations(entries.items(), 2):
        if a.lower() == b.lower():
            assert _alias(ka, kb), f"{ka} and {kb} share {a}"
            continue
        delta = math.dist(_lab(a), _lab(b))
        assert delta >= 15, f"{ka} {a} and {kb} {b} are too close (delta E {delta:.1f})"


def test_every_colour_means_one_thing_across_the_kit() -> None:
    """Over the whole palette, equal colours are declared aliases, nothing else."""
    seen: dict[str, str] = {}
    for key, colour in _entries(tuple(style.families())).items():
        other = seen.setdefault(colour.lower(), key)
        assert other == key or _alias(other, key), f"{other} and {key} share {colour}"


def test_palette_reads_on_light_and_dark_themes() -> None:
    for key, colour in _entries(tuple(style.families())).items():
        assert _contrast(colour, "#ffffff") >= 1.5, key
        assert _contrast(colour, "#111111") >= 2.1, key
    for bg in ("#ffffff", "#111111"):
        assert _contrast(style.TEXT, bg) >= 4
        for colour in style.STATUS.values():  # text: result lines
            assert _contrast(colour, bg) >= 4.2


def test_docstring_table_lists_every_colour() -> None:
    doc = style.__doc__ or ""
    listed = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}", doc)}
    assert listed == {c.lower() for c in _entries(tuple(style.families())).values()}


def test_node_bars_and_redemption_give_free_and_claims_their_own_colours() -> None:
    xen = scene()
    bars = {t.name: t.marker.color for t in viz.node_bars(xen).data}
    redeem = {t.name: t.marker.color for t in viz.redemption(xen.events).data}
    assert bars["unclaimed free"] != redeem["same-node claim"]
    assert redeem["unclaimed memory"] == bars["unclaimed free"]  # the same meaning
    claims_colours = {redeem[k] for k in ("same-node claim", "host-wide claim",
                                          "other nodes' claims")}  # fmt: skip
    assert not claims_colours & {bars[k] for k in bars}
    assert len(claims_colours) == 3


def test_template_is_transparent_and_grey() -> None:
    fig = viz.node_bars(scene())
    lay = fig.layout.template.layout
    assert lay.paper_bgcolor == lay.plot_bgcolor == style.TRANSPARENT
    assert lay.font.color == style.TEXT
    style.register_template()
    import plotly.io as pio

    assert pio.templates["claims"].to_plotly_json() == style.template().to_plotly_json()


def _legend_clear_of_ticks(fig: Any) -> None:
    leg = fig.layout.legend
    assert (leg.x is not None and leg.x >= 1) or (leg.y is not None and leg.y >= 1)


# ---------------------------------------------------------------- axes
def test_page_axes_tick_whole_numbers() -> None:
    xen = scene()
    for fig in (viz.node_bars(xen), viz.redemption(xen.events), viz.timeline(xen.events)):
        y = fig.layout.yaxis
        assert y.tickformat == ",d" and y.dtick == 1 and y.rangemode == "nonnegative"
        _legend_clear_of_ticks(fig)
    big = viz.node_bars(claims.hosts.demo()).layout.yaxis
    assert big.tickformat == ",d" and big.dtick is None  # plotly's own whole steps
    bar = viz.buddyinfo(xen).data[0].colorbar
    assert bar.tickformat == ",d" and bar.dtick == 1


def test_mfn_axis_ticks_at_round_hex() -> None:
    for xen, node in (
        (scene(), 0),
        (claims.hosts.demo(), 1),
        (claims.hosts.uniform(2, 1 << 28), 1),
    ):
        ax = viz.address_strip(xen, node).layout.xaxis
        vals, text = list(ax.tickvals), list(ax.ticktext)
        assert len(vals) >= 4
        step = vals[1] - vals[0]
        assert step & (step - 1) == 0  # a power of two
        assert all(v % step == 0 for v in vals)
        assert text == [f"{v:#x}" for v in vals] and all(t.startswith("0x") for t in text)
        lo, hi = ax.range
        assert lo <= vals[0] and vals[-1] <= hi


def test_hex_ticks_of_odd_ranges() -> None:
    vals, text = style.hex_ticks(0x1234, 0x1F00)
    assert vals[0] >= 0x1234 and vals[-1] <= 0x1F00 and text[0].startswith("0x")
    step = vals[1] - vals[0]
    assert step & (step - 1) == 0 and 4 <= len(vals) <= 12


# ---------------------------------------------------------------- MFN 0, empty states
def test_mfn_0_and_never_handed_pages_are_told_apart() -> None:
    small = claims.Xen([range(0, 64)])
    small.init_heap_pages(0, 23)
    runs = viz.strip_runs(small, 0)
    assert runs[0][:3] == (0, 1, "MFN 0") and runs[-1][:3] == (23, 41, "reserved")
    fig = viz.address_strip(small, 0)
    colours = {t.name: t.marker.color for t in fig.data}
    assert set(colours) == {"MFN 0 (kept out of the heap)", "free clean",
                            "never handed to the heap"}  # fmt: skip
    assert colours["MFN 0 (kept out of the heap)"] != colours["never handed to the heap"]
    never = next(t for t in fig.data if t.name == "never handed to the heap")
    assert never.marker.pattern.shape == "/"


def _assert_empty(fig: Any, words: str) -> None:
    assert style.is_empty_state(fig)
    assert words in style.empty_message(fig)
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    assert viz.figure_values(fig) == {}


def test_figures_without_data_say_what_will_appear() -> None:
    _assert_empty(viz.redemption([]), "No allocation yet")
    _assert_empty(viz.redemption_sankey([]), "No allocation yet")
    _assert_empty(viz.timeline([]), "No event yet")
    _assert_empty(viz_review.storm_placement([]), "No storm run yet")
    _assert_empty(viz_review.storm_summary([]), "No storm run yet")
    _assert_empty(viz_bench.allocation_rates([]), "No records yet")
    fresh = claims.hosts.demo()
    _assert_empty(viz.redemption(fresh.events), "No allocation yet")
    # with data, no message
    assert not style.is_empty_state(viz.redemption(scene().events))


def test_offline_recall_placement_says_no_guest_holds_memory() -> None:
    cmp = compare(load(shipped("offline-recall")), ["master", "v7"])
    fig = viz_review.scenario_placement(cmp)
    _assert_empty(fig, "No guest holds memory at the end (a, b)")


# ---------------------------------------------------------------- scenarios
@pytest.fixture(scope="module")
def blind() -> Comparison:
    return compare(load(shipped("placement-blind-to-claims")), ["master", "v6", "v7", "v8"])


def test_scenario_counters_one_colour_per_rule_set(blind: Comparison) -> None:
    fig = viz_review.scenario_counters(blind)
    by_set: dict[str, set[str]] = {}
    for t in fig.data:
        by_set.setdefault(t.name, set()).update({t.line.color, t.marker.color})
    assert {k: v for k, v in by_set.items()} == {
        s: {style.VERSIONS[s]} for s in ("master", "v6", "v7", "v8")
    }
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert sorted(shown) == sorted(by_set) and len(shown) == len(set(shown))
    # both panels: each rule set once per panel
    assert sorted(t.name for t in fig.data if t.xaxis == "x2") == sorted(by_set)
    _legend_clear_of_ticks(fig)


def test_counters_near_a_big_number_tick_whole_pages(blind: Comparison) -> None:
    cmp = compare(load(shipped("offline-recall")), ["master", "v7"])
    fig = viz_review.scenario_counters(cmp)
    free = fig.layout.yaxis  # 8192 down to 8190
    assert free.tickformat == ",d" and free.dtick == 1


def test_domains_are_named_as_the_scenario_names_them(blind: Comparison) -> None:
    r = blind.runs[2]
    names = {domid: name for name, domid in r.names.items()}
    v = viz.figure_values(viz.node_bars(r.xen, names=names))
    assert "vm1 allocated" in v and "vm1 node claims" in v and "d1 allocated" not in v
    report_bars = report_figures(blind)[2:]
    assert all("vm1 allocated" in viz.figure_values(f) for f in report_bars)
    labels = viz.redemption(r.xen.events, names=names).data[0].x
    assert labels and all(" vm1 order " in x or " vm2 order " in x for x in labels)
    strip = viz.address_strip(r.xen, 1, names=names)
    assert "vm1 allocated" in {t.name for t in strip.data}
    assert "vm1 outstanding_pages" in viz.figure_values(viz.timeline(r.xen.events, names=names))


def test_timeline_takes_a_title() -> None:
    xen = scene()
    assert viz.timeline(xen.events).layout.title.text == viz.TIMELINE_TITLE
    fig = viz.timeline(xen.events, title="v7: the claims line meets free memory")
    assert fig.layout.title.text == "v7: the claims line meets free memory"


def test_html_report_is_offline_and_uses_the_palette(blind: Comparison) -> None:
    page = html_report(blind)
    # plotly.js inline, once: no <script src=...> (plotly.js itself mentions a CDN for
    # map topologies, which these figures never load)
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert page.count("<script>/**\n* plotly.js v") == 1
    assert page.count("Plotly.newPlot") == len(report_figures(blind))
    assert style.STATUS["ok"] in page and style.STATUS["error"] in page
    assert "prefers-color-scheme: dark" in page
    assert "background: #fde0dd" not in page and "vm1 allocated" in page


# ---------------------------------------------------------------- bench
def test_speed_target_is_named_by_its_number() -> None:
    rates = [{"host": "a", "order": 0, "n": 8, "alloc_per_s": 1.0, "free_per_s": 2.0}]
    fig = viz_bench.allocation_rates(rates)
    text = " ".join(a.text for a in fig.layout.annotations)
    assert "speed target" in text and f"{viz_bench.TARGET_ALLOCS_PER_S:,}" in text
    assert "issue" not in text
    # benchmarks are drawn in the neutral ink, told apart by pattern, not by a colour
    # that means something elsewhere
    assert fig.data[0].marker.line.color == style.BENCH_INK == style.TEXT


def test_any_two_meanings_differ_across_the_whole_palette() -> None:
    """Not only within a figure: a reader who learnt a colour in one notebook must not
    meet a close one meaning something else in another.  Greys (all "nothing claims
    this") are the one exception."""
    table = style.families()
    entries = {f"{f}:{k}": c for f, d in table.items() for k, c in d.items()}

    def grey(c: str) -> bool:
        _, a, b = _lab(c)
        return math.hypot(a, b) < 6

    for (ka, a), (kb, b) in itertools.combinations(entries.items(), 2):
        if a.lower() == b.lower() or (grey(a) and grey(b)):
            continue
        delta = math.dist(_lab(a), _lab(b))
        assert delta >= 15, f"{ka} {a} and {kb} {b} are too close (delta E {delta:.1f})"
