"""Controllers driven headlessly: set ``.value``, ``.click()``, check the model and the traces."""

from __future__ import annotations

import pytest
from claims.widgets import AllocationStepper, ClaimSetEditor, HeapExplorer, TraceScrubber

import claims
from claims import viz


@pytest.fixture
def xen() -> claims.Xen:
    host = claims.hosts.demo()
    host.domain_create()
    host.domain_create()
    return host


def values(fw: object) -> dict[str, tuple[object, ...]]:
    return {k: tuple(v) for k, v in viz.figure_values(fw).items()}  # type: ignore[arg-type]


def test_editor_installs_through_the_domctl(
    xen: claims.Xen, capsys: pytest.CaptureFixture[str]
) -> None:
    ed = ClaimSetEditor(xen)
    assert "unclaimed free: 4096 pages" in ed.node_free[0].value
    ed.node_pages[0].value = "1000"
    ed.host_pages.value = "24"
    ed.install.click()
    d1 = xen.domains[1]
    assert (d1.claims, d1.host_claims) == ([1000, 0], 24)
    assert ed.result.value.count("0: installed") == 1
    assert values(ed.figure)["d1 node claims"] == (1000, 0, 0)
    assert values(ed.figure)["d1 host-wide claim"] == (0, 0, 24)
    assert "unclaimed free: 3096 pages" in ed.node_free[0].value
    ev = xen.events.last()
    assert ev is not None and ev.op == "do_domctl_claim_memory"
    # replace, then release
    ed.node_pages[0].value = ""
    ed.node_pages[1].value = "10"
    ed.host_pages.value = ""
    ed.install.click()
    assert (d1.claims, d1.host_claims) == ([0, 10], 0)
    ed.release.click()
    assert d1.outstanding_pages == 0 and xen.outstanding_claims == 0
    assert capsys.readouterr().out == ""  # callbacks print nothing


@pytest.mark.parametrize(
    ("field", "text", "says"),
    [
        ("node0", "-5", "negative"),
        ("node0", "abc", "not a whole number"),
        ("node0", str(1 << 64), "too large"),
        ("host", "1.5", "not a whole number"),
        ("other", "7", "ENOENT: entry 1 (node7, 1 pages): no such online node"),
        ("node0", "5000", "ENOMEM"),
    ],
)
def test_editor_refuses_bad_values(xen: claims.Xen, field: str, text: str, says: str) -> None:
    ed = ClaimSetEditor(xen)
    ed.node_pages[1].value = "5"  # a valid row alongside
    if field == "node0":
        ed.node_pages[0].value = text
    elif field == "host":
        ed.host_pages.value = text
    else:
        ed.other_target.value = text
        ed.other_pages.value = "1"
    before = xen.state()
    ed.install.click()
    assert says in ed.result.value and "nothing changed" in ed.result.value
    assert xen.state() == before
    assert values(ed.figure)["d1 node claims"] == (0, 0, 0)


def test_editor_legacy_switch(xen: claims.Xen) -> None:
    ed = ClaimSetEditor(xen, domid=2)
    ed.legacy.value = True
    ed.host_pages.value = "100"
    ed.install.click()
    assert xen.domains[2].outstanding_pages == 100
    ed.install.click()  # one legacy claim per domain
    assert "EINVAL" in ed.result.value and "already has a claim" in ed.result.value
    ed.node_pages[0].value = "1"
    ed.host_pages.value = "0"
    ed.install.click()
    assert "LEGACY cannot be combined with node claims" in ed.result.value


def test_stepper_steps_and_redraws(xen: claims.Xen) -> None:
    ClaimSetEditor(xen)  # unused: the stepper sees the same host
    xen.domain_set_claim_entries(
        xen.domains[1],
        [claims.xen_memory_claim_t(512, 1), claims.xen_memory_claim_t(64, 0x80000000)],
    )
    st = AllocationStepper(xen)
    st.domain.value = 1
    st.order.value = "9"
    st.node.value = 1
    st.exact.value = True
    st.step.click()
    assert xen.domains[1].claims == [0, 0]
    assert values(st.bars)["d1 allocated"] == (0, 512, 0)
    assert values(st.redeem)["same-node claim"] == (512,)
    assert "MFN 0x2e00 on node 1; redeemed: node1 512" in st.log.value
    assert "MEMF_node(1)|MEMF_exact_node" in st.log.value
    # Run N: order 0 on node 0, host-wide claim first, then unclaimed
    st.order.value = "0"
    st.node.value = 0
    st.count.value = "70"
    st.run.click()
    assert st.progress.value == 70
    assert values(st.redeem)["host-wide claim"][-20:].count(1) == 14  # steps 51..64 of 70
    assert xen.domains[1].outstanding_pages == 0
    assert "70 allocations" in st.result.value
    assert st.progress.description == "70 of 70" and st.progress.bar_style == "success"
    st.count.value = "5"
    st.order.value = "1"
    st.step.click()
    assert "1 allocation;" in st.result.value  # one, not "1 allocations"


