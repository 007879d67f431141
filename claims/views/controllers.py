"""Controllers: classes that own ipywidgets and plotly ``FigureWidget``s by composition.

Each controller exposes ``.widget`` (an ``ipywidgets.Box``) and displays as it
in a notebook.  Callbacks never ``display()`` or print: results go to a result
line, and a refused action leaves the host unchanged and says why.
"""

from __future__ import annotations

import copy
import html
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

U64 = (1 << 64) - 1


def update_figure(fw: go.FigureWidget, fig: go.Figure) -> None:
    """Redraw *fw* in place with the traces and title of *fig*."""
    with fw.batch_update():
        same = len(fw.data) == len(fig.data) and all(
            a.type == b.type and a.name == b.name for a, b in zip(fw.data, fig.data)
        )
        if same:
            for t, new in zip(fw.data, fig.data):
                t.update(new.to_plotly_json(), overwrite=True)
        else:
            fw.data = []
            fw.add_traces(list(fig.data))
        fw.layout.title = fig.layout.title
        for k in ("xaxis", "yaxis", "height", "barmode"):
            if getattr(fig.layout, k, None) is not None:
                fw.layout[k] = fig.layout[k]


def parse_count(name: str, text: str, hi: int = U64) -> int | None:
    """A whole number typed into a box; ``None`` for an empty box."""
    s = text.strip().replace("_", "")
    if not s:
        return None
    try:
        v = int(s, 0)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a whole number") from None
    if v < 0:
        raise ValueError(f"{name}: {v} is negative")
    if v > hi:
        raise ValueError(f"{name}: {v} is too large (at most {hi})")
    return v


def _line(ok: bool, text: str) -> str:
    colour = "#2b7a0b" if ok else "#b00020"
    return f'<span style="color:{colour}">{html.escape(text)}</span>'


class Controller:
    """Common parts: the host, the result line, safe callbacks, notebook display."""

    widget: widgets.Box

    def __init__(self, xen: Xen) -> None:
        if not isinstance(xen, Xen):
            raise TypeError(f"a controller needs a claims.Xen host, not {type(xen).__name__}")
        self.xen = xen
        self.result = widgets.HTML(value="")
        self.last_error: BaseException | None = None

    def _say(self, ok: bool, text: str) -> None:
        self.result.value = _line(ok, text)

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

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


