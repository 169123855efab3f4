import math

import pytest
import roma
import torch
from e3nn import o3

from conftest import default_float64
from torch_gaunt.so3 import (
    angles_to_matrix,
    axis_angle_to_matrix,
    geodesic_angle,
    kabsch,
    matrix_to_angles,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    matrix_to_rotation_vector,
    quaternion_to_matrix,
    random_rotation,
    rotation_6d_to_matrix,
    rotation_vector_to_matrix,
    special_procrustes,
)

F64 = torch.float64


def wxyz_to_xyzw(q):  # roma stores quaternions scalar last
    return torch.cat([q[..., 1:], q[..., :1]], dim=-1)


def test_random_rotation_is_haar():
    R = random_rotation(20000, dtype=F64)
    assert torch.allclose(R @ R.mT, torch.eye(3, dtype=F64).expand_as(R), atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(20000, dtype=F64))
    # Haar moments: E[R_ij] = 0, E[R_ij^2] = 1/3 (std of the mean is about 0.0041 and 0.0021)
    assert R.mean(0).abs().max() < 0.025
    assert ((R**2).mean(0) - 1 / 3).abs().max() < 0.015
    # the rotation angle has density (1 - cos t) / π: E[angle] = π/2 + 2/π
    assert abs(geodesic_angle(R).mean().item() - (math.pi / 2 + 2 / math.pi)) < 0.02


def test_quaternions_match_roma():
    q = torch.randn(100, 4, dtype=F64)
    R = quaternion_to_matrix(q)
    expected = roma.unitquat_to_rotmat(wxyz_to_xyzw(torch.nn.functional.normalize(q, dim=-1)))
    assert (R - expected).abs().max() < 1e-14
    back = matrix_to_quaternion(R)
    assert (quaternion_to_matrix(back) - R).abs().max() < 1e-14
    q_unit = torch.nn.functional.normalize(q, dim=-1)
    assert torch.allclose(back, q_unit * torch.sign(q_unit[:, :1]), atol=1e-13)


def test_quaternion_near_half_turns():
    # rotations by π about each axis make w = 0: every branch of Shepperd's method is used
    for axis in torch.eye(3, dtype=F64):
        R = axis_angle_to_matrix(axis, torch.tensor(math.pi, dtype=F64))
        assert (quaternion_to_matrix(matrix_to_quaternion(R)) - R).abs().max() < 1e-14


def test_rotation_vectors_match_roma():
    rv = torch.randn(100, 3, dtype=F64)
    R = rotation_vector_to_matrix(rv)
    assert (R - roma.rotvec_to_rotmat(rv)).abs().max() < 1e-14
    back = matrix_to_rotation_vector(R)
    assert (back - roma.rotmat_to_rotvec(R)).abs().max() < 1e-10
    assert (rotation_vector_to_matrix(back) - R).abs().max() < 1e-13
    axis, angle = matrix_to_axis_angle(R)
    assert (axis_angle_to_matrix(axis, angle) - R).abs().max() < 1e-13


def test_rotation_vector_smooth_at_zero():
    rv = torch.tensor([[1e-9, -2e-9, 3e-10], [0.0, 0.0, 0.0]], dtype=F64, requires_grad=True)
    R = rotation_vector_to_matrix(rv)
    assert torch.allclose(R, torch.eye(3, dtype=F64).expand_as(R), atol=1e-8)
    assert torch.autograd.gradcheck(rotation_vector_to_matrix, (rv,))
    assert torch.autograd.gradcheck(matrix_to_rotation_vector, (R.detach().requires_grad_(),))


def test_euler_angles_match_e3nn():
    alpha, beta, gamma = torch.rand(3, 50, dtype=F64) * 2 * math.pi
    with default_float64():
        expected = o3.angles_to_matrix(alpha, beta, gamma)
    R = angles_to_matrix(alpha, beta, gamma)
    assert (R - expected).abs().max() < 1e-14
    assert (angles_to_matrix(*matrix_to_angles(R)) - R).abs().max() < 1e-13


@pytest.mark.parametrize("convention", ["columns", "rows"])
def test_6d_representation(convention):
    d6 = torch.randn(50, 6, dtype=F64)
    R = rotation_6d_to_matrix(d6, convention)
    assert torch.allclose(R @ R.mT, torch.eye(3, dtype=F64).expand_as(R), atol=1e-13)
    assert torch.allclose(torch.linalg.det(R), torch.ones(50, dtype=F64))
    assert (rotation_6d_to_matrix(matrix_to_rotation_6d(R, convention), convention) - R).abs().max() < 1e-14
    if convention == "columns":  # roma's Gram-Schmidt takes the two vectors as the columns of a [3, 2] matrix
        expected = roma.special_gramschmidt(torch.stack([d6[:, :3], d6[:, 3:]], dim=-1))
    else:
        expected = rotation_6d_to_matrix(d6, "columns").mT
    assert (R - expected).abs().max() < 1e-14


def test_geodesic_angle_matches_roma_and_has_finite_gradients():
    R1, R2 = random_rotation(100, dtype=F64), random_rotation(100, dtype=F64)
    assert (geodesic_angle(R1, R2) - roma.rotmat_geodesic_distance(R1, R2)).abs().max() < 1e-12
    for angle in (0.0, 1e-9, 1e-5, math.pi - 1e-5, math.pi - 1e-9):
        rv = torch.tensor([0.3, -0.5, 0.8], dtype=F64)
        rv = (rv / rv.norm() * angle).requires_grad_()
        theta = geodesic_angle(rotation_vector_to_matrix(rv))
        assert abs(theta.item() - angle) < 1e-12
        (grad,) = torch.autograd.grad(theta, rv)
        assert torch.isfinite(grad).all()
        if angle > 0:  # d angle / d rotvec is the unit axis
            assert torch.allclose(grad, rv.detach() / angle, atol=1e-5)


def test_procrustes_and_kabsch_match_roma():
    M = torch.randn(20, 3, 3, dtype=F64)
    assert (special_procrustes(M) - roma.special_procrustes(M)).abs().max() < 1e-12
    P = torch.randn(20, 15, 3, dtype=F64)
    R_true, t_true = random_rotation(20, dtype=F64), torch.randn(20, 3, dtype=F64)
    Q = P @ R_true.mT + t_true[:, None] + 0.01 * torch.randn(20, 15, 3, dtype=F64)
    w = torch.rand(20, 15, dtype=F64)
    R, t = kabsch(P, Q, w)
    R_roma, t_roma = roma.rigid_points_registration(P, Q, weights=w)
    assert (R - R_roma).abs().max() < 1e-10 and (t - t_roma).abs().max() < 1e-10
    R0, t0 = kabsch(P, P @ R_true.mT + t_true[:, None])  # exact data: exact recovery
    assert (R0 - R_true).abs().max() < 1e-12 and (t0 - t_true).abs().max() < 1e-12


def test_bad_input():
    with pytest.raises(ValueError, match="q: expected non-zero"):
        quaternion_to_matrix(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"q: expected shape \[\.\.\., 4\]"):
        quaternion_to_matrix(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="axis: expected non-zero"):
        axis_angle_to_matrix(torch.zeros(3), torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"R: expected shape \[\.\.\., 3, 3\]"):
        matrix_to_quaternion(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="convention"):
        rotation_6d_to_matrix(torch.randn(6), "diagonal")
    with pytest.raises(ValueError, match="Q: expected the shape of P"):
        kabsch(torch.randn(5, 3), torch.randn(4, 3))
    with pytest.raises(ValueError, match="weights: expected shape"):
        kabsch(torch.randn(5, 3), torch.randn(5, 3), torch.ones(4))
