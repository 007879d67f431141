"""Shared fixtures (hosts from the spec), and how the suite is shared between processes.

pytest-xdist (``-n auto``) keeps a test file in one process, as ``--dist loadfile``
does: a notebook's cells share their kernel (nbval), a file's tests their module
fixtures.  The exception is the browser tests that run a notebook whole, in JupyterLab
or in JupyterLite: one notebook per test, each independent of the others, and together
the largest part of the suite, so they are shared out one by one.  The largest parts go
first (the browser tests, then the notebooks, then the unit tests, which fill in at the
end); with ``--no-loadscope-reorder`` xdist keeps that order instead of sorting files
by their number of tests.  (These hooks apply to the whole session: ``tests/`` is
always collected first.)
"""

from __future__ import annotations

from typing import Any

import pytest

import claims


@pytest.fixture
def harness8() -> claims.Xen:
    """Native-harness host (start 8), non-NUMA, one order-3 buddy at MFN 8..15
    (docs/heap.md#native-harness S1).
    """
    xen = claims.hosts.native_harness(8, numa=False)
    xen.init_heap_pages(8, 8)
    return xen


def free_map(xen: claims.Xen) -> dict[int, int]:
    """Free buddy heads -> order."""
    return {m: b.order for m, b in xen.free_blocks()}


# every operation in the test suite is followed by check_invariants()
claims.Xen.debug_checks = True
# ... and every lock taken is checked against Xen's lock order (claims.locks)
claims.Xen.lock_checks = True


# shared out one by one: each opens its notebook in its process's JupyterLab page, or
# in JupyterLite
SPREAD = (
    "tests/browser/test_notebooks.py::test_notebook_runs_clean_in_jupyterlab[",
    "tests/browser/test_lite.py::test_a_notebook_runs_whole_in_jupyterlite[",
)


def scope_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, or itself if it is spread."""
    return nodeid if nodeid.startswith(SPREAD) else nodeid.split("::", 1)[0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scheduler by file, with the spread tests as units of their own."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFileOrSpread(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return ByFileOrSpread(config, log)


def _weight(item: pytest.Item) -> int:
    """0 for the browser tests, 1 for the notebooks, 2 for the rest: big parts first."""
    path = item.nodeid.split("::", 1)[0]
    if path.startswith("tests/browser/"):
        return 0
    if path.endswith(".ipynb"):
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_weight)  # stable: the order within each part stays
