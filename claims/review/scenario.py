"""Scenario files: a host, its domains and toolstack steps, as data (YAML or JSON).

A scenario is read with ``yaml.safe_load`` or ``json`` (nothing in a file is
ever executed), checked against :data:`SCHEMA` (JSON Schema) and then against
itself (names that must exist, nodes the host has).  A bad file is refused
with :class:`ScenarioError`, which names the path of the bad field
(``steps[3].entries[0].node``) and the reason.

Sizes are pages (an integer) or a string with a unit: ``"64MiB"``, ``"2GiB"``
(4 KiB pages).  MFNs and frame numbers may be written in hex (``"0x1000"``).

The runner is :mod:`claims.review.runner`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..hypervisor.constants import PAGE_SHIFT
from ..hypervisor.public import XEN_DOMCTL_CLAIM_MEMORY_HOST, XEN_DOMCTL_CLAIM_MEMORY_LEGACY

UNITS = {"KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}
SIZE_RE = r"^[0-9]+(KiB|MiB|GiB|TiB)$"
HEX_RE = r"^0x[0-9a-fA-F]+$"
MAX_NODES = 64
MAX_STEPS = 10_000
MAX_PAGES = 1 << 40  # 4 PiB: anything larger is a typo

_size = {
    "oneOf": [
        {"type": "integer", "minimum": 0, "maximum": MAX_PAGES},
        {"type": "string", "pattern": SIZE_RE},
    ]
}
_frame = {
    "oneOf": [
        {"type": "integer", "minimum": 0, "maximum": (1 << 52) - 1},
        {"type": "string", "pattern": HEX_RE},
    ]
}
_name = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$"}
_node = {"type": "integer", "minimum": 0, "maximum": MAX_NODES - 1}


def _step(op: str, required: list[str], **props: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"op": {"const": op}, "note": {"type": "string"}, **props},
        "required": ["op", *required],
        "additionalProperties": False,
    }


_entry = {
    "type": "object",
    "properties": {
        "node": _node,  # a node of the host
        "host": {"const": True},  # the host-wide entry
        "legacy": {"const": True},  # XEN_DOMCTL_CLAIM_MEMORY_LEGACY, to probe the domctl
        "target": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},  # any raw target
        "pages": _size,
    },
    "required": ["pages"],
    "oneOf": [
        {"required": ["node"]},
        {"required": ["host"]},
        {"required": ["legacy"]},
        {"required": ["target"]},
    ],
    "additionalProperties": False,
}

STEPS: dict[str, dict[str, Any]] = {
    "create": _step(
        "create",
        ["domain"],
        domain=_name,
        max_memory=_size,
        node_affinity={"type": "array", "items": _node, "minItems": 1, "maxItems": MAX_NODES},
    ),
    "claim": _step(
        "claim",
        ["domain", "entries"],
        domain=_name,
        # up to a few past Xen's MAX_NUMNODES + 1, so that a file can probe -E2BIG
        entries={"type": "array", "items": _entry, "maxItems": MAX_NODES + 8},
    ),
    "legacy_claim": _step("legacy_claim", ["domain", "pages"], domain=_name, pages=_size),
    # release every claim: XENMEM_claim_pages(0), or with "empty_set" the claim domctl with no
    # entries (v8's release; v6 and v7 refuse nr_entries 0 with EINVAL)
    "release": _step("release", ["domain"], domain=_name, empty_set={"type": "boolean"}),
    # XEN_DOMCTL_claim_memory GET into a buffer of so many entries (0: the size query)
    "get_claims": _step(
        "get_claims",
        ["domain"],
        domain=_name,
        buffer={"type": "integer", "minimum": 0, "maximum": MAX_NODES + 8},
    ),
    "populate": _step(
        "populate",
        ["domain"],
        domain=_name,
        size=_size,
        extents={"type": "integer", "minimum": 1, "maximum": 1 << 24},
        order={"type": "integer", "minimum": 0, "maximum": 18},
        node=_node,
        exact={"type": "boolean"},
        gfn=_frame,
    ),
    "decrease": _step(
        "decrease",
        ["domain"],
        domain=_name,
        size=_size,
        extents={"type": "integer", "minimum": 1, "maximum": 1 << 24},
        order={"type": "integer", "minimum": 0, "maximum": 18},
        gfn=_frame,
    ),
    "finish_build": _step("finish_build", ["domain"], domain=_name),
    # the toolstack's pause and unpause (a domain is created paused; v8's SET needs it paused)
    "pause": _step("pause", ["domain"], domain=_name),
    "unpause": _step("unpause", ["domain"], domain=_name),
    # what a toolstack's placement reads: XEN_SYSCTL_numainfo's memfree per node
    "numainfo": _step("numainfo", []),
    "offline": _step("offline", ["mfn"], mfn=_frame),
    "online": _step("online", ["mfn"], mfn=_frame),
    "scrub": _step("scrub", [], node=_node),
    "destroy": _step("destroy", ["domain"], domain=_name),
    "set_max_memory": _step("set_max_memory", ["domain", "size"], domain=_name, size=_size),
}

# a domain listed under "domains" is a create step without "op"
_DOMAIN = {
    "type": "object",
    "properties": {k: v for k, v in STEPS["create"]["properties"].items() if k != "op"},
    "required": ["domain"],
    "additionalProperties": False,
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "claims scenario",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "question": {"type": "string"},
        "host": {
            "type": "object",
            "properties": {
                "preset": {"enum": ["demo", "small"]},
                "nodes": {"type": "array", "items": _size, "minItems": 1, "maxItems": MAX_NODES},
                "base_mfn": _frame,
                "dirty": {"type": "boolean"},
            },
            "oneOf": [{"required": ["preset"]}, {"required": ["nodes"]}],
            "additionalProperties": False,
        },
        "domains": {"type": "array", "items": _DOMAIN, "maxItems": 256},
        "steps": {"type": "array", "maxItems": MAX_STEPS},  # each checked against STEPS[op]
    },
    "required": ["host", "steps"],
    "additionalProperties": False,
}


class ScenarioError(ValueError):
    """A scenario file that cannot be run: ``path`` names the bad field."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class Scenario:
    """A checked scenario: sizes in pages, frames as ints, steps as plain dicts."""

    name: str
    description: str
    question: str
    nodes: list[int]  # pages per node
    base_mfn: int
    dirty: bool
    domains: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top)"


