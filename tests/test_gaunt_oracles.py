"""Gaunt products against oracles that share nothing with our coefficient tables, grids or harmonics.

- sympy's exact ``real_gaunt`` (l <= 6). Sign map, written down: sympy's real harmonics follow Homeier & Steinborn,
  ``Z_lm = (-1)^m × (ours)`` up to a rotation of the axes (sympy's polar axis is z, e3nn's is y). The Gaunt
  integral is invariant under a rotation of all three factors, so ``G_ours = (-1)^(m1+m2+m3) real_gaunt``; and a
  real Gaunt coefficient vanishes unless ``|m3| = ||m1| ± |m2||``, where ``m1 + m2 + m3`` is even: the signs
  cancel and ``G_ours = real_gaunt`` entry by entry.
- Quadrature with e3nn's spherical harmonics (l <= 12, its limit) on scipy's Gauss-Legendre nodes with the polar
  axis along z: the product of the two functions at the nodes, integrated against each output harmonic.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from e3nn import o3
from scipy.special import roots_legendre
from sympy.physics.wigner import real_gaunt

from conftest import default_float64
from torch_gaunt.products import gaunt_tensor_product
from torch_gaunt.so3 import gaunt_coefficients

F64 = torch.float64
METHODS = ["dense", "grid", "fourier"]


@functools.cache
def sympy_gaunt(l1: int, l2: int, l3: int) -> torch.Tensor:
    """``[2l1+1, 2l2+1, 2l3+1]`` from sympy (in our convention, see above). Real Gaunt coefficients vanish unless
    ``|m3| = ||m1| ± |m2||``, so only those entries are asked of sympy (the others are checked to vanish in ours)."""
    G = torch.zeros(2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1, dtype=F64)
    for m1 in range(-l1, l1 + 1):
        for m2 in range(-l2, l2 + 1):
            for m3 in {abs(m1) + abs(m2), abs(abs(m1) - abs(m2))}:
                for s in {m3, -m3}:
                    if abs(s) <= l3:
                        G[l1 + m1, l2 + m2, l3 + s] = float(real_gaunt(l1, l2, l3, m1, m2, s))
    return G


def _selection_mask(l1: int, l2: int, l3: int) -> torch.Tensor:
    m1, m2, m3 = (torch.arange(-l, l + 1).abs() for l in (l1, l2, l3))
    a, b, c = m1[:, None, None], m2[None, :, None], m3[None, None, :]
    return (c == a + b) | (c == (a - b).abs())


def _triples(lmax: int):
    return [
        (l1, l2, l3)
        for l1 in range(lmax + 1)
        for l2 in range(l1 + 1)
        for l3 in range(l1 - l2, min(l1 + l2, lmax) + 1)
        if (l1 + l2 + l3) % 2 == 0
    ]


def _check_triple(l1, l2, l3):
    ours = gaunt_coefficients(l1, l2, l3)
    assert (ours - sympy_gaunt(l1, l2, l3)).abs().max() < 1e-14
    assert ours.masked_fill(_selection_mask(l1, l2, l3), 0).abs().max() < 1e-15


@pytest.mark.parametrize("triple", [(0, 0, 0), (1, 1, 2), (2, 1, 3), (3, 3, 2), (4, 2, 4), (6, 5, 3)], ids=str)
def test_gaunt_coefficients_match_sympy(triple):
    _check_triple(*triple)


@pytest.mark.slow
def test_every_gaunt_coefficient_to_degree_6_matches_sympy():
    for triple in _triples(6):
        _check_triple(*triple)


def _sympy_product(x: torch.Tensor, y: torch.Tensor, L3: int) -> torch.Tensor:
    L1, L2 = math.isqrt(x.shape[-2]) - 1, math.isqrt(y.shape[-2]) - 1
    z = x.new_zeros(x.shape[:-2] + ((L3 + 1) ** 2, x.shape[-1]))
    for l1 in range(L1 + 1):
        for l2 in range(L2 + 1):
            for l3 in range(abs(l1 - l2), min(l1 + l2, L3) + 1):
                if (l1 + l2 + l3) % 2:
                    continue
                G = sympy_gaunt(*sorted((l1, l2), reverse=True), l3)
                G = G if l1 >= l2 else G.transpose(0, 1)
                xs, ys = x[..., l1 * l1 : (l1 + 1) ** 2, :], y[..., l2 * l2 : (l2 + 1) ** 2, :]
                z[..., l3 * l3 : (l3 + 1) ** 2, :] += torch.einsum("abc,...ak,...bk->...ck", G, xs, ys)
    return z


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("degrees", [(1, 1, 2), (2, 2, 2), (3, 2, 4), (4, 4, 4), (2, 4, 6)], ids=str)
def test_products_match_sympy(method, degrees):
    L1, L2, L3 = degrees
    x = torch.randn(3, (L1 + 1) ** 2, 4, dtype=F64)
    y = torch.randn(3, (L2 + 1) ** 2, 4, dtype=F64)
    assert (gaunt_tensor_product(x, y, L3, method=method) - _sympy_product(x, y, L3)).abs().max() < 1e-12


def _e3nn_harmonics(points: torch.Tensor, lmax: int) -> torch.Tensor:
    with default_float64():
        Y = o3.spherical_harmonics(list(range(lmax + 1)), points, normalize=True, normalization="integral")
    return Y


def _quadrature_product(x: torch.Tensor, y: torch.Tensor, L3: int) -> torch.Tensor:
    """``∫ (Σ x Y)(Σ y Y) Y_l3m3`` on a z-polar Gauss-Legendre x equispaced grid, exact for the integrand's degree."""
    L1, L2 = math.isqrt(x.shape[-2]) - 1, math.isqrt(y.shape[-2]) - 1
    degree = L1 + L2 + L3
    nodes, weights = roots_legendre(degree // 2 + 1)
    n_phi = degree + 1
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    sin = np.sqrt(1 - nodes**2)
    points = np.stack(
        [np.outer(sin, np.cos(phi)), np.outer(sin, np.sin(phi)), np.outer(nodes, np.ones(n_phi))], axis=-1
    ).reshape(-1, 3)
    w = torch.tensor(np.outer(weights, np.full(n_phi, 2 * np.pi / n_phi)).reshape(-1), dtype=F64)
    Y = _e3nn_harmonics(torch.tensor(points, dtype=F64), max(L1, L2, L3))
    f = torch.einsum("pa,...ac->...pc", Y[:, : (L1 + 1) ** 2], x)
    g = torch.einsum("pa,...ac->...pc", Y[:, : (L2 + 1) ** 2], y)
    return torch.einsum("p,pa,...pc->...ac", w, Y[:, : (L3 + 1) ** 2], f * g)


QUADRATURE_CASES = [
    (method, degrees)
    for degrees in [(3, 3, 6), (5, 4, 7), (7, 7, 7), (10, 2, 11), (12, 12, 12)]
    for method in METHODS
    if not (method == "dense" and degrees == (12, 12, 12))  # a dense table of 4e6 entries per batch entry
]


@pytest.mark.parametrize(("method", "degrees"), QUADRATURE_CASES, ids=str)
def test_products_match_quadrature_with_e3nn_harmonics(method, degrees):
    L1, L2, L3 = degrees
    x = torch.randn(2, (L1 + 1) ** 2, 3, dtype=F64)
    y = torch.randn(2, (L2 + 1) ** 2, 3, dtype=F64)
    assert (gaunt_tensor_product(x, y, L3, method=method) - _quadrature_product(x, y, L3)).abs().max() < 1e-10
