"""Helpers of the browser tests: servers in their own process groups, stopped by
process id, and reading plotly figures from the DOM.  See ``conftest.py``."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CLAIMS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--mute-audio",
    "--disable-gpu",  # no software GL compositing: about a tenth less CPU per test here
]


def built_site(tmp_path: Path) -> Path:
    """The site with JupyterLite (``python -m claims site OUT --lite``): the one in
    ``$CLAIMS_SITE_DIR`` where ``.ci/run`` built it with the README's command, or one
    built here, once for the whole session: the first process to ask builds it into
    the session's shared temporary folder (*tmp_path*'s parent under xdist) while the
    others wait on a lock, then all use it."""
    given = os.environ.get("CLAIMS_SITE_DIR")
    if given:
        out = Path(given)
        if not (out / "index.html").is_file():
            raise FileNotFoundError(f"CLAIMS_SITE_DIR={given} has no index.html")
        return out
    from claims.kit import site

    shared = tmp_path.parent if os.environ.get("PYTEST_XDIST_WORKER") else tmp_path
    out = shared / "claims-site"
    with open(shared / "claims-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (out / ".built").is_file():
            t0 = time.perf_counter()
            site.build(out, ROOT, lite=True)
            (out / ".built").write_text("", encoding="utf-8")
            mib = site.site_size(out) / 2**20
            print(f"\nsite built in {time.perf_counter() - t0:.1f} s, {mib:.1f} MiB")
    return out


SERVER_START_S = 90.0  # deadline for a server to answer
STOP_S = 10.0  # grace between SIGTERM and SIGKILL
TIMEOUT_MS = 60_000  # default bound of every browser wait

# JupyterLab user settings: every cell in the DOM (no windowing), no autosave, no news
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}  # file: <settings dir>/<package>/<plugin>.jupyterlab-settings


try:  # loaded here, not in the forked child
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except OSError:
    _LIBC = None
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In a server's child process before exec: SIGTERM it if the test process dies,
    even by SIGKILL, when no fixture teardown can run (Linux; elsewhere a no-op)."""
    if _LIBC is not None and hasattr(_LIBC, "prctl"):
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


# ------------------------------------------------------------------ processes
def _start_time(pid: int) -> int | None:
    """A process's start time (clock ticks since boot), to never signal a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _descendants(pid: int) -> list[tuple[int, int]]:
    """``(pid, start time)`` of every live descendant of *pid*, from ``/proc``."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d.name))
    out: list[tuple[int, int]] = []
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        t = _start_time(p)
        if t is not None:
            out.append((p, t))
        todo += children.get(p, [])
    return out


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started with ``start_new_session=True``: SIGTERM to its process
    group, SIGKILL after a grace period, then SIGKILL to any process it started
    elsewhere (kernels run in sessions of their own) that is still alive."""
    kids = _descendants(proc.pid)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_S)
    else:
        with contextlib.suppress(ProcessLookupError):  # the leader is gone; so goes its group
            os.killpg(proc.pid, signal.SIGKILL)
    for pid, started in kids:
        if _start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    cwd: Path  # where the server runs (JupyterLab: the root folder it serves)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


def _answers(url: str) -> bool:
    """Whether the server behind *url* answers HTTP (any status below 500)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 (127.0.0.1 only)
            return bool(r.status < 500)
    except urllib.error.HTTPError as e:
        return e.code < 500
    except (urllib.error.URLError, OSError):
        return False


def start_server(name: str, argv: list[str], probe: str, env: dict[str, str], cwd: Path) -> Server:
    """Start *argv* (``{port}`` filled in) in a new process group and poll *probe* until
    the server answers, with a deadline; a port taken meanwhile is retried on another."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"{name}.log"
    last = ""
    for _attempt in range(3):
        port = free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [a.format(port=port) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only calls prctl(2)
            )
        server = Server(name, proc, f"http://127.0.0.1:{port}", log, cwd)
        deadline = time.monotonic() + SERVER_START_S
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                if _answers(server.url + probe):
                    return server
                time.sleep(0.25)
        except BaseException:
            stop_process_group(proc)
            raise
        rc = proc.poll()
        stop_process_group(proc)
        last = server.log_tail()
        if rc is None:
            raise RuntimeError(f"{name} did not answer within {SERVER_START_S:.0f} s:\n{last}")
        if "already in use" not in last:
            break
    raise RuntimeError(f"{name} exited before it answered:\n{last}")


def jupyter_env(base: Path) -> dict[str, str]:
    """Environment with every Jupyter and IPython directory the user owns moved under *base*."""
    env = dict(os.environ)
    dirs = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "IPYTHONDIR": "ipython",
    }
    for var, sub in dirs.items():
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    env["PYTHONUNBUFFERED"] = "1"
    for plugin, values in LAB_SETTINGS.items():
        f = base / "lab-settings" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    return env


def jupyter_command(tool: str) -> list[str]:
    """Run a Jupyter app from this interpreter's environment (the kit's venv)."""
    exe = Path(sys.executable).parent / tool
    return [str(exe)] if exe.exists() else [sys.executable, "-m", tool.replace("-", ".")]


# ------------------------------------------------------------------ plotly in the DOM
# what the graph div holds after plotly drew it: trace name -> values (x for horizontal bars)
_VALUES_JS = """gd => {
  const out = {};
  for (const t of (gd._fullData || [])) {
    const v = t.orientation === 'h' ? t.x : t.y;
    out[t.name] = v ? Array.from(v) : [];
  }
  return out;
}"""
_DRAWN_JS = "gd => !!(gd._fullData && gd.querySelector('svg.main-svg'))"


def figure_values(graph: Any) -> dict[str, list[Any]]:
    """Trace name -> values of the plotly graph div *graph* (a playwright locator)."""
    return dict(graph.evaluate(_VALUES_JS))


def wait_figure(
    graph: Any, name: str | None = None, want: list[Any] | None = None, timeout_ms: int = 60_000
) -> float:
    """Wait until plotly has drawn *graph* and, if *name* is given, its trace *name*
    shows the values *want*; return the seconds waited.  The locator is resolved again
    at every poll, because a redraw replaces the graph div.  A timeout fails with what
    the figure shows instead."""
    from playwright.sync_api import Error as PlaywrightError

    start = time.monotonic()
    deadline = start + timeout_ms / 1000
    got: Any = "(not drawn)"
    while True:
        left_ms = max(1, int((deadline - time.monotonic()) * 1000))
        try:
            if graph.evaluate(_DRAWN_JS, timeout=min(left_ms, 2_000)):
                if name is None:
                    return time.monotonic() - start
                got = figure_values(graph)
                if got.get(name) == want:
                    return time.monotonic() - start
        except PlaywrightError:  # not in the DOM yet, or replaced while it was read
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"figure: want {name} = {want}, got {got}")
        time.sleep(0.05)


# ------------------------------------------------------------------ timings
def timing(what: str, seconds: float, target: float) -> None:
    """Print one measured wait beside its target (a benchmark line, not an assertion):
    ``pytest -s`` shows it, and a failing test's report keeps it."""
    mark = "within" if seconds <= target else "OVER"
    print(f"\nTIMING {what}: {seconds:.2f} s ({mark} the {target:g} s target)", flush=True)


