"""A hypothesis state machine: the model against the independent claims reference.

Random sequences of toolstack and hypervisor operations -- domains created and
destroyed, paused and unpaused, ``max_pages`` changed, claim sets SET and GET (v7's
``XEN_DOMCTL_claim_memory`` and v8's ``XEN_DOMCTL_set_memory_claims`` and
``..._get_memory_claims``, each also against hosts of the other versions), legacy
claims, populate and decrease reservation with every flag mix, Xen-internal
allocations, offline and online pages, scrubbing, LLC colouring switched on and
off -- run on small hosts under every rule set.  After every step:

* ``xen.check_invariants()`` holds;
* every claim and pause call's return code (and GET's output and count, and
  what it left in the caller's buffer) is the one
  :class:`reference_model.ClaimsReference` predicts from the spec;
* every allocation recorded in ``xen.events`` passed the gates the reference
  says it passes, redeemed exactly the claims the reference redeems, and left
  the counters the reference has (``info["redeemed"]``, ``info["counters"]``);
* every offlining recalled what the reference recalls;
* a refused call (negative errno, ``XcError``, ``TypeError``/``ValueError``)
  left ``xen.state()`` -- counters, free lists, domains, p2m -- untouched.

The reference is told only what the heap decides: the node an allocation
landed on (from the event), pages freed and offlined per node (from the
allocated blocks and the offlined lists before and after), and each domain's
``domain_tot_pages``.

Soak: ``CLAIMS_SOAK_STEPS=1000000 pytest -m slow -s tests/test_state_machine.py``
or ``python tools/soak.py 1000000``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
import pytest
from claims.libxc import XcError
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from reference_model import HOST, LEGACY, MODE_GET, MODE_SET, PAUSE_MAX, ClaimsReference

import claims
from claims import (
    DOM0,
    MEMF_bits,
    MEMF_exact_node,
    MEMF_no_owner,
    MEMF_no_refcount,
    MEMF_no_scrub,
    MEMF_node,
    libxc,
)
from claims.hypervisor.constants import MAX_PAGES_UNLIMITED
from claims.hypervisor.domctl import Caller
from claims.hypervisor.public import xen_domctl_memory_claim_t, xen_memory_claim_t

U32 = (1 << 32) - 1
HOST_KINDS = ("harness", "uniform", "holes", "dma")
HOLES = [[(1, 40), (48, 100)], [(100, 230)], [(256, 300), (310, 400)]]
MAX_LIVE = 6
GFN_SPACE = 256
UNPRIV = Caller(77, False)
SENTINEL = bytes(xen_domctl_memory_claim_t(0xDEAD, 0xBEEF, 0x5A5A))
"""What a GET buffer holds before the call: a refused GET must leave it as it was."""

STATS: Counter[str] = Counter()
"""What the machines did, summed over runs (the soak prints it)."""
PROGRESS: list[Callable[[int], None]] = []
"""Called with the step count every 100 steps (the soak's progress bar)."""


def make_host(kind: str, semantics: str) -> claims.Xen:
    """Small hosts, so that exhaustion and claims equal to free memory are common."""
    if kind == "harness":  # two nodes of 16 MFNs, domains 1 and 2 (docs/toolstack.md#native-tests)
        xen = claims.hosts.native_harness(16, semantics=semantics)
        xen.init_heap_pages(16, 16)
        xen.init_heap_pages(32, 16, need_scrub=True)
    elif kind == "uniform":  # two nodes of 512 pages
        xen = claims.hosts.uniform(2, 512, semantics=semantics)
    elif kind == "dma":  # node 0 is all DMA zone: domheap tries above it first (docs/heap.md#zones)
        xen = claims.Xen(
            [range(256, 512), range(512, 768)], semantics=semantics, max_order=6, dma_bitsize="x86"
        )
        xen.init_heap_pages(256, 256)
        xen.init_heap_pages(512, 256, need_scrub=True)
    else:  # three nodes with holes, MAX_NUMNODES 4 (node 3 is offline), MAX_ORDER 5
        xen = claims.Xen(HOLES, semantics=semantics, max_order=5, max_numnodes=4)
        for i, ranges in enumerate(HOLES):
            for j, (s, e) in enumerate(ranges):
                xen.init_heap_pages(s, e - s, need_scrub=(i + j) % 2 == 1)
    return xen


def counters_of(xen: claims.Xen) -> tuple[object, ...]:
    """The model's counters in the reference's shape, from public attributes."""
    doms: dict[int, tuple[int, tuple[int, ...]]] = {}
    if xen.outstanding_claims:
        doms = {
            d.domid: (d.outstanding_pages, tuple(d.claims))
            for d in xen.domains.values()
            if d.outstanding_pages
        }
    return (
        xen.total_avail_pages,
        xen.outstanding_claims,
        tuple(xen.node_avail_pages),
        tuple(xen.claimed_pages),
        doms,
    )


class Outcome:
    """What one call did: its result or exception, and the host state before it."""

    def __init__(self, before: dict[str, Any]) -> None:
        self.before = before
        self.result: Any = None
        self.exc: BaseException | None = None

    @property
    def errno(self) -> int | None:
        return self.exc.errno if isinstance(self.exc, XcError) else None


class ClaimsMachine(RuleBasedStateMachine):
    """The model (libxc and hypervisor faces) against ``ClaimsReference``."""

    def __init__(self) -> None:
        super().__init__()
        STATS["examples"] += 1
        self.xen: claims.Xen
        self.ref: ClaimsReference
        self.dead: list[claims.Domain] = []
        self.blocks: list[tuple[int, int, int | None]] = []  # Xen-face allocations
        self.built: dict[int, claims.Domain] = {}  # domains unpaused to 0 once: built

    # ------------------------------------------------------------ set-up
    @initialize(
        semantics=st.sampled_from(["master", "v6", "v7", "v7", "v8", "v8"]),
        kind=st.sampled_from(HOST_KINDS),
        debug=st.booleans(),
        domids=st.lists(st.integers(1, 7), min_size=1, max_size=3, unique=True),
    )
    def setup(self, semantics: str, kind: str, debug: bool, domids: list[int]) -> None:
        self.xen = make_host(kind, semantics)
        for domid in domids:  # any order: the domain list is sorted by domid
            if domid not in self.xen.domains:
                self.xen.domain_create(domid)
        # debug_checks checks invariants after every event but turns the bulk
        # populate path off; without it bulk runs (and their events) are covered
        self.xen.debug_checks = debug
        self.xch = libxc.xc_interface_open(self.xen)
        self.ref = ClaimsReference(
            semantics, self.xen.node_avail_pages, max_numnodes=self.xen.max_numnodes
        )
        for d in self.xen.domains.values():
            self.ref.domain_create(d.domid, d.max_pages)
        self.compare()

    # ------------------------------------------------------------ helpers
    @property
    def nr_nodes(self) -> int:
        return self.xen.nr_nodes

    def live(self) -> list[int]:
        return sorted(self.xen.domains)

    def _inuse_by_node(self) -> list[int]:
        out = [0] * self.nr_nodes
        for mfn, rec in self.xen.allocated_blocks():
            node = self.xen.mfn_to_nid(mfn)
            assert node is not None
            out[node] += 1 << rec.order
        return out

    def _offlined_by_node(self) -> list[int]:
        out = [0] * self.nr_nodes
        for lst in (self.xen.page_offlined_list, self.xen.page_broken_list):
            for mfn in lst:
                node = self.xen.mfn_to_nid(mfn)
                assert node is not None
                out[node] += 1
        return out

    def run(
        self, kind: str, call: Callable[[], Any], on_success: Callable[[], None] | None = None
    ) -> Outcome:
        """Run one call; feed the reference the heap's facts and cross-check everything."""
        STATS["steps"] += 1
        STATS[f"op:{kind}"] += 1
        if PROGRESS and STATS["steps"] % 100 == 0:
            PROGRESS[0](STATS["steps"])
        out = Outcome(self.xen.state())
        inuse0, off0 = self._inuse_by_node(), self._offlined_by_node()
        ev0 = len(self.xen.events)
        try:
            out.result = call()
        except (XcError, TypeError, ValueError) as e:
            out.exc = e
            if not kind.startswith("claim"):  # claim calls are counted by their errno
                STATS[
                    f"{kind} refused: {errno.errorcode.get(self.errno_of(e), type(e).__name__)}"
                ] += 1
        if out.exc is None and on_success is not None:
            on_success()
        alloc = [0] * self.nr_nodes
        fed_free = [0] * self.nr_nodes
        fed_off = [0] * self.nr_nodes
        for ev in self.xen.events.since(ev0):
            if ev.op in ("alloc_domheap_pages", "alloc_heap_pages"):
                self.check_alloc(ev, alloc, fed_free)
            elif ev.op == "offline_page" and ev.info.get("reserved"):
                node = self.xen.mfn_to_nid(ev.args["mfn"])
                assert node is not None
                claimants = sum(1 for r in self.ref.domains.values() if r.outstanding)
                recalled = self.ref.offline(node, ev.info["reserved"])
                fed_off[node] += ev.info["reserved"]
                assert ev.info.get("recalled", {}) == recalled, (ev, recalled)
                assert tuple(ev.info["counters"]) == self.ref.counters(), ev
                if recalled:
                    STATS["offline recalls"] += 1
                    if claimants > 1:
                        STATS["offline recalls, several claimants"] += 1
                if self.ref.claimed_pages[node] > self.ref.node_avail_pages[node]:
                    STATS[f"{self.xen.semantics}: node claims above free after offlining"] += 1
        inuse1, off1 = self._inuse_by_node(), self._offlined_by_node()
        for n in range(self.nr_nodes):
            freed = inuse0[n] + alloc[n] - inuse1[n] - fed_free[n]
            assert freed >= 0, (n, freed)
            if freed:
                self.ref.free(n, freed)
            d_off = off1[n] - off0[n]
            if d_off < 0:
                self.ref.free(n, -d_off)  # onlined pages go back to the heap
            elif d_off > fed_off[n]:
                self.ref.offline(n, d_off - fed_off[n])  # reserved when freed
        for d in self.xen.domains.values():
            self.ref.set_tot_pages(d.domid, d.domain_tot_pages())
        self.compare()
        return out

    @staticmethod
    def errno_of(e: BaseException) -> int:
        return e.errno if isinstance(e, XcError) else 0

    def check_alloc(self, ev: claims.Event, alloc: list[int], fed_free: list[int]) -> None:
        """One allocation event against the reference's gates and redemption
        (docs/claims.md#protection, docs/redemption.md#redemption).
        """
        domid, order, flags = ev.args["d"], ev.args["order"], ev.args["memflags"]
        rc = ClaimsReference.refcounted(domid, flags, domheap=ev.op == "alloc_domheap_pages")
        node = ev.info.get("node")
        reason = str(ev.info.get("reason", ""))
        if node is None:
            assert "redeemed" not in ev.info, ev
            if "host-wide claims gate" in reason:
                assert not self.ref.host_gate(domid, order, rc), ev
                STATS["host gate refused"] += 1
            elif order <= self.xen.max_order and "attempts" not in ev.info:
                assert self.ref.host_gate(domid, order, rc), ev
            for n in ev.info.get("node_gate_skipped", []):
                assert not self.ref.node_gate(n, domid, order, rc), (ev, n)
                STATS["node gate skipped"] += 1
                if self.ref.node_avail_pages[n] < self.ref.claimed_pages[n]:
                    STATS["node gate skipped an over-claimed node"] += 1
            return
        assert self.ref.host_gate(domid, order, rc), ev
        assert self.ref.node_gate(node, domid, order, rc), ev
        over = self.ref.claimed_pages[node] - self.ref.node_avail_pages[node]
        if over > 0:  # v6/v8: offlining left claims above free memory (v8 clamps)
            STATS[f"{self.xen.semantics}: allocated on an over-claimed node"] += 1
            own = self.ref.domains[domid].nodes.get(node, 0) if rc and domid is not None else 0
            if self.ref.v8 and -over + own < 1 << order:
                STATS["v8: the clamp let an allocation through"] += 1
        want = self.ref.alloc(domid, node, order, rc)
        assert ev.info.get("redeemed", {}) == want, (ev, want)
        if want:
            STATS["redemptions"] += 1
            if len(want) > 1:
                STATS["multi-step redemptions"] += 1
        alloc[node] += 1 << order
        if "assign_pages" in ev.info:  # assign_pages failed: freed again, claims lost
            self.ref.free(node, 1 << order)
            fed_free[node] += 1 << order
            STATS["assign failures"] += 1
        assert tuple(ev.info["counters"]) == self.ref.counters(), (ev, self.ref.counters())

    def compare(self) -> None:
        """Counters, domains and claims of the model equal the reference's."""
        assert counters_of(self.xen) == self.ref.counters()
        assert sorted(self.xen.domains) == sorted(self.ref.domains)
        for d in self.xen.domains.values():
            r = self.ref.domains[d.domid]
            assert (d.outstanding_pages, d.node_claims, list(d.claims)) == (
                r.outstanding,
                r.node_claims,
                self.ref.domain_claims(d.domid),
            ), d
            rc, _n, got = self.xen.domain_get_claim_entries(d, self.xen.max_numnodes + 1)
            assert rc == 0 and got is not None
            assert [e.as_tuple() for e in got] == self.ref.get_claim_entries(d.domid)
            info = libxc.xc_domain_getinfo_single(self.xch, d.domid)
            assert info.outstanding_pages == r.outstanding  # docs/claims.md#invariants "Reporting"
            assert d.controller_pause_count == r.pause_count, d
            assert info.paused == (r.pause_count > 0)
            if r.pause_count == 0:
                self.built[d.domid] = d
            # the first unpause to 0 ends the build, for good (docs/toolstack.md#populate-physmap)
            assert d.creation_finished == (self.built.get(d.domid) is d), d
        assert libxc.xc_physinfo(self.xch).outstanding_pages == self.ref.outstanding_claims
        free = [m.memfree >> 12 for m in libxc.xc_numainfo(self.xch)]
        assert free == self.ref.node_avail_pages  # claims included (docs/claims.md#invariants)

    def unchanged(self, out: Outcome, what: object = "") -> None:
        assert self.xen.state() == out.before, f"a refused call changed the host: {what}"
        STATS["refusals (state unchanged)"] += 1

    @invariant()
    def invariants_hold(self) -> None:
        if hasattr(self, "xen"):
            self.xen.check_invariants()

    # ------------------------------------------------------- strategies
    def domid_st(self) -> st.SearchStrategy[int]:
        """Mostly a live domain, sometimes any id (unknown or destroyed ones)."""
        live = self.live()
        if not live:
            return st.integers(1, 7)
        return st.sampled_from(live * 20 + list(range(1, 8)))

    def claimant_st(self) -> st.SearchStrategy[int]:
        """Half the time a domain holding claims, so that allocations redeem them."""
        holders = [d for d, r in sorted(self.ref.domains.items()) if r.outstanding]
        if not holders:
            return self.domid_st()
        return st.one_of(st.sampled_from(holders), self.domid_st())

    def pages_st(self, domid: int) -> st.SearchStrategy[int]:
        """Page counts at the edges: free memory, unclaimed memory, tot_pages, max_pages."""
        xen = self.xen
        d = xen.domains.get(domid)
        tot = d.domain_tot_pages() if d else 0
        mx = d.max_pages if d else 0
        unclaimed = xen.total_avail_pages - xen.outstanding_claims
        edges = {0, 1, 2, 2**31, 2**32, 2**64 - 1, tot, tot + 1, mx, mx + 1, mx - tot}
        edges |= {unclaimed, unclaimed + 1, unclaimed + tot, unclaimed + tot + 1}
        edges |= {xen.total_avail_pages, xen.total_avail_pages + 1}
        if d:
            edges |= {unclaimed + d.outstanding_pages, unclaimed + d.outstanding_pages + 1}
        for n in range(self.nr_nodes):
            free = xen.node_avail_pages[n] - xen.claimed_pages[n]
            own = d.claims[n] if d else 0
            edges |= {free, free + 1, free + own, free + own + 1, xen.node_avail_pages[n]}
        vals = sorted(v for v in edges if 0 <= v < 2**64)
        return st.one_of(st.sampled_from(vals), st.integers(0, 40))

    def target_st(self) -> st.SearchStrategy[int]:
        nodes = list(range(self.nr_nodes))
        odd = [self.nr_nodes, self.xen.max_numnodes, 255, 256, HOST + 1, U32]
        return st.sampled_from([HOST, HOST, HOST, LEGACY] + nodes + nodes + odd)

    # ------------------------------------------------------ domain rules
    @precondition(lambda self: len(self.xen.domains) < MAX_LIVE)
    @rule(data=st.data())
    def create_domain(self, data: st.DataObject) -> None:
        domid = data.draw(st.integers(1, 7), "domid")
        aff = data.draw(
            st.one_of(st.none(), st.sets(st.integers(0, self.nr_nodes), min_size=1)), "aff"
        )
        if data.draw(st.booleans(), "via libxc"):
            max_pages = 0  # Xen's domain_create: nothing until XEN_DOMCTL_max_mem
            cfg: dict[str, Any] = {"domid": domid}
            if aff is not None:
                cfg["node_affinity"] = aff
            out = self.run(
                "create",
                lambda: libxc.xc_domain_create(self.xch, cfg),
                lambda: self.ref.domain_create(domid, max_pages),
            )
            if out.exc is None and data.draw(st.booleans(), "setmaxmem as libxl does"):
                self.run(
                    "setmaxmem",
                    lambda: libxc.xc_domain_setmaxmem(self.xch, domid, U32 << 2),
                    lambda: self.ref.set_max_pages(domid, U32),
                )
        else:
            max_pages = data.draw(st.sampled_from([MAX_PAGES_UNLIMITED, 0, 8, 64, 300]), "max")
            out = self.run(
                "create",
                lambda: self.xen.domain_create(domid, max_pages=max_pages, node_affinity=aff),
                lambda: self.ref.domain_create(domid, max_pages),
            )
        if out.exc is not None:
            self.unchanged(out, ("create", domid, aff))

    @rule(data=st.data())
    def destroy_domain(self, data: st.DataObject) -> None:
        live = self.live()
        if len(live) > 1:
            domid = data.draw(self.domid_st(), "domid")
        else:  # keep the last domain alive; try an unknown id
            domid = data.draw(st.integers(1, 7).filter(lambda i: i not in live), "domid")
        d = self.xen.domains.get(domid)
        out = self.run(
            "destroy",
            lambda: libxc.xc_domain_destroy(self.xch, domid),
            lambda: self.ref.domain_destroy(domid),
        )
        if d is None:
            assert out.errno == errno.ESRCH
            self.unchanged(out, ("destroy", domid))
        else:
            assert out.exc is None
            self.dead = (self.dead + [d])[-3:]

    @rule(data=st.data())
    def set_max_mem(self, data: st.DataObject) -> None:
        domid = data.draw(self.domid_st(), "domid")
        d = self.xen.domains.get(domid)
        tot = d.domain_tot_pages() if d else 0
        claim = d.outstanding_pages if d else 0
        pages = data.draw(
            st.sampled_from([tot, tot + claim, max(tot - 1, 0), tot + 1, 2, 64, U32, 2**40]),
            "pages",
        )
        kb = pages << 2
        out = self.run(
            "setmaxmem",
            lambda: libxc.xc_domain_setmaxmem(self.xch, domid, kb),
            lambda: self.ref.set_max_pages(domid, min(pages, U32)),
        )
        if d is None:
            assert out.errno == errno.ESRCH
            self.unchanged(out, ("setmaxmem", domid))
        else:
            assert out.exc is None

    def set_affinity(self, data: st.DataObject) -> None:
        domid = data.draw(self.domid_st(), "domid")
        nodes = data.draw(st.sets(st.integers(0, self.xen.max_numnodes - 1), max_size=3), "n")
        out = self.run(
            "setaffinity", lambda: libxc.xc_domain_node_setaffinity(self.xch, domid, nodes)
        )
        if out.exc is not None:
            self.unchanged(out, ("setaffinity", domid, nodes))

    @rule(data=st.data())
    def pause_unpause(self, data: st.DataObject) -> None:
        """XEN_DOMCTL_pausedomain/unpausedomain, through libxc or the hypervisor face.

        Domains start paused (createdomain); the first unpause to 0 ends the build
        (``creation_finished``: populate no longer takes dirty memory as it comes);
        unpausing a running domain is EINVAL; v8's SET needs a paused domain.
        """
        domid = data.draw(self.claimant_st(), "domid")
        op = data.draw(st.sampled_from(["pause", "unpause"]), "op")
        via = data.draw(st.sampled_from(["libxc"] * 4 + ["xen"]), "via")
        self._pause_call(op, domid, via)

    def _pause_call(self, op: str, domid: int, via: str = "libxc") -> int | None:
        d = self.xen.domains.get(domid)
        if via == "xen" and d is None and not self.dead:
            via = "libxc"
        if via == "libxc":
            want: int | None = self.ref.pause(domid) if op == "pause" else self.ref.unpause(domid)
            fn = libxc.xc_domain_pause if op == "pause" else libxc.xc_domain_unpause
            out = self.run(op, lambda: fn(self.xch, domid))
            assert out.exc is None or out.errno, out.exc
            got: int | None = -out.errno if out.errno else 0
        else:  # a live domain, or a destroyed one (refused: ValueError)
            target = d if d is not None else self.dead[-1]
            want = None
            if d is not None:
                want = self.ref.pause(domid) if op == "pause" else self.ref.unpause(domid)
            xfn = (
                self.xen.domain_pause_by_systemcontroller
                if op == "pause"
                else self.xen.domain_unpause_by_systemcontroller
            )
            out = self.run(op, lambda: xfn(target))
            if d is None:
                assert isinstance(out.exc, ValueError), out.exc
            got = out.result
        assert got == want, (op, via, domid, got, want)
        if d is not None and op == "unpause" and got == 0:
            STATS[
                "unpause: running" if d.controller_pause_count == 0 else "unpause: still paused"
            ] += 1
        if got != 0:
            self.unchanged(out, (op, via, domid))
        return got

    def pause_to_cap(self, data: st.DataObject) -> None:
        """Pause a domain up to Xen's cap of 255 toolstack pauses; one more is EOVERFLOW;
        then back to where it was.  Rare: 500 calls."""
        if data.draw(st.integers(0, 2), "cap now") > 0:
            return
        domid = data.draw(self.domid_st().filter(lambda i: i in self.xen.domains), "domid")
        r = self.ref.domains[domid]
        n = PAUSE_MAX - r.pause_count

        def pauses() -> None:
            for _ in range(n):
                libxc.xc_domain_pause(self.xch, domid)

        def ref_pauses() -> None:
            for _ in range(n):
                assert self.ref.pause(domid) == 0

        def unpauses() -> None:
            for _ in range(n):
                libxc.xc_domain_unpause(self.xch, domid)

        def ref_unpauses() -> None:
            for _ in range(n):
                assert self.ref.unpause(domid) == 0

        out = self.run("pause", pauses, ref_pauses)
        assert out.exc is None, out.exc
        assert self._pause_call("pause", domid) == -errno.EOVERFLOW
        STATS["pause: capped at 255"] += 1
        out = self.run("unpause", unpauses, ref_unpauses)  # back to where it was
        assert out.exc is None, out.exc

    @rule(data=st.data())
    def toggle_llc(self, data: st.DataObject) -> None:
        """LLC colouring on (rarely, for some 20 steps) or off: every claim call that checks
        it is EOPNOTSUPP; v8's release (nr_entries 0) and GET come before or without it."""
        on = not self.xen.llc_coloring_enabled and data.draw(st.integers(0, 9), "llc") == 0
        self.xen.llc_coloring_enabled = self.ref.llc_coloring = on

    @rule(data=st.data())
    def misc(self, data: st.DataObject) -> None:
        """The rarer operations: node affinity, increase, scrub, 255 pauses."""
        op = data.draw(
            st.sampled_from(
                [self.set_affinity, self.increase, self.scrub] * 3 + [self.pause_to_cap]
            ),
            "op",
        )
        op(data)

    # ------------------------------------------------------- claim rules
    def _entries(self, data: st.DataObject, domid: int, n: int) -> list[tuple[int, int, int]]:
        pages, target = self.pages_st(domid), self.target_st()
        cmd = st.sampled_from([0] * 15 + [1, U32])
        return [
            (data.draw(pages, "pages"), data.draw(target, "target"), data.draw(cmd, "cmd"))
            for _ in range(n)
        ]

    @rule(data=st.data())
    def claim_set(self, data: st.DataObject) -> None:
        """XEN_DOMCTL_claim_memory SET, valid and invalid (docs/claims.md#set)."""
        domid = data.draw(self.domid_st(), "domid")
        max_nr = self.xen.max_numnodes + 1
        shape = data.draw(
            st.sampled_from(["set"] * 8 + ["release", "zero", "null", "e2big", "mode"]), "shape"
        )
        mode = MODE_SET
        if shape == "release":
            ents: list[tuple[int, int, int]] | None = [(0, HOST, 0)]
            if data.draw(st.booleans(), "with nodes"):
                ents += [(0, n, 0) for n in range(self.nr_nodes)]
        elif shape == "e2big":
            ents = [(0, 0, 0)] * (max_nr + data.draw(st.integers(1, 3), "extra"))
        else:
            ents = self._entries(data, domid, data.draw(st.integers(1, 4), "n"))
        nr = len(ents)
        if shape == "zero":
            nr = 0
        elif shape == "null":
            ents = None
        elif shape == "mode":
            mode = data.draw(st.sampled_from([2, 3, U32]), "mode")
        via = data.draw(st.sampled_from(["libxc"] * 6 + ["unpriv", "dead"]), "via")
        if via == "dead" and not self.dead:
            via = "libxc"
        buf = None if ents is None else [xen_memory_claim_t(p, t, c) for p, t, c in ents]
        if via == "libxc":
            want = self.ref.claim_memory(domid, mode, nr, ents)
            nr_c = ctypes.c_uint32(nr)
            out = self.run(
                "claim_set", lambda: libxc.xc_domain_claim_memory(self.xch, domid, mode, nr_c, buf)
            )
            got = -out.errno if out.errno else 0
            assert out.exc is None or out.errno, out.exc
        else:
            caller = UNPRIV if via == "unpriv" else DOM0
            target: claims.Domain | int = self.dead[-1] if via == "dead" else domid
            ref_domid = self.dead[-1].domid if via == "dead" else domid
            want = self.ref.claim_memory(
                ref_domid, mode, nr, ents, privileged=via != "unpriv", dying=via == "dead"
            )
            out = self.run(
                "claim_set",
                lambda: self.xen.do_domctl_claim_memory(caller, target, mode, nr, buf),
            )
            got = out.result[0]
        assert got == want[0], (via, domid, mode, nr, ents, got, want)
        STATS[f"SET {self._v7_call()} {errno.errorcode.get(-got, 'ok')}"] += 1
        if got:
            self.unchanged(out, ("claim_set", domid, ents))

    @precondition(lambda self: bool(self.xen.domains))
    @rule(data=st.data())
    def claim_set_fitting(self, data: st.DataObject) -> None:
        """A SET that mostly fits: node claims within each node's unclaimed memory,
        the rest host-wide, sometimes exactly all of it (docs/claims.md#set-phases)."""
        domid = data.draw(st.sampled_from(self.live()), "domid")
        d = self.xen.domains[domid]
        xen = self.xen
        ents: list[tuple[int, int, int]] = []
        room = xen.total_avail_pages - xen.outstanding_claims + d.outstanding_pages
        nodes = data.draw(st.sets(st.integers(0, self.nr_nodes - 1), max_size=2), "nodes")
        for n in sorted(nodes):
            free = xen.node_avail_pages[n] - xen.claimed_pages[n] + d.claims[n]
            top = max(min(free, room), 0)
            p = data.draw(st.sampled_from([top, top // 2, top // 2, 1, 0]), "node pages")
            ents.append((p, n, 0))
            room -= p
        if data.draw(st.booleans(), "host"):
            top = max(room, 0)
            p = data.draw(st.sampled_from([top, top, top // 2, 1, top + 1]), "host pages")
            target = LEGACY if data.draw(st.integers(0, 9), "legacy") == 0 else HOST
            ents.insert(data.draw(st.integers(0, len(ents)), "at"), (p, target, 0))
        if not ents:
            ents = [(0, HOST, 0)]
        want = self.ref.claim_memory(domid, MODE_SET, len(ents), ents)
        buf = [xen_memory_claim_t(p, t, c) for p, t, c in ents]
        nr_c = ctypes.c_uint32(len(ents))
        out = self.run(
            "claim_set", lambda: libxc.xc_domain_claim_memory(self.xch, domid, 0, nr_c, buf)
        )
        got = -out.errno if out.errno else 0
        assert out.exc is None or out.errno, out.exc
        assert got == want[0], (domid, ents, got, want)
        STATS[f"SET {self._v7_call()} {errno.errorcode.get(-got, 'ok')}"] += 1
        if got:
            self.unchanged(out, ("claim_set", domid, ents))

    @rule(data=st.data())
    def claim_get(self, data: st.DataObject) -> None:
        """XEN_DOMCTL_claim_memory GET: the size query, too-small, NULL and fitting buffers."""
        domid = data.draw(self.domid_st(), "domid")
        max_nr = self.xen.max_numnodes + 1
        cap = data.draw(st.sampled_from([0, 1, 2, 3, 4, 4, max_nr, max_nr, max_nr + 3]), "cap")
        size = data.draw(st.sampled_from([None, cap, cap, cap, max(cap - 1, 0)]), "size")
        buf = None if size is None else (xen_memory_claim_t * size)()
        via = data.draw(st.sampled_from(["libxc"] * 6 + ["unpriv", "dead"]), "via")
        if via == "dead" and not self.dead:
            via = "libxc"
        if via == "libxc":
            want = self.ref.claim_memory(domid, MODE_GET, cap, None, buffer_len=size)
            nr_c = ctypes.c_uint32(cap)
            out = self.run(
                "claim_get",
                lambda: libxc.xc_domain_claim_memory(self.xch, domid, MODE_GET, nr_c, buf),
            )
            got, nr_out = (-out.errno if out.errno else 0), nr_c.value
            assert out.exc is None or out.errno, out.exc
        else:
            caller = UNPRIV if via == "unpriv" else DOM0
            target: claims.Domain | int = self.dead[-1] if via == "dead" else domid
            ref_domid = self.dead[-1].domid if via == "dead" else domid
            want = self.ref.claim_memory(
                ref_domid,
                MODE_GET,
                cap,
                None,
                privileged=via != "unpriv",
                dying=via == "dead",
                buffer_len=size,
            )
            out = self.run(
                "claim_get",
                lambda: self.xen.do_domctl_claim_memory(caller, target, MODE_GET, cap, buf),
            )
            got, nr_out = out.result
        assert (got, nr_out) == want[:2], (via, domid, cap, size, got, nr_out, want)
        if got == 0:
            assert buf is not None and want[2] is not None
            assert [e.as_tuple() for e in buf[:nr_out]] == want[2]
        STATS[f"GET {self._v7_call()} {errno.errorcode.get(-got, 'ok')}"] += 1
        self.unchanged(out, ("claim_get", domid))  # GET never changes the host

    def _v7_call(self) -> str:
        """How the stats name a v7 toolstack's domctl 91 on this host."""
        return "v7 call on v8" if self.xen.semantics == "v8" else self.xen.semantics

    # ------------------------------------------------------- v8's domctls
    def _v8_label(self, what: str) -> str:
        return what if self.xen.semantics == "v8" else f"{what} (v8 call on {self.xen.semantics})"

    def _note_release(self, domid: int | None) -> None:
        """Count a v8 release (nr_entries 0) by the state of the domain it worked on."""
        d = self.xen.domains.get(domid) if domid is not None else None
        state = (
            "dying"
            if domid is None
            else "running"
            if d and not d.controller_pause_count
            else "paused"
        )
        llc = ", LLC colouring on" if self.xen.llc_coloring_enabled else ""
        STATS[f"SET91 release: {state}{llc}"] += 1

    @rule(data=st.data())
    def memory_claims_set(self, data: st.DataObject) -> None:
        """XEN_DOMCTL_set_memory_claims (v8, domctl 91) through libxc, or through the
        hypervisor face with a bad pad, an unprivileged caller or a dying domain
        (docs/versions.md#v8).  On older hosts domctl 91 is XEN_DOMCTL_claim_memory,
        which reads the pad as its mode (master: ENOSYS)."""
        shape = data.draw(
            st.sampled_from(["set"] * 6 + ["release"] * 2 + ["null", "short", "e2big"]), "shape"
        )
        domid = data.draw(self.claimant_st() if shape == "release" else self.domid_st(), "domid")
        max_nr = self.xen.max_numnodes + 1
        ents: list[tuple[int, int, int]] | None
        if shape == "e2big":
            ents = [(1, 0, 0)] * (max_nr + data.draw(st.integers(1, 3), "extra"))
        elif shape == "release" and data.draw(st.booleans(), "NULL"):
            ents = None
        else:
            ents = self._entries(data, domid, data.draw(st.integers(1, 4), "n"))
        nr = 0 if ents is None else len(ents)
        if shape == "release":
            nr = 0
        elif shape == "null":
            ents = None
        elif shape == "short":
            nr += data.draw(st.integers(1, 2), "beyond")
        via = data.draw(st.sampled_from(["libxc"] * 6 + ["unpriv", "dead", "pad", "xen"]), "via")
        if via == "dead" and not self.dead:
            via = "libxc"
        buf = None if ents is None else [xen_domctl_memory_claim_t(p, t, c) for p, t, c in ents]
        if via == "libxc":
            want = self.ref.set_memory_claims(domid, nr, ents)
            nr_arg: ctypes.c_uint32 | int = (
                ctypes.c_uint32(nr) if data.draw(st.booleans(), "c_uint32") else nr
            )
            out = self.run(
                "claim_set8",
                lambda: libxc.xc_domain_set_memory_claims(self.xch, domid, buf, nr_arg),
            )
            assert out.exc is None or out.errno, out.exc
            got = -out.errno if out.errno else 0
        else:
            caller = UNPRIV if via == "unpriv" else DOM0
            pad = data.draw(st.sampled_from([1, 2, U32]), "pad") if via == "pad" else 0
            d = self.xen.domains.get(domid)
            target: claims.Domain | int = domid
            if via == "dead":
                target = self.dead[-1]
            elif d is not None and data.draw(st.booleans(), "as Domain"):
                target = d
            ref_domid = self.dead[-1].domid if via == "dead" else domid
            want = self.ref.set_memory_claims(
                ref_domid, nr, ents, pad, privileged=via != "unpriv", dying=via == "dead"
            )
            out = self.run(
                "claim_set8",
                lambda: self.xen.do_domctl_set_memory_claims(caller, target, nr, buf, pad),
            )
            got = out.result
        assert got == want, (via, domid, nr, ents, got, want)
        label = self._v8_label("SET91")
        STATS[f"{label} {errno.errorcode.get(-got, 'ok')}"] += 1
        if self.xen.semantics == "v8" and shape == "release" and got == 0:
            self._note_release(None if via == "dead" else domid)
        if got:
            self.unchanged(out, ("memory_claims_set", domid, nr, ents))

    @precondition(lambda self: self.xen.semantics == "v8")
    @rule(data=st.data())
    def memory_claims_install(self, data: st.DataObject) -> None:
        """A v8 SET as a toolstack builds a domain: release its claims (nr_entries 0,
        paused or not), pause it if it runs (mostly), then claims within each node's and
        the host's unclaimed memory, sometimes all of it, sometimes one page over; now and
        then through a v7 toolstack's call (docs/versions.md#v8)."""
        domid = data.draw(st.sampled_from(self.live()), "domid")
        r = self.ref.domains[domid]
        if r.outstanding and data.draw(st.integers(0, 3), "release first") > 0:
            assert self.ref.set_memory_claims(domid, 0, None) == 0  # paused or not
            out = self.run(
                "claim_set8", lambda: libxc.xc_domain_set_memory_claims(self.xch, domid, None, 0)
            )
            assert out.exc is None, out.exc
            self._note_release(domid)
        if r.pause_count == 0 and data.draw(st.integers(0, 2), "pause first") > 0:
            self._pause_call("pause", domid)
        xen = self.xen
        room = xen.total_avail_pages - xen.outstanding_claims
        ents: list[tuple[int, int, int]] = []
        for n in sorted(data.draw(st.sets(st.integers(0, self.nr_nodes - 1), max_size=2), "n")):
            top = max(min(xen.node_avail_pages[n] - xen.claimed_pages[n], room), 0)
            p = max(data.draw(st.sampled_from([top, top // 2, 1, top + 1]), "node pages"), 1)
            ents.append((p, n, 0))
            room -= p
        if data.draw(st.booleans(), "host"):
            top = max(room, 0)
            p = max(data.draw(st.sampled_from([top, top, top // 2, 1, top + 1]), "host"), 1)
            ents.insert(data.draw(st.integers(0, len(ents)), "at"), (p, HOST, 0))
        if data.draw(st.integers(0, 4), "v7 toolstack") == 0:
            # a v7 toolstack's SET reaches v8's set_memory_claims (mode 0 read as pad 0)
            want = self.ref.claim_memory(domid, MODE_SET, len(ents), ents)[0]
            buf7 = [xen_memory_claim_t(p, t, c) for p, t, c in ents]
            nr_c = ctypes.c_uint32(len(ents))
            out = self.run(
                "claim_set8",
                lambda: libxc.xc_domain_claim_memory(self.xch, domid, MODE_SET, nr_c, buf7),
            )
            assert nr_c.value == len(ents)
        else:
            want = self.ref.set_memory_claims(domid, len(ents), ents)
            buf8 = [xen_domctl_memory_claim_t(p, t, c) for p, t, c in ents]
            out = self.run(
                "claim_set8",
                lambda: libxc.xc_domain_set_memory_claims(self.xch, domid, buf8, len(ents)),
            )
        assert out.exc is None or out.errno, out.exc
        got = -out.errno if out.errno else 0
        assert got == want, (domid, ents, got, want)
        STATS[f"SET91 install {errno.errorcode.get(-got, 'ok')}"] += 1
        if got:
            self.unchanged(out, ("memory_claims_install", domid, ents))

    def _set8(self, domid: int, ents: list[tuple[int, int, int]]) -> int:
        """The toolstack's v8 SET: pause the domain if it runs, then set *ents* through libxc."""
        if self.ref.domains[domid].pause_count == 0:
            self._pause_call("pause", domid)
        want = self.ref.set_memory_claims(domid, len(ents), ents)
        buf = [xen_domctl_memory_claim_t(p, t, c) for p, t, c in ents]
        out = self.run(
            "claim_set8",
            lambda: libxc.xc_domain_set_memory_claims(self.xch, domid, buf, len(buf)),
        )
        got = -out.errno if out.errno else 0
        assert got == want, (domid, ents, got, want)
        STATS[f"SET91 over-claim set-up {errno.errorcode.get(-got, 'ok')}"] += 1
        if got:
            self.unchanged(out, ("set8", domid, ents))
        return got

    @precondition(lambda self: self.xen.semantics == "v8" and len(self.xen.domains) > 1)
    @rule(data=st.data())
    def over_claim_node(self, data: st.DataObject) -> None:
        """v8 leaves claims above free memory after offlining: a second domain claims
        the rest of a node another domain has a claim on, as many free pages of that
        node as the first domain claims there go offline, and the first domain
        allocates there.  The clamped node gate lets it (its own claim covers the
        request); an unclamped sum would not (docs/versions.md#v8 "Allocation",
        "No offline recall")."""
        xen = self.xen
        holders = [(i, n) for i in self.live() for n in range(self.nr_nodes)]
        holders = [(i, n) for i, n in holders if xen.domains[i].claims[n]]
        if holders and data.draw(st.booleans(), "existing claim"):
            small, n = data.draw(st.sampled_from(holders), "claimant, node")
        else:  # a small node claim first
            free_ = [i for i in self.live() if not xen.domains[i].outstanding_pages]
            if not free_:
                STATS["over_claim_node: every domain has claims"] += 1
                return
            small = data.draw(st.sampled_from(free_), "claimant")
            n = data.draw(st.integers(0, self.nr_nodes - 1), "node")
            if self._set8(small, [(data.draw(st.sampled_from([1, 2, 3]), "pages"), n, 0)]):
                return
        others = [i for i in self.live() if not xen.domains[i].outstanding_pages]
        if not others:
            STATS["over_claim_node: every domain has claims"] += 1
            return
        top = min(
            xen.node_avail_pages[n] - xen.claimed_pages[n],
            xen.total_avail_pages - xen.outstanding_claims,
        )
        roomy = [i for i in others if xen.domains[i].max_pages >= xen.domains[i].tot_pages + top]
        other = data.draw(st.sampled_from(roomy or others), "other")
        STATS[f"over_claim_node: top {'> 0' if top > 0 else '<= 0'}"] += 1
        if top > 0:
            self._set8(other, [(top, n, 0)])
        pages = [
            m + i
            for m, b in xen.free_blocks()
            if xen.mfn_to_nid(m) == n
            for i in range(min(1 << b.order, 8))
        ][:64]
        k = min(xen.domains[small].claims[n], 4, len(pages))
        if k:
            mfns = data.draw(st.lists(st.sampled_from(pages), min_size=k, max_size=k), "mfns")

            def offline() -> None:
                for mfn in mfns:
                    libxc.xc_mark_page_offline(self.xch, mfn, mfn)

            out = self.run("offline", offline)
            assert out.exc is None, out.exc
        gfn = data.draw(st.integers(0, GFN_SPACE - 1), "gfn")
        flags = libxc.XENMEMF_exact_node(n)
        out = self.run(
            "populate",
            lambda: libxc.xc_domain_populate_physmap(self.xch, small, 1, 0, flags, [gfn]),
        )
        assert out.exc is None, out.exc

    def _face_get(self, domid: int, max_entries: int) -> None:
        """The hypervisor face's ``domain_get_claim_entries`` with a capacity (no clamp):
        v8's shape and ENOBUFS; before v8, v7's (HOST always first) and ERANGE."""
        d = self.xen.domains[domid]
        want = self.ref.get_claim_entries(domid)
        out = self.run("claim_get8", lambda: self.xen.domain_get_claim_entries(d, max_entries))
        rc, n, got = out.result
        assert n == len(want), (n, want)
        if len(want) > max_entries:
            assert (rc, got) == (-errno.ENOBUFS if self.ref.v8 else -errno.ERANGE, None)
        else:
            assert rc == 0 and got is not None and [e.as_tuple() for e in got] == want
        STATS[
            f"domain_get_claim_entries {self.xen.semantics} {errno.errorcode.get(-rc, 'ok')}"
        ] += 1
        self.unchanged(out, ("domain_get_claim_entries", domid, max_entries))

    @rule(data=st.data())
    def memory_claims_get(self, data: st.DataObject) -> None:
        """XEN_DOMCTL_get_memory_claims (v8, domctl 92): the size query, too small a
        capacity (ENOBUFS), a buffer smaller than the capacity, NULL, a bad pad, an
        unprivileged caller, a dying domain; older hosts have no domctl 92 (ENOSYS)."""
        domid = data.draw(self.claimant_st(), "domid")
        max_nr = self.xen.max_numnodes + 1
        # around the number of entries the domain has: one too few is ENOBUFS
        k = len(self.ref.get_claim_entries(domid)) if domid in self.ref.domains else 1
        caps = [0, 1, 2, 4, max(k - 1, 0), max(k - 1, 0), k, k, max_nr, max_nr + 3]
        cap = data.draw(st.sampled_from(caps), "cap")
        size = data.draw(st.sampled_from([None, cap, cap, cap, max(cap - 1, 0), cap + 2]), "size")
        buf = None
        if size is not None:
            buf = (xen_domctl_memory_claim_t * size)()
            for i in range(size):
                buf[i] = xen_domctl_memory_claim_t.from_buffer_copy(SENTINEL)
        via = data.draw(
            st.sampled_from(["libxc"] * 6 + ["unpriv", "dead", "pad", "xen", "face"]), "via"
        )
        if via == "dead" and not self.dead:
            via = "libxc"
        if via == "face" and domid in self.xen.domains:
            self._face_get(domid, cap)
            return
        if via in ("libxc", "face"):  # the face needs a live domain: libxc's ESRCH instead
            want = self.ref.get_memory_claims(domid, cap, buffer_len=size)
            nr_c = ctypes.c_uint32(cap)
            out = self.run(
                "claim_get8",
                lambda: libxc.xc_domain_get_memory_claims(self.xch, domid, buf, nr_c),
            )
            assert out.exc is None or out.errno, out.exc
            got, nr_out = (-out.errno if out.errno else 0), nr_c.value
        else:
            caller = UNPRIV if via == "unpriv" else DOM0
            pad = data.draw(st.sampled_from([1, 2, U32]), "pad") if via == "pad" else 0
            d = self.xen.domains.get(domid)
            target: claims.Domain | int = domid
            if via == "dead":
                target = self.dead[-1]
            elif d is not None and data.draw(st.booleans(), "as Domain"):
                target = d
            ref_domid = self.dead[-1].domid if via == "dead" else domid
            want = self.ref.get_memory_claims(
                ref_domid,
                cap,
                pad,
                privileged=via != "unpriv",
                dying=via == "dead",
                buffer_len=size,
            )
            out = self.run(
                "claim_get8",
                lambda: self.xen.do_domctl_get_memory_claims(caller, target, cap, buf, pad),
            )
            got, nr_out = out.result
        assert (got, nr_out) == want[:2], (via, domid, cap, size, got, nr_out, want)
        written = 0
        if got == 0:
            assert want[2] is not None
            written = len(want[2])
            assert buf is not None or not written
            if buf is not None:
                assert [(e.target, e.pages, e.pad) for e in buf[:written]] == [
                    (t, p, 0) for t, p in want[2]
                ]
        if buf is not None:  # nothing written past the entries, nor at all when refused
            assert all(bytes(buf[i]) == SENTINEL for i in range(written, size or 0)), (got, buf)
        label = self._v8_label("GET92")
        STATS[f"{label} {errno.errorcode.get(-got, 'ok')}"] += 1
        if got == 0 and self.xen.semantics == "v8":
            STATS[f"GET92 ok, {min(written, 3)}{'+' if written > 3 else ''} entries"] += 1
        self.unchanged(out, ("memory_claims_get", domid, cap))  # GET never changes the host

    @rule(data=st.data())
    def claim_pages(self, data: st.DataObject) -> None:
        """Legacy XENMEM_claim_pages (docs/claims.md#xenmem-claim-pages), through libxc or with bad
        arguments.
        """
        domid = data.draw(self.domid_st(), "domid")
        nr = data.draw(self.pages_st(domid), "nr")
        if data.draw(st.integers(0, 5), "via") > 0:
            want = self.ref.claim_pages(domid, nr)
            out = self.run("claim_pages", lambda: libxc.xc_domain_claim_pages(self.xch, domid, nr))
            got = -out.errno if out.errno else 0
            assert out.exc is None or out.errno, out.exc
        else:
            bad = data.draw(
                st.sampled_from(["unpriv", "order", "flags", "start", "extent_start"]), "bad"
            )
            caller = UNPRIV if bad == "unpriv" else DOM0
            kw: dict[str, Any] = {
                "extent_order": 1 if bad == "order" else 0,
                "mem_flags": 1 if bad == "flags" else 0,
                "start_extent": 1 if bad == "start" else 0,
                "extent_start": [0] if bad == "extent_start" else None,
            }
            want = self.ref.claim_pages(
                domid,
                nr,
                privileged=bad != "unpriv",
                extent_order=kw["extent_order"],
                mem_flags=kw["mem_flags"],
                start_extent=kw["start_extent"],
                extent_start_null=kw["extent_start"] is None,
            )
            out = self.run(
                "claim_pages",
                lambda: self.xen.do_memory_op_claim_pages(caller, domid, nr, **kw),
            )
            got = out.result
        assert got == want, (domid, nr, got, want)
        STATS[f"legacy {self.xen.semantics} {errno.errorcode.get(-got, 'ok')}"] += 1
        if got:
            self.unchanged(out, ("claim_pages", domid, nr))

    # -------------------------------------------------- reservation rules
    @rule(data=st.data())
    def populate(self, data: st.DataObject) -> None:
        """populate_physmap with every flag mix, during the build or after it."""
        domid = data.draw(self.claimant_st(), "domid")
        d = self.xen.domains.get(domid)
        max_order = self.xen.memop_max_order(DOM0)
        order = data.draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3, 4, max_order + 1]), "order")
        nr = data.draw(st.integers(1, 4), "nr")
        kind = data.draw(st.sampled_from(["none", "node", "exact"] * 3 + ["huge"]), "flags")
        claimed = [n for n in range(self.nr_nodes) if d is not None and d.claims[n]]
        node = data.draw(
            st.one_of(st.integers(0, self.nr_nodes - 1), st.sampled_from(claimed))
            if claimed
            else st.integers(0, self.nr_nodes - 1),
            "node",
        )
        if data.draw(st.integers(0, 9), "offline node") == 0:
            node = self.nr_nodes  # < MAX_NUMNODES but not online
        mem_flags = 0
        if kind == "node":
            mem_flags = libxc.XENMEMF_node(node)
        elif kind == "exact":
            mem_flags = libxc.XENMEMF_exact_node(node)
        elif kind == "huge":
            mem_flags = libxc.XENMEMF_node(254)  # >= MAX_NUMNODES: refused
        bits = data.draw(st.sampled_from([0] * 12 + [15, 19, 20, 21, 33, 40]), "bits")
        mem_flags |= libxc.XENMEMF_address_bits(bits)
        step = 1 << min(order, 8)
        base = data.draw(st.integers(0, GFN_SPACE // step - 1), "slot") * step
        base += data.draw(st.sampled_from([0] * 9 + [1]), "misalign")
        gfns = [base + i * step for i in range(nr)]
        exact_call = data.draw(st.booleans(), "exact call")
        fn = (
            libxc.xc_domain_populate_physmap_exact
            if exact_call
            else libxc.xc_domain_populate_physmap
        )
        refused = d is None or order > max_order or kind == "huge"
        over = [d is not None and d.p2m.overlaps(g, order) for g in gfns]
        if not refused:
            STATS["populate over mapped frames" if any(over) else "populate of free frames"] += 1
        out = self.run("populate", lambda: fn(self.xch, domid, nr, order, mem_flags, gfns))
        ev = self.xen.events.last()
        if d is not None and ev is not None and ev.op == "do_memory_op_populate_physmap":
            # x86 p2m_add_page: each extent done is mapped where asked (the extents of
            # one call never overlap), over whatever was mapped there, even misaligned
            done = ev.result
            for g, m in zip(gfns[:done], ev.info["mfns"], strict=True):
                assert [d.p2m.get(g + j) for j in range(1 << order)] == list(
                    range(m, m + (1 << order))
                )
            assert bool(ev.info.get("replaced")) == any(over[:done])
        if ev is not None and ev.op == "do_memory_op_populate_physmap" and ev.result == 0:
            why = re.sub(r"0x[0-9a-f]+|\b\d+\b", "N", str(ev.info.get("reason", "")))
            STATS["populate did nothing: " + why.split(":")[-1].strip()[:40]] += 1
        if exact_call:
            assert out.exc is None or out.errno == errno.EBUSY, out.exc
        else:
            assert out.exc is None, out.exc
            done = "all" if out.result == nr else "some" if out.result else "none"
            STATS[f"populate: {done} of the extents done"] += 1
        if refused:
            assert out.result in (None, 0)
            self.unchanged(out, ("populate", domid, order, mem_flags, gfns))

    @rule(data=st.data())
    def decrease(self, data: st.DataObject) -> None:
        """decrease_reservation of mapped extents, parts of them, or unmapped frames."""
        mappers = [i for i in self.live() if self.xen.domains[i].p2m]
        pick = st.one_of(st.sampled_from(mappers), self.domid_st()) if mappers else None
        domid = data.draw(pick if pick is not None else self.domid_st(), "domid")
        d = self.xen.domains.get(domid)
        exts = list(d.p2m.extents()) if d else []
        if exts and data.draw(st.integers(0, 4), "mapped") > 0:
            gfn, _mfn, o = data.draw(st.sampled_from(exts), "extent")
            order = data.draw(st.sampled_from([o, o, 0, o + 1]), "order")
            gfn &= ~((1 << order) - 1)
        else:
            gfn = data.draw(st.integers(0, GFN_SPACE), "gfn")
            order = data.draw(st.sampled_from([0, 0, 1, 2]), "order")
        nr = data.draw(st.sampled_from([1, 1, 1, 2, 3]), "nr")
        gfns = [gfn + i * (1 << order) for i in range(nr)]
        refused = d is None or d.p2m.get(gfn) is None
        STATS["decrease of a mapped frame" if not refused else "decrease of nothing"] += 1
        out = self.run(
            "decrease",
            lambda: libxc.xc_domain_decrease_reservation_exact(self.xch, domid, nr, order, gfns),
        )
        assert out.exc is None or out.errno == errno.EINVAL, out.exc
        if refused:
            assert out.exc is not None
            self.unchanged(out, ("decrease", domid, order, gfns))

    def increase(self, data: st.DataObject) -> None:
        domid = data.draw(self.domid_st(), "domid")
        order = data.draw(st.sampled_from([0, 1, 2]), "order")
        flags = data.draw(
            st.sampled_from([0, libxc.XENMEMF_exact_node(self.nr_nodes - 1)]), "flags"
        )
        out = self.run(
            "increase",
            lambda: libxc.xc_domain_increase_reservation_exact(self.xch, domid, 1, order, flags),
        )
        assert out.exc is None or out.errno == errno.ENOMEM, out.exc
        if domid not in self.xen.domains:
            self.unchanged(out, ("increase", domid))

    # ----------------------------------------------- Xen-internal allocations
    @rule(data=st.data())
    def xen_alloc(self, data: st.DataObject) -> None:
        """alloc_domheap_pages as Xen itself calls it: no_refcount, no_owner, anonymous."""
        live = self.live()
        domid: int | None = None
        if live and data.draw(st.integers(0, 4), "anonymous") > 0:
            domid = data.draw(self.claimant_st().filter(lambda i: i in self.xen.domains), "domid")
        order = data.draw(st.sampled_from([0, 0, 1, 2, 3]), "order")
        flags = 0
        if data.draw(st.booleans(), "node"):
            flags |= MEMF_node(data.draw(st.integers(0, self.nr_nodes - 1), "n"))
            if data.draw(st.booleans(), "exact"):
                flags |= MEMF_exact_node
        flags |= data.draw(
            st.sampled_from([0, 0, MEMF_no_refcount, MEMF_no_owner, MEMF_no_scrub]), "ref"
        )
        if data.draw(st.integers(0, 5), "bits") == 0:
            flags |= MEMF_bits(data.draw(st.sampled_from([13, 20, 33]), "b"))
        d = self.xen.domains[domid] if domid is not None else None
        raw = data.draw(st.integers(0, 5), "raw") == 0
        if raw:  # alloc_heap_pages: never assigned; MEMF_no_owner alone still refcounts
            zones = (1, self.xen.nr_zones - 1)
            out = self.run("xen_alloc", lambda: self.xen.alloc_heap_pages(*zones, order, flags, d))
        else:
            out = self.run("xen_alloc", lambda: self.xen.alloc_domheap_pages(d, order, flags))
        assert out.exc is None, out.exc
        if out.result is not None:
            owner = None if raw or domid is None or flags & MEMF_no_owner else domid
            self.blocks.append((out.result, order, owner))

    @precondition(lambda self: bool(self.blocks))
    @rule(data=st.data())
    def xen_free(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.blocks) - 1), "i")
        mfn, order, owner = self.blocks.pop(i)
        blocks = {m: rec for m, rec in self.xen.allocated_blocks()}
        rec = blocks.get(mfn)
        if rec is None or rec.order != order or (rec.owner.domid if rec.owner else None) != owner:
            return  # freed with its domain, or split by an offline
        out = self.run("xen_free", lambda: self.xen.free_domheap_pages(mfn, order))
        assert out.exc is None, out.exc

    # ------------------------------------------------ offline, online, scrub
    def mfn_st(self) -> st.SearchStrategy[int]:
        spans = [(s, e) for n in range(self.nr_nodes) for s, e in self.xen.node_ranges[n]]
        valid = st.one_of(*(st.integers(s, e - 1) for s, e in spans))
        return st.one_of(valid, valid, valid, st.sampled_from([0, spans[-1][1] + 5]))

    def free_mfn_st(self) -> st.SearchStrategy[int]:
        """A free page: offlining it recalls claims when they cover all free memory
        (docs/offlining.md#claims-after-offlining).
        """
        heads = [(m, b.order) for m, b in self.xen.free_blocks()]
        if not heads:
            return self.mfn_st()
        # half the time on a node with claims: v7 recalls them, v6 and v8 leave the
        # node over-claimed (v8's node gate clamps)
        claimed = [(m, o) for m, o in heads if self.xen.claimed_pages[self.xen.mfn_to_nid(m)]]
        pick = st.sampled_from(heads)
        if claimed:
            pick = st.one_of(pick, st.sampled_from(claimed))
        return pick.flatmap(lambda hb: st.integers(hb[0], hb[0] + (1 << hb[1]) - 1))

    @rule(data=st.data())
    def offline(self, data: st.DataObject) -> None:
        start = data.draw(st.one_of(self.free_mfn_st(), self.mfn_st()), "start")
        end = start + data.draw(st.sampled_from([0, 0, 0, 1, 3]), "len")
        first_valid = self.xen.mfn_valid(start)
        if data.draw(st.integers(0, 7), "broken") == 0:
            out = self.run("offline", lambda: self.xen.offline_page(start, broken=True))
            assert out.exc is None, out.exc
            if not first_valid:
                assert out.result[0] == -errno.EINVAL
                self.unchanged(out, ("offline_page", start))
            return
        out = self.run("offline", lambda: libxc.xc_mark_page_offline(self.xch, start, end))
        assert out.exc is None or out.errno == errno.EINVAL, out.exc
        if not first_valid:
            assert out.exc is not None
            self.unchanged(out, ("offline", start, end))

    @rule(data=st.data())
    def online(self, data: st.DataObject) -> None:
        known = list(self.xen.page_offlined_list) + list(self.xen.page_broken_list)
        start = data.draw(st.sampled_from(known) if known else self.mfn_st(), "start")
        end = start + data.draw(st.sampled_from([0, 0, 2]), "len")
        first_refused = not self.xen.mfn_valid(start) or start in self.xen.page_broken_list
        out = self.run("online", lambda: libxc.xc_mark_page_online(self.xch, start, end))
        assert out.exc is None or out.errno == errno.EINVAL, out.exc
        if first_refused:
            assert out.exc is not None
            self.unchanged(out, ("online", start, end))

    def scrub(self, data: st.DataObject) -> None:
        node = data.draw(st.one_of(st.none(), st.integers(0, self.nr_nodes - 1)), "node")
        out = self.run("scrub", lambda: self.xen.scrub(node))
        assert out.exc is None, out.exc


def _settings(examples: int, steps: int, **kw: Any) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        **kw,
    )


def test_state_machine() -> None:
    """The CI run: a fixed set of examples (derandomized, no example database)."""
    run_state_machine_as_test(ClaimsMachine, settings=_settings(250, 50, derandomize=True))


# ------------------------------------------------------------------- soak
def soak(total_steps: int, progress: bool = True, steps_per_example: int = 100) -> dict[str, Any]:
    """Run the machine until *total_steps* steps are done; return a summary.

    Each round is a fresh, randomised hypothesis run of 50 examples; a failure
    is shrunk and reported (``failure``), and the soak stops there.
    """
    STATS.clear()
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total_steps, unit="step", file=sys.stderr, dynamic_ncols=True)
        PROGRESS[:] = [lambda n: bar.update(min(n, total_steps) - bar.n)]
    t0 = time.monotonic()
    failure: str | None = None
    rounds = 0
    try:
        while STATS["steps"] < total_steps:
            rounds += 1
            left = total_steps - STATS["steps"]
            examples = max(1, min(50, left // steps_per_example + 1))
            try:
                run_state_machine_as_test(
                    ClaimsMachine,
                    settings=_settings(
                        examples, steps_per_example, phases=[Phase.generate, Phase.shrink]
                    ),
                )
            except Exception:
                failure = traceback.format_exc()
                break
    finally:
        PROGRESS.clear()
        if bar is not None:
            bar.update(min(STATS["steps"], total_steps) - bar.n)
            bar.close()
    return {
        "steps": STATS["steps"],
        "examples": STATS["examples"],
        "rounds": rounds,
        "seconds": round(time.monotonic() - t0, 1),
        "failure": failure,
        "stats": dict(sorted(STATS.items())),
    }


def format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"steps {s['steps']}, examples {s['examples']}, rounds {s['rounds']}, "
        f"{s['seconds']} s ({s['steps'] / max(s['seconds'], 1e-9):.0f} steps/s)",
        "result: " + ("FAILED" if s["failure"] else "no discrepancy, every invariant held"),
    ]
    for k, v in s["stats"].items():
        if k not in ("steps", "examples"):
            lines.append(f"  {k}: {v}")
    if s["failure"]:
        lines.append(s["failure"])
    return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("CLAIMS_SOAK_STEPS"), reason="set CLAIMS_SOAK_STEPS=N to soak N steps"
)
def test_soak() -> None:
    summary = soak(int(os.environ["CLAIMS_SOAK_STEPS"]))
    print("\n" + format_summary(summary))
    assert summary["failure"] is None, summary["failure"]
