"""One visual language for every figure: the palette, the plotly template, axis helpers.

A colour means one thing everywhere.  The palette is a table of families; a
family's colours never appear in a figure beside another family's colours
unless they all differ (``CO_OCCUR`` lists which families share figures, and
``tests/test_viz.py`` checks that no two colours of one such group are equal or
close).  Two entries share a colour only when they mean the same thing
(``ALIASES``).

=============  ==========================  =========  ================================
family         meaning                     colour     used by
=============  ==========================  =========  ================================
heap           free (unclaimed, clean)     #54a24b    node bars, address strip,
                                                      timeline's ``total_avail_pages``
heap           free dirty                  #b5b83a    address strip
heap           claimed (outstanding)       #f28e2b    timeline's ``outstanding_claims``
heap           Xen / anonymous             #5c5470    node bars, address strip
heap           offlined                    #d6604d    node bars, address strip
heap           broken                      #9e1b22    address strip
heap           never handed to the heap    #d0d0d0    address strip (hatched)
heap           MFN 0                       #8a8a8a    address strip (the one page
                                                      ``init_heap_pages`` keeps out)
domain         d0, d1, d2, ... (by domid)  #8338ec,   every per-domain series:
                                           #4e79a7,   allocated solid, node claims
                                           #e377c2,   hatched ``/``, host-wide claim
                                           #17becf,   crossed ``x``
                                           #ff9da7,
                                           #b07aa1
redemption     same-node claim             #c8530f    redemption bars and sankey
redemption     host-wide claim             #f5c242
redemption     other nodes' claims         #8c5a2b
redemption     unclaimed memory            #54a24b    = heap "free" (same meaning)
version        master                      #6f5f4f    scenario counters, reports
version        v6                          #7570b3
version        v7                          #e7298a
version        v8                          #2f5fd0
version        xenserver                   #00758f
node           node 0, 1, 2, 3 (by id)     #35978f,   scenario placement, boot storms,
                                           #dfc27d,   redemption sankey; nodes 4-7
                                           #80cdc1,   repeat them dotted
                                           #bf812d    (``node_pattern``)
mode           none                        #a3a3a3    boot-storm sweeps
mode           legacy                      #f5c242    = redemption "host-wide claim"
mode           node                        #c8530f    = redemption "same-node claim"
storm          split guests                #9467bd    boot-storm summary
storm          failed builds               #de3a40    = status "error"
storm          claims refused              #6b8e23
storm          pages of failed builds      #7a3b69
storm          claims left over            #4f9fd6
bench          (none: neutral ink #777)    pattern,   benchmark figures: bars by
                                           dash and   pattern, lines by dash and
                                           marker     marker
status         ok                          #2e8b57    result lines, HTML report
status         error                       #de3a40
=============  ==========================  =========  ================================

Any two colours of different meanings differ by at least 15 (CIE76 delta E), across
the whole palette, not only within a figure, except the greys, which all say
"nothing claims this" (MFN 0, pages never handed to the heap, a storm without claims).
Everything else is grey and theme-neutral: text ``#777`` reads on white and on
JupyterLab's dark ``#111``; grid lines are translucent grey; paper and plot are
transparent, so a figure takes the notebook's background in either theme.

The template (:func:`template`) is a ``go.layout.Template`` applied per figure
(:func:`apply`), without ``plotly.io``; :func:`register_template` also names it
``"claims"`` in ``plotly.io.templates`` for people who want ``template="claims"``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import plotly.graph_objects as go

TEXT = "#777777"  # 4.5:1 on white, 4.1:1 on #111
GRID = "rgba(128,128,128,0.25)"
ZERO_LINE = "rgba(128,128,128,0.55)"
OUTLINE = "rgba(128,128,128,0.7)"  # bar outlines in the address strip
TRANSPARENT = "rgba(0,0,0,0)"

HEAP: dict[str, str] = {
    "free": "#54a24b",
    "free dirty": "#b5b83a",
    "claimed": "#f28e2b",
    "Xen / anonymous": "#5c5470",
    "offlined": "#d6604d",
    "broken": "#9e1b22",
    "never handed to the heap": "#d0d0d0",
    "MFN 0": "#8a8a8a",
}
HEAP_PATTERN: dict[str, str] = {"never handed to the heap": "/"}

DOMAINS: tuple[str, ...] = ("#8338ec", "#4e79a7", "#e377c2", "#17becf", "#ff9da7", "#b07aa1")
NODE_CLAIM_PATTERN = "/"  # a domain's node claims: its colour, hatched
HOST_CLAIM_PATTERN = "x"  # a domain's host-wide claim: its colour, crossed

REDEMPTION: dict[str, str] = {
    "same-node claim": "#c8530f",
    "host-wide claim": "#f5c242",
    "other nodes' claims": "#8c5a2b",
    "unclaimed memory": HEAP["free"],
}

VERSIONS: dict[str, str] = {
    "master": "#6f5f4f",
    "v6": "#7570b3",
    "v7": "#e7298a",
    "v8": "#2f5fd0",
    "xenserver": "#00758f",
}
VERSION_DASH: dict[str, str] = {
    "master": "dot",
    "v6": "dash",
    "v7": "solid",
    "v8": "dashdot",
    "xenserver": "longdash",
}
# where rule sets agree their lines coincide: each draws a wider line and a larger open
# marker than the next, so every colour stays visible on a shared segment
VERSION_SYMBOL: dict[str, str] = {
    "master": "circle-open",
    "v6": "square-open",
    "v7": "diamond-open",
    "v8": "x-thin-open",
    "xenserver": "triangle-up-open",
}
OTHER_VERSION = TEXT  # a rule set the palette does not know yet

NODES: tuple[str, ...] = ("#35978f", "#dfc27d", "#80cdc1", "#bf812d")

MODES: dict[str, str] = {
    "none": "#a3a3a3",
    "legacy": REDEMPTION["host-wide claim"],
    "node": REDEMPTION["same-node claim"],
}

STATUS: dict[str, str] = {"ok": "#2e8b57", "error": "#de3a40"}  # text: 4.2:1+ on white and #111

STORM: dict[str, str] = {
    "split guests": "#9467bd",
    "failed builds": STATUS["error"],
    "claims refused": "#6b8e23",
    "pages of failed builds": "#7a3b69",
    "claims left over": "#4f9fd6",
}

# benchmarks carry no meaning of the model: drawn in the neutral ink, told apart by
# pattern (bars), dash and marker (lines), never by a colour another figure gives a meaning
BENCH_INK = TEXT
BENCH_ORDER_PATTERNS: dict[int, str] = {0: "", 9: "/", 18: "."}
BENCH_LINE_STYLES: tuple[tuple[str, str], ...] = (
    ("solid", "circle"),
    ("dash", "square"),
    ("dot", "diamond"),
)

# families whose colours meet in one figure (or one widget, or one report page)
CO_OCCUR: dict[str, tuple[str, ...]] = {
    "one host (node bars, strip, redemption, timeline, stepper)": (
        "heap",
        "domain",
        "redemption",
        "node",
    ),
    "a scenario compared (report, counters, placement)": ("heap", "domain", "version", "node"),
    "boot storms": ("node", "mode", "storm"),
}

# entries that share a colour because they mean the same thing
ALIASES: tuple[tuple[str, str], ...] = (
    ("redemption:unclaimed memory", "heap:free"),
    ("mode:legacy", "redemption:host-wide claim"),
    ("mode:node", "redemption:same-node claim"),
    ("storm:failed builds", "status:error"),
)


def families() -> dict[str, dict[str, str]]:
    """Every family of the palette: family -> meaning -> colour (the docstring's table)."""
    return {
        "heap": dict(HEAP),
        "domain": {
            f"d{i} (and every domid {i} mod {len(DOMAINS)})": c for i, c in enumerate(DOMAINS)
        },
        "redemption": dict(REDEMPTION),
        "version": dict(VERSIONS),
        "node": {f"node {i} (and every node {i} mod {len(NODES)})": c for i, c in enumerate(NODES)},
        "mode": dict(MODES),
        "storm": dict(STORM),
        "status": dict(STATUS),
    }


def domain_colour(domid: int | None) -> str:
    """The colour of domain *domid* in every view (Xen's own pages for ``None``)."""
    if domid is None:
        return HEAP["Xen / anonymous"]
    return DOMAINS[domid % len(DOMAINS)]


def node_colour(node: int) -> str:
    """The colour of NUMA node *node* wherever nodes are coloured (not positions on an axis)."""
    return NODES[node % len(NODES)]


NODE_PATTERNS: tuple[str, ...] = ("", ".", "/", "x")
"""The bar pattern of nodes 0-3, 4-7, 8-11 and 12-15: past four nodes a colour repeats,
and the pattern tells them apart (an 8-node Opteron host in the xenopsd storms)."""


def node_pattern(node: int) -> str:
    """The bar pattern (plotly ``marker.pattern.shape``) of NUMA node *node*."""
    return NODE_PATTERNS[(node // len(NODES)) % len(NODE_PATTERNS)]


def version_colour(semantics: str) -> str:
    """The colour of rule set *semantics* (``master``, ``v6``, ``v7``, ``v8``)."""
    return VERSIONS.get(semantics, OTHER_VERSION)


def domain_label(domid: int, names: dict[int, str] | None = None) -> str:
    """A domain as figures name it: the scenario's name when given, else ``d<domid>``."""
    if names and domid in names:
        return names[domid]
    return f"d{domid}"


# -------------------------------------------------------------------- template
def _axis() -> dict[str, Any]:
    return {
        "gridcolor": GRID,
        "zerolinecolor": ZERO_LINE,
        "linecolor": GRID,
        "tickcolor": GRID,
        "automargin": True,
        "title": {"standoff": 8},
    }


TEMPLATE_LAYOUT: dict[str, Any] = {
    "font": {"color": TEXT, "family": "system-ui, -apple-system, 'Segoe UI', sans-serif"},
    "title": {"font": {"size": 15}, "x": 0.0, "xanchor": "left", "xref": "paper"},
    "paper_bgcolor": TRANSPARENT,
    "plot_bgcolor": TRANSPARENT,
    "xaxis": _axis(),
    "yaxis": _axis(),
    "legend": {"bgcolor": TRANSPARENT, "font": {"color": TEXT}},
    "hoverlabel": {"font": {"family": "system-ui, sans-serif"}},
    "colorway": list(DOMAINS),
}
_template: list[go.layout.Template] = []  # built on first use: keeps ``import`` light


def template() -> go.layout.Template:
    """The kit's plotly template (built once, on first use): transparent backgrounds,
    mid-grey text, translucent grid lines, the domain colours as the colorway."""
    if not _template:
        _template.append(go.layout.Template(layout=TEMPLATE_LAYOUT))
    return _template[0]


TEMPLATE_NAME = "claims"
LEGEND_RIGHT: dict[str, Any] = {
    "orientation": "v",
    "x": 1.02,
    "xanchor": "left",
    "y": 1,
    "yanchor": "top",
    "tracegroupgap": 4,
}
MARGIN: dict[str, int] = {"l": 60, "r": 20, "t": 60, "b": 50}

_registered = False


def register_template() -> None:
    """Name :func:`template` ``"claims"`` in ``plotly.io.templates`` (once).

    Figures do not need it (they carry the template object); it is for people who
    want ``fig.update_layout(template="claims")`` on figures of their own.
    """
    global _registered
    if _registered:
        return
    import plotly.io as pio  # already imported by go.Figure(); cheap here

    pio.templates[TEMPLATE_NAME] = template()
    _registered = True


SITE_ENV = "CLAIMS_SITE"
"""Set to ``1`` by ``python -m claims site`` for the kernels that execute the notebooks:
figures and controllers then display as HTML that needs no kernel and no widget
manager, drawn by the one copy of plotly.js the site loads."""


def site_mode() -> bool:
    """True while ``python -m claims site`` executes the notebooks (``CLAIMS_SITE=1``)."""
    import os

    return os.environ.get(SITE_ENV) == "1"


def figure_html(fig: Any) -> str:
    """*fig* as a ``<div>`` and the script that draws it with the page's plotly.js (none
    inlined): the static site's way to show a figure."""
    import plotly.io as pio

    layout = fig.get("layout", {}) if isinstance(fig, dict) else fig.layout
    height = int((layout.get("height") if isinstance(layout, dict) else layout.height) or 360)
    html: str = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        default_height=f"{height}px",
        config={"displaylogo": False, "responsive": True},
    )
    # the page loads plotly.js at the end of its body: draw once the page is parsed
    start = html.index("<script>") + len("<script>")
    end = html.rindex("</script>")
    return (
        html[:start]
        + 'window.addEventListener("DOMContentLoaded", function () {'
        + html[start:end]
        + "});"
        + html[end:]
    )


def use_site_renderer() -> None:
    """Make :func:`figure_html` plotly's default renderer (``python -m claims site``)."""
    import plotly.io as pio
    from plotly.io.base_renderers import MimetypeRenderer

    class SiteRenderer(MimetypeRenderer):  # type: ignore[misc]  # plotly has no type hints
        def to_mimebundle(self, fig_dict: Any) -> dict[str, str]:
            return {"text/html": figure_html(fig_dict)}

    pio.renderers["claims_site"] = SiteRenderer()
    pio.renderers.default = "claims_site"


def use_pyodide_renderer() -> None:
    """In Pyodide (JupyterLite), draw figures as plotly MIME bundles, which JupyterLite's
    plotly extension renders.  plotly checks for nbformat before it sends one, to be
    sure the front end renders MIME bundles; nbformat cannot be installed there (its
    jsonschema needs the compiled rpds-py), and JupyterLite does render them, so the
    check is told so."""
    import types

    import plotly.io as pio
    import plotly.io._renderers as renderers

    if renderers.nbformat is None:
        renderers.nbformat = types.SimpleNamespace(__version__="5.10.4")
    pio.renderers.default = "plotly_mimetype"


if site_mode():
    use_site_renderer()
elif sys.platform == "emscripten":
    use_pyodide_renderer()


def apply(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    """Give *fig* the kit's look: the template, the title, the legend at the right."""
    register_template()
    fig.update_layout(
        template=template(),
        title={"text": title},
        legend=LEGEND_RIGHT,
        margin=MARGIN,
    )
    if layout:
        fig.update_layout(**layout)
    return fig


# ---------------------------------------------------------------- axis helpers
def int_axis(top: float = 0, bottom: float = 0) -> dict[str, Any]:
    """An axis of whole numbers (pages, counts) whose values run from *bottom* to *top*.

    Ticks are integers: ``dtick`` 1 while the span is small (plotly would
    otherwise tick at 0.5, or at 8191.5 between 8191 and 8192), ``tickformat``
    ``,d`` always, never below zero.
    """
    axis: dict[str, Any] = {"tickformat": ",d", "rangemode": "nonnegative"}
    if top - min(bottom, top) <= 10:
        axis |= {"tick0": 0, "dtick": 1}
    return axis


def colorbar_int(top: float, title: str) -> dict[str, Any]:
    """A colour bar of whole numbers up to *top*."""
    bar: dict[str, Any] = {"title": {"text": title}, "tickformat": ",d", "outlinewidth": 0}
    if top <= 10:
        bar |= {"tick0": 0, "dtick": 1}
    return bar


def hex_ticks(lo: int, hi: int, target: int = 6) -> tuple[list[int], list[str]]:
    """Ticks for an MFN axis from *lo* to *hi*: multiples of a power of two, as ``0x...``.

    The step is the largest power of two giving at least *target* - 2 ticks in
    ``[lo, hi]``; labels are hexadecimal, so ticks fall on round hex values.
    """
    span = max(hi - lo, 1)
    step = 1 << max(0, math.floor(math.log2(span / max(target - 1, 1))))
    while step > 1 and (hi // step - (lo + step - 1) // step + 1) < target - 2:
        step >>= 1
    first = (lo + step - 1) // step * step
    vals = list(range(first, hi + 1, step))
    return vals, [f"{v:#x}" for v in vals]


def hex_axis(lo: int, hi: int) -> dict[str, Any]:
    """An MFN axis from *lo* to *hi* (exclusive end), ticked at round hexadecimal values."""
    vals, text = hex_ticks(lo, hi)
    return {
        "range": [lo, hi],
        "tickmode": "array",
        "tickvals": vals,
        "ticktext": text,
        "title": {"text": "MFN"},
    }


def stack_top(series: Iterable[Sequence[float]]) -> float:
    """The tallest stack of several series drawn stacked over the same positions."""
    totals: dict[int, float] = {}
    for ys in series:
        for i, y in enumerate(ys):
            totals[i] = totals.get(i, 0) + (y or 0)
    return max(totals.values(), default=0)


# ---------------------------------------------------------------- empty states
EMPTY_META = "empty-state"


def empty_state(fig: go.Figure, message: str) -> go.Figure:
    """Show *message* centred in *fig* instead of empty axes (which are hidden).

    The message is a text trace, not a layout annotation, so a ``FigureWidget``
    redrawn with ``controllers.update_figure`` (which copies traces and axes, not
    annotations) loses it as soon as data arrives.  ``figures.figure_values``
    skips it.
    """
    fig.add_trace(
        go.Scatter(
            x=[0],
            y=[0],
            mode="text",
            text=[message],
            textfont={"color": TEXT, "size": 14},
            hoverinfo="skip",
            showlegend=False,
            name="",
            meta=EMPTY_META,
        )
    )
    hidden = {"visible": False, "range": [-1, 1], "fixedrange": True}
    fig.update_layout(xaxis=hidden, yaxis=hidden, showlegend=False)
    return fig


def is_empty_state(fig: go.Figure) -> bool:
    """Whether *fig* shows an empty-state message rather than data."""
    return any(getattr(t, "meta", None) == EMPTY_META for t in fig.data)


def empty_message(fig: go.Figure) -> str:
    """The empty-state message *fig* shows, or ``""``."""
    for t in fig.data:
        if getattr(t, "meta", None) == EMPTY_META:
            return str(t.text[0])
    return ""
