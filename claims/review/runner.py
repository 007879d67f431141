"""Run a scenario under one or more rule sets and compare the results step by step.

Each step goes through the hypervisor face (``claims.Xen``) the way a
toolstack's hypercall would; its outcome (return code or errno, MFNs and the
nodes they are on, counters and claims) is recorded as a :class:`StepResult`.
:func:`compare` runs the same scenario under several rule sets and marks the
fields that differ.  Bad scenarios are refused before anything runs
(:mod:`claims.scenario`); a step that Xen refuses is reported, not raised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..hypervisor.domain import Domain
from ..hypervisor.domctl import DOM0
from ..hypervisor.errors import errname
from ..hypervisor.memory import XENMEMF_exact_node, XENMEMF_node
from ..hypervisor.public import (
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    xen_domctl_memory_claim_t,
    xen_memory_claim_t,
)
from ..hypervisor.xen import Xen
from ..series import RULE_SETS
from .scenario import MAX_NODES, Scenario, target_name


@dataclass
class StepResult:
    """What one step did on one host."""

    index: int
    op: str
    label: str
    rc: int  # 0, or -errno; for populate/decrease: extents done - extents asked (<= 0)
    outcome: str  # "0", "ENOMEM", "3 of 8 extents"...
    reason: str
    mfns: list[int] = field(default_factory=list)
    pages_by_node: dict[int, int] = field(default_factory=dict)
    counters: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, tuple[int, tuple[int, ...]]] = field(default_factory=dict)

    def key(self) -> dict[str, Any]:
        """The fields compared across rule sets."""
        return {
            "outcome": self.outcome,
            "placement": self.pages_by_node,
            "counters": self.counters,
            "claims": self.claims,
        }


@dataclass
class Run:
    """A scenario run under one rule set: the host after it and each step's result."""

    semantics: str
    xen: Xen
    results: list[StepResult]
    names: dict[str, int]  # domain name -> domid


def build_host(sc: Scenario, semantics: str) -> Xen:
    """The scenario's host: nodes back to back from ``base_mfn``, all memory free."""
    ranges, start = [], sc.base_mfn
    for n in sc.nodes:
        ranges.append(range(start, start + n))
        start += n
    xen = Xen(ranges, semantics=semantics)
    xen.init_heap_pages(sc.base_mfn, start - sc.base_mfn, need_scrub=sc.dirty)
    return xen


def label(st: dict[str, Any]) -> str:
    """A step in one line, for people."""
    op = st["op"]
    rest = {k: v for k, v in st.items() if k not in ("op", "note")}
    if "entries" in rest:
        ents = [f"{target_name(e['target'])}={e['pages']}" for e in rest["entries"]]
        if len(ents) > 6:
            ents = [*ents[:4], f"… {len(ents)} entries"]
        rest["entries"] = ", ".join(ents)
    for k in ("mfn", "gfn"):
        if k in rest:
            rest[k] = hex(rest[k])
    return f"{op}(" + ", ".join(f"{k}={v}" for k, v in rest.items()) + ")"


