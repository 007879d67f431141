"""The event log keeps its entries in sealed chunks: reads see one list, the GC sees chunks."""

from __future__ import annotations

import gc

import pytest

import claims
from claims.hypervisor.constants import MEMF_node
from claims.hypervisor.events import LOG_CHUNK, AllocRun
from claims.hypervisor.memory import XENMEMF_exact_node


def busy_host(pairs: int) -> tuple[claims.Xen, list[int]]:
    """The demo host after *pairs* order-0 allocations and frees on node 0 (no checks)."""
    xen = claims.hosts.demo()
    xen.debug_checks = False  # the log is what is under test here, and this is quick
    d = xen.domain_create()
    mfns = []
    for _ in range(pairs):
        mfn = xen.alloc_domheap_pages(d, 0, MEMF_node(0))
        assert mfn is not None
        mfns.append(mfn)
        xen.free_domheap_pages(mfn, 0)
    return xen, mfns


def test_reads_across_chunks_see_one_list() -> None:
    pairs = LOG_CHUNK + LOG_CHUNK // 2 + 3  # more than two chunks of events
    xen, mfns = busy_host(pairs)
    log = xen.events
    n = 3 + 2 * pairs  # init_heap_pages, init_heap_pages... as recorded below
    first = len(log) - 2 * pairs
    assert len(log._chunks) == len(log) // LOG_CHUNK >= 2
    assert len(log._tail) == len(log) % LOG_CHUNK
    events = list(log)
    assert len(events) == len(log) >= n - 1
    assert [e.seq for e in events] == list(range(len(log)))
    # each allocation and free reads back whole, wherever it is stored
    for j, mfn in enumerate(mfns):
        alloc, free = log[first + 2 * j], log[first + 2 * j + 1]
        assert (alloc.op, alloc.result, alloc.args["order"]) == ("alloc_domheap_pages", mfn, 0)
        assert (free.op, free.args) == ("free_domheap_pages", {"mfn": mfn, "order": 0})
        assert free.info["counters"]["total_avail_pages"] == xen.total_avail_pages
    # negative indices, slices, since, last: as a list's
    assert log[-1] is events[-1] and log[-len(log)] is events[0]
    assert log[LOG_CHUNK - 2 : LOG_CHUNK + 2] == events[LOG_CHUNK - 2 : LOG_CHUNK + 2]
    assert log[::LOG_CHUNK] == events[::LOG_CHUNK]
    assert log.since(len(log) - 5) == events[-5:]
    assert log.last() is events[-1]
    assert log.top_level() == [e for e in events if e.top]
    # an event is built once and then kept, in a sealed chunk or in the tail
    assert log[5] is log[5] and log[len(log) - 1] is log[-1]


@pytest.mark.parametrize("i", [10**6, -(10**6)])
def test_reading_past_either_end_is_an_index_error(i: int) -> None:
    xen, _ = busy_host(LOG_CHUNK)
    with pytest.raises(IndexError, match="out of range"):
        xen.events[i]
    with pytest.raises(IndexError):
        xen.events[len(xen.events)]
    assert xen.events[-len(xen.events)].seq == 0


def test_sealed_chunks_of_allocations_are_untracked_by_the_gc() -> None:
    """A full collection walks a few chunks, not every event of a long session."""
    xen, _ = busy_host(3 * LOG_CHUNK)
    for _ in range(4):  # an entry, then its chunk: a level or so per collection
        gc.collect()
    chunks = xen.events._chunks
    assert len(chunks) >= 6
    # the first chunk holds Events with dicts (init_heap_pages, domain_create):
    # tracked; the rest hold allocations and frees only, plain tuples
    assert not any(gc.is_tracked(c) for c in chunks[1:])
    assert all(type(e) is tuple for c in chunks[1:] for e in c)


def test_a_bulk_run_fills_chunks_like_the_loop() -> None:
    """bulk.py appends a run's steps with EventLog._extend; the log reads the same."""
    n = claims.hosts.DEMO_NODE_PAGES
    logs = []
    for bulk in (True, False):
        xen = claims.Xen([range(n, 2 * n), range(2 * n, 3 * n)])
        xen.bulk_populate = bulk
        xen.debug_checks = False  # bulk stands aside under debug checks
        xen.init_heap_pages(n, 2 * n)
        d = xen.domain_create()
        nr = 2 * LOG_CHUNK + 7
        done = xen.do_memory_op_populate_physmap(
            claims.DOM0, d.domid, nr, 0, XENMEMF_exact_node(0), list(range(nr))
        )
        assert done == nr
        assert any(type(e) is AllocRun for e in xen.events._entries()) == bulk
        assert len(xen.events._chunks) == len(xen.events) // LOG_CHUNK >= 2
        logs.append([(e.seq, e.op, e.args, e.result, e.info, e.top) for e in xen.events])
    assert logs[0] == logs[1]
