"""The command line: help without the model's heavy imports, refusals without tracebacks,
and the app launcher's Voilà command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from claims.__main__ import main, parser
from claims.kit.app import JUPYTER_DIR, NOTEBOOK, TEMPLATE, voila_command


def test_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["run", "--help"], ["app", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "``" not in out
    from claims.series import names

    assert "(default: master,v7,v8)" in out and f"one of {', '.join(names())}" in out
    assert "python -m claims app" in out


def test_help_loads_no_heavy_module() -> None:
    """``run --help`` must not wait for jsonschema, pandas, plotly or the widgets
    (the README's Speed section prints the time it takes)."""
    code = (
        "import sys, runpy\n"
        "sys.argv = ['claims', 'run', '--help']\n"
        "try:\n    runpy.run_module('claims', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('jsonschema', 'pandas', 'plotly', 'ipywidgets', 'dask')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in r.stderr, r.stderr


def test_html_to_a_missing_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no-such-folder" / "report.html"
    assert main(["run", "parallel-builds", "--html", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"the folder {out.parent} does not exist" in err and "Traceback" not in err
    assert not out.parent.exists()


def test_html_to_a_folder_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "parallel-builds", "--html", str(tmp_path)]) == 2
    assert "refused: --html" in capsys.readouterr().err


def test_app_serves_the_notebook_with_the_kits_template() -> None:
    argv, env = voila_command(["--no-browser", "--port=9999"])
    assert argv[-4:] == [str(NOTEBOOK), f"--template={TEMPLATE}", "--no-browser", "--port=9999"]
    assert env["JUPYTER_PATH"].split(":")[0] == str(JUPYTER_DIR)
    template = JUPYTER_DIR / "voila" / "templates" / TEMPLATE / "index.html.j2"
    assert "cdn.jsdelivr.net" in template.read_text()  # the links it removes, by their text
    assert ".celltag_code-reader { display: none; }" in template.read_text()
    args, rest = parser().parse_known_args(["app", "--port=1", "--no-browser"])
    assert args.command == "app" and rest == ["--port=1", "--no-browser"]


def test_help_time_is_printed() -> None:
    """``python -m claims run --help``, warm (the second of two runs), timed and printed:
    a benchmark line, not an assertion (README, "Speed in the browser")."""
    import time

    argv = [sys.executable, "-m", "claims", "run", "--help"]
    subprocess.run(argv, capture_output=True, check=True)  # warm the file cache
    start = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, check=True)
    took = time.monotonic() - start
    assert "usage: python -m claims run" in r.stdout
    mark = "within" if took <= 0.5 else "OVER"
    print(f"\nTIMING python -m claims run --help, warm: {took:.2f} s ({mark} the 0.5 s target)")
