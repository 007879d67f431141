"""Exceptions of the model."""

from __future__ import annotations


class InvariantError(AssertionError):
    """An accounting or heap invariant does not hold; the message names it and the numbers."""


class XenBugError(RuntimeError):
    """Xen would stop with ``BUG()`` here; the model refuses the call and changes nothing."""


def errname(err: int) -> str:
    """The errno's name as Xen writes it (``EOPNOTSUPP``, not Linux's alias ``ENOTSUP``)."""
    import errno as _errno

    err = abs(err)
    if err == 0:
        return "0"
    if err == _errno.EOPNOTSUPP:
        return "EOPNOTSUPP"
    return _errno.errorcode.get(err, str(err))
