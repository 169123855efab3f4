import math

import pytest
import torch
from e3nn import o3

from conftest import tol
from torch_gaunt.so3 import SphericalHarmonics, random_rotation, spherical_harmonics, wigner_D_matrix
from torch_gaunt.so3.quadrature import exact_grid_size, sphere_grid_points


@pytest.mark.parametrize("normalization", ["integral", "component", "norm"])
@pytest.mark.parametrize("normalize", [True, False])
def test_matches_e3nn(dtype, normalization, normalize):
    x = torch.randn(200, 3, dtype=dtype) * 1.7
    L = 12  # e3nn 0.6 stops at l = 12
    ours = spherical_harmonics(x, L, normalize=normalize, normalization=normalization)
    theirs = o3.spherical_harmonics(list(range(L + 1)), x, normalize, normalization=normalization)
    scale = theirs.abs().max()
    assert ours.dtype == dtype and ours.shape == (200, (L + 1) ** 2)
    assert (ours - theirs).abs().max() / scale < tol(dtype, 1e-13, 1e-5)


def test_batch_shapes_and_module():
    x = torch.randn(2, 3, 5, 3, dtype=torch.float64)
    y = SphericalHarmonics(3, normalization="component")(x)
    assert y.shape == (2, 3, 5, 16)
    assert torch.allclose(y, spherical_harmonics(x.reshape(-1, 3), 3, normalization="component").reshape(2, 3, 5, 16))
    assert spherical_harmonics(torch.zeros(0, 3), 4).shape == (0, 25)


@pytest.mark.parametrize("L", [16, 24, 40])
def test_orthonormal_on_exact_grid(L):
    points, weights = sphere_grid_points(*exact_grid_size(2 * L))
    Y = spherical_harmonics(points.reshape(-1, 3), L)
    gram = Y.T @ (weights.reshape(-1, 1) * Y)
    assert (gram - torch.eye((L + 1) ** 2, dtype=gram.dtype)).abs().max() < 1e-11


@pytest.mark.parametrize("L", [20, 35])
def test_addition_theorem(L):
    u = torch.nn.functional.normalize(torch.randn(50, 3, dtype=torch.float64), dim=-1)
    v = torch.nn.functional.normalize(torch.randn(50, 3, dtype=torch.float64), dim=-1)
    Yu, Yv = spherical_harmonics(u, L), spherical_harmonics(v, L)
    cos = (u * v).sum(-1)
    P = [torch.ones_like(cos), cos]  # Legendre polynomials by Bonnet's recurrence
    for l in range(1, L):
        P.append(((2 * l + 1) * cos * P[l] - l * P[l - 1]) / (l + 1))
    for l in range(L + 1):
        lhs = (Yu[:, l * l : (l + 1) ** 2] * Yv[:, l * l : (l + 1) ** 2]).sum(-1)
        assert (lhs - (2 * l + 1) / (4 * math.pi) * P[l]).abs().max() < 1e-11


def test_rotation_identity_high_degree():
    L = 25
    R = random_rotation(dtype=torch.float64)
    v = torch.randn(20, 3, dtype=torch.float64)
    lhs = spherical_harmonics(v, L) @ wigner_D_matrix(L, R).T
    assert (lhs - spherical_harmonics(v @ R.T, L)).abs().max() < 1e-10


def test_inversion_parity():
    v = torch.randn(20, 3, dtype=torch.float64)
    L = 8
    sign = torch.tensor([(-1) ** l for l in range(L + 1) for _ in range(2 * l + 1)], dtype=torch.float64)
    assert torch.allclose(spherical_harmonics(-v, L), spherical_harmonics(v, L) * sign, atol=1e-14)


def test_no_overflow_at_high_degree():
    x = torch.randn(100, 3)
    y = spherical_harmonics(x, 60)  # float32
    assert torch.isfinite(y).all()
    norms = (y[:, 3600:] ** 2).sum(-1)  # Σ_m Y_60m^2 = 121 / 4π
    assert torch.allclose(norms, torch.full_like(norms, 121 / (4 * math.pi)), rtol=1e-4)


def test_zero_vector_finite_values_and_gradients():
    x = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    y = spherical_harmonics(x, 6)
    assert torch.isfinite(y).all()
    assert y[0, 0].item() == pytest.approx(1 / math.sqrt(4 * math.pi)) and torch.all(y[0, 1:] == 0)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    assert torch.isfinite(g).all()
    (gg,) = torch.autograd.grad(g.sum(), x)
    assert torch.isfinite(gg).all()


@pytest.mark.parametrize("normalize", [True, False])
def test_gradcheck(normalize):
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    fn = lambda v: spherical_harmonics(v, 5, normalize=normalize)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradgradcheck(fn, (x,))


def test_gradient_matches_e3nn():
    x = torch.randn(30, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(30, 49, dtype=torch.float64)
    (ours,) = torch.autograd.grad((spherical_harmonics(x, 6) * w).sum(), x)
    (theirs,) = torch.autograd.grad((o3.spherical_harmonics(list(range(7)), x, True) * w).sum(), x)
    assert (ours - theirs).abs().max() < 1e-12


def test_compile_fullgraph():
    x = torch.randn(16, 3)
    fn = torch.compile(lambda v: spherical_harmonics(v, 4), fullgraph=True, backend="aot_eager")
    assert torch.allclose(fn(x), spherical_harmonics(x, 4), atol=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match=r"x: expected shape \[\.\.\., 3\]"):
        spherical_harmonics(torch.randn(5, 2), 2)
    with pytest.raises(ValueError, match="lmax: expected a non-negative degree"):
        spherical_harmonics(torch.randn(5, 3), -1)
    with pytest.raises(TypeError, match="lmax"):
        spherical_harmonics(torch.randn(5, 3), 2.0)
    with pytest.raises(ValueError, match="normalization"):
        spherical_harmonics(torch.randn(5, 3), 2, normalization="unit")
    with pytest.raises(TypeError, match="floating-point"):
        spherical_harmonics(torch.ones(5, 3, dtype=torch.long), 2)
