"""Argument types shared by the subcommands: each turns a bad value into argparse's one-line error."""

from __future__ import annotations

import argparse


def device(name: str) -> str:
    """``--device``: a device this PyTorch can use (``cpu``, ``cuda``, ``cuda:1``, ``mps``, ...), else an
    ``argparse.ArgumentTypeError`` that says which devices exist here."""
    import torch

    try:
        parsed = torch.device(name)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"expected a device such as cpu, cuda or cuda:1, got {name!r}") from None
    if parsed.type == "cpu":
        return name
    backend = getattr(torch, parsed.type, None)
    if parsed.type == "mps":
        backend = getattr(torch.backends, "mps", None)
    if backend is None or not backend.is_available():
        raise argparse.ArgumentTypeError(f"{name}: this PyTorch ({torch.__version__}) sees no {parsed.type} device")
    count = backend.device_count() if hasattr(backend, "device_count") else 1
    if parsed.index is not None and parsed.index >= count:
        raise argparse.ArgumentTypeError(f"{name}: this machine has {count} {parsed.type} device(s)")
    return name
