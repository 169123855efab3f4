"""The per-path convolution (MACE's convolution on Gaunt paths) and the linear map that mixes its path slots."""

import math

import pytest
import torch
from e3nn import o3

from conftest import default_float64
from torch_gaunt.nn import BesselBasis, PathConvolution, PathLinear, RadialMLP, normalize2mom
from torch_gaunt.products import PathConvolutionDescription, gaunt_tensor_product, path_convolution
from torch_gaunt.so3 import (
    gaunt_allowed,
    random_rotation,
    spherical_harmonics,
    spherical_tensor_to_irreps,
    wigner_D_matrix,
)

F64 = torch.float64


def _graph(n=6, e=15, seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(n, 3, dtype=F64, generator=g)
    edge_index = torch.randint(0, n, (2, e), generator=g)
    return pos, edge_index


def test_description_paths_and_slots():
    d = PathConvolutionDescription(1, 3, 3)
    expected = {(a, b, c) for a in range(2) for b in range(4) for c in range(4) if gaunt_allowed(a, b, c)}
    assert set(d.paths) == expected and len(d.paths) == 10  # MACE's 10 paths of layer 2 at max_L 1, max_ell 3
    assert d.paths_per_degree == (2, 3, 3, 2) and d.num_slots == 3
    for l3 in range(4):  # the paths into each degree fill slots 0, 1, ... in order
        assert sorted(s for p, s in zip(d.paths, d.slots) if p[2] == l3) == list(range(d.paths_per_degree[l3]))
    assert PathConvolutionDescription(0, 3, 3).paths == ((0, 0, 0), (0, 1, 1), (0, 2, 2), (0, 3, 3))


@pytest.mark.parametrize("degrees", [(0, 3, 3), (1, 3, 3), (2, 3, 2), (2, 2, 4)], ids=str)
def test_paths_equal_e3nn_component_normalised_tensor_product(degrees):
    """Each path equals e3nn's ``uvu`` path with component-normalised harmonics (MACE's ``conv_tp``), sign included:
    the oracle is e3nn's own TensorProduct with one output block per path."""
    L1, L2, L3 = degrees
    C, N, E = 3, 5, 13
    desc = PathConvolutionDescription(L1, L2, L3)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, (L1 + 1) ** 2, C, dtype=F64, generator=g)
    vectors = torch.randn(E, 3, dtype=F64, generator=g)
    edge_index = torch.randint(0, N, (2, E), generator=g)
    radial = torch.randn(E, len(desc.paths), C, dtype=F64, generator=g)
    ours = path_convolution(x, radial, vectors, edge_index, desc)

    irreps_x = o3.Irreps([(C, (l, (-1) ** l)) for l in range(L1 + 1)])
    irreps_y = o3.Irreps([(1, (l, (-1) ** l)) for l in range(L2 + 1)])
    irreps_out = o3.Irreps([(C, (l3, (-1) ** l3)) for _, _, l3 in desc.paths])
    instructions = [(l1, l2, k, "uvu", True) for k, (l1, l2, _) in enumerate(desc.paths)]
    with default_float64():  # e3nn builds its constants in the default dtype
        tp = o3.TensorProduct(
            irreps_x, irreps_y, irreps_out, instructions, shared_weights=False, internal_weights=False
        )
        Y = o3.spherical_harmonics(irreps_y, vectors, normalize=True, normalization="component")
        per_edge = tp(spherical_tensor_to_irreps(x, irreps_x)[edge_index[0]], Y, radial.reshape(E, -1))
    reference = torch.zeros_like(ours)
    offset = 0
    for (_, _, l3), s in zip(desc.paths, desc.slots):
        block = per_edge[:, offset : offset + C * (2 * l3 + 1)].reshape(E, C, 2 * l3 + 1).transpose(1, 2)
        offset += C * (2 * l3 + 1)
        reference[:, l3 * l3 : (l3 + 1) ** 2, s].index_add_(0, edge_index[1], block)
    assert (ours - reference).abs().max() < 1e-12 * max(1.0, float(reference.abs().max()))


