"""xenopsd's NUMA planner: ``ocaml/xenopsd/lib/softaffinity.ml`` (xen-api @ ``e2ee48d688``).

``Softaffinity.plan host nodes ~vm`` (softaffinity.ml:22-78) picks the node set
a VM's memory and (soft) vCPU affinity go to.  Line ranges are those of
``softaffinity.ml`` at ``e2ee48d6883e0b98c4d219d3f0778a10c6655607``.

Lazy as the OCaml ``Seq`` pipeline is: the candidates are examined one at a
time, in planner order, and the walk stops at the first *valid* candidate whose
average distance differs from the first valid one's (that candidate is
examined, the ones after it are not).  See :func:`plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from .topology import NUMA, CPUSet, NUMARequest, NUMAResource, array_get

__all__ = ["SAME_DISTANCE_EPSILON", "Softaffinity", "plan", "plan_valid", "take_same_distance"]

SAME_DISTANCE_EPSILON = 1e-3
"""Two average distances closer than this are the same (softaffinity.ml:59)."""

A = TypeVar("A")
B = TypeVar("B")


def plan_valid(
    nodes: Sequence[NUMAResource], vm: NUMARequest, avg: float, candidate: Iterable[int]
) -> tuple[float, list[int], NUMAResource] | None:
    """``plan_valid (avg, nodes)`` with ``pick_node`` (softaffinity.ml:24-47).

    Folds the candidate's nodes in their order (ascending): each step takes
    ``nodes[n]``, shrinks what *vm* still needs (``NUMARequest.shrink``), adds
    the node to what is allocated (``NUMAResource.union``) and pushes ``n`` on
    the front of ``picked`` (``node :: picked``), so ``picked`` ends up in
    descending order.  Valid iff nothing is still needed, i.e. the remainder
    fits ``NUMAResource.empty``: ``(avg, picked, allocated)``; else ``None``.
    """
    picked: list[int] = []
    allocated, remaining = NUMAResource.empty, vm
    for n in candidate:
        resource = array_get(nodes, n)
        remaining = NUMARequest.shrink(remaining, resource)
        allocated = allocated.union(resource)
        picked = [n, *picked]
    if not NUMARequest.fits(remaining, NUMAResource.empty):
        return None
    return avg, picked, allocated


def take_same_distance(seq: Iterable[tuple[float, A, B]]) -> Iterator[tuple[A, B]]:
    """``take_same_distance`` (softaffinity.ml:48-65): the run sharing the first's distance.

    Yields the first element's ``(a, b)``, then each following one's while
    ``abs(avg - first) < 1e-3``; stops at (after pulling) the first that
    differs.  Pulls from *seq* only as its own elements are asked for.
    """
    it = iter(seq)
    head = next(it, None)
    if head is None:
        return
    first, a, b = head
    yield a, b
    for avg, a, b in it:
        if abs(avg - first) >= SAME_DISTANCE_EPSILON:
            return
        yield a, b


def plan(
    host: NUMA, nodes: Sequence[NUMAResource], vm: NUMARequest
) -> tuple[CPUSet, list[int]] | None:
    """``Softaffinity.plan host nodes ~vm`` (softaffinity.ml:22-78).

    *nodes* is indexed by node id: ``nodes[n]`` is what node ``n`` offers now
    (``NUMA.resource host n ~memory``).  The pipeline, lazy end to end:

    1. ``NUMA.candidates host`` in planner order (max distance, then average);
    2. ``Seq.filter_map plan_valid``: :func:`plan_valid` on each, dropping the
       invalid ones (they do not end the run);
    3. :func:`take_same_distance`: the valid ones whose average is within
       ``1e-3`` of the first valid one's, up to the first valid one that is not;
    4. ``NUMA.choose`` (:meth:`NUMA.choose`): least total ``node_usage``, then
       the smallest ``picked`` list, ties keep the earlier; bumps ``node_usage``
       of the chosen nodes.

    Returns ``(allocated CPUs, picked nodes in descending order)``, or ``None``
    if no candidate is valid (``node_usage`` unchanged).  Like OCaml's
    ``assert (NUMARequest.fits vm allocated)`` (l.77), raises
    ``AssertionError`` if the allocation does not fit the request (possible
    only when *nodes* overlap in CPUs), whatever Python's ``-O``.
    """
    valid = (
        v
        for avg, candidate in host.candidates
        if (v := plan_valid(nodes, vm, avg, candidate)) is not None
    )
    best_allocations = take_same_distance(valid)
    chosen = host.choose(best_allocations)
    if chosen is None:
        return None
    allocated, picked = chosen
    if not NUMARequest.fits(vm, allocated):
        raise AssertionError("softaffinity.ml:77: assert (NUMARequest.fits vm allocated)")
    return allocated.affinity, picked


class Softaffinity:
    """``module Softaffinity``: ``Softaffinity.plan(host, nodes, vm)``."""

    plan = staticmethod(plan)
