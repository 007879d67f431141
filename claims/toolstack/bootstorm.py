"""A boot storm: many guests built at once by toolstack workers, under a seeded scheduler.

Each worker builds guests the way a libxl-style toolstack does, one hypercall
(or a short run of them) per turn:

1. ``xc_domain_create`` and ``xc_domain_setmaxmem``;
2. **plan**: read each node's free memory (``xc_numainfo``'s ``memfree``, what
   ``libxl_get_numainfo`` gives libxl's NUMA placement) and choose the fewest
   nodes whose free memory holds the guest, then among those the set with the
   most free memory (ties: lowest node ids).  If no set fits, no placement:
   all nodes, as libxl does;
3. set the domain's node affinity to the plan and **claim** by *mode*:
   ``none`` (no claim), ``legacy`` (``xc_domain_claim_pages`` for the whole
   guest, host-wide) or ``node`` (a claim set on the planned node, or split
   across the planned nodes in proportion to their free memory: with v7's
   ``xc_domain_claim_memory``, or on a v8 host with v8's
   ``xc_domain_set_memory_claims``, while the new domain is still paused as
   v8 requires);
4. **populate** in turns of up to ``extents_per_call`` 2 MiB extents (or the
   same memory in 4 KiB pages for the tail), superpages first; a superpage
   extent that finds no free 2 MiB block falls back to 4 KiB pages, as
   libxc's ``meminit`` does.  In ``node`` mode each node's share is
   populated with ``XENMEMF_exact_node`` (a vNUMA node bound to a physical
   node); otherwise no node is named and Xen follows the domain's node
   affinity, going to other nodes when those are full;
5. **finish**: release what is left of the claim (libxenguest does after
   populating: a zero claim set under v7, the empty set under v8), unpause
   the domain (the build is over: ``xc_domain_unpause``) and record the
   guest's NUMA metrics.

Free memory read at plan time counts claimed pages (docs/claims.md#invariants), so a
node claim can be refused with ``ENOMEM`` although the plan saw room: with
``replan`` (the default) the worker then plans again without the refused
node set, as a claim-aware toolstack would; with no candidate left the build
fails.  A refused claim or a populate that cannot complete fails the build
and the guest is destroyed.

The scheduler is a ``random.Random(seed)`` choosing which worker makes its
next call: no threads, and the same seed gives the same storm, MFN for MFN.
"""

from __future__ import annotations

import dataclasses
import errno
import itertools
import random
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..hypervisor import hosts
from ..hypervisor.constants import PAGE_SHIFT
from ..hypervisor.memory import XENMEMF_exact_node, gc_paused
from ..hypervisor.public import (
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    xen_domctl_memory_claim_t,
    xen_memory_claim_t,
)
from ..hypervisor.sched import Domain
from ..hypervisor.topology import make_topology
from ..hypervisor.xen import Xen
from . import libxc
from .libxc import XcError, xc_interface

MODES = ("none", "legacy", "node")
"""The libxl-style builder's claim modes: no claim, a legacy host-wide claim, a node
claim set (v7's or v8's ABI, by host)."""
BUILDERS = (*MODES, "xenopsd")
"""Every mode a storm runs: :data:`MODES`, and ``xenopsd``, XenServer's toolstack
(``claims.toolstack.xenopsd.domain``: its planner, node claim and global fallback)."""
TOPOLOGIES = ("default", "example", "opteron")
"""The host's distances: Xen's default without a SLIT (10/20), xenopsd's test matrix
``10 + 11|i-j|``, or the 8-node AMD Opteron 6272 (``claims.hosts``)."""
XENOPSD_WORKERS = 4
"""xenopsd's ``worker_pool_size`` (xenopsd.ml:26)."""

SUPERPAGE_ORDER = 9  # 2 MiB
PAGES_PER_MIB = 1 << (20 - PAGE_SHIFT)

