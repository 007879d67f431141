"""xenopsd's planner: ``topology.ml`` and ``softaffinity.ml`` (xen-api @ ``e2ee48d688``).

The "Distance matrices" cases of ``ocaml/xenopsd/test/test_topology.ml``
(l.294-335) with their exact candidate lists, then unit tests of each OCaml
function the port follows; every test names the OCaml it checks.  The
property-based "VM Allocation" checks are in ``test_xenopsd_allocation.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.toolstack.xenopsd import (
    NUMA,
    NUMARequest,
    NUMAResource,
    Softaffinity,
    cpuset_all,
    cpuset_to_mask,
    fits,
    gen_candidates,
    hosts,
    is_unreachable,
    plan,
    shrink,
    take_same_distance,
)
from claims.toolstack.xenopsd.hosts import Distances
from claims.toolstack.xenopsd.topology import OCAML_MAX_INT, seq_all_subsets

E = Distances.empty
GiB = 1 << 30


def make_numa_common(
    distances: list[list[int]], *, logical_per_physical: int, cores_per_numa: int
) -> tuple[int, NUMA] | None:
    """test_topology.ml:61-74 ``make_numa_common``: ``Some (cpus, host)`` or ``None``."""
    layout = hosts.make_numa_common(
        distances, logical_per_physical=logical_per_physical, cores_per_numa=cores_per_numa
    )
    host = NUMA.make(*layout)
    return None if host is None else (cores_per_numa * len(distances), host)


def host_of(distances: list[list[int]], cpus_per_node: int = 2, threads: int = 2) -> NUMA:
    host = NUMA.make(
        *hosts.make_numa_common(
            distances, logical_per_physical=threads, cores_per_numa=cpus_per_node
        )
    )
    assert host is not None
    return host


def resources(host: NUMA, memory: int | Sequence[int]) -> list[NUMAResource]:
    """test_topology.ml:206-211: ``NUMA.resource h n ~memory`` for every node."""
    mems = [memory] * len(host.nodes()) if isinstance(memory, int) else list(memory)
    return [host.resource(n, m) for n, m in zip(host.nodes(), mems, strict=True)]


# --- test_topology.ml:294-335 "Distance matrices" ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "distances", "expected"),
    [
        ("Last node is unreachable", Distances.unreachable_last(), [(10.0, [0])]),
        (
            "Node in the middle is unreachable",
            Distances.unreachable_middle(),
            [(10.0, [0]), (10.0, [2]), (15.0, [0, 2])],
        ),
        ("The first two nodes are unreachable", Distances.unreachable_two(), [(10.0, [2])]),
        ("All nodes are unreachable", Distances.none_reachable(), None),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_distance_matrices(
    name: str, distances: list[list[int]], expected: list[tuple[float, list[int]]] | None
) -> None:
    """test_topology.ml:294-335 ``distances_tests``: ``NUMA.candidates`` exactly, or ``None``.

    Host by ``make_numa_common ~logical_per_physical:1 ~cores_per_numa:1``;
    floats compared with ``Alcotest.float Float.epsilon``.
    """
    numa_t = make_numa_common(distances, logical_per_physical=1, cores_per_numa=1)
    if expected is None:
        assert numa_t is None, "Synthetic matrix loaded when it wasn't supposed to"
        return
    assert numa_t is not None, "Synthetic matrix can't fail to load"
    actual = numa_t[1].candidates
    assert [nodes for _, nodes in actual] == [nodes for _, nodes in expected]
    for (a, _), (e, _) in zip(actual, expected, strict=True):
        assert abs(a - e) <= sys.float_info.epsilon


# --- topology.ml:149-159 is_unreachable -----------------------------------------------------------


def test_is_unreachable() -> None:
    """topology.ml:153 ``is_unreachable d = d > 0xFF || d < 0``, and the asserts at l.155-159."""
    assert is_unreachable(0xFFFFFFFF)  # 32-bit ~0U
    assert is_unreachable(-1)  # 64-bit -1
    assert is_unreachable(0x100)
    assert not is_unreachable(0xFF)
    assert not is_unreachable(10)
    assert not is_unreachable(0)  # reachable here; NUMA.make refuses it as < 10


# --- topology.ml:30-58 NUMAResource ---------------------------------------------------------------


def test_numaresource_make_negative_memory_message() -> None:
    """topology.ml:33-37 ``NUMAResource.make``: ``Invalid_argument`` with the value."""
    with pytest.raises(ValueError) as e:
        NUMAResource.make(affinity=[0, 1], cores=1, memfree=-GiB)
    assert str(e.value) == "NUMAResource: memory cannot be negative: -1073741824"
    with pytest.raises(ValueError, match=r"^NUMAResource: memory cannot be negative: -1$"):
        NUMAResource(frozenset(), 0, -1)  # the constructor checks the same


def test_numaresource_make_accepts_zero_and_unchecked_fields() -> None:
    """topology.ml:33-37: only ``memfree`` is checked (not ``cores``, not ``affinity``)."""
    r = NUMAResource.make(affinity=[], cores=-3, memfree=0)
    assert (r.affinity, r.cores, r.memfree) == (frozenset(), -3, 0)
    assert isinstance(NUMAResource.make(affinity={2, 1}, cores=0, memfree=0).affinity, frozenset)


def test_numaresource_empty_and_union() -> None:
    """topology.ml:39 ``empty``, l.41-45 ``union``: CPU sets joined, cores and memory added."""
    e = NUMAResource.empty
    assert (e.affinity, e.cores, e.memfree) == (frozenset(), 0, 0)
    a = NUMAResource.make(affinity=[0, 1], cores=1, memfree=3)
    b = NUMAResource.make(affinity=[1, 2, 3], cores=2, memfree=4)
    u = a.union(b)
    assert (u.affinity, u.cores, u.memfree) == (frozenset({0, 1, 2, 3}), 3, 7)
    assert NUMAResource.union(e, a) == a


def test_numaresource_union_wraps_like_int64() -> None:
    """topology.ml:41-45 ``union`` adds with ``Int64.add``: a wrapped sum fails ``make``."""
    big = NUMAResource.make(affinity=[], cores=0, memfree=1 << 62)
    with pytest.raises(ValueError, match=r"^NUMAResource: memory cannot be negative: -9223372036"):
        big.union(big)


def test_numaresource_min_memory() -> None:
    """topology.ml:47 ``min_memory r1 r2 = {r1 with memfree = min ...}``."""
    a = NUMAResource.make(affinity=[0], cores=1, memfree=10)
    b = NUMAResource.make(affinity=[5], cores=7, memfree=4)
    assert a.min_memory(b) == NUMAResource.make(affinity=[0], cores=1, memfree=4)
    assert b.min_memory(a) == b


# --- topology.ml:60-102 NUMARequest ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("memory", "vcpus", "cores", "message"),
    [
        (-GiB, 1, 0, "NUMARequest: memory must be > 0: -1073741824"),
        (-1, -1, -1, "NUMARequest: memory must be > 0: -1"),  # memory is checked first
        (0, -2, -1, "vcpus cannot be negative: -2"),  # then vcpus
        (0, 0, -5, "cores cannot be negative: -5"),
    ],
)
def test_numarequest_make_rejects_negatives(
    memory: int, vcpus: int, cores: int, message: str
) -> None:
    """topology.ml:63-70 ``NUMARequest.make``: the checks in order, the messages verbatim."""
    with pytest.raises(ValueError) as e:
        NUMARequest.make(memory=memory, vcpus=vcpus, cores=cores)
    assert str(e.value) == message
    with pytest.raises(ValueError):
        NUMARequest(memory, vcpus, cores)


def test_numarequest_make_allows_zero() -> None:
    """topology.ml:63-70: zero passes (``shrink`` makes zeros), although the message says "> 0"."""
    assert NUMARequest.make(memory=0, vcpus=0, cores=0) == NUMARequest(0, 0, 0)


def test_fits() -> None:
    """topology.ml:72-85 ``NUMARequest.fits``: memory <=, |CPUs| >=, cores >=."""
    avail = NUMAResource.make(affinity=[0, 1, 2, 3], cores=2, memfree=4 * GiB)
    assert fits(NUMARequest.make(memory=4 * GiB, vcpus=4, cores=2), avail)  # all at the edge
    assert not fits(NUMARequest.make(memory=4 * GiB + 1, vcpus=1, cores=0), avail)
    assert not fits(NUMARequest.make(memory=0, vcpus=5, cores=0), avail)
    assert not fits(NUMARequest.make(memory=0, vcpus=0, cores=3), avail)
    assert fits(NUMARequest.make(memory=0, vcpus=0, cores=0), NUMAResource.empty)
    assert NUMARequest.fits is fits


def test_shrink_subtracts_and_clamps() -> None:
    """topology.ml:87-91 ``NUMARequest.shrink``: each field minus the resource, at least 0."""
    req = NUMARequest.make(memory=3 * GiB, vcpus=4, cores=2)
    r = NUMAResource.make(affinity=[0, 1, 2], cores=1, memfree=GiB)
    assert shrink(req, r) == NUMARequest(2 * GiB, 1, 1)
    assert shrink(shrink(req, r), r) == NUMARequest(GiB, 0, 0)  # clamped, not negative
    huge = NUMAResource.make(affinity=range(100), cores=50, memfree=100 * GiB)
    assert shrink(req, huge) == NUMARequest(0, 0, 0)
    assert NUMARequest.shrink is shrink


# --- topology.ml:17-28 CPUSet ---------------------------------------------------------------------


def test_cpuset_all_and_to_mask() -> None:
    """topology.ml:22 ``CPUSet.to_mask``, l.24-27 ``CPUSet.all``."""
    assert cpuset_all(4) == frozenset({0, 1, 2, 3})
    assert cpuset_all(0) == frozenset()
    assert cpuset_to_mask(frozenset({1, 3})) == [False, True, False, True]
    with pytest.raises(LookupError):  # max_elt of an empty set: Not_found
        cpuset_to_mask(frozenset())


# --- topology.ml:104-133, 177-234: subsets and candidates -----------------------------------------


def test_seq_all_subsets_mask_order() -> None:
    """topology.ml:127-133 ``seq_all_subsets``: masks 1 .. 2^n-1, bit b is the b-th node."""
    assert list(seq_all_subsets([0, 2, 5])) == [
        [0],
        [2],
        [0, 2],
        [5],
        [0, 5],
        [2, 5],
        [0, 2, 5],
    ]
    assert list(seq_all_subsets([])) == []


def test_gen_candidates_keys_and_stable_sort() -> None:
    """topology.ml:177-195, 197-234: key (max, avg) over all ordered pairs incl. self; stable.

    ``Distances.example 3``: singletons (10, 10.) in node order, then the
    neighbour pairs (21, 15.5) in mask order, then the max-32 sets: the
    triple (32, 178/9) before ``[0; 2]`` (32, 21.), by average.
    """
    cands = gen_candidates(Distances.example(3))
    assert cands == [
        (10.0, [0]),
        (10.0, [1]),
        (10.0, [2]),
        (15.5, [0, 1]),
        (15.5, [1, 2]),
        (178 / 9, [0, 1, 2]),
        (21.0, [0, 2]),
    ]


def test_gen_candidates_max_distance_before_average() -> None:
    """topology.ml:190-195 ``dist_cmp``: a smaller max wins over a smaller average.

    The matrix of ``topology.mli:116-139``, where nodes 0,1,4 are "a better
    choice than 0,1,2": max 16 against 22.
    """
    mli = [
        [10, 16, 16, 22, 16, 22, 16, 22],
        [16, 10, 22, 16, 16, 22, 22, 17],
        [16, 22, 10, 16, 16, 16, 16, 16],
        [22, 16, 16, 10, 16, 16, 22, 22],
        [16, 16, 16, 16, 10, 16, 16, 22],
        [22, 22, 16, 16, 16, 10, 22, 16],
        [16, 22, 16, 22, 16, 22, 10, 16],
        [22, 16, 16, 22, 22, 16, 16, 10],
    ]
    order = [tuple(nodes) for _, nodes in gen_candidates(mli)]
    assert order.index((0, 1, 4)) < order.index((0, 1, 2))
    # a mixed-max set with a low average still comes after every max-16 set
    keys = [
        (max(mli[a][b] for a in n for b in n), avg) for avg, n in gen_candidates(mli) if len(n) > 1
    ]
    assert keys == sorted(keys)


def test_gen_candidates_more_than_16_nodes_singletons_only() -> None:
    """topology.ml:214-228: with more than 16 valid nodes, only the single nodes, in order."""
    assert gen_candidates(Distances.example(17)) == [(10.0, [i]) for i in range(17)]
    # 17 nodes of which one is unreachable: 16 valid, so all 65535 subsets
    d = Distances.example(17)
    d[16] = [E] * 17
    for row in d:
        row[16] = E
    assert len(gen_candidates(d)) == 2**16 - 1


def test_gen_candidates_opteron() -> None:
    """topology.ml:197-234 on ``Distances.opteron`` (test_topology.ml:16-31): 255 sets, sorted."""
    d = Distances.opteron()
    cands = gen_candidates(d)
    assert len(cands) == 255
    assert cands[:8] == [(10.0, [i]) for i in range(8)]
    keys = [((max(d[a][b] for a in n for b in n)), avg) for avg, n in cands]
    assert keys == sorted(keys)
    assert all(nodes == sorted(nodes) for _, nodes in cands)


# --- topology.ml:236-291 NUMA.make ----------------------------------------------------------------


def test_numa_make_fields() -> None:
    """topology.ml:236-291 ``NUMA.make``: CPUs per node, all CPUs, usage 0, candidates."""
    host = host_of(Distances.example(2), cpus_per_node=4)
    assert host.node_cpus == (frozenset({0, 1, 2, 3}), frozenset({4, 5, 6, 7}))
    assert host.node_cores == (2, 2)
    assert host.all_cpus() == frozenset(range(8))
    assert host.node_usage == [0, 0]
    assert list(host.nodes()) == [0, 1]
    assert host.node_of_cpu(5) == 1
    assert host.distance(0, 1) == 21
    assert host.candidates == gen_candidates(Distances.example(2))


def test_numa_make_drops_cpus_of_unreachable_nodes() -> None:
    """topology.ml:240-248: a node whose self-distance is unreachable gets no CPUs."""
    host = NUMA.make([[10, E], [E, E]], cpu_to_node=[0, 1, 1], node_cores=[1, 1])
    assert host is not None
    assert host.node_cpus == (frozenset({0}), frozenset())
    assert host.all_cpus() == frozenset({0})
    assert host.node_of_cpu(2) == 1  # cpu_to_node is kept as given
    assert list(host.nodes()) == [0, 1]  # nodes includes the unreachable one
    assert host.resource(1, 0) == NUMAResource.make(affinity=[], cores=1, memfree=0)


@pytest.mark.parametrize(
    ("why", "distances", "cpu_to_node"),
    [
        ("no CPUs at all", [[10, 20], [20, 10]], []),
        ("CPUs only on unreachable nodes", [[E, 20], [20, 10]], [0, 0]),
        ("self-distance 11", [[10, 20], [20, 11]], [0, 1]),
        ("self-distance 0", [[0, 20], [20, 10]], [0, 1]),
        ("an entry below 10", [[10, 9], [9, 10]], [0, 1]),
        ("an entry 0", [[10, 0], [20, 10]], [0, 1]),
    ],
)
def test_numa_make_none(why: str, distances: list[list[int]], cpu_to_node: list[int]) -> None:
    """topology.ml:250-277: ``None`` for a SLIT with no usable CPU or with invalid values."""
    assert NUMA.make(distances, cpu_to_node, [1] * len(distances)) is None, why


def test_numa_make_accepts_64bit_unreachable_and_asymmetry() -> None:
    """topology.ml:259-266: -1 (64-bit) counts as unreachable; symmetry is not required."""
    host = NUMA.make([[10, -1], [30, 10]], [0, 1], [1, 1])
    assert host is not None
    assert host.candidates[:2] == [(10.0, [0]), (10.0, [1])]
    assert host.candidates[2][1] == [0, 1]  # key (30, 49/4): max 30
    assert NUMA.make([[10, 0x100], [0x100, 10]], [0, 1], [1, 1]) is not None


def test_numa_make_index_out_of_bounds() -> None:
    """topology.ml:242-248: ``distances.(node)`` of a bad node raises (no negative wrap-around)."""
    with pytest.raises(IndexError, match="index out of bounds"):
        NUMA.make([[10]], [1], [1])
    with pytest.raises(IndexError, match="index out of bounds"):
        NUMA.make([[10, 20], [20, 10]], [-1], [1, 1])


def test_apply_mask_shares_node_usage() -> None:
    """topology.ml:306-309 ``apply_mask``: CPUs restricted; ``{t with ...}`` shares the array."""
    host = host_of(Distances.example(2), cpus_per_node=4)
    masked = host.apply_mask({1, 2, 5})
    assert masked.node_cpus == (frozenset({1, 2}), frozenset({5}))
    assert masked.all_cpus() == frozenset({1, 2, 5})
    assert host.all_cpus() == frozenset(range(8))
    masked.node_usage[1] += 1
    assert host.node_usage == [0, 1]


def test_resource() -> None:
    """topology.ml:311-313 ``NUMA.resource``: the node's CPUs and cores, with *memory*."""
    host = host_of(Distances.example(2), cpus_per_node=4)
    assert host.resource(1, 5) == NUMAResource.make(affinity={4, 5, 6, 7}, cores=2, memfree=5)
    with pytest.raises(ValueError, match=r"^NUMAResource: memory cannot be negative: -1$"):
        host.resource(0, -1)
    with pytest.raises(IndexError):
        host.resource(2, 0)


