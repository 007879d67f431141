"""Controllers: classes that own ipywidgets and plot views by composition.

Each controller exposes ``.widget`` (an ``ipywidgets.Box``) and displays as it
in a notebook.  Callbacks never ``display()`` or print: results go to a result
line, and a refused action leaves the host unchanged and says why.

Figures are drawn by :class:`PlotView`, an ``Output`` widget holding the figure's
data as plotly's MIME bundle, which JupyterLab and Voilà draw with the plotly
renderer they already load.  Measured on the 2-core CI machine (README, "Speed in
the browser"): a plotly ``FigureWidget`` sends its whole front-end bundle (about
5 MB) per figure and took 3 s to create in a fresh kernel; a ``PlotView`` sends a
few kilobytes and its redraw is a plain output update.
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Callable
from typing import Any, ClassVar

import ipywidgets as widgets
import plotly.graph_objects as go

from ..hypervisor import hosts
from ..hypervisor.constants import MEMF_exact_node, MEMF_no_refcount, MEMF_node
from ..hypervisor.domctl import domain_claims
from ..hypervisor.errors import XenBugError, errname
from ..hypervisor.events import Event
from ..hypervisor.public import (
    XEN_DOMCTL_CLAIM_MEMORY_HOST,
    XEN_DOMCTL_CLAIM_MEMORY_LEGACY,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    xen_domctl_memory_claim_t,
    xen_memory_claim_t,
)
from ..hypervisor.xen import Xen
from ..review.replay import apply, fresh_host
from . import figures as viz
from . import style
from .describe import event_text, memflags_text, plural, redeemed_text

U64 = (1 << 64) - 1
PLOTLY_MIME = "application/vnd.plotly.v1+json"
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def plotly_bundle(fig: go.Figure) -> dict[str, Any]:
    """*fig* as the MIME bundle plotly's notebook renderer draws: plain JSON data,
    no JavaScript (the front end already has plotly.js)."""
    from plotly.utils import PlotlyJSONEncoder  # numpy arrays and dates to JSON

    body = json.loads(json.dumps(fig.to_plotly_json(), cls=PlotlyJSONEncoder))
    body["config"] = dict(PLOT_CONFIG)
    return {PLOTLY_MIME: body}


class PlotView(widgets.Output):  # type: ignore[misc]  # ipywidgets has no type hints
    """A figure drawn in the browser from its data: an ``Output`` widget whose one
    output is the figure's plotly MIME bundle.  :meth:`update` replaces it.

    ``.figure`` is the ``go.Figure`` last drawn and ``.data`` its traces, so
    :func:`claims.viz.figure_values` reads a view as it reads a figure.  The view
    keeps the figure's height while it redraws, so the page does not jump.
    """

    DEFAULT_HEIGHT = 360  # px: the height JupyterLab's plotly renderer gives a figure without one

    def __init__(self, fig: go.Figure, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.figure = fig
        self.update(fig)

    @property
    def data(self) -> Any:
        """The traces of the figure last drawn (as ``go.Figure.data``)."""
        return self.figure.data

    def update(self, fig: go.Figure) -> None:
        """Draw *fig* in place of the figure shown."""
        self.figure = fig
        bundle = plotly_bundle(fig)
        height = int(fig.layout.height or self.DEFAULT_HEIGHT)
        bundle[PLOTLY_MIME]["layout"]["height"] = height  # the renderer's and the box's
        self.layout.min_height = f"{height}px"
        self.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)


def parse_count(name: str, text: str, hi: int = U64) -> int | None:
    """A whole number typed into a box; ``None`` for an empty box.

    Python's literals: decimal, ``0x`` hex, ``0o`` octal, ``0b`` binary, with ``_``
    between digits.  ``010`` is refused with a message: C's ``strtoul(s, NULL, 0)`` reads
    it as octal 8, a reader of decimal as 10, and a claim must not depend on which.
    ``0``, ``00`` and ``0x10`` are fine."""
    s = text.strip().replace("_", "")
    if not s:
        return None
    if len(s) > 1 and s[0] == "0" and s.isdigit() and s.strip("0"):
        raise ValueError(
            f"{name}: {text!r} has a leading zero, which C reads as octal: write "
            f"{int(s, 10)} for decimal, or use a 0o, 0x or 0b prefix"
        )
    try:
        v = int(s, 0)
    except ValueError:
        raise ValueError(
            f"{name}: {text!r} is not a whole number (decimal, 0x hex, 0o octal or 0b binary)"
        ) from None
    if v < 0:
        raise ValueError(f"{name}: {v} is negative")
    if v > hi:
        raise ValueError(f"{name}: {v} is too large (at most {hi})")
    return v


def _line(ok: bool, text: str) -> str:
    """A result line in JupyterLab's success or error colour, which follow the light and
    dark themes (the fallbacks are for pages without JupyterLab's styles)."""
    colour = "var(--jp-success-color1, #2b7a0b)" if ok else "var(--jp-error-color1, #b00020)"
    return f'<span style="color:{colour}">{html.escape(text)}</span>'


class Controller:
    """Common parts: the host, the result line, safe callbacks, notebook display."""

    widget: widgets.Box

    def __init__(self, xen: Xen) -> None:
        if not isinstance(xen, Xen):
            raise TypeError(f"a controller needs a claims.Xen host, not {type(xen).__name__}")
        self.xen = xen
        self.result = widgets.HTML(value="")
        self.result_ok: bool | None = None  # what the result line says: None when empty
        self.last_error: BaseException | None = None

    def _say(self, ok: bool, text: str) -> None:
        self.result_ok = ok
        self.result.value = _line(ok, text)

    def clear_stale_error(self) -> None:
        """Clear a refusal from the result line once another panel changed the host:
        it spoke of a state that is gone."""
        if self.result_ok is False:
            self.result_ok = None
            self.result.value = ""

    def _safe(self, fn: Callable[[], None]) -> Callable[[Any], None]:
        def run(_: Any = None) -> None:
            self.last_error = None
            try:
                fn()
            except (ValueError, TypeError, KeyError) as e:
                self.last_error = e
                self._say(False, f"refused: {e}; nothing changed")
            except XenBugError as e:  # a state Xen never reaches; the model refused the call
                self.last_error = e
                self._say(False, f"{e}; the model changed nothing")
            except Exception as e:  # no traceback may reach the notebook
                self.last_error = e
                self._say(False, f"internal error: {type(e).__name__}: {e}")

        return run

    def _live_domain(self, domid: int) -> Any:
        d = self.xen.domains.get(domid)
        if d is None:
            raise ValueError(f"d{domid} no longer exists (destroyed since the list was drawn)")
        return d

    def _domain_options(self, with_none: bool = False) -> list[tuple[str, int | None]]:
        opts: list[tuple[str, int | None]] = [(f"d{d}", d) for d in sorted(self.xen.domains)]
        if with_none:
            opts.append(("Xen (no domain)", None))
        return opts

    @staticmethod
    def _keep_options(dd: widgets.Dropdown, opts: list[tuple[str, Any]]) -> None:
        """Give *dd* new options, keeping its value where it is still offered."""
        if list(dd.options) != opts:
            keep = dd.value
            dd.options = opts
            if keep in dict(opts).values():
                dd.value = keep

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if style.site_mode():  # the static site: no widget manager, a still picture
            bundle["text/html"] = self.snapshot()._repr_html_()
        return bundle

    def _snapshot_figures(self) -> list[go.Figure]:
        """The figures the controller shows now (a snapshot copies them)."""
        return []

    def _snapshot_lines(self) -> list[str]:
        """Plain lines that say what the controller shows now, besides the result line."""
        return []

    def snapshot(self) -> Snapshot:
        """A still picture of the controller as it is now: its result line, what its
        controls say and its figures, which later actions do not change.

        A controller shown in a notebook is live: once later cells click its buttons,
        the output where it was first shown holds their end state.  A cell that drives
        the controller from code shows ``ctl.snapshot()`` to keep what that cell did
        in its own output."""
        return Snapshot(
            [*self._snapshot_lines(), self.result.value],
            [go.Figure(f) for f in self._snapshot_figures()],
        )


class Snapshot:
    """A controller's result line, control values and figures at one moment, displayed
    as plain HTML and plotly figures (no widgets, so a saved notebook keeps them)."""

    def __init__(self, lines: list[str], figures: list[go.Figure]) -> None:
        self.lines = lines  # HTML: the result line keeps its colour
        self.figures = figures

    @property
    def text(self) -> str:
        """The lines without their markup."""
        import re

        return "\n".join(html.unescape(re.sub(r"<[^>]+>", "", ln)) for ln in self.lines if ln)

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        if style.site_mode():
            display(HTML(self._repr_html_()))  # type: ignore[no-untyped-call]
            return
        display(HTML("<br>".join(ln for ln in self.lines if ln)))  # type: ignore[no-untyped-call]
        for fig in self.figures:
            display(fig)  # type: ignore[no-untyped-call]

    def _repr_html_(self) -> str:
        """The lines, then each figure drawn by the page's plotly.js (the static site)."""
        text = "<br>".join(ln for ln in self.lines if ln)
        figs = "".join(style.figure_html(f) for f in self.figures)
        return f'<div class="claims-snapshot"><p>{text}</p>{figs}</div>'

    def __repr__(self) -> str:
        return f"<Snapshot: {self.text!r}, {len(self.figures)} figures>"


# ---------------------------------------------------------- ClaimSetEditor
class ClaimSetEditor(Controller):
    """Edit and install a domain's claim set through the host version's claims domctl.

    A row per node (pages, with the node's unclaimed free memory beside it), a
    host-wide row, a row for any other target id, a legacy switch, Install and
    Release.  Picking a domain loads its claims into the rows.  The result line
    shows 0 or the errno name with Xen's reason.
    On a v6/v7 host Install is ``XEN_DOMCTL_claim_memory`` SET (replacing the
    set) and Release a set of one zero entry; on a v8 host Install is
    ``XEN_DOMCTL_set_memory_claims`` (``EINVAL`` while claims exist, ``EBUSY``
    for a running domain) and Release the empty set.

    ``show_figure=False`` leaves out the memory-per-node chart (``.figure`` is then
    ``None``), for a dashboard that draws one chart for all its panels.
    """

    def __init__(self, xen: Xen, domid: int | None = None, *, show_figure: bool = True) -> None:
        super().__init__(xen)
        self.domain = widgets.Dropdown(description="domain", options=self._domain_options())
        if domid is not None:
            self.domain.value = domid
        box = {"width": "220px"}
        self.node_pages = [
            widgets.Text(description=f"node {n}", placeholder="pages", layout=box)
            for n in range(xen.nr_nodes)
        ]
        self.node_free = [widgets.HTML() for _ in range(xen.nr_nodes)]
        self.host_pages = widgets.Text(description="host-wide", placeholder="pages", layout=box)
        self.host_free = widgets.HTML()
        self.other_target = widgets.Text(description="target", placeholder="node id", layout=box)
        self.other_pages = widgets.Text(description="pages", placeholder="pages", layout=box)
        self.legacy = widgets.Checkbox(
            description="legacy claim: the host-wide row is an absolute target",
            indent=False,
            layout={"width": "auto"},
        )
        self.install = widgets.Button(description="Install", button_style="primary")
        self.release = widgets.Button(description="Release")
        self.figure = PlotView(viz.node_bars(xen)) if show_figure else None
        self.install.on_click(self._safe(self._install))
        self.release.on_click(self._safe(self._release))
        self.domain.observe(self._safe(self.load_claims), names="value")
        rows = [widgets.HBox([t, f]) for t, f in zip(self.node_pages, self.node_free)]
        self.widget = widgets.VBox(
            [
                self.domain,
                *rows,
                widgets.HBox([self.host_pages, self.host_free]),
                widgets.HBox([self.other_target, self.other_pages]),
                self.legacy,
                widgets.HBox([self.install, self.release]),
                self.result,
                *([self.figure] if self.figure is not None else []),
            ]
        )
        self.load_claims()
        self.refresh()

    def _snapshot_lines(self) -> list[str]:
        rows = [f"node {n} {b.value or '-'}" for n, b in enumerate(self.node_pages)]
        rows.append(f"host-wide {self.host_pages.value or '-'}")
        if self.other_target.value or self.other_pages.value:
            rows.append(f"target {self.other_target.value} pages {self.other_pages.value}")
        who = "no domain" if self.domain.value is None else f"d{self.domain.value}"
        legacy = " (legacy)" if self.legacy.value else ""
        return [html.escape(f"{who}: rows {', '.join(rows)}{legacy}")]

    def _snapshot_figures(self) -> list[go.Figure]:
        return [viz.node_bars(self.xen)]

    def load_claims(self) -> None:
        """Fill the rows with the chosen domain's claims (empty rows for no claim)."""
        d = self.xen.domains.get(self.domain.value) if self.domain.value is not None else None
        for n, box in enumerate(self.node_pages):
            c = d.claims[n] if d is not None and n < len(d.claims) else 0
            box.value = str(c) if c else ""
        host = d.outstanding_pages - d.node_claims if d is not None else 0
        self.host_pages.value = str(host) if host else ""
        self.other_target.value = self.other_pages.value = ""
        self.legacy.value = False

    def refresh(self) -> None:
        """Redraw the free-memory labels, the domain list and the figure from the host."""
        x = self.xen
        for n, lab in enumerate(self.node_free):
            lab.value = f"unclaimed free: {x.node_avail_pages[n] - x.claimed_pages[n]} pages"
        self.host_free.value = (
            f"unclaimed on the host: {x.total_avail_pages - x.outstanding_claims} pages"
        )
        self._keep_options(self.domain, self._domain_options())
        if self.figure is not None:
            self.figure.update(viz.node_bars(x))

    def entries(self) -> list[xen_memory_claim_t]:
        """The claim set the rows describe (``ValueError`` for a bad box)."""
        out = []
        for n, box in enumerate(self.node_pages):
            v = parse_count(f"node {n} pages", box.value)
            if v is not None:
                out.append(xen_memory_claim_t(v, n))
        host = parse_count("host-wide pages", self.host_pages.value)
        if host is not None:
            target = (
                XEN_DOMCTL_CLAIM_MEMORY_LEGACY
                if self.legacy.value
                else XEN_DOMCTL_CLAIM_MEMORY_HOST
            )
            out.append(xen_memory_claim_t(host, target))
        t = parse_count("target", self.other_target.value, 0xFFFFFFFF)
        p = parse_count("pages", self.other_pages.value)
        if (t is None) != (p is None):
            raise ValueError("the extra row needs both a target id and pages")
        if t is not None and p is not None:
            out.append(xen_memory_claim_t(p, t))
        return out

    def _domain(self) -> Any:
        if self.domain.value is None:
            raise ValueError("no domain: create one first")
        return self._live_domain(self.domain.value)

    def _set(self, entries: list[xen_memory_claim_t]) -> None:
        d = self._domain()
        if self.xen.rules.claims_abi == "memory_claims":  # v8: XEN_DOMCTL_set_memory_claims
            ents8 = [xen_domctl_memory_claim_t.from_buffer_copy(bytes(e)) for e in entries]
            arr8 = (xen_domctl_memory_claim_t * max(1, len(ents8)))(*ents8)
            rc = self.xen.do_domctl_set_memory_claims(self.xen.dom0, d, len(ents8), arr8)
        else:
            arr = (xen_memory_claim_t * max(1, len(entries)))(*entries)
            rc, _nr = self.xen.do_domctl_claim_memory(
                self.xen.dom0, d, XEN_DOMCTL_CLAIM_MEMORY_SET, len(entries), arr
            )
        ev = self.xen.events.last_mine()
        reason = ev.info.get("reason", "") if ev else ""
        if rc == 0:
            self._say(True, f"0: {reason}; d{d.domid} claims {domain_claims(d)}")
        else:
            name = errname(rc)
            self._say(False, f"{name}: {reason}; nothing changed")
        self.refresh()

    def _install(self) -> None:
        self._set(self.entries())

    def _release(self) -> None:
        if self.xen.rules.claims_abi == "memory_claims":
            self._set([])  # v8 releases with nr_entries 0
        else:
            self._set([xen_memory_claim_t(0, XEN_DOMCTL_CLAIM_MEMORY_HOST)])


# ------------------------------------------------------- AllocationStepper
class AllocationStepper(Controller):
    """Step allocations (``alloc_domheap_pages``) and watch where they come from.

    ``show_bars=False`` leaves out the memory-per-node chart (``.bars`` is then
    ``None``); the redemption chart of the recent steps stays.
    """

    MAX_RUN = 100_000
    RECENT = 20  # steps in the redemption chart and the log

    def __init__(self, xen: Xen, *, show_bars: bool = True) -> None:
        super().__init__(xen)
        self.domain = widgets.Dropdown(description="domain", options=self._domain_options(True))
        self.order = widgets.Text(value="0", description="order", layout={"width": "160px"})
        self.node = widgets.Dropdown(
            description="node",
            options=[("any", None)] + [(f"node {n}", n) for n in range(xen.nr_nodes)],
        )
        self.exact = widgets.Checkbox(description="MEMF_exact_node", indent=False,
                                      layout={"width": "auto"})  # fmt: skip
        self.no_refcount = widgets.Checkbox(description="MEMF_no_refcount", indent=False,
                                            layout={"width": "auto"})  # fmt: skip
        self.step = widgets.Button(description="Step", button_style="primary")
        self.count = widgets.Text(value="10", description="N", layout={"width": "140px"})
        self.run = widgets.Button(description="Run N")
        self.progress = widgets.IntProgress(
            value=0, min=0, max=1, description="", layout={"width": "260px"},
            style={"description_width": "initial"},
        )  # fmt: skip
        self.log = widgets.HTML()
        self.steps: list[Event] = []
        self.bars = PlotView(viz.node_bars(xen)) if show_bars else None
        self.redeem = PlotView(viz.redemption([]))
        self.step.on_click(self._safe(lambda: self._run(1)))
        self.run.on_click(self._safe(self._run_n))
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.domain, self.order]),
                widgets.HBox([self.node, self.exact, self.no_refcount]),
                widgets.HBox([self.step, self.count, self.run, self.progress]),
                self.result,
                *([self.bars] if self.bars is not None else []),
                self.redeem,
                self.log,
            ]
        )

    def _snapshot_lines(self) -> list[str]:
        who = "Xen" if self.domain.value is None else f"d{self.domain.value}"
        flags = memflags_text(self.memflags())
        return [html.escape(f"{who}, order {self.order.value}, memflags {flags}")]

    def _snapshot_figures(self) -> list[go.Figure]:
        return [viz.node_bars(self.xen), viz.redemption(self.steps[-self.RECENT :])]

    def memflags(self) -> int:
        f = 0
        if self.node.value is not None:
            f |= MEMF_node(self.node.value)
        if self.exact.value:
            f |= MEMF_exact_node
        if self.no_refcount.value:
            f |= MEMF_no_refcount
        return f

    def _run_n(self) -> None:
        n = parse_count("N", self.count.value, self.MAX_RUN)
        if not n:
            raise ValueError("N must be at least 1")
        self._run(n)

    def _run(self, n: int) -> None:
        order = parse_count("order", self.order.value, 63)
        if order is None:
            raise ValueError("order: enter a number")
        d = None if self.domain.value is None else self._live_domain(self.domain.value)
        flags = self.memflags()
        self.progress.max, self.progress.value = n, 0
        self.progress.bar_style = ""
        self.progress.description = f"0 of {n}"
        got = 0
        for i in range(n):
            self.xen.alloc_domheap_pages(d, order, flags)
            ev = self.xen.events.last_mine()
            if ev is None:
                raise RuntimeError("alloc_domheap_pages recorded no event")
            self.steps.append(ev)
            self.progress.value = i + 1
            if ev.result is None:
                break
            got += 1
        last = self.steps[-1]
        if last.result is None:
            self.progress.bar_style = "danger"
            self.progress.description = f"NULL at {got + 1} of {n}"
            self._say(False, f"NULL after {plural(got, 'allocation')}: "
                             f"{last.info.get('reason', '')}")  # fmt: skip
        else:
            self.progress.bar_style = "success"
            self.progress.description = f"{n} of {n}"
            self._say(True, f"{plural(got, 'allocation')}; last MFN {last.result:#x} on node "
                            f"{last.info['node']}")  # fmt: skip
        self.redraw()

    def redraw(self) -> None:
        """Redraw the charts and the log of recent steps, and the domain list."""
        recent = self.steps[-self.RECENT :]
        if self.bars is not None:
            self.bars.update(viz.node_bars(self.xen))
        if recent or self.redeem.figure.data:
            self.redeem.update(viz.redemption(recent))
        rows = []
        for ev in recent[::-1]:
            if ev.result is None:
                what = f"NULL ({ev.info.get('reason', '')})"
            else:
                red = redeemed_text(ev.info.get("redeemed"))
                what = f"MFN {ev.result:#x} on node {ev.info['node']}; redeemed: {red}"
            who = "Xen" if ev.args["d"] is None else f"d{ev.args['d']}"
            flags = memflags_text(ev.args["memflags"])
            cells = [f"#{ev.seq}", who, f"order {ev.args['order']}", flags, what]
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        self.log.value = "<table>" + "".join(rows) + "</table>" if rows else ""
        self._keep_options(self.domain, self._domain_options(True))


