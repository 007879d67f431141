"""The extent p2m against a plain dict of pages, over random maps and unmaps."""

from __future__ import annotations

import random

import pytest

from claims.hypervisor.p2m import P2M


@pytest.mark.parametrize("seed", range(8))
def test_p2m_matches_a_page_dict(seed: int) -> None:
    rng = random.Random(seed)
    p2m, ref = P2M(), dict[int, int]()
    for _ in range(3000):
        op = rng.random()
        order = rng.choice([0, 0, 1, 2, 3, 5])
        gfn = rng.randrange(0, 512) >> order << order
        span = range(gfn, gfn + (1 << order))
        if op < 0.45:
            free = not any(g in ref for g in span)
            assert p2m.overlaps(gfn, order) == (not free)
            if free:
                mfn = rng.randrange(0, 1 << 20) << order
                p2m.add(gfn, mfn, order)
                ref.update({g: mfn + (g - gfn) for g in span})
            else:
                with pytest.raises(ValueError):
                    p2m.add(gfn, 0, order)
        elif op < 0.7 and ref:
            g = rng.choice(sorted(ref))
            assert p2m.remove(g) == ref.pop(g)
        elif op < 0.9:
            ext = {h: (m, o) for h, m, o in p2m.extents()}
            got = p2m.remove_extent(gfn, order)
            if gfn in ext and ext[gfn][1] == order:
                assert got == ext[gfn][0]
                for g in span:
                    del ref[g]
            else:
                assert got is None
        g = rng.randrange(0, 520)
        assert p2m.get(g) == ref.get(g)
        assert p2m.overlaps_range(g, g + 7) == any(x in ref for x in range(g, g + 7))
    assert dict(p2m.items()) == ref and len(p2m) == len(ref)
    assert [h for h, _, _ in p2m.extents()] == sorted(h for h, _, _ in p2m.extents())


