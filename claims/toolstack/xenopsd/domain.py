"""xenopsd's VM build, as far as memory and NUMA go: ``ocaml/xenopsd/xc/domain.ml``
(xen-api @ ``e2ee48d688``): ``numa_hierarchy``, ``numa_placement`` and
``build_pre``, then xenguest's populate (:mod:`.xenguest`).  docs/toolstack.md#xenopsd.

:class:`Xenopsd` is one xenopsd process on one host: its lazily built
``NUMA.t`` (whose ``node_usage`` only grows), its ``numa_mutex``, and its NUMA
policy.  Its calls are generators that ``yield`` after each hypercall, so a boot
storm (``claims.toolstack.bootstorm``, mode ``xenopsd``) interleaves the builds
of its worker pool call by call; :func:`run` drains one for a single build.

What runs where (``build_pre``):

1. wait for ``required_host_free_mib`` of free host memory (raw ``physinfo``
   free pages, claims not deducted; the model has nothing to wait for, so too
   little fails at once, as XenServer does when nothing is being scrubbed);
2. ``domain_max_vcpus``, ``shadow_allocation_set`` (the HAP pool, allocated
   now: pages without refcount that no claim covers);
3. policy ``Any``, or a VM with hard affinity: no placement and **no claim**;
4. otherwise ``numa_placement``, all of it under ``numa_mutex``: read
   ``HostNuma.numa_get_meminfo``, give each node ``free - claimed`` bytes, plan
   (``Softaffinity.plan``), and if the plan is one node, claim there
   (``Xenctrlext.domain_claim_pages ~numa_node``): ``Ok`` sets the vCPU affinity to
   the node's CPUs (soft, or hard for ``Best_effort_hard``) and gives xenguest
   ``-mem_pnode``; ``ENOMEM`` sets no affinity; any other error (an upstream Xen's
   ``EINVAL``) sets the affinity anyway.  A plan of several nodes sets nothing;
5. no node placement: a **global claim** (host-wide), outside the mutex;
   ``ENOMEM`` fails the build, other errors are ignored.

**Claim sets** (``claim_sets=True``, the default on a v7 or v8 host): xenopsd has no
such code; this is how the kit lets it use them, and the notebook
``13-xenopsd`` says so.  The plan's nodes, one or several, are claimed in one claim
set (v7's ``xc_domain_claim_memory``, v8's ``xc_domain_set_memory_claims``), split
across them in proportion to their ``free - claimed`` in 2 MiB units; ``Ok`` sets
the vCPU affinity to the plan's CPUs, and xenguest gets ``-mem_pnode`` for a
one-node plan (a several-node guest is populated without node flags, so its memory
follows its node affinity).  ``ENOMEM`` and the other errors go on as above.
"""

from __future__ import annotations

import errno
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...hypervisor.constants import PAGE_SHIFT
from ...hypervisor.errors import errname
from ...hypervisor.memory import XENMEMF_exact_node
from ...hypervisor.public import (
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    xen_domctl_memory_claim_t,
    xen_memory_claim_t,
)
from ...hypervisor.xen import Xen
from .. import libxc, xenctrl, xenctrlext
from ..libxc import XcError
from . import memory as mem
from .softaffinity import plan as softaffinity_plan
from .topology import NUMA, NUMARequest, cpuset_to_mask

T = TypeVar("T")
Steps = Generator[None, None, T]

POLICIES = ("any", "best_effort", "best_effort_hard", "prio_mem_only")
"""``Xenops_interface.Host.numa_affinity_policy``: ``Any | Best_effort | Best_effort_hard |
Prio_mem_only`` (xenops_interface.ml:495-506); xenopsd's default is ``Best_effort``."""

DEFAULT_VIDEO_MIB = 4
"""``video_mib`` of an HVM guest when the VM does not say (xenops_server_xen.ml:2260)."""


def affinity_of_numa_affinity_policy(policy: str) -> str:
    """``Any | Best_effort | Prio_mem_only -> Soft``, ``Best_effort_hard -> Hard``
    (xenops_server.ml:3271-3277)."""
    return "hard" if policy == "best_effort_hard" else "soft"


def cores_of_numa_affinity_policy(policy: str, vcpus: int) -> int:
    """``Any | Prio_mem_only -> 0``, otherwise *vcpus* (xenops_server.ml:3279-3281)."""
    return 0 if policy in ("any", "prio_mem_only") else vcpus


