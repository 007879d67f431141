"""Several toolstacks on one host at once (issue: reliability, item 4).

The host takes Xen's locks in Xen's order (``d->page_alloc_lock`` before
``heap_lock``, docs/claims.md#global-state) for each call, so claim sets install
atomically: however the threads interleave, claims never over-commit a node or
the host, the invariants hold throughout, a build whose node claim was
installed always completes on its node, and every page is accounted for.
"""

from __future__ import annotations

import errno
import inspect
import random
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from claims.libxc import XcError, xen_memory_claim_t

import claims
from claims import libxc
from claims.hypervisor.errors import InvariantError
from claims.hypervisor.locks import is_entry_point
from claims.hypervisor.xen import LOCK_FREE, Xen

NODE_PAGES = 1 << 13  # 32 MiB per node


@pytest.fixture(autouse=True)
def fast_switching() -> Iterator[None]:
    """Switch threads often, so that calls really interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def test_every_public_method_takes_the_locks_or_says_why_not() -> None:
    unlocked = []
    for name, member in inspect.getmembers(Xen):
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        if isinstance(inspect.getattr_static(Xen, name), staticmethod):
            continue
        if inspect.isgeneratorfunction(member) or name in LOCK_FREE:
            continue
        if not is_entry_point(member):
            unlocked.append(name)
    assert unlocked == []
    assert is_entry_point(Xen.domain_set_claim_entries)
    assert is_entry_point(Xen.do_memory_op_populate_physmap)


def test_taking_page_alloc_lock_under_heap_lock_is_refused() -> None:
    xen = claims.hosts.demo()
    d = xen.domain_create()
    before = xen.state()
    with xen.heap_lock.checked(), pytest.raises(InvariantError, match="lock order"):
        xen.domain_set_max_pages(d, 100)  # needs d->page_alloc_lock first
    assert xen.state() == before and d.max_pages != 100
    xen.domain_set_max_pages(d, 100)  # in order, it works
    assert d.max_pages == 100


def test_two_domains_page_alloc_locks_are_refused() -> None:
    xen = claims.hosts.demo()
    d, e = xen.domain_create(), xen.domain_create()
    with d.page_alloc_lock.checked(), pytest.raises(InvariantError, match="lock order"):
        xen.domain_set_max_pages(e, 100)


def test_a_copied_host_gets_its_own_locks() -> None:
    import copy

    xen = claims.hosts.demo()
    d = xen.domain_create()
    with xen.heap_lock, d.page_alloc_lock:
        twin = copy.deepcopy(xen)
    assert twin.heap_lock is not xen.heap_lock
    assert twin.domains[d.domid].page_alloc_lock is not d.page_alloc_lock
    twin.alloc_domheap_pages(twin.domains[d.domid], 0)  # not blocked by the original's locks


class Toolstack(threading.Thread):
    """Builds guests one after another: claim on one node, populate there, maybe destroy."""

    def __init__(self, xen: Xen, seed: int, guests: int, log: list[tuple[str, int, int]]) -> None:
        super().__init__(name=f"toolstack-{seed}")
        self.xch = libxc.xc_interface_open(xen)
        self.rng = random.Random(seed)
        self.guests = guests
        self.log = log
        self.live: dict[int, int] = {}  # domid -> pages of this toolstack's running guests
        self.fallbacks = 0  # superpage extents that fell back to 4 KiB pages
        self.error: BaseException | None = None

    def build(self) -> None:
        rng, xch = self.rng, self.xch
        pages = rng.randrange(512, 3072)
        node = rng.randrange(2)
        domid = libxc.xc_domain_create(xch)
        libxc.xc_domain_setmaxmem(xch, domid, pages * 4)
        try:
            libxc.xc_domain_claim_memory(
                xch, domid, libxc.XEN_DOMCTL_CLAIM_MEMORY_SET, 1, [xen_memory_claim_t(pages, node)]
            )
        except XcError as e:
            assert e.errno == errno.ENOMEM, e  # only "not enough free memory" may refuse
            info = libxc.xc_domain_getinfo_single(xch, domid)
            assert info.outstanding_pages == 0 and info.tot_pages == 0  # nothing installed
            self.log.append(("refused", domid, pages))
            libxc.xc_domain_destroy(xch, domid)
            return
        # the claim holds the pages: the build cannot fail, and lands on the node.  A
        # claim counts pages, not superpages: like libxc's meminit, a superpage
        # extent that finds no free block of its order falls back to 4 KiB pages
        gfn = 0
        while gfn < pages:
            order = min(rng.choice([0, 2, 4, 9]), (pages - gfn).bit_length() - 1)
            while gfn & ((1 << order) - 1):
                order -= 1
            nr = max(1, min(rng.randrange(1, 8), (pages - gfn) >> order))
            frames = (libxc.xen_pfn_t * nr)(*range(gfn, gfn + (nr << order), 1 << order))
            flags = libxc.XENMEMF_exact_node(node)
            done = libxc.xc_domain_populate_physmap(xch, domid, nr, order, flags, frames)
            gfn += done << order
            if done < nr:
                assert order > 0, "an order-0 extent failed although the claim covers it"
                self.fallbacks += 1
                n4k = (nr - done) << order
                frames = (libxc.xen_pfn_t * n4k)(*range(gfn, gfn + n4k))
                libxc.xc_domain_populate_physmap_exact(xch, domid, n4k, 0, flags, frames)
                gfn += n4k
        info = libxc.xc_domain_getinfo_single(xch, domid)
        assert info.tot_pages == pages and info.outstanding_pages == 0
        self.log.append(("built", domid, pages))
        self.live[domid] = pages
        if rng.random() < 0.4:
            libxc.xc_domain_destroy(xch, domid)
            self.log.append(("destroyed", domid, pages))
            del self.live[domid]

    def run(self) -> None:
        try:
            for _ in range(self.guests):
                self.build()
        except BaseException as e:  # reported by the test
            self.error = e


def watch(xen: Xen, stop: threading.Event, seen: list[int], errors: list[BaseException]) -> None:
    """Check, as often as it gets the lock, that nothing is over-committed."""
    try:
        while not stop.is_set():
            with xen.heap_lock:
                xen.check_invariants()
                assert xen.outstanding_claims <= xen.total_avail_pages
                for n in range(xen.nr_nodes):
                    assert xen.claimed_pages[n] <= xen.node_avail_pages[n]
                seen.append(xen.outstanding_claims)
            time.sleep(0.0005)
    except BaseException as e:
        errors.append(e)


@pytest.mark.parametrize(("seed", "lock_checks"), [(1, True), (2, True), (3, False), (4, False)])
def test_parallel_toolstacks_never_over_commit(seed: int, lock_checks: bool) -> None:
    """With ``lock_checks`` every lock taken is checked against Xen's order; without,
    the fast path (heap_lock alone) must be just as safe."""
    xen = claims.hosts.uniform(2, NODE_PAGES)
    xen.debug_checks = False  # the watcher checks the invariants while the builds run
    xen.lock_checks = lock_checks
    total = xen.total_avail_pages
    log: list[tuple[str, int, int]] = []
    workers = [Toolstack(xen, seed * 10 + i, guests=6, log=log) for i in range(6)]
    stop, seen, errors = threading.Event(), list[int](), list[BaseException]()
    watcher = threading.Thread(target=watch, args=(xen, stop, seen, errors))
    watcher.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    stop.set()
    watcher.join(timeout=30)
    assert not any(w.is_alive() for w in workers) and not watcher.is_alive()
    assert [w.error for w in workers if w.error] == []
    assert errors == []
    kinds = {k for k, _, _ in log}
    assert "built" in kinds and "refused" in kinds  # the host was really contended
    assert len(seen) > 10 and max(seen) > 0  # the watcher saw claims outstanding
    # every page is accounted for: free, or owned by a live guest, all on its node
    live = {domid: pages for w in workers for domid, pages in w.live.items()}
    assert set(xen.domains) == set(live)
    owned = sum(d.tot_pages for d in xen.domains.values())
    assert owned == sum(live.values())
    assert xen.total_avail_pages + owned == total
    assert xen.outstanding_claims == 0 and xen.claimed_pages == [0, 0]
    for d in xen.domains.values():
        by_node = xen.pages_by_node(d)
        assert sum(by_node) == d.tot_pages == len(d.p2m)
        assert sorted(by_node)[0] == 0  # all of a guest's memory on one node
    xen.check_invariants()
