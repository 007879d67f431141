"""Scenario files: checked against the schema, refused by path, replayed under each rule set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claims.__main__ import main
from claims.review.report import text
from claims.review.runner import compare, run
from claims.review.scenario import SHIPPED, ScenarioError, load, loads, pages, shipped
from claims.views.report import html_report

SCENARIOS = sorted(SHIPPED.glob("*.yaml"))

GOOD = """
name: t
host: {nodes: [64MiB, 256], base_mfn: 0x100000}
domains:
  - {domain: a, max_memory: 32MiB}
steps:
  - {op: claim, domain: a, entries: [{node: 1, pages: 200}, {host: true, pages: 10}]}
  - {op: populate, domain: a, extents: 3, order: 2, node: 1, exact: true}
"""


def test_sizes() -> None:
    assert pages("64MiB") == 16384 and pages("2GiB") == 1 << 19 and pages(7) == 7
    with pytest.raises(ValueError, match="whole number of 4 KiB pages"):
        pages("6KiB")


def test_good_file_runs_with_real_numbers() -> None:
    sc = loads(GOOD)
    assert sc.nodes == [16384, 256] and sc.base_mfn == 0x100000
    r = run(sc, "v7")
    claim, pop = r.results
    assert claim.rc == 0 and claim.claims == {"a": (210, (0, 200))}
    assert pop.rc == 0 and pop.pages_by_node == {1: 12}
    assert pop.claims == {"a": (198, (0, 188))}  # 12 pages redeemed from the node-1 claim
    assert all(r.xen.mfn_to_nid(m) == 1 for m in pop.mfns)
    m = run(sc, "master")
    assert m.results[0].outcome == "ENOSYS" and m.results[1].claims == {"a": (0, (0, 0))}


BAD = [
    ("host: {preset: demo}\nsteps: [{op: fly}]", "steps[0].op", "unknown op"),
    ("host: {preset: demo}\nsteps: [{op: claim, domain: a, entries: []}]", "steps[0].domain",
     "no domain 'a'"),
    ("host: {preset: demo}\ndomains: [{domain: a}]\nsteps: [{op: claim, domain: a, entries: "
     "[{node: 5, pages: 1}]}]", "steps[0].entries[0].node", "host has 2"),
    ("host: {preset: demo}\ndomains: [{domain: a}]\nsteps: [{op: claim, domain: a, entries: "
     "[{node: 0, pages: 1}, {node: 0, pages: 2}]}]", "steps[0].entries[1]", "second entry"),
    ("host: {preset: demo}\ndomains: [{domain: a}]\nsteps: [{op: populate, domain: a, size: "
     "-4}]", "steps[0].size", ""),
    ("host: {preset: demo}\ndomains: [{domain: a}]\nsteps: [{op: populate, domain: a, size: "
     "1PB}]", "steps[0].size", ""),
    ("host: {preset: demo}\ndomains: [{domain: a}]\nsteps: [{op: populate, domain: a, size: "
     "3, order: 1}]", "steps[0].size", "order-1 extents"),
    ("host: {preset: demo}\ndomains: [{domain: a}]\nsteps: [{op: populate, domain: a, exact: "
     "true, size: 4}]", "steps[0].exact", "needs a 'node'"),
    ("host: {preset: demo}\ndomains: [{domain: a}]\nsteps: [{op: destroy, domain: a}, "
     "{op: release, domain: a}]", "steps[1].domain", "destroyed"),
    ("host: {nodes: []}\nsteps: []", "host.nodes", ""),
    ("host: {preset: demo, nodes: [1]}\nsteps: []", "host", ""),
    ("steps: []", "(top)", "'host' is a required property"),
    ("host: {preset: demo}\nsteps: [{op: offline, mfn: zz}]", "steps[0].mfn", ""),
    ("host: {preset: demo}\nsteps: [{op: scrub, color: red}]", "steps[0]", "color"),
    ("host: {preset: demo}\nsteps: {op: scrub}", "steps", "not of type 'array'"),
    ("host: [", "(file)", "not valid YAML"),
    ("- 1\n- 2", "(top)", "not of type 'object'"),
]  # fmt: skip


@pytest.mark.parametrize(("src", "path", "why"), BAD)
def test_bad_files_are_refused_by_path(src: str, path: str, why: str) -> None:
    with pytest.raises(ScenarioError) as e:
        loads(src)
    assert e.value.path == path, str(e.value)
    assert why in e.value.reason


def test_nothing_in_a_file_is_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    src = f"host: !!python/object/apply:os.system ['touch {marker}']\nsteps: []"
    with pytest.raises(ScenarioError, match="not valid YAML"):
        loads(src)
    assert not marker.exists()


def test_json_files(tmp_path: Path) -> None:
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"host": {"preset": "demo"}, "steps": [{"op": "scrub"}]}))
    assert load(f).steps == [{"op": "scrub"}]
    f.write_text("{")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load(f)
    with pytest.raises(ScenarioError, match="ends in .yaml"):
        load(tmp_path / "s.txt")


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenarios_run_under_every_rule_set(path: Path) -> None:
    cmp = compare(load(path), ["master", "v6", "v7", "v8"])
    for r in cmp.runs:
        r.xen.check_invariants()
        assert len(r.results) == len(cmp.scenario.steps)
    assert "steps differ" in text(cmp)


def test_parallel_builds_numbers() -> None:
    cmp = compare(load(shipped("parallel-builds")), ["master", "v6", "v7"])
    master, v6, v7 = cmp.runs
    # with only host-wide claims, vm2 takes node 0 and vm1's exact build fails
    assert master.results[2].pages_by_node == {0: 4096}
    assert master.results[3].outcome == "0 of 6 extents"
    # a node claim keeps node 0 for vm1: vm2 gets the rest of node 0 and node 1
    for r in (v6, v7):
        assert r.results[2].pages_by_node == {0: 1024, 1: 3072}
        assert r.results[3].rc == 0 and r.results[3].pages_by_node == {0: 3072}
    assert cmp.differing_steps() == [0, 1, 2, 3]


def test_cli_text_and_self_contained_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(GOOD)
    out = tmp_path / "r.html"
    assert main(["run", str(f), "--semantics", "master,v7", "--html", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "≠ #1 claim" in printed and "ENOSYS" in printed
    page = out.read_text()
    assert page.count("<script") >= 3 and 'src="http' not in page  # plotly.js inlined
    assert "Plotly.newPlot" in page
    cmp = compare(loads(GOOD), ["v7"])
    assert "0 of 2 steps differ" in html_report(cmp)


def test_cli_refuses_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("host: {preset: demo}\nsteps: [{op: fly}]")
    assert main(["run", str(f)]) == 2
    err = capsys.readouterr().err
    assert "steps[0].op: unknown op 'fly'" in err
    with pytest.raises(SystemExit):
        main(["run", str(f), "--semantics", "v9"])


def test_raw_targets_reach_xen_checks() -> None:
    src = """
