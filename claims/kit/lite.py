"""``python -m claims site OUT_DIR --lite``: the notebooks in JupyterLite with the Pyodide
kernel, in ``OUT_DIR/lite``: the kit runs in the page, with no server and no network.

JupyterLite's Pyodide kernel loads Pyodide from a CDN and installs packages from PyPI by
default. Here everything comes from the build instead:

* **Pyodide** is the npm registry's ``pyodide`` package at the version
  ``jupyterlite-pyodide-kernel`` expects (its core: the interpreter and the standard
  library). Pyodide's own package set (``pyodide-lock.json``) lists wheels that the npm
  package does not carry; the pure-Python ones the kernel needs (``micropip``, IPython and
  its dependencies, at the lock's versions) are downloaded from PyPI, put beside it and
  entered in the lock with their own hashes. Compiled packages (numpy, pandas, PyYAML's
  C part, rpds-py) are not: they come only from Pyodide's CDN.
* **The kit** is a wheel built from the checkout, with its ``views`` extra (plotly,
  ipywidgets and what they need, all pure Python) as piplite wheels; the PyPI fallback is
  off, so a package that is not in the build fails at once instead of going online.
* Each notebook starts with one added cell, ``%pip install -q claims[views]`` (piplite
  installs from the build).

The model, the three faces, the figures and the controllers need only pure-Python wheels
(``pyproject.toml``'s core dependencies and ``views`` extra). Scenario files (PyYAML,
jsonschema), sweeps (pandas, Dask) and the bench's tables (pandas) need the ``review``
extra, which has compiled packages: the notebooks that use them are left out
(:data:`NOT_IN_LITE`, with the reason).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

NPM_REGISTRY = "https://registry.npmjs.org"
CACHE = Path.home() / ".cache" / "claims-lite"

KERNEL_PACKAGES = ("micropip", "ipython", "jedi", "packaging", "typing-extensions", "narwhals")
"""What the Pyodide kernel and the views load from Pyodide's lock (with their dependencies
there): micropip and IPython for the kernel, jedi for completion, narwhals for plotly."""

VIEWS_WHEELS = (
    "plotly",
    "ipywidgets",
    "comm",
    "jupyterlab_widgets",
    "mypy_extensions",
    "ipython-pygments-lexers",
)
"""Pure-Python wheels from PyPI for ``claims[views]`` that Pyodide's lock does not list
(widgetsnbextension is the kernel's own shim; narwhals is in the lock)."""

NOT_IN_LITE = {
    "09-boot-storm": "sweeps run on pandas and Dask (compiled, not in the offline build)",
    "10-what-if": "scenario files need PyYAML and jsonschema (rpds-py is compiled)",
    "11-speed-and-scale": "the bench's tables are pandas DataFrames",
}
"""Notebooks left out of the JupyterLite build, and why."""

INSTALL_CELL = "%pip install -q claims[views]"
"""The cell each notebook starts with in JupyterLite (piplite reads ``%pip`` only as the
first thing in a cell, with nothing after its arguments)."""

INSTALL_NOTE = (
    "*In JupyterLite:* the next cell installs the kit in this page's Python (Pyodide), from "
    "wheels that came with the site; nothing is fetched from the internet."
)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


TOOLS = (
    "jupyterlite-core>=0.6,<0.9",
    "jupyterlite-pyodide-kernel>=0.6,<0.9",
    "jupyter-server>=2",
    "ipywidgets>=8",  # their JupyterLab extensions go into the build: widgets
    "plotly>=5.20",  # and plotly's figures
)
"""What builds JupyterLite, installed in a venv of its own (:func:`tool_env`)."""


def tool_env(cache: Path = CACHE) -> Path:
    """The Python of a venv with :data:`TOOLS` (made once, in *cache*).  Not the kit's own
    environment: ``jupyterlite-pyodide-kernel`` installs a JupyterLab extension that
    fails to load in a real JupyterLab ("Shared module @jupyterlite/services doesn't
    exist"), so it stays out of the one the notebooks run in."""
    venv = cache / "tools-venv"
    python = venv / "bin" / "python"
    stamp = venv / "claims-tools.json"
    if python.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == list(TOOLS):
        return python
    shutil.rmtree(venv, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *TOOLS], check=True,
                   capture_output=True, text=True)  # fmt: skip
    stamp.write_text(json.dumps(list(TOOLS)), encoding="utf-8")
    return python


