r"""Product quadrature on the sphere: Gauss-Legendre in :math:`\cos\theta`, equispaced in :math:`\varphi`.

Points follow the e3nn convention with ``y`` as the polar axis:
``p(θ, φ) = (sin θ sin φ, cos θ, sin θ cos φ)``. A grid with ``n_theta`` Gauss-Legendre nodes and
``n_phi`` equispaced angles integrates exactly every polynomial of degree ``<= 2 n_theta - 1`` in
``cos θ`` times trigonometric polynomials of degree ``< n_phi`` in ``φ``; so the product of spherical
harmonics of total degree ``D`` is integrated exactly when ``n_theta >= ceil((D + 1) / 2)`` and
``n_phi >= D + 1``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

__all__ = ["exact_grid_size", "gauss_legendre_grid", "sphere_grid_points"]


def exact_grid_size(degree: int, *, max_order: int = 0, even_phi: bool = False) -> tuple[int, int]:
    """The grid-size rule: the smallest ``(n_theta, n_phi)`` that integrates a product of spherical harmonics of
    total degree ``degree`` exactly.

    Gauss-Legendre with ``n_theta`` nodes is exact to degree ``2 n_theta - 1`` in ``cos θ`` and ``n_phi``
    equispaced angles to frequency ``n_phi - 1`` in ``φ``: so ``n_theta = degree // 2 + 1``, ``n_phi = degree + 1``.

    Args:
        degree: total degree of the integrand (for a projected product ``f g`` onto degree ``L3``:
            ``deg f + deg g + L3``).
        max_order: also keep ``n_phi >= 2 max_order + 1``, so that orders ``|m| <= max_order`` are distinct on the
            grid (needed to synthesise or project degree ``max_order`` when ``degree`` is smaller).
        even_phi: round ``n_phi`` up to an even number (the half-grid transforms pair ``φ`` with ``φ + π``).

    >>> exact_grid_size(18), exact_grid_size(18, even_phi=True), exact_grid_size(4, max_order=3)
    ((10, 19), (10, 20), (3, 7))
    """
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 0:
        raise ValueError(f"degree: expected a non-negative int total degree, got {degree!r}")
    n_theta, n_phi = degree // 2 + 1, max(degree + 1, 2 * max_order + 1)
    return n_theta, n_phi + n_phi % 2 if even_phi else n_phi


@functools.cache
def _gauss_legendre_np(n_theta: int, n_phi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cos_theta, w_theta = np.polynomial.legendre.leggauss(n_theta)
    phi = 2.0 * math.pi * np.arange(n_phi) / n_phi
    w_phi = np.full(n_phi, 2.0 * math.pi / n_phi)
    return cos_theta, phi, w_theta[:, None] * w_phi[None, :]


def gauss_legendre_grid(
    n_theta: int, n_phi: int, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nodes and weights of the product grid.

    Returns:
        ``cos_theta [n_theta]`` (ascending Gauss-Legendre nodes), ``phi [n_phi]`` (``2π k / n_phi``) and
        ``weights [n_theta, n_phi]`` summing to ``4π``.
    """
    if n_theta < 1 or n_phi < 1:
        raise ValueError(f"grid: expected n_theta >= 1 and n_phi >= 1, got ({n_theta}, {n_phi})")
    c, p, w = _gauss_legendre_np(n_theta, n_phi)
    as_t = functools.partial(torch.tensor, dtype=dtype, device=device)
    return as_t(c), as_t(p), as_t(w)


def sphere_grid_points(
    n_theta: int, n_phi: int, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit vectors ``[n_theta, n_phi, 3]`` of the grid and their weights ``[n_theta, n_phi]``."""
    cos_theta, phi, weights = gauss_legendre_grid(n_theta, n_phi, torch.float64, device)
    sin_theta = torch.sqrt(torch.clamp(1 - cos_theta**2, min=0))[:, None]
    points = torch.stack(
        [sin_theta * torch.sin(phi), cos_theta[:, None].expand(-1, n_phi), sin_theta * torch.cos(phi)], dim=-1
    )
    return points.to(dtype), weights.to(dtype)