def test_paths_equal_gaunt_products_per_path():
    """Independent of e3nn: path p is c_p times the dense Gaunt product of degree l1 of x with R_p Y_l2, at l3."""
    L1, L2, L3, C = 2, 2, 3, 2
    desc = PathConvolutionDescription(L1, L2, L3)
    pos, edge_index = _graph()
    vectors = pos[edge_index[1]] - pos[edge_index[0]]
    x = torch.randn(6, 9, C, dtype=F64)
    radial = torch.randn(vectors.shape[0], len(desc.paths), C, dtype=F64)
    out = path_convolution(x, radial, vectors, edge_index, desc)
    Y = spherical_harmonics(vectors, L2)
    from torch_gaunt.products import path_normalization

    for p, ((l1, l2, l3), s) in enumerate(zip(desc.paths, desc.slots)):
        part = torch.zeros_like(x)
        part[:, l1 * l1 : (l1 + 1) ** 2] = x[:, l1 * l1 : (l1 + 1) ** 2]
        edge = torch.zeros(vectors.shape[0], 9, C, dtype=F64)
        edge[:, l2 * l2 : (l2 + 1) ** 2] = Y[:, l2 * l2 : (l2 + 1) ** 2, None] * radial[:, p, None, :]
        messages = gaunt_tensor_product(part[edge_index[0]], edge, L3, method="dense")
        expected = torch.zeros(6, 16, C, dtype=F64).index_add(0, edge_index[1], messages)
        block = slice(l3 * l3, (l3 + 1) ** 2)
        assert (out[:, block, s] - path_normalization(l1, l2, l3) * expected[:, block]).abs().max() < 1e-12
    for l3, used in enumerate(desc.paths_per_degree):  # empty slots stay zero
        assert torch.all(out[:, l3 * l3 : (l3 + 1) ** 2, used:] == 0)


def test_equivariance_rotation_and_inversion():
    conv = PathConvolution(2, 3, 3, channels=3, radial=BesselBasis(4.0, 6), radial_hidden=[8]).double()
    pos, edge_index = _graph()
    x = torch.randn(6, 9, 3, dtype=F64)
    vectors = pos[edge_index[1]] - pos[edge_index[0]]
    out = conv(x, vectors, edge_index)
    R = random_rotation(dtype=F64)
    for Q in (R, -R):
        rotated = conv(wigner_D_matrix(2, Q, p=1) @ x, vectors @ Q.T, edge_index)
        expected = torch.einsum("ab,nbsc->nasc", wigner_D_matrix(3, Q, p=1), out)
        assert (rotated - expected).abs().max() < 1e-10


def test_zero_length_edges_and_second_derivatives():
    """A self-loop has no direction: only its l2 = 0 paths count, and Hessians through it are finite and right."""
    conv = PathConvolution(1, 2, 2, channels=2, radial=BesselBasis(3.0, 4), radial_hidden=[4]).double()
    edge_index = torch.tensor([[0, 1, 2, 1, 2], [1, 2, 0, 1, 2]])  # the last two are self-loops
    x = torch.randn(3, 4, 2, dtype=F64)

    def energy(pos):
        return (conv(x, pos[edge_index[1]] - pos[edge_index[0]], edge_index) ** 2).sum()

    pos = torch.randn(3, 3, dtype=F64, requires_grad=True)
    assert torch.isfinite(torch.autograd.functional.hessian(energy, pos)).all()
    assert torch.autograd.gradgradcheck(energy, (pos,))
    desc = conv.description
    loop = conv(x[:1], torch.zeros(1, 3, dtype=F64), torch.zeros(2, 1, dtype=torch.long))
    radial = conv.radial_weights(torch.zeros(1, 3, dtype=F64))
    for p, ((l1, l2, l3), s) in enumerate(zip(desc.paths, desc.slots)):
        block = loop[0, l3 * l3 : (l3 + 1) ** 2, s]
        if l2 > 0:
            assert torch.all(block == 0)
        else:  # (l1, 0, l1): x itself, times the path's weight and the component-normalised Y_0 = 1
            assert torch.allclose(block, radial[0, p] * x[0, l1 * l1 : (l1 + 1) ** 2], atol=1e-13)


