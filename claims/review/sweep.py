"""Sweeps: boot storms over seeds × host sizes × claims modes, through an executor.

The storms go to a ``concurrent.futures`` executor in batches, one task per
batch (:func:`run_batch`: a storm costs milliseconds, so a task per storm
would cost a cluster more in scheduling than in storms): local processes
(``ProcessPoolExecutor``, the default), or any other executor, such as a
``dask.distributed`` client's ``client.get_executor()``, which runs the same
sweep on a Dask cluster.  A storm is deterministic for its seed, so the same
sweep gives the same table wherever it runs and however it is batched.  The
result is a pandas ``DataFrame``, one row per storm in task order (seed, host,
mode); ``claims.viz_review.sweep_summary`` draws it.

```python
from claims import sweep
df = sweep.sweep(seeds=range(4), hosts=[(2, 1024), (4, 512)])
```

With ``cache=True`` a sweep keeps its table in ``~/.cache/claims/sweeps`` (or
``$CLAIMS_CACHE_DIR/sweeps``), under a key made of its tasks and the SHA-256 of
the kit's sources (:func:`source_digest`): the same sweep asked again, by the
same code, reads the table back instead of running its storms again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..toolstack.bootstorm import BUILDERS, MODES, PAGES_PER_MIB, boot_storm, storm_guests

if TYPE_CHECKING:
    import pandas as pd  # imported by run(): a worker process runs storms without it

COLUMNS = [
    "seed",
    "semantics",
    "nodes",
    "node_mib",
    "mode",
    "load",
    "guests",
    "built",
    "failed_builds",
    "split_guests",
    "one_node_guests",
    "global_fallbacks",
    "claim_refusals",
    "superpage_fallbacks",
    "claims_left",
    "wasted_pages",
    "guest_pages",
    "free_pages",
    "total_pages",
    "calls",
]


@dataclass(frozen=True)
class StormTask:
    """One storm of a sweep: plain values, so that it pickles to any worker."""

    seed: int
    nr_nodes: int
    node_mib: int
    mode: str
    guests: int = 20
    load: float = 0.85
    workers: int | None = None
    extents_per_call: int = 8
    semantics: str = "v7"
    replan: bool = True
    topology: str = "default"
    policy: str = "best_effort"
    vcpus: int = 2


def run_task(task: StormTask) -> dict[str, Any]:
    """Run one storm (guest sizes from the task's seed) and return its summary row."""
    node_pages = task.node_mib * PAGES_PER_MIB
    sizes = storm_guests(task.guests, task.nr_nodes, node_pages, load=task.load, seed=task.seed)
    result = boot_storm(
        sizes,
        task.mode,
        task.seed,
        nr_nodes=task.nr_nodes,
        node_pages=node_pages,
        workers=task.workers,
        extents_per_call=task.extents_per_call,
        semantics=task.semantics,
        replan=task.replan,
        progress=False,
        topology=task.topology,
        policy=task.policy,
        vcpus=task.vcpus,
    )
    row = result.summary()
    row["load"] = task.load
    return {k: row[k] for k in COLUMNS}


def tasks(
    seeds: Iterable[int],
    hosts: Sequence[tuple[int, int]] = ((2, 1024),),
    modes: Sequence[str] = MODES,
    **storm: Any,
) -> list[StormTask]:
    """The tasks of a sweep, in its row order: seeds, then hosts ``(nodes, MiB per node)``,
    then hypervisors (``semantics``: one name or a list), then modes (``BUILDERS``:
    the libxl-style modes and ``xenopsd``); *storm* sets the other :class:`StormTask`
    fields."""
    for m in modes:
        if m not in BUILDERS:
            raise ValueError(f"mode must be one of {BUILDERS}, not {m!r}")
    sems = storm.pop("semantics", "v7")
    sem_list = [sems] if isinstance(sems, str) else list(sems)
    return [
        StormTask(seed=s, nr_nodes=n, node_mib=mib, mode=m, semantics=sem, **storm)
        for s in seeds
        for n, mib in hosts
        for sem in sem_list
        for m in modes
    ]


def run_batch(batch: Sequence[StormTask]) -> list[dict[str, Any]]:
    """Run the storms of *batch* one after another; their rows, in the batch's order.

    One executor task: the unit a sweep submits."""
    return [run_task(t) for t in batch]


BATCHES_PER_WORKER = 4
"""Batches a sweep aims at per worker: enough that a worker whose batches run slow is
helped by the others at the end."""
MAX_BATCH = 50
"""The most storms in one batch (a second or two): the progress bar moves at least that
often, and a lost worker costs a cluster little to run again."""


def batch_size(n_tasks: int, workers: int) -> int:
    """Storms per batch for *n_tasks* storms on *workers* workers: about
    :data:`BATCHES_PER_WORKER` batches per worker, at most :data:`MAX_BATCH` storms each."""
    if n_tasks < 0 or workers < 1:
        raise ValueError("need n_tasks >= 0 and workers >= 1")
    return max(1, min(MAX_BATCH, math.ceil(n_tasks / (workers * BATCHES_PER_WORKER))))


def sweep(
    seeds: Iterable[int],
    hosts: Sequence[tuple[int, int]] = ((2, 1024),),
    modes: Sequence[str] = MODES,
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool | None = None,
    timeout: float | None = None,
    batch: int | None = None,
    cache: bool = False,
    **storm: Any,
) -> pd.DataFrame:
    """Run a boot storm for every seed × host × mode; one row per storm.

    ``executor``: where the storms run (default: a ``ProcessPoolExecutor`` of
    *max_workers* processes, started for this sweep and shut down after it).
    ``progress``: a tqdm bar over finished storms (``None``: only in a
    terminal).  ``timeout``: seconds to wait for all of them
    (``TimeoutError`` past it).  ``batch``: storms per executor task (default:
    :func:`batch_size` for the executor's workers, *max_workers* or the CPUs).
    ``cache``: keep the table, and read it back when the same sweep is asked
    again by the same sources (:func:`cached_path`).  *storm* sets the other
    :class:`StormTask` fields (``guests``, ``load``, ``workers``,
    ``extents_per_call``, ...).
    """
    todo = tasks(seeds, hosts, modes, **storm)
    path = cached_path(todo) if cache else None
    if path is not None and path.is_file():
        return read_table(path)
    df = run(
        todo,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        timeout=timeout,
        batch=batch,
    )
    if path is not None:
        write_table(df, path)
    return df


def source_digest() -> str:
    """SHA-256 of the kit's Python sources (every ``.py`` file of the ``claims``
    package, by path and content): what a storm's row depends on besides its task."""
    pkg = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for f in sorted(pkg.rglob("*.py")):
        h.update(f.relative_to(pkg).as_posix().encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def cache_dir() -> Path:
    """Where cached sweeps live: ``$CLAIMS_CACHE_DIR/sweeps``, or ``~/.cache/claims/sweeps``."""
    base = os.environ.get("CLAIMS_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "claims") / "sweeps"


def cached_path(todo: Sequence[StormTask]) -> Path:
    """The file a sweep of *todo* is cached in: named by the SHA-256 of its tasks (in
    order) and of the sources (:func:`source_digest`)."""
    h = hashlib.sha256(source_digest().encode())
    h.update(json.dumps([dataclasses.astuple(t) for t in todo]).encode())
    return cache_dir() / f"{h.hexdigest()}.json"


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Store a sweep's table at *path* (JSON, written whole or not at all); a cache that
    cannot be written is left alone: the sweep's result is returned all the same."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(df.to_json(orient="split", index=False), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass


def read_table(path: Path) -> pd.DataFrame:
    """A sweep's table as :func:`write_table` stored it, with the column types it had."""
    import pandas as pd

    data = json.loads(path.read_text(encoding="utf-8"))
    df = pd.DataFrame(data["data"], columns=data["columns"])
    return df if list(df.columns) == COLUMNS else pd.DataFrame(columns=COLUMNS)


def run(
    todo: Sequence[StormTask],
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool | None = None,
    timeout: float | None = None,
    batch: int | None = None,
) -> pd.DataFrame:
    """Run the storms *todo* through an executor, in batches: :func:`sweep` for a list of
    tasks (:func:`tasks`), one row per task in its order."""
    import pandas as pd

    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise ValueError(f"batch must be an int >= 1, not {batch!r}")
    if not todo:
        return pd.DataFrame(columns=COLUMNS)
    own = executor is None
    workers = max_workers or min(len(todo), os.cpu_count() or 1)
    if executor is None:
        # forkserver: safe in a process that runs threads (a notebook, a Dask client)
        executor = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("forkserver")
        )
    size = batch or batch_size(len(todo), workers)
    from tqdm.auto import tqdm

    rows: list[dict[str, Any]] = [{}] * len(todo)
    try:
        futures: dict[Future[list[dict[str, Any]]], int] = {
            executor.submit(run_batch, todo[i : i + size]): i for i in range(0, len(todo), size)
        }
        with tqdm(
            total=len(todo),
            desc="sweep",
            unit="storm",
            disable=None if progress is None else not progress,
            leave=False,
        ) as bar:
            for fut in as_completed(futures, timeout=timeout):
                done = fut.result()
                start = futures[fut]
                rows[start : start + len(done)] = done
                bar.update(len(done))
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
    return pd.DataFrame(rows, columns=COLUMNS)
