"""A domain's p2m (guest frame -> MFN), kept as aligned extents.

Memory grows with the number of extents mapped, not with pages: a guest
populated in 2 MiB extents costs one entry per extent.  Reads look like a
``dict[int, int]`` of pages.

Extents live in a dict by head frame; a sorted list of heads answers "which
extent holds this frame".  Removing an extent leaves its head in the list as
a tombstone (dropped when an extent is added over it, or when tombstones are
half the list), so that unmapping a big guest extent by extent stays linear.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

_COMPACT_AT = 64  # tombstones tolerated before compaction is considered


class P2M:
    """Extents ``gfn -> (mfn, order)``; ``p2m[gfn]`` is the MFN of one page."""

    __slots__ = ("_heads", "_ext", "_pages", "_dead")

    def __init__(self) -> None:
        self._heads: list[int] = []  # sorted; holds tombstones (heads not in _ext)
        self._ext: dict[int, tuple[int, int]] = {}
        self._pages = 0
        self._dead = 0  # tombstones in _heads; none lies inside a mapped extent

    def _find(self, gfn: int) -> int | None:
        i = bisect_right(self._heads, gfn) - 1
        if i >= 0:
            h = self._heads[i]
            e = self._ext.get(h)  # a tombstone: nothing live covers gfn (no tombstone inside one)
            if e is not None and gfn < h + (1 << e[1]):
                return h
        return None

    def _live_heads(self) -> Iterator[int]:
        ext = self._ext
        return (h for h in self._heads if h in ext) if self._dead else iter(self._heads)

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
        return bool(self._ext)

    def __iter__(self) -> Iterator[int]:
        for h in self._live_heads():
            yield from range(h, h + (1 << self._ext[h][1]))

    def items(self) -> Iterator[tuple[int, int]]:
        for h in self._live_heads():
            mfn, order = self._ext[h]
            for i in range(1 << order):
                yield h + i, mfn + i

    def extents(self) -> list[tuple[int, int, int]]:
        """``(gfn, mfn, order)`` for every extent, by guest frame."""
        return [(h, *self._ext[h]) for h in self._live_heads()]

    def overlaps(self, gfn: int, order: int) -> bool:
        return self.overlaps_range(gfn, gfn + (1 << order))

    def _heads_in(self, start: int, end: int) -> Iterator[int]:
        """The heads of the mapped extents holding a frame of ``[start, end)``, ascending."""
        first = self._find(start)
        if first is not None:
            yield first
        heads, ext = self._heads, self._ext
        j = bisect_right(heads, start)
        while j < len(heads) and heads[j] < end:
            if heads[j] in ext:  # (not a tombstone)
                yield heads[j]
            j += 1

    def overlaps_range(self, start: int, end: int) -> bool:
        """Whether any frame of ``[start, end)`` is mapped."""
        return next(self._heads_in(start, end), None) is not None

    def add(self, gfn: int, mfn: int, order: int, checked: bool = False) -> None:
        """Map ``[gfn, gfn + 2**order)`` to ``[mfn, ...)``; the range must be unmapped.

        *checked* skips the overlap test for a caller that made it for a whole run.
        """
        if not checked and self.overlaps(gfn, order):
            raise ValueError(f"gfn {gfn:#x} order {order} is already mapped")
        heads = self._heads
        if not heads or gfn > heads[-1]:
            heads.append(gfn)
        else:
            i = bisect_left(heads, gfn)
            if i < len(heads) and heads[i] == gfn:
                self._dead -= 1  # a tombstone comes back to life
            else:
                heads.insert(i, gfn)
            # drop the tombstones the new extent covers (none may lie inside an extent)
            end, j, ext = gfn + (1 << order), i + 1, self._ext
            while j < len(heads) and heads[j] < end and heads[j] not in ext:
                j += 1
            if j > i + 1:
                del heads[i + 1 : j]
                self._dead -= j - i - 1
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

    def _bury(self, h: int) -> tuple[int, int]:
        """Unmap the extent at head *h*, leaving a tombstone; its ``(mfn, order)``."""
        mfn, order = self._ext.pop(h)
        self._pages -= 1 << order
        self._dead += 1
        if self._dead > _COMPACT_AT and 2 * self._dead > len(self._heads):
            self._heads = [g for g in self._heads if g in self._ext]
            self._dead = 0
        return mfn, order

    def remove(self, gfn: int) -> int:
        """Unmap one page; return its MFN.  The extent holding it is split.

        The rest of the extent stays mapped as aligned pieces (gfn-aligned; the
        MFN offset follows), one of each order below the extent's.  They lie in
        the removed extent, so they overlap nothing, and their heads go into the
        sorted list with one slice insert, right after the extent's own head.
        """
        h = self._find(gfn)
        if h is None:
            raise KeyError(gfn)
        mfn, order = self._bury(h)
        heads, ext = self._heads, self._ext
        pieces: list[int] = []
        base = h
        for o in range(order - 1, -1, -1):
            half = 1 << o
            piece = base if gfn >= base + half else base + half
            if piece == base:
                base += half
            ext[piece] = (mfn + (piece - h), o)
            pieces.append(piece)
        self._pages += (1 << order) - 1
        if pieces:
            pieces.sort()
            i = bisect_left(heads, h)
            if i < len(heads) and heads[i] == h:  # the extent's head, now a tombstone
                i += 1
                if pieces[0] == h:
                    self._dead -= 1  # the lowest piece brings the tombstone back to life
                    pieces = pieces[1:]
            heads[i:i] = pieces  # (compaction in _bury may have dropped the tombstone)
        return mfn + (gfn - h)

    def unmap_range(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """Unmap every frame of ``[start, end)``; the ``(gfn, mfn, pages)`` runs that were mapped.

        An extent inside the range goes whole; one that sticks out loses only
        the frames inside (``remove``, page by page), the rest stays mapped.
        """
        ext = self._ext
        out = []
        for h in list(self._heads_in(start, end)):  # (listed first: unmapping edits the heads)
            mfn, order = ext[h]
            lo, hi = max(h, start), min(h + (1 << order), end)
            if lo == h and hi == h + (1 << order):
                self._bury(h)
            else:
                for g in range(lo, hi):
                    self.remove(g)
            out.append((lo, mfn + (lo - h), hi - lo))
        return out

    def map_range(self, gfn: int, mfn: int, order: int) -> None:
        """Map ``[gfn, gfn + 2**order)`` to ``[mfn, ...)``, unmapped, in aligned pieces.

        Each piece is as big as the alignment of both its frame numbers allows
        (as ``p2m_set_entry`` splits a request): one extent when *gfn* is
        aligned to the order, smaller ones when it is not.
        """
        if self.overlaps(gfn, order):
            raise ValueError(f"gfn {gfn:#x} order {order} is already mapped")
        end = gfn + (1 << order)
        while gfn < end:
            both = gfn | mfn
            o = min(order, (both & -both).bit_length() - 1) if both else order
            while gfn + (1 << o) > end:
                o -= 1
            self.add(gfn, mfn, o, checked=True)
            gfn += 1 << o
            mfn += 1 << o

    def remove_extent(self, gfn: int, order: int) -> int | None:
        """Unmap a whole extent if exactly that extent is mapped; return its MFN."""
        e = self._ext.get(gfn)
        if e is None or e[1] != order:
            return None
        return self._bury(gfn)[0]

    def clear(self) -> None:
        self._heads.clear()
        self._ext.clear()
        self._pages = 0
        self._dead = 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, P2M):
            return self.extents() == other.extents()
        if isinstance(other, dict):
            return dict(self.items()) == other
        return NotImplemented

    def __repr__(self) -> str:
        return f"P2M({len(self._ext)} extents, {self._pages} pages)"
