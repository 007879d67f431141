"""``scrub_free_pages``: clean the dirty free memory of a node (``xen/common/page_alloc.c``).

Without preemption: zones upward, orders downward, each free list from its
tail (where the dirty buddies are); a scrubbed buddy moves to the head as
clean.  The walk itself is ``HeapCore._scrub_node``.  ``docs/heap.md#scrubbing``.
"""

from __future__ import annotations

from collections.abc import Iterable

from .page_alloc import HeapCore
from .validate import check_int


def scrub(xen: HeapCore, node: int | None = None) -> int:
    """Scrub the dirty free buddies of *node* (all nodes for ``None``).

    ``scrub_free_pages`` without preemption (docs/heap.md#scrubbing): zones upward, orders
    downward, each list from its tail; a scrubbed buddy moves to the head as
    clean; the walk stops once ``node_need_scrub[node]`` is 0.  Returns the
    number of pages scrubbed.
    """
    if node is None:
        nodes: Iterable[int] = range(xen.nr_nodes)
    else:
        nodes = [check_int("node", node, 0, xen.nr_nodes - 1)]
    total = 0
    per_node: dict[int, int] = {}
    for n in nodes:
        cnt = xen._scrub_node(n)
        if cnt:
            per_node[n] = cnt
        total += cnt
    xen.events.record("scrub", {"node": node}, total, per_node=per_node, **xen._counters())
    return total