host: {preset: demo}
domains: [{domain: vm}]
steps:
  - {op: claim, domain: vm, entries: [{target: 5, pages: 1}]}
  - {op: claim, domain: vm, entries: [{legacy: true, pages: 100}, {node: 0, pages: 10}]}
  - {op: claim, domain: vm, entries: [{legacy: true, pages: 100}]}
"""
    r = run(loads(src), "v7")
    assert [s.outcome for s in r.results] == ["ENOENT", "EINVAL", "0"]
    assert r.results[2].claims == {"vm": (100, (0, 0))}
    assert "legacy=100" in r.results[1].label


def test_question_scenarios_numbers() -> None:
    root = SHIPPED
    master, v6, v7 = compare(load(root / "shortfall-gate.yaml"), ["master", "v6", "v7"]).runs
    assert [r.results[2].outcome for r in (master, v6, v7)] == [
        "0 of 1 extents",
        "0",
        "0 of 1 extents",
    ]
    master, v6, v7 = compare(load(root / "offline-recall.yaml"), ["master", "v6", "v7"]).runs
    assert v7.results[-1].claims == {"a": (1998, (1998, 0)), "b": (2096, (2096, 0))}
    assert v6.results[-1].counters["claimed_pages"] == (4096, 0)  # more claimed than free
    assert v6.results[-1].counters["node_avail_pages"] == (4094, 4096)
    assert master.results[-1].counters["outstanding_claims"] == 8192 > 8190
    *_, v7 = compare(load(root / "claim-set-size.yaml"), ["master", "v6", "v7"]).runs
    assert [s.outcome for s in v7.results] == ["0", "ENOENT", "E2BIG"]


def test_shipped_names() -> None:
    assert shipped("parallel-builds").name == "parallel-builds.yaml"
    with pytest.raises(ValueError, match="there are: big-claims"):
        shipped("nope")


def test_get_claims_step() -> None:
    v6, v7 = compare(load(shipped("get-claims")), ["v6", "v7"]).runs
    assert [r.outcome for r in v7.results] == ["0", "ERANGE", "ERANGE", "0", "0", "0"]
    assert v7.results[1].reason.endswith("nr_entries out: 3")
    assert v7.results[5].reason.endswith("entries: host=44, node0=300")
    assert v6.results[1].outcome == "EOPNOTSUPP"  # v6 had no GET


def test_numainfo_step_shows_memfree_counts_claims() -> None:
    (v7,) = compare(load(shipped("placement-blind-to-claims")), ["v7"]).runs
    assert v7.results[2].reason == (
        "memfree [4096, 3584] pages (claims included); unclaimed [1096, 3584]"
    )
    assert [s.outcome for s in v7.results[3:]] == ["ENOMEM", "0"]


def test_v8_refuses_replacement_and_releases_with_an_empty_set() -> None:
    """replace-claim: v7 moves the claim in one SET; v8 needs release-then-set, and another
    domain's allocation in between takes the memory the claim wanted."""
    master, v7, v8 = compare(load(shipped("replace-claim")), ["master", "v7", "v8"]).runs
    assert [r.outcome for r in master.results[:3]] == ["ENOSYS"] * 3
    assert [r.outcome for r in v7.results[:3]] == ["0", "0", "EINVAL"]
    assert [r.outcome for r in v8.results[:3]] == ["0", "EINVAL", "0"]
    assert v7.results[1].claims["vm"] == (2048, (0, 2048))  # moved to node 1
    assert v8.results[1].claims["vm"] == (2048, (2048, 0))  # unchanged
    assert v8.results[2].claims["vm"] == (0, (0, 0))  # released
    assert v7.results[3].outcome == "4 of 6 extents"  # node 1's claim protects it
    assert v8.results[3].outcome == "0" and v8.results[3].pages_by_node == {1: 3072}
    assert v7.results[4].outcome == "0" and v8.results[4].outcome == "ENOMEM"