def pyodide_version(python: Path) -> str:
    """The Pyodide version that *python*'s ``jupyterlite-pyodide-kernel`` expects."""
    code = "from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION as v; print(v)"
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def fetch_pyodide(version: str, cache: Path = CACHE) -> Path:
    """The npm package ``pyodide@version``, unpacked in *cache* (downloaded once)."""
    where = cache / f"pyodide-{version}"
    if (where / "pyodide-lock.json").is_file():
        return where
    cache.mkdir(parents=True, exist_ok=True)
    tgz = cache / f"pyodide-{version}.tgz"
    url = f"{NPM_REGISTRY}/pyodide/-/pyodide-{version}.tgz"
    with urllib.request.urlopen(url, timeout=120) as r:  # noqa: S310 (a fixed https URL)
        tgz.write_bytes(r.read())
    tmp = cache / f"pyodide-{version}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(tgz) as t:
        t.extractall(tmp, filter="data")
    shutil.move(str(tmp / "package"), where)
    shutil.rmtree(tmp, ignore_errors=True)
    return where


def lock_closure(lock: dict[str, object], roots: Iterable[str]) -> list[str]:
    """*roots* and everything they depend on in Pyodide's lock, by lock name."""
    packages: dict[str, dict[str, object]] = lock["packages"]  # type: ignore[assignment]
    seen: list[str] = []
    todo = [_norm(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        deps = packages[name].get("depends", [])
        todo += [_norm(str(d)) for d in deps]  # type: ignore[attr-defined]
    return sorted(seen)


def pip_download(specs: Sequence[str], dest: Path, python: str | None = None) -> list[Path]:
    """Pure-Python wheels of *specs* (no dependencies) into *dest*, from PyPI."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
           "-d", str(dest), *specs]  # fmt: skip
    if python:
        cmd[5:5] = ["--python-version", python]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    wanted = {_norm(re.split(r"[=<>!~\[ ]", s, maxsplit=1)[0]): s for s in specs}
    got = [w for w in sorted(dest.glob("*.whl")) if _norm(w.name.split("-")[0]) in wanted]
    impure = [w.name for w in got if not w.name.endswith("-none-any.whl")]
    if impure:
        raise RuntimeError(f"not pure-Python wheels: {impure}")
    missing = set(wanted) - {_norm(w.name.split("-")[0]) for w in got}
    if missing:
        raise RuntimeError(f"pip download gave no wheel for {sorted(missing)}")
    return got


def offline_pyodide(version: str, work: Path) -> Path:
    """A Pyodide distribution tarball for ``jupyter lite build --pyodide``: the npm core,
    the kernel's pure packages from PyPI beside it, the lock pointing at them."""
    core = fetch_pyodide(version)
    dist = work / "pyodide"
    shutil.rmtree(dist, ignore_errors=True)
    shutil.copytree(core, dist, ignore=shutil.ignore_patterns("*.map", "*.d.ts", "console*"))
    lock = json.loads((dist / "pyodide-lock.json").read_text(encoding="utf-8"))
    names = lock_closure(lock, KERNEL_PACKAGES)
    packages = lock["packages"]
    py = ".".join(str(lock["info"]["python"]).split(".")[:2])
    specs = [f"{packages[n]['name']}=={packages[n]['version']}" for n in names]
    for wheel in pip_download(specs, work / "lock-wheels", python=py):
        entry = packages[_norm(wheel.name.split("-")[0])]
        shutil.copy(wheel, dist / wheel.name)
        entry["file_name"] = wheel.name
        entry["sha256"] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (dist / "pyodide-lock.json").write_text(json.dumps(lock), encoding="utf-8")
    tarball = work / f"pyodide-{version}-offline.tar.bz2"
    with tarfile.open(tarball, "w:bz2") as t:
        t.add(dist, arcname="pyodide")
    return tarball


def kit_wheel(root: Path, dest: Path) -> Path:
    """The kit's wheel, built from the checkout."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("claims-*.whl"):
        old.unlink()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest), str(root)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = dest.glob("claims-*.whl")
    return wheel


def expect_error(source: str) -> str:
    """A cell that fails on purpose, for JupyterLite: the Pyodide kernel drops the rest of
    a Run All after any error, even in a cell tagged ``raises-exception`` (JupyterLab's
    kernels go on), and after an error shown by ``showtraceback`` too.  The error is
    caught and its traceback printed, so the reader sees it and the cells after it run."""
    body = textwrap.indent(source.rstrip("\n"), "    ")
    return (
        "try:\n" + body + "\n"
        "except Exception:  # fails on purpose; printed, so that Run All goes on in JupyterLite\n"
        "    __import__('traceback').print_exc()\n"
    )


def stage_contents(root: Path, dest: Path) -> list[str]:
    """The notebooks that run in the page, each with the install cell first."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    names = []
    for nb in sorted((root / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        if nb.stem in NOT_IN_LITE:
            continue
        data = json.loads(nb.read_text(encoding="utf-8"))
        # JupyterLite's kernel is "python" (Pyodide), not the stored "python3"
        data["metadata"]["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)",
                                          "language": "python"}  # fmt: skip
        for cell in data["cells"]:
            tags = cell.get("metadata", {}).get("tags", [])
            if "raises-exception" in tags:
                cell["source"] = [expect_error("".join(cell["source"]))]
                tags[:] = [t for t in tags if t != "raises-exception"] + ["fails-on-purpose"]
        data["cells"][0:0] = [
            {"cell_type": "markdown", "id": "lite-note", "metadata": {}, "source": [INSTALL_NOTE]},
            {"cell_type": "code", "execution_count": None, "id": "lite-install",
             "metadata": {"tags": ["jupyterlite"]}, "outputs": [], "source": [INSTALL_CELL]},
        ]  # fmt: skip
        (dest / nb.name).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        names.append(nb.stem)
    return names


def build(out: Path, root: Path, work: Path) -> list[str]:
    """Build JupyterLite into *out* (staging in *work*); the notebooks it carries."""
    tools = tool_env()
    version = pyodide_version(tools)
    tarball = offline_pyodide(version, work)
    wheels = [kit_wheel(root, work / "kit")] + pip_download(VIEWS_WHEELS, work / "views-wheels")
    names = stage_contents(root, work / "contents")
    lite_dir = work / "lite-dir"
    shutil.rmtree(lite_dir, ignore_errors=True)
    lite_dir.mkdir()
    settings = {"disablePyPIFallback": True}  # offline: nothing is fetched from PyPI
    (lite_dir / "jupyter-lite.json").write_text(json.dumps({
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "exposeAppInBrowser": True,  # window.jupyterapp, as the browser tests drive it
            "litePluginSettings": {"@jupyterlite/pyodide-kernel-extension:kernel": settings},
        },
    }), encoding="utf-8")  # fmt: skip
    # a fresh build each time: jupyter lite's task database would skip steps whose inputs
    # did not change, and leave the output's configuration without them
    (work / ".jupyterlite.doit.db").unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    jupyter = tools.with_name("jupyter")
    cmd = [str(jupyter), "lite", "build", "--lite-dir", str(lite_dir), "--output-dir",
           str(out), "--contents", str(work / "contents"), "--pyodide", str(tarball),
           "--no-sourcemaps"]  # fmt: skip
    for w in wheels:
        cmd += ["--piplite-wheels", str(w)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=work)
    if proc.returncode:
        tail = proc.stdout[-4000:] + proc.stderr[-4000:]
        raise RuntimeError(f"jupyter lite build failed:\n{tail}")
    return names
