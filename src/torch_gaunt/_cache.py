"""Memoisation of constant tables (coefficients, grids, transforms) by their arguments."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def cached_table(builder: Callable[..., T]) -> Callable[..., T]:
    """Compute ``builder(*args)`` once per distinct positional arguments and return the same object after.

    A plain dictionary lookup, not ``functools.lru_cache``: ``torch.compile`` traces a lookup that hits
    without a graph break, so tables built before compiling are free inside the compiled region. The
    arguments must be hashable and normalised by the caller (a ``torch.device``, not a string).
    """
    cache: dict[tuple, T] = {}

    @functools.wraps(builder)
    def get(*args):
        if args not in cache:
            cache[args] = builder(*args)
        return cache[args]

    return get
