"""The notebooks in JupyterLite (``python -m claims site OUT --lite``), in Chromium, with
Python in the page: notebooks run whole with no error and no request leaving the machine.

The build is ``$CLAIMS_SITE_DIR/lite`` where ``.ci/run`` built it, or the session's own
site build (``support.built_site``, once for all processes). Each process loads JupyterLite
once (``lite_page``) and opens each of its notebooks there, with a Pyodide kernel of its
own, as a reader opens a second notebook. JupyterLite
is served over HTTP on 127.0.0.1, as browsers run WebAssembly workers only from there.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .support import (
    ARTIFACTS,
    CLOSE,
    ERRORS,
    app_page,
    built_site,
    load_app,
    open_in,
    run_all,
    shot_on_failure,
    timing,
)

pytestmark = pytest.mark.browser

LITE_RUN_MS = 300_000
# JupyterLab draws only the cells in view: bring the first cell with a figure there
FIRST_FIGURE_INTO_VIEW = """async () => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const cells = nb.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const outs = cells.get(i).type === 'code' ? cells.get(i).toJSON().outputs : [];
    if (outs.some(o => o.data && o.data['application/vnd.plotly.v1+json'])) {
      nb.activeCellIndex = i;
      await nb.scrollToItem(i, 'start');
      return i;
    }
  }
  return -1;
}"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


@pytest.fixture(scope="session")
def lite_url(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = built_site(tmp_path_factory.getbasetemp()) / "lite"
    handler = functools.partial(_Quiet, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def lite_page(browser: Any, lite_url: str) -> Iterator[tuple[Any, list[str]]]:
    """One JupyterLite page for the notebooks a process runs (the app loads once; each
    notebook opens in it with a Pyodide kernel of its own), and the requests it made
    that left the machine."""
    outside: list[str] = []
    with app_page(browser) as pg:
        pg.on(
            "request",
            lambda r: (
                None if r.url.startswith((lite_url, "data:", "blob:")) else outside.append(r.url)
            ),
        )
        load_app(pg, f"{lite_url}/lab/index.html")
        yield pg, outside


@pytest.mark.parametrize("name", ["01-numa-buddy-heap", "03-claim-sets", "05-redemption"])
def test_a_notebook_runs_whole_in_jupyterlite(
    lite_page: tuple[Any, list[str]], name: str, request: pytest.FixtureRequest
) -> None:
    page, outside = lite_page
    t0 = time.monotonic()
    open_in(page, f"{name}.ipynb")
    ready = time.monotonic() - t0
    try:
        with shot_on_failure(page, request):
            _run_whole(page, name, outside, ready)
    finally:
        page.evaluate(CLOSE)


def _run_whole(page: Any, name: str, outside: list[str], ready: float) -> None:
    took = run_all(page, LITE_RUN_MS, polling_ms=500)
    assert page.evaluate(ERRORS) == [], f"{name}: a cell failed in JupyterLite"
    ran = page.evaluate(
        """() => { const c = window.jupyterapp.shell.currentWidget.content.model.cells;
        let n = 0; for (let i = 0; i < c.length; i++) if (c.get(i).type === 'code'
        && c.get(i).executionCount !== null) n++; return n; }"""
    )
    assert ran > 10
    assert outside == [], f"requests left the machine: {outside[:5]}"
    timing(f"JupyterLite: {name} opened, its kernel ready", ready, 30.0)
    timing(f"JupyterLite: Run All of {name}", took, 60.0)
    if name == "05-redemption":  # a figure, drawn by JupyterLite's plotly extension
        page.evaluate(FIRST_FIGURE_INTO_VIEW)
        graph = page.locator(".js-plotly-plot").first
        graph.wait_for()
        assert page.evaluate("gd => !!gd.querySelector('svg.main-svg')", graph.element_handle())
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lite-05-redemption.png"))