# --- topology.ml:317-333 NUMA.choose --------------------------------------------------------------


def r(*cpus: int, cores: int = 0, mem: int = 0) -> NUMAResource:
    return NUMAResource.make(affinity=cpus, cores=cores, memfree=mem)


def test_choose_least_usage_then_bumps() -> None:
    """topology.ml:317-333 ``choose``: least summed usage wins, its nodes' usage goes up by one."""
    host = host_of(Distances.example(4))
    host.node_usage[:] = [2, 0, 1, 0]
    got = host.choose([([0], r(0)), ([2], r(4)), ([3, 1], r(2, 6))])
    assert got == (r(2, 6), [3, 1])  # usage 2, 1, and 0 + 0
    assert host.node_usage == [2, 1, 1, 1]


def test_choose_tie_break_lists_and_prefixes() -> None:
    """topology.ml:326 ``Seq.fold_left min``: equal usage -> the smaller node list.

    OCaml compares ``Node of int`` lists structurally: element by element,
    ``[]`` below any cons, so a prefix is smaller.  ``picked`` lists are
    descending, so ``[1]`` beats ``[1; 0]`` and ``[2; 0]`` beats ``[2; 1]``.
    """
    host = host_of(Distances.example(3))
    assert host.choose([([1, 0], r(0, 2)), ([1], r(2)), ([2], r(4))]) == (r(2), [1])
    assert host.node_usage == [0, 1, 0]
    host.node_usage[:] = [0, 0, 0]
    assert host.choose([([2, 1], r(2, 4)), ([2, 0], r(0, 4))]) == (r(0, 4), [2, 0])


