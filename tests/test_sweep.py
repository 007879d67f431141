"""Sweeps (``claims.sweep``): boot storms over seeds × hosts × modes through an executor;
the same table from local processes and from a Dask cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import pandas as pd
import pytest

import claims
from claims import bootstorm as bs
from claims import sweep, viz_review

HOSTS = [(2, 128), (4, 64)]  # (nodes, MiB per node)
SMALL = {"seeds": range(2), "hosts": HOSTS, "guests": 10, "timeout": 120}


@pytest.fixture(autouse=True)
def checks_at_the_end() -> Iterator[None]:
    """Each storm checks the invariants when it ends (see tests/test_bootstorm.py)."""
    old = claims.Xen.debug_checks
    claims.Xen.debug_checks = False
    yield
    claims.Xen.debug_checks = old


@pytest.fixture(scope="module")
def local() -> pd.DataFrame:
    """The small sweep on local processes (the default executor)."""
    return sweep.sweep(**SMALL)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


def test_one_row_per_storm_in_task_order(local: pd.DataFrame) -> None:
    assert list(local.columns) == sweep.COLUMNS
    assert len(local) == 2 * len(HOSTS) * 3
    assert list(local["mode"]) == list(bs.MODES) * 4
    assert list(zip(local["nodes"], local["node_mib"]))[::3] == HOSTS * 2
    assert list(local["seed"]) == [0] * 6 + [1] * 6
    assert (local["guests"] == 10).all() and (local["load"] == 0.85).all()


def test_rows_are_the_storms_numbers(local: pd.DataFrame) -> None:
    row = local.iloc[4]  # seed 0, 4 nodes x 64 MiB, legacy
    guests = bs.storm_guests(10, 4, 64 * bs.PAGES_PER_MIB, load=0.85, seed=0)
    r = bs.boot_storm(guests, "legacy", 0, nr_nodes=4, node_pages=64 * bs.PAGES_PER_MIB)
    assert row.to_dict() == {**r.summary(), "load": 0.85}
    assert (local["guest_pages"] + local["free_pages"] == local["total_pages"]).all()
    assert (local["claims_left"] == 0).all()


def test_node_claims_split_no_guest_and_no_claims_split_some(local: pd.DataFrame) -> None:
    by_mode = local.groupby("mode")["split_guests"].sum().to_dict()
    assert by_mode == {"legacy": 14, "node": 0, "none": 14}
    assert local["failed_builds"].sum() == 0


def test_a_dask_cluster_gives_the_same_table(local: pd.DataFrame, dask_client: object) -> None:
    executor = dask_client.get_executor()  # type: ignore[attr-defined]
    df = sweep.sweep(executor=executor, **SMALL)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(df, local)


def test_the_xenopsd_builder_runs_on_dask_as_locally(dask_client: object) -> None:
    """XenServer's toolstack on XenServer's hypervisor and on v8, through the cluster."""
    kw = {"seeds": [0], "hosts": [(2, 256)], "modes": ["xenopsd"], "guests": 6,
          "semantics": ["xenserver", "v8"], "timeout": 120}  # fmt: skip
    with ThreadPoolExecutor(1) as ex:
        here = sweep.sweep(executor=ex, **kw)  # type: ignore[arg-type]
    there = sweep.sweep(executor=dask_client.get_executor(), **kw)  # type: ignore[attr-defined,arg-type]
    pd.testing.assert_frame_equal(there, here)
    assert list(there["semantics"]) == ["xenserver", "v8"] and (there["mode"] == "xenopsd").all()
    assert (there["built"] == 6).all() and (there["claims_left"] == 0).all()


def test_any_executor_gives_the_same_table(local: pd.DataFrame) -> None:
    """Here one task per storm, as sweeps ran before they were batched."""
    with ThreadPoolExecutor(2) as ex:
        df = sweep.sweep(executor=ex, batch=1, **SMALL)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(df, local)


def test_batches_give_the_table_of_one_task_per_storm(local: pd.DataFrame) -> None:
    """A batch size that does not divide the sweep gives the rows of one task per storm
    (``test_any_executor_gives_the_same_table``), in the same order; a batch's rows are
    its storms' rows."""
    with ThreadPoolExecutor(2) as ex:
        df = sweep.sweep(executor=ex, batch=5, **SMALL)  # type: ignore[arg-type]
    assert df.equals(local)
    todo = sweep.tasks(range(2), HOSTS, guests=10)[3:5]
    assert sweep.run_batch(todo) == [sweep.run_task(t) for t in todo]
    assert sweep.run_batch(todo) == local.to_dict("records")[3:5]


def test_batches_on_a_dask_cluster_give_the_same_table(
    local: pd.DataFrame, dask_client: object
) -> None:
    executor = dask_client.get_executor()  # type: ignore[attr-defined]
    assert sweep.sweep(executor=executor, batch=5, **SMALL).equals(local)  # type: ignore[arg-type]


