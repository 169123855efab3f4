r"""Radial bases, smooth cutoff envelopes and a radial MLP for edge lengths.

All take distances ``r [...]`` and return ``[..., num_basis]`` (the envelope returns ``[...]``); values and
derivatives of every order are finite at ``r = 0``.

- :class:`BesselBasis`: ``sqrt(2 / r_max) sin(n π r / r_max) / r``, ``n = 1..N`` (DimeNet, NequIP, MACE).
- :class:`GaussianBasis`: ``exp(-(r - μ_k)² / (2 σ²))`` on ``N`` centres evenly spaced in ``[r_min, r_max]``.
- :class:`SplineBasis`: cubic B-splines on uniform knots over ``[0, r_max]``, mixed by a learnable matrix.
- :class:`PolynomialCutoff`: ``1 - (p+1)(p+2)/2 x^p + p(p+2) x^{p+1} - p(p+1)/2 x^{p+2}``, ``x = r / r_max``,
  zero for ``x >= 1``, with ``p - 1`` continuous derivatives at the cutoff (NequIP).
- :class:`RadialMLP`: a small normalised MLP (e3nn's ``FullyConnectedNet``) from a basis to per-path weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._checks import check_int, check_tensor
from .activation import normalize2mom

__all__ = ["BesselBasis", "GaussianBasis", "SplineBasis", "PolynomialCutoff", "RadialMLP"]


def _check_radius(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
        raise ValueError(f"{name}: expected a positive finite distance, got {value!r}")
    return float(value)


class BesselBasis(torch.nn.Module):
    """``sqrt(2 / r_max) sin(n π r / r_max) / r`` for ``n = 1..num_basis``; ``r [...] -> [..., num_basis]``.

    Written as ``sqrt(2 / r_max) w sin(w r) / (w r)``, ``w = n π / r_max``, with the Taylor series of
    ``sin(a) / a`` near 0, so that values and derivatives of every order are finite at ``r = 0``.
    ``trainable=True`` makes the frequencies ``n π / r_max`` learnable (as in DimeNet).
    """

    def __init__(self, r_max: float, num_basis: int = 8, trainable: bool = False):
        super().__init__()
        self.r_max = _check_radius("r_max", r_max)
        self.num_basis = check_int("num_basis", num_basis)
        frequencies = math.pi * torch.arange(1, num_basis + 1, dtype=torch.get_default_dtype()) / self.r_max
        if trainable:
            self.frequencies = torch.nn.Parameter(frequencies)
        else:
            self.register_buffer("frequencies", frequencies)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        check_tensor("r", r)
        w = self.frequencies.to(r.dtype)
        a = r[..., None] * w
        # sin(a) / a, with its Taylor series near 0 (torch.sinc has no finite second derivative at 0)
        small = a.abs() < 1e-2
        safe = torch.where(small, torch.ones_like(a), a)
        a2 = a * a
        sinc = torch.where(small, 1 - a2 / 6 + a2 * a2 / 120, torch.sin(safe) / safe)
        return math.sqrt(2 / self.r_max) * w * sinc

    def extra_repr(self) -> str:
        return f"r_max={self.r_max}, num_basis={self.num_basis}"


class GaussianBasis(torch.nn.Module):
    """Gaussians ``exp(-(r - μ_k)² / (2 σ²))`` with ``num_basis`` centres on ``[r_min, r_max]``; ``σ`` = spacing."""

    def __init__(self, r_max: float, num_basis: int = 8, r_min: float = 0.0, trainable: bool = False):
        super().__init__()
        self.r_max = _check_radius("r_max", r_max)
        self.num_basis = check_int("num_basis", num_basis)
        if not 0 <= r_min < r_max:
            raise ValueError(f"r_min: expected 0 <= r_min < r_max = {r_max}, got {r_min!r}")
        centres = torch.linspace(r_min, r_max, num_basis, dtype=torch.get_default_dtype())
        width = torch.tensor((r_max - r_min) / max(num_basis - 1, 1), dtype=torch.get_default_dtype())
        if trainable:
            self.centres, self.width = torch.nn.Parameter(centres), torch.nn.Parameter(width)
        else:
            self.register_buffer("centres", centres)
            self.register_buffer("width", width)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        check_tensor("r", r)
        d = (r[..., None] - self.centres.to(r.dtype)) / self.width.to(r.dtype)
        return torch.exp(-0.5 * d * d)

    def extra_repr(self) -> str:
        return f"r_max={self.r_max}, num_basis={self.num_basis}"


class SplineBasis(torch.nn.Module):
    """Learnable spline basis: ``num_knots + 3`` cubic B-splines on uniform knots over ``[0, r_max]``, mixed
    into ``num_basis`` outputs by a learnable matrix (initialised so that output ``k`` is B-spline ``k`` when
    ``num_basis == num_knots + 3``, else orthogonally). Each output is a learnable C² cubic spline of ``r``.
    """

    def __init__(self, r_max: float, num_basis: int = 8, num_knots: int = 8):
        super().__init__()
        self.r_max = _check_radius("r_max", r_max)
        self.num_basis = check_int("num_basis", num_basis)
        self.num_knots = check_int("num_knots", num_knots)
        n_splines = num_knots + 3
        mixing = torch.empty(n_splines, num_basis)
        torch.nn.init.orthogonal_(mixing)
        if n_splines == num_basis:
            mixing = torch.eye(num_basis)
        self.mixing = torch.nn.Parameter(mixing)

    def bsplines(self, r: torch.Tensor) -> torch.Tensor:
        """The uniform cubic B-splines ``[..., num_knots + 3]`` (partition of unity on ``[0, r_max]``)."""
        h = self.r_max / self.num_knots
        t = torch.clamp(r, 0, self.r_max)[..., None] / h  # knot coordinate
        # spline j is centred at knot j - 1; its argument is the distance in knot units
        j = torch.arange(self.num_knots + 3, dtype=r.dtype, device=r.device) - 1
        u = (t - j).abs()
        inner = (4 - 6 * u**2 + 3 * u**3) / 6
        outer = torch.clamp(2 - u, min=0) ** 3 / 6
        return torch.where(u < 1, inner, outer)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        check_tensor("r", r)
        return self.bsplines(r) @ self.mixing.to(r.dtype)

    def extra_repr(self) -> str:
        return f"r_max={self.r_max}, num_basis={self.num_basis}, num_knots={self.num_knots}"


class PolynomialCutoff(torch.nn.Module):
    """Smooth envelope ``r [...] -> [...]``: 1 at ``r = 0``, 0 for ``r >= r_max``, ``p - 1`` continuous derivatives."""

    def __init__(self, r_max: float, p: int = 6):
        super().__init__()
        self.r_max = _check_radius("r_max", r_max)
        self.p = check_int("p", p, minimum=2)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        check_tensor("r", r)
        p = self.p
        x = r / self.r_max
        envelope = 1 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
        return torch.where(x < 1, envelope, torch.zeros_like(x))

    def extra_repr(self) -> str:
        return f"r_max={self.r_max}, p={self.p}"


class RadialMLP(torch.nn.Module):
    """MLP ``[..., sizes[0]] -> [..., sizes[-1]]`` without biases (so that a basis that vanishes at the cutoff keeps
    the output zero there), normalised as e3nn's ``FullyConnectedNet``: weights are stored ``N(0, 1)`` and divided
    by ``sqrt(fan_in)`` in the forward pass, and the activation between layers (SiLU by default) is scaled to unit
    second moment on ``N(0, 1)`` input (:func:`~torch_gaunt.nn.normalize2mom`). An input of RMS ~1 then gives an
    output of RMS ~1 at initialisation, whatever the widths.

    ``weights[k]`` has shape ``[sizes[k], sizes[k+1]]``.
    """

    def __init__(self, sizes: list[int], activation: Callable[[torch.Tensor], torch.Tensor] | None = None):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"sizes: expected at least [in, out], got {sizes!r}")
        sizes = [check_int("sizes", s) for s in sizes]
        self.sizes = sizes
        self.activation = activation if activation is not None else torch.nn.functional.silu
        self.activation_constant = normalize2mom(self.activation)
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.randn(a, b)) for a, b in zip(sizes[:-1], sizes[1:])
        )

    def forward(self, basis: torch.Tensor) -> torch.Tensor:
        h = basis
        for k, w in enumerate(self.weights):
            if k:
                h = self.activation_constant * self.activation(h)
            h = h @ (w.to(h.dtype) / math.sqrt(w.shape[0]))
        return h

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}"