def test_choose_ties_keep_the_earlier() -> None:
    """topology.ml:326: ``min acc x = if acc <= x then acc else x``, so a full tie keeps ``acc``."""
    host = host_of(Distances.example(2))
    first, second = r(0, cores=1, mem=5), r(1, cores=1, mem=5)
    assert host.choose([([0], first), ([0], second)]) == (first, [0])
    # equal CPU sets: then cores, then memfree decide, as OCaml's record compare
    smaller = r(0, cores=1, mem=4)
    assert host.choose([([0], first), ([0], smaller)]) == (smaller, [0])


def test_choose_none_leaves_usage() -> None:
    """topology.ml:327-329: nothing to choose -> ``None``, ``node_usage`` untouched."""
    host = host_of(Distances.example(2))
    assert host.choose([]) is None
    assert host.choose(iter([])) is None
    assert host.node_usage == [0, 0]


def test_choose_start_value_is_max_int() -> None:
    """topology.ml:326-329: the fold starts at ``(max_int, [], empty)``; max_int left -> None."""
    host = host_of(Distances.example(2))
    host.node_usage[:] = [OCAML_MAX_INT, 0]
    assert host.choose([([0], r(0))]) is None  # (max_int, [0]) is not below (max_int, [])
    assert host.node_usage == [OCAML_MAX_INT, 0]