# ---------------------------------------------------------- ClaimSetEditor
class ClaimSetEditor(Controller):
    """Edit and install a domain's claim set through the host version's claims domctl.

    A row per node (pages, with the node's unclaimed free memory beside it), a
    host-wide row, a row for any other target id, a legacy switch, Install and
    Release.  The result line shows 0 or the errno name with Xen's reason.
    On a v6/v7 host Install is ``XEN_DOMCTL_claim_memory`` SET (replacing the
    set) and Release a set of one zero entry; on a v8 host Install is
    ``XEN_DOMCTL_set_memory_claims`` (``EINVAL`` while claims exist, ``EBUSY``
    for a running domain) and Release the empty set.
    """

    def __init__(self, xen: Xen, domid: int | None = None) -> None:
        super().__init__(xen)
        self.domain = widgets.Dropdown(description="domain", options=self._domain_options())
        if domid is not None:
            self.domain.value = domid
        self.node_pages = [
            widgets.Text(description=f"node {n}", placeholder="pages", layout={"width": "220px"})
            for n in range(xen.nr_nodes)
        ]
        self.node_free = [widgets.HTML() for _ in range(xen.nr_nodes)]
        self.host_pages = widgets.Text(description="host-wide", placeholder="pages",
                                 layout={"width": "220px"})  # fmt: skip
        self.host_free = widgets.HTML()
        self.other_target = widgets.Text(description="target", placeholder="node id",
                                   layout={"width": "220px"})  # fmt: skip
        self.other_pages = widgets.Text(description="pages", placeholder="pages",
                                  layout={"width": "220px"})  # fmt: skip
        self.legacy = widgets.Checkbox(description="legacy (absolute target, host-wide only)")
        self.install = widgets.Button(description="Install", button_style="primary")
        self.release = widgets.Button(description="Release")
        self.figure = go.FigureWidget(viz.node_bars(xen))
        self.install.on_click(self._safe(self._install))
        self.release.on_click(self._safe(self._release))
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
                self.figure,
            ]
        )
        self.refresh()

    def refresh(self) -> None:
        """Redraw the free-memory labels and the figure from the host."""
        x = self.xen
        for n, lab in enumerate(self.node_free):
            lab.value = f"unclaimed free: {x.node_avail_pages[n] - x.claimed_pages[n]} pages"
        self.host_free.value = (
            f"unclaimed on the host: {x.total_avail_pages - x.outstanding_claims} pages"
        )
        opts = self._domain_options()
        if list(self.domain.options) != opts:
            keep = self.domain.value
            self.domain.options = opts
            if keep in dict(opts).values():
                self.domain.value = keep
        update_figure(self.figure, viz.node_bars(x))

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
    """Step allocations (``alloc_domheap_pages``) and watch where they come from."""

    MAX_RUN = 100_000

    def __init__(self, xen: Xen) -> None:
        super().__init__(xen)
        self.domain = widgets.Dropdown(description="domain", options=self._domain_options(True))
        self.order = widgets.Text(value="0", description="order", layout={"width": "160px"})
        self.node = widgets.Dropdown(
            description="node",
            options=[("any", None)] + [(f"node {n}", n) for n in range(xen.nr_nodes)],
        )
        self.exact = widgets.Checkbox(description="MEMF_exact_node")
        self.no_refcount = widgets.Checkbox(description="MEMF_no_refcount")
        self.step = widgets.Button(description="Step", button_style="primary")
        self.count = widgets.Text(value="10", description="N", layout={"width": "140px"})
        self.run = widgets.Button(description="Run N")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, layout={"width": "200px"})
        self.log = widgets.HTML()
        self.steps: list[Event] = []
        self.bars = go.FigureWidget(viz.node_bars(xen))
        self.redeem = go.FigureWidget(viz.redemption([]))
        self.step.on_click(self._safe(lambda: self._run(1)))
        self.run.on_click(self._safe(self._run_n))
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.domain, self.order, self.node]),
                widgets.HBox([self.exact, self.no_refcount]),
                widgets.HBox([self.step, self.count, self.run, self.progress]),
                self.result,
                self.bars,
                self.redeem,
                self.log,
            ]
        )

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
            self._say(False, f"NULL after {got} allocations: {last.info.get('reason', '')}")
        else:
            self._say(True, f"{got} allocations; last MFN {last.result:#x} on node "
                            f"{last.info['node']}")  # fmt: skip
        self.redraw()

    def redraw(self) -> None:
        update_figure(self.bars, viz.node_bars(self.xen))
        update_figure(self.redeem, viz.redemption(self.steps[-20:]))
        rows = []
        for ev in self.steps[-20:][::-1]:
            if ev.result is None:
                what = f"NULL ({ev.info.get('reason', '')})"
            else:
                red = ev.info.get("redeemed") or {}
                what = f"MFN {ev.result:#x} node {ev.info['node']} redeemed {red}"
            who = "Xen" if ev.args["d"] is None else f"d{ev.args['d']}"
            rows.append(f"<tr><td>#{ev.seq}</td><td>{who}</td><td>order {ev.args['order']}</td>"
                        f"<td>{html.escape(what)}</td></tr>")  # fmt: skip
        self.log.value = "<table>" + "".join(rows) + "</table>"
        opts = self._domain_options(True)
        if list(self.domain.options) != opts:
            keep = self.domain.value
            self.domain.options = opts
            if keep in dict(opts).values():
                self.domain.value = keep


# ------------------------------------------------------------ HeapExplorer
class HeapExplorer(Controller):
    """Node and zone selectors over buddyinfo and the address strip."""

    def __init__(self, xen: Xen) -> None:
        super().__init__(xen)
        self.node = widgets.Dropdown(
            description="node", options=[(f"node {n}", n) for n in range(xen.nr_nodes)]
        )
        self.zone = widgets.Dropdown(description="zone", options=self._zones(0))
        self.buddy = go.FigureWidget(viz.buddyinfo(xen))
        self.strip = go.FigureWidget(viz.address_strip(xen, 0))
        self.node.observe(self._safe(self._node_changed), names="value")
        self.zone.observe(self._safe(self.redraw), names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.node, self.zone]), self.result, self.buddy, self.strip]
        )

    def _zones(self, node: int) -> list[tuple[str, int | None]]:
        zones = sorted(
            {self.xen.page_to_zone(s) for s, e in self.xen.node_ranges[node]}
            | {self.xen.page_to_zone(e - 1) for s, e in self.xen.node_ranges[node]}
        )
        lo_hi = range(zones[0], zones[-1] + 1) if zones else range(0)
        return [("all", None)] + [(f"zone {z}", z) for z in lo_hi]

    def _node_changed(self) -> None:
        self.zone.options = self._zones(self.node.value)
        self.zone.value = None
        self.redraw()

    def redraw(self) -> None:
        update_figure(self.buddy, viz.buddyinfo(self.xen, self.zone.value))
        update_figure(self.strip, viz.address_strip(self.xen, self.node.value, self.zone.value))
        self._say(True, f"node {self.node.value}: {self.xen.node_avail_pages[self.node.value]} "
                        "free pages")  # fmt: skip


