"""Pair invariants: invariance, completeness of the complete sets, PONITA's counterexample, stable angles."""

from __future__ import annotations

import math

import pytest
import torch

from torch_gaunt.geometry import (
    angle_between,
    oriented_pair_invariants,
    point_pair_features,
    point_pair_invariants,
    ponita_counterexample,
    ponita_invariants,
    pose_pair_invariants,
)
from torch_gaunt.so3 import kabsch, random_rotation
from torch_gaunt.testing import equivariance_error


def _unit(v):
    return v / v.norm(dim=-1, keepdim=True)


def _four(fn):
    return lambda a, b, c, d: fn(a, _unit(b), c, _unit(d))


@pytest.mark.parametrize(
    "fn, irreps_out, inversion",
    [
        (_four(ponita_invariants), "3x0e", True),
        (_four(point_pair_features), "4x0e", True),
        (_four(oriented_pair_invariants), "0e + 0e + 0e + 0o + 0e", True),
    ],
)
def test_oriented_pair_invariance(fn, irreps_out, inversion):
    assert equivariance_error(fn, ["1o"] * 4, irreps_out, inversion=inversion) < 1e-10
    g = torch.Generator().manual_seed(0)
    a, b, c, d = torch.randn(4, 8, 3, dtype=torch.float64, generator=g)
    t = torch.randn(3, dtype=torch.float64, generator=g)
    assert (fn(a + t, b, c + t, d) - fn(a, b, c, d)).abs().max() < 1e-12  # translations


def test_point_pair_and_pose_invariance():
    assert equivariance_error(point_pair_invariants, ["1o", "1o"], "0e") < 1e-10
    g = torch.Generator().manual_seed(1)
    p_i, p_j = torch.randn(2, 6, 3, dtype=torch.float64, generator=g)
    R_i, R_j = (
        random_rotation(6, dtype=torch.float64, generator=g),
        random_rotation(6, dtype=torch.float64, generator=g),
    )
    Q, t = random_rotation(dtype=torch.float64, generator=g), torch.randn(3, dtype=torch.float64, generator=g)
    before = pose_pair_invariants(p_i, R_i, p_j, R_j)
    after = pose_pair_invariants(p_i @ Q.T + t, Q @ R_i, p_j @ Q.T + t, Q @ R_j)
    assert before.shape == (6, 12) and (before - after).abs().max() < 1e-12


def test_pose_invariants_are_complete():
    """The invariant gives the pose of j seen from i: rebuilding j from it and pose i returns j exactly."""
    g = torch.Generator().manual_seed(2)
    p_i, p_j = torch.randn(2, 5, 3, dtype=torch.float64, generator=g)
    R_i, R_j = (
        random_rotation(5, dtype=torch.float64, generator=g),
        random_rotation(5, dtype=torch.float64, generator=g),
    )
    inv = pose_pair_invariants(p_i, R_i, p_j, R_j)
    rebuilt_p = p_i + (R_i @ inv[:, :3, None])[..., 0]
    rebuilt_R = R_i @ inv[:, 3:].view(-1, 3, 3)
    assert (rebuilt_p - p_j).abs().max() < 1e-12 and (rebuilt_R - R_j).abs().max() < 1e-12


def _canonical_pair(inv):
    """The pair (0, e_z), (p_j, o_j) whose oriented_pair_invariants are ``inv``, as four points."""
    along, across, c1, c2, height = inv.unbind(-1)
    zero = torch.zeros_like(along)
    p_j = torch.stack([across, zero, along], -1)
    o_j = torch.stack([c1, c2, height], -1)
    e_z = torch.stack([zero, zero, torch.ones_like(along)], -1)
    return torch.stack([torch.zeros_like(p_j), e_z, p_j, p_j + o_j], -2)


def test_oriented_pair_invariants_are_complete():
    """A pair rebuilt from its invariants is a rigid motion of the original (Kabsch aligns all four points)."""
    g = torch.Generator().manual_seed(3)
    p_i, o_i, p_j, o_j = torch.randn(4, 16, 3, dtype=torch.float64, generator=g)
    o_i, o_j = _unit(o_i), _unit(o_j)
    # include the degenerate case d ∥ o_i, where the frame of the pair is undefined
    p_j[0] = p_i[0] + 0.7 * o_i[0]
    original = torch.stack([p_i, p_i + o_i, p_j, p_j + o_j], -2)
    rebuilt = _canonical_pair(oriented_pair_invariants(p_i, o_i, p_j, o_j))
    R, t = kabsch(rebuilt, original)
    assert torch.allclose(torch.linalg.det(R), torch.ones(16, dtype=torch.float64))
    assert (rebuilt @ R.transpose(-1, -2) + t[:, None] - original).abs().max() < 1e-10


def test_ponita_counterexample_is_not_separated():
    first, second = ponita_counterexample()
    assert (ponita_invariants(*first) - ponita_invariants(*second)).abs().max() < 1e-15
    complete_first, complete_second = oriented_pair_invariants(*first), oriented_pair_invariants(*second)
    assert (complete_first - complete_second).abs().max() > 0.5
    # and no orthogonal map (reflections included) relates them: the best alignment leaves a residual
    a = torch.stack([first[0], first[1], first[2], first[2] + first[3]])
    b = torch.stack([second[0], second[1], second[2], second[2] + second[3]])
    for mirror in (1.0, -1.0):
        R, t = kabsch(a * mirror, b)
        assert (a * mirror @ R.T + t - b).abs().max() > 0.1


def test_point_pair_features_miss_mirror_images():
    """PPFs are equal for a chiral pair and its mirror image; the complete SE(3) set tells them apart."""
    g = torch.Generator().manual_seed(4)
    p_i, n_i, p_j, n_j = torch.randn(4, 3, dtype=torch.float64, generator=g)
    n_i, n_j = _unit(n_i), _unit(n_j)
    M = torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    mirrored = (p_i @ M, n_i @ M, p_j @ M, n_j @ M)
    assert (point_pair_features(p_i, n_i, p_j, n_j) - point_pair_features(*mirrored)).abs().max() < 1e-12
    complete = oriented_pair_invariants(p_i, n_i, p_j, n_j), oriented_pair_invariants(*mirrored)
    assert (complete[0][3] + complete[1][3]).abs() < 1e-12 and complete[0][3].abs() > 1e-3


def test_atan2_angles_are_accurate_near_zero_and_pi():
    for angle in (1e-9, 1e-5, 0.3, math.pi - 1e-7):
        a = torch.tensor([1.0, 0, 0], dtype=torch.float64)
        b = torch.tensor([math.cos(angle), math.sin(angle), 0.0], dtype=torch.float64) * 2.5
        assert abs(angle_between(a, b).item() - angle) < 1e-15 * max(1.0, angle) + 1e-17
    v = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(angle_between(v, v * 2 + torch.tensor([0.0, 0.0, 1e-8])), v)
    assert torch.isfinite(grad).all()


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"o_i: expected shape \[\.\.\., 3\]"):
        ponita_invariants(torch.zeros(3), torch.zeros(2), torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="broadcast"):
        point_pair_invariants(torch.zeros(4, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="R_j"):
        pose_pair_invariants(torch.zeros(3), torch.eye(3), torch.zeros(3), torch.eye(2))


def test_gradients_match_finite_differences():
    g = torch.Generator().manual_seed(5)
    a, b, c, d = (t.requires_grad_() for t in torch.randn(4, 3, 3, dtype=torch.float64, generator=g))
    for fn in (ponita_invariants, point_pair_features, oriented_pair_invariants):
        assert torch.autograd.gradcheck(_four(fn), (a, b, c, d))