def test_empty_graph_and_bad_input():
    desc = PathConvolutionDescription(1, 1, 1)
    x = torch.randn(3, 4, 2, dtype=F64)
    empty = path_convolution(x, torch.zeros(0, 4, 2, dtype=F64), torch.zeros(0, 3, dtype=F64), torch.zeros(2, 0, dtype=torch.long), desc)  # fmt: skip
    assert empty.shape == (3, 4, 2, 2) and torch.all(empty == 0)  # 2 slots: degree 1 has two paths
    with pytest.raises(ValueError, match=r"expected shapes \[E, 3\], \[2, E\] and \[E, 4 paths, 2 or 1\]"):
        path_convolution(x, torch.randn(1, 2, 2, dtype=F64), torch.randn(1, 3, dtype=F64), torch.tensor([[0], [1]]), desc)  # fmt: skip
    with pytest.raises(ValueError, match=r"edge_index: expected node indices in \[0, 3\)"):
        path_convolution(x, torch.randn(1, 4, 2, dtype=F64), torch.randn(1, 3, dtype=F64), torch.tensor([[0], [3]]), desc)  # fmt: skip
    with pytest.raises(ValueError, match=r"x: expected shape \[\.\.\., 4, C\]"):
        path_convolution(torch.randn(3, 9, 2, dtype=F64), torch.randn(1, 4, 2, dtype=F64), torch.randn(1, 3, dtype=F64), torch.tensor([[0], [1]]), desc)  # fmt: skip


def test_path_linear_mixes_each_degree_with_its_own_slots():
    lin = PathLinear((2, 3, 1), 4, 5).double()
    assert lin.weight.numel() == (2 + 3 + 1) * 4 * 5  # no weights for empty slots
    x = torch.randn(7, 9, 3, 4, dtype=F64)
    out = lin(x)
    W = lin.weight.view(-1, 4, 5)
    offset = 0
    for l, p in enumerate((2, 3, 1)):
        Wl = W[offset : offset + p]
        offset += p
        block = x[:, l * l : (l + 1) ** 2, :p]
        expected = torch.einsum("nksc,scd->nkd", block, Wl) / math.sqrt(p * 4)
        assert (out[:, l * l : (l + 1) ** 2] - expected).abs().max() < 1e-12
    x[:, 0, 2] = 1e6  # an empty slot (degree 0 has two paths) does not reach the output
    assert torch.equal(lin(x)[:, 0], out[:, 0])
    with pytest.raises(ValueError, match=r"x: expected shape \[\.\.\., 9, 3, 4\]"):
        lin(torch.randn(2, 9, 2, 4, dtype=F64))


def test_radial_mlp_is_e3nn_fully_connected_net():
    """Same weights, same outputs as e3nn's FullyConnectedNet (N(0, 1) weights over sqrt(fan_in), normalised SiLU).
    e3nn estimates the SiLU constant from 10^6 samples (0.03-0.16 % off the exact one, which ours computes); with
    its constant put into ours, the two agree to rounding."""
    from e3nn.nn import FullyConnectedNet

    ours = RadialMLP([6, 16, 16, 10]).double()
    theirs = FullyConnectedNet([6, 16, 16, 10], torch.nn.functional.silu).double()
    with torch.no_grad():
        for w, layer in zip(ours.weights, theirs):
            layer.weight.copy_(w)
    assert ours.activation_constant == pytest.approx(theirs[0].act.cst, rel=2e-3)
    ours.activation_constant = theirs[0].act.cst
    basis = torch.randn(50, 6, dtype=F64)
    assert (ours(basis) - theirs(basis)).abs().max() < 1e-12
    # unit second moment in, about unit second moment out, whatever the widths
    wide = RadialMLP([64, 256, 256, 512]).double()
    rms = wide(torch.randn(4000, 64, dtype=F64)).pow(2).mean().sqrt()
    assert 0.5 < float(rms.detach()) < 2.0
    assert normalize2mom(torch.nn.functional.silu) == pytest.approx(1.67653, abs=1e-5)
