"""Exceptions of the model."""

from __future__ import annotations


class InvariantError(AssertionError):
    """An accounting or heap invariant does not hold; the message names it and the numbers."""