# ------------------------------------------------------------ TraceScrubber
class TraceScrubber(Controller):
    """Step back and forth through a host's events, replayed on a copy of the host."""

    CHECKPOINT = 25

    def __init__(self, xen: Xen) -> None:
        super().__init__(xen)
        self.events = xen.events.top_level()
        self.slider = widgets.IntSlider(
            value=len(self.events), min=0, max=len(self.events), description="event"
        )
        self.prev = widgets.Button(description="◀ back")
        self.next = widgets.Button(description="forward ▶")
        self.what = widgets.HTML()
        self._checkpoints: dict[int, Xen] = {0: fresh_host(xen)}
        self.copy = self._host_at(len(self.events))
        self.figure = go.FigureWidget(viz.node_bars(self.copy))
        self.slider.observe(self._safe(self.redraw), names="value")
        self.prev.on_click(self._safe(lambda: self._move(-1)))
        self.next.on_click(self._safe(lambda: self._move(1)))
        self.widget = widgets.VBox(
            [widgets.HBox([self.prev, self.slider, self.next]), self.what, self.result, self.figure]
        )
        self.redraw()

    def refresh(self) -> None:
        """Pick up events the live host recorded since."""
        self.events = self.xen.events.top_level()
        self.slider.max = len(self.events)

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

    def redraw(self) -> None:
        k = self.slider.value
        self.copy = self._host_at(k)
        update_figure(self.figure, viz.node_bars(self.copy))
        if k == 0:
            self.what.value = "before the first event"
        else:
            self.what.value = html.escape(f"after {self.events[k - 1].short()}")
        self._say(True, f"{k} of {len(self.events)} events replayed on a copy")


# ---------------------------------------------------------- ClaimsExplorer
class ClaimsExplorer(Controller):
    """The dashboard of ``notebooks/apps/claims-explorer.ipynb``: a host preset picker
    over a :class:`ClaimSetEditor`, an :class:`AllocationStepper` and a
    :class:`TraceScrubber` that share one host.

    Picking a preset, or pressing **New host**, builds a fresh host with domains d1
    and d2 (no claims) and new controllers, and closes the old ones.  Install,
    Release, Step and Run N in one controller redraw the others and the counters
    line; the scrubber follows the newest event unless the reader has moved it back.
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
        self.body = widgets.VBox()
        self.editor, self.stepper, self.scrubber = self._controllers()
        self.preset.observe(self._safe(self._rebuild), names="value")
        self.new_host.on_click(self._safe(self._rebuild))
        self.widget = widgets.VBox(
            [widgets.HBox([self.preset, self.new_host]), self.result, self.counters, self.body]
        )
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

    def _controllers(self) -> tuple[ClaimSetEditor, AllocationStepper, TraceScrubber]:
        ed = ClaimSetEditor(self.xen, domid=1)
        st = AllocationStepper(self.xen)
        sc = TraceScrubber(self.xen)
        for b in (ed.install, ed.release):
            b.on_click(self._safe(lambda: self._sync(ed)))
        for b in (st.step, st.run):
            b.on_click(self._safe(lambda: self._sync(st)))

        def column(title: str, ctl: Controller, css: str) -> Any:
            head = widgets.HTML(f"<b>{html.escape(title)}</b>")
            col = widgets.VBox([head, ctl.widget], layout={"flex": "1 1 480px", "min_width": "0"})
            col.add_class(f"claims-explorer-{css}")  # a handle for styles and browser tests
            return col

        self.body.children = [
            widgets.HBox(
                [
                    column("1. Claim set: XEN_DOMCTL_claim_memory", ed, "editor"),
                    column("2. Allocations: alloc_domheap_pages", st, "stepper"),
                ],
                layout={"flex_flow": "row wrap"},
            ),
            column("3. Trace: every event, replayed on a copy of the host", sc, "trace"),
        ]
        return ed, st, sc

    def _describe(self) -> str:
        label = self.PRESETS[self.preset.value][0]
        doms = " and ".join(f"d{d}" for d in sorted(self.xen.domains))
        return f"host {label}, domains {doms}"

    def _update_counters(self) -> None:
        x = self.xen
        nodes = ", ".join(
            f"node {n} {x.node_avail_pages[n]} free / {x.claimed_pages[n]} claimed"
            for n in range(x.nr_nodes)
        )
        self.counters.value = html.escape(
            f"total_avail_pages {x.total_avail_pages}, outstanding_claims "
            f"{x.outstanding_claims}; {nodes}"
        )

    def _sync(self, source: Controller) -> None:
        """Redraw what the action in *source* changed everywhere else."""
        if source is not self.editor:
            self.editor.refresh()
        if source is not self.stepper:
            self.stepper.redraw()
        sc = self.scrubber
        follow = sc.slider.value == sc.slider.max
        sc.refresh()
        if follow:
            sc.slider.value = sc.slider.max  # the slider's observer replays and redraws
        self._update_counters()

    def _rebuild(self) -> None:
        old = self.body.children  # the panels of the old controllers
        self.xen = self._build(self.preset.value)
        self.editor, self.stepper, self.scrubber = self._controllers()
        for w in old:
            self._close_tree(w)
        self._say(True, "new " + self._describe())
        self._update_counters()

    @staticmethod
    def _close_tree(w: Any) -> None:
        """Close a widget and everything inside it (their front-end views go too)."""
        for child in getattr(w, "children", ()):
            ClaimsExplorer._close_tree(child)
        w.close()
