"""``claims.kit.site``'s parts that need no Sphinx run: which cells hide, the link and
offline checks on a small built tree, the README section, the command's refusals.
The whole build is tests/browser/test_site.py's."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from claims.__main__ import main
from claims.kit import site
from claims.views import style


def test_assert_cells_are_the_ones_made_of_asserts() -> None:
    assert site.is_assert_cell("assert x == 1\nassert y  # why")
    assert site.is_assert_cell("# the numbers the prose gives\nassert (a, b) == (\n    1, 2)\n")
    assert not site.is_assert_cell("x = 1\nassert x == 1")
    assert not site.is_assert_cell("assert x\nfor i in y:\n    assert i")
    assert not site.is_assert_cell("# only a comment")
    assert not site.is_assert_cell("")


def test_staging_tags_assert_cells_and_keeps_the_rest(tmp_path: Path) -> None:
    nb = {
        "cells": [
            {"cell_type": "code", "source": ["assert 1\n"], "metadata": {}},
            {"cell_type": "code", "source": ["x = 1"], "metadata": {"tags": ["a"]}},
            {"cell_type": "markdown", "source": ["assert in prose"], "metadata": {}},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    src = tmp_path / "n.ipynb"
    src.write_text(json.dumps(nb))
    assert site.stage_notebook(src, tmp_path / "out" / "n.ipynb") == 1
    got = json.loads((tmp_path / "out" / "n.ipynb").read_text())
    assert [c["metadata"].get("tags") for c in got["cells"]] == [["hide-input"], ["a"], None]
    assert json.loads(src.read_text()) == nb  # the stored notebook is not touched


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_link_check_finds_missing_pages_and_anchors(tmp_path: Path) -> None:
    write(tmp_path / "index.html", '<a href="docs/a.html#here">x</a><a href="https://x.org">e</a>')
    write(tmp_path / "docs" / "a.html", '<h1 id="top">A</h1><a id="here"></a><a href="#top">t</a>')
    assert site.check_links(tmp_path) == []
    write(tmp_path / "docs" / "b.html", '<a href="a.html#gone">1</a><a href="../c.html">2</a>')
    assert site.check_links(tmp_path) == [
        "docs/b.html: link 'a.html#gone': no anchor #gone there",
        "docs/b.html: link '../c.html': no file c.html",
    ]


def test_offline_check_refuses_the_network(tmp_path: Path) -> None:
    write(
        tmp_path / "index.html",
        '<script src="_static/p.js"></script><a href="https://x.org">ok</a>',
    )
    write(tmp_path / "_static" / "s.css", "body { background: url(img.png); }")
    assert site.check_offline(tmp_path) == []
    write(tmp_path / "p.html", '<script src="https://cdn.example/r.js"></script>')
    write(tmp_path / "_static" / "f.css", "@font-face { src: url('//fonts.example/f.woff'); }")
    assert site.check_offline(tmp_path) == [
        "p.html: loads https://cdn.example/r.js",
        "_static/f.css: loads //fonts.example/f.woff",
    ]


def test_the_speed_page_is_the_readme_section() -> None:
    text = site.readme_section(site.ROOT, "Speed")
    assert text.startswith("## Speed") and "### Speed in the browser" in text
    assert "## Layout" not in text
    with pytest.raises(ValueError, match="no section"):
        site.readme_section(site.ROOT, "Nowhere")


def test_figures_for_the_site_wait_for_the_pages_plotly() -> None:
    import plotly.graph_objects as go

    html = style.figure_html(go.Figure(go.Bar(y=[1, 2]), layout={"height": 300}))
    assert "plotly.min.js" not in html and "cdn" not in html.lower()
    assert 'window.addEventListener("DOMContentLoaded"' in html and "height:300px" in html


def test_site_command_refuses_what_it_cannot_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FileNotFoundError, match="checkout"):
        site.build(tmp_path / "out", tmp_path)
    assert main(["site", str(site.ROOT)]) == 2
    assert "output folder of its own" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["site", "--help"])
    assert "OUT_DIR" in capsys.readouterr().out


def test_lite_closure_follows_the_lock() -> None:
    from claims.kit import lite

    lock = {
        "packages": {
            "ipython": {"depends": ["traitlets", "Pygments"]},
            "traitlets": {"depends": []},
            "pygments": {"depends": []},
            "numpy": {"depends": []},
        }
    }
    assert lite.lock_closure(lock, ["IPython"]) == ["ipython", "pygments", "traitlets"]


def test_lite_cells_that_fail_on_purpose_print_and_go_on() -> None:
    from claims.kit import lite

    src = lite.expect_error("x = 1\nraise ValueError(x)\n")
    assert src.startswith("try:\n    x = 1\n    raise ValueError(x)\nexcept Exception:")
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        exec(compile(src, "<cell>", "exec"), {})  # runs to the end: nothing escapes
    assert "ValueError: 1" in printed.getvalue()


def test_lite_contents_start_with_the_install_cell(tmp_path: Path) -> None:
    from claims.kit import lite

    names = lite.stage_contents(site.ROOT, tmp_path / "contents")
    assert not set(names) & set(lite.NOT_IN_LITE) and "05-redemption" in names
    nb = json.loads((tmp_path / "contents" / "03-claim-sets.ipynb").read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python"
    assert "".join(nb["cells"][1]["source"]) == lite.INSTALL_CELL
    tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert "raises-exception" not in tags and "fails-on-purpose" in tags


def test_site_command_names_the_missing_tools(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "myst_nb" else real(name, *a)
    )
    with pytest.raises(FileNotFoundError, match=r"myst_nb, not installed here: pip install"):
        site.build(tmp_path / "out")
