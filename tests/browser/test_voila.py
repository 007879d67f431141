"""Voilà in headless chromium: the claims-explorer app, driven as a reader drives it.

The test prints what a reader waits for (a benchmark, not a timed assertion; the
README's "Speed in the browser" records the figures): the app's first figures after
opening it, the redraw after a host change and after **New host**, and Install,
Step and a move of the trace slider.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from .support import ARTIFACTS, Server, control, figure_values, timing, wait_figure

pytestmark = pytest.mark.browser

FIRST_RENDER_MS = 120_000  # bound of the wait for the first figures (the target is 5 s)

COUNTERS_JS = """el => {
  const out = {};
  for (const tr of el.querySelectorAll('tr')) {
    const cells = Array.from(tr.querySelectorAll('th,td')).map(c => c.textContent.trim());
    out[cells[0]] = cells.slice(1);
  }
  return out;
}"""


def counters(app: Any) -> dict[str, list[str]]:
    return dict(app.locator(".claims-explorer-counters").evaluate(COUNTERS_JS))


def test_voila_app_preset_install_step_scrub(page: Any, voila_server: Server) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_viewport_size({"width": 1400, "height": 1600})
    start = time.monotonic()
    page.goto(voila_server.url + "/")
    app = page.locator(".claims-explorer")
    app.wait_for(timeout=FIRST_RENDER_MS)
    chart = app.locator(".claims-explorer-chart .js-plotly-plot")
    wait_figure(chart, timeout_ms=FIRST_RENDER_MS)
    wait_figure(app.locator(".claims-explorer-stepper .js-plotly-plot"))
    timing("app: first figures after opening it in Voilà", time.monotonic() - start, 5.0)
    result = app.locator(".claims-explorer-result")
    expect(result).to_have_text("host demo: 2 nodes x 4096 pages (v7), domains d1 and d2")
    assert counters(app)["free"] == ["4096", "4096", "8192", "total_avail_pages"]
    # the prose for code readers is hidden; the reader's help is shown
    expect(page.get_by_text("This notebook is also an app")).to_be_hidden()
    expect(page.get_by_text("Reading the dashboard.")).to_be_visible()
    app.screenshot(path=str(ARTIFACTS / "voila-1-start.png"))

    # 1. pick a host preset: the controllers are rebuilt for four nodes
    t = time.monotonic()
    control(app, "host", "dropdown").select_option(label="4 nodes x 4096 pages (v7)")
    wait_figure(chart, "unclaimed free", [4096, 4096, 4096, 4096, 16384])
    timing("app: host change redrawn", time.monotonic() - t, 1.0)
    expect(result).to_have_text("new host 4 nodes x 4096 pages (v7), domains d1 and d2")
    assert counters(app)["free"][-2:] == ["16384", "total_avail_pages"]
    editor = app.locator(".claims-explorer-editor")
    stepper = app.locator(".claims-explorer-stepper")
    trace = app.locator(".claims-explorer-trace")
    redeem = stepper.locator(".js-plotly-plot")
    assert figure_values(chart)["d1 node claims"] == [0, 0, 0, 0, 0]

    # 2. edit and install a claim set for d1: 1000 pages on node 2, 200 host-wide
    control(editor, "node 2").fill("1000")
    control(editor, "host-wide").fill("200")
    t = time.monotonic()
    editor.get_by_role("button", name="Install", exact=True).click()
    wait_figure(chart, "d1 node claims", [0, 0, 1000, 0, 0])
    timing("app: Install redrawn", time.monotonic() - t, 1.0)
    expect(editor.get_by_text("0: installed;")).to_have_text(
        "0: installed; d1 claims {'host': 200, 'node2': 1000}"
    )
    assert figure_values(chart)["d1 host-wide claim"] == [0, 0, 0, 0, 200]
    assert counters(app)["claimed"] == ["0", "0", "1000", "0", "1200", "outstanding_claims"]
    app.screenshot(path=str(ARTIFACTS / "voila-2-installed.png"))

    # 3. step an order-9 allocation for d1 on node 2: node 2's claim pays for it
    control(stepper, "order").fill("9")
    control(stepper, "node", "dropdown").select_option(label="node 2")
    t = time.monotonic()
    stepper.get_by_role("button", name="Step", exact=True).click()
    wait_figure(redeem, "same-node claim", [512])
    wait_figure(chart, "d1 node claims", [0, 0, 488, 0, 0])
    timing("app: Step redrawn", time.monotonic() - t, 1.0)
    expect(stepper.get_by_text("1 allocation;")).to_have_text(
        "1 allocation; last MFN 0x102e00 on node 2"
    )
    assert figure_values(chart)["d1 allocated"] == [0, 0, 512, 0, 0]
    assert counters(app)["free"][2] == "3584" and counters(app)["claimed"][2] == "488"

    # 4. scrub the trace: it followed the step; one event back is the install
    expect(trace).to_contain_text("alloc_domheap_pages(d=d1, order=9, memflags=MEMF_node(2))")
    app.screenshot(path=str(ARTIFACTS / "voila-3-stepped.png"))
    t = time.monotonic()
    trace.get_by_role("button", name="◀ back").click()
    wait_figure(chart, "d1 allocated", [0, 0, 0, 0, 0])
    timing("app: trace moved back, chart redrawn", time.monotonic() - t, 1.0)
    expect(trace).to_contain_text("do_domctl_claim_memory(d=d1, mode=SET, nr_entries=2) → 0")
    assert figure_values(chart)["d1 node claims"] == [0, 0, 1000, 0, 0]
    assert counters(app)["free"][2] == "3584"  # the live host stays
    app.screenshot(path=str(ARTIFACTS / "voila-4-scrubbed.png"))

    # 5. New host: a fresh host of the same preset
    t = time.monotonic()
    app.get_by_role("button", name="New host", exact=True).click()
    wait_figure(chart, "d1 node claims", [0, 0, 0, 0, 0])
    timing("app: New host redrawn", time.monotonic() - t, 1.0)
    assert counters(app)["claimed"][4] == "0"
    page.screenshot(path=str(ARTIFACTS / "voila-page.png"), full_page=True)
    assert [e for e in errors if "Failed to load resource" not in e] == []
    # offline: every request the page made went to the local server (no CDN)
    assert requests and all(
        u.startswith(
            (
                voila_server.url,
                voila_server.url.replace("http", "ws"),
                "data:",
                "blob:" + voila_server.url,
            )
        )
        for u in requests
    ), [u for u in requests if not u.startswith(voila_server.url)]
