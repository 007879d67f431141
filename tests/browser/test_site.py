"""The static site (``python -m claims site``) opened from disk in Chromium: a figure of
notebook 05 is drawn by the site's one plotly.js and answers hover, a controller is a
still picture, the assert cells sit behind a toggle, nothing is fetched from the
network; two pages are screenshotted.

The site is built once per session for all processes, with JupyterLite (about a minute
and a half: ``support.built_site``), or taken from ``$CLAIMS_SITE_DIR``
where ``.ci/run`` has built it with the README's command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claims.kit import site

from .support import ARTIFACTS, ROOT, built_site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def built(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_site(tmp_path_factory.getbasetemp())


def open_page(page: Any, path: Path) -> list[str]:
    """Open *path*; the requests that left the disk."""
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith("file:") else outside.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    assert not errors, errors
    return outside


def test_the_site_is_whole_and_offline(built: Path) -> None:
    assert site.check_links(built) == [] and site.check_offline(built) == []
    counts = json.loads((built / "_site.json").read_text())
    assert counts["notebooks"] == len(site.notebooks(ROOT)) and counts["scenarios"] >= 10
    assert counts["assert cells"] > 50
    assert len(list(built.rglob("plotly*.js"))) == 1  # one copy of plotly.js for the site
    for name in ("reference", "speed", "docs/versions", "scenarios/parallel-builds"):
        assert (built / f"{name}.html").is_file(), name


def test_a_figure_of_notebook_05_is_drawn_and_answers_hover(built: Path, page: Any) -> None:
    outside = open_page(page, built / "notebooks" / "05-redemption.html")
    graphs = page.locator(".js-plotly-plot")
    graphs.first.wait_for()
    assert graphs.count() >= 3
    graph = graphs.first
    graph.scroll_into_view_if_needed()
    assert page.evaluate("gd => !!gd.querySelector('svg.main-svg')", graph.element_handle())
    # hover the first bar: plotly draws its hover label
    bar = graph.locator("g.point path").first
    box = bar.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    label = graph.locator("g.hovertext")
    label.first.wait_for()
    assert (label.first.text_content() or "").strip()  # SVG text: the hovered value
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "site-05-redemption.png"))
    # the assert cells: behind a toggle, closed
    toggles = page.locator("details.hide-input, .tag_hide-input details")
    assert toggles.count() > 0
    assert outside == []


def test_a_controller_is_a_still_picture(built: Path, page: Any) -> None:
    outside = open_page(page, built / "notebooks" / "08-design-review.html")
    snap = page.locator(".claims-snapshot").first
    snap.wait_for()
    snap.scroll_into_view_if_needed()
    assert snap.locator(".js-plotly-plot").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "site-08-design-review.png"))
    assert outside == []


def test_the_index_and_a_scenario_page(built: Path, page: Any) -> None:
    outside = open_page(page, built / "index.html")
    assert page.locator("a", has_text="xenopsd").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "site-index.png"))
    open_page(page, built / "scenarios" / "parallel-builds.html")
    assert page.locator("table.claims-steps tr").count() > 2
    page.locator(".js-plotly-plot").first.wait_for()
    assert outside == []