Step = Generator[None, None, None]


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class GuestResult:
    """One guest of the storm, with XenServer's NUMA metrics.

    ``numa_node_memory`` is the guest's pages on each node when its build
    ended: the running guest's memory, or for a failed build what it held
    just before it was destroyed.
    """

    name: str
    domid: int
    pages: int
    worker: int
    placed: tuple[int, ...]
    """Nodes of the final plan (the domain's node affinity)."""
    claim: tuple[int, ...]
    """Pages claimed per node (``node`` mode); all zero otherwise."""
    host_claim: int
    """Pages claimed host-wide (``legacy`` mode)."""
    claim_refusals: int
    """Claims refused with ENOMEM (a refused node claim may be followed by a new plan)."""
    built: bool
    failure: str
    numa_node_memory: tuple[int, ...]
    superpage_fallbacks: int
    """2 MiB extents that found no free block and were populated as 4 KiB pages."""
    claim_left: int
    """Claimed pages the build did not redeem, released at the finish."""
    first_call: int
    last_call: int
    plan: tuple[int, ...] = ()
    """``xenopsd`` mode: the planner's nodes (descending), or () for no plan."""
    global_fallback: bool = False
    """``xenopsd`` mode: no node claim, so ``build_pre`` claimed host-wide (or tried)."""
    claim_error: str = ""
    """``xenopsd`` mode: the errno name of a refused placement claim."""

    @property
    def numa_nodes(self) -> int:
        """How many NUMA nodes hold the guest's memory (XenServer's ``numa_nodes``)."""
        return sum(1 for p in self.numa_node_memory if p)

    @property
    def split(self) -> bool:
        """A built guest whose memory spans more than one node."""
        return self.built and self.numa_nodes > 1


@dataclass(frozen=True)
class StormResult:
    """A whole storm: every guest, and the host after it."""

    mode: str
    seed: int
    semantics: str
    nr_nodes: int
    node_pages: int
    workers: int
    extents_per_call: int
    replan: bool
    guests: tuple[GuestResult, ...]
    total_pages: int
    """Free pages before the storm (the whole heap)."""
    free_pages: int
    """``total_avail_pages`` after the storm."""
    node_free: tuple[int, ...]
    claims_left: int
    """``outstanding_claims`` after the storm."""
    calls: int
    """Scheduler turns taken."""
    node_pool: tuple[int, ...] = ()
    """Pages of the built guests' paging (HAP) pools on each node (``xenopsd`` mode
    sizes them; the libxl-style builder makes none)."""

    @property
    def pool_pages(self) -> int:
        return sum(self.node_pool)

    @property
    def built(self) -> tuple[GuestResult, ...]:
        return tuple(g for g in self.guests if g.built)

    @property
    def failed(self) -> tuple[GuestResult, ...]:
        return tuple(g for g in self.guests if not g.built)

    @property
    def failed_builds(self) -> int:
        return len(self.failed)

    @property
    def split_guests(self) -> int:
        return sum(1 for g in self.guests if g.split)

    @property
    def claim_refusals(self) -> int:
        return sum(g.claim_refusals for g in self.guests)

    @property
    def one_node_guests(self) -> int:
        """Built guests whose memory is all on one node."""
        return sum(1 for g in self.guests if g.built and g.numa_nodes == 1)

    @property
    def global_fallbacks(self) -> int:
        """``xenopsd`` mode: builds that fell back to a global (host-wide) claim."""
        return sum(1 for g in self.guests if g.global_fallback)

    @property
    def claim_left_at_populate(self) -> int:
        """Claimed pages the builds left unredeemed (cancelled at their end)."""
        return sum(g.claim_left for g in self.guests)

    @property
    def superpage_fallbacks(self) -> int:
        return sum(g.superpage_fallbacks for g in self.guests)

    @property
    def wasted_pages(self) -> int:
        """Pages that builds which then failed had populated (freed again at their destroy)."""
        return sum(sum(g.numa_node_memory) for g in self.failed)

    @property
    def guest_pages(self) -> int:
        """Pages held by the guests that were built."""
        return sum(sum(g.numa_node_memory) for g in self.built)

    def node_guest_pages(self) -> tuple[int, ...]:
        """Pages held by built guests on each node."""
        return tuple(sum(g.numa_node_memory[n] for g in self.built) for n in range(self.nr_nodes))

    def summary(self) -> dict[str, Any]:
        """The run's numbers as one flat row (what a sweep collects)."""
        return {
            "mode": self.mode,
            "seed": self.seed,
            "semantics": self.semantics,
            "nodes": self.nr_nodes,
            "node_mib": self.node_pages // PAGES_PER_MIB,
            "guests": len(self.guests),
            "built": len(self.built),
            "failed_builds": self.failed_builds,
            "split_guests": self.split_guests,
            "one_node_guests": self.one_node_guests,
            "global_fallbacks": self.global_fallbacks,
            "claim_refusals": self.claim_refusals,
            "superpage_fallbacks": self.superpage_fallbacks,
            "claims_left": self.claims_left,
            "wasted_pages": self.wasted_pages,
            "guest_pages": self.guest_pages,
            "free_pages": self.free_pages,
            "total_pages": self.total_pages,
            "calls": self.calls,
        }