def test_stepper_null_and_bad_values(xen: claims.Xen) -> None:
    st = AllocationStepper(xen)
    st.domain.value = 1
    st.order.value = "13"  # more than a node holds
    st.node.value = 0
    st.exact.value = True
    st.step.click()
    assert "NULL after 0 allocations: no suitable free block" in st.result.value
    assert (st.progress.description, st.progress.bar_style) == ("NULL at 1 of 1", "danger")
    st.order.value = "12"  # node 0's 4096 pages, then NULL: the bar says where it stopped
    st.count.value = "3"
    st.run.click()
    assert "NULL after 1 allocation:" in st.result.value
    assert (st.progress.value, st.progress.max, st.progress.description) == (2, 3, "NULL at 2 of 3")
    before = xen.state()
    for bad in ("-1", "x", ""):
        st.order.value = bad
        st.step.click()
        assert "refused" in st.result.value
    st.order.value = "0"
    st.count.value = "0"
    st.run.click()
    assert "N must be at least 1" in st.result.value
    assert xen.state() == before


def test_heap_explorer(xen: claims.Xen) -> None:
    xen.alloc_domheap_pages(xen.domains[1], 4, claims.MEMF_node(1))
    he = HeapExplorer(xen)
    he.node.value = 1
    names = {t.name for t in he.strip.data}
    assert names == {"free clean", "d1 allocated"}
    assert list(he.buddy.data[0].z[1][4:12]) == [1, 1, 1, 1, 1, 1, 1, 1]
    he.zone.value = 14
    assert "zone 14" in he.strip.figure.layout.title.text
    he.node.value = 0  # a new node: its zones, and "all" shown, not a blank selector
    assert (he.zone.index, he.zone.label, he.zone.value) == (0, "all", None)
    assert "node 0: 4096 free pages" in he.result.value


def test_trace_scrubber_replays_on_a_copy(xen: claims.Xen) -> None:
    d1 = xen.domains[1]
    xen.domain_set_claim_entries(d1, [claims.xen_memory_claim_t(100, 0)])
    xen.alloc_domheap_pages(d1, 5, claims.MEMF_node(0))
    ts = TraceScrubber(xen)
    n = len(xen.events.top_level())
    assert ts.slider.max == n and values(ts.figure)["d1 node claims"][0] == 68
    ts.prev.click()
    assert values(ts.figure)["d1 node claims"][0] == 100
    assert "domain_set_claim_entries" in ts.what.value
    assert "1 event before the newest" in ts.result.value
    ts.slider.value = 0
    assert ts.copy.total_avail_pages == 0
    ts.next.click()
    assert ts.copy.total_avail_pages == 8192
    assert d1.claims[0] == 68  # the live host is untouched
    xen.free_domheap_pages(*xen.owned_pages(d1)[0])
    ts.refresh()
    ts.slider.value = ts.slider.max
    assert ts.copy.state()["total_avail_pages"] == xen.total_avail_pages


# ---------------------------------------------------------- ClaimsExplorer
def counters(app: object) -> dict[str, list[str]]:
    """The counters table as rows: header cell -> the cells after it."""
    import re

    table = app.counters.value  # type: ignore[attr-defined]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        out[cells[0]] = cells[1:]
    return out


