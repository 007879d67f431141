"""``python -m claims app``: the claims explorer dashboard in Voilà, offline.

Voilà serves ``notebooks/apps/claims-explorer.ipynb`` with the kit's own template
(``claims/kit/jupyter/voila/templates/claims``): Voilà's ``lab`` template without the
Font Awesome links to cdn.jsdelivr.net (the app uses no icons, and a page that
fetches from a CDN fails offline) and without the notebook's prose for code
readers (markdown cells tagged ``code-reader``).  The template is found through
``JUPYTER_PATH``, which the launcher extends for Voilà alone; nothing is written
into the environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

JUPYTER_DIR = Path(__file__).resolve().parent / "jupyter"
TEMPLATE = "claims"
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "apps" / "claims-explorer.ipynb"


def voila_command(extra: list[str]) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve the app: Voilà from this
    interpreter's environment, the kit's template, then *extra* (Voilà's own options)."""
    if not NOTEBOOK.is_file():
        raise FileNotFoundError(
            f"the app notebook is not at {NOTEBOOK}: run from a checkout of the kit "
            "(pip install -e .)"
        )
    exe = Path(sys.executable).parent / "voila"
    head = [str(exe)] if exe.exists() else [sys.executable, "-m", "voila"]
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(JUPYTER_DIR), os.environ.get("JUPYTER_PATH", "")) if p
    )
    return [*head, str(NOTEBOOK), f"--template={TEMPLATE}", *extra], env


def main(extra: list[str]) -> int:
    """Replace this process with Voilà serving the app (its exit status is the app's)."""
    argv, env = voila_command(extra)
    sys.stdout.flush()
    os.execvpe(argv[0], argv, env)
    return 0  # not reached