def pages(value: int | str) -> int:
    """A size in pages: an int, or ``"<n>KiB|MiB|GiB|TiB"`` (4 KiB pages)."""
    if isinstance(value, int):
        return value
    m = re.match(SIZE_RE, value)
    if m is None:
        raise ValueError(f"{value!r} is not a size")
    n, unit = int(value[: -len(m.group(1))]), m.group(1)
    size = n << UNITS[unit]
    if size % (1 << PAGE_SHIFT):
        raise ValueError(f"{value} is not a whole number of 4 KiB pages")
    return size >> PAGE_SHIFT


def frame(value: int | str) -> int:
    return value if isinstance(value, int) else int(value, 16)


def _parse(text: str, name: str) -> Any:
    if name.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ScenarioError("(file)", f"not valid JSON: {e}") from None
    try:
        return yaml.safe_load(text)  # safe_load: no tags, no objects, nothing executed
    except yaml.YAMLError as e:
        raise ScenarioError("(file)", f"not valid YAML: {e}") from None


def _short(message: str, limit: int = 160) -> str:
    """A schema message quotes the bad value; keep a long one readable."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _schema_error(data: Any) -> ScenarioError | None:
    import jsonschema  # here, not at import: it takes most of a second to load

    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        e = errors[0]
        return ScenarioError(_path(e.absolute_path), _short(e.message))
    steps = data["steps"]
    for i, st in enumerate(steps):
        if not isinstance(st, dict) or "op" not in st:
            return ScenarioError(f"steps[{i}]", "a step is a mapping with an 'op'")
        op = st["op"]
        if op not in STEPS:
            return ScenarioError(f"steps[{i}].op", f"unknown op {op!r}; one of {sorted(STEPS)}")
        sub = jsonschema.Draft202012Validator(STEPS[op])
        errs = sorted(sub.iter_errors(st), key=lambda e: (len(e.absolute_path), e.path))
        if errs:
            e = errs[0]
            return ScenarioError(_path(["steps", i, *e.absolute_path]), _short(e.message))
    return None


def loads(text: str, name: str = "scenario.yaml") -> Scenario:
    """Check and read a scenario from its text (JSON if *name* ends in ``.json``)."""
    if not isinstance(text, str):
        raise TypeError(f"a scenario is text, not {type(text).__name__}")
    data = _parse(text, name)
    err = _schema_error(data)
    if err is not None:
        raise err
    host = data["host"]
    if "preset" in host:
        nodes = [1 << 12, 1 << 12] if host["preset"] == "demo" else [1 << 10, 1 << 10]
        base = 1 << 12 if host["preset"] == "demo" else 1 << 10
    else:
        nodes = [pages(n) for n in host["nodes"]]
        base = frame(host.get("base_mfn", 1 << 20))
        for i, n in enumerate(nodes):
            if n == 0:
                raise ScenarioError(f"host.nodes[{i}]", "a node needs memory")
    sc = Scenario(
        name=str(data.get("name", name)).strip(),
        description=str(data.get("description", "")).strip(),
        question=str(data.get("question", "")).strip(),
        nodes=nodes,
        base_mfn=base,
        dirty=bool(host.get("dirty", False)),
        source=name,
    )
    known: set[str] = set()
    for i, dom in enumerate(data.get("domains", [])):
        _check_domain_fields(dom, f"domains[{i}]", len(nodes), known, create=True)
        sc.domains.append(_normalise(dict(dom)))
    for i, st in enumerate(data["steps"]):
        where = f"steps[{i}]"
        op = st["op"]
        _check_domain_fields(st, where, len(nodes), known, create=op == "create")
        if op == "destroy":
            known.discard(st["domain"])
        if op in ("populate", "decrease") and ("size" in st) == ("extents" in st):
            raise ScenarioError(where, f"{op} needs exactly one of 'size' and 'extents'")
        if op in ("populate", "decrease") and "size" in st:
            order = st.get("order", 0)
            if pages(st["size"]) % (1 << order):
                raise ScenarioError(f"{where}.size", f"not a whole number of order-{order} extents")
        if op == "populate" and st.get("exact") and "node" not in st:
            raise ScenarioError(f"{where}.exact", "an exact request needs a 'node'")
        if op == "claim":
            seen: set[object] = set()
            for j, e in enumerate(st["entries"]):
                key = target_name(_target(e))
                if key in seen:
                    # Xen refuses it with -EINVAL; a file says what it means once
                    raise ScenarioError(f"{where}.entries[{j}]", f"a second entry for {key}")
                seen.add(key)
        sc.steps.append(_normalise(dict(st)))
    return sc


def _check_domain_fields(
    st: dict[str, Any], where: str, nr_nodes: int, known: set[str], create: bool
) -> None:
    for key in ("node",):
        if key in st and st[key] >= nr_nodes:
            raise ScenarioError(f"{where}.{key}", f"node {st[key]} but the host has {nr_nodes}")
    for j, n in enumerate(st.get("node_affinity", [])):
        if n >= nr_nodes:
            raise ScenarioError(
                f"{where}.node_affinity[{j}]", f"node {n} but the host has {nr_nodes}"
            )
    for j, e in enumerate(st.get("entries", [])):
        if "node" in e and e["node"] >= nr_nodes:
            raise ScenarioError(
                f"{where}.entries[{j}].node", f"node {e['node']} but the host has {nr_nodes}"
            )
    name = st.get("domain")
    if name is None:
        return
    if create:
        if name in known:
            raise ScenarioError(f"{where}.domain", f"domain {name!r} exists already")
        known.add(name)
    elif name not in known:
        raise ScenarioError(f"{where}.domain", f"no domain {name!r} (not created, or destroyed)")


def _normalise(st: dict[str, Any]) -> dict[str, Any]:
    for k in ("size", "max_memory", "pages"):
        if k in st:
            st[k] = pages(st[k])
    for k in ("mfn", "gfn"):
        if k in st:
            st[k] = frame(st[k])
    if "entries" in st:
        st["entries"] = [{"target": _target(e), "pages": pages(e["pages"])} for e in st["entries"]]
    return st


def _target(e: dict[str, Any]) -> int:
    """An entry's raw ``target`` as the domctl sees it."""
    if "node" in e:
        return int(e["node"])
    if "host" in e:
        return XEN_DOMCTL_CLAIM_MEMORY_HOST
    if "legacy" in e:
        return XEN_DOMCTL_CLAIM_MEMORY_LEGACY
    return int(e["target"])