def ocaml_compare_int_lists(a: list[int], b: list[int]) -> int:
    """OCaml's polymorphic ``compare`` on ``node list``: cons cells, ``[]`` (an immediate) first."""
    if not a or not b:
        return (len(a) > 0) - (len(b) > 0)
    if a[0] != b[0]:
        return -1 if a[0] < b[0] else 1
    return ocaml_compare_int_lists(a[1:], b[1:])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 4), max_size=5),
    st.lists(st.integers(0, 4), max_size=5),
)
def test_python_list_order_is_ocaml_compare(a: list[int], b: list[int]) -> None:
    """topology.ml:326: Python's list ``<``/``==`` agree with OCaml's ``compare`` (prefixes too)."""
    c = ocaml_compare_int_lists(a, b)
    assert (a < b) == (c < 0)
    assert (a == b) == (c == 0)


# --- softaffinity.ml:22-78 plan -------------------------------------------------------------------


def test_plan_single_node_and_usage_rotation() -> None:
    """softaffinity.ml:22-78: VMs that fit one node go round the nodes by usage (choose)."""
    host = host_of(Distances.example(4), cpus_per_node=2)
    nodes = resources(host, 4 * GiB)
    vm = NUMARequest.make(memory=GiB, vcpus=2, cores=0)
    picks = []
    for _ in range(6):
        got = plan(host, nodes, vm)
        assert got is not None
        picks.append(got[1])
    assert picks == [[0], [1], [2], [3], [0], [1]]
    assert host.node_usage == [2, 2, 1, 1]


