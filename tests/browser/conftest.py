"""Real-browser fixtures: JupyterLab and Voilà servers, and Debian's headless chromium.

Servers run on 127.0.0.1 on a free port with no token, no browser opening and a
temporary Jupyter config, data, runtime, settings and workspace directory, so the
user's own Jupyter setup is neither read nor touched.  Each server starts in its own
process group; teardown (also after a failure) stops the group and every process the
server started (kernels run in sessions of their own) by process id.  Every wait is
bounded: server start polls with a deadline, and every browser wait has a timeout.

Screenshots and server logs go to ``test-artifacts/browser/`` (ignored by git).
Playwright drives the system chromium (``/usr/bin/chromium``, or ``$CLAIMS_CHROMIUM``);
``playwright install`` is never needed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from .support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    TIMEOUT_MS,
    Server,
    app_page,
    console_errors,
    jupyter_command,
    jupyter_env,
    load_app,
    missing,
    start_server,
    stop_process_group,
)


# ------------------------------------------------------------------ fixtures
def skip_or_fail(why: str) -> None:
    """Skip with the reason, or fail where the browser tests must run (CI sets
    ``CLAIMS_REQUIRE_BROWSER=1`` so a missing browser cannot pass unnoticed)."""
    if os.environ.get("CLAIMS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CLAIMS_REQUIRE_BROWSER=1, but {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by playwright (one browser for the session)."""
    why = missing()
    if why:
        skip_or_fail(why)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # assertions wait with the same bound
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; on failure its screenshot goes to the artefacts folder."""
    (ARTIFACTS / f"{request.node.name}-FAILED.png").unlink(missing_ok=True)
    with app_page(browser) as pg:
        try:
            yield pg
        finally:
            rep = getattr(request.node, "rep_call", None)
            if rep is not None and rep.failed:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                try:
                    pg.screenshot(
                        path=str(ARTIFACTS / f"{request.node.name}-FAILED.png"), timeout=10_000
                    )
                except Exception as e:  # the screenshot is a courtesy; the failure is reported
                    print(f"no failure screenshot: {e}")


@pytest.fixture(scope="session")
def lab_server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab serving a temporary copy of the notebooks (so nothing is saved into the repo)."""
    base = tmp_path_factory.mktemp("jupyterlab")
    env = jupyter_env(base)
    root = base / "root"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    argv = jupyter_command("jupyter-lab") + [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--ServerApp.allow_root=True",  # CI runs as root
        "--LabApp.extension_manager=readonly",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    server = start_server("jupyterlab", argv, "/api", env, root)
    try:
        yield server
    finally:
        stop_process_group(server.proc)


@pytest.fixture(scope="session")
def voila_server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Voilà serving the app notebook, as the README runs it (``python -m claims app``)."""
    if importlib.util.find_spec("voila") is None:
        skip_or_fail("voila is not installed (pip install -e '.[dev]')")
    base = tmp_path_factory.mktemp("voila")
    env = jupyter_env(base)
    argv = [
        sys.executable,
        "-m",
        "claims",
        "app",
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        "--port={port}",
        "--Voila.port_retries=0",
    ]
    # the probe must not be the app's page: asking for it would start a kernel
    server = start_server("voila", argv, "/voila/api/shutdown/", env, ROOT)
    try:
        yield server
    finally:
        stop_process_group(server.proc)


@pytest.fixture(scope="session")
def lab_page(browser: Any, lab_server: Server) -> Iterator[tuple[Any, list[str]]]:
    """One JupyterLab page for every notebook a process opens (JupyterLab loads once; each
    test opens its notebook in it with ``support.open_in`` and closes it with
    ``support.CLOSE``), and the console errors it logs."""
    with app_page(browser) as pg:
        errors = console_errors(pg)
        load_app(pg, f"{lab_server.url}/lab?reset")
        yield pg, errors
