"""Voilà in headless chromium: the claims-explorer app, driven as a reader drives it."""

from __future__ import annotations

from typing import Any

import pytest

from .support import ARTIFACTS, Server, control, figure_values, wait_figure

pytestmark = pytest.mark.browser

FIRST_RENDER_MS = 120_000  # Voilà runs the notebook, then the first FigureWidgets draw


def test_voila_app_preset_install_step_scrub(page: Any, voila_server: Server) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2400})  # the whole app on screen
    page.goto(voila_server.url + "/")
    app = page.locator(".claims-explorer")
    app.wait_for(timeout=FIRST_RENDER_MS)
    result = app.locator(".claims-explorer-result")
    counters = app.locator(".claims-explorer-counters")
    expect(result).to_have_text("host demo: 2 nodes x 4096 pages (v7), domains d1 and d2")
    expect(counters).to_contain_text("total_avail_pages 8192, outstanding_claims 0;")
    wait_figure(app.locator(".claims-explorer-editor .js-plotly-plot"), timeout_ms=FIRST_RENDER_MS)
    app.screenshot(path=str(ARTIFACTS / "voila-1-start.png"))

    # 1. pick a host preset: the controllers are rebuilt for four nodes
    control(app, "host", "dropdown").select_option(label="4 nodes x 4096 pages (v7)")
    expect(result).to_have_text("new host 4 nodes x 4096 pages (v7), domains d1 and d2")
    expect(counters).to_contain_text("total_avail_pages 16384, outstanding_claims 0;")
    editor = app.locator(".claims-explorer-editor")
    stepper = app.locator(".claims-explorer-stepper")
    trace = app.locator(".claims-explorer-trace")
    ed_fig = editor.locator(".js-plotly-plot")
    bars, redeem = (stepper.locator(".js-plotly-plot").nth(i) for i in (0, 1))
    tr_fig = trace.locator(".js-plotly-plot")
    wait_figure(ed_fig, "unclaimed free", [4096, 4096, 4096, 4096, 16384])
    assert figure_values(ed_fig)["d1 node claims"] == [0, 0, 0, 0, 0]

    # 2. edit and install a claim set for d1: 1000 pages on node 2, 200 host-wide
    control(editor, "node 2").fill("1000")
    control(editor, "host-wide").fill("200")
    editor.get_by_role("button", name="Install", exact=True).click()
    expect(editor.get_by_text("0: installed;")).to_have_text(
        "0: installed; d1 claims {'host': 200, 'node2': 1000}"
    )
    wait_figure(ed_fig, "d1 node claims", [0, 0, 1000, 0, 0])
    assert figure_values(ed_fig)["d1 host-wide claim"] == [0, 0, 0, 0, 200]
    wait_figure(bars, "d1 node claims", [0, 0, 1000, 0, 0])  # the stepper's view follows
    expect(counters).to_contain_text("outstanding_claims 1200")
    expect(counters).to_contain_text("node 2 4096 free / 1000 claimed")
    app.screenshot(path=str(ARTIFACTS / "voila-2-installed.png"))

    # 3. step an order-9 allocation for d1 on node 2: node 2's claim pays for it
    control(stepper, "order").fill("9")
    control(stepper, "node", "dropdown").select_option(label="node 2")
    stepper.get_by_role("button", name="Step", exact=True).click()
    expect(stepper.get_by_text("1 allocations;")).to_have_text(
        "1 allocations; last MFN 0x102e00 on node 2"
    )
    wait_figure(redeem, "same-node claim", [512])
    wait_figure(bars, "d1 node claims", [0, 0, 488, 0, 0])
    assert figure_values(bars)["d1 allocated"] == [0, 0, 512, 0, 0]
    wait_figure(ed_fig, "d1 node claims", [0, 0, 488, 0, 0])  # and the editor's view
    expect(counters).to_contain_text("node 2 3584 free / 488 claimed")

    # 4. scrub the trace: it followed the step; one event back is the install
    expect(trace).to_contain_text("alloc_domheap_pages(d=1, order=9")
    wait_figure(tr_fig, "d1 allocated", [0, 0, 512, 0, 0])
    app.screenshot(path=str(ARTIFACTS / "voila-3-stepped.png"))
    trace.get_by_role("button", name="◀ back").click()
    expect(trace).to_contain_text("do_domctl_claim_memory(d=1")
    wait_figure(tr_fig, "d1 allocated", [0, 0, 0, 0, 0])
    assert figure_values(tr_fig)["d1 node claims"] == [0, 0, 1000, 0, 0]
    expect(counters).to_contain_text("node 2 3584 free / 488 claimed")  # the live host stays
    app.screenshot(path=str(ARTIFACTS / "voila-4-scrubbed.png"))
    page.screenshot(path=str(ARTIFACTS / "voila-page.png"))