def test_plan_picked_is_descending_and_affinity_is_the_union() -> None:
    """softaffinity.ml:24-31 ``pick_node``: ``node :: picked``, so ``picked`` is descending."""
    host = host_of(Distances.example(4), cpus_per_node=2)
    nodes = resources(host, 4 * GiB)
    vm = NUMARequest.make(memory=10 * GiB, vcpus=1, cores=0)  # needs three nodes' memory
    got = Softaffinity.plan(host, nodes, vm)
    assert got == (frozenset(range(6)), [2, 1, 0])
    assert host.node_usage == [1, 1, 1, 0]
    # [0; 1; 2] and [1; 2; 3] share the key (32, 178/9) and lead; now usage 3 against 2
    assert plan(host, nodes, vm) == (frozenset(range(2, 8)), [3, 2, 1])


def test_plan_none_leaves_usage() -> None:
    """softaffinity.ml:70-73: no valid candidate -> ``None``, no usage change."""
    host = host_of(Distances.example(2), cpus_per_node=2)
    nodes = resources(host, GiB)
    assert plan(host, nodes, NUMARequest.make(memory=2 * GiB + 1, vcpus=0, cores=0)) is None
    assert plan(host, nodes, NUMARequest.make(memory=0, vcpus=5, cores=0)) is None
    assert plan(host, nodes, NUMARequest.make(memory=0, vcpus=0, cores=3)) is None
    assert host.node_usage == [0, 0]