def test_unmapping_leaves_tombstones_then_compacts() -> None:
    """Removing extents one by one never shifts the head list; it is compacted in bulk."""
    p2m = P2M()
    n = 1 << 12
    p2m.add_run([i << 9 for i in range(n)], [i << 9 for i in range(n)], 9)
    heads = p2m._heads
    for i in range(n // 2):
        assert p2m.remove_extent(i << 9, 9) == i << 9
    assert p2m._heads is not heads or len(heads) == n  # same list, or one rebuild
    for i in range(n // 2, n):
        p2m.remove_extent(i << 9, 9)
    assert not p2m and len(p2m._heads) <= 2 * 64
    p2m.add(0, 5, 0)  # a tombstone at frame 0 comes back
    assert p2m.extents() == [(0, 5, 0)] and p2m.get(0) == 5 and p2m.get(1) is None
    p2m.add(512, 7, 9)  # covers tombstones at 512 (and none inside it remain)
    assert p2m.overlaps(600, 0) and not p2m.overlaps(1024, 9)


def test_freeing_mapped_pages_unmaps_just_those() -> None:
    import claims
    from claims import DOM0

    xen = claims.hosts.demo()
    d = xen.domain_create()
    assert xen.do_memory_op_populate_physmap(DOM0, d.domid, 2, 2, 0, [0, 4]) == 2
    m0, m1 = d.p2m[0], d.p2m[4]
    xen.free_domheap_pages(m1 + 2, 1)  # the top half of the second extent
    assert dict(d.p2m.items()) == {0: m0, 1: m0 + 1, 2: m0 + 2, 3: m0 + 3, 4: m1, 5: m1 + 1}
    assert d.tot_pages == 6 == len(d.p2m)
    xen.check_invariants()


@pytest.mark.parametrize("seed", range(6))
def test_replacing_any_range_matches_a_page_dict(seed: int) -> None:
    """``unmap_range`` then ``map_range``, as populate over mapped or misaligned frames does."""
    rng = random.Random(seed)
    p2m, ref = P2M(), dict[int, int]()
    for _ in range(1500):
        order = rng.choice([0, 0, 1, 2, 3, 5])
        gfn = rng.randrange(0, 512)  # often misaligned
        if rng.random() < 0.3:
            gfn = gfn >> order << order
        mfn = rng.randrange(0, 1 << 20) << order  # a buddy: aligned to its order
        span = range(gfn, gfn + (1 << order))
        runs = p2m.unmap_range(gfn, gfn + (1 << order))
        gone = {g: ref.pop(g) for g in span if g in ref}
        assert {g + i: m + i for g, m, n in runs for i in range(n)} == gone
        assert [g for g, _, _ in runs] == sorted(g for g, _, _ in runs)
        p2m.map_range(gfn, mfn, order)
        ref.update({g: mfn + (g - gfn) for g in span})
        if rng.random() < 0.3 and ref:
            g = rng.choice(sorted(ref))
            assert p2m.remove(g) == ref.pop(g)
        assert len(p2m) == len(ref)
    assert dict(p2m.items()) == ref
    for g, m, o in p2m.extents():  # every extent aligned in both frame numbers
        assert not g & ((1 << o) - 1) and not m & ((1 << o) - 1), (g, m, o)
    with pytest.raises(ValueError):
        g = next(iter(ref))
        p2m.map_range(g, 0, 0)


def test_populate_over_mapped_frames_replaces_the_mapping_and_keeps_the_old_pages() -> None:
    """x86 ``p2m_add_page``: the old pages stay the guest's, counted, unmapped."""
    import claims
    from claims import DOM0

    xen = claims.hosts.demo()
    d = xen.domain_create()
    free0 = xen.total_avail_pages
    assert xen.do_memory_op_populate_physmap(DOM0, d.domid, 1, 9, 0, [512]) == 1
    old = d.p2m[512]
    # order 9 at gfn 768: half over the first extent's top half, half over free frames
    assert xen.do_memory_op_populate_physmap(DOM0, d.domid, 1, 9, 0, [768]) == 1
    ev = xen.events[-1]
    new = ev.info["mfns"][0]
    assert ev.info["replaced"] == [(768, old + 256, 256)]
    assert d.p2m.extents() == [(512, old, 8), (768, new, 8), (1024, new + 256, 8)]
    assert d.tot_pages == 1024 and len(d.p2m) == 768  # 256 pages owned, not mapped
    assert xen.total_avail_pages == free0 - 1024
    assert xen.find_inuse_head(old + 256) == old and xen._inuse[old].owner is d
    # the guest frees what it maps; the unmapped pages go when the domain does
    assert xen.do_memory_op_decrease_reservation(DOM0, d.domid, 3, 8, [512, 768, 1024]) == 3
    assert d.tot_pages == 256 and not d.p2m
    assert xen.total_avail_pages == free0 - 256
    xen.check_invariants()
    xen.domain_kill(d)
    assert xen.total_avail_pages == free0
    xen.check_invariants()


def test_populate_at_a_misaligned_frame_maps_aligned_pieces() -> None:
    import claims
    from claims import DOM0

    xen = claims.hosts.demo()
    d = xen.domain_create()
    assert xen.do_memory_op_populate_physmap(DOM0, d.domid, 1, 2, 0, [6]) == 1
    m = xen.events[-1].info["mfns"][0]
    assert not m & 3 and "replaced" not in xen.events[-1].info
    # gfn 6 and MFN m differ by 2 mod 4: pieces of order 1 at most
    assert d.p2m.extents() == [(6, m, 1), (8, m + 2, 1)]
    assert dict(d.p2m.items()) == {6: m, 7: m + 1, 8: m + 2, 9: m + 3}
    assert d.tot_pages == 4
    xen.check_invariants()


def test_removing_an_unmapped_frame_is_enoent_and_stops_decrease_reservation() -> None:
    """x86 ``guest_remove_page``: ``-ENOENT`` for ``p2m_invalid``; without PoD the call stops."""
    import errno

    import claims
    from claims import DOM0

    xen = claims.hosts.demo()
    d = xen.domain_create()
    assert xen.do_memory_op_populate_physmap(DOM0, d.domid, 2, 0, 0, [10, 12]) == 2
    before = xen.state()
    assert xen.guest_remove_page(d, 11) == -errno.ENOENT
    assert xen.state() == before
    m = d.p2m[12]
    assert xen.do_memory_op_decrease_reservation(DOM0, d.domid, 3, 0, [10, 11, 12]) == 1
    assert "gfn 0xb: ENOENT" in xen.events[-1].info["reason"]
    assert d.p2m.get(10) is None and d.p2m[12] == m and d.tot_pages == 1
    xen.check_invariants()
