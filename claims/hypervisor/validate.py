"""Argument checks shared by every face: clear errors before any state changes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def check_int(name: str, value: object, lo: int | None = None, hi: int | None = None) -> int:
    """Return *value* if it is an int in ``[lo, hi]``; else raise naming *name*."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and math.isnan(value):
            raise TypeError(f"{name} must be an int, not NaN")
        raise TypeError(f"{name} must be an int, not {type(value).__name__} {value!r}")
    if lo is not None and value < lo:
        if lo == 0:
            raise ValueError(f"{name} must not be negative (got {value})")
        raise ValueError(f"{name} {value} is below {lo}")
    if hi is not None and value > hi:
        raise ValueError(f"{name} {value} is above {hi}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Return *value* if it is a bool (not merely truthy); else raise naming *name*."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__} {value!r}")
    return value


def check_nodes(name: str, nodes: object, max_numnodes: int, item: str = "node") -> frozenset[int]:
    """A set of node ids from the iterable *nodes*, each checked as it comes.

    Ids are checked one by one while iterating, so a huge or endless iterable
    is refused at its first id past ``MAX_NUMNODES``.
    """
    if isinstance(nodes, (str, bytes, Mapping)) or not isinstance(nodes, Iterable):
        raise TypeError(f"{name} must be an iterable of node ids, not {type(nodes).__name__}")
    return frozenset(check_int(item, n, 0, max_numnodes - 1) for n in nodes)


def check_order(order: object, max_order: int) -> int:
    """An order for a free: ``0..MAX_ORDER``."""
    check_int("order", order, 0)
    assert isinstance(order, int)
    if order > max_order:
        raise ValueError(f"order {order} is above MAX_ORDER ({max_order})")
    return order
