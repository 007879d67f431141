"""Benchmarks that print figures: ``python -m claims.kit.bench [--quick]``.

Prints the machine, the Python version and, for each figure, the median of
several runs.  Nothing here asserts a time: speed goals are read off the table.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..hypervisor import hosts
from ..hypervisor.constants import MEMF_node
from ..hypervisor.domctl import DOM0
from ..hypervisor.memory import XENMEMF_node
from ..hypervisor.public import XEN_DOMCTL_CLAIM_MEMORY_GET, xen_memory_claim_t
from ..hypervisor.xen import Xen
from .core_build import core_build, good_build

GIB_PAGES = 1 << 18
TIB_PAGES = 1 << 28
T = TypeVar("T")


def progress(it: Iterable[T], desc: str, total: int | None = None) -> Iterable[T]:
    """A progress bar: a widget in a notebook, a tqdm bar on stderr in a terminal."""
    from tqdm.auto import tqdm

    bar: Iterable[T] = tqdm(it, desc=desc, total=total, leave=False)
    return bar


def median_time(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_memory(fn: Callable[[], T]) -> tuple[int, T]:
    """The peak of Python's allocations (``tracemalloc``) while *fn* runs, and its result."""
    tracemalloc.start()
    try:
        out = fn()
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, out


def interpreter_build() -> str:
    """How this CPython was built, as far as it affects speed: linkage and optimisation."""
    config = str(sysconfig.get_config_var("CONFIG_ARGS") or "")
    shared = bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))
    # an interpreter binary may be linked statically even where libpython is built shared
    linked = "shared libpython" if shared and _links_libpython() else "static"
    if "--enable-optimizations" in config:
        return f"{linked}, built with --enable-optimizations"
    return linked  # (distributions may build with PGO outside configure, as Debian does)


def _links_libpython() -> bool:
    try:
        with open(f"/proc/{os.getpid()}/maps") as maps:
            return "libpython" in maps.read()
    except OSError:
        return bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))


def header() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"python:  {sys.version.split()[0]} ({platform.python_implementation()})")
    print(f"         {sys.executable}: {interpreter_build()}")
    print(f"core:    {core_build()} (compiled by `python tools/build_core.py`, or not)")


NODE_SIZES = [("64 GiB", 64 * GIB_PAGES), ("1 TiB", TIB_PAGES), ("4 TiB", 4 * TIB_PAGES)]


def host_build_record(nodes: int, node_pages: int, runs: int = 3) -> dict[str, Any]:
    """Build a uniform host of *nodes* nodes: median seconds, peak memory, free blocks."""

    def build() -> Xen:
        return hosts.uniform(nodes, node_pages)

    seconds = median_time(build, runs=runs)
    peak, host = peak_memory(build)  # (the host traced is the one counted: no third build)
    return {
        "nodes": nodes,
        "node_pages": node_pages,
        "pages": nodes * node_pages,
        "free_blocks": sum(map(sum, host.buddyinfo())),
        "seconds": seconds,
        "peak_bytes": peak,
    }


def host_build_records(
    counts: Sequence[int], sizes: Sequence[int], runs: int = 3
) -> list[dict[str, Any]]:
    """``host_build_record`` for every node count and node size (one run past 64 TiB)."""
    grid = [(n, p) for n in counts for p in sizes]
    return [
        host_build_record(n, p, 1 if n * p >= 64 * TIB_PAGES else runs)
        for n, p in progress(grid, "host builds")
    ]


def host_builds(quick: bool) -> None:
    counts = [2, 8] if quick else [2, 8, 64]
    records = host_build_records(counts, [p for _, p in NODE_SIZES])
    print("\nhost build: time (median s) and peak memory (MiB) per node count and node size")
    print(f"{'nodes':>6} " + " ".join(f"{name:>18}" for name, _ in NODE_SIZES) + "   free blocks")
    for n in counts:
        row = [r for r in records if r["nodes"] == n]
        cells = [f"{r['seconds']:8.3f} s {r['peak_bytes'] / 2**20:6.1f} M" for r in row]
        print(f"{n:>6} " + " ".join(f"{c:>18}" for c in cells) + f"   {row[-1]['free_blocks']:>11}")


