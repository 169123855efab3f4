import pytest
import torch
from e3nn import o3

from conftest import default_float64
from torch_gaunt.products import CGTensorProduct, channelwise_instructions, fully_connected_instructions
from torch_gaunt.so3 import Irreps
from torch_gaunt.testing import equivariance_error

F64 = torch.float64
CASES = {
    "uvw": ("2x0e+3x1o+2x2e", "1x0e+2x1o+1x2e", "3x0e+2x1o+2x1e+1x2e+2x3o"),
    "uuu": ("4x0e+4x1o+4x2e", "4x0e+4x1o+4x2e", "4x0e+4x1o+4x1e+4x2e"),
    "uvu": ("3x0e+3x1o", "2x1o+1x0e", "3x0e+3x1e+3x1o"),
}


def instructions_for(mode, a, b, c):
    if mode == "uvw":
        return fully_connected_instructions(a, b, c)
    if mode == "uuu":
        return channelwise_instructions(a, b, c)
    return [
        (i, j, k, "uvu", True)
        for i, (m1, r1) in enumerate(a)
        for j, (_, r2) in enumerate(b)
        for k, (mo, ro) in enumerate(c)
        if m1 == mo and ro in r1 * r2
    ]


@pytest.mark.parametrize("mode", list(CASES))
@pytest.mark.parametrize("irrep_normalization", ["component", "norm", "none"])
@pytest.mark.parametrize("path_normalization", ["element", "path", "none"])
def test_matches_e3nn(mode, irrep_normalization, path_normalization):
    a, b, c = (Irreps(s) for s in CASES[mode])
    ours = CGTensorProduct(a, b, c, instructions_for(mode, a, b, c), irrep_normalization, path_normalization).double()
    with default_float64():
        theirs = o3.TensorProduct(
            *CASES[mode],
            [tuple(i)[:5] for i in ours.instructions],
            irrep_normalization=irrep_normalization,
            path_normalization=path_normalization,
        )
    with torch.no_grad():
        theirs.weight.copy_(ours.weight)
    x1, x2 = torch.randn(5, a.dim, dtype=F64), torch.randn(5, b.dim, dtype=F64)
    assert (ours(x1, x2) - theirs(x1, x2)).abs().max() < 1e-12


def test_external_weights_and_broadcasting():
    a, b, c = (Irreps(s) for s in CASES["uvw"])
    tp = CGTensorProduct(a, b, c, fully_connected_instructions(a, b, c), internal_weights=False)
    assert tp.weight is None
    w = torch.randn(7, tp.weight_numel, dtype=F64)
    x1, x2 = torch.randn(7, a.dim, dtype=F64), torch.randn(1, b.dim, dtype=F64)
    out = tp(x1, x2, w)
    assert out.shape == (7, c.dim)
    single = torch.stack([tp(x1[i], x2[0], w[i]) for i in range(7)])
    assert torch.allclose(out, single, atol=1e-13)


@pytest.mark.parametrize("mode", list(CASES))
def test_equivariance(mode):
    a, b, c = (Irreps(s) for s in CASES[mode])
    tp = CGTensorProduct(a, b, c, instructions_for(mode, a, b, c)).double()
    assert equivariance_error(tp, [a, b], c) < 1e-10


def test_gradcheck():
    a, b, c = Irreps("2x0e+1x1o"), Irreps("1x1o"), Irreps("1x0e+2x1o+1x1e")
    tp = CGTensorProduct(a, b, c, fully_connected_instructions(a, b, c)).double()
    x1 = torch.randn(3, a.dim, dtype=F64, requires_grad=True)
    x2 = torch.randn(3, b.dim, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(tp, (x1, x2))
    assert torch.autograd.gradgradcheck(tp, (x1, x2))


def test_bad_input():
    a, b, c = Irreps("2x0e+1x1o"), Irreps("1x1o"), Irreps("1x0e+1x1e")
    with pytest.raises(ValueError, match="cannot produce"):
        CGTensorProduct(a, b, c, [(0, 0, 0, "uvw", True)])  # 0e x 1o -> 0e breaks the triangle rule
    with pytest.raises(ValueError, match="out of range"):
        CGTensorProduct(a, b, c, [(5, 0, 0, "uvw", True)])
    with pytest.raises(ValueError, match="connection mode"):
        CGTensorProduct(a, b, c, [(1, 0, 0, "uvv", True)])
    with pytest.raises(ValueError, match="matching multiplicities"):
        CGTensorProduct("2x1o", b, c, [(0, 0, 0, "uuu", True)])
    with pytest.raises(ValueError, match="needs has_weight"):
        CGTensorProduct(a, b, c, [(1, 0, 0, "uvw", False)])
    tp = CGTensorProduct(a, b, c, [(1, 0, 0, "uvw", True)], internal_weights=False)
    with pytest.raises(ValueError, match="weight: expected a tensor"):
        tp(torch.randn(a.dim), torch.randn(b.dim))
    with pytest.raises(ValueError, match=r"x1: expected shape \[\.\.\., 5\]"):
        tp(torch.randn(4), torch.randn(b.dim), torch.randn(tp.weight_numel))
