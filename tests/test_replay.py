"""Replaying a host's events rebuilds it exactly (the trace scrubber relies on it)."""

from __future__ import annotations

import random

import pytest
from test_random_heap import build, step

import claims
from claims import DOM0, XEN_DOMCTL_CLAIM_MEMORY_HOST, xen_memory_claim_t
from claims.hypervisor.memory import XENMEMF_exact_node
from claims.review.replay import replay


def test_replay_of_a_build_with_claims() -> None:
    xen = claims.hosts.demo()
    d = xen.domain_create()
    arr = (xen_memory_claim_t * 2)(
        xen_memory_claim_t(600, 0), xen_memory_claim_t(100, XEN_DOMCTL_CLAIM_MEMORY_HOST)
    )
    xen.do_domctl_claim_memory(DOM0, d, 0, 2, arr)
    xen.do_memory_op_populate_physmap(DOM0, d.domid, 2, 9, XENMEMF_exact_node(0), [0, 512])
    xen.do_memory_op_decrease_reservation(DOM0, d.domid, 3, 0, [0, 1, 600])
    xen.offline_page(0x1003)
    xen.do_memory_op_claim_pages(DOM0, d.domid, 0)
    copy = replay(xen)
    assert copy.state() == xen.state()
    assert [e.op for e in copy.events.top_level()] == [e.op for e in xen.events.top_level()]
    # part of the way
    half = replay(xen, 3)  # init, create, claim
    assert half.domains[d.domid].outstanding_pages == 700


@pytest.mark.parametrize("semantics", ["master", "v7"])
def test_replay_of_random_runs(semantics: str) -> None:
    rng = random.Random(5)
    xen = build(semantics, rng)
    xen.domain_create()
    for _ in range(400):
        step(xen, rng, broken=True)
    assert replay(xen).state() == xen.state()


def test_unpause_ends_the_build_and_replays() -> None:
    xen = claims.hosts.demo()
    d = xen.domain_create()
    assert xen.do_memory_op_populate_physmap(DOM0, d.domid, 1, 0, 0, [0]) == 1
    assert not d.creation_finished
    assert xen.domain_unpause_by_systemcontroller(d) == 0 and d.creation_finished
    assert xen.events.last().op == "domain_unpause_by_systemcontroller"
    twin = replay(xen)
    assert twin.state() == xen.state() and twin.domains[d.domid].creation_finished
