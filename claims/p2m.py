"""A domain's p2m (guest frame -> MFN), kept as aligned extents.

Memory grows with the number of extents mapped, not with pages: a guest
populated in 2 MiB extents costs one entry per extent.  Reads look like a
``dict[int, int]`` of pages.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterator


class P2M:
    """Extents ``gfn -> (mfn, order)``; ``p2m[gfn]`` is the MFN of one page."""

    __slots__ = ("_heads", "_ext", "_pages")

    def __init__(self) -> None:
        self._heads: list[int] = []
        self._ext: dict[int, tuple[int, int]] = {}
        self._pages = 0

    def _find(self, gfn: int) -> int | None:
        i = bisect_right(self._heads, gfn) - 1
        if i >= 0:
            h = self._heads[i]
            if gfn < h + (1 << self._ext[h][1]):
                return h
        return None

    def get(self, gfn: int, default: int | None = None) -> int | None:
        h = self._find(gfn)
        return default if h is None else self._ext[h][0] + (gfn - h)

    def __getitem__(self, gfn: int) -> int:
        mfn = self.get(gfn)
        if mfn is None:
            raise KeyError(gfn)
        return mfn

    def __contains__(self, gfn: object) -> bool:
        return isinstance(gfn, int) and self._find(gfn) is not None

    def __len__(self) -> int:
        return self._pages

    def __bool__(self) -> bool:
        return bool(self._heads)

    def __iter__(self) -> Iterator[int]:
        for h in self._heads:
            yield from range(h, h + (1 << self._ext[h][1]))

    def items(self) -> Iterator[tuple[int, int]]:
        for h in self._heads:
            mfn, order = self._ext[h]
            for i in range(1 << order):
                yield h + i, mfn + i

    def extents(self) -> list[tuple[int, int, int]]:
        """``(gfn, mfn, order)`` for every extent, by guest frame."""
        return [(h, *self._ext[h]) for h in self._heads]

    def overlaps(self, gfn: int, order: int) -> bool:
        end = gfn + (1 << order)
        i = bisect_right(self._heads, gfn) - 1
        if i >= 0 and self._heads[i] + (1 << self._ext[self._heads[i]][1]) > gfn:
            return True
        return i + 1 < len(self._heads) and self._heads[i + 1] < end

    def overlaps_range(self, start: int, end: int) -> bool:
        """Whether any frame of ``[start, end)`` is mapped."""
        i = bisect_right(self._heads, start) - 1
        if i >= 0 and self._heads[i] + (1 << self._ext[self._heads[i]][1]) > start:
            return True
        return i + 1 < len(self._heads) and self._heads[i + 1] < end

    def add(self, gfn: int, mfn: int, order: int, checked: bool = False) -> None:
        """Map ``[gfn, gfn + 2**order)`` to ``[mfn, ...)``; the range must be unmapped.

        *checked* skips the overlap test for a caller that made it for a whole run.
        """
        if not checked and self.overlaps(gfn, order):
            raise ValueError(f"gfn {gfn:#x} order {order} is already mapped")
        if not self._heads or gfn > self._heads[-1]:
            self._heads.append(gfn)
        else:
            insort(self._heads, gfn)
        self._ext[gfn] = (mfn, order)
        self._pages += 1 << order

    def add_run(self, gfns: list[int], mfns: list[int], order: int) -> None:
        """Map ascending, unmapped, non-overlapping frames of one order in one go.

        The caller checked the whole range (``overlaps_range``); this only stores it.
        """
        if not gfns:
            return
        if self._heads and gfns[0] <= self._heads[-1]:
            for g, m in zip(gfns, mfns, strict=True):
                self.add(g, m, order, checked=True)
            return
        self._heads.extend(gfns)
        self._ext.update(zip(gfns, [(m, order) for m in mfns], strict=True))
        self._pages += len(gfns) << order

    def remove(self, gfn: int) -> int:
        """Unmap one page; return its MFN.  The extent holding it is split."""
        h = self._find(gfn)
        if h is None:
            raise KeyError(gfn)
        mfn, order = self._ext.pop(h)
        self._heads.remove(h)
        self._pages -= 1 << order
        # keep the rest as aligned pieces (gfn-aligned; the MFN offset follows)
        o = order
        base = h
        while o > 0:
            o -= 1
            half = 1 << o
            if gfn >= base + half:
                self.add(base, mfn + (base - h), o)
                base += half
            else:
                self.add(base + half, mfn + (base + half - h), o)
        return mfn + (gfn - h)

    def remove_extent(self, gfn: int, order: int) -> int | None:
        """Unmap a whole extent if exactly that extent is mapped; return its MFN."""
        e = self._ext.get(gfn)
        if e is None or e[1] != order:
            return None
        del self._ext[gfn]
        self._heads.remove(gfn)
        self._pages -= 1 << order
        return e[0]

    def clear(self) -> None:
        self._heads.clear()
        self._ext.clear()
        self._pages = 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, P2M):
            return self.extents() == other.extents()
        if isinstance(other, dict):
            return dict(self.items()) == other
        return NotImplemented

    def __repr__(self) -> str:
        return f"P2M({len(self._heads)} extents, {self._pages} pages)"
