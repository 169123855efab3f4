import pytest
import torch
from e3nn import o3

from conftest import default_float64
from torch_gaunt.so3 import (
    angles_to_matrix,
    matrix_to_quaternion,
    random_rotation,
    spherical_harmonics,
    wigner_D,
    wigner_D_from_angles,
    wigner_D_from_axis_angle,
    wigner_D_from_quaternion,
    wigner_D_matrix,
)

F64 = torch.float64


@pytest.mark.parametrize("l", [0, 1, 2, 5, 10, 16])
def test_matches_e3nn(l):
    alpha, beta, gamma = torch.rand(3, 4, dtype=F64) * 6.28
    with default_float64():
        expected = o3.wigner_D(l, alpha, beta, gamma)
    assert (wigner_D_from_angles(l, alpha, beta, gamma) - expected).abs().max() < 1e-11


@pytest.mark.parametrize("l", [1, 7, 22])
def test_representation_properties(l):
    R1, R2 = random_rotation(3, dtype=F64), random_rotation(3, dtype=F64)
    D1, D2, D12 = wigner_D(l, R1), wigner_D(l, R2), wigner_D(l, R1 @ R2)
    assert (D1 @ D2 - D12).abs().max() < 1e-11
    assert (D1 @ D1.mT - torch.eye(2 * l + 1, dtype=F64)).abs().max() < 1e-11
    v = torch.randn(10, 3, dtype=F64)
    Y = spherical_harmonics(v, l)[:, l * l :]
    assert (Y @ D1[0].T - spherical_harmonics(v @ R1[0].T, l)[:, l * l :]).abs().max() < 1e-11


def test_improper_and_block_matrix():
    R = random_rotation(dtype=F64)
    v = torch.randn(10, 3, dtype=F64)
    L = 6
    D = wigner_D_matrix(L, -R, p=1)  # spherical harmonics of a vector: parity (-1)^l
    assert (spherical_harmonics(v, L) @ D.T - spherical_harmonics(-v @ R.T, L)).abs().max() < 1e-12
    assert torch.allclose(wigner_D(3, -R, parity=-1), -wigner_D(3, R), atol=1e-14)
    assert torch.allclose(wigner_D(3, -R, parity=1), wigner_D(3, R), atol=1e-14)


def test_parametrisations_agree():
    R = random_rotation(4, dtype=F64)
    q = matrix_to_quaternion(R)
    angle = 2 * torch.atan2(q[:, 1:].norm(dim=-1), q[:, 0])
    D = wigner_D(4, R)
    assert torch.allclose(wigner_D_from_quaternion(4, q), D, atol=1e-13)
    assert torch.allclose(wigner_D_from_axis_angle(4, q[:, 1:], angle), D, atol=1e-13)
    a, b, c = torch.rand(3, dtype=F64)
    assert torch.allclose(wigner_D_from_angles(4, a, b, c), wigner_D(4, angles_to_matrix(a, b, c)), atol=1e-13)


def test_gradcheck():
    q = torch.randn(2, 4, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda q: wigner_D_from_quaternion(2, q), (q,))
    assert torch.autograd.gradgradcheck(lambda q: wigner_D_from_quaternion(2, q), (q,))


def test_bad_input():
    with pytest.raises(ValueError, match=r"R: expected shape \[\.\.\., 3, 3\]"):
        wigner_D(2, torch.randn(3, 2))
    with pytest.raises(ValueError, match="l: expected a non-negative degree"):
        wigner_D(-1, torch.eye(3))
    with pytest.raises(ValueError, match="lmax: expected a non-negative degree"):
        wigner_D_matrix(-1, torch.eye(3))
    with pytest.raises(ValueError, match="parity"):
        wigner_D(1, torch.eye(3), parity=0)
