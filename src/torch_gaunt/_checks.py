"""Input validation at the public boundary: each check names the argument, what it expected and what came."""

from __future__ import annotations

import torch


def check_tensor(name: str, x: object, *, min_dim: int = 0) -> torch.Tensor:
    """Raise ``TypeError`` unless ``x`` is a floating-point tensor with at least ``min_dim`` axes."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor (float32 or float64), got dtype {x.dtype}")
    if x.dim() < min_dim:
        raise ValueError(f"{name}: expected at least {min_dim} dimensions, got shape {tuple(x.shape)}")
    return x


def check_last_dims(name: str, x: torch.Tensor, dims: tuple[int, ...], meaning: str) -> None:
    """Raise ``ValueError`` unless the trailing axes of ``x`` are ``dims``."""
    if x.dim() < len(dims) or tuple(x.shape[x.dim() - len(dims) :]) != tuple(dims):
        shape = "[..., " + ", ".join(str(d) for d in dims) + "]"
        raise ValueError(f"{name}: expected shape {shape} ({meaning}), got {tuple(x.shape)}")


def check_degree(name: str, l: object, *, maximum: int | None = None) -> int:
    """Return ``l`` as an int, raising ``ValueError``/``TypeError`` unless ``0 <= l (<= maximum)``."""
    if isinstance(l, bool) or not isinstance(l, int):
        raise TypeError(f"{name}: expected a non-negative int degree, got {type(l).__name__} {l!r}")
    if l < 0:
        raise ValueError(f"{name}: expected a non-negative degree, got {l}")
    if maximum is not None and l > maximum:
        raise ValueError(f"{name}: expected a degree <= {maximum}, got {l}")
    return l


def check_same_dtype_device(**tensors: torch.Tensor) -> None:
    """Raise ``ValueError`` unless all tensors share one dtype and one device."""
    items = list(tensors.items())
    name0, x0 = items[0]
    for name, x in items[1:]:
        if x.dtype != x0.dtype:
            raise ValueError(f"{name}: expected dtype {x0.dtype} (the dtype of {name0}), got {x.dtype}")
        if x.device != x0.device:
            raise ValueError(f"{name}: expected device {x0.device} (the device of {name0}), got {x.device}")


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value  # type: ignore[return-value]