def test_plan_memory_is_a_filter_not_a_ranking() -> None:
    """softaffinity.ml:33-47: free memory only decides validity; usage then node ids rank."""
    host = host_of(Distances.example(3), cpus_per_node=2)
    nodes = resources(host, [GiB, 8 * GiB, 64 * GiB])
    got = plan(host, nodes, NUMARequest.make(memory=GiB, vcpus=1, cores=0))
    assert got is not None and got[1] == [0]  # not the node with the most memory


def test_plan_cores_count_physical_cores() -> None:
    """topology.ml:72-91 with softaffinity.ml:42: ``cores`` needs physical cores (CA-420968)."""
    host = host_of(Distances.example(2), cpus_per_node=4, threads=2)  # 2 cores per node
    nodes = resources(host, 4 * GiB)
    assert plan(host, nodes, NUMARequest.make(memory=GiB, vcpus=4, cores=2)) == (
        frozenset(range(4)),
        [0],
    )
    got = plan(host, nodes, NUMARequest.make(memory=GiB, vcpus=4, cores=3))
    assert got == (frozenset(range(8)), [1, 0])


def test_plan_assert_fits() -> None:
    """softaffinity.ml:77 ``assert (NUMARequest.fits vm allocated)``: overlapping nodes trip it.

    ``shrink`` counts each node's CPUs, ``union`` counts the union, so two
    nodes offering the same two CPUs "provide" four vCPUs to the planner.
    """
    host = host_of(Distances.example(2), cpus_per_node=2)
    same = NUMAResource.make(affinity=[0, 1], cores=1, memfree=GiB)
    with pytest.raises(AssertionError, match="softaffinity.ml:77"):
        plan(host, [same, same], NUMARequest.make(memory=0, vcpus=3, cores=0))


def test_plan_nodes_index_out_of_bounds() -> None:
    """softaffinity.ml:28 ``nodes.(nodeidx)``: too few resources raise, as OCaml's array access."""
    host = host_of(Distances.example(2), cpus_per_node=2)
    with pytest.raises(IndexError, match="index out of bounds"):
        plan(host, resources(host, GiB)[:1], NUMARequest.make(memory=2 * GiB, vcpus=0, cores=0))


# --- laziness: softaffinity.ml:48-70 (Seq pipeline) -----------------------------------------------


class CountingNodes(Sequence[NUMAResource]):
    """The ``nodes`` array, counting ``nodes.(i)`` reads (one per node of an examined candidate)."""

    def __init__(self, items: list[NUMAResource]) -> None:
        self.items, self.reads = items, 0

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: Any) -> Any:
        self.reads += 1
        return self.items[i]