def test_v8_needs_a_paused_domain_to_set_claims() -> None:
    v7, v8 = compare(load(shipped("claim-while-running")), ["v7", "v8"]).runs
    assert [r.outcome for r in v7.results] == [
        "0",
        "0",
        "0",
        "0",
        "EINVAL",
        "0",
        "0",
        "0",
        "EINVAL",
    ]
    assert [r.outcome for r in v8.results] == ["0", "EBUSY", "0", "0", "0", "0", "0", "0", "EINVAL"]
    assert v8.results[6].claims["vm"] == (1000, (1000, 0))


def test_text_report_breaks_between_fields_not_inside_numbers() -> None:
    """Every shipped scenario's report fits 100 columns; a long line breaks between
    fields, and its pieces put together again are the one-line outcome."""
    import re

    from claims.review.report import WIDTH, result_chunks, result_line
    from claims.review.scenario import SHIPPED

    for name in sorted(p.stem for p in SHIPPED.glob("*.yaml")):
        cmp = compare(load(shipped(name)), ["master", "v6", "v7", "v8"])
        report = text(cmp)
        for line in report.splitlines():
            assert len(line) <= WIDTH or line.startswith(
                ("scenario:", "question:", "≠ #", "  #")
            ), (
                name,
                line,
            )
        for each in cmp.runs:
            for r in each.results:
                assert "".join(result_chunks(r)) == result_line(r)
                one = re.sub(r"\s+", " ", result_line(r))
                assert one in re.sub(r"\s+", " ", report.replace("\n             ", " "))
    assert max(map(len, report.splitlines())) > 60  # the test saw real reports
