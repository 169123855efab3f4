r"""Rotations that bring a direction onto the polar axis ``y``, applied without per-edge Wigner matrices.

For a unit vector ``r̂ = (sin θ sin φ, cos θ, sin θ cos φ)``, ``Q = R_y(φ) R_x(θ)`` maps ``ŷ`` to ``r̂``. With a fixed
rotation ``S`` that maps ``ŷ`` to ``x̂`` (``R_z(-π/2)``), ``R_x(θ) = S R_y(θ) S^T``, so

.. math::  D(Q) = D_y(φ)\, D(S)\, D_y(θ)\, D(S)^T .

A rotation about the polar axis mixes only the pair ``(m, -m)`` of each degree:
``[m] <- cos(mα) [m] - sin(mα) [-m]`` and ``[-m] <- sin(mα) [m] + cos(mα) [-m]``. So rotating features into the
frame of each edge costs two elementwise passes with ``cos(mα), sin(mα)`` (``[E, L+1]`` per edge) and two
products with the constant block-diagonal ``D(S)``: O(L^2) memory per edge, never a ``[K, K]`` matrix per edge.
In the edge frame the harmonics of the edge are ``Y_l(ŷ) = sqrt((2l+1)/4π) δ_{m0}``.

The angles are never formed: ``cos φ = z/ρ``, ``sin φ = x/ρ``, ``cos θ = y/r``, ``sin θ = ρ/r`` with
``ρ = sqrt(x² + z²)``, and edges along ``±y`` (``ρ = 0``) or of zero length use ``φ = 0`` (resp. ``θ = 0``)
with finite gradients.
"""

from __future__ import annotations

import math

import torch

from .._cache import cached_table
from .._safe import safe_ratio, safe_sqrt
from .wigner import wigner_D_matrix

__all__ = ["EdgeFrame", "edge_frame"]


@cached_table
def _swap_matrix(lmax: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``D(S)`` ``[(L+1)**2, (L+1)**2]`` for ``S = R_z(-π/2)`` (``S ŷ = x̂``), block-diagonal, exact."""
    S = torch.tensor([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    return wigner_D_matrix(lmax, S).to(dtype=dtype, device=device)


@cached_table
def _pair_tables(lmax: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each coefficient ``(l, m)``: ``|m|``, the index of ``(l, -m)`` and ``-sign(m)``."""
    abs_m, partner, sign = [], [], []
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            abs_m.append(abs(m))
            partner.append(l * l + l - m)
            sign.append(-1.0 if m > 0 else (1.0 if m < 0 else 0.0))
    return (
        torch.tensor(abs_m, device=device),
        torch.tensor(partner, device=device),
        torch.tensor(sign, device=device),
    )


def _multiples(cos: torch.Tensor, sin: torch.Tensor, lmax: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``cos(mα), sin(mα)`` for ``m = 0..lmax`` from ``cos α, sin α [E]``: ``[E, lmax+1]`` each."""
    cs, ss = [torch.ones_like(cos)], [torch.zeros_like(sin)]
    for _ in range(lmax):
        c, s = cs[-1], ss[-1]
        cs.append(c * cos - s * sin)
        ss.append(s * cos + c * sin)
    return torch.stack(cs, -1), torch.stack(ss, -1)


class EdgeFrame:
    """The rotations ``D(Q_e)`` of a batch of directions ``[E, 3]``, up to degree ``lmax``, ready to apply.

    ``to_frame(x)`` computes ``D(Q_e)^T x`` (features seen from the edge frame, where ``r̂_e`` is ``ŷ``) and
    ``from_frame(z)`` computes ``D(Q_e) z``, for ``x, z [E, (L+1)**2, C]`` with ``L <= lmax``.
    """

    def __init__(self, vectors: torch.Tensor, lmax: int):
        x, y, z = vectors.unbind(-1)
        rho = safe_sqrt(x * x + z * z)
        r = safe_sqrt(x * x + y * y + z * z)
        cos_phi, sin_phi = safe_ratio(z, rho, 1.0), safe_ratio(x, rho, 0.0)
        cos_theta, sin_theta = safe_ratio(y, r, 1.0), safe_ratio(rho, r, 0.0)
        self.lmax = lmax
        self.phi = _multiples(cos_phi, sin_phi, lmax)
        self.theta = _multiples(cos_theta, sin_theta, lmax)

    def _about_y(self, x: torch.Tensor, angle: tuple[torch.Tensor, torch.Tensor], inverse: bool) -> torch.Tensor:
        L = int(math.isqrt(x.shape[1])) - 1
        abs_m, partner, sign = _pair_tables(L, x.device)
        cos, sin = angle[0][:, abs_m], angle[1][:, abs_m] * sign.to(x.dtype)
        if inverse:
            sin = -sin
        return cos[..., None] * x + sin[..., None] * x[:, partner]

    def _swap(self, x: torch.Tensor, transpose: bool) -> torch.Tensor:
        L = int(math.isqrt(x.shape[1])) - 1
        J = _swap_matrix(L, x.dtype, x.device)
        return torch.einsum("ab,ebc->eac", J.T if transpose else J, x)

    def from_frame(self, z: torch.Tensor) -> torch.Tensor:
        """``D(Q) z = D_y(φ) D(S) D_y(θ) D(S)^T z``."""
        z = self._swap(z, transpose=True)
        z = self._about_y(z, self.theta, inverse=False)
        z = self._swap(z, transpose=False)
        return self._about_y(z, self.phi, inverse=False)

    def to_frame(self, x: torch.Tensor) -> torch.Tensor:
        """``D(Q)^T x = D(S) D_y(-θ) D(S)^T D_y(-φ) x``."""
        x = self._about_y(x, self.phi, inverse=True)
        x = self._swap(x, transpose=True)
        x = self._about_y(x, self.theta, inverse=True)
        return self._swap(x, transpose=False)


def edge_frame(vectors: torch.Tensor, lmax: int) -> EdgeFrame:
    """:class:`EdgeFrame` of directions ``vectors [E, 3]`` (any length; zero vectors use the identity)."""
    return EdgeFrame(vectors, lmax)