# ------------------------------------------------------------------- guests
def storm_guests(
    count: int,
    nr_nodes: int,
    node_pages: int,
    *,
    load: float = 0.85,
    seed: int = 0,
    spread: float = 0.6,
) -> tuple[int, ...]:
    """*count* guest sizes in pages (whole MiB) that add up to about *load* of the host.

    Sizes vary by up to ``±spread`` around the mean; none is larger than one
    node, so every guest fits one node on an empty host.
    """
    if count < 1 or nr_nodes < 1 or node_pages < PAGES_PER_MIB:
        raise ValueError("need at least one guest, one node and 1 MiB per node")
    if load <= 0 or not 0 <= spread < 1:
        raise ValueError("load must be > 0 and spread in [0, 1)")
    rng = random.Random(seed)
    weights = [1 + rng.uniform(-spread, spread) for _ in range(count)]
    target = load * nr_nodes * node_pages
    scale = target / sum(weights)
    cap = node_pages // PAGES_PER_MIB
    return tuple(
        max(1, min(cap, round(w * scale / PAGES_PER_MIB))) * PAGES_PER_MIB for w in weights
    )


# ---------------------------------------------------------------- placement
def place(
    free: Sequence[int], pages: int, exclude: Iterable[tuple[int, ...]] = ()
) -> list[tuple[int, ...]]:
    """Candidate node sets for a guest of *pages*, best first (libxl-style).

    Sets whose free memory holds the guest, fewest nodes first, then most free
    memory, then lowest node ids; sets in *exclude* are left out.
    """
    skip = set(exclude)
    fits = [
        nodes
        for k in range(1, len(free) + 1)
        for nodes in itertools.combinations(range(len(free)), k)
        if nodes not in skip and sum(free[n] for n in nodes) >= pages
    ]
    return sorted(fits, key=lambda nodes: (len(nodes), -sum(free[n] for n in nodes), nodes))


