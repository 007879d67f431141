"""``pip install .`` as users run it: the sdist and the wheel build without a warning, and
the wheel, installed on its own (not editable), carries the shipped scenarios, the app's
Voilà template and the licence, and runs a scenario."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc.stdout + proc.stderr


def test_builds_without_warnings(dist: tuple[Path, str]) -> None:
    out, log = dist
    warnings = [ln for ln in log.splitlines() if "warn" in ln.lower()]
    assert warnings == []
    assert sorted(p.suffix for p in out.iterdir()) == [".gz", ".whl"]


def test_the_wheel_carries_what_the_kit_reads(dist: tuple[Path, str]) -> None:
    out, _ = dist
    (wheel,) = out.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(p.name for p in (ROOT / "claims" / "review" / "scenarios").glob("*.yaml"))
    assert sorted(Path(n).name for n in names if n.endswith(".yaml")) == shipped
    assert "claims/kit/jupyter/voila/templates/claims/index.html.j2" in names
    assert "claims/py.typed" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "notebooks/")) for n in names)


def test_the_installed_wheel_runs_a_shipped_scenario(
    dist: tuple[Path, str], tmp_path: Path
) -> None:
    out, _ = dist
    (wheel,) = out.glob("*.whl")
    target = tmp_path / "site-packages"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],  # fmt: skip
        check=True,
        capture_output=True,
        timeout=300,
    )
    # from the installed copy, not the checkout: run it from elsewhere, with it first
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [sys.executable, "-m", "claims", "run", "shortfall-gate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("scenario: Strict or shortfall host-wide gate")
    where = subprocess.run(
        [sys.executable, "-c", "import claims; print(claims.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(target))
