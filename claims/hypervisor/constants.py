"""Constants of Xen's page allocator and public ABI, as the model uses them.

Architecture constants are defaults only: a host takes its own values
(docs/heap.md#parameters).  Memflags follow ``xen/include/xen/mm.h``;
page-offline status bits follow ``xen/include/public/sysctl.h``.
"""

from __future__ import annotations

# --- architecture defaults (x86-64), docs/heap.md#parameters -----------------
PAGE_SHIFT = 12
MAX_ORDER_X86 = 18
NR_ZONES_X86 = 41  # PADDR_BITS (52) - PAGE_SHIFT + 1
MAX_NUMNODES_X86 = 64
MEMZONE_XEN = 0
NUMA_NO_NODE = 0xFF
BITS_PER_LONG = 64

# --- buddy bookkeeping, docs/heap.md#page-state -------------------------------
INVALID_DIRTY_IDX = 0xFFFFFFFF  # "buddy is clean" (Xen: ~0U)

# --- memflags, docs/heap.md#get-free-buddy, docs/heap.md#domheap (xen/include/xen/mm.h) -----------
MEMF_no_refcount = 1 << 0
MEMF_populate_on_demand = 1 << 1
MEMF_keep_scrub = 1 << 2
MEMF_no_dma = 1 << 3
MEMF_exact_node = 1 << 4
MEMF_no_owner = 1 << 5
MEMF_no_tlbflush = 1 << 6
MEMF_no_icache_flush = 1 << 7
MEMF_no_scrub = 1 << 8
_MEMF_node = 16
MEMF_node_mask = 0xFF
_MEMF_bits = 24


def MEMF_node(node: int) -> int:
    """``MEMF_node(n)``: ask for node *n* (encoded as ``n + 1`` in bits 16-23)."""
    if isinstance(node, bool) or not isinstance(node, int):
        raise TypeError(f"MEMF_node: node must be an int, not {type(node).__name__}")
    if not 0 <= node < NUMA_NO_NODE:
        raise ValueError(f"MEMF_node: node {node} is out of range 0..{NUMA_NO_NODE - 1}")
    return ((node + 1) & MEMF_node_mask) << _MEMF_node


def MEMF_get_node(memflags: int) -> int:
    """``MEMF_get_node(f)``: the node asked for, or ``NUMA_NO_NODE`` (0xFF)."""
    if type(memflags) is not int:
        raise TypeError(f"MEMF_get_node: memflags must be an int, not {type(memflags).__name__}")
    return ((memflags >> _MEMF_node) - 1) & MEMF_node_mask


def MEMF_bits(bits: int) -> int:
    """``MEMF_bits(b)``: limit the allocation to addresses below ``2**b``."""
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"MEMF_bits: bits must be an int, not {type(bits).__name__}")
    if not 0 < bits < 256:
        raise ValueError(f"MEMF_bits: bits {bits} is out of range 1..255")
    return bits << _MEMF_bits


MEMF_ALL = (
    MEMF_no_refcount
    | MEMF_populate_on_demand
    | MEMF_keep_scrub
    | MEMF_no_dma
    | MEMF_exact_node
    | MEMF_no_owner
    | MEMF_no_tlbflush
    | MEMF_no_icache_flush
    | MEMF_no_scrub
    | (MEMF_node_mask << _MEMF_node)
    | (0xFF << _MEMF_bits)
)

# --- domain limits ------------------------------------------------------------
UINT32_MAX = 0xFFFFFFFF
UINT64_MAX = 0xFFFFFFFFFFFFFFFF
MAX_PAGES_UNLIMITED = UINT32_MAX  # d->max_pages after setmaxmem(-1)
DOMID_FIRST_RESERVED = 0x7FF0
DOMID_XEN = 0x7FF2
DOMID_INVALID = 0x7FF4

