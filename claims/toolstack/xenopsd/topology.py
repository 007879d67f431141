"""xenopsd's NUMA host model: ``ocaml/xenopsd/lib/topology.ml`` (xen-api @ ``e2ee48d688``).

A port of the module's behaviour, not of its text: the same checks, the same
messages, the same candidate order, the same tie-breaking.  Line ranges below
are those of ``topology.ml`` at ``e2ee48d6883e0b98c4d219d3f0778a10c6655607``
(and ``topology.mli`` for documented intent).

Pure: plain ints, lists and frozensets, no Xen model.  A node is its index (the
OCaml ``NUMA.Node of int`` is a box around the same int); a CPU set is a
``frozenset[int]`` (OCaml's ``Set.Make (Int)``).

OCaml -> Python:

* ``Invalid_argument msg`` -> ``ValueError(msg)`` with the same text;
* ``Invalid_argument "index out of bounds"`` (array access) -> ``IndexError``
  with that text; a negative index is refused too, never wrapped around;
* ``int64`` memory: Python ints, with ``Int64.add`` in :meth:`NUMAResource.union`
  wrapping at 64 bits as OCaml's does (the only place two valid values can
  overflow).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeAlias, TypeVar

__all__ = [
    "CPUSet",
    "MAX_VALID_DISTANCE",
    "NUMA",
    "NUMARequest",
    "NUMAResource",
    "OCAML_MAX_INT",
    "SELF_DISTANCE",
    "array_get",
    "cpuset_all",
    "cpuset_to_mask",
    "fits",
    "gen_candidates",
    "is_unreachable",
    "node_distances",
    "seq_all_subsets",
    "shrink",
]

CPUSet: TypeAlias = frozenset[int]
"""``module CPUSet = Set.Make (Int)`` (topology.ml:17-28): a set of logical CPUs."""

Candidate: TypeAlias = tuple[float, list[int]]
"""An element of ``NUMA.candidates``: ``(average distance, nodes ascending)``."""

MAX_VALID_DISTANCE = 0xFF
"""``NUMA.max_valid_distance`` (topology.ml:149)."""

SELF_DISTANCE = 10
"""``NUMA.self_distance`` (topology.ml:151)."""

OCAML_MAX_INT = (1 << 62) - 1
"""``max_int`` of a 64-bit OCaml, the start value of ``NUMA.choose``'s fold."""

_INT64_MIN = -(1 << 63)

T = TypeVar("T")


def array_get(a: Sequence[T], i: int) -> T:
    """``a.(i)``: OCaml's bounds-checked array access (no Python negative indexing)."""
    if not 0 <= i < len(a):
        raise IndexError("index out of bounds")
    return a[i]


def _int64(x: int) -> int:
    """*x* wrapped to a signed 64-bit value, as OCaml's ``Int64`` arithmetic does."""
    return ((x - _INT64_MIN) % (1 << 64)) + _INT64_MIN


def cpuset_all(n: int) -> CPUSet:
    """``CPUSet.all n`` (topology.ml:24-27): CPUs ``0 .. n-1``."""
    return frozenset(range(n))


def cpuset_to_mask(t: CPUSet) -> list[bool]:
    """``CPUSet.to_mask t`` (topology.ml:22): ``mask[i]`` iff CPU ``i`` is in *t*.

    OCaml's ``max_elt`` raises ``Not_found`` on an empty set; here that is a
    ``LookupError``.
    """
    if not t:
        raise LookupError("Not_found")
    return [i in t for i in range(1 + max(t))]


def is_unreachable(d: int) -> bool:
    """``NUMA.is_unreachable`` (topology.ml:153): ``d > 0xFF || d < 0``.

    Both Xen's 32-bit ``~0U`` (``0xFFFFFFFF``) and a 64-bit ``-1`` are
    unreachable (the asserts at topology.ml:155-159).
    """
    return d > MAX_VALID_DISTANCE or d < 0