# ------------------------------------------------------------------ ipywidgets in the DOM
def control(scope: Any, label: str, kind: str = "text") -> Any:
    """The ``<input>`` of the Text widget (``kind="text"``) or the ``<select>`` of the
    Dropdown (``kind="dropdown"``) whose description is exactly *label*, inside *scope*."""
    exact = re.compile(rf"^\s*{re.escape(label)}\s*$")
    page = getattr(scope, "page", scope)  # a Locator knows its Page
    box = scope.locator(f".widget-{kind}").filter(has=page.locator("label", has_text=exact))
    return box.locator("select" if kind == "dropdown" else "input")


# ------------------------------ notebooks in a shared JupyterLab or JupyterLite page
# JupyterLab's own objects (``--LabApp.expose_app_in_browser``): the notebook in front
# done when the kernel is idle and every code cell ran, or as soon as a cell failed that was
# not meant to (a cell tagged raises-exception shows its error, and Run All goes on past it)
ALL_CELLS_RUN = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  const cells = w.content.model.cells;
  let ran = true;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    const expected = (c.getMetadata('tags') || []).includes('raises-exception');
    if (!expected && c.toJSON().outputs.some(o => o.output_type === 'error')) return true;
    if (c.executionCount === null) ran = false;
  }
  return ran;
}"""
ERRORS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  const out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    const expected = (c.getMetadata('tags') || []).includes('raises-exception');
    const errs = c.toJSON().outputs.filter(o => o.output_type === 'error');
    if (expected && !errs.length) out.push(`cell ${i}: tagged raises-exception, raised nothing`);
    if (!expected) for (const o of errs) out.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
  }
  return out;
}"""


def console_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return errors


# the notebook a test opened, in front of the shared JupyterLab page
OPENED = """path => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w && w.context && w.context.path === path && w.sessionContext.session
    && w.sessionContext.session.kernel;
  return !!(k && k.status === 'idle' && w.content.widgets.length > 0);
}"""
# stop its kernel and close it unsaved (the next notebook starts a fresh kernel)
CLOSE = """async () => {
  const w = window.jupyterapp.shell.currentWidget;
  await w.sessionContext.shutdown();
  w.context.model.dirty = false;
  w.dispose();
}"""


@contextlib.contextmanager
def shot_on_failure(page: Any, request: Any) -> Iterator[None]:
    """A failing test's screenshot of the shared page goes to the artefacts folder."""
    try:
        yield
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-FAILED.png"))
        raise


def open_in(page: Any, path: str) -> None:
    """Open *path* in the shared JupyterLab page and wait for its kernel to be idle."""
    page.evaluate(
        "async p => { await window.jupyterapp.commands.execute('docmanager:open', {path: p}); }",
        path,
    )
    page.wait_for_function(OPENED, arg=path, timeout=120_000)


def run_all(page: Any, timeout_ms: int, polling_ms: int = 250) -> float:
    """Run every cell of the notebook in front; the seconds until ``ALL_CELLS_RUN``."""
    start = time.monotonic()
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(ALL_CELLS_RUN, timeout=timeout_ms, polling=polling_ms)
    return time.monotonic() - start


@contextlib.contextmanager
def app_page(browser: Any) -> Iterator[Any]:
    """A page in a browser context of its own (1400 x 1000, every wait bounded by
    ``TIMEOUT_MS``), closed with its context."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        pg = context.new_page()
        yield pg
    finally:
        context.close()


def load_app(page: Any, url: str) -> None:
    """Load JupyterLab or JupyterLite from *url* and wait until its layout is restored."""
    page.goto(url)
    page.wait_for_function("() => !!window.jupyterapp", timeout=120_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
