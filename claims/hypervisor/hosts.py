"""Ready-made hosts (docs/toolstack.md#hypervisor-face)."""

from __future__ import annotations

from .constants import MAX_NUMNODES_X86, MAX_PAGES_UNLIMITED
from .topology import OPTERON_6272_DISTANCES as OPTERON_6272_DISTANCES  # re-exported
from .topology import make_topology
from .validate import check_bool, check_int
from .xen import Xen

DEMO_NODE_PAGES = 1 << 12  # 16 MiB per node: small enough to draw page runs


def demo(semantics: str = "v7") -> Xen:
    """The default host of the notebooks and the README.

    Two nodes of 4096 pages (16 MiB) each: node 0 holds MFNs 0x1000-0x1fff,
    node 1 holds 0x2000-0x2fff; all of it free and clean.
    """
    n = DEMO_NODE_PAGES
    xen = Xen([range(n, 2 * n), range(2 * n, 3 * n)], semantics=semantics)
    xen.init_heap_pages(n, 2 * n)
    return xen


def native_harness(
    start_mfn: int, numa: bool = True, semantics: str = "v7", nr_nodes: int = 2
) -> Xen:
    """The fixture of Xen's posted native tests (docs/toolstack.md#native-tests).

    Nodes of 16 MFNs from *start_mfn* (one node of ``16 * nr_nodes`` MFNs when
    ``numa`` is false), domains 1 and 2 with affinity {0, 1} and unlimited
    ``max_pages``, and an empty heap: tests add buddies with
    ``init_heap_pages``.
    """
    check_int("start_mfn", start_mfn, 0)
    check_bool("numa", numa)
    check_int("nr_nodes", nr_nodes, 1, MAX_NUMNODES_X86)
    if numa:
        nodes = [range(start_mfn + 16 * i, start_mfn + 16 * (i + 1)) for i in range(nr_nodes)]
    else:
        nodes = [range(start_mfn, start_mfn + 16 * nr_nodes)]
    xen = Xen(nodes, semantics=semantics)
    aff = {0, 1} if numa else {0}
    xen.domain_create(1, max_pages=MAX_PAGES_UNLIMITED, node_affinity=aff)
    xen.domain_create(2, max_pages=MAX_PAGES_UNLIMITED, node_affinity=aff)
    return xen


def uniform(
    nr_nodes: int, pages_per_node: int, semantics: str = "v7", base_mfn: int = 1 << 20
) -> Xen:
    """*nr_nodes* nodes of *pages_per_node* pages each, back to back from
    *base_mfn* (4 GiB by default), all of it handed to the heap clean."""
    check_int("nr_nodes", nr_nodes, 1, MAX_NUMNODES_X86)
    check_int("pages_per_node", pages_per_node, 0)
    check_int("base_mfn", base_mfn, 0)
    nodes = [
        range(base_mfn + i * pages_per_node, base_mfn + (i + 1) * pages_per_node)
        for i in range(nr_nodes)
    ]
    xen = Xen(nodes, semantics=semantics)
    xen.init_heap_pages(base_mfn, nr_nodes * pages_per_node)
    return xen


def example_distances(nr_nodes: int) -> list[list[int]]:
    """xenopsd's test hosts (``Distances.example n`` in ``test_topology.ml``):
    ``10 + 11 * |i - j|``."""
    check_int("nr_nodes", nr_nodes, 1, MAX_NUMNODES_X86)
    return [[10 + 11 * abs(i - j) for j in range(nr_nodes)] for i in range(nr_nodes)]


def numa_example(
    nr_nodes: int,
    pages_per_node: int,
    cpus_per_node: int = 4,
    semantics: str = "v7",
    base_mfn: int = 1 << 20,
) -> Xen:
    """A :func:`uniform` host whose distances are xenopsd's test matrix
    (:func:`example_distances`), with *cpus_per_node* CPUs (one core each) per node."""
    check_int("cpus_per_node", cpus_per_node, 0, 4096)
    xen = uniform(nr_nodes, pages_per_node, semantics, base_mfn)
    xen.topology = make_topology(example_distances(nr_nodes), cpus_per_node)
    xen.config["topology"] = xen.topology
    return xen


def opteron_6272(
    pages_per_node: int = 1 << 22, semantics: str = "v7", base_mfn: int = 1 << 20
) -> Xen:
    """An 8-node AMD Opteron 6272 host: the SLIT of ``OPTERON_6272_DISTANCES``, 8 CPUs
    per node (4 cores of 2 threads, as the 6272's modules pair integer cores), and
    *pages_per_node* pages per node (16 GiB by default), all free and clean."""
    xen = uniform(8, pages_per_node, semantics, base_mfn)
    xen.topology = make_topology(OPTERON_6272_DISTANCES, 8, threads_per_core=2)
    xen.config["topology"] = xen.topology
    return xen