# ------------------------------------------------------------ HeapExplorer
class HeapExplorer(Controller):
    """Node and zone selectors over buddyinfo and the address strip."""

    def __init__(self, xen: Xen) -> None:
        super().__init__(xen)
        self.node = widgets.Dropdown(
            description="node", options=[(f"node {n}", n) for n in range(xen.nr_nodes)]
        )
        self.zone = widgets.Dropdown(description="zone", options=self._zones(0), index=0)
        self.buddy = PlotView(viz.buddyinfo(xen))
        self.strip = PlotView(viz.address_strip(xen, 0))
        self.node.observe(self._safe(self._node_changed), names="value")
        self.zone.observe(self._safe(self.redraw), names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.node, self.zone]), self.result, self.buddy, self.strip]
        )

    def _snapshot_figures(self) -> list[go.Figure]:
        return [self.buddy.figure, self.strip.figure]

    def _zones(self, node: int) -> list[tuple[str, int | None]]:
        zones = sorted(
            {self.xen.page_to_zone(s) for s, e in self.xen.node_ranges[node]}
            | {self.xen.page_to_zone(e - 1) for s, e in self.xen.node_ranges[node]}
        )
        lo_hi = range(zones[0], zones[-1] + 1) if zones else range(0)
        return [("all", None)] + [(f"zone {z}", z) for z in lo_hi]

    def _node_changed(self) -> None:
        with self.zone.hold_trait_notifications():
            self.zone.options = self._zones(self.node.value)
            self.zone.index = 0  # "all": its value is None, which would select nothing
        self.redraw()

    def redraw(self) -> None:
        self.buddy.update(viz.buddyinfo(self.xen, self.zone.value))
        self.strip.update(viz.address_strip(self.xen, self.node.value, self.zone.value))
        free = plural(self.xen.node_avail_pages[self.node.value], "free page")
        self._say(True, f"node {self.node.value}: {free}")