@dataclass(frozen=True)
class NUMAResource:
    """``NUMAResource.t`` (topology.ml:30-58): what a node, or a set of nodes, provides.

    ``affinity``: logical CPUs; ``cores``: physical cores; ``memfree``: bytes.
    Constructing one checks ``memfree`` as ``NUMAResource.make`` does
    (topology.ml:33-37), so the direct constructor and :meth:`make` agree.
    """

    affinity: CPUSet
    cores: int
    memfree: int

    empty: ClassVar[NUMAResource]
    """``NUMAResource.empty`` (topology.ml:39): nothing."""

    def __post_init__(self) -> None:
        if not isinstance(self.affinity, frozenset):
            object.__setattr__(self, "affinity", frozenset(self.affinity))
        if self.memfree < 0:
            raise ValueError(f"NUMAResource: memory cannot be negative: {self.memfree}")

    @classmethod
    def make(cls, affinity: Iterable[int], cores: int, memfree: int) -> NUMAResource:
        """``NUMAResource.make ~affinity ~cores ~memfree`` (topology.ml:33-37).

        Raises ``ValueError("NUMAResource: memory cannot be negative: <memfree>")``
        for a negative *memfree*; nothing else is checked (``cores`` may be
        negative, ``affinity`` empty, whatever ``topology.mli`` says).
        """
        return cls(frozenset(affinity), cores, memfree)

    def union(self, b: NUMAResource) -> NUMAResource:
        """``NUMAResource.union a b`` (topology.ml:41-45): both resources together.

        ``memfree`` is added with ``Int64.add`` semantics (wraps at 64 bits, and
        a wrapped negative sum then fails the ``make`` check as in OCaml).
        """
        return NUMAResource.make(
            self.affinity | b.affinity, self.cores + b.cores, _int64(self.memfree + b.memfree)
        )

    def min_memory(self, r2: NUMAResource) -> NUMAResource:
        """``NUMAResource.min_memory r1 r2`` (topology.ml:47): *self* with the smaller memory."""
        return dataclasses.replace(self, memfree=min(self.memfree, r2.memfree))


NUMAResource.empty = NUMAResource(frozenset(), 0, 0)


@dataclass(frozen=True)
class NUMARequest:
    """``NUMARequest.t`` (topology.ml:60-102): what a VM asks for.

    Constructing one checks the fields as ``NUMARequest.make`` does
    (topology.ml:63-70), in the same order and with the same messages.
    """

    memory: int
    vcpus: int
    cores: int

    def __post_init__(self) -> None:
        if self.memory < 0:
            raise ValueError(f"NUMARequest: memory must be > 0: {self.memory}")
        if self.vcpus < 0:
            raise ValueError(f"vcpus cannot be negative: {self.vcpus}")
        if self.cores < 0:
            raise ValueError(f"cores cannot be negative: {self.cores}")

    @classmethod
    def make(cls, memory: int, vcpus: int, cores: int) -> NUMARequest:
        """``NUMARequest.make ~memory ~vcpus ~cores`` (topology.ml:63-70).

        Zero is allowed everywhere (``shrink`` produces zeros), negatives are
        not: "NUMARequest: memory must be > 0: <m>" (sic: the test is ``< 0``),
        "vcpus cannot be negative: <v>", "cores cannot be negative: <c>".
        """
        return cls(memory, vcpus, cores)

    @staticmethod
    def fits(requested: NUMARequest, available: NUMAResource) -> bool:
        """``NUMARequest.fits requested available`` (topology.ml:72-85).

        Memory (hard), then the CPU count (soft), then physical cores
        (optional, may be 0), short-circuit in that order.
        """
        return (
            requested.memory <= available.memfree
            and len(available.affinity) >= requested.vcpus
            and available.cores >= requested.cores
        )

    @staticmethod
    def shrink(a: NUMARequest, b: NUMAResource) -> NUMARequest:
        """``NUMARequest.shrink a b`` (topology.ml:87-91): what *a* still needs once *b* is given.

        Each field is subtracted and clamped at 0; the vCPU count drops by the
        number of CPUs in ``b.affinity``.
        """
        return NUMARequest.make(
            memory=max(0, a.memory - b.memfree),
            vcpus=max(0, a.vcpus - len(b.affinity)),
            cores=max(0, a.cores - b.cores),
        )


fits = NUMARequest.fits
"""Module-level ``NUMARequest.fits``."""

shrink = NUMARequest.shrink
"""Module-level ``NUMARequest.shrink``."""


def seq_all_subsets(nodes: Sequence[int]) -> Iterator[list[int]]:
    """``seq_all_subsets nodes`` (topology.ml:127-133), with ``seq_filteri`` (l.114-125).

    Every non-empty subset of *nodes*: masks ``1 .. 2^n - 1`` ascending, bit
    ``b`` of the mask selecting ``nodes[b]``; each subset keeps *nodes*' order.
    """
    n = len(nodes)
    for mask in range(1, 1 << n):
        yield [node for bit, node in enumerate(nodes) if (mask >> bit) & 1 == 1]


def node_distances(
    d: Sequence[Sequence[int]], nodes: list[int]
) -> tuple[tuple[int, float], list[int]] | None:
    """``NUMA.node_distances d nodes`` (topology.ml:177-193).

    Over all ordered pairs of *nodes*, self-pairs included (``k * k``
    distances): ``((max, float sum /. float count), nodes)``; ``None`` for no
    nodes.  (OCaml folds from ``(0, min_int, 0)``; on a non-empty list that is
    the plain max and sum.)
    """
    if not nodes:
        return None
    rows = [array_get(d, n1) for n1 in nodes]
    if min(nodes) < 0 or max(nodes) >= min(len(row) for row in rows):
        raise IndexError("index out of bounds")
    dists = [row[n2] for row in rows for n2 in nodes]
    return (max(dists), float(sum(dists)) / float(len(dists))), nodes