def test_batch_size_keeps_every_worker_busy() -> None:
    assert sweep.batch_size(12, 2) == 2  # 6 batches: 3 per worker at least
    assert sweep.batch_size(3, 8) == 1
    assert sweep.batch_size(0, 2) == 1
    assert sweep.batch_size(10_000, 2) == sweep.MAX_BATCH  # the bar moves every batch
    assert sweep.batch_size(400, 2) == 50 and sweep.batch_size(399, 2) == 50
    for n in range(1, 300):
        size = sweep.batch_size(n, 3)
        assert 1 <= size <= sweep.MAX_BATCH
        assert -(-n // size) >= min(n, 3)  # a batch for every worker
    with pytest.raises(ValueError):
        sweep.batch_size(10, 0)
    with pytest.raises(ValueError, match="batch"):
        sweep.sweep([0], batch=0)


class _Never(Executor):
    """An executor whose tasks never run: a sweep through it can only time out."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return Future()


def test_timeout_counts_for_the_whole_sweep() -> None:
    with pytest.raises(TimeoutError):
        sweep.sweep([0, 1], [(2, 32)], ["none"], guests=4, executor=_Never(), timeout=0.01)


def test_bad_mode_is_refused_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="mode"):
        sweep.sweep(range(2), modes=["none", "numa"])
    assert list(sweep.sweep([]).columns) == sweep.COLUMNS


def test_progress_bar_on_request(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bar counts storms, a batch at a time."""
    import tqdm.auto

    steps: list[int] = []

    class Bar(tqdm.auto.tqdm):  # type: ignore[misc]
        def update(self, n: float | None = 1) -> bool | None:
            steps.append(int(n or 0))
            return super().update(n)  # type: ignore[no-any-return]

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    with ThreadPoolExecutor(1) as ex:
        sweep.sweep([0, 1, 2], [(2, 32)], ["none"], guests=4, executor=ex, progress=True,
                    batch=2)  # fmt: skip
    assert "sweep" in capsys.readouterr().err
    assert sorted(steps) == [1, 2]  # a batch of two storms, then one of one


def test_summary_view_shows_the_means(local: pd.DataFrame) -> None:
    fig = viz_review.sweep_summary(local)
    split = [t for t in fig.data if t.xaxis == "x"]
    assert [t.name for t in split] == list(bs.MODES)
    assert list(split[0].x) == ["2 × 128 MiB", "4 × 64 MiB"]
    none = local[local["mode"] == "none"]
    assert list(split[0].y) == [
        none[(none["nodes"] == n) & (none["node_mib"] == m)]["split_guests"].mean()
        for n, m in HOSTS
    ]
    assert list(split[2].y) == [0.0, 0.0]  # node claims: no guest split on any host


def test_split_distribution_counts_the_storms(local: pd.DataFrame) -> None:
    """A bar per mode and count of split guests: how many storms split that many."""
    from claims.views import style

    fig = viz_review.split_distribution(local)
    bars = {t.name: list(t.y) for t in fig.data}
    assert list(bars) == list(bs.MODES)
    top = int(local["split_guests"].max())
    for t in fig.data:
        part = local[local["mode"] == t.name]["split_guests"]
        assert list(t.x) == list(range(top + 1))
        assert list(t.y) == [int((part == k).sum()) for k in range(top + 1)]
        assert t.marker.color == style.MODES[t.name]
    assert bars["node"] == [4] + [0] * top  # node claims split no guest in any storm
    assert "2 seeds on 2 × 128 MiB, 4 × 64 MiB" in fig.layout.title.text
    empty = viz_review.split_distribution(sweep.sweep([]))
    assert style.is_empty_state(empty) and "No sweep run yet" in style.empty_message(empty)


class _Refuses(Executor):
    """An executor that must not be asked: a cached sweep runs no storm."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        raise AssertionError("a cached sweep ran a storm")


def test_a_cached_sweep_reads_back_the_same_table(
    local: pd.DataFrame, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path))
    with ThreadPoolExecutor(2) as ex:
        first = sweep.sweep(executor=ex, cache=True, **SMALL)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(first, local)
    path = sweep.cached_path(sweep.tasks(SMALL["seeds"], HOSTS, guests=10))  # type: ignore[arg-type]
    assert path.parent == tmp_path / "sweeps" and path.is_file()
    again = sweep.sweep(executor=_Refuses(), cache=True, **SMALL)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(again, local)  # values and column types
    # another sweep (one more seed) is another file, and runs its storms
    other = sweep.cached_path(sweep.tasks(range(3), HOSTS, guests=10))
    assert other != path and not other.exists()
    # without cache=True the cache is neither read nor written
    with pytest.raises(AssertionError, match="ran a storm"):
        sweep.sweep(executor=_Refuses(), **SMALL)  # type: ignore[arg-type]


def test_the_cache_key_follows_the_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    todo = sweep.tasks(range(2), HOSTS)
    before = sweep.cached_path(todo)
    monkeypatch.setattr(sweep, "source_digest", lambda: "another kit")
    assert sweep.cached_path(todo) != before


def test_a_cache_that_cannot_be_written_leaves_the_sweep_alone(
    local: pd.DataFrame, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(blocker))
    with ThreadPoolExecutor(2) as ex:
        df = sweep.sweep(executor=ex, cache=True, **SMALL)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(df, local)
