"""Input validation at the public boundary: each check names the argument, what it expected and what came."""

from __future__ import annotations

import math

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


FLOAT_DTYPES = {"float64": torch.float64, "float32": torch.float32}  # the names users pass for dtypes


def parse_dtype(name: str, argument: str = "dtype") -> torch.dtype:
    """The floating dtype called ``name`` (``"float64"``, ``"float32"``), else a ``ValueError`` naming ``argument``."""
    if name not in FLOAT_DTYPES:
        raise ValueError(f"{argument}: expected one of {sorted(FLOAT_DTYPES)}, got {name!r}")
    return FLOAT_DTYPES[name]


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """``value`` if it is an int (not a bool) ``>= minimum``, else a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return value


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


def check_parity(name: str, p: object) -> int:
    """Return ``p`` unless it is not +1 or -1 (``ValueError``)."""
    if isinstance(p, bool) or p not in (1, -1):
        raise ValueError(f"{name}: expected a parity of +1 or -1, got {p!r}")
    return p  # type: ignore[return-value]


def check_spherical_tensor(
    name: str, x: object, *, lmax: int | None = None, channels: int | None = None, min_dim: int = 3
) -> int:
    """Check a spherical tensor ``[..., (L+1)**2, C]`` and return its degree ``L``.

    ``min_dim = 3`` asks for a batch axis: a 2-D ``[B, dim]`` tensor is almost always the e3nn layout, and when
    ``B`` is a square number (1, 4, 9, ...) it would otherwise be read as ``(L+1)**2`` coefficients.
    """
    x = check_tensor(name, x)
    if x.dim() < min_dim:
        raise ValueError(
            f"{name}: expected a spherical tensor [batch..., (L+1)**2, C] with at least {min_dim} dimensions, got shape "
            f"{tuple(x.shape)}. A tensor in the e3nn layout [batch, irreps.dim] must first be converted with "
            "torch_gaunt.so3.irreps_to_spherical_tensor(x, irreps)"
        )
    L = square_degree(x.shape[-2])
    if L < 0:
        raise ValueError(
            f"{name}: expected (L+1)**2 coefficients (1, 4, 9, 16, ...) in axis -2, got shape {tuple(x.shape)}"
        )
    if (lmax is not None and L != lmax) or (channels is not None and x.shape[-1] != channels):
        expected = (
            f"[..., {(lmax + 1) ** 2 if lmax is not None else '(L+1)**2'}, {channels if channels is not None else 'C'}]"
        )
        degree = f" (degree {lmax})" if lmax is not None else ""
        raise ValueError(f"{name}: expected shape {expected}{degree}, got {tuple(x.shape)}")
    return L


def square_degree(size) -> int:
    """``L`` with ``(L+1)**2 == size``, or -1 if ``size`` is no such square.

    Under ``torch.compile`` the size may be symbolic, which ``math.isqrt`` cannot take: a loop of comparisons
    then specialises on it (the size fixes the degree and the tables anyway).
    """
    if torch.compiler.is_compiling():
        L = 0
        while (L + 1) ** 2 < size:
            L += 1
    else:
        L = math.isqrt(size) - 1 if size >= 1 else -1
    return L if L >= 0 and (L + 1) ** 2 == size else -1


def broadcast_channels(x: torch.Tensor, y: torch.Tensor, x_name: str = "x", y_name: str = "y") -> None:
    """``y`` has the channels of ``x`` or one channel (broadcast over those of ``x``); ``x`` never broadcasts."""
    C = x.shape[-1]
    if y.shape[-1] == C or y.shape[-1] == 1:
        return
    hint = (
        f"; only {y_name} broadcasts over channels, so pass the tensor with {y.shape[-1]} channels as {x_name}"
        if C == 1
        else ""
    )
    raise ValueError(
        f"{y_name}: expected {C} channel{'s' if C != 1 else ''} (as {x_name}) or 1 in the last axis, got shape "
        f"{tuple(y.shape)}{hint}"
    )


def broadcast_batch(x: torch.Tensor, y: torch.Tensor, x_name: str = "x", y_name: str = "y") -> tuple[int, ...]:
    """The broadcast shape of the batch axes (all but the last two) of two spherical tensors."""
    bx, by = x.shape[:-2], y.shape[:-2]
    if bx == by:  # torch.broadcast_shapes costs tens of microseconds: skip it in the common case
        return tuple(bx)
    try:
        return tuple(torch.broadcast_shapes(bx, by))
    except RuntimeError:
        raise ValueError(
            f"{x_name}, {y_name}: leading dimensions must broadcast, got {tuple(bx)} and {tuple(by)}"
        ) from None