# --- page offline status (public/sysctl.h) ------------------------------------
PG_OFFLINE_INVALID = 1 << 0
PG_OFFLINE_OFFLINED = 1 << 1
PG_OFFLINE_PENDING = 1 << 2
PG_OFFLINE_FAILED = 1 << 3
PG_OFFLINE_AGAIN = 1 << 4
PG_ONLINE_FAILED = PG_OFFLINE_FAILED
PG_ONLINE_ONLINED = PG_OFFLINE_OFFLINED
PG_OFFLINE_STATUS_OFFLINED = 1 << 1
PG_OFFLINE_STATUS_ONLINE = 1 << 2
PG_OFFLINE_STATUS_OFFLINE_PENDING = 1 << 3
PG_OFFLINE_STATUS_BROKEN = 1 << 4
PG_OFFLINE_XENPAGE = 1 << 8
PG_OFFLINE_DOM0PAGE = 1 << 9
PG_OFFLINE_ANONYMOUS = 1 << 10
PG_OFFLINE_NOT_CONV_RAM = 1 << 11
PG_OFFLINE_OWNED = 1 << 12
PG_OFFLINE_BROKEN = 1 << 13
PG_ONLINE_BROKEN = PG_OFFLINE_BROKEN
PG_OFFLINE_OWNER_SHIFT = 16


def memflags_str(memflags: int) -> str:
    """``MEMF_node(1)|MEMF_exact_node``-style text for a memflags value."""
    names = []
    for name, bit in (
        ("MEMF_no_refcount", MEMF_no_refcount),
        ("MEMF_populate_on_demand", MEMF_populate_on_demand),
        ("MEMF_keep_scrub", MEMF_keep_scrub),
        ("MEMF_no_dma", MEMF_no_dma),
        ("MEMF_exact_node", MEMF_exact_node),
        ("MEMF_no_owner", MEMF_no_owner),
        ("MEMF_no_tlbflush", MEMF_no_tlbflush),
        ("MEMF_no_icache_flush", MEMF_no_icache_flush),
        ("MEMF_no_scrub", MEMF_no_scrub),
    ):
        if memflags & bit:
            names.append(name)
    node = MEMF_get_node(memflags)
    if node != NUMA_NO_NODE:
        names.insert(0, f"MEMF_node({node})")
    bits = memflags >> _MEMF_bits
    if bits:
        names.append(f"MEMF_bits({bits})")
    return "|".join(names) or "0"


def pg_offline_status_str(status: int, op: str = "offline") -> str:
    """Name the bits of a page offline/online (``op="online"``) or query status word."""
    if op == "query":
        bits = [
            ("OFFLINED", PG_OFFLINE_STATUS_OFFLINED),
            ("ONLINE", PG_OFFLINE_STATUS_ONLINE),
            ("OFFLINE_PENDING", PG_OFFLINE_STATUS_OFFLINE_PENDING),
            ("BROKEN", PG_OFFLINE_STATUS_BROKEN),
        ]
    else:
        first = "ONLINED" if op == "online" else "OFFLINED"
        bits = [
            ("INVALID", PG_OFFLINE_INVALID),
            (first, PG_OFFLINE_OFFLINED),
            ("PENDING", PG_OFFLINE_PENDING),
            ("FAILED", PG_OFFLINE_FAILED),
            ("AGAIN", PG_OFFLINE_AGAIN),
            ("XENPAGE", PG_OFFLINE_XENPAGE),
            ("DOM0PAGE", PG_OFFLINE_DOM0PAGE),
            ("ANONYMOUS", PG_OFFLINE_ANONYMOUS),
            ("NOT_CONV_RAM", PG_OFFLINE_NOT_CONV_RAM),
            ("OWNED", PG_OFFLINE_OWNED),
            ("BROKEN", PG_OFFLINE_BROKEN),
        ]
    names = [n for n, b in bits if status & b]
    owner = status >> PG_OFFLINE_OWNER_SHIFT
    if op != "query" and owner:
        names.append(f"owner {owner:#x}")
    return "|".join(names) or "0"
