import math

import pytest
import torch
from sympy.physics.wigner import wigner_3j, wigner_9j

from torch_gaunt.products.vector_gaunt import (
    VectorGauntProduct,
    vector_gaunt_product,
    vsh_blocks,
    vsh_irreps,
    vsh_to_components,
)
from torch_gaunt.so3 import clebsch_gordan, spherical_harmonics
from torch_gaunt.testing import equivariance_error

F64 = torch.float64


def field(coefficients, L, points):
    """Evaluate the vector field of VSH coefficients ``[D]`` at unit vectors ``[n, 3]`` -> ``[n, 3]``."""
    sh = (vsh_to_components(L) @ coefficients).view(3, (L + 1) ** 2)
    return spherical_harmonics(points, L) @ sh.T


def test_change_of_basis_is_orthogonal():
    Q = vsh_to_components(4)
    assert (Q.T @ Q - torch.eye(Q.shape[0], dtype=F64)).abs().max() < 1e-13
    assert vsh_irreps(1).dim == 12 and str(vsh_irreps(1, p=1)) == "1x0o+1x1e+1x1o+1x2o"


@pytest.mark.parametrize("degrees", [(1, 1), (2, 1), (3, 2)])
def test_exact_pointwise_cross_product(degrees):
    L1, L2 = degrees
    x = torch.randn(3 * (L1 + 1) ** 2, dtype=F64)
    y = torch.randn(3 * (L2 + 1) ** 2, dtype=F64)
    z = vector_gaunt_product(x[None, :, None], y[None, :, None])[0, :, 0]
    points = torch.nn.functional.normalize(torch.randn(100, 3, dtype=F64), dim=-1)
    expected = torch.linalg.cross(field(x, L1, points), field(y, L2, points), dim=-1)
    assert (field(z, L1 + L2, points) - expected).abs().max() < 1e-12


def test_constant_fields_give_the_cross_product():
    a, b = torch.randn(3, dtype=F64), torch.randn(3, dtype=F64)
    x, y = torch.zeros(12, 1, dtype=F64), torch.zeros(12, 1, dtype=F64)
    x[1:4, 0], y[1:4, 0] = a, b  # block (j, l) = (1, 0): a constant field
    z = vector_gaunt_product(x[None], y[None], 0)[0, :, 0]
    assert torch.allclose(z, torch.linalg.cross(a, b, dim=0) / math.sqrt(4 * math.pi), atol=1e-14)


def test_path_constants_match_wigner_9j():
    """Each block path is kappa x CG(j1, j2, j3) with |kappa| given by a Wigner 9j symbol (sympy)."""
    L1 = L2 = L3 = 2
    offsets, start = {}, 0
    for j, l in vsh_blocks(L1):
        offsets[(j, l)] = start
        start += 2 * j + 1
    checked = 0
    for b1 in [(1, 0), (1, 2), (2, 1), (2, 2)]:
        for b2 in [(1, 0), (2, 1), (3, 2)]:
            for b3 in vsh_blocks(L3):
                (j1, l1), (j2, l2), (j3, l3) = b1, b2, b3
                if not (abs(j1 - j2) <= j3 <= j1 + j2):
                    continue
                T = torch.zeros(2 * j1 + 1, 2 * j2 + 1, 2 * j3 + 1, dtype=F64)
                for m1 in range(2 * j1 + 1):
                    x = torch.zeros(3 * (L1 + 1) ** 2, 1, dtype=F64)
                    x[offsets[b1] + m1] = 1
                    y = torch.zeros(3 * (L2 + 1) ** 2, 2 * j2 + 1, dtype=F64)
                    y[offsets[b2] : offsets[b2] + 2 * j2 + 1] = torch.eye(2 * j2 + 1, dtype=F64)
                    z = vector_gaunt_product(x.expand(-1, 2 * j2 + 1)[None], y[None], L3)[0]
                    T[m1] = z[offsets[b3] : offsets[b3] + 2 * j3 + 1].T
                C = clebsch_gordan(j1, j2, j3)
                kappa = (T * C).sum().item()
                assert (T - kappa * C).abs().max() < 1e-12
                g = math.sqrt((2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1) / (4 * math.pi)) * abs(
                    float(wigner_3j(l1, l2, l3, 0, 0, 0))
                )
                nine_j = abs(float(wigner_9j(1, 1, 1, l1, l2, l3, j1, j2, j3)))
                assert abs(abs(kappa) - math.sqrt(6 * (2 * j1 + 1) * (2 * j2 + 1) * (2 * j3 + 1)) * g * nine_j) < 1e-12
                checked += (j1 + j2 + j3) % 2  # count the odd paths, which a scalar Gaunt product cannot have
    assert checked > 5


@pytest.mark.parametrize("parities", [(-1, -1), (1, -1), (1, 1)])
def test_equivariance(parities):
    p1, p2 = parities
    fn = lambda u, v: vector_gaunt_product(u[..., None], v[..., None], 2)[..., 0]
    assert equivariance_error(fn, [vsh_irreps(2, p1), vsh_irreps(1, p2)], vsh_irreps(2, p1 * p2)) < 1e-10


def test_antisymmetric_broadcast_and_gradients():
    x = torch.randn(4, 27, 3, dtype=F64)
    assert vector_gaunt_product(x, x).abs().max() < 1e-13
    y = torch.randn(1, 27, 1, dtype=F64)
    z = vector_gaunt_product(x, y, 1)
    assert z.shape == (4, 12, 3)
    assert torch.allclose(z, vector_gaunt_product(x, y.expand(4, 27, 3), 1), atol=1e-13)
    a = torch.randn(1, 12, 1, dtype=F64, requires_grad=True)
    b = torch.randn(1, 12, 1, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: vector_gaunt_product(a, b, 1), (a, b))
    assert torch.autograd.gradgradcheck(lambda a, b: vector_gaunt_product(a, b, 1), (a, b))


def test_module_and_bad_input():
    m = VectorGauntProduct(1, 1, 1)
    assert str(m.irreps_out) == str(vsh_irreps(1, 1))
    assert m(torch.randn(5, 12, 2), torch.randn(5, 12, 2)).shape == (5, 12, 2)
    with pytest.raises(ValueError, match=r"x: expected 3 \(L\+1\)\*\*2 VSH coefficients"):
        vector_gaunt_product(torch.randn(1, 10, 2), torch.randn(1, 12, 2))
    with pytest.raises(ValueError, match="lmax_out: expected a degree <= 2"):
        vector_gaunt_product(torch.randn(1, 12, 2), torch.randn(1, 12, 2), 3)
    with pytest.raises(ValueError, match="y: expected 2 channels"):
        vector_gaunt_product(torch.randn(1, 12, 2), torch.randn(1, 12, 3))
    with pytest.raises(ValueError, match=r"x: expected VSH coefficients \[batch..., 3 \(L\+1\)\*\*2, C\]"):
        vector_gaunt_product(torch.randn(12, 2), torch.randn(12, 2))  # [12, dim] would read as one field
