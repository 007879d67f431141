"""The host's NUMA topology as Xen reports it to the toolstack: the node distance
matrix (``__node_distance``, from the ACPI SLIT; ``XEN_SYSCTL_numainfo``'s
``distance``) and each CPU's node, core and socket (``XEN_SYSCTL_cputopoinfo``).

The heap never reads it; toolstacks plan placement with it (xenopsd,
``docs/toolstack.md#libxc-xenserver``).  Without a SLIT Xen answers 10 for a node to itself
and 20 otherwise (``xen/arch/x86/srat.c``: ``__node_distance``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LOCAL_DISTANCE = 10
REMOTE_DISTANCE = 20
DISTANCE_UNREACHABLE = 0xFF  # an ACPI SLIT entry that marks a node unreachable

# ACPI SLIT of an 8-node AMD Opteron 6272 host (four sockets of two dies each), the
# matrix xapi-project/xen-api's ocaml/xenopsd/test/test_topology.ml plans on
OPTERON_6272_DISTANCES = (
    (10, 16, 16, 22, 16, 22, 16, 22),
    (16, 10, 22, 16, 16, 22, 22, 16),
    (16, 22, 10, 16, 16, 16, 16, 16),
    (22, 16, 16, 10, 16, 16, 22, 22),
    (16, 16, 16, 16, 10, 16, 16, 22),
    (22, 22, 16, 16, 16, 10, 22, 16),
    (16, 22, 16, 22, 16, 22, 10, 16),
    (22, 16, 16, 22, 22, 16, 16, 10),
)


@dataclass(frozen=True)
class Topology:
    """Distances between nodes, and each CPU's node, core id and socket id."""

    distances: tuple[tuple[int, ...], ...]
    cpu_to_node: tuple[int, ...]
    cpu_core: tuple[int, ...]
    cpu_socket: tuple[int, ...]

    @property
    def nr_nodes(self) -> int:
        return len(self.distances)

    def cpus_of(self, node: int) -> list[int]:
        """The CPUs on *node*, ascending."""
        return [c for c, n in enumerate(self.cpu_to_node) if n == node]


def make_topology(
    distances: Sequence[Sequence[int]],
    cpus_per_node: int | Sequence[int] = 4,
    threads_per_core: int = 1,
) -> Topology:
    """A topology from a distance matrix and the CPUs of each node (a count for all,
    or one per node), numbered node by node; core ids count from 0 within each node's
    socket (one socket per node), *threads_per_core* CPUs sharing each core id."""
    n = len(distances)
    if n == 0 or any(len(row) != n for row in distances):
        raise ValueError(f"distances must be a square matrix, not {[len(r) for r in distances]}")
    for i, row in enumerate(distances):
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"distances[{i}][{j}] = {v!r} is not a distance")
    counts = [cpus_per_node] * n if isinstance(cpus_per_node, int) else list(cpus_per_node)
    if len(counts) != n or any(
        isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in counts
    ):
        raise ValueError(f"cpus_per_node: one count per node ({n}), not {cpus_per_node!r}")
    if (
        isinstance(threads_per_core, bool)
        or not isinstance(threads_per_core, int)
        or threads_per_core < 1
    ):
        raise ValueError(f"threads_per_core must be at least 1, not {threads_per_core!r}")
    to_node: list[int] = []
    core: list[int] = []
    for node, count in enumerate(counts):
        for i in range(count):
            to_node.append(node)
            core.append(i // threads_per_core)
    return Topology(
        tuple(tuple(row) for row in distances), tuple(to_node), tuple(core), tuple(to_node)
    )


def default_topology(nr_nodes: int) -> Topology:
    """A host without a SLIT: distance 10 to itself, 20 to any other node; 4 CPUs
    (4 cores) per node."""
    d = [[LOCAL_DISTANCE if i == j else REMOTE_DISTANCE for j in range(nr_nodes)]
         for i in range(nr_nodes)]  # fmt: skip
    return make_topology(d, 4)
