"""Every notebook, run whole in JupyterLab in headless chromium, as a reader runs it:
no error output, no error in the browser console, and (printed) how long Run All took.
Also: a controller's first figure in a fresh kernel, and a controller in the dark theme."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .support import (
    ARTIFACTS,
    CLOSE,
    ERRORS,
    ROOT,
    Server,
    open_in,
    run_all,
    shot_on_failure,
    timing,
    wait_figure,
)

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(p.relative_to(ROOT / "notebooks").as_posix()
                   for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)  # fmt: skip
RUN_ALL_MS = 240_000  # bound of one notebook's Run All (the slowest takes well under a minute)
# console messages that are not the kit's: a kernel restart's websocket noise
BENIGN = ("Failed to load resource", "WebSocket connection")


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_runs_clean_in_jupyterlab(
    lab_page: tuple[Any, list[str]], path: str, request: pytest.FixtureRequest
) -> None:
    """Each notebook opened in JupyterLab and run whole (one test each, so the two
    processes share them out: the root ``conftest.py``)."""
    page, errors = lab_page
    errors.clear()
    open_in(page, path)
    took = run_all(page, RUN_ALL_MS)
    try:
        with shot_on_failure(page, request):
            assert page.evaluate(ERRORS) == [], f"{path}: a cell failed"
            assert [e for e in errors if not e.startswith(BENIGN)] == [], f"{path}: console errors"
            timing(f"JupyterLab: Run All of {path}", took, 60.0)
    finally:
        page.evaluate(CLOSE)


FRESH = """import claims
from claims.widgets import ClaimSetEditor

host = claims.hosts.demo()
d1 = host.domain_create()
ClaimSetEditor(host)"""


def _notebook(cells: list[str]) -> str:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": f"c{i}",
                    "metadata": {},
                    "outputs": [],
                    "source": src,
                }
                for i, src in enumerate(cells)
            ],  # fmt: skip
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },  # fmt: skip
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


def test_a_controllers_first_figure_in_a_fresh_kernel(
    lab_page: tuple[Any, list[str]], lab_server: Server, request: pytest.FixtureRequest
) -> None:
    """From running the cell in a kernel that has imported nothing to the figure drawn
    (the notebook opens in the process's JupyterLab page with a kernel of its own)."""
    page, errors = lab_page
    errors.clear()
    root = lab_server.cwd
    (root / "fresh-controller.ipynb").write_text(_notebook([FRESH]))
    open_in(page, "fresh-controller.ipynb")
    try:
        with shot_on_failure(page, request):
            took = run_all(page, RUN_ALL_MS)
            graph = page.locator(".jp-OutputArea-output .js-plotly-plot")
            drawn = took + wait_figure(graph, "unclaimed free", [4096, 4096, 8192])
            timing("JupyterLab: a controller's first figure in a fresh kernel", drawn, 2.0)
            assert page.evaluate(ERRORS) == []
            assert [e for e in errors if not e.startswith(BENIGN)] == []
    finally:
        page.evaluate(CLOSE)


DARK = """import claims
from claims.widgets import AllocationStepper

host = claims.hosts.demo()
d1 = host.domain_create()
stepper = AllocationStepper(host)
stepper.domain.value = 1
stepper.order.value = "9"
stepper.node.value = 0
stepper.step.click()
stepper"""


def test_a_controller_in_the_dark_theme(
    lab_page: tuple[Any, list[str]], lab_server: Server, request: pytest.FixtureRequest
) -> None:
    """JupyterLab's dark theme: figures have no background of their own (the theme's
    shows through) and the result line takes the theme's success colour (in the shared
    page, which goes back to the light theme after)."""
    page, _errors = lab_page
    root = lab_server.cwd
    (root / "dark-controller.ipynb").write_text(_notebook([DARK]))
    open_in(page, "dark-controller.ipynb")
    try:
        with shot_on_failure(page, request):
            page.evaluate(
                "() => window.jupyterapp.commands.execute('apputils:change-theme',"
                " {theme: 'JupyterLab Dark'})"
            )
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
            run_all(page, RUN_ALL_MS)
            out = page.locator(".jp-OutputArea-output").filter(
                has=page.get_by_role("button", name="Step", exact=True)
            )
            graphs = out.locator(".js-plotly-plot")
            wait_figure(graphs.nth(0), "d1 allocated", [512, 0, 0])
            wait_figure(graphs.nth(1))
            fills = graphs.nth(0).evaluate(
                "gd => [gd._fullLayout.paper_bgcolor, gd._fullLayout.plot_bgcolor]"
            )
            assert all(f in ("rgba(0, 0, 0, 0)", "rgba(0,0,0,0)", "transparent") for f in fills), (
                fills
            )
            line = out.locator(".widget-html-content span").first
            colour = line.evaluate("el => getComputedStyle(el).color")
            want = page.evaluate(
                "() => getComputedStyle(document.body).getPropertyValue('--jp-success-color1')"
            )
            assert colour == _rgb(want.strip()), (colour, want)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            out.screenshot(path=str(ARTIFACTS / "lab-dark-stepper.png"))
    finally:
        page.evaluate(
            "() => window.jupyterapp.commands.execute('apputils:change-theme',"
            " {theme: 'JupyterLab Light'})"
        )
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
        page.evaluate(CLOSE)


def _rgb(css: str) -> str:
    """``#rrggbb`` as the browser computes a colour: ``rgb(r, g, b)``."""
    h = css.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"