def gen_candidates(d: Sequence[Sequence[int]]) -> list[Candidate]:
    """``NUMA.gen_candidates d`` (topology.ml:197-234): every node set worth planning on.

    *valid nodes* are those with a reachable self-distance, ascending.  With
    more than 16 of them, only singletons, keyed ``(d[i][i], float d[i][i])``;
    otherwise every non-empty subset (:func:`seq_all_subsets`) keyed by
    :func:`node_distances`.  Then a stable sort by the key (``seq_sort`` with
    ``Array.fast_sort``, which is ``Array.stable_sort`` in OCaml's stdlib, and
    ``dist_cmp``, l.135-138 and 195: max distance first, then the average), and
    only ``(average, nodes)`` kept.

    OCaml keeps the node sets as lazy ``Seq.t``s re-walked on each use; they
    are pure, so a list per candidate is the same thing.
    """
    valid_nodes = [i for i in range(len(d)) if not is_unreachable(array_get(array_get(d, i), i))]
    keyed: list[tuple[tuple[int, float], list[int]]]
    if len(valid_nodes) > 16:
        keyed = []
        for i in valid_nodes:
            self_d = d[i][i]
            keyed.append(((self_d, float(self_d)), [i]))
    else:
        keyed = [c for s in seq_all_subsets(valid_nodes) if (c := node_distances(d, s)) is not None]
    keyed.sort(key=lambda c: c[0])  # list.sort is stable, as Array.fast_sort is
    return [(avg, nodes) for (_, avg), nodes in keyed]