def test_plan_is_lazy_stops_after_first_different_valid() -> None:
    """softaffinity.ml:48-67: candidates are examined up to the first valid one that differs.

    ``Distances.example 4``: the 4 singletons (avg 10) are valid, then
    ``[0; 1]`` (avg 15.5) is examined and ends the run: 4 + 2 reads, not
    the 32 of examining all 15 subsets.
    """
    host = host_of(Distances.example(4), cpus_per_node=2)
    nodes = CountingNodes(resources(host, 4 * GiB))
    plan(host, nodes, NUMARequest.make(memory=GiB, vcpus=1, cores=0))
    assert nodes.reads == 4 + 2
    assert sum(len(n) for _, n in host.candidates) == 32


class TripwireCandidates(list[tuple[float, list[int]]]):
    """``NUMA.candidates``, counting how many elements the planner pulled."""

    pulled = 0

    def __iter__(self) -> Iterator[tuple[float, list[int]]]:
        for c in super().__iter__():
            self.pulled += 1
            yield c


def with_candidates(host: NUMA, cands: list[tuple[float, list[int]]]) -> TripwireCandidates:
    trip = TripwireCandidates(cands)
    object.__setattr__(host, "candidates", trip)
    return trip


def test_plan_never_examines_past_the_run() -> None:
    """softaffinity.ml:54-62 ``take_while_same``: the element after the stop is never forced.

    A poisoned candidate (node 99: ``nodes.(99)`` would raise) placed after
    the first differing valid one is never looked at; when it is the first
    differing one, it is examined, and raises, as OCaml's would.
    """
    host = host_of(Distances.example(2), cpus_per_node=2)
    nodes = resources(host, GiB)
    poisoned = [(10.0, [0]), (10.0, [1]), (15.5, [0, 1]), (20.0, [99])]
    trip = with_candidates(host, poisoned)
    assert plan(host, nodes, NUMARequest.make(memory=GiB, vcpus=1, cores=0)) == (
        frozenset({0, 1}),
        [0],
    )
    assert trip.pulled == 3
    with_candidates(host, poisoned)
    with pytest.raises(IndexError):  # [0; 1] is the first valid; [99] must be examined
        plan(host, nodes, NUMARequest.make(memory=2 * GiB, vcpus=1, cores=0))


def test_plan_invalid_candidates_do_not_end_the_run() -> None:
    """softaffinity.ml:67 ``Seq.filter_map plan_valid``: invalid ones are skipped, not stops."""
    host = host_of(Distances.example(3), cpus_per_node=2)
    nodes = resources(host, [GiB, 0, GiB])
    host.node_usage[:] = [5, 0, 0]
    got = plan(host, nodes, NUMARequest.make(memory=GiB, vcpus=1, cores=0))
    assert got is not None and got[1] == [2]  # [1] invalid in between, [2] still in the run


def test_take_same_distance_epsilon() -> None:
    """softaffinity.ml:48-65: within 1e-3 of the *first* (not of the previous) stays."""
    seq = [(10.0, "a", 1), (10.0009, "b", 2), (10.0015, "c", 3), (10.0001, "d", 4)]
    assert list(take_same_distance(seq)) == [("a", 1), ("b", 2)]
    assert list(take_same_distance([])) == []


def test_take_same_distance_pulls_lazily() -> None:
    """softaffinity.ml:48-65: nothing is pulled before asked; the stopper is pulled, not more."""
    pulled: list[int] = []

    def source() -> Iterator[tuple[float, int, int]]:
        for i, avg in enumerate([1.0, 1.0, 2.0, 1.0]):
            pulled.append(i)
            yield avg, i, i

    run = take_same_distance(source())
    assert pulled == []
    assert list(run) == [(0, 0), (1, 1)]
    assert pulled == [0, 1, 2]


# --- differential: the port against an eager reading of the spec (xenserver.md §2.10) -----------