def test_explorer_wires_install_step_and_trace() -> None:
    from claims.widgets import ClaimsExplorer

    app = ClaimsExplorer()
    ed, st, sc = app.editor, app.stepper, app.scrubber
    assert ed.figure is None and st.bars is None and sc.figure is None  # one chart: app.bars
    assert sorted(app.xen.domains) == [1, 2] and app.xen.semantics == "v7"
    assert "host demo: 2 nodes x 4096 pages (v7), domains d1 and d2" in app.result.value
    assert counters(app)["free"] == ["4096", "4096", "8192", "total_avail_pages"]
    assert counters(app)["claimed"] == ["0", "0", "0", "outstanding_claims"]
    assert sc.slider.value == sc.slider.max == 3  # init_heap_pages, two domain_create
    assert values(app.bars)["unclaimed free"] == (4096, 4096, 8192)
    # Install in the editor: the chart, the counters and the trace follow
    ed.node_pages[1].value = "1000"
    ed.host_pages.value = "200"
    ed.install.click()
    assert "0: installed" in ed.result.value
    assert values(app.bars)["d1 node claims"] == (0, 1000, 0)
    assert counters(app)["claimed"][:3] == ["0", "1000", "1200"]
    assert counters(app)["unclaimed free"][:3] == ["4096", "3096", "6992"]
    assert sc.slider.value == sc.slider.max == 4
    assert "do_domctl_claim_memory(d=d1, mode=SET, nr_entries=2) → 0" in sc.what.value
    # Step in the stepper: the editor's labels, the chart, the counters and the trace follow
    st.order.value = "9"
    st.node.value = 1
    st.step.click()
    assert "1 allocation; last MFN 0x2e00 on node 1" in st.result.value
    assert values(app.bars)["d1 node claims"] == (0, 488, 0)
    assert "unclaimed free: 3096 pages" in ed.node_free[1].value
    assert counters(app)["free"][:2] == ["4096", "3584"]
    assert counters(app)["claimed"][:2] == ["0", "488"]
    assert sc.slider.value == 5 and sc.copy.domains[1].claims == [0, 488]
    # moved back, the trace and the chart stay where the reader put them; the count follows
    sc.prev.click()
    assert values(app.bars)["d1 allocated"] == (0, 0, 0)
    assert "after event 4 of 5" in app.bars.figure.layout.title.text
    st.step.click()
    assert (sc.slider.value, sc.slider.max) == (4, 6)
    assert "4 of 6 events replayed on a copy (2 events before the newest)" in sc.result.value
    assert values(app.bars)["d1 allocated"] == (0, 0, 0)  # still the copy after event 4
    assert "after event 4 of 6" in app.bars.figure.layout.title.text
    sc.slider.value = sc.slider.max  # back at the end: the live host again
    assert values(app.bars)["d1 allocated"] == (0, 1024, 0)
    assert "replayed" not in app.bars.figure.layout.title.text
    # a refusal changes nothing and reaches no result line as an internal error
    before = app.xen.state()
    ed.node_pages[0].value = "5000"
    ed.install.click()
    assert "ENOMEM" in ed.result.value and app.xen.state() == before
    assert "internal error" not in app.result.value + ed.result.value + st.result.value
    # the refusal goes stale once another panel changes the host
    st.step.click()
    assert ed.result.value == "" and ed.result_ok is None
    # a successful result stays: it is history, not a claim about the present
    ed.node_pages[0].value = ""
    ed.install.click()
    st.step.click()
    assert "0: installed" in ed.result.value


def test_editor_loads_the_chosen_domains_claims(xen: claims.Xen) -> None:
    xen.domain_set_claim_entries(
        xen.domains[2],
        [claims.xen_memory_claim_t(30, 1), claims.xen_memory_claim_t(7, 0x80000000)],
    )
    ed = ClaimSetEditor(xen, domid=2)
    assert [b.value for b in ed.node_pages] == ["", "30"] and ed.host_pages.value == "7"
    ed.node_pages[0].value = "5"  # typed, not installed
    ed.domain.value = 1
    assert [b.value for b in ed.node_pages] == ["", ""] and ed.host_pages.value == ""
    ed.domain.value = 2
    assert [b.value for b in ed.node_pages] == ["", "30"] and ed.host_pages.value == "7"
    ed.install.click()  # the loaded set installs as it is: nothing changes
    assert (xen.domains[2].claims, xen.domains[2].host_claims) == ([0, 30], 7)
    assert ed.legacy.indent is False and ed.legacy.layout.width == "auto"  # the label fits


@pytest.mark.parametrize(
    ("text", "want"),
    [("10", 10), ("0x10", 16), ("0o10", 8), ("0b11", 3), ("1_000", 1000), ("0", 0), ("00", 0),
     (" 7 ", 7), ("", None)],
)  # fmt: skip
def test_number_boxes_read_python_literals(text: str, want: int | None) -> None:
    from claims.views.controllers import parse_count

    assert parse_count("pages", text) == want


def test_number_boxes_refuse_a_leading_zero() -> None:
    from claims.views.controllers import parse_count

    with pytest.raises(ValueError, match="'010' has a leading zero, which C reads as octal: "
                       "write 10 for decimal, or use a 0o, 0x or 0b prefix"):  # fmt: skip
        parse_count("pages", "010")
    with pytest.raises(ValueError, match="not a whole number"):
        parse_count("pages", "0x")