# ------------------------------------------------------------ TraceScrubber
class TraceScrubber(Controller):
    """Step back and forth through a host's events, replayed on a copy of the host.

    ``show_figure=False`` leaves out the memory-per-node chart (``.figure`` is then
    ``None``); ``.copy`` is still the host replayed up to the slider.
    """

    CHECKPOINT = 25

    def __init__(self, xen: Xen, *, show_figure: bool = True) -> None:
        super().__init__(xen)
        self.events = xen.events.top_level()
        self.slider = widgets.IntSlider(
            value=len(self.events), min=0, max=len(self.events), description="event",
            layout={"flex": "1 1 auto", "min_width": "200px"},
        )  # fmt: skip
        self.prev = widgets.Button(description="◀ back", layout={"width": "90px"})
        self.next = widgets.Button(description="forward ▶", layout={"width": "90px"})
        self.what = widgets.HTML()
        self._checkpoints: dict[int, Xen] = {0: fresh_host(xen)}
        self._copy: tuple[int, Xen] | None = None
        self.figure = PlotView(viz.node_bars(self.copy)) if show_figure else None
        self.slider.observe(self._safe(self.redraw), names="value")
        self.prev.on_click(self._safe(lambda: self._move(-1)))
        self.next.on_click(self._safe(lambda: self._move(1)))
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.prev, self.slider, self.next]),
                self.what,
                self.result,
                *([self.figure] if self.figure is not None else []),
            ]
        )
        self.redraw()

    def _snapshot_lines(self) -> list[str]:
        return [self.what.value]

    def _snapshot_figures(self) -> list[go.Figure]:
        return [viz.node_bars(self.copy)]

    @property
    def following(self) -> bool:
        """Whether the slider stands at the newest event."""
        return bool(self.slider.value == self.slider.max)

    @property
    def copy(self) -> Xen:
        """The host replayed up to the slider's event (built when first asked for)."""
        k = self.slider.value
        if self._copy is None or self._copy[0] != k:
            self._copy = (k, self._host_at(k))
        return self._copy[1]

    def refresh(self) -> None:
        """Pick up events the live host recorded since, and say where the slider stands."""
        self.events = self.xen.events.top_level()
        self.slider.max = len(self.events)
        self._describe()

    def _move(self, step: int) -> None:
        self.slider.value = max(0, min(self.slider.max, self.slider.value + step))

    def _host_at(self, k: int) -> Xen:
        base = max(c for c in self._checkpoints if c <= k)
        host = copy.deepcopy(self._checkpoints[base])
        for i in range(base, k):
            apply(host, self.events[i])
            if (i + 1) % self.CHECKPOINT == 0 and i + 1 not in self._checkpoints:
                self._checkpoints[i + 1] = copy.deepcopy(host)
        return host

    def _describe(self) -> None:
        k, n = self.slider.value, len(self.events)
        self.what.value = (
            "before the first event"
            if k == 0
            else html.escape(f"after {event_text(self.events[k - 1])}")
        )
        where = "the newest" if k == n else f"{plural(n - k, 'event')} before the newest"
        self._say(True, f"{k} of {plural(n, 'event')} replayed on a copy ({where})")

    def redraw(self) -> None:
        if self.figure is not None:
            self.figure.update(viz.node_bars(self.copy))
        self._describe()


