"""SO(3) Fourier densities and the single-view pose head: Haar grid, normalisation, equivariance, sampling."""

from __future__ import annotations

import math

import pytest
import torch

from torch_gaunt.geometry import (
    SO3FourierDensity,
    SO3PoseHead,
    num_so3_coefficients,
    so3_fourier_function,
    so3_haar_grid,
)
from torch_gaunt.so3 import Irreps, angles_to_matrix, random_rotation, wigner_D_blocks
from torch_gaunt.testing import equivariance_error

L = 3


def _coefficient_irreps(lmax):
    """F^l transforms by D^l(g) F^l: its 2l+1 columns are copies of l; the e3nn layout of packed F^l is F^l^T."""
    return Irreps("+".join(f"{2 * l + 1}x{l}e" for l in range(lmax + 1)))


def _packed(irreps_layout, lmax):
    blocks, start = [], 0
    for l in range(lmax + 1):
        size = (2 * l + 1) ** 2
        blocks.append(
            irreps_layout[..., start : start + size].unflatten(-1, (2 * l + 1, 2 * l + 1)).transpose(-1, -2).flatten(-2)
        )
        start += size
    return torch.cat(blocks, -1)


def _frame(u, v):
    """A rotation from two vectors (Gram-Schmidt): frame(g u, g v) = g frame(u, v) for rotations g."""
    e1 = u / u.norm(dim=-1, keepdim=True)
    e2 = v - (v * e1).sum(-1, keepdim=True) * e1
    e2 = e2 / e2.norm(dim=-1, keepdim=True)
    return torch.stack([e1, e2, torch.linalg.cross(e1, e2)], -1)


@pytest.mark.parametrize("resolution", [2, 5, 8])
def test_haar_grid_integrates_wigner_d_exactly(resolution):
    R, w = so3_haar_grid(resolution)
    assert R.shape[0] == w.shape[0] == (resolution + 1) ** 2 * (resolution // 2 + 1)
    assert abs(w.sum().item() - 1) < 1e-14
    for l, D in enumerate(wigner_D_blocks(resolution, R)):
        expected = (
            torch.ones(1, 1, dtype=torch.float64) if l == 0 else torch.zeros(2 * l + 1, 2 * l + 1, dtype=torch.float64)
        )
        assert (torch.einsum("g,gab->ab", w, D) - expected).abs().max() < 1e-12


def test_fourier_function_is_equivariant():
    """f with coefficients D(g) F at g R equals f with F at R (through testing.equivariance_error)."""
    irreps = _coefficient_irreps(L)

    def fn(F, u, v):
        return so3_fourier_function(_packed(F, L), _frame(u, v)[:, None], L)

    assert equivariance_error(fn, [irreps, "1o", "1o"], "0e", inversion=False) < 1e-10


def test_density_normalisation_and_uniform_case():
    g = torch.Generator().manual_seed(0)
    F = 0.5 * torch.randn(3, num_so3_coefficients(2), dtype=torch.float64, generator=g)
    # the normalised density integrates to 1 on a finer, independent grid, up to the quadrature error of the
    # normalising grid, which falls fast as its resolution grows (exp f is smooth but not band-limited)
    R, w = so3_haar_grid(36)
    errors = [((SO3FourierDensity(2, r).log_density(F, R).exp() * w).sum(-1) - 1).abs().max() for r in (8, 16, 28)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-11
    density = SO3FourierDensity(2)
    # the uniform density is 1 everywhere
    zero = torch.zeros(2, num_so3_coefficients(2), dtype=torch.float64)
    assert density.log_density(zero, random_rotation(5, dtype=torch.float64)).abs().max() < 1e-12
    target = random_rotation(3, dtype=torch.float64, generator=g)
    assert torch.allclose(density.log_likelihood(F, target), density.log_density(F, target[:, None])[:, 0])


def test_samples_follow_the_density():
    g = torch.Generator().manual_seed(1)
    F = torch.randn(1, num_so3_coefficients(2), dtype=torch.float64, generator=g)
    density = SO3FourierDensity(2, resolution=12)
    samples = density.sample(F, 20000, generator=g)[0]
    R, p = density.probabilities(F)
    for l in (1, 2):
        expected = torch.einsum("g,gab->ab", p[0], wigner_D_blocks(2, R)[l])
        empirical = wigner_D_blocks(2, samples)[l].mean(0)
        assert (expected - empirical).abs().max() < 0.03  # ~4 standard errors of a mean of 20000 bounded draws
    assert (density.mode(F)[0] - R[p[0].argmax()]).abs().max() == 0


def _turn(features, gamma, K):
    out = features.clone()
    for k in range(1, K + 1):
        a, b = features[:, 2 * k - 1], features[:, 2 * k]
        c, s = math.cos(k * gamma), math.sin(k * gamma)
        out[:, 2 * k - 1], out[:, 2 * k] = c * a + s * b, -s * a + c * b
    return out


@pytest.mark.parametrize("K, lmax", [(2, 4), (5, 3)])
def test_pose_head_turns_with_the_image(K, lmax):
    torch.manual_seed(0)
    head = SO3PoseHead(channels=4, max_frequency=K, lmax=lmax).double()
    features = torch.randn(3, 2 * K + 1, 4, dtype=torch.float64)
    gamma = 2 * math.pi * 3 / (head.density.resolution + 1)  # a step of the grid's α: the normaliser is unchanged
    zero = torch.zeros((), dtype=torch.float64)
    g = angles_to_matrix(torch.tensor(gamma, dtype=torch.float64), zero, zero)  # rotation about the camera axis y
    F, F_turned = head(features), head(_turn(features, gamma, K))
    R = random_rotation(16, dtype=torch.float64)
    # the density of the turned image at g R equals that of the image at R
    assert (so3_fourier_function(F_turned, g @ R, lmax) - so3_fourier_function(F, R, lmax)).abs().max() < 1e-10
    target = random_rotation(3, dtype=torch.float64)
    turned = head.log_likelihood(_turn(features, gamma, K), g @ target)
    assert (turned - head.log_likelihood(features, target)).abs().max() < 1e-10
    assert head.sample(features, 5).shape == (3, 5, 3, 3)


def test_errors():
    with pytest.raises(ValueError, match=r"coefficients: expected \[\.\.\., 35\]"):
        so3_fourier_function(torch.zeros(2, 10), torch.eye(3)[None], 2)
    with pytest.raises(ValueError, match="features"):
        SO3PoseHead(4, 2, 3)(torch.zeros(2, 4, 4))


def test_log_likelihood_gradients_match_finite_differences():
    torch.manual_seed(6)
    density = SO3FourierDensity(2, resolution=8)
    F = torch.randn(2, num_so3_coefficients(2), dtype=torch.float64, requires_grad=True)
    target = random_rotation(2, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda c: density.log_likelihood(c, target), (F,))