def _alloc_rate(xen: Xen, order: int, n: int, total: int = 2000) -> tuple[float, float]:
    """(allocations/s, frees-with-merge/s) of order-*order* extents on node 0.

    Cycles of *n* allocations, each cycle freed again (timed apart), until
    *total* allocations are timed: a small host such as the demo host holds
    only 8 extents of order 9, so it is filled and emptied many times.
    """
    d = xen.domain_create()
    flags = MEMF_node(0)
    alloc_t = free_t = 0.0
    done = 0
    while done < total:
        t0 = time.perf_counter()
        mfns = [xen.alloc_domheap_pages(d, order, flags) for _ in range(n)]
        t1 = time.perf_counter()
        for m in mfns:
            if m is not None:
                xen.free_domheap_pages(m, order)
        t2 = time.perf_counter()
        assert all(m is not None for m in mfns)
        alloc_t += t1 - t0
        free_t += t2 - t1
        done += n
    xen.domain_kill(d)
    return done / alloc_t, done / free_t


def _fragment(xen: Xen, pages: int) -> None:
    """Allocate *pages* single pages on node 0 and free every second one."""
    d = xen.domain_create()
    mfns = [xen.alloc_domheap_pages(d, 0, MEMF_node(0)) for _ in range(pages)]
    for m in mfns[::2]:
        if m is not None:
            xen.free_domheap_pages(m, 0)


def _two_64(nodes: int = 2) -> Xen:
    return hosts.uniform(nodes, 64 * GIB_PAGES)


def _fragmented() -> Xen:
    xen = _two_64()
    _fragment(xen, 20000)
    return xen


def _eight_4t() -> Xen:
    return hosts.uniform(8, 4 * TIB_PAGES)


# (label, host factory, order, extents per cycle)
ALLOC_CASES: list[tuple[str, Callable[[], Xen], int, int]] = [
    ("demo, fresh", hosts.demo, 0, 2000),
    ("demo, fresh", hosts.demo, 9, 8),
    ("2 x 64 GiB, fresh", _two_64, 0, 2000),
    ("2 x 64 GiB, fresh", _two_64, 9, 2000),
    ("2 x 64 GiB, fresh", _two_64, 18, 60),
    ("2 x 64 GiB, fragmented", _fragmented, 0, 2000),
    ("2 x 64 GiB, fragmented", _fragmented, 9, 2000),
    ("2 x 64 GiB, fragmented", _fragmented, 18, 60),
    ("8 x 4 TiB, fresh", _eight_4t, 0, 2000),
    ("8 x 4 TiB, fresh", _eight_4t, 9, 2000),
]


def allocation_rate_records(
    cases: Sequence[tuple[str, Callable[[], Xen], int, int]] = ALLOC_CASES, runs: int = 5
) -> list[dict[str, Any]]:
    """Allocations and frees per second (medians of *runs*) for each case, one host per label."""
    built: dict[str, Xen] = {}
    out = []
    for label, make, order, n in progress(cases, "allocation rates"):
        xen = built.get(label)
        if xen is None:
            xen = built[label] = make()
        gc.collect()  # start from a collected heap, not with the last case's garbage
        _alloc_rate(xen, order, n, total=n)  # one untimed cycle warms the interpreter up
        rates = [_alloc_rate(xen, order, n) for _ in range(runs)]
        out.append(
            {
                "host": label,
                "order": order,
                "n": n,
                "alloc_per_s": statistics.median(r[0] for r in rates),
                "free_per_s": statistics.median(r[1] for r in rates),
            }
        )
    return out