# ---------------------------------------------------------- ClaimsExplorer
def _counters_html(x: Xen) -> str:
    """The heap's counters as a table: a column per node and one for the host."""
    cell = 'style="padding:1px 10px;text-align:right"'
    head = "".join(f"<th {cell}>node {n}</th>" for n in range(x.nr_nodes))
    rows = [
        ("free", [x.node_avail_pages[n] for n in range(x.nr_nodes)], x.total_avail_pages,
         "total_avail_pages"),
        ("claimed", [x.claimed_pages[n] for n in range(x.nr_nodes)], x.outstanding_claims,
         "outstanding_claims"),
        ("unclaimed free",
         [x.node_avail_pages[n] - x.claimed_pages[n] for n in range(x.nr_nodes)],
         x.total_avail_pages - x.outstanding_claims, ""),
    ]  # fmt: skip
    body = "".join(
        f"<tr><th {cell}>{name}</th>"
        + "".join(f"<td {cell}>{v}</td>" for v in per_node)
        + f"<td {cell}>{host}</td><td {cell}><code>{html.escape(counter)}</code></td></tr>"
        for name, per_node, host, counter in rows
    )
    return (
        '<table style="border-collapse:collapse;font-variant-numeric:tabular-nums">'
        f"<tr><th {cell}>pages</th>{head}<th {cell}>host</th><th {cell}></th></tr>"
        f"{body}</table>"
    )


