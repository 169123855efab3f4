"""Activation checkpointing over consecutive chunks of a dimension (edges or atoms of large structures)."""

from __future__ import annotations

__all__ = ["checkpointed_chunks"]


def checkpointed_chunks(function, n: int, chunk: int, arguments):
    """``function(*arguments(s))`` for consecutive slices ``s`` of ``range(n)`` of length ``chunk``, each under
    activation checkpointing (its intermediates are recomputed in the backward pass instead of kept); a generator,
    so that the caller can combine the parts as they come."""
    from torch.utils.checkpoint import checkpoint

    for start in range(0, n, chunk):
        yield checkpoint(function, *arguments(slice(start, start + chunk)), use_reentrant=False)
