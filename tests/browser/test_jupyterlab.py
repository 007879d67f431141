"""JupyterLab in headless chromium: run all of ``05-redemption`` and step the AllocationStepper."""

from __future__ import annotations

from typing import Any

import pytest

from .support import (
    ARTIFACTS,
    CLOSE,
    ERRORS,
    control,
    figure_values,
    open_in,
    run_all,
    shot_on_failure,
    wait_figure,
)

pytestmark = pytest.mark.browser

RUN_ALL_S = 120_000  # ms: every cell of the notebook, including the first FigureWidget render


def test_lab_runs_05_and_steps_the_stepper(
    lab_page: tuple[Any, list[str]], request: pytest.FixtureRequest
) -> None:
    """In the process's shared JupyterLab page (``conftest.lab_page``), as notebook 05's
    own tab, with a kernel of its own."""
    page, _errors = lab_page
    open_in(page, "05-redemption.ipynb")
    try:
        with shot_on_failure(page, request):
            _run_and_step(page)
    finally:
        page.evaluate(CLOSE)


def _run_and_step(page: Any) -> None:
    from playwright.sync_api import expect

    run_all(page, RUN_ALL_S)
    assert page.evaluate(ERRORS) == []

    # the stepper's output: the output area holding its Step button
    out = page.locator(".jp-OutputArea-output").filter(
        has=page.get_by_role("button", name="Step", exact=True)
    )
    expect(out).to_have_count(1)
    out.scroll_into_view_if_needed()
    result = out.locator(".widget-html-content").filter(has_text="allocation")
    # the notebook's own cell clicked Step once: an order-0 page on node 0
    expect(result).to_have_text("1 allocation; last MFN 0x1fff on node 0")
    bars, redeem = out.locator(".js-plotly-plot").nth(0), out.locator(".js-plotly-plot").nth(1)
    wait_figure(bars)
    wait_figure(redeem)
    assert figure_values(bars)["d1 node claims"] == [511, 256, 0]
    assert figure_values(redeem)["same-node claim"] == [1]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out.screenshot(path=str(ARTIFACTS / "lab-05-stepper-before.png"))

    # a reader changes the controls and presses Step: order 3 on node 1
    control(out, "order").fill("3")
    control(out, "node", "dropdown").select_option(label="node 1")
    out.get_by_role("button", name="Step", exact=True).click()

    expect(result).to_have_text("1 allocation; last MFN 0x2ff8 on node 1")
    wait_figure(bars, "d1 node claims", [511, 248, 0])
    wait_figure(redeem, "same-node claim", [1, 8])
    assert figure_values(bars)["d1 allocated"] == [1, 8, 0]
    # the SVG follows: the redemption chart draws a second stacked bar
    expect(redeem.locator("g.trace.bars").first.locator("g.point")).to_have_count(2)
    out.screenshot(path=str(ARTIFACTS / "lab-05-stepper-after.png"))
    page.screenshot(path=str(ARTIFACTS / "lab-05-page.png"))
