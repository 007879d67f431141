"""Host layouts for the planner: upstream's test hosts, as data.

From ``ocaml/xenopsd/test/test_topology.ml`` (xen-api @ ``e2ee48d688``):
the distance matrices of ``module Distances`` (l.5-59) and the CPU layouts of
``make_numa_common`` / ``make_numa`` / ``make_numa_amd`` (l.61-94), each as a
:class:`Layout` ``(distances, cpu_to_node, node_cores)`` ready for
``NUMA.make(*layout)``.  Plus :func:`node_cores_of_cputopo`, the way
``Domain.numa_hierarchy`` (``ocaml/xenopsd/xc/domain.ml:976-994``) counts a
node's physical cores from Xen's CPU topology.

Every function returns fresh lists, so callers may change them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ...hypervisor.topology import OPTERON_6272_DISTANCES

__all__ = [
    "Distances",
    "Layout",
    "make_numa",
    "make_numa_amd",
    "make_numa_common",
    "node_cores_of_cputopo",
]


class Layout(NamedTuple):
    """The three arguments of ``NUMA.make``."""

    distances: list[list[int]]
    cpu_to_node: list[int]
    node_cores: list[int]


def _copy(m: Sequence[Sequence[int]]) -> list[list[int]]:
    return [list(row) for row in m]


E = 0xFFFFFFFF
"""``Distances.empty``: "A node without CPUs has this distance value ((2^32) - 1)" (l.33-34)."""


class Distances:
    """``module Distances`` (test_topology.ml:5-59): SLIT matrices.

    OCaml's ``Distances.t`` is ``(numa, matrix)``; here just the matrix (``numa``
    is its length).
    """

    empty = E

    @staticmethod
    def example(numa: int) -> list[list[int]]:
        """``Distances.example numa`` (l.8-14): ``d[i][j] = 10 + 11 * |j - i|``."""
        return [[10 + 11 * abs(j - i) for j in range(numa)] for i in range(numa)]

    @staticmethod
    def opteron() -> list[list[int]]:
        """``Distances.opteron`` (l.16-31): an 8-node AMD Opteron 6272, asymmetric (16 or 22)."""
        return _copy(OPTERON_6272_DISTANCES)

    @staticmethod
    def unreachable_last() -> list[list[int]]:
        """``Distances.unreachable_last`` (l.36-39): ``[[10; E]; [E; E]]``."""
        return [[10, E], [E, E]]

    @staticmethod
    def unreachable_middle() -> list[list[int]]:
        """``Distances.unreachable_middle`` (l.41-46): ``[[10; E; 20]; [E; E; E]; [20; E; 10]]``."""
        return [[10, E, 20], [E, E, E], [20, E, 10]]

    @staticmethod
    def unreachable_two() -> list[list[int]]:
        """``Distances.unreachable_two`` (l.48-53): ``[[E; E; 20]; [E; E; E]; [10; E; 10]]``."""
        return [[E, E, 20], [E, E, E], [10, E, 10]]

    @staticmethod
    def none_reachable() -> list[list[int]]:
        """``Distances.none_reachable`` (l.55-58): ``[[E; E]; [E; E]]``."""
        return [[E, E], [E, E]]


def make_numa_common(
    distances: Sequence[Sequence[int]], *, logical_per_physical: int, cores_per_numa: int
) -> Layout:
    """The layout ``make_numa_common ~logical_per_physical ~cores_per_numa`` (l.61-74) builds.

    ``cores_per_numa`` logical CPUs per node, numbered node by node (CPU ``c``
    on node ``c / cores_per_numa``); ``cores_per_numa / logical_per_physical``
    physical cores per node.  Upstream then calls ``NUMA.make`` and pairs the
    host with its CPU count ``cores_per_numa * numa``.
    """
    numa = len(distances)
    return Layout(
        distances=_copy(distances),
        cpu_to_node=[cpu // cores_per_numa for cpu in range(cores_per_numa * numa)],
        node_cores=[cores_per_numa // logical_per_physical] * numa,
    )


def make_numa(numa: int, cores: int) -> Layout:
    """``make_numa ~numa ~cores`` (l.76-85): ``Distances.example numa``, two threads a core.

    ``cores`` is the host's logical CPU count, split evenly: ``cores / numa``
    per node.
    """
    return make_numa_common(
        Distances.example(numa), logical_per_physical=2, cores_per_numa=cores // numa
    )


def make_numa_amd(cores_per_numa: int) -> Layout:
    """``make_numa_amd ~cores_per_numa`` (l.87-94): ``Distances.opteron``, two threads a core."""
    return make_numa_common(
        Distances.opteron(), logical_per_physical=2, cores_per_numa=cores_per_numa
    )


def node_cores_of_cputopo(
    nr_nodes: int, cpu_to_node: Sequence[int], cpu_core: Sequence[int]
) -> list[int]:
    """``node_cores`` as ``Domain.numa_hierarchy`` computes it (domain.ml:983-991).

    For each node, the number of distinct ``core`` ids among its CPUs
    (``cputopoinfo``'s ``node`` and ``core`` of each CPU); *nr_nodes* is the
    size of the distance matrix.  A node index out of range raises
    ``IndexError``, as the OCaml array access would.
    """
    cores: list[set[int]] = [set() for _ in range(nr_nodes)]
    for node, core in zip(cpu_to_node, cpu_core, strict=True):
        if not 0 <= node < nr_nodes:
            raise IndexError("index out of bounds")
        cores[node].add(core)
    return [len(c) for c in cores]