@dataclass(frozen=True, eq=False)
class NUMA:
    """``NUMA.t`` (topology.ml:162-173): a host's NUMA topology and its placement history.

    Built by :meth:`make` only.  Everything is immutable except ``node_usage``,
    which :meth:`choose` increments and nothing ever decrements (xenopsd keeps
    one ``NUMA.t`` per process, ``Domain.numa_hierarchy``).
    """

    distances: tuple[tuple[int, ...], ...]
    cpu_to_node: tuple[int, ...]
    node_cpus: tuple[CPUSet, ...]
    node_cores: tuple[int, ...]
    all: CPUSet
    node_usage: list[int]
    """How many plans have picked each node (topology.ml:168-169)."""
    candidates: list[Candidate]
    """``NUMA.candidates t`` (topology.ml:170-172, 315): :func:`gen_candidates` of the matrix."""

    @staticmethod
    def make(
        distances: Sequence[Sequence[int]],
        cpu_to_node: Sequence[int],
        node_cores: Sequence[int],
    ) -> NUMA | None:
        """``NUMA.make ~distances ~cpu_to_node ~node_cores`` (topology.ml:236-291).

        1. CPU ``i`` joins node ``cpu_to_node[i]`` unless that node's
           self-distance is unreachable (l.240-248).
        2. ``None`` if no node has a CPU ("the ACPI SLIT only contains
           unreachable nodes", l.250-257).
        3. ``None`` unless every row ``i`` has ``d[i][i]`` unreachable or 10 and
           every entry ``>= 10`` or unreachable ("values that are invalid",
           l.259-277); rows are checked in order, each diagonal before its row.
        4. Candidates (:func:`gen_candidates`), all CPUs, ``node_usage`` all 0.

        Out-of-range indices raise ``IndexError`` where OCaml raises
        ``Invalid_argument "index out of bounds"``.
        """
        dist = tuple(tuple(row) for row in distances)
        node_cpus: list[set[int]] = [set() for _ in dist]
        for i, node in enumerate(cpu_to_node):
            if not is_unreachable(array_get(array_get(dist, node), node)):
                node_cpus[node].add(i)
        if all(not cpus for cpus in node_cpus):
            return None
        reasonable = all(
            (is_unreachable(self_d := array_get(row, i)) or self_d == SELF_DISTANCE)
            and all(x >= SELF_DISTANCE or is_unreachable(x) for x in row)
            for i, row in enumerate(dist)
        )
        if not reasonable:
            return None
        candidates = gen_candidates(dist)
        frozen = tuple(frozenset(c) for c in node_cpus)
        return NUMA(
            distances=dist,
            cpu_to_node=tuple(cpu_to_node),
            node_cpus=frozen,
            node_cores=tuple(node_cores),
            all=frozenset().union(*frozen),
            node_usage=[0] * len(dist),
            candidates=candidates,
        )

    def distance(self, a: int, b: int) -> int:
        """``NUMA.distance t a b`` (topology.ml:293): ``array_get`` twice, written out (the
        planner and its tests ask it millions of times)."""
        rows = self.distances
        if 0 <= a < len(rows):
            row = rows[a]
            if 0 <= b < len(row):
                return row[b]
        raise IndexError("index out of bounds")

    def cpuset_of_node(self, i: int) -> CPUSet:
        """``NUMA.cpuset_of_node t node`` (topology.ml:295)."""
        return array_get(self.node_cpus, i)

    def coreset_of_node(self, i: int) -> int:
        """``NUMA.coreset_of_node t node`` (topology.ml:297): physical cores (a count)."""
        return array_get(self.node_cores, i)

    def node_of_cpu(self, i: int) -> int:
        """``NUMA.node_of_cpu t cpu`` (topology.ml:299), also for CPUs of unreachable nodes
        (``array_get``, written out)."""
        cpus = self.cpu_to_node
        if 0 <= i < len(cpus):
            return cpus[i]
        raise IndexError("index out of bounds")

    def nodes(self) -> range:
        """``NUMA.nodes t`` (topology.ml:301-302): every node, ``0 .. n-1``, reachable or not."""
        return range(len(self.distances))

    def all_cpus(self) -> CPUSet:
        """``NUMA.all_cpus t`` (topology.ml:304): the CPUs of the reachable nodes."""
        return self.all

    def apply_mask(self, mask: Iterable[int]) -> NUMA:
        """``NUMA.apply_mask t mask`` (topology.ml:306-309): only CPUs in *mask* are available.

        Like OCaml's ``{t with ...}``, the copy shares ``node_usage`` (the same
        mutable array) and the candidates.
        """
        m = frozenset(mask)
        return dataclasses.replace(
            self, node_cpus=tuple(c & m for c in self.node_cpus), all=self.all & m
        )

    def resource(self, node: int, memory: int) -> NUMAResource:
        """``NUMA.resource t node ~memory`` (topology.ml:311-313).

        The node's CPUs and cores, with *memory* free; a negative *memory*
        raises ``NUMAResource.make``'s ``ValueError``.
        """
        return NUMAResource.make(self.cpuset_of_node(node), self.coreset_of_node(node), memory)

    def choose(
        self, candidates: Iterable[tuple[list[int], NUMAResource]]
    ) -> tuple[NUMAResource, list[int]] | None:
        """``NUMA.choose t candidates`` (topology.ml:317-333): the least used candidate.

        Consumes *candidates* once, in order (lazily, as ``Seq.fold_left``),
        mapping each ``(nodes, r)`` to ``(sum of node_usage over nodes, nodes, r)``
        and folding with OCaml's polymorphic ``min`` from
        ``(max_int, [], NUMAResource.empty)``: ``min acc x`` keeps ``acc``
        unless ``x < acc``, so ties keep the earlier candidate.  The order is
        usage, then the node list compared lexicographically (a prefix is
        smaller, as OCaml's structural compare of lists of ``Node of int``
        and Python's list compare both do), then the resource
        (:func:`_resource_lt`).  If the fold still holds ``max_int`` the
        answer is ``None`` and nothing changes; otherwise each chosen node's
        ``node_usage`` goes up by one and ``(r, nodes)`` is returned.
        """
        best_nodes: list[int] = []
        best_usage, best_r = OCAML_MAX_INT, NUMAResource.empty
        for nodes, r in candidates:
            usage = sum(array_get(self.node_usage, n) for n in nodes)
            if (usage, nodes) < (best_usage, best_nodes) or (
                (usage, nodes) == (best_usage, best_nodes) and _resource_lt(r, best_r)
            ):
                best_usage, best_nodes, best_r = usage, nodes, r
        if best_usage == OCAML_MAX_INT:
            return None
        for n in best_nodes:
            self.node_usage[n] += 1
        return best_r, best_nodes


def _resource_lt(a: NUMAResource, b: NUMAResource) -> bool:
    """``a < b`` under OCaml's structural compare of ``NUMAResource.t``, where it is knowable.

    OCaml compares the ``affinity`` sets first, as AVL trees: the result hangs
    on the trees' shapes, which this port does not keep.  Equal sets built
    alike compare equal, and then ``cores`` and ``memfree`` decide, as here.
    For different sets this says "not smaller" (the earlier candidate stays).
    ``Softaffinity.plan`` never gets here: its candidates have distinct node
    lists, so ``choose`` never compares two resources.
    """
    if a.affinity != b.affinity:
        return False
    return (a.cores, a.memfree) < (b.cores, b.memfree)