def eager_plan(
    host: NUMA, nodes: list[NUMAResource], vm: NUMARequest, usage: list[int]
) -> tuple[frozenset[int], list[int]] | None:
    """xenserver.md §2.10 ``plan``: every candidate examined first, then the run, then choose."""
    valid = []
    for avg, cand in host.candidates:
        cpus: set[int] = set()
        mem = cores = ncpus = 0
        picked: list[int] = []
        for n in cand:
            cpus |= nodes[n].affinity
            mem, cores, ncpus = (
                mem + nodes[n].memfree,
                cores + nodes[n].cores,
                ncpus + len(nodes[n].affinity),
            )
            picked.insert(0, n)
        if mem >= vm.memory and ncpus >= vm.vcpus and cores >= vm.cores:
            valid.append((avg, picked, frozenset(cpus)))
    if not valid:
        return None
    first = valid[0][0]
    best: list[tuple[list[int], frozenset[int]]] = []
    for avg, picked, cpus in valid:
        if abs(avg - first) >= 1e-3:
            break
        best.append((picked, cpus))
    key, choice = min(((sum(usage[n] for n in p), p), (p, c)) for p, c in best)
    for n in choice[0]:
        usage[n] += 1
    return choice[1], choice[0]


@st.composite
def small_hosts(draw: st.DrawFn) -> tuple[list[list[int]], list[int], list[int], list[int]]:
    n = draw(st.integers(1, 5))
    d = [
        [10 if i == j else draw(st.sampled_from([10, 12, 16, 20, 21, 22, 32, E])) for j in range(n)]
        for i in range(n)
    ]
    if draw(st.booleans()):
        for i in range(n):
            for j in range(i):
                d[i][j] = d[j][i]
    cpn = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    cpu_to_node = [node for node, k in enumerate(cpn) for _ in range(k)]
    node_cores = [draw(st.integers(0, 2)) for _ in range(n)]
    mems = [draw(st.sampled_from([0, GiB, 2 * GiB, 4 * GiB])) for _ in range(n)]
    return d, cpu_to_node, node_cores, mems


@settings(max_examples=150, deadline=None)
@given(
    small_hosts(),
    st.lists(
        st.tuples(
            st.sampled_from([0, GiB, 3 * GiB, 9 * GiB]), st.integers(0, 6), st.integers(0, 4)
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_lazy_plan_equals_eager_plan(
    spec: tuple[list[list[int]], list[int], list[int], list[int]],
    vms: list[tuple[int, int, int]],
) -> None:
    """softaffinity.ml:22-78 against xenserver.md §2.10: laziness changes no plan, no usage."""
    d, cpu_to_node, node_cores, mems = spec
    host = NUMA.make(d, cpu_to_node, node_cores)
    if host is None:
        return
    nodes = resources(host, mems)
    usage = [0] * len(d)
    for memory, vcpus, cores in vms:
        vm = NUMARequest.make(memory=memory, vcpus=vcpus, cores=cores)
        assert plan(host, nodes, vm) == eager_plan(host, nodes, vm, usage)
        assert host.node_usage == usage


# --- hosts: test_topology.ml:5-94 -----------------------------------------------------------------


def test_hosts_distances() -> None:
    """test_topology.ml:8-31: ``Distances.example`` and the Opteron 6272 matrix."""
    assert Distances.example(3) == [[10, 21, 32], [21, 10, 21], [32, 21, 10]]
    op = Distances.opteron()
    assert len(op) == 8 and all(op[i][i] == 10 for i in range(8))
    assert all(op[i][j] == op[j][i] for i in range(8) for j in range(8))
    assert {x for row in op for x in row} == {10, 16, 22}
    op[0][0] = 99  # fresh lists every call
    assert Distances.opteron()[0][0] == 10


def test_hosts_layouts() -> None:
    """test_topology.ml:61-94: ``make_numa_common``, ``make_numa``, ``make_numa_amd`` layouts."""
    lay = hosts.make_numa(numa=2, cores=8)
    assert lay.cpu_to_node == [0, 0, 0, 0, 1, 1, 1, 1]
    assert lay.node_cores == [2, 2]
    amd = hosts.make_numa_amd(cores_per_numa=4)
    assert len(amd.cpu_to_node) == 32 and amd.node_cores == [2] * 8
    one = hosts.make_numa_common(Distances.example(3), logical_per_physical=1, cores_per_numa=1)
    assert one.cpu_to_node == [0, 1, 2] and one.node_cores == [1, 1, 1]


def test_node_cores_of_cputopo() -> None:
    """domain.ml:983-991: a node's cores are its distinct ``core`` ids."""
    assert hosts.node_cores_of_cputopo(2, [0, 0, 0, 0, 1, 1], [0, 0, 1, 1, 0, 1]) == [2, 2]
    assert hosts.node_cores_of_cputopo(3, [0], [7]) == [1, 0, 0]
    with pytest.raises(IndexError):
        hosts.node_cores_of_cputopo(1, [1], [0])
