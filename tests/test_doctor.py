"""The install doctor of notebook 00: words, not emoji, and a fix only where one is needed."""

from __future__ import annotations

from claims.kit.doctor import Check, Report, check


def test_the_doctor_says_ok_or_failed_in_words() -> None:
    r = Report([Check("plotly", True, "7.1.0"), Check("voila", False, "missing", "pip install")])
    page = r._repr_html_()
    assert ">ok</td>" in page and ">FAILED</td>" in page
    assert "✅" not in page and "❌" not in page
    assert "<td>nothing to do</td>" in page and "<td><code>pip install</code></td>" in page
    assert "<code></code>" not in page  # no empty grey box
    assert "some checks failed" in page and not r.ok
    assert str(r).splitlines()[1] == "FAILED voila: missing -> pip install"


def test_this_install_passes() -> None:
    r = check()
    assert r.ok, str(r)
    assert any("plotly extension" in c.what for c in r)