def run(steps: Steps[T]) -> T:
    """Drain a build generator and return its value (one build, no storm)."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def run_together(*builds: Steps[T]) -> list[T]:
    """Drain several builds in turn, one step (one hypercall, or one wait for
    ``numa_mutex``) of each in order, as xenopsd's workers run side by side; their
    values in the order given.  A boot storm interleaves by a seeded random choice
    instead (``claims.toolstack.bootstorm``)."""
    results: list[T | None] = [None] * len(builds)
    live = list(range(len(builds)))
    while live:
        for i in list(live):
            try:
                next(builds[i])
            except StopIteration as stop:
                results[i] = stop.value
                live.remove(i)
    return results  # type: ignore[return-value]


class NumaMutex:
    """``numa_mutex``, for builds that are generators: a build that finds it taken
    yields until the holder lets go."""

    def __init__(self) -> None:
        self.owner: int | None = None
        self.waits = 0
        """Turns builds spent waiting for the mutex."""

    def acquire(self, who: int) -> Steps[None]:
        while self.owner is not None and self.owner != who:
            self.waits += 1
            yield
        self.owner = who

    def release(self, who: int) -> None:
        if self.owner == who:
            self.owner = None


@dataclass(frozen=True)
class VmSpec:
    """A VM as ``Domain.build`` gets it: memory in MiB, vCPUs, guest type, hard
    affinity (a CPU list per vCPU; empty: none)."""

    name: str
    static_max_mib: int
    vcpus: int = 2
    target_mib: int | None = None
    video_mib: int = DEFAULT_VIDEO_MIB
    model: mem.MemoryModelData = mem.HVM
    hard_affinity: tuple[tuple[int, ...], ...] = ()

    def memory(self) -> mem.memory_config:
        """``Memory.HVM.full_config static_max_mib video_mib target_mib vcpus 1.0``."""
        target = self.static_max_mib if self.target_mib is None else self.target_mib
        return mem.full_config(self.model, self.static_max_mib, self.video_mib, target, self.vcpus)


@dataclass
class BuildLog:
    """What one build did, for a storm's metrics and a notebook's table."""

    name: str
    domid: int = -1
    plan: tuple[int, ...] = ()
    """The planner's nodes (descending, as ``Softaffinity.plan`` gives them), or ()."""
    node: int | None = None
    """``-mem_pnode``: the node xenguest populated on, or ``None``."""
    node_claim: tuple[int, ...] = ()
    """Pages claimed per node by the placement (one node; several with claim sets)."""
    global_claim: int = 0
    """Pages claimed host-wide by the fallback (0: none staked)."""
    global_fallback: bool = False
    """The placement gave no node claim and ``build_pre`` claimed host-wide (or tried)."""
    claim_error: str = ""
    """The errno name of a refused placement claim (``ENOMEM``, ``EINVAL``, ...)."""
    affinity: tuple[int, ...] = ()
    """The CPUs the vCPUs were made affine to (empty: none set)."""
    built: bool = False
    failure: str = ""
    claim_left: int = 0
    """Claimed pages the populate did not redeem, cancelled by libxenguest at its end."""
    stats: dict[str, int] = field(default_factory=dict)


