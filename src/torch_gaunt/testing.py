"""Helpers to test equivariance of your own functions and modules (the suite itself uses them).

A function ``fn(*inputs) -> output(s)`` is O(3)-equivariant when ``fn(D_in(g) x) = D_out(g) fn(x)`` for
every rotation and, if parity matters, every improper rotation ``g``. Inputs and outputs are described by
their irreps and a *layout*:

- ``"irreps"``: the e3nn layout, tensors ``[batch, irreps.dim]``;
- ``"spherical"``: spherical tensors ``[batch, (L+1)**2, C]`` (see :mod:`torch_gaunt.so3.spherical_tensor`).

>>> import torch
>>> from torch_gaunt.so3 import spherical_harmonics
>>> err = equivariance_error(lambda v: spherical_harmonics(v, 4), "1o", "0e+1o+2e+3o+4e")
>>> err < 1e-10
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ._checks import check_choice
from .so3.irreps import Irreps, IrrepsLike
from .so3.rotations import random_rotation
from .so3.spherical_tensor import spherical_tensor_layout
from .so3.wigner import representation_matrix

__all__ = ["equivariance_error", "equivariance_penalty", "assert_equivariant", "rotate", "random_input"]


def _as_list(irreps: IrrepsLike | Sequence[IrrepsLike]) -> list[Irreps]:
    if isinstance(irreps, (str, Irreps)):
        return [Irreps(irreps)]
    return [Irreps(item) for item in irreps]


def _spherical_D(irreps: Irreps, R: torch.Tensor) -> torch.Tensor:
    lmax, _ = spherical_tensor_layout(irreps)
    parity: dict[int, int] = {}
    for mul, ir in irreps:
        if mul > 0 and parity.setdefault(ir.l, ir.p) != ir.p:
            raise ValueError(f"irreps: a spherical tensor needs one parity per degree, got {irreps}")
    return representation_matrix([(l, parity.get(l, 1)) for l in range(lmax + 1)], R)


def rotate(x: torch.Tensor, irreps: IrrepsLike, R: torch.Tensor, layout: str = "irreps") -> torch.Tensor:
    """Apply the representation of ``R [3, 3]`` (proper or improper) to ``x``.

    Args:
        x: ``[..., irreps.dim]`` (``layout="irreps"``) or ``[..., (L+1)**2, C]`` (``layout="spherical"``).
        irreps: irreps of ``x``.
        R: one orthogonal matrix.
        layout: ``"irreps"`` or ``"spherical"``.
    """
    check_choice("layout", layout, ("irreps", "spherical"))
    irreps = Irreps(irreps)
    if layout == "irreps":
        return x @ irreps.D_from_matrix(R).to(x.dtype).transpose(-1, -2)
    return _spherical_D(irreps, R).to(x.dtype) @ x


def random_input(
    irreps: IrrepsLike,
    batch: int = 8,
    layout: str = "irreps",
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Standard normal tensor of ``irreps`` in ``layout`` with leading dimension ``batch``."""
    check_choice("layout", layout, ("irreps", "spherical"))
    irreps = Irreps(irreps)
    if layout == "irreps":
        shape: tuple[int, ...] = (batch, irreps.dim)
    else:
        lmax, channels = spherical_tensor_layout(irreps)
        shape = (batch, (lmax + 1) ** 2, channels)
    x = torch.randn(shape, dtype=dtype, device=device, generator=generator)
    if layout == "spherical":  # zero the degrees that the irreps lack
        present = {ir.l for mul, ir in irreps if mul > 0}
        mask = torch.tensor([l in present for l in range(lmax + 1) for _ in range(2 * l + 1)], device=device)
        x = x * mask[:, None].to(dtype)
    return x