def split_claim(free: Sequence[int], nodes: Sequence[int], pages: int) -> list[int]:
    """Pages to claim on each of *nodes*: in proportion to their free memory, in 2 MiB
    units, the rest on the last node."""
    if len(nodes) == 1:
        return [pages]
    room = sum(free[n] for n in nodes) or 1
    unit = 1 << SUPERPAGE_ORDER
    shares = [(pages * free[n] // room) // unit * unit for n in nodes[:-1]]
    return [*shares, pages - sum(shares)]


# ------------------------------------------------------------------ workers
@dataclass
class _Guest:
    name: str
    pages: int
    worker: int = -1
    domid: int = -1
    placed: tuple[int, ...] = ()
    claim: list[int] = field(default_factory=list)
    host_claim: int = 0
    refusals: int = 0
    fallbacks: int = 0
    first_call: int = -1


class _Storm:
    def __init__(
        self,
        xen: Xen,
        guests: Sequence[int],
        mode: str,
        seed: int,
        workers: int,
        extents_per_call: int,
        replan: bool,
        policy: str = "best_effort",
        vcpus: int = 2,
    ) -> None:
        self.xen = xen
        self.xch: xc_interface = libxc.xc_interface_open(xen)
        self.mode = mode
        self.rng = random.Random(seed)
        width = max(2, len(str(len(guests))))
        self.queue = [_Guest(f"vm{i + 1:0{width}d}", p) for i, p in enumerate(guests)]
        self.order = {g.name: i for i, g in enumerate(self.queue)}
        self.workers = workers
        self.extents = extents_per_call
        self.replan = replan
        self.calls = 0
        self.results: list[GuestResult] = []
        self.running: list[tuple[int, Domain]] = []  # built guests: (result index, domain)
        self.v8_abi = xen.rules.claims_abi == "memory_claims"  # v8's set/get domctls
        self.vcpus = vcpus
        self.xenopsd = None
        if mode == "xenopsd":
            from .xenopsd.domain import Xenopsd

            self.xenopsd = Xenopsd(xen, policy)

    # one generator per worker; each ``yield`` ends a turn
    def worker(self, wid: int) -> Step:
        while self.queue:
            g = self.queue.pop(0)
            g.worker = wid
            if self.xenopsd is not None:
                yield from self.build_xenopsd(g)
            else:
                yield from self.build(g)

    def build_xenopsd(self, g: _Guest) -> Step:
        """One VM built by xenopsd (``claims.toolstack.xenopsd.domain.Xenopsd.build``)."""
        from .xenopsd.domain import BuildLog, VmSpec

        assert self.xenopsd is not None
        g.first_call = self.calls
        log = BuildLog(g.name)
        vm = VmSpec(g.name, g.pages // PAGES_PER_MIB, vcpus=self.vcpus)
        yield from self.xenopsd.build(vm, log)
        d = self.xen.domains.get(log.domid)
        nodes = self.xen.nr_nodes
        self.results.append(
            GuestResult(
                name=g.name,
                domid=log.domid,
                pages=g.pages,
                worker=g.worker,
                placed=tuple(sorted(log.plan)),
                claim=log.node_claim or (0,) * nodes,
                host_claim=log.global_claim,
                claim_refusals=int(log.claim_error == "ENOMEM"),
                built=log.built,
                failure=log.failure,
                numa_node_memory=self.node_memory(d, log.built) if d else (0,) * nodes,
                superpage_fallbacks=0,
                claim_left=log.claim_left,
                first_call=g.first_call,
                last_call=self.calls,
                plan=log.plan,
                global_fallback=log.global_fallback,
                claim_error=log.claim_error,
            )
        )

    def build(self, g: _Guest) -> Step:
        xch, nr_nodes = self.xch, self.xen.nr_nodes
        g.first_call = self.calls
        g.claim = [0] * nr_nodes
        g.domid = libxc.xc_domain_create(xch)
        libxc.xc_domain_setmaxmem(xch, g.domid, g.pages << (PAGE_SHIFT - 10))
        yield
        tried: list[tuple[int, ...]] = []
        while True:
            free = [m.memfree >> PAGE_SHIFT for m in libxc.xc_numainfo(xch)]
            cands = place(free, g.pages, tried)
            if not cands and tried:
                yield from self.fail(g, "ENOMEM: no node set left to claim on")
                return
            nodes = cands[0] if cands else tuple(range(nr_nodes))  # no placement: all nodes
            yield  # the plan is made; other workers move on before it is acted on
            g.placed = nodes
            libxc.xc_domain_node_setaffinity(xch, g.domid, nodes)
            err = self.claim(g, free, nodes)
            if err is None:
                break
            g.refusals += 1
            tried.append(nodes)
            if self.mode != "node" or not self.replan:
                yield from self.fail(g, f"claim refused: {err}")
                return
            yield  # refused: plan again without this node set
        yield
        segments = (
            [(n, c) for n, c in enumerate(g.claim) if c]
            if self.mode == "node"
            else [(None, g.pages)]
        )
        gfn = 0
        for node, pages in segments:
            flags = 0 if node is None else XENMEMF_exact_node(node)
            end = gfn + pages
            while gfn < end:
                if end - gfn >= 1 << SUPERPAGE_ORDER and not gfn & ((1 << SUPERPAGE_ORDER) - 1):
                    nr = min(self.extents, (end - gfn) >> SUPERPAGE_ORDER)
                    done = self.populate(g, gfn, nr, SUPERPAGE_ORDER, flags)
                    gfn += done << SUPERPAGE_ORDER
                    if done < nr:  # no free 2 MiB block: this batch in 4 KiB pages
                        g.fallbacks += nr - done
                        n4k = (nr - done) << SUPERPAGE_ORDER
                        if self.populate(g, gfn, n4k, 0, flags) < n4k:
                            yield from self.fail(g, "populate could not complete")
                            return
                        gfn += n4k
                else:
                    nr = min(self.extents << SUPERPAGE_ORDER, end - gfn)
                    if self.populate(g, gfn, nr, 0, flags) < nr:
                        yield from self.fail(g, "populate could not complete")
                        return
                    gfn += nr
                yield
        self.finish(g, built=True, failure="")

    def claim(self, g: _Guest, free: Sequence[int], nodes: tuple[int, ...]) -> str | None:
        """Install the claim of *mode*: ``None``, or the refusal's errno name."""
        try:
            if self.mode == "legacy":
                libxc.xc_domain_claim_pages(self.xch, g.domid, g.pages)
                g.host_claim = g.pages
            elif self.mode == "node":
                shares = split_claim(free, nodes, g.pages)
                pairs = [(p, n) for n, p in zip(nodes, shares) if p]
                if self.v8_abi:  # v8: set claims on the domain while it is still paused
                    ents8 = [xen_domctl_memory_claim_t(p, n) for p, n in pairs]
                    libxc.xc_domain_set_memory_claims(self.xch, g.domid, ents8, len(ents8))
                else:
                    entries = [xen_memory_claim_t(p, n) for p, n in pairs]
                    libxc.xc_domain_claim_memory(
                        self.xch, g.domid, XEN_DOMCTL_CLAIM_MEMORY_SET, len(entries), entries
                    )
                g.claim = [0] * self.xen.nr_nodes
                for n, p in zip(nodes, shares):
                    g.claim[n] = p
        except XcError as e:
            if e.errno != errno.ENOMEM:
                raise
            return "ENOMEM"
        return None

    def populate(self, g: _Guest, gfn: int, nr: int, order: int, flags: int) -> int:
        frames = list(range(gfn, gfn + (nr << order), 1 << order))
        return libxc.xc_domain_populate_physmap(self.xch, g.domid, nr, order, flags, frames)

    def fail(self, g: _Guest, why: str) -> Step:
        self.finish(g, built=False, failure=why)
        libxc.xc_domain_destroy(self.xch, g.domid)
        yield

    def finish(self, g: _Guest, built: bool, failure: str) -> None:
        d = self.xen.domains[g.domid]
        left = d.outstanding_pages
        if built and left:  # libxenguest drops what is left of the claim after populating
            if self.mode == "legacy":
                libxc.xc_domain_claim_pages(self.xch, g.domid, 0)
            elif self.v8_abi:
                libxc.xc_domain_set_memory_claims(self.xch, g.domid, None, 0)
            else:
                libxc.xc_domain_claim_memory(
                    self.xch, g.domid, XEN_DOMCTL_CLAIM_MEMORY_SET, 1, [xen_memory_claim_t(0, 0)]
                )
        if built:  # the build is over: the toolstack lets the guest run
            libxc.xc_domain_unpause(self.xch, g.domid)
        self.results.append(
            GuestResult(
                name=g.name,
                domid=g.domid,
                pages=g.pages,
                worker=g.worker,
                placed=g.placed,
                claim=tuple(g.claim),
                host_claim=g.host_claim,
                claim_refusals=g.refusals,
                built=built,
                failure=failure,
                numa_node_memory=self.node_memory(d, built),
                superpage_fallbacks=g.fallbacks,
                claim_left=left,
                first_call=g.first_call,
                last_call=self.calls,
            )
        )

    def node_memory(self, d: Domain, built: bool) -> tuple[int, ...]:
        """The guest's pages per node as its build ends: read now for a failed build
        (destroyed next), or, for a built guest, left to :meth:`read_running` (``()``
        until then)."""
        if not built:
            return tuple(self.xen.pages_by_node(d))
        self.running.append((len(self.results), d))
        return ()

    def read_running(self) -> None:
        """The built guests' pages per node, all read in one walk of the heap when the
        storm is over (``allocated_by_node``) instead of one walk per guest: no call after
        a build touches the running guest's memory (a failed build frees only its own, a
        later build allocates only its own), so each guest holds the same pages per node
        as when its build ended."""
        if not self.running:
            return
        xen = self.xen
        alloc = xen.allocated_by_node()
        for i, d in self.running:
            assert xen.domains.get(d.domid) is d, "a built guest is never destroyed"
            memory = tuple(alloc.get((n, d.domid), 0) for n in range(xen.nr_nodes))
            self.results[i] = dataclasses.replace(self.results[i], numa_node_memory=memory)


class _NoBar:
    """Stands in for a tqdm bar where none is shown (or tqdm, the review extra's, is not
    installed: JupyterLite)."""

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, desc: str, progress: bool | None) -> Any:
    """A tqdm bar over *total* guests (``progress=None``: only on a terminal); a bar that
    shows nothing if *progress* is False or tqdm is missing."""
    if progress is False:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise
        return _NoBar()
    disable = None if progress is None else False  # None: tqdm shows it only on a terminal
    return tqdm(total=total, desc=desc, unit="guest", disable=disable,
                leave=False)  # fmt: skip


def boot_storm(
    guests: Sequence[int],
    mode: str = "node",
    seed: int = 0,
    *,
    nr_nodes: int = 2,
    node_pages: int = 1 << 20,
    workers: int | None = None,
    extents_per_call: int = 8,
    semantics: str = "v7",
    replan: bool = True,
    progress: bool | None = None,
    topology: str = "default",
    policy: str = "best_effort",
    vcpus: int = 2,
) -> StormResult:
    """Boot *guests* (sizes in pages) on a fresh host of *nr_nodes* × *node_pages*.

    ``workers`` toolstack workers (default: one per guest, all at once; xenopsd's
    pool of 4 in ``xenopsd`` mode) take guests from the list in order; a
    ``random.Random(seed)`` picks which worker makes its next call.  *topology*
    gives the host its distances (``TOPOLOGIES``; ``opteron`` needs 8 nodes);
    *policy* and *vcpus* are xenopsd's NUMA policy and each VM's vCPUs.
    ``progress``: a tqdm bar over finished guests (``None``: only in a terminal).
    """
    if mode not in BUILDERS:
        raise ValueError(f"mode must be one of {BUILDERS}, not {mode!r}")
    if not guests or any(type(p) is not int or p < 1 for p in guests):
        raise ValueError("guests must be a non-empty list of page counts >= 1")
    if workers is None:
        nworkers = XENOPSD_WORKERS if mode == "xenopsd" else len(guests)
    else:
        nworkers = workers
    if nworkers < 1 or extents_per_call < 1:
        raise ValueError("workers and extents_per_call must be >= 1")
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology must be one of {TOPOLOGIES}, not {topology!r}")
    if topology == "opteron" and nr_nodes != 8:
        raise ValueError(f"the Opteron 6272 host has 8 nodes, not {nr_nodes}")
    if isinstance(vcpus, bool) or not isinstance(vcpus, int) or not 1 <= vcpus <= 128:
        raise ValueError(f"vcpus must be 1..128, not {vcpus!r}")
    # a storm builds many long-lived objects (the host's blocks, its event log) and no
    # reference cycle, so its host is freed as soon as _storm returns: collecting while
    # it runs would only rescan them; nothing the model decides depends on the collector
    with gc_paused():
        return _storm(
            guests, mode, seed, nr_nodes, node_pages, nworkers, extents_per_call,
            semantics, replan, progress, topology, policy, vcpus,
        )  # fmt: skip


def _storm(
    guests: Sequence[int],
    mode: str,
    seed: int,
    nr_nodes: int,
    node_pages: int,
    nworkers: int,
    extents_per_call: int,
    semantics: str,
    replan: bool,
    progress: bool | None,
    topology: str,
    policy: str,
    vcpus: int,
) -> StormResult:
    """:func:`boot_storm` once its arguments are checked."""
    xen = hosts.uniform(nr_nodes, node_pages, semantics=semantics)
    if topology == "example":
        xen.topology = make_topology(hosts.example_distances(nr_nodes), 4)
    elif topology == "opteron":
        xen.topology = make_topology(hosts.OPTERON_6272_DISTANCES, 8, threads_per_core=2)
    xen.config["topology"] = xen.topology
    if mode == "node" and not xen.rules.claim_sets:
        raise ValueError(f"node claims need claim sets: the {semantics} rule set has none")
    total = xen.total_avail_pages
    storm = _Storm(xen, guests, mode, seed, nworkers, extents_per_call, replan, policy, vcpus)
    bar = _progress_bar(len(guests), f"boot storm ({mode})", progress)
    active = [storm.worker(w) for w in range(nworkers)]
    try:
        while active:
            i = storm.rng.randrange(len(active))
            storm.calls += 1
            before = len(storm.results)
            try:
                next(active[i])
            except StopIteration:
                del active[i]
            if len(storm.results) != before:
                bar.update(len(storm.results) - before)
    finally:
        bar.close()
    storm.read_running()
    xen.check_invariants()
    results = sorted(storm.results, key=lambda r: storm.order[r.name])  # in the guests' order
    return StormResult(
        mode=mode,
        seed=seed,
        semantics=semantics,
        nr_nodes=nr_nodes,
        node_pages=node_pages,
        workers=nworkers,
        extents_per_call=extents_per_call,
        replan=replan,
        guests=tuple(results),
        total_pages=total,
        free_pages=xen.total_avail_pages,
        node_free=tuple(xen.node_avail_pages),
        claims_left=xen.outstanding_claims,
        calls=storm.calls,
        node_pool=_pool_by_node(xen),
    )


def _pool_by_node(xen: Xen) -> tuple[int, ...]:
    """The live domains' paging-pool pages on each node."""
    out = [0] * xen.nr_nodes
    for d in xen.domains.values():
        for mfn in d.paging_pool:
            node = xen.mfn_to_nid(mfn)
            if node is not None:
                out[node] += 1
    return tuple(out)


def run_modes(
    guests: Sequence[int],
    seed: int = 0,
    modes: Sequence[str] = MODES,
    *,
    progress: bool | None = None,
    **kw: Any,
) -> dict[str, StormResult]:
    """The same storm (same guests, same seed) under each claims mode."""
    return {m: boot_storm(guests, m, seed, progress=progress, **kw) for m in modes}


def summary_table(results: Iterable[StormResult]) -> str:
    """A Markdown table of the run numbers, one row per storm."""
    rows = [
        "| mode | built | failed builds | split guests | claims refused | "
        "2 MiB fallbacks | pages of failed builds | claims left over | free pages |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.mode} | {len(r.built)} | {r.failed_builds} | {r.split_guests} | "
            f"{r.claim_refusals} | {r.superpage_fallbacks} | {r.wasted_pages} | "
            f"{r.claims_left} | {r.free_pages} |"
        )
    return "\n".join(rows)


def xenopsd_table(results: Iterable[StormResult]) -> str:
    """A Markdown table of ``xenopsd`` storms, one row per hypervisor: XenServer's NUMA
    metrics (guests on one node), and how xenopsd claimed (node claims refused, by errno;
    global fallbacks; the claim left when populate ended)."""
    rows = [
        "| hypervisor | built | failed builds | on one node | split | node claims refused | "
        "global fallbacks | claim left at populate | free pages |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        errs: dict[str, int] = {}
        for g in r.guests:
            if g.claim_error:
                errs[g.claim_error] = errs.get(g.claim_error, 0) + 1
        refused = ", ".join(f"{n} {e}" for e, n in sorted(errs.items())) or "0"
        rows.append(
            f"| {r.semantics} | {len(r.built)} | {r.failed_builds} | {r.one_node_guests} | "
            f"{r.split_guests} | {refused} | {r.global_fallbacks} | "
            f"{r.claim_left_at_populate} | {r.free_pages} |"
        )
    return "\n".join(rows)