def test_explorer_presets_rebuild_and_close_the_old_controllers() -> None:
    from claims.widgets import ClaimsExplorer

    app = ClaimsExplorer()
    old = app.editor
    old_host, old_panels = app.xen, [*app.panels.children, *app.trace.children]
    chart = app.bars
    old.node_pages[0].value = "10"
    old.install.click()
    for key, nodes, semantics in [
        ("four-nodes", 4, "v7"),
        ("demo-v6", 2, "v6"),
        ("demo-v8", 2, "v8"),
        ("big", 8, "v7"),
        ("demo", 2, "v7"),
    ]:
        app.preset.value = key
        assert (app.xen.nr_nodes, app.xen.semantics) == (nodes, semantics)
        assert len(app.editor.node_pages) == nodes and app.editor.xen is app.xen
        assert app.stepper.xen is app.xen and app.scrubber.xen is app.xen
        assert sorted(app.xen.domains) == [1, 2] and app.xen.outstanding_claims == 0
        assert app.trace.children[0].children[1] is app.scrubber.widget
        assert app.bars is chart and len(values(chart)["unclaimed free"]) == nodes + 1
        assert len(counters(app)["free"]) == nodes + 2
        domctl = "set_memory_claims" if semantics == "v8" else "claim_memory"
        assert domctl in app.panels.children[0].children[0].value
        assert "new host" in app.result.value
    assert old.install.comm is None  # closed, views gone
    assert all(w.comm is None for w in old_panels)
    assert old_host.domains[1].claims == [10, 0]  # the old host is left as it was
    # New host: a fresh host of the same preset
    app.stepper.step.click()
    host = app.xen
    app.new_host.click()
    assert app.xen is not host and app.xen.total_avail_pages == 8192
    assert app.scrubber.slider.max == 3
    with pytest.raises(ValueError, match="not one of demo"):
        ClaimsExplorer("huge")
    with pytest.raises(TypeError, match="preset name"):
        ClaimsExplorer(3)  # type: ignore[arg-type]


def test_stepper_reports_xens_bug_on_a_page_marked_offline(xen: claims.Xen) -> None:
    """A page marked offline but not reserved is not free: the step Xen would BUG() on
    is shown as such, and nothing changes."""
    xen.mark_page_offline(0x1FFF)  # the top page of node 0's buddy: the first order-0 pick
    st = AllocationStepper(xen)
    st.domain.value = 1
    st.order.value = "0"
    st.node.value = 0
    st.exact.value = True
    before = xen.state()
    st.step.click()
    assert isinstance(st.last_error, claims.XenBugError)
    assert "MFN 0x1fff is offlined, not free" in st.result.value
    assert "Xen would BUG() here; the model changed nothing" in st.result.value
    assert xen.state() == before


def test_editor_follows_v8s_rules_on_a_v8_host(capsys: pytest.CaptureFixture[str]) -> None:
    """On a v8 host Install is XEN_DOMCTL_set_memory_claims (no replacement: EINVAL while the
    domain has claims; EBUSY once the toolstack let it run) and Release the empty set."""
    xen = claims.hosts.demo("v8")
    d1 = xen.domain_create()
    ed = ClaimSetEditor(xen)
    ed.node_pages[0].value = "1000"
    ed.install.click()
    assert d1.claims == [1000, 0] and ed.result.value.count("0: installed") == 1
    ev = xen.events.last()
    assert ev is not None and ev.op == "do_domctl_set_memory_claims"
    ed.node_pages[0].value = ""
    ed.node_pages[1].value = "10"
    ed.install.click()
    assert "EINVAL" in ed.result.value and "release them first" in ed.result.value
    assert d1.claims == [1000, 0]  # refused: nothing changed
    ed.release.click()
    assert "0: released" in ed.result.value and d1.outstanding_pages == 0
    ev = xen.events.last()
    assert ev is not None and ev.args["nr_entries"] == 0
    ed.install.click()
    assert d1.claims == [0, 10]
    ed.release.click()
    ed.node_pages[1].value = "0"
    ed.install.click()
    assert "EINVAL" in ed.result.value and "zero pages" in ed.result.value
    ed.node_pages[1].value = "10"
    xen.domain_unpause_by_systemcontroller(d1)
    ed.install.click()  # EBUSY comes before the entries are looked at
    assert "EBUSY" in ed.result.value and d1.outstanding_pages == 0
    ed.release.click()  # release works on a running domain
    assert "0: released" in ed.result.value
    assert capsys.readouterr().out == ""


def test_snapshots_keep_the_moment(xen: claims.Xen) -> None:
    """A controller is live; its snapshot is not: later clicks leave it as it was."""
    ed = ClaimSetEditor(xen)
    ed.node_pages[0].value = "100"
    ed.install.click()
    shot = ed.snapshot()
    ed.release.click()
    assert "0: installed; d1 claims {'host': 0, 'node0': 100}" in shot.text
    assert "d1: rows node 0 100, node 1 -, host-wide -" in shot.text
    assert values(shot.figures[0])["d1 node claims"] == (100, 0, 0)
    assert "0: released" in ed.snapshot().text
    assert values(ed.figure)["d1 node claims"] == (0, 0, 0)  # the live view moved on
    st = AllocationStepper(xen)
    st.domain.value = 1
    st.step.click()
    first = st.snapshot()
    st.step.click()
    assert len(values(first.figures[1])["unclaimed memory"]) == 1
    assert len(values(st.snapshot().figures[1])["unclaimed memory"]) == 2
    assert "d1, order 0, memflags 0" in first.text