class Xenopsd:
    """One xenopsd on *xen*: ``numa_hierarchy``, ``numa_mutex``, the NUMA policy."""

    def __init__(
        self, xen: Xen, policy: str = "best_effort", *, claim_sets: bool | None = None
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
        self.xen = xen
        self.policy = policy
        self.claim_sets = xen.rules.claim_sets if claim_sets is None else claim_sets
        if self.claim_sets and not xen.rules.claim_sets:
            raise ValueError(f"claim_sets: the {xen.rules.name} rule set has no claim sets")
        self.xch = libxc.xc_interface_open(xen)
        self.xc = xenctrl.interface_open(xen)
        self.xcext = xenctrlext.interface_open(xen)
        self._hierarchy: NUMA | None = None
        self._hierarchy_built = False
        self.numa_mutex = NumaMutex()

    # ---------------------------------------------------------------- topology
    @property
    def numa_hierarchy(self) -> NUMA | None:
        """``Domain.numa_hierarchy`` (domain.ml:976-994), built on first use: the distances
        of ``numainfo``, each CPU's node from ``cputopoinfo``, and each node's cores as the
        distinct core ids among its CPUs."""
        if not self._hierarchy_built:
            distances = xenctrlext.numainfo(self.xcext).distances
            topo = xenctrlext.cputopoinfo(self.xcext)
            cores: list[set[int]] = [set() for _ in distances]
            for t in topo:
                cores[t.node].add(t.core)
            self._hierarchy = NUMA.make(distances, [t.node for t in topo], [len(c) for c in cores])
            self._hierarchy_built = True
        return self._hierarchy

    # ---------------------------------------------------------------- placement
    def numa_placement(
        self, domid: int, vcpus: int, cores: int, memory: int, affinity: str, log: BuildLog
    ) -> Steps[int | None]:
        """``numa_placement domid ~vcpus ~cores ~memory affinity`` (domain.ml:1027-1101),
        whole under ``numa_mutex``: the node xenguest populates on, or ``None``."""
        yield from self.numa_mutex.acquire(domid)
        try:
            return (yield from self._numa_placement(domid, vcpus, cores, memory, affinity, log))
        finally:
            self.numa_mutex.release(domid)

    def _numa_placement(
        self, domid: int, vcpus: int, cores: int, memory: int, affinity: str, log: BuildLog
    ) -> Steps[int | None]:
        host = self.numa_hierarchy
        if host is None:
            return None
        got = xenctrlext.HostNuma.numa_get_meminfo(self.xcext)
        yield
        if not isinstance(got, xenctrlext.Ok):
            return None
        meminfo = got.value
        # node_mem_claimable_for_new_vm: free - claimed (a negative one raises)
        nodes = [host.resource(n, m.free - m.claimed) for n, m in zip(host.nodes(), meminfo)]
        vm = NUMARequest.make(memory, vcpus, cores)
        planned = softaffinity_plan(host, nodes, vm)
        cpu_affinity, memory_plan = (None, []) if planned is None else planned
        log.plan = tuple(memory_plan)
        nr_pages = mem.pages_of_bytes_used(memory)

        def set_vcpu_affinity() -> Steps[None]:
            if cpu_affinity is None:
                return
            mask = cpuset_to_mask(cpu_affinity)
            log.affinity = tuple(sorted(cpu_affinity))
            for i in range(vcpus):
                if affinity == "hard":
                    xenctrlext.vcpu_setaffinity_hard(self.xcext, domid, i, mask)
                else:
                    xenctrlext.vcpu_setaffinity_soft(self.xcext, domid, i, mask)
            yield

        if self.claim_sets:
            if not memory_plan:
                return None
            return (yield from self._claim_set(domid, meminfo, memory_plan, nr_pages, log,
                                               set_vcpu_affinity))  # fmt: skip
        if len(memory_plan) != 1:  # "can't fit a single NUMA node": no affinity, no claim
            return None
        node = memory_plan[0]
        outcome = xenctrlext.domain_claim_pages(self.xcext, domid, nr_pages, numa_node=node)
        yield
        if isinstance(outcome, xenctrlext.Ok):
            log.node_claim = tuple(nr_pages if n == node else 0 for n in range(len(meminfo)))
            yield from set_vcpu_affinity()
            return node
        log.claim_error = errname(outcome.err)
        if outcome.err == errno.ENOMEM:
            return None
        yield from set_vcpu_affinity()  # "local claim not available": affinity anyway
        return None

    def _claim_set(
        self,
        domid: int,
        meminfo: Sequence[xenctrlext.node_meminfo],
        plan: list[int],
        nr_pages: int,
        log: BuildLog,
        set_vcpu_affinity: Any,
    ) -> Steps[int | None]:
        """The kit's claim-set adaptation of the node claim (not in xenopsd): one claim set
        over the plan's nodes, split by their ``free - claimed``."""
        nodes = sorted(plan)
        room = [max(0, meminfo[n].free - meminfo[n].claimed) >> PAGE_SHIFT for n in nodes]
        shares = split_pages(room, nr_pages)
        pairs = [(p, n) for n, p in zip(nodes, shares) if p]
        try:
            if self.xen.rules.claims_abi == "memory_claims":  # v8
                ents8 = [xen_domctl_memory_claim_t(p, n) for p, n in pairs]
                libxc.xc_domain_set_memory_claims(self.xch, domid, ents8, len(ents8))
            else:
                ents = [xen_memory_claim_t(p, n) for p, n in pairs]
                libxc.xc_domain_claim_memory(
                    self.xch, domid, XEN_DOMCTL_CLAIM_MEMORY_SET, len(ents), ents
                )
        except XcError as e:
            yield
            log.claim_error = errname(e.errno or 0)
            if e.errno == errno.ENOMEM:
                return None
            yield from set_vcpu_affinity()
            return None
        yield
        per = [0] * len(meminfo)
        for p, n in pairs:
            per[n] = p
        log.node_claim = tuple(per)
        yield from set_vcpu_affinity()
        return nodes[0] if len(nodes) == 1 else None

    # ---------------------------------------------------------------- build_pre
    def build_pre(self, domid: int, vm: VmSpec, memory: mem.memory_config,
                  log: BuildLog) -> Steps[int | None]:  # fmt: skip
        """``build_pre ~xc ~xs ~vcpus ~memory ~hard_affinity domid`` (domain.ml:1103-1253):
        the node for ``-mem_pnode``, or ``None``; raises :class:`BuildFailedError`."""
        free_kib = xenctrl.physinfo(self.xc).free_pages << (PAGE_SHIFT - 10)
        need_kib = memory.required_host_free_mib * 1024
        if free_kib < need_kib:  # wait_xen_free_mem: nothing is being scrubbed
            raise BuildFailedError(
                f"Not_enough_memory: {need_kib} KiB required, {free_kib} KiB free"
            )
        xenctrl.domain_max_vcpus(self.xc, domid, vm.vcpus)
        yield
        xenctrl.shadow_allocation_set(self.xc, domid, memory.shadow_mib)
        yield
        for vcpu, cpus in enumerate(_hard_map(vm.hard_affinity, vm.vcpus)):
            ncpus = len(self.xen.topology.cpu_to_node)
            xenctrlext.vcpu_setaffinity_hard(
                self.xcext, domid, vcpu, [c in cpus for c in range(ncpus)]
            )
        if self.policy == "any" or vm.hard_affinity:
            return None
        affinity = affinity_of_numa_affinity_policy(self.policy)
        cores = cores_of_numa_affinity_policy(self.policy, vm.vcpus)
        claim_bytes = memory.build_claim_pages << PAGE_SHIFT
        node = yield from self.numa_placement(domid, vm.vcpus, cores, claim_bytes, affinity, log)
        if node is not None or (self.claim_sets and log.node_claim):
            return node
        # the global claim: always, when the node claim failed or was not available
        nr_pages = mem.pages_of_bytes_used(claim_bytes)
        log.global_fallback = True
        outcome = xenctrlext.domain_claim_pages(self.xcext, domid, nr_pages)
        yield
        if isinstance(outcome, xenctrlext.Ok):
            log.global_claim = nr_pages
        elif outcome.err == errno.ENOMEM:
            raise BuildFailedError(f"Domain_build_pre_failed: global claim: {outcome}")
        return None

    # ---------------------------------------------------------------- the build
    def build(self, vm: VmSpec, log: BuildLog | None = None) -> Steps[BuildLog]:
        """``VM_create`` (``xc_domain_create``, ``max_pages``), ``build_pre``, xenguest's
        populate with ``-mem_pnode``, then ``VM_unpause``; a failed build is destroyed."""
        from .xenguest import meminit_hvm

        log = log or BuildLog(vm.name)
        memory = vm.memory()
        domid = libxc.xc_domain_create(self.xch)
        log.domid = domid
        xenctrl.domain_setmaxmem(self.xc, domid, memory.xen_max_mib * 1024)
        yield
        try:
            node = yield from self.build_pre(domid, vm, memory, log)
        except BuildFailedError as e:
            log.failure = str(e)
            libxc.xc_domain_destroy(self.xch, domid)
            yield
            return log
        log.node = node
        flags = XENMEMF_exact_node(node) if node is not None else 0
        res = yield from meminit_hvm(
            self.xch, domid, mem.pages_of_mib(memory.build_start_mib), flags
        )
        log.claim_left = res.claim_left
        log.stats = {
            "4k": res.stat_normal_pages,
            "2m": res.stat_2mb_pages,
            "1g": res.stat_1gb_pages,
            "calls": res.calls,
        }
        if res.rc:
            log.failure = res.failure
            libxc.xc_domain_destroy(self.xch, domid)
            yield
            return log
        libxc.xc_domain_unpause(self.xch, domid)
        log.built = True
        yield
        return log


class BuildFailedError(Exception):
    """``Domain_build_pre_failed`` or ``Not_enough_memory``: the VM is not built."""


def _hard_map(hard: Sequence[Sequence[int]], vcpus: int) -> list[tuple[int, ...]]:
    """``apply_hard_vcpu_map``: the first mask is the template for the vCPUs not given."""
    if not hard:
        return []
    masks = [tuple(m) for m in hard] + [tuple(hard[0])] * vcpus
    return masks[:vcpus]


def split_pages(room: Sequence[int], pages: int) -> list[int]:
    """*pages* split over nodes in proportion to their *room*, in 2 MiB units, the rest
    on the last node (the kit's claim-set adaptation)."""
    if len(room) == 1:
        return [pages]
    total = sum(room) or 1
    unit = 1 << 9
    shares = [(pages * r // total) // unit * unit for r in room[:-1]]
    return [*shares, pages - sum(shares)]
