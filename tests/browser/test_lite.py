"""The notebooks in JupyterLite (``python -m claims site OUT --lite``), in Chromium, with
Python in the page: notebooks run whole with no error and no request leaving the machine.

The build is ``$CLAIMS_SITE_DIR/lite`` where ``.ci/run`` built it, or the session's own
site build (``support.built_site``, once for all processes). JupyterLite
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

from .support import ARTIFACTS, built_site, timing
from .test_jupyterlab import ALL_CELLS_RUN, ERRORS, NOTEBOOK_READY

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


@pytest.mark.parametrize("name", ["01-numa-buddy-heap", "03-claim-sets", "05-redemption"])
def test_a_notebook_runs_whole_in_jupyterlite(page: Any, lite_url: str, name: str) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((lite_url, "data:", "blob:")) else outside.append(r.url),
    )
    t0 = time.monotonic()
    page.goto(f"{lite_url}/lab/index.html?path={name}.ipynb")
    page.wait_for_function(NOTEBOOK_READY, timeout=120_000)
    ready = time.monotonic() - t0
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(ALL_CELLS_RUN, timeout=LITE_RUN_MS, polling=500)
    took = time.monotonic() - t0 - ready
    assert page.evaluate(ERRORS) == [], f"{name}: a cell failed in JupyterLite"
    ran = page.evaluate(
        """() => { const c = window.jupyterapp.shell.currentWidget.content.model.cells;
        let n = 0; for (let i = 0; i < c.length; i++) if (c.get(i).type === 'code'
        && c.get(i).executionCount !== null) n++; return n; }"""
    )
    assert ran > 10
    assert outside == [], f"requests left the machine: {outside[:5]}"
    timing(f"JupyterLite: {name} kernel ready", ready, 30.0)
    timing(f"JupyterLite: Run All of {name}", took, 60.0)
    if name == "05-redemption":  # a figure, drawn by JupyterLite's plotly extension
        page.evaluate(FIRST_FIGURE_INTO_VIEW)
        graph = page.locator(".js-plotly-plot").first
        graph.wait_for()
        assert page.evaluate("gd => !!gd.querySelector('svg.main-svg')", graph.element_handle())
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lite-05-redemption.png"))