def _outputs(value: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    return [value] if isinstance(value, torch.Tensor) else list(value)


def _deviations(
    fn: Callable, inputs: list[torch.Tensor], irreps_in: list[Irreps], irreps_out: list[Irreps], R: torch.Tensor,
    layout: str,
) -> list[torch.Tensor]:  # fmt: skip
    rotated_in = [rotate(x, ir, R, layout) for x, ir in zip(inputs, irreps_in)]
    out_of_rotated = _outputs(fn(*rotated_in))
    rotated_out = [rotate(y, ir, R, layout) for y, ir in zip(_outputs(fn(*inputs)), irreps_out)]
    if len(out_of_rotated) != len(irreps_out):
        raise ValueError(
            f"irreps_out: fn returned {len(out_of_rotated)} outputs but {len(irreps_out)} irreps were given"
        )
    return [a - b for a, b in zip(out_of_rotated, rotated_out)]


def equivariance_error(
    fn: Callable,
    irreps_in: IrrepsLike | Sequence[IrrepsLike],
    irreps_out: IrrepsLike | Sequence[IrrepsLike],
    *,
    layout: str = "irreps",
    batch: int = 8,
    trials: int = 3,
    inversion: bool = True,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> float:
    """Largest ``|fn(D_in x) - D_out fn(x)|`` over random inputs and Haar-random rotations.

    Args:
        fn: function of one tensor per entry of ``irreps_in``, returning a tensor (or a tuple, one
            per entry of ``irreps_out``).
        irreps_in, irreps_out: one irreps (str or :class:`Irreps`) or a list of them.
        layout: ``"irreps"`` (``[batch, dim]``) or ``"spherical"`` (``[batch, (L+1)**2, C]``).
        batch: leading dimension of the random inputs.
        trials: number of random rotations ``R``.
        inversion: also test the improper rotations ``-R`` (parity).
        dtype, device, generator: of the random inputs and rotations.

    Returns:
        The maximum absolute deviation, a Python float.
    """
    check_choice("layout", layout, ("irreps", "spherical"))
    ins, outs = _as_list(irreps_in), _as_list(irreps_out)
    worst = 0.0
    with torch.no_grad():
        for _ in range(trials):
            inputs = [random_input(ir, batch, layout, dtype, device, generator) for ir in ins]
            R = random_rotation(dtype=dtype, device=device, generator=generator)
            for g in (R, -R) if inversion else (R,):
                for d in _deviations(fn, inputs, ins, outs, g, layout):
                    if d.numel():
                        worst = max(worst, d.abs().max().item())
    return worst


def assert_equivariant(fn: Callable, irreps_in, irreps_out, *, atol: float | None = None, **kwargs) -> float:
    """Raise ``AssertionError`` if :func:`equivariance_error` exceeds ``atol``.

    ``atol`` defaults to ``1e-10`` in float64 and ``1e-4`` in float32. Returns the error.
    """
    dtype = kwargs.get("dtype", torch.float64)
    if atol is None:
        atol = 1e-10 if dtype == torch.float64 else 1e-4
    error = equivariance_error(fn, irreps_in, irreps_out, **kwargs)
    if not error <= atol:
        raise AssertionError(f"equivariance error {error:.3e} exceeds {atol:.1e}")
    return error


def equivariance_penalty(
    fn: Callable,
    inputs: torch.Tensor | Sequence[torch.Tensor],
    irreps_in: IrrepsLike | Sequence[IrrepsLike],
    irreps_out: IrrepsLike | Sequence[IrrepsLike],
    *,
    layout: str = "irreps",
    R: torch.Tensor | None = None,
    inversion: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Differentiable soft-equivariance penalty: the mean of ``|fn(D_in x) - D_out fn(x)|`` on ``inputs``.

    Use it as a regulariser for models that are only approximately equivariant. A Haar-random rotation
    (improper with probability 1/2 if ``inversion``) is drawn unless ``R [3, 3]`` is given.

    Returns:
        A scalar tensor with gradients with respect to ``fn``'s parameters and the inputs.
    """
    check_choice("layout", layout, ("irreps", "spherical"))
    inputs_list = _outputs(inputs)
    ins, outs = _as_list(irreps_in), _as_list(irreps_out)
    if len(inputs_list) != len(ins):
        raise ValueError(f"inputs: expected {len(ins)} tensors (one per irreps_in), got {len(inputs_list)}")
    x0 = inputs_list[0]
    if R is None:
        R = random_rotation(dtype=x0.dtype, device=x0.device, generator=generator)
        if inversion and torch.rand((), generator=generator, device=generator.device if generator else None) < 0.5:
            R = -R
    deviations = _deviations(fn, inputs_list, ins, outs, R.to(x0.dtype), layout)
    total = sum(d.abs().sum() for d in deviations)
    count = sum(d.numel() for d in deviations)
    return total / max(count, 1)
