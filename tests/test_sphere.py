import math

import pytest
import torch

from torch_gaunt.so3 import spherical_harmonics
from torch_gaunt.so3.quadrature import exact_grid_size, gauss_legendre_grid, sphere_grid_points
from torch_gaunt.sphere.fourier import _legendre_fourier_coefficients, _sin_moments, fourier_tables
from torch_gaunt.sphere.grid import (
    analysis_halves,
    from_order_major,
    multiply_halves,
    sphere_grid,
    synthesis_halves,
    to_order_major,
)

F64 = torch.float64


@pytest.mark.parametrize("L", [0, 1, 5, 12, 20])
def test_grid_round_trip(L):
    n_theta, n_phi = exact_grid_size(2 * L)
    grid = sphere_grid(L, n_theta, n_phi, F64)
    c = torch.randn((L + 1) ** 2, 3, 4, dtype=F64)
    back = from_order_major(grid.from_grid(grid.to_grid(c)), grid.scatter, (3, 4)).transpose(0, 1)
    assert (back - c).abs().max() < 1e-12


def test_grid_values_are_the_function():
    L, n_theta, n_phi = 6, 5, 9
    grid = sphere_grid(L, n_theta, n_phi, F64)
    c = torch.randn((L + 1) ** 2, 2, dtype=F64)
    points, _ = sphere_grid_points(n_theta, n_phi)  # [n_theta, n_phi, 3]
    expected = spherical_harmonics(points, L) @ c  # [n_theta, n_phi, 2]
    assert (grid.to_grid(c) - expected.transpose(0, 1)).abs().max() < 1e-13


def test_quadrature_weights():
    _, _, w = gauss_legendre_grid(7, 13)
    assert abs(w.sum().item() - 4 * math.pi) < 1e-13


def test_fourier_series_reproduces_extended_harmonics():
    L = 7
    a = _legendre_fourier_coefficients(L)  # [k, u, l]
    theta = torch.rand(50, dtype=F64) * 2 * math.pi  # the whole circle: the extension through signed sin θ
    phi = torch.rand(50, dtype=F64) * 2 * math.pi
    points = torch.stack([torch.sin(theta) * torch.sin(phi), torch.cos(theta), torch.sin(theta) * torch.cos(phi)], -1)
    Y = spherical_harmonics(points, L)
    u = torch.arange(-L, L + 1, dtype=F64)
    for l in range(L + 1):
        for m in range(-l, l + 1):
            k = abs(m)
            theta_part = (a[k, :, l][None, :] * torch.exp(1j * u[None, :] * theta[:, None])).sum(-1)
            phi_part = {
                1: math.sqrt(2) * torch.cos(k * phi),
                0: torch.ones_like(phi),
                -1: math.sqrt(2) * torch.sin(k * phi),
            }
            value = theta_part * phi_part[(m > 0) - (m < 0)]
            assert (value.real - Y[:, l * l + l + m]).abs().max() < 1e-13
            assert value.imag.abs().max() < 1e-13


def test_sin_moments_closed_form():
    u = torch.arange(-6, 7)
    theta = torch.linspace(0, math.pi, 200001, dtype=F64)
    for value, n in zip(_sin_moments(u), u.tolist()):
        f = torch.exp(1j * n * theta) * torch.sin(theta)
        numeric = torch.trapezoid(f, theta)
        assert abs(complex(value) - complex(numeric)) < 1e-9


def test_fourier_tables_cached():
    assert fourier_tables(2, 3, 4) is fourier_tables(2, 3, 4)
    assert sphere_grid(3, 4, 9) is sphere_grid(3, 4, 9)


@pytest.mark.parametrize("L", [0, 1, 2, 5, 8])
def test_half_grid_transforms_match_full_grid(L):
    n_theta, n_phi = exact_grid_size(2 * L)
    n_phi += n_phi % 2
    grid = sphere_grid(L, n_theta, n_phi, F64)
    c = torch.randn((L + 1) ** 2, 3, 4, dtype=F64)
    values = grid.to_grid(c).view(n_phi, n_theta * 12)  # [n_phi, n_theta * N]
    even, odd = synthesis_halves(to_order_major(c, grid.halves["gather"], L), grid.halves)
    half = n_phi // 2
    assert (even + odd - values[:half]).abs().max() < 1e-12
    assert (even - odd - values[half:]).abs().max() < 1e-12
    parts = torch.stack([values[:half] + values[half:], values[:half] - values[half:]]) / 2
    back = from_order_major(analysis_halves(parts, grid.halves, n_theta), grid.halves["scatter"], (3, 4))
    assert (back.transpose(0, 1) - c).abs().max() < 1e-12
    assert sphere_grid(L, n_theta, n_phi + 1, F64).halves is None  # odd n_phi: no half grid
    # the product of two functions in even/odd form is the even/odd form of the pointwise product
    d = torch.randn((L + 1) ** 2, 3, 4, dtype=F64)
    parts_d = synthesis_halves(to_order_major(d, grid.halves["gather"], L), grid.halves)
    h = values * grid.to_grid(d).view(n_phi, n_theta * 12)
    expected = torch.stack([h[:half] + h[half:], h[:half] - h[half:]]) / 2
    assert (multiply_halves(torch.stack([even, odd]), parts_d) - expected).abs().max() < 1e-12


def test_multiply_halves_gradients_with_broadcasting():
    a = torch.randn(2, 3, 4, 5, dtype=F64, requires_grad=True)
    b = torch.randn(2, 3, 4, 1, dtype=F64, requires_grad=True)  # one channel, broadcast
    full = lambda p: torch.cat([p[0] + p[1], p[0] - p[1]])  # values on the whole grid
    product = multiply_halves(a, b)
    assert (full(product) - full(a) * full(b)).abs().max() < 1e-12
    assert torch.autograd.gradcheck(multiply_halves, (a, b))
    assert torch.autograd.gradgradcheck(multiply_halves, (a, b))