def allocation_rates(quick: bool) -> list[dict[str, Any]]:
    records = allocation_rate_records(runs=3 if quick else 5)
    print(
        "\nallocations per second and frees (with merging) per second: median of "
        f"{3 if quick else 5} runs,"
    )
    print("each timing 2000 allocations in cycles of n (allocate n extents, free them)")
    print(f"{'host':30} {'order':>5} {'n':>5} {'alloc/s':>10} {'free/s':>10}")
    for r in records:
        print(
            f"{r['host']:30} {r['order']:>5} {r['n']:>5} "
            f"{r['alloc_per_s']:10.0f} {r['free_per_s']:10.0f}"
        )
    return records


_BUILD_PROBE = """
import json, sys
from claims import core_build
from claims.kit.bench import ALLOC_CASES, allocation_rate_records
recs = allocation_rate_records(ALLOC_CASES[:2], runs=int(sys.argv[1]))
print(json.dumps([core_build(), [[r["order"], r["alloc_per_s"]] for r in recs]]))
"""


def build_comparison_records(runs: int = 5) -> list[dict[str, Any]]:
    """Demo-host allocations per second, orders 0 and 9, in a fresh interpreter per build.

    Always the pure-Python modules (``CLAIMS_PURE=1``); the compiled core as
    well when a build matching the sources is beside them
    (``tools/build_core.py``).
    """
    builds = [("pure Python", "1")] + ([("mypyc", "0")] if good_build() else [])
    out = []
    for label, pure in progress(builds, "builds"):
        env = {**os.environ, "CLAIMS_PURE": pure}
        res = subprocess.run(
            [sys.executable, "-c", _BUILD_PROBE, str(runs)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        build, rates = json.loads(res.stdout.strip().splitlines()[-1])
        if build != label:
            raise RuntimeError(f"asked for the {label} build, a fresh interpreter loaded {build}")
        out.append({"build": build, **{f"order_{o}": rate for o, rate in rates}})
    return out


def build_comparison(quick: bool) -> None:
    runs = 3 if quick else 5
    records = build_comparison_records(runs)
    print(f"\nallocations per second on the demo host by build (median of {runs}, each build")
    print("in a fresh interpreter)")
    print(f"{'build':14} {'order 0':>10} {'order 9':>10}")
    for r in records:
        print(f"{r['build']:14} {r['order_0']:10.0f} {r['order_9']:10.0f}")
    if len(records) == 1:
        print("(no compiled core beside the sources: `python tools/build_core.py` builds one)")


def log_growth_records(sizes: Sequence[int], runs: int = 5) -> list[dict[str, Any]]:
    """Order-0 allocations per second on the demo host once its event log holds *sizes* events.

    A long session must stay as fast as a new one: the log's stored events are
    kept out of the cyclic GC's way (``events.EventLog``), so the rate is flat.
    """
    xen = hosts.demo()
    out = []
    for size in progress(sizes, "event log growth"):
        while len(xen.events) < size:
            _alloc_rate(xen, 0, 2000, total=2000)  # 4000 events a cycle
        before = len(xen.events)
        rates = [_alloc_rate(xen, 0, 2000)[0] for _ in range(runs)]
        out.append({"events": before, "alloc_per_s": statistics.median(rates)})
    return out


def log_growth(quick: bool) -> None:
    sizes = [0, 100_000, 250_000] if quick else [0, 250_000, 1_000_000, 2_000_000]
    print("\norder-0 allocations per second on the demo host as its event log grows (median of 5)")
    print(f"{'events in the log':>18} {'alloc/s':>10}")
    for r in log_growth_records(sizes):
        print(f"{r['events']:>18} {r['alloc_per_s']:10.0f}")


def claim_times() -> None:
    print("\nclaim SET and GET on a 64-node host (median of 200, microseconds)")
    xen = hosts.uniform(64, 64 * GIB_PAGES)
    d = xen.domain_create()
    print(f"{'entries':>8} {'SET us':>10} {'GET us':>10}")
    buf = (xen_memory_claim_t * 65)()

    def get() -> None:
        xen.do_domctl_claim_memory(DOM0, d, XEN_DOMCTL_CLAIM_MEMORY_GET, 65, buf)

    for n in (1, 8, 64):
        arr = (xen_memory_claim_t * n)(*[xen_memory_claim_t(1000 + i, i) for i in range(n)])

        def put(a: object = arr, k: int = n) -> None:
            xen.do_domctl_claim_memory(DOM0, d, 0, k, a)

        set_t = median_time(put, 200)
        get_t = median_time(get, 200)
        print(f"{n:>8} {set_t * 1e6:10.1f} {get_t * 1e6:10.1f}")


def populate_guest(gib: int, bulk: bool, mem_flags: int | None = None) -> tuple[Xen, float]:
    """Populate a *gib* GiB guest in 2 MiB extents, one call, on a fresh two-node host.

    Returns the host and the call's seconds; ``bulk`` chooses the bulk path or
    the per-extent loop (``Xen.bulk_populate``).  ``mem_flags``: the call's
    (default ``XENMEMF_node(0)``; 0 is libxl's call for a guest without vNUMA,
    served round robin over the guest's nodes).
    """
    extents = gib * 512
    xen = hosts.uniform(2, max(gib, 64) * GIB_PAGES)
    xen.bulk_populate = bulk
    d = xen.domain_create()
    flags = XENMEMF_node(0) if mem_flags is None else mem_flags
    t0 = time.perf_counter()
    done = xen.do_memory_op_populate_physmap(
        DOM0, d.domid, extents, 9, flags, [i << 9 for i in range(extents)]
    )
    seconds = time.perf_counter() - t0
    assert done == extents
    return xen, seconds


POPULATE_FLAGS = (("node 0", XENMEMF_node(0)), ("no node", 0))
"""The populate calls the bench times: with ``XENMEMF_node(0)``, and with ``mem_flags`` 0
(round robin over both nodes)."""


def populate_records(sizes: Sequence[int], loop_max: int = 256) -> list[dict[str, Any]]:
    """Seconds to populate a guest of each size (GiB) in 2 MiB extents, with a node
    and without, by the bulk path and (up to *loop_max* GiB) by the loop; then to
    free it.  The better of two fresh runs (the first warms up)."""
    out: list[dict[str, Any]] = []
    for gib in sizes:
        extents = gib * 512
        for where, flags in POPULATE_FLAGS:
            for bulk in (True, False):
                if gib > loop_max and not bulk:
                    continue
                (xen, t), (_, t2) = (
                    populate_guest(gib, bulk, flags),
                    populate_guest(gib, bulk, flags),
                )
                path = "bulk" if bulk else "loop"
                out.append({"gib": gib, "where": where, "path": path, "seconds": min(t, t2)})
                if bulk:  # and give it all back (XENMEM_decrease_reservation, one call)
                    d = xen.domains[1]
                    gfns = [i << 9 for i in range(extents)]
                    t0 = time.perf_counter()
                    done = xen.do_memory_op_decrease_reservation(DOM0, d.domid, extents, 9, gfns)
                    t = time.perf_counter() - t0
                    assert done == extents and d.tot_pages == 0
                    out.append({"gib": gib, "where": where, "path": "free", "seconds": t})
    return out


def populate_time(quick: bool) -> list[dict[str, Any]]:
    print("\npopulate a guest in 2 MiB extents (one XENMEM_populate_physmap call, with")
    print("XENMEMF_node(0) or with mem_flags 0: round robin over both nodes),")
    print("then free it (one XENMEM_decrease_reservation call)")
    print(f"{'guest':>8} {'node':>8} {'path':>6} {'seconds':>9} {'extents/s':>10}")
    records = populate_records([16] if quick else [256, 1024])
    for r in records:
        extents = r["gib"] * 512
        print(
            f"{r['gib']:>5} GiB {r['where']:>8} {r['path']:>6} {r['seconds']:9.3f}"
            f" {extents / r['seconds']:10.0f}"
        )
    return records


XEN_REFERENCE: tuple[tuple[str, float, float], ...] = (
    ("order-0 alloc + free", 50e-9, 80e-9),
    ("order-9 alloc + free", 3e-6, 8e-6),
    ("populate 1 TiB in 2 MiB extents", 1.4, 1.9),
)
"""What Xen itself takes, as ``(operation, fastest, slowest)`` seconds: one
``alloc_domheap_pages`` and its ``free_domheap_pages``, and one
``XENMEM_populate_physmap`` of 524,288 extents of order 9 (``XEN_REFERENCE_BUILD``)."""

XEN_REFERENCE_BUILD = (
    "Xen's page allocator (xen/common/page_alloc.c, the v7 series with master's offlining "
    "fixes) built host-side in the upstream native test harness as a release build "
    "(assertions off), timed on this machine kind (x86_64, 2 cores), November 2026"
)


def _span(seconds: float) -> str:
    """A duration as people read it: ns, µs, ms or s, three significant digits."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def xen_comparison_records(
    rates: Sequence[dict[str, Any]], populate_s: dict[str, float]
) -> list[dict[str, Any]]:
    """The kit's figures beside Xen's (``XEN_REFERENCE``): per operation, the kit's
    seconds, Xen's range, and the ratio range (kit / Xen: above 1 the model is slower
    than the hypervisor, below 1 faster).

    *rates*: ``allocation_rate_records`` rows (the demo host's orders 0 and 9 are
    used: an allocation and its free cost ``1/alloc_per_s + 1/free_per_s``);
    *populate_s*: seconds to populate 1 TiB in 2 MiB extents by the bulk path, by
    ``POPULATE_FLAGS`` name.
    """
    by = {(r["host"], r["order"]): r for r in rates}
    kit: list[tuple[str, str, float]] = []
    for order, (what, _lo, _hi) in zip((0, 9), XEN_REFERENCE[:2], strict=True):
        r = by.get(("demo, fresh", order))
        if r is not None:
            kit.append((what, "demo host", 1 / r["alloc_per_s"] + 1 / r["free_per_s"]))
    what = XEN_REFERENCE[2][0]
    for where, seconds in populate_s.items():
        kit.append((what, f"bulk path, {where}", seconds))
    ref = {w: (lo, hi) for w, lo, hi in XEN_REFERENCE}
    return [
        {
            "operation": w,
            "kit": how,
            "kit_s": s,
            "xen_lo_s": ref[w][0],
            "xen_hi_s": ref[w][1],
            "ratio_lo": s / ref[w][1],
            "ratio_hi": s / ref[w][0],
        }
        for w, how, s in kit
    ]


def ratio_text(r: dict[str, Any]) -> str:
    """The ratio range of a comparison row in words: "40–65× Xen's time", or faster."""
    lo, hi = r["ratio_lo"], r["ratio_hi"]
    if lo >= 1:
        return f"{lo:,.3g}–{hi:,.3g}× Xen's time (slower)"
    if hi <= 1:
        return f"{1 / hi:.3g}–{1 / lo:.3g}× faster than Xen"
    return f"{lo:.3g}–{hi:.3g}× Xen's time (as fast)"


def xen_comparison_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The comparison as a Markdown table, with where Xen's figures come from."""
    lines = [
        "| operation | kit | kit's time | Xen's time | kit / Xen |",
        "|---|---|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['operation']} | {r['kit']} | {_span(r['kit_s'])} | "
            f"{_span(r['xen_lo_s'])}–{_span(r['xen_hi_s'])} | {ratio_text(r)} |"
        )
    return "\n".join(lines) + f"\n\nXen's figures: {XEN_REFERENCE_BUILD}."


def xen_populate_seconds(runs: int = 2) -> dict[str, float]:
    """Seconds to populate 1 TiB in 2 MiB extents by the bulk path, per ``POPULATE_FLAGS``
    name, each on a fresh two-node host (the best of *runs*)."""
    return {
        where: min(populate_guest(1024, True, flags)[1] for _ in range(runs))
        for where, flags in POPULATE_FLAGS
    }


def xen_comparison(rates: Sequence[dict[str, Any]], populate: Sequence[dict[str, Any]]) -> None:
    """Print the kit beside Xen (``xen_comparison_records``)."""
    tib = {r["where"]: r["seconds"] for r in populate if r["gib"] == 1024 and r["path"] == "bulk"}
    rows = xen_comparison_records(rates, tib or xen_populate_seconds())
    print(f"\nthe kit beside Xen ({core_build()} core); Xen: {XEN_REFERENCE_BUILD}")
    print(f"{'operation':32} {'kit':20} {'kit time':>10} {'Xen time':>17}  kit / Xen")
    for r in rows:
        xen = f"{_span(r['xen_lo_s'])}–{_span(r['xen_hi_s'])}"
        kit = _span(r["kit_s"])
        print(f"{r['operation']:32} {r['kit']:20} {kit:>10} {xen:>17}  {ratio_text(r)}")


# ------------------------------------------------------------------ boot storms
STORM_HOST = (2, 1024)
"""The storm the speed target counts (README, Speed): 20 guests on 2 nodes of 1024 MiB."""


def storm_rate_records(modes: Sequence[str], storms: int) -> list[dict[str, Any]]:
    """Boot storms per second in this process: *storms* storms (seeds 0, 1, ...) of the
    20-guest storm on :data:`STORM_HOST` for each mode, each a task of a sweep
    (``sweep.run_task``: guests drawn, host built, storm run, row summed up)."""
    from ..review import sweep

    nodes, mib = STORM_HOST
    out = []
    for mode in progress(modes, "storms"):
        tasks = [sweep.StormTask(s, nodes, mib, mode) for s in range(storms)]
        times = []
        for t in tasks:
            t0 = time.perf_counter()
            sweep.run_task(t)
            times.append(time.perf_counter() - t0)
        out.append(
            {
                "mode": mode,
                "storms": storms,
                "median_ms": statistics.median(times) * 1000,
                "per_s": storms / sum(times),
            }
        )
    return out


def _sweep_tasks(storms: int) -> list[Any]:
    """The first *storms* tasks of a sweep of the :data:`STORM_HOST` storm: seeds × modes."""
    from ..review import sweep
    from ..toolstack.bootstorm import MODES

    return sweep.tasks(range(-(-storms // len(MODES))), [STORM_HOST], MODES)[:storms]


def sweep_rate_record(
    storms: int, workers: int = 2, executor: Any = None, progress: bool | None = None
) -> dict[str, Any]:
    """A sweep of *storms* storms of :data:`STORM_HOST` on *workers* local processes (or
    through *executor*, batched for *workers*): seconds, storms per second (the processes'
    start and imports included) and the DataFrame; *progress* as ``sweep.sweep``'s."""
    from ..review import sweep

    todo = _sweep_tasks(storms)
    t0 = time.perf_counter()
    df = sweep.run(todo, executor=executor, max_workers=workers, progress=progress)
    seconds = time.perf_counter() - t0
    return {
        "storms": len(df),
        "workers": workers,
        "seconds": seconds,
        "per_s": len(df) / seconds,
        "df": df,
    }


def dask_sweep_records(storms: int, workers: int = 2) -> list[dict[str, Any]]:
    """The same sweep on *workers* local processes and on a ``dask.distributed``
    ``LocalCluster`` of *workers* one-thread worker processes; the two DataFrames must be
    equal (``df.equals``).  The cluster is started before the clock starts; both show a
    progress bar."""
    import dask.distributed

    distributed: Any = dask.distributed  # untyped
    local = sweep_rate_record(storms, workers, progress=True)
    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(workers)
        there = sweep_rate_record(storms, workers, client.get_executor(), progress=True)
    if not there["df"].equals(local["df"]):
        raise AssertionError("the Dask sweep's DataFrame differs from the local one")
    return [
        {"where": f"{workers} local processes", **local},
        {"where": f"Dask LocalCluster, {workers} workers", **there},
    ]


def storm_rates(quick: bool, dask_storms: int | None = None) -> None:
    from ..toolstack.bootstorm import MODES

    nodes, mib = STORM_HOST
    per_mode = 3 if quick else 20
    print(f"\nboot storms per second: 20 guests on {nodes} nodes x {mib} MiB, one process")
    print(
        f"({per_mode} storms per mode, seeds from 0; each a sweep task: guests, host, storm, row)"
    )
    print(f"{'mode':8} {'median ms':>10} {'storms/s':>9}")
    records = storm_rate_records(MODES, per_mode)
    for r in records:
        print(f"{r['mode']:8} {r['median_ms']:10.1f} {r['per_s']:9.1f}")
    total = sum(r["storms"] for r in records) / sum(r["storms"] / r["per_s"] for r in records)
    print(f"{'all':8} {'':>10} {total:9.1f}")
    sizes = [30] if quick else [300, 1200]
    print("\na sweep of the same storm (seeds x the three modes) on 2 local processes, in")
    print("batches (starting the processes included)")
    print(f"{'storms':>7} {'seconds':>8} {'storms/s':>9}")
    for n in sizes:
        r = sweep_rate_record(n)
        print(f"{r['storms']:>7} {r['seconds']:8.1f} {r['per_s']:9.1f}")
    if dask_storms:
        print(f"\na sweep of {dask_storms} storms: 2 local processes, then a Dask LocalCluster")
        print("of 2 workers (the same DataFrame, checked)")
        print(f"{'where':34} {'seconds':>8} {'storms/s':>9}")
        for r in dask_sweep_records(dask_storms):
            print(f"{r['where']:34} {r['seconds']:8.1f} {r['per_s']:9.1f}")


def controller_redraws() -> None:
    """Time from a control change to the redrawn figures, per controller and host."""
    print(f"\n{'controller redraw':40} {'median ms':>10}")
    _redraws("demo host", hosts.demo())
    _redraws("8 nodes x 1 TiB", hosts.uniform(8, 1024 * GIB_PAGES))


def _redraws(label: str, xen: Xen) -> None:
    from ..views.controllers import AllocationStepper, ClaimSetEditor, HeapExplorer

    xen.domain_create()
    ed = ClaimSetEditor(xen)
    st = AllocationStepper(xen)
    he = HeapExplorer(xen)
    st.domain.value = 1
    st.order.value = "9"
    flip = [0]

    def editor() -> None:
        flip[0] ^= 1
        ed.node_pages[0].value = str(100 + flip[0])
        ed.install.click()

    def explorer() -> None:
        flip[0] ^= 1
        he.node.value = flip[0]

    for name, fn in [
        ("ClaimSetEditor Install", editor),
        ("AllocationStepper Step", st.step.click),
        ("HeapExplorer node change", explorer),
    ]:
        t = median_time(fn, runs=7) * 1000
        print(f"{name + ', ' + label:40} {t:10.1f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m claims.kit.bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    ap.add_argument("--no-widgets", action="store_true", help="skip the controller redraws")
    ap.add_argument(
        "--sweep",
        type=int,
        metavar="N",
        help="also run an N-storm sweep on a Dask LocalCluster of 2 workers (and locally)",
    )
    args = ap.parse_args(argv)
    header()
    host_builds(args.quick)
    rates = allocation_rates(args.quick)
    build_comparison(args.quick)
    log_growth(args.quick)
    claim_times()
    populate = populate_time(args.quick)
    xen_comparison(rates, populate)
    storm_rates(args.quick, args.sweep)
    if not args.no_widgets:
        controller_redraws()


if __name__ == "__main__":
    main()
