"""A set of integers kept as sorted, disjoint half-open runs ``[start, end)``.

The model uses it for per-page bits that would cost a byte per page if stored
densely (``PGC_need_scrub``, pages handed to the heap): its size grows with the
number of runs, never with the number of pages.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator


class RangeSet:
    """Sorted disjoint runs; adjacent runs are merged."""

    __slots__ = ("_s", "_e")

    def __init__(self) -> None:
        self._s: list[int] = []
        self._e: list[int] = []

    def copy(self) -> RangeSet:
        other = RangeSet()
        other._s = self._s.copy()
        other._e = self._e.copy()
        return other

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RangeSet) and self._s == other._s and self._e == other._e

    def __len__(self) -> int:
        """Number of integers in the set."""
        return sum(e - s for s, e in zip(self._s, self._e))

    def __bool__(self) -> bool:
        return bool(self._s)

    def __contains__(self, x: int) -> bool:
        i = bisect_right(self._s, x) - 1
        return i >= 0 and x < self._e[i]

    def runs(self, start: int | None = None, end: int | None = None) -> Iterator[tuple[int, int]]:
        """The runs, clipped to ``[start, end)`` when given."""
        if start is None or end is None:
            yield from zip(self._s, self._e)
            return
        i = bisect_right(self._e, start)
        while i < len(self._s) and self._s[i] < end:
            yield max(self._s[i], start), min(self._e[i], end)
            i += 1

    def count(self, start: int, end: int) -> int:
        """How many integers of ``[start, end)`` are in the set."""
        return sum(e - s for s, e in self.runs(start, end))

    def overlaps(self, start: int, end: int) -> bool:
        """Whether some integer of ``[start, end)`` is in the set (never, if it is empty)."""
        if start >= end:
            return False
        i = bisect_right(self._e, start)
        return i < len(self._s) and self._s[i] < end

    def add(self, start: int, end: int) -> int:
        """Add ``[start, end)``; return how many integers were new."""
        if start >= end:
            return 0
        i = bisect_left(self._e, start)  # first run ending at or after start
        j = bisect_right(self._s, end)  # runs starting at or before end touch
        had = sum(max(0, min(self._e[k], end) - max(self._s[k], start)) for k in range(i, j))
        new = (end - start) - had
        if i < j:
            start = min(start, self._s[i])
            end = max(end, self._e[j - 1])
        self._s[i:j] = [start]
        self._e[i:j] = [end]
        return new

    def remove(self, start: int, end: int) -> int:
        """Remove ``[start, end)``; return how many integers were removed."""
        if start >= end:
            return 0
        i = bisect_right(self._e, start)  # first run ending after start
        j = bisect_left(self._s, end)  # runs starting before end overlap
        if i >= j:
            return 0
        removed = 0
        new_s: list[int] = []
        new_e: list[int] = []
        for k in range(i, j):
            s, e = self._s[k], self._e[k]
            removed += min(e, end) - max(s, start)
            if s < start:
                new_s.append(s)
                new_e.append(start)
            if e > end:
                new_s.append(end)
                new_e.append(e)
        self._s[i:j] = new_s
        self._e[i:j] = new_e
        return removed
