"""Benchmarks that print figures: ``python -m claims.bench``.

Prints the machine, the Python version and the median of several runs.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

from . import hosts
from .constants import MEMF_node
from .xen import Xen

GIB_PAGES = 1 << 18


def median_time(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_memory(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    fn()
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    print(f"machine: {platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"python:  {sys.version.split()[0]} ({platform.python_implementation()})")
    print()
    print(f"{'host build':32} {'median s':>10} {'peak MiB':>10}")
    for nodes, per_node_gib in [(2, 64), (8, 64), (8, 1024), (64, 64), (8, 4096)]:

        def build(n: int = nodes, g: int = per_node_gib) -> object:
            return hosts.uniform(n, g * GIB_PAGES)

        t = median_time(build, runs=3)
        mem = peak_memory(build) / 2**20
        print(f"{nodes:>3} nodes x {per_node_gib:>5} GiB{'':12} {t:10.3f} {mem:10.1f}")
    print()
    xen = hosts.demo()
    d = xen.domain_create()
    print(f"{'allocations (demo host)':32} {'per second':>10}")
    for order in (0, 9):
        n = 2000 if order == 0 else 8

        def allocs(o: int = order, k: int = n) -> None:
            mfns = [xen.alloc_domheap_pages(d, o, MEMF_node(0)) for _ in range(k)]
            for m in mfns:
                if m is not None:
                    xen.free_domheap_pages(m, o)

        t = median_time(allocs)
        print(f"order {order} alloc+free{'':17} {n / t:10.0f}")
    print()
    controller_redraws()


def controller_redraws() -> None:
    """Time from a control change to the redrawn figures, per controller and host."""
    print(f"{'controller redraw':40} {'median ms':>10}")
    _redraws("demo host", hosts.demo())
    _redraws("8 nodes x 1 TiB", hosts.uniform(8, 1024 * GIB_PAGES))


def _redraws(label: str, xen: Xen) -> None:
    from .widgets import AllocationStepper, ClaimSetEditor, HeapExplorer

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


if __name__ == "__main__":
    main()
