"""Frame averaging and canonicalisation: exact invariance/equivariance, the degenerate-frame warning, errors."""

from __future__ import annotations

import pytest
import torch

from torch_gaunt.geometry import Canonicalisation, DegenerateFrameWarning, FrameAverage, canonical_frame, pca_frames
from torch_gaunt.so3 import random_rotation
from torch_gaunt.testing import equivariance_error

N = 6


def _mlp(out: int, inputs: int = 3 * N) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(inputs, 32), torch.nn.SiLU(), torch.nn.Linear(32, out)
    ).double()


def _cloud_fn(module, out_shape=None):
    def fn(x):
        y = module(x.view(x.shape[0], N, 3))
        return y.reshape(x.shape[0], -1)

    return fn


@pytest.mark.parametrize("group", ["O3", "SO3"])
@pytest.mark.parametrize("make", [FrameAverage, Canonicalisation])
def test_invariant_output(group, make):
    model = make(_mlp(2), group=group, output="invariant")
    error = equivariance_error(_cloud_fn(model), f"{N}x1o", "2x0e", inversion=group == "O3")
    assert error < 1e-10


def test_so3_frames_are_not_reflection_invariant():
    """SO(3) frames see the handedness of a chiral cloud: the test above must not pass with inversion."""
    model = FrameAverage(_mlp(1), group="SO3")
    assert equivariance_error(_cloud_fn(model), f"{N}x1o", "0e", inversion=True) > 1e-3


@pytest.mark.parametrize("group", ["O3", "SO3"])
def test_vector_and_irreps_outputs(group):
    vector = FrameAverage(torch.nn.Sequential(_mlp(3 * N), torch.nn.Unflatten(1, (N, 3))), group, "vector")
    assert equivariance_error(_cloud_fn(vector), f"{N}x1o", f"{N}x1o", inversion=group == "O3") < 1e-10
    irreps = FrameAverage(_mlp(1 + 3 + 5 + 7), group, "0e + 1e + 2e + 3o")
    assert equivariance_error(_cloud_fn(irreps), f"{N}x1o", "0e + 1e + 2e + 3o", inversion=group == "O3") < 1e-10


def test_position_output_is_equivariant_to_rigid_motions():
    net = torch.nn.Sequential(_mlp(3 * N), torch.nn.Unflatten(1, (N, 3)))
    model = FrameAverage(net, "O3", "position")
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, N, 3, dtype=torch.float64, generator=g)
    R, t = -random_rotation(dtype=torch.float64, generator=g), torch.randn(3, dtype=torch.float64, generator=g)
    moved = model(x @ R.T + t)
    assert (moved - (model(x) @ R.T + t)).abs().max() < 1e-10


def test_vectors_and_invariants_reach_the_net():
    """Velocities are rotated into the frames, charges pass through: the average is equivariant in both."""

    def net(pos, vel, charge):
        return (pos + vel * charge[..., None]).reshape(pos.shape[0], -1)[:, :3] ** 2

    model = FrameAverage(
        lambda p, v, charge: torch.tanh(net(p, v, charge)) @ torch.ones(3, 3, dtype=p.dtype), "O3", "vector"
    )
    g = torch.Generator().manual_seed(2)
    x, v = torch.randn(2, 2, 5, 3, dtype=torch.float64, generator=g)
    q = torch.randn(2, 5, dtype=torch.float64, generator=g)
    R = random_rotation(dtype=torch.float64, generator=g)
    out = model(x, v, charge=q)
    assert out.shape == (2, 3)
    assert (model(x @ R.T + 1.0, v @ R.T, charge=q) - out @ R.T).abs().max() < 1e-10


def test_frames_are_orthogonal_and_signed():
    x = torch.randn(3, 7, 3, dtype=torch.float64)
    for group, count, dets in (("O3", 8, {-1, 1}), ("SO3", 4, {1})):
        frames, centre = pca_frames(x, group)
        assert frames.shape == (3, count, 3, 3) and centre.shape == (3, 3)
        eye = torch.eye(3, dtype=torch.float64)
        assert (frames.transpose(-1, -2) @ frames - eye).abs().max() < 1e-12
        assert {round(d) for d in torch.linalg.det(frames).flatten().tolist()} == dets
    one, _ = canonical_frame(x, "SO3")
    assert one.shape == (3, 1, 3, 3) and torch.allclose(torch.linalg.det(one), torch.ones(3, 1, dtype=torch.float64))


def test_stochastic_uses_one_frame_in_training_and_all_in_eval():
    calls = []

    def net(p):
        calls.append(p.shape[0])
        return p.sum((-1, -2))[:, None]

    model = FrameAverage(net, "O3", stochastic=True)
    x = torch.randn(5, 4, 3, dtype=torch.float64)
    model.train()(x)
    model.eval()(x)
    assert calls == [5, 40]


def test_degenerate_covariance_warns():
    cube = torch.tensor([[a, b, c] for a in (-1.0, 1) for b in (-1.0, 1) for c in (-1.0, 1)], dtype=torch.float64)
    with pytest.warns(DegenerateFrameWarning, match="1 of 1 point clouds"):
        pca_frames(cube)
    with pytest.warns(DegenerateFrameWarning):
        FrameAverage(lambda p: p.sum((-1, -2))[:, None])(cube)
    stretched = cube * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pca_frames(stretched)


def test_unbatched_cloud_and_errors():
    model = FrameAverage(lambda p: p.abs().sum((-1, -2))[:, None], "SO3")
    assert model(torch.randn(5, 3, dtype=torch.float64)).shape == (1,)
    with pytest.raises(ValueError, match="group"):
        FrameAverage(lambda p: p, group="SE3")
    with pytest.raises(ValueError, match=r"positions: expected shape \[\.\.\., 3\]"):
        model(torch.randn(4, 5, 2))
    with pytest.raises(ValueError, match="vectors"):
        FrameAverage(lambda p, v: p[:, 0], output="vector")(torch.randn(2, 5, 3), torch.randn(3, 5, 3))
    with pytest.raises(ValueError, match="output: expected one of"):
        FrameAverage(lambda p: p, output="scalar")
    with pytest.raises(ValueError, match="charge: expected a tensor with one row per cloud"):
        FrameAverage(lambda p, charge: p[:, 0])(torch.randn(2, 5, 3), charge=torch.ones(3))
    with pytest.raises(
        ValueError, match=r"net: expected an output with one row per cloud and frame \(\[16, \.\.\.\]\)"
    ):
        FrameAverage(lambda p: p.sum())(torch.randn(2, 5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"net: expected vector outputs \[\.\.\., 3\]"):
        FrameAverage(lambda p: p[:, 0, :2], output="vector")(torch.randn(2, 5, 3, dtype=torch.float64))


def test_gradients_match_finite_differences():
    torch.manual_seed(3)
    model = FrameAverage(torch.nn.Sequential(_mlp(3 * N), torch.nn.Unflatten(1, (N, 3))), "O3", "vector")
    x = torch.randn(2, N, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,))
    assert torch.autograd.gradgradcheck(lambda p: model(p).square().sum(), (x,))
