"""Check a kit install from inside a notebook: ``claims.doctor.check()``."""

from __future__ import annotations

import html
import importlib.metadata as md
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str
    fix: str = ""


def _version(pkg: str) -> str | None:
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return None


def _major(v: str) -> int:
    return int(v.split(".")[0]) if v and v.split(".")[0].isdigit() else 0


class Report(list[Check]):
    """The checks, shown as a table in a notebook."""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self)

    def _repr_html_(self) -> str:
        """A table whose status column is a word (no emoji: without an emoji font they
        are empty boxes), in JupyterLab's success or error colour."""

        def status(ok: bool) -> str:
            colour = (
                "var(--jp-success-color1, #2b7a0b)" if ok else "var(--jp-error-color1, #b00020)"
            )
            return f'<td style="color:{colour};font-weight:bold">{"ok" if ok else "FAILED"}</td>'

        def fix(c: Check) -> str:
            return f"<code>{html.escape(c.fix)}</code>" if c.fix else "nothing to do"

        rows = "".join(
            f"<tr>{status(c.ok)}<td>{html.escape(c.what)}</td>"
            f"<td>{html.escape(c.detail)}</td><td>{fix(c)}</td></tr>"
            for c in self
        )
        verdict = "every check passed" if self.ok else "some checks failed: see how to fix them"
        return (
            f"<p>{verdict}</p><table><tr><th>status</th><th>check</th><th>found</th>"
            f"<th>how to fix</th></tr>{rows}</table>"
        )

    def __str__(self) -> str:
        return "\n".join(
            f"{'ok    ' if c.ok else 'FAILED'} {c.what}: {c.detail}"
            + (f" -> {c.fix}" if c.fix else "")
            for c in self
        )


def check() -> Report:
    """Python, the kit, plotly, ipywidgets, JupyterLab and Voilà, the JupyterLab extensions
    that draw widgets and plotly figures, and the kernel's environment."""
    fix = 'pip install -e ".[notebooks,test]"'
    r = Report()
    py = sys.version.split()[0]
    py_ok = sys.version_info >= (3, 11)
    r.append(Check("Python >= 3.11", py_ok, py, "" if py_ok else "use Python 3.11 or newer"))
    here = Path(__file__).resolve().parent.parent  # the claims package, importable: we run
    r.append(Check("claims importable", True, f"{_version('claims')} from {here}"))
    in_browser = sys.platform == "emscripten"  # JupyterLite: the page is the front end
    for pkg, need in (("plotly", 5), ("ipywidgets", 8), ("jupyterlab", 4), ("voila", 0)):
        if in_browser and pkg in ("jupyterlab", "voila"):
            r.append(Check(pkg, True, "not needed: this is JupyterLite, Python in the page"))
            continue
        v = _version(pkg)
        ok = v is not None and _major(v) >= need
        r.append(Check(pkg, ok, v or "missing", "" if ok else fix))
    ext = importlib.util.find_spec("jupyterlab_widgets")
    labext = Path(
        sys.prefix, "share", "jupyter", "labextensions", "@jupyter-widgets", "jupyterlab-manager"
    )
    ok = ext is not None and labext.is_dir()
    r.append(
        Check(
            "widgets extension for JupyterLab",
            ok,
            str(labext) if ok else "jupyterlab_widgets or its labextension is missing",
            "" if ok else "pip install jupyterlab_widgets, then restart JupyterLab",
        )
    )
    plotly_ext = Path(sys.prefix, "share", "jupyter", "labextensions", "jupyterlab-plotly")
    ok = plotly_ext.is_dir()
    r.append(
        Check(
            "plotly extension for JupyterLab (draws the figures)",
            ok,
            str(plotly_ext) if ok else "jupyterlab-plotly's labextension is missing",
            "" if ok else "pip install --force-reinstall plotly, then restart JupyterLab",
        )
    )
    in_env = str(here).startswith(str(Path(sys.prefix).resolve())) or (
        Path(sys.prefix).resolve() in here.parents
    )
    editable = _version("claims") is not None
    r.append(
        Check(
            "kernel runs the environment the kit is installed in",
            in_env or editable,
            f"kernel python {sys.executable}",
            ""
            if in_env or editable
            else f"{fix} with this kernel's python, or pick the right kernel",
        )
    )
    return r