def target_name(target: int) -> str:
    """``node3``, ``host``, ``legacy`` or the raw number."""
    if target == XEN_DOMCTL_CLAIM_MEMORY_HOST:
        return "host"
    if target == XEN_DOMCTL_CLAIM_MEMORY_LEGACY:
        return "legacy"
    return f"node{target}" if target < MAX_NODES else f"target {target:#x}"


SHIPPED = Path(__file__).parent / "scenarios"  # the kit's own scenario files


def shipped(name: str) -> Path:
    """The path of a scenario that comes with the kit (``shipped("parallel-builds")``)."""
    path = SHIPPED / f"{name}.yaml"
    if not path.is_file():
        have = ", ".join(sorted(p.stem for p in SHIPPED.glob("*.yaml")))
        raise ValueError(f"no shipped scenario {name!r}; there are: {have}")
    return path


def load(path: str | Path) -> Scenario:
    """Check and read a scenario file (``.yaml``, ``.yml`` or ``.json``)."""
    p = Path(path)
    if p.suffix not in (".yaml", ".yml", ".json"):
        raise ScenarioError("(file)", f"{p.name}: a scenario file ends in .yaml, .yml or .json")
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError("(file)", f"cannot read {p}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ScenarioError("(file)", f"{p} is not UTF-8 text") from None
    return loads(text, p.name)
