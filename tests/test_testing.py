import torch

from torch_gaunt.so3 import irreps_to_spherical_tensor, spherical_tensor_to_irreps
from torch_gaunt.testing import assert_equivariant, equivariance_error, equivariance_penalty


def test_detects_broken_equivariance():
    assert equivariance_error(lambda x: x, "2x1o", "2x1o") < 1e-14
    assert equivariance_error(lambda x: x * torch.tensor([1.0, 2.0, 3.0], dtype=x.dtype), "1o", "1o") > 1e-2
    # parity: a cross product of two vectors is a pseudo-vector
    cross = lambda a, b: torch.linalg.cross(a, b, dim=-1)
    assert equivariance_error(cross, ["1o", "1o"], "1e") < 1e-14
    assert equivariance_error(cross, ["1o", "1o"], "1o") > 1e-2
    assert equivariance_error(cross, ["1o", "1o"], "1o", inversion=False) < 1e-14


def test_spherical_layout():
    irreps = "3x0e+3x1o+3x2e"
    fn = lambda t: 2 * t
    assert equivariance_error(fn, irreps, irreps, layout="spherical") < 1e-14
    round_trip = lambda t: irreps_to_spherical_tensor(spherical_tensor_to_irreps(t, irreps), irreps)
    assert_equivariant(round_trip, irreps, irreps, layout="spherical")
    assert equivariance_error(lambda t: t.flip(-2), irreps, irreps, layout="spherical") > 1e-2


def test_penalty_is_differentiable():
    weight = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64, requires_grad=True)
    x = torch.randn(16, 3, dtype=torch.float64)
    penalty = equivariance_penalty(lambda v: v * weight, x, "1o", "1o")
    penalty.backward()
    assert penalty.item() < 1e-14
    weight2 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    penalty2 = equivariance_penalty(lambda v: v * weight2, x, "1o", "1o")
    penalty2.backward()
    assert penalty2.item() > 1e-2 and weight2.grad.abs().sum() > 0
