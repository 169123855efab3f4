"""Vector-neuron layers: O(3) equivariance, SO(3) equivariance of the Kabsch head, converters against Wigner-D."""

from __future__ import annotations

import pytest
import torch

from torch_gaunt.geometry import (
    VNInvariant,
    VNKabschHead,
    VNLeakyReLU,
    VNLinear,
    irreps_to_vectors,
    spherical_tensor_to_vectors,
    vectors_to_irreps,
    vectors_to_spherical_tensor,
    vn_centre,
)
from torch_gaunt.so3 import random_rotation
from torch_gaunt.testing import equivariance_error, rotate

C = 5


def _on_irreps(module):
    return lambda x: vectors_to_irreps(module(irreps_to_vectors(x)))


def test_layers_are_o3_equivariant():
    torch.manual_seed(0)
    net = torch.nn.Sequential(VNLinear(C, 8), VNLeakyReLU(8, 6), VNLinear(6, 4)).double()
    assert equivariance_error(_on_irreps(net), f"{C}x1o", "4x1o") < 1e-10
    invariant = VNInvariant(C, 3).double()
    assert equivariance_error(lambda x: invariant(irreps_to_vectors(x)).flatten(-2), f"{C}x1o", f"{3 * C}x0e") < 1e-10


def test_leaky_relu_changes_only_the_component_along_its_direction():
    torch.manual_seed(1)
    layer = VNLeakyReLU(C, negative_slope=0.0).double()
    x = torch.randn(100, C, 3, dtype=torch.float64)
    q, k = layer.features(x), layer.direction(x)
    y = layer(x)
    positive = (q * k).sum(-1) >= 0
    assert torch.equal(y[positive], q[positive])
    assert (y[~positive] * k[~positive]).sum(-1).abs().max() < 1e-10  # nothing left along k
    assert 0 < positive.float().mean() < 1


def test_centring_removes_translations():
    x = torch.randn(7, C, 3, dtype=torch.float64)
    t = torch.randn(3, dtype=torch.float64)
    assert (vn_centre(x + t) - vn_centre(x)).abs().max() < 1e-14
    assert vn_centre(x).mean(0).abs().max() < 1e-14


def test_kabsch_head_is_so3_equivariant_and_returns_rotations():
    torch.manual_seed(2)
    head = VNKabschHead(C, 3).double()
    x = torch.randn(10, C, 3, dtype=torch.float64)
    R = head(x)
    eye = torch.eye(3, dtype=torch.float64)
    assert (R.transpose(-1, -2) @ R - eye).abs().max() < 1e-12
    assert torch.allclose(torch.linalg.det(R), torch.ones(10, dtype=torch.float64))
    for _ in range(3):
        g = random_rotation(dtype=torch.float64)
        assert (head(x @ g.T) - g @ R).abs().max() < 1e-10
    with pytest.raises(ValueError, match="num_vectors"):
        VNKabschHead(C, 1)


def test_kabsch_head_recovers_a_rotation():
    """With features equal to rotated reference vectors the head returns that rotation."""
    head = VNKabschHead(3, 3).double()
    with torch.no_grad():
        head.vectors.weight.copy_(torch.eye(3))
    g = random_rotation(dtype=torch.float64)
    assert (head(head.reference.detach() @ g.T) - g).abs().max() < 1e-12


def test_converters_match_the_degree_one_representation():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, C, 3, dtype=torch.float64, generator=g)
    R = -random_rotation(dtype=torch.float64, generator=g)
    e3nn = vectors_to_irreps(x)
    assert (rotate(e3nn, f"{C}x1o", R) - vectors_to_irreps(x @ R.T)).abs().max() < 1e-12
    spherical = vectors_to_spherical_tensor(x)
    assert spherical.shape == (4, 4, C) and torch.equal(spherical[:, 0], torch.zeros(4, C, dtype=torch.float64))
    assert (
        rotate(spherical, f"{C}x1o", R, layout="spherical") - vectors_to_spherical_tensor(x @ R.T)
    ).abs().max() < 1e-12
    assert torch.equal(irreps_to_vectors(e3nn), x) and torch.equal(spherical_tensor_to_vectors(spherical), x)
    with pytest.raises(ValueError, match="C x 1o"):
        irreps_to_vectors(torch.zeros(4, 5))
    with pytest.raises(ValueError, match=r"\[\.\.\., C, 3\]"):
        vectors_to_irreps(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="channels"):
        VNLinear(C, 2)(torch.zeros(3, 4, 3))


def test_gradients_match_finite_differences():
    torch.manual_seed(4)
    net = torch.nn.Sequential(VNLinear(C, 6), VNLeakyReLU(6, 4)).double()
    head = VNKabschHead(4).double()
    x = torch.randn(3, C, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: head(net(v)), (x,))