class Runner:
    """Runs a scenario's steps on one host."""

    def __init__(self, sc: Scenario, semantics: str) -> None:
        if semantics not in RULE_SETS:
            raise ValueError(f"semantics must be one of {sorted(RULE_SETS)}, not {semantics!r}")
        self.sc = sc
        self.xen = build_host(sc, semantics)
        self.names: dict[str, int] = {}
        self.next_gfn: dict[str, int] = {}
        self.ops: dict[str, Callable[[dict[str, Any]], tuple[int, str, str, list[int]]]] = {
            "create": self._create,
            "claim": self._claim,
            "legacy_claim": self._legacy_claim,
            "release": self._release,
            "get_claims": self._get_claims,
            "populate": self._populate,
            "decrease": self._decrease,
            "finish_build": self._finish_build,
            "pause": self._pause,
            "unpause": self._unpause,
            "numainfo": self._numainfo,
            "offline": self._offline,
            "online": self._online,
            "scrub": self._scrub,
            "destroy": self._destroy,
            "set_max_memory": self._set_max_memory,
        }

    # -- steps: each returns (rc, outcome, reason, mfns)
    def _dom(self, name: str) -> Domain:
        return self.xen.domains[self.names[name]]

    def _reason(self) -> str:
        ev = self.xen.events.last_mine()
        return str(ev.info.get("reason", "")) if ev else ""

    def _create(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        kw: dict[str, Any] = {}
        if "max_memory" in st:
            kw["max_pages"] = st["max_memory"]
        if "node_affinity" in st:
            kw["node_affinity"] = st["node_affinity"]
        d = self.xen.domain_create(**kw)
        self.names[st["domain"]] = d.domid
        self.next_gfn[st["domain"]] = 0
        return 0, "0", f"d{d.domid}", []

    @property
    def _v8_abi(self) -> bool:
        """The host's toolstack speaks v8's domctls (set/get) rather than v7's claim_memory."""
        return self.xen.rules.claims_abi == "memory_claims"

    def _set_claims(self, d: Domain, entries: list[tuple[int, int]]) -> int:
        """The claim domctl as the host version's toolstack issues it (v7: SET; v8: set)."""
        if self._v8_abi:
            ents8 = [xen_domctl_memory_claim_t(p, t) for p, t in entries]
            arr8 = (xen_domctl_memory_claim_t * max(1, len(ents8)))(*ents8)
            return self.xen.do_domctl_set_memory_claims(DOM0, d, len(ents8), arr8)
        ents = [xen_memory_claim_t(p, t) for p, t in entries]
        arr = (xen_memory_claim_t * max(1, len(ents)))(*ents)
        rc, _ = self.xen.do_domctl_claim_memory(
            DOM0, d, XEN_DOMCTL_CLAIM_MEMORY_SET, len(ents), arr
        )
        return rc

    def _claim(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        entries = [(e["pages"], e["target"]) for e in st["entries"]]
        rc = self._set_claims(self._dom(st["domain"]), entries)
        return rc, errname(rc), self._reason(), []

    def _legacy_claim(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        rc = self.xen.do_memory_op_claim_pages(DOM0, self.names[st["domain"]], st["pages"])
        return rc, errname(rc), self._reason(), []

    def _release(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        if st.get("empty_set"):
            rc = self._set_claims(self._dom(st["domain"]), [])
        else:
            rc = self.xen.do_memory_op_claim_pages(DOM0, self.names[st["domain"]], 0)
        return rc, errname(rc), self._reason(), []

    def _get_claims(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        size = st.get("buffer", MAX_NODES + 1)
        d = self._dom(st["domain"])
        if self._v8_abi:
            buf: Any = (xen_domctl_memory_claim_t * max(1, size))()
            rc, nr = self.xen.do_domctl_get_memory_claims(DOM0, d, size, buf)
        else:
            buf = (xen_memory_claim_t * max(1, size))()
            rc, nr = self.xen.do_domctl_claim_memory(
                DOM0, d, XEN_DOMCTL_CLAIM_MEMORY_GET, size, buf
            )
        if rc:
            return rc, errname(rc), f"{self._reason()}; nr_entries out: {nr}", []
        got = ", ".join(f"{target_name(e.target)}={e.pages}" for e in buf[:nr])
        return 0, "0", f"nr_entries out: {nr}; entries: {got or 'none'}", []

    def _extents(self, st: dict[str, Any]) -> tuple[int, int, list[int]]:
        order = st.get("order", 0)
        n = st["size"] >> order if "size" in st else st["extents"]
        name = st["domain"]
        gfn = st.get("gfn", self.next_gfn[name] if st["op"] == "populate" else 0)
        gfn = (gfn + (1 << order) - 1) >> order << order  # align up to the extent
        return order, n, [gfn + (i << order) for i in range(n)]

    def _populate(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        order, n, gfns = self._extents(st)
        flags = 0
        if "node" in st:
            node = st["node"]
            flags = XENMEMF_exact_node(node) if st.get("exact") else XENMEMF_node(node)
        name = st["domain"]
        done = self.xen.do_memory_op_populate_physmap(DOM0, self.names[name], n, order, flags, gfns)
        ev = self.xen.events.last_mine()
        mfns = list(ev.info.get("mfns", [])) if ev else []
        if done:
            self.next_gfn[name] = max(self.next_gfn[name], gfns[done - 1] + (1 << order))
        outcome = "0" if done == n else f"{done} of {n} extents"
        return done - n, outcome, self._reason(), mfns

    def _decrease(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        order, n, gfns = self._extents(st)
        done = self.xen.do_memory_op_decrease_reservation(
            DOM0, self.names[st["domain"]], n, order, gfns
        )
        outcome = "0" if done == n else f"{done} of {n} extents"
        return done - n, outcome, self._reason(), []

    def _finish_build(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        rc = self.xen.domain_unpause_by_systemcontroller(self._dom(st["domain"]))
        return rc, errname(rc), "creation finished" if rc == 0 else self._reason(), []

    def _pause(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        d = self._dom(st["domain"])
        rc = self.xen.domain_pause_by_systemcontroller(d)
        return rc, errname(rc), f"paused (pause count {d.controller_pause_count})", []

    def _unpause(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        d = self._dom(st["domain"])
        rc = self.xen.domain_unpause_by_systemcontroller(d)
        state = "running" if d.controller_pause_count == 0 else "still paused"
        why = f"{state} (pause count {d.controller_pause_count})" if rc == 0 else "not paused"
        return rc, errname(rc), why, []

    def _numainfo(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        x = self.xen
        free = [x.avail_node_heap_pages(n) for n in range(x.nr_nodes)]
        unclaimed = [f - c for f, c in zip(free, x.claimed_pages)]
        return 0, "0", f"memfree {free} pages (claims included); unclaimed {unclaimed}", []

    def _offline(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        rc, status = self.xen.offline_page(st["mfn"])
        return rc, errname(rc), f"status {status:#x}", []

    def _online(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        rc, status = self.xen.online_page(st["mfn"])
        return rc, errname(rc), f"status {status:#x}", []

    def _scrub(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        n = self.xen.scrub(st.get("node"))
        return 0, "0", f"{n} pages scrubbed", []

    def _destroy(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        rc = self.xen.domain_kill(self._dom(st["domain"]))
        del self.names[st["domain"]]
        return rc, errname(rc), "", []

    def _set_max_memory(self, st: dict[str, Any]) -> tuple[int, str, str, list[int]]:
        rc = self.xen.domain_set_max_pages(self._dom(st["domain"]), st["size"])
        return rc, errname(rc), "", []

    # -- the run
    def step(self, i: int, st: dict[str, Any]) -> StepResult:
        rc, outcome, reason, mfns = self.ops[st["op"]](st)
        x = self.xen
        by_node: dict[int, int] = {}
        size = 1 << st.get("order", 0)
        for m in mfns:
            nid = x.mfn_to_nid(m)
            if nid is not None:
                by_node[nid] = by_node.get(nid, 0) + size
        return StepResult(
            index=i,
            op=st["op"],
            label=label(st),
            rc=rc,
            outcome=outcome,
            reason=reason,
            mfns=mfns,
            pages_by_node=dict(sorted(by_node.items())),
            counters={
                "total_avail_pages": x.total_avail_pages,
                "outstanding_claims": x.outstanding_claims,
                "node_avail_pages": tuple(x.node_avail_pages),
                "claimed_pages": tuple(x.claimed_pages),
            },
            claims={
                name: (x.domains[domid].outstanding_pages, tuple(x.domains[domid].claims))
                for name, domid in self.names.items()
                if domid in x.domains
            },
        )

    def run(self) -> Run:
        results = []
        for dom in self.sc.domains:
            self._create({"op": "create", **dom})
        for i, st in enumerate(self.sc.steps):
            results.append(self.step(i, st))
        return Run(self.xen.semantics, self.xen, results, dict(self.names))


def run(sc: Scenario, semantics: str = "v7") -> Run:
    """Run *sc* on a fresh host under one rule set."""
    return Runner(sc, semantics).run()


@dataclass
class Comparison:
    """The same scenario under several rule sets, step by step."""

    scenario: Scenario
    runs: list[Run]

    def differs(self, i: int) -> list[str]:
        """The fields of step *i* that are not the same under every rule set."""
        keys = [r.results[i].key() for r in self.runs]
        return [k for k in keys[0] if any(kk[k] != keys[0][k] for kk in keys[1:])]

    def differing_steps(self) -> list[int]:
        return [i for i in range(len(self.scenario.steps)) if self.differs(i)]


DEFAULT_SEMANTICS = ("master", "v7", "v8")
"""The versions a scenario is compared under unless told: upstream, the posted v7, v8."""


def compare(sc: Scenario, semantics: Sequence[str] = DEFAULT_SEMANTICS) -> Comparison:
    """Run *sc* once per rule set."""
    if not semantics:
        raise ValueError("name at least one rule set")
    return Comparison(sc, [run(sc, s) for s in semantics])