class ClaimsExplorer(Controller):
    """The dashboard of ``notebooks/apps/claims-explorer.ipynb``: a host preset picker
    and the host's counters at the top, a :class:`ClaimSetEditor` and an
    :class:`AllocationStepper` side by side, one memory-per-node chart, and a
    :class:`TraceScrubber` below it, all on one host.

    Picking a preset, or pressing **New host**, builds a fresh host with domains d1
    and d2 (no claims) and new controllers, and closes the old ones.  Install,
    Release, Step and Run N in one panel redraw the others, the counters and the
    chart.  The chart shows the live host while the trace slider stands at the
    newest event, and the replayed copy (its title says so) once the reader moves
    the slider back; a new event moves it forward again only if it was at the newest.
    """

    PRESETS: ClassVar[dict[str, tuple[str, Callable[[], Xen]]]] = {
        "demo": ("demo: 2 nodes x 4096 pages (v7)", lambda: hosts.demo()),
        "demo-v6": ("demo: 2 nodes x 4096 pages (v6)", lambda: hosts.demo("v6")),
        "demo-v8": ("demo: 2 nodes x 4096 pages (v8)", lambda: hosts.demo("v8")),
        "four-nodes": ("4 nodes x 4096 pages (v7)", lambda: hosts.uniform(4, 4096)),
        "big": ("8 nodes x 1 TiB (v7)", lambda: hosts.uniform(8, 1 << 28)),
    }
    DOMAINS = 2

    def __init__(self, preset: str = "demo") -> None:
        super().__init__(self._build(self._check_preset(preset)))
        self.preset = widgets.Dropdown(
            description="host",
            options=[(label, key) for key, (label, _) in self.PRESETS.items()],
            value=preset,
            layout={"width": "380px"},
        )
        self.new_host = widgets.Button(
            description="New host", tooltip="a fresh host of the chosen preset"
        )
        self.counters = widgets.HTML()
        self.bars = PlotView(viz.node_bars(self.xen))
        self.panels = widgets.HBox(layout={"flex_flow": "row wrap", "align_items": "flex-start"})
        self.trace = widgets.VBox()
        self.editor, self.stepper, self.scrubber = self._controllers()
        self.preset.observe(self._safe(self._rebuild), names="value")
        self.new_host.on_click(self._safe(self._rebuild))
        chart = self._column("Memory per node", self.bars, "chart", flex="1 1 100%")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.preset, self.new_host, self.result],
                             layout={"align_items": "center", "flex_flow": "row wrap"}),
                self.counters,
                self.panels,
                chart,
                self.trace,
            ]
        )  # fmt: skip
        self.widget.add_class("claims-explorer")
        self.result.add_class("claims-explorer-result")
        self.counters.add_class("claims-explorer-counters")
        self._say(True, self._describe())
        self._update_counters()

    @classmethod
    def _check_preset(cls, preset: object) -> str:
        if not isinstance(preset, str):
            raise TypeError(f"preset: a preset name (str), not {type(preset).__name__}")
        if preset not in cls.PRESETS:
            raise ValueError(f"preset: {preset!r} is not one of {', '.join(cls.PRESETS)}")
        return preset

    @classmethod
    def _build(cls, preset: str) -> Xen:
        xen = cls.PRESETS[preset][1]()
        for _ in range(cls.DOMAINS):
            xen.domain_create()
        return xen

    @staticmethod
    def _column(title: str, body: Any, css: str, flex: str = "1 1 460px") -> Any:
        head = widgets.HTML(f"<b>{html.escape(title)}</b>")
        col = widgets.VBox([head, body], layout={"flex": flex, "min_width": "0"})
        col.add_class(f"claims-explorer-{css}")  # a handle for styles and browser tests
        return col

    def _controllers(self) -> tuple[ClaimSetEditor, AllocationStepper, TraceScrubber]:
        ed = ClaimSetEditor(self.xen, domid=1, show_figure=False)
        st = AllocationStepper(self.xen, show_bars=False)
        sc = TraceScrubber(self.xen, show_figure=False)
        for b in (ed.install, ed.release):
            b.on_click(self._safe(lambda: self._sync(ed)))
        for b in (st.step, st.run):
            b.on_click(self._safe(lambda: self._sync(st)))
        sc.slider.observe(self._safe(self._draw_chart), names="value")
        domctl = (
            "XEN_DOMCTL_set_memory_claims"
            if self.xen.rules.claims_abi == "memory_claims"
            else "XEN_DOMCTL_claim_memory"
        )
        self.panels.children = [
            self._column(f"1. Claim set: {domctl}", ed.widget, "editor"),
            self._column("2. Allocations: alloc_domheap_pages", st.widget, "stepper"),
        ]
        self.trace.children = [
            self._column("3. Trace: every event, replayed on a copy of the host", sc.widget,
                         "trace", flex="1 1 100%")
        ]  # fmt: skip
        return ed, st, sc

    def _describe(self) -> str:
        label = self.PRESETS[self.preset.value][0]
        doms = " and ".join(f"d{d}" for d in sorted(self.xen.domains))
        return f"host {label}, domains {doms}"

    def _update_counters(self) -> None:
        self.counters.value = _counters_html(self.xen)

    def _draw_chart(self) -> None:
        """The live host while the trace follows the newest event, else the replayed copy."""
        sc = self.scrubber
        if sc.following:
            self.bars.update(viz.node_bars(self.xen))
            return
        fig = viz.node_bars(sc.copy)
        fig.update_layout(
            title=f"Memory per node after event {sc.slider.value} of {sc.slider.max}: the "
            "replayed copy (move the trace slider to the end for the live host)"
        )
        self.bars.update(fig)

    def _sync(self, source: Controller) -> None:
        """Redraw what the action in *source* changed everywhere else."""
        if source is not self.editor:
            self.editor.refresh()
            self.editor.clear_stale_error()
        if source is not self.stepper:
            self.stepper.redraw()
            self.stepper.clear_stale_error()
        sc = self.scrubber
        follow = sc.following
        sc.refresh()
        if follow and not sc.following:
            sc.slider.value = sc.slider.max  # the slider's observers redraw
        else:
            self._draw_chart()
        self._update_counters()

    def _rebuild(self) -> None:
        old = [*self.panels.children, *self.trace.children]  # the old controllers' panels
        self.xen = self._build(self.preset.value)
        self.editor, self.stepper, self.scrubber = self._controllers()
        for w in old:
            self._close_tree(w)
        self._draw_chart()
        self._say(True, "new " + self._describe())
        self._update_counters()

    @staticmethod
    def _close_tree(w: Any) -> None:
        """Close a widget and everything inside it (their front-end views go too)."""
        for child in getattr(w, "children", ()):
            ClaimsExplorer._close_tree(child)
        w.close()
