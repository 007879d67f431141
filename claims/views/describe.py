"""Events and flags as people read them: symbolic names in place of raw numbers.

``Event.short()`` (the hypervisor layer) prints arguments as they were passed,
``mode=0`` and ``memflags=131088``; the views show them as a Xen reader writes
them, ``mode=SET`` and ``memflags=MEMF_node(1)|MEMF_exact_node``.  The names follow
``xen/include/xen/mm.h`` (memflags), ``xen/include/public/domctl.h`` (claim modes
and targets) and ``xen/include/public/errno.h`` (return codes).
"""

from __future__ import annotations

from typing import Any

from ..hypervisor import constants as c
from ..hypervisor.errors import errname
from ..hypervisor.events import Event
from ..hypervisor.public import (
    XEN_DOMCTL_CLAIM_MEMORY_GET,
    XEN_DOMCTL_CLAIM_MEMORY_SET,
    target_name,
)

_MEMF_FLAGS = (
    ("MEMF_no_refcount", c.MEMF_no_refcount),
    ("MEMF_populate_on_demand", c.MEMF_populate_on_demand),
    ("MEMF_keep_scrub", c.MEMF_keep_scrub),
    ("MEMF_no_dma", c.MEMF_no_dma),
    ("MEMF_exact_node", c.MEMF_exact_node),
    ("MEMF_no_owner", c.MEMF_no_owner),
    ("MEMF_no_tlbflush", c.MEMF_no_tlbflush),
    ("MEMF_no_icache_flush", c.MEMF_no_icache_flush),
    ("MEMF_no_scrub", c.MEMF_no_scrub),
)
_CLAIM_MODES = {XEN_DOMCTL_CLAIM_MEMORY_SET: "SET", XEN_DOMCTL_CLAIM_MEMORY_GET: "GET"}
_HIDDEN_ARGS = ("caller", "entries", "extent_start")


def memflags_text(memflags: int) -> str:
    """*memflags* as C writes them: ``MEMF_node(1)|MEMF_exact_node``, ``0`` for none
    (``xen/include/xen/mm.h``); bits no macro names stay as a hexadecimal rest."""
    parts = [name for name, bit in _MEMF_FLAGS if memflags & bit]
    rest = memflags & ~c.MEMF_ALL
    node = c.MEMF_get_node(memflags & c.MEMF_ALL)
    if node != c.NUMA_NO_NODE:
        parts.insert(0, f"MEMF_node({node})")
    bits = (memflags >> c._MEMF_bits) & 0xFF
    if bits:
        parts.append(f"MEMF_bits({bits})")
    if rest:
        parts.append(f"{rest:#x}")
    return "|".join(parts) or "0"


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 allocation``, ``2 allocations``: a count with its noun in agreement."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def arg_text(key: str, value: Any) -> str:
    """One argument of an event, by name: domains as ``d1``, claim modes as ``SET``,
    memflags by macro, ``max_pages`` of ``~0U`` as unlimited, large numbers in hex."""
    if key == "d":
        return "d=Xen" if value is None else f"d=d{value}"
    if key == "mode" and isinstance(value, int):
        return f"mode={_CLAIM_MODES.get(value, hex(value))}"
    if key == "memflags" and isinstance(value, int):
        return f"memflags={memflags_text(value)}"
    if key == "target" and isinstance(value, int):
        return f"target={target_name(value)}"
    if key == "max_pages" and value == c.MAX_PAGES_UNLIMITED:
        return "max_pages=unlimited"
    if key == "mfn" and isinstance(value, int) and not isinstance(value, bool):
        return f"mfn={value:#x}"
    return f"{key}={value}"


def result_text(op: str, result: Any) -> str:
    """An event's result as its caller reads it: ``NULL`` for a failed allocation,
    ``-EINVAL`` for a negative errno, an MFN in hexadecimal."""
    if result is None:
        return "NULL"
    if isinstance(result, bool) or not isinstance(result, int):
        return str(result)
    if result < 0:
        return "-" + errname(result)
    if op.startswith(("alloc_", "init_heap")) or result > 4096:
        return f"{result:#x}"
    return str(result)


def event_text(ev: Event) -> str:
    """One line for an event: ``#3 alloc_domheap_pages(d=d1, order=9,
    memflags=MEMF_node(1)|MEMF_exact_node) → 0x2e00``, with Xen's reason if it gave one."""
    args = ", ".join(arg_text(k, v) for k, v in ev.args.items() if k not in _HIDDEN_ARGS)
    why = ev.info.get("reason")
    line = f"#{ev.seq} {ev.op}({args}) → {result_text(ev.op, ev.result)}"
    return line + (f" ({why})" if why else "")


def redeemed_text(redeemed: dict[str, int] | None) -> str:
    """Where an allocation's pages were redeemed from: ``node2 512, host 12`` or
    ``no claim``."""
    if not redeemed:
        return "no claim"
    return ", ".join(f"{k} {v}" for k, v in redeemed.items())
