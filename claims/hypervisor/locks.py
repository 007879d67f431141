"""Locks: a host is safe to call from several threads, in Xen's lock order.

Xen guards the allocator's state with ``heap_lock`` and each domain's page
counters with ``d->page_alloc_lock``; a path that needs both takes
``page_alloc_lock`` first (``docs/claims.md#locks``).  The model takes, for
each entry point, the locks the Xen call takes, in that order, and holds them
for the whole call, so every call is atomic: a claim set is installed whole or
not at all, and no other call sees a half-done populate.

With ``Xen.lock_checks`` on (the tests), every acquisition is checked against
the order: taking a ``page_alloc_lock`` while holding ``heap_lock``, or a
second domain's ``page_alloc_lock``, raises ``InvariantError``.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from .errors import InvariantError

PAGE_ALLOC_LOCK_RANK = 1
HEAP_LOCK_RANK = 2

_held = threading.local()  # per thread: the OrderedLocks taken, in order (with repeats)

F = TypeVar("F", bound=Callable[..., Any])


def held_locks() -> list[OrderedLock]:
    """The locks the calling thread holds, outermost first."""
    stack: list[OrderedLock] | None = getattr(_held, "stack", None)
    if stack is None:
        stack = _held.stack = []
    return stack


class OrderedLock:
    """A re-entrant lock with a name and a rank in Xen's lock order (lower first)."""

    __slots__ = ("name", "rank", "rlock")

    def __init__(self, name: str, rank: int) -> None:
        self.name = name
        self.rank = rank
        self.rlock = threading.RLock()  # the lock itself (``with lock.rlock`` is the fast path)

    def __enter__(self) -> OrderedLock:
        self.rlock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.rlock.release()

    @contextmanager
    def checked(self) -> Iterator[None]:
        """Take the lock, first checking Xen's lock order against the locks held."""
        stack = held_locks()
        if self not in stack:
            for h in stack:
                if h.rank > self.rank or (h.rank == self.rank and h is not self):
                    raise InvariantError(
                        f"lock order: {self.name} taken while holding {h.name} "
                        "(Xen takes d->page_alloc_lock before heap_lock, one domain at a time)"
                    )
        self.rlock.acquire()
        stack.append(self)
        try:
            yield
        finally:
            stack.pop()
            self.rlock.release()

    def locked_by_me(self) -> bool:
        """True if the calling thread holds this lock (only tracked with checking on)."""
        return self in held_locks()

    def __deepcopy__(self, memo: dict[int, Any]) -> OrderedLock:
        return OrderedLock(self.name, self.rank)  # a copy of a host gets its own, free locks

    def __reduce__(self) -> tuple[Any, ...]:
        return (OrderedLock, (self.name, self.rank))

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _domain_param(fn: Callable[..., Any]) -> tuple[str, int] | None:
    """The parameter (name, position after the host) naming the call's domain, if any."""
    params = list(inspect.signature(fn).parameters)[1:]
    for name in ("d", "domid"):
        if name in params:
            return name, params.index(name)
    return None


@contextmanager
def checked_locks(host: Any, d: Any, domain_type: type[Any]) -> Iterator[None]:
    """Take the call's locks, order checked: ``d``'s ``page_alloc_lock``, then ``heap_lock``.

    *d* is the call's ``d``/``domid`` argument: a ``Domain``, a domid, or
    anything else (which the call itself refuses): then heap_lock only.
    """
    if type(d) is not domain_type:
        try:  # a domid: its domain, if it exists
            d = host.domains.get(d) if type(d) is int else None
        except TypeError:
            d = None
    if d is None:
        with host.heap_lock.checked():
            yield
        return
    with d.page_alloc_lock.checked(), host.heap_lock.checked():
        yield


def _forwarding_source(fn: Callable[..., Any]) -> tuple[str, str]:
    """*fn*'s parameter list with placeholder defaults, and the call that passes them all on."""
    params, args = [], []
    star = False
    last_positional_only = 0  # how many parameters the "/" follows
    kinds = inspect.Parameter
    for p in inspect.signature(fn).parameters.values():
        default = "" if p.default is kinds.empty else "=None"  # the real ones are copied over
        if p.kind is kinds.VAR_POSITIONAL:
            params.append(f"*{p.name}")
            args.append(f"*{p.name}")
            star = True
        elif p.kind is kinds.VAR_KEYWORD:
            params.append(f"**{p.name}")
            args.append(f"**{p.name}")
        elif p.kind is kinds.KEYWORD_ONLY:
            if not star:
                params.append("*")
                star = True
            params.append(p.name + default)
            args.append(f"{p.name}={p.name}")
        else:
            params.append(p.name + default)
            args.append(p.name)
            if p.kind is kinds.POSITIONAL_ONLY:
                last_positional_only = len(params)
    if last_positional_only:
        params.insert(last_positional_only, "/")
    return ", ".join(params), ", ".join(args)


def entry_point(fn: F, domain_type: type[Any]) -> F:
    """Wrap a public method of the host: its locks, in Xen's order, for the whole call.

    The domain is the ``d`` (a ``Domain`` or a domid) or ``domid`` argument;
    a call without one takes ``heap_lock`` only.  Without ``lock_checks`` the
    wrapper takes ``heap_lock`` alone: every entry point holds it for its
    whole call, so it already orders all calls one after another, and the
    ``page_alloc_lock`` the Xen call also takes would exclude nothing more.

    The wrapper has *fn*'s own parameter list (generated, as ``dataclasses``
    does), so a call costs one lock and no argument repacking.
    """
    param = _domain_param(fn)
    params, args = _forwarding_source(fn)
    host = next(iter(inspect.signature(fn).parameters))  # self, or xen for a bound function
    domain_arg = param[0] if param is not None else "None"
    src = (
        f"def call({params}):\n"
        f"    if {host}.lock_checks:\n"
        f"        with checked_locks({host}, {domain_arg}, domain_type):\n"
        f"            return fn({args})\n"
        f"    lock = {host}.heap_lock.rlock\n"
        f"    lock.acquire()\n"
        f"    try:\n"
        f"        return fn({args})\n"
        f"    finally:\n"
        f"        lock.release()\n"
    )
    namespace: dict[str, Any] = {
        "fn": fn,
        "checked_locks": checked_locks,
        "domain_type": domain_type,
    }
    exec(compile(src, f"<entry point {fn.__qualname__}>", "exec"), namespace)
    call = namespace["call"]
    call.__defaults__ = fn.__defaults__
    call.__kwdefaults__ = fn.__kwdefaults__
    functools.update_wrapper(call, fn)
    call.__wrapped_entry_point__ = True
    return call  # type: ignore[no-any-return]


def lock_entry_points(cls: type[Any], domain_type: type[Any], skip: set[str]) -> None:
    """Wrap every public method of *cls* (and its bases) except static ones and *skip*."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if name.startswith("_") or name in seen or name in skip:
                continue
            seen.add(name)
            if not inspect.isfunction(value) or inspect.isgeneratorfunction(value):
                continue
            setattr(cls, name, entry_point(value, domain_type))


def is_entry_point(method: object) -> bool:
    return bool(getattr(method, "__wrapped_entry_point__", False))
