"""Controllers keep the model's promise (issue: reliability, item 5).

Whatever a reader types or clicks, a refused action leaves the host exactly as
it was and the result line says why; no exception reaches the notebook and no
"internal error" is ever shown.  Hypothesis drives the controllers headlessly
through ``.value`` and ``.click()``.
"""

from __future__ import annotations

from typing import Any

from claims.widgets import AllocationStepper, ClaimSetEditor, TraceScrubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import claims
from claims import DOM0, xen_memory_claim_t

texts = st.one_of(
    st.integers(0, 3000).map(str),  # mostly numbers a reader would type
    st.integers(0, 12).map(str),
    st.just(""),
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "7",
            "100",
            "4096",
            "9999999",
            "-1",
            "0x10",
            "1_000",
            "1e3",
            "1.5",
            "nan",
            "inf",
            " 12 ",
            "abc",
            "٣",
            "18446744073709551616",
            "4294967295",
            "64",
        ]
    ),  # fmt: skip
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=6),
)

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def host() -> claims.Xen:
    xen = claims.hosts.demo()
    a = xen.domain_create()
    b = xen.domain_create()
    xen.domain_set_claim_entries(b, [xen_memory_claim_t(1000, 0)])
    xen.do_memory_op_populate_physmap(DOM0, a.domid, 4, 0, 0, [0, 1, 2, 3])
    return xen


def outcome(result_html: str) -> str:
    if "internal error" in result_html:
        return "internal"
    if "refused" in result_html or "nothing changed" in result_html or "NULL" in result_html:
        return "refused"
    return "done"


def check(xen: claims.Xen, before: dict[str, Any], ctl: Any) -> str:
    what = outcome(ctl.result.value)
    assert what != "internal", ctl.result.value
    assert ctl.last_error is None or isinstance(ctl.last_error, (ValueError, TypeError))
    if what == "refused":
        assert ctl.result.value.strip() != ""
        if "NULL" not in ctl.result.value:  # a NULL run may have allocated before it
            assert xen.state() == before, ctl.result.value
    xen.check_invariants()
    return what


class Bench:
    """One host and one controller of each kind for all examples (a FigureWidget is slow)."""

    xen: claims.Xen | None = None
    editor: ClaimSetEditor
    stepper: AllocationStepper

    @classmethod
    def get(cls) -> type[Bench]:
        if cls.xen is None:
            cls.xen = host()
            cls.editor = ClaimSetEditor(cls.xen, domid=1)
            cls.stepper = AllocationStepper(cls.xen)
        return cls

    @classmethod
    def domain(cls, pick: Any) -> int | None:
        """A live domain for *pick* (1 or 2), ``None``, or one destroyed after listing."""
        xen = cls.get().xen
        assert xen is not None
        if pick is None:
            return None
        if pick == "gone":
            d = xen.domain_create()
            cls.editor.refresh()
            cls.stepper.redraw()
            return d.domid
        return max(xen.domains) if pick == 2 else min(xen.domains)


def gone(xen: claims.Xen, domid: int) -> None:
    xen.domain_kill(xen.domains[domid])


@SETTINGS
@given(
    nodes=st.lists(texts, min_size=2, max_size=2),
    host_pages=st.one_of(st.just(""), texts),
    extra=st.one_of(st.just(("", "")), st.just(("", "")), st.tuples(texts, texts)),
    legacy=st.booleans(),
    pick=st.sampled_from([1, 2, "gone"]),
)
def test_editor_install_never_half_installs(
    nodes: list[str], host_pages: str, extra: tuple[str, str], legacy: bool, pick: Any
) -> None:
    b = Bench.get()
    xen, ed = b.xen, b.editor
    assert xen is not None
    domid = b.domain(pick)
    ed.domain.value = domid
    if pick == "gone":  # destroyed after the dropdown was drawn
        gone(xen, domid)  # type: ignore[arg-type]
    for box, v in zip(ed.node_pages, nodes):
        box.value = v
    ed.host_pages.value = host_pages
    ed.other_target.value, ed.other_pages.value = extra
    ed.legacy.value = legacy
    before = xen.state()
    ed.install.click()
    what = check(xen, before, ed)
    if pick == "gone":
        assert what == "refused"


@SETTINGS
@given(
    order=st.one_of(st.integers(0, 4).map(str), texts),
    count=st.one_of(st.integers(1, 30).map(str), texts),
    node=st.sampled_from([None, 0, 1]),
    exact=st.booleans(),
    no_refcount=st.booleans(),
    pick=st.sampled_from([None, 1, 2, "gone"]),
    run=st.booleans(),
)
def test_stepper_refusals_change_nothing(
    order: str, count: str, node: int | None, exact: bool, no_refcount: bool, pick: Any, run: bool
) -> None:
    b = Bench.get()
    xen, stp = b.xen, b.stepper
    assert xen is not None
    domid = b.domain(pick)
    stp.domain.value = domid
    if pick == "gone":
        gone(xen, domid)  # type: ignore[arg-type]
    stp.order.value = order
    stp.count.value = count
    stp.node.value = node
    stp.exact.value = exact
    stp.no_refcount.value = no_refcount
    before = xen.state()
    (stp.run if run else stp.step).click()
    what = check(xen, before, stp)
    if pick == "gone":
        assert what == "refused"


def test_stale_domain_is_named() -> None:
    xen = host()
    ed = ClaimSetEditor(xen, domid=1)
    gone(xen, 1)
    ed.node_pages[0].value = "10"
    before = xen.state()
    ed.install.click()
    assert "d1 no longer exists" in ed.result.value and xen.state() == before


def test_scrubber_never_touches_the_live_host() -> None:
    xen = host()
    xen.domain_set_claim_entries(xen.domains[1], [xen_memory_claim_t(10**9, 0)])  # refused
    ts = TraceScrubber(xen)
    before = xen.state()
    for v in [0, 3, len(ts.events), 1]:
        ts.slider.value = v
        assert "internal error" not in ts.result.value
    ts.prev.click()
    ts.next.click()
    assert xen.state() == before
    assert ts.copy.state() != before  # the copy is at event 1, not at the end
