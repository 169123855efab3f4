import math

import pytest
import torch
from e3nn import o3

from conftest import default_float64
from torch_gaunt.nn import (
    BesselBasis,
    EquivariantConvolution,
    EquivariantLayerNorm,
    EquivariantRMSNorm,
    FacetMixing,
    FeatureInteraction,
    Gate,
    GaussianBasis,
    Linear,
    ManyBodyInteraction,
    PolynomialCutoff,
    SphereGridActivation,
    SphericalLinear,
    SplineBasis,
    normalize2mom,
)
from torch_gaunt.products import (
    convolution_edge_basis,
    convolution_from_edge_basis,
    gaunt_convolution,
    gaunt_tensor_product,
)
from torch_gaunt.so3 import Irreps, degree_index, random_rotation, spherical_tensor_irreps, wigner_D_matrix
from torch_gaunt.testing import equivariance_error

F64 = torch.float64


# ---- radial -----------------------------------------------------------------------------------------------
def test_radial_bases_finite_at_zero_and_smooth():
    r = torch.tensor([0.0, 1e-8, 0.5, 2.0, 4.99, 5.0, 6.0], dtype=F64, requires_grad=True)
    for basis in (BesselBasis(5.0, 6).double(), GaussianBasis(5.0, 6).double(), SplineBasis(5.0, 6, 5).double()):
        b = basis(r)
        assert b.shape == (7, 6) and torch.isfinite(b).all()
        (g,) = torch.autograd.grad(b.sum(), r, create_graph=True)
        (gg,) = torch.autograd.grad(g.sum(), r)
        assert torch.isfinite(g).all() and torch.isfinite(gg).all()
    bessel = BesselBasis(5.0, 3).double()(torch.tensor([1.3], dtype=F64))
    n = torch.arange(1, 4, dtype=F64)
    assert torch.allclose(bessel[0], math.sqrt(2 / 5) * torch.sin(n * math.pi * 1.3 / 5) / 1.3)


def test_spline_basis_partition_of_unity():
    spline = SplineBasis(4.0, num_basis=9, num_knots=6).double()
    assert spline.bsplines(torch.linspace(0, 4, 50, dtype=F64)).sum(-1).sub(1).abs().max() < 1e-12


def test_polynomial_cutoff():
    cut = PolynomialCutoff(3.0, p=6)
    r = torch.tensor([0.0, 1.5, 3.0 - 1e-5, 3.0, 4.0], dtype=F64, requires_grad=True)
    y = cut(r)
    assert y[0] == 1 and y[3] == 0 and y[4] == 0 and 0 < y[1] < 1
    (g,) = torch.autograd.grad(y.sum(), r)
    assert abs(g[2].item()) < 1e-6 and g[3] == 0  # smooth at the cutoff


# ---- linear -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("biases", [False, True])
def test_linear_matches_e3nn(biases):
    irreps_in, irreps_out = "4x0e + 3x1o + 2x0e + 2x2e", "3x0e + 5x1o + 1x2o + 2x2e"
    ours = Linear(irreps_in, irreps_out, biases=biases).double()
    with default_float64():
        theirs = o3.Linear(irreps_in, irreps_out, biases=biases)
    with torch.no_grad():
        theirs.weight.copy_(ours.weight)
        if biases:
            ours.bias.normal_()
            theirs.bias.copy_(ours.bias)
    x = torch.randn(7, o3.Irreps(irreps_in).dim, dtype=F64)
    assert (ours(x) - theirs(x)).abs().max() < 1e-12
    assert equivariance_error(ours, irreps_in, irreps_out) < 1e-10


def test_spherical_linear_is_per_degree_e3nn_linear():
    lin = SphericalLinear(2, 3, 5, bias=True).double()
    irreps_in, irreps_out = spherical_tensor_irreps(2, 3), spherical_tensor_irreps(2, 5)
    assert equivariance_error(lin, irreps_in, irreps_out, layout="spherical") < 1e-10
    x = torch.randn(4, 9, 3, dtype=F64)
    l1 = x[:, 1:4] @ lin.weight[1] / math.sqrt(3)
    assert torch.allclose(lin(x)[:, 1:4], l1)


# ---- nonlinearities and norms ----------------------------------------------------------------------------
def test_gate_semantics_and_equivariance():
    gate = Gate("4x0e + 2x0o", [torch.nn.functional.silu, torch.tanh], "3x0e", [torch.sigmoid], "2x1o + 1x2e")
    assert str(gate.irreps_in) == "2x0o+7x0e+2x1o+1x2e"  # e3nn's layout: sorted, odd before even, merged
    assert str(gate.irreps_out) == "4x0e+2x0o+2x1o+1x2e"
    x = torch.randn(6, gate.irreps_in.dim, dtype=F64)
    y = gate(x)
    c = normalize2mom(torch.sigmoid)
    gates = c * torch.sigmoid(x[:, 6:9])  # after 2x0o and the 4x0e scalars
    assert torch.allclose(y[:, 6:9], gates[:, :1] * x[:, 9:12]) and torch.allclose(
        y[:, 12:17], gates[:, 2:3] * x[:, 15:20]
    )
    assert torch.allclose(y[:, :4], normalize2mom(torch.nn.functional.silu) * torch.nn.functional.silu(x[:, 2:6]))
    assert torch.allclose(y[:, 4:6], normalize2mom(torch.tanh) * torch.tanh(x[:, :2]))
    assert equivariance_error(gate, gate.irreps_in, gate.irreps_out) < 1e-10
    with pytest.raises(ValueError, match="odd scalar"):
        Gate("1x0o", [torch.sigmoid], "", [], "")
    with pytest.raises(ValueError, match="one gate per gated irrep"):
        Gate("", [], "2x0e", [torch.sigmoid], "1x1o")


@pytest.mark.parametrize(
    "irreps",
    [
        ("4x0e + 2x0o", "3x0e", "2x1o + 1x2e"),
        ("8x0e", "4x0e", "2x2e + 2x1o"),  # gated irreps out of order: e3nn sorts the input
        ("", "2x0o", "1x1e + 1x0e"),  # odd gates flip the parity of what they gate
    ],
    ids=str,
)
def test_gate_matches_e3nn(irreps):
    """Same input tensor, same output as e3nn.nn.Gate, once each activation's constant is e3nn's (it samples it)."""
    from e3nn import math as e3nn_math
    from e3nn import nn as e3nn_nn

    scalars, gates, gated = irreps
    acts_s = [torch.nn.functional.silu if ir.p == 1 else torch.tanh for _, ir in Irreps(scalars)]
    acts_g = [torch.sigmoid if ir.p == 1 else torch.tanh for _, ir in Irreps(gates)]
    ours = Gate(scalars, acts_s, gates, acts_g, gated)
    with default_float64():
        theirs = e3nn_nn.Gate(scalars, acts_s, gates, acts_g, gated)
    assert str(ours.irreps_in) == str(theirs.irreps_in) and str(ours.irreps_out) == str(theirs.irreps_out)
    x = torch.randn(5, ours.irreps_in.dim, dtype=F64)
    y, expected = ours(x), theirs(x)
    # e3nn's constants come from 10^6 samples: divide them out and multiply ours in, block by block
    ratio = lambda act: normalize2mom(act) / e3nn_math.normalize2mom(act).cst  # noqa: E731
    scale = [ratio(act) for (mul, ir), act in zip(Irreps(scalars), acts_s) for _ in range(mul * ir.dim)]
    gate_scale = [ratio(act) for (mul, _), act in zip(Irreps(gates), acts_g) for _ in range(mul)]
    per_irrep = iter(gate_scale)
    scale += [r for mul, ir in Irreps(gated) for _ in range(mul) for r in [next(per_irrep)] * ir.dim]
    assert (y - expected * torch.tensor(scale, dtype=F64)).abs().max() < 1e-12
    assert 0 < max(abs(r - 1) for r in scale) < 2e-3  # the documented difference of the constants


def test_normalize2mom_matches_monte_carlo():
    z = torch.randn(2_000_000, dtype=F64, generator=torch.Generator().manual_seed(0))
    c = normalize2mom(torch.nn.functional.silu)
    assert abs((c * torch.nn.functional.silu(z)).pow(2).mean().item() - 1) < 5e-3


def test_sphere_grid_activation():
    irreps = spherical_tensor_irreps(3, 4)
    exact = SphereGridActivation(3, activation=lambda f: f * f + 0.5 * f**3)  # polynomial: exact on its grid
    assert equivariance_error(exact, irreps, irreps, layout="spherical") < 1e-10
    errors = [
        equivariance_error(SphereGridActivation(3, resolution=res), irreps, irreps, layout="spherical")
        for res in (8, 16, 32)
    ]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-3  # SiLU: quadrature error falls with resolution


@pytest.mark.parametrize("norm", [EquivariantLayerNorm, EquivariantRMSNorm])
def test_norms(norm):
    module = norm(3, 5).double()
    with torch.no_grad():
        module.weight.normal_()
    irreps = spherical_tensor_irreps(3, 5)
    assert equivariance_error(module, irreps, irreps, layout="spherical") < 1e-10
    y = norm(3, 5, affine=False).double()(10 * torch.randn(2, 16, 5, dtype=F64))
    assert torch.isfinite(y).all() and y.abs().max() < 20


def test_norms_compute_their_formulas():
    """Equivariance alone would pass for a module that returns zeros: check the numbers."""
    x = torch.randn(3, 9, 4, dtype=F64)
    layer = EquivariantLayerNorm(2, 4, eps=0.0).double()
    with torch.no_grad():
        layer.weight.normal_()
        layer.bias.normal_()
    scalar = x[:, :1] - x[:, :1].mean(-1, keepdim=True)
    scalar = scalar / scalar.pow(2).mean((-2, -1), keepdim=True).sqrt() * layer.weight[0] + layer.bias
    vector = x[:, 1:4] / x[:, 1:4].pow(2).mean((-2, -1), keepdim=True).sqrt() * layer.weight[1]
    y = layer(x)
    assert torch.allclose(y[:, :1], scalar) and torch.allclose(y[:, 1:4], vector)
    rms = EquivariantRMSNorm(2, 4, eps=0.0, centre=False).double()
    with torch.no_grad():
        rms.weight.normal_()
    per_degree = [x[:, l * l : (l + 1) ** 2].pow(2).mean((-2, -1)) for l in range(3)]  # each degree weighs the same
    scale = (sum(per_degree) / 3).rsqrt()[:, None, None]
    assert torch.allclose(rms(x), x * scale * rms.weight[degree_index(2)])


# ---- the three operation families ------------------------------------------------------------------------
def test_feature_interaction():
    module = FeatureInteraction(2, 4).double()
    irreps = spherical_tensor_irreps(2, 4)
    assert equivariance_error(module, [irreps, irreps], irreps, layout="spherical") < 1e-10
    with torch.no_grad():
        for p in module.parameters():
            p.normal_()
    x, y = torch.randn(5, 9, 4, dtype=F64), torch.randn(5, 9, 4, dtype=F64)
    tp = module.product
    z = gaunt_tensor_product(
        x, y, 2, weights1=tp.weights1, weights2=tp.weights2, weights_out=tp.weights_out, method="dense"
    )
    W = module.linear.weight[degree_index(2)] / 2  # per degree, / sqrt(4 channels)
    assert torch.allclose(module(x, y), torch.einsum("nkc,kcd->nkd", z, W))
    assert module(x, y).abs().max() > 0.1


def _layers():
    """One instance of every layer of spherical tensors, degree 2, 4 channels, with its inputs."""
    pos = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 0], [1, 2, 3, 4, 0, 2]])
    vectors = pos[edge_index[1]] - pos[edge_index[0]]
    element = torch.tensor([0, 1, 0, 1, 1])
    return {
        "SphericalLinear": (SphericalLinear(2, 4, 4, bias=True), lambda x: (x,)),
        "SphereGridActivation": (SphereGridActivation(2), lambda x: (x,)),
        "FacetMixing": (FacetMixing(2, 4, 8), lambda x: (x,)),
        "EquivariantLayerNorm": (EquivariantLayerNorm(2, 4), lambda x: (x,)),
        "EquivariantRMSNorm": (EquivariantRMSNorm(2, 4), lambda x: (x,)),
        "FeatureInteraction": (FeatureInteraction(2, 4), lambda x: (x, x.flip(0))),
        "EquivariantConvolution": (
            EquivariantConvolution(2, 2, 2, 4, radial=BesselBasis(3.0, 4)),
            lambda x: (x, vectors.to(x.dtype), edge_index),
        ),
        "ManyBodyInteraction": (ManyBodyInteraction(2, 4, correlation=3, num_elements=2), lambda x: (x, element)),
    }


@pytest.mark.parametrize("name", list(_layers()))
def test_layers_run_in_float32(name):
    """Every layer in float32 gives the float64 numbers to single precision (and keeps the dtype)."""
    module, inputs = _layers()[name]
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(5, 9, 4, dtype=F64)
    reference = module(*inputs(x))
    y = module.float()(*inputs(x.float()))
    assert y.dtype == torch.float32 and reference.abs().max() > 1e-3
    assert (y.double() - reference).abs().max() < 1e-5 * (1 + reference.abs().max())


def _graph(n=6, e=14, seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(n, 3, dtype=F64, generator=g)
    edge_index = torch.randint(0, n, (2, e), generator=g)
    return pos, edge_index


def test_convolution_equivariance_and_permutation():
    conv = EquivariantConvolution(2, 2, 3, channels=4, radial=BesselBasis(4.0, 6), num_basis=6).double()
    pos, edge_index = _graph()
    x = torch.randn(6, 9, 4, dtype=F64)
    vectors = pos[edge_index[1]] - pos[edge_index[0]]
    out = conv(x, vectors, edge_index)
    R = random_rotation(dtype=F64)
    for g in (R, -R):
        rotated = conv(wigner_D_matrix(2, g, p=1) @ x, vectors @ g.T, edge_index)
        assert (rotated - wigner_D_matrix(3, g, p=1) @ out).abs().max() < 1e-10
    perm = torch.randperm(edge_index.shape[1])
    assert (conv(x, vectors[perm], edge_index[:, perm]) - out).abs().max() < 1e-12


def test_convolution_empty_graphs_and_bad_input():
    conv = EquivariantConvolution(1, 1, 1, channels=2).double()
    x = torch.randn(3, 4, 2, dtype=F64)
    empty = conv(x, torch.zeros(0, 3, dtype=F64), torch.zeros(2, 0, dtype=torch.long))
    assert empty.shape == (3, 4, 2) and torch.all(empty == 0)
    one = conv(x[:1], torch.zeros(1, 3, dtype=F64), torch.zeros(2, 1, dtype=torch.long))  # a self-loop of length 0
    assert torch.isfinite(one).all()
    with pytest.raises(ValueError, match=r"edge_index: expected node indices in \[0, 3\)"):
        conv(x, torch.randn(1, 3, dtype=F64), torch.tensor([[0], [3]]))
    with pytest.raises(ValueError, match="expected shapes"):
        conv(x, torch.randn(2, 3, dtype=F64), torch.tensor([[0], [1]]))
    with pytest.raises(TypeError, match="edge_index: expected an integer tensor"):
        conv(x, torch.randn(1, 3, dtype=F64), torch.tensor([[0.0], [1.0]]))
    with pytest.raises(ValueError, match=r"x: expected shape \[\.\.\., 4, 2\] \(degree 1\)"):
        conv(torch.randn(3, 9, 2, dtype=F64), torch.randn(1, 3, dtype=F64), torch.tensor([[0], [1]]))


def test_many_body_equals_gaunt_product_at_nu_2():
    mb = ManyBodyInteraction(2, 3, correlation=2, num_elements=2, lmax_out=3).double()
    with torch.no_grad():
        mb.weights_in.normal_()
        mb.weights_out.normal_()
    x = torch.randn(5, 9, 3, dtype=F64)
    element = torch.tensor([0, 1, 1, 0, 1])
    out = mb(x, element)
    for n in range(5):
        e = element[n]
        w = mb.weights_in[e][:, degree_index(2)]  # [2 copies, K, C]: the copies of ν = 2
        first = torch.cat([x[n], x.new_zeros(7, 3)])  # ν = 1: the input itself, zero above degree 2
        second = gaunt_tensor_product(x[n, None] * w[0], x[n, None] * w[1], 3, method="dense")[0]
        w_out = mb.weights_out[e][:, degree_index(3)]
        assert (out[n] - (w_out[0] * first + w_out[1] * second)).abs().max() < 1e-12


@pytest.mark.parametrize("method", ["grid", "fourier", "dense"])
def test_many_body_equivariance_and_methods_agree(method):
    mb = ManyBodyInteraction(2, 4, correlation=3, num_elements=3, lmax_out=2, method=method).double()
    with torch.no_grad():
        mb.weights_in.normal_()
    element = torch.tensor([0, 2, 1, 2])
    irreps = spherical_tensor_irreps(2, 4)
    fn = lambda x: mb(x, element)
    assert equivariance_error(fn, irreps, irreps, layout="spherical", batch=4) < 1e-10
    x = torch.randn(4, 9, 4, dtype=F64)
    reference = ManyBodyInteraction(2, 4, correlation=3, num_elements=3, lmax_out=2, method="grid").double()
    reference.load_state_dict(mb.state_dict())
    assert (mb(x, element) - reference(x, element)).abs().max() < 1e-10


def test_many_body_gradients():
    mb = ManyBodyInteraction(1, 2, correlation=3, num_elements=2, lmax_out=1).double()
    x = torch.randn(3, 4, 2, dtype=F64, requires_grad=True)
    element = torch.tensor([0, 1, 1])
    assert torch.autograd.gradcheck(lambda x: mb(x, element), (x,))
    assert torch.autograd.gradgradcheck(lambda x: mb(x, element), (x,))


def test_many_body_bad_input():
    mb = ManyBodyInteraction(1, 2, correlation=2, num_elements=2)
    with pytest.raises(ValueError, match=r"element: expected indices in \[0, 2\)"):
        mb(torch.randn(3, 4, 2), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"element: expected node attributes \[3, 2\]"):
        mb(torch.randn(3, 4, 2), torch.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="element: expected an integer tensor"):
        mb(torch.randn(3, 4, 2), torch.tensor([[0, 1, 1]]))
    x, element = torch.randn(3, 4, 2), torch.tensor([1, 0, 1])
    attrs = torch.nn.functional.one_hot(element, 2).float()  # MACE's node_attrs
    assert torch.allclose(mb(x, element), mb(x, attrs))
    with pytest.raises(ValueError, match="correlation"):
        ManyBodyInteraction(1, 2, correlation=0)
    assert mb(torch.randn(0, 4, 2), torch.zeros(0, dtype=torch.long)).shape == (0, 4, 2)


@pytest.mark.parametrize("degrees", [(2, 2, 3), (3, 1, 2), (1, 3, 4), (2, 0, 2), (4, 4, 4)], ids=str)
def test_edge_frame_convolution_matches_plain(degrees):
    L1, L2, L3 = degrees
    plain = EquivariantConvolution(L1, L2, L3, channels=3, radial=BesselBasis(4.0, 5), num_basis=5).double()
    framed = EquivariantConvolution(
        L1, L2, L3, channels=3, radial=BesselBasis(4.0, 5), num_basis=5, method="edge_frame", chunk_size=4
    ).double()
    framed.load_state_dict(plain.state_dict())
    pos, edge_index = _graph(n=6, e=17, seed=1)
    vectors = pos[edge_index[1]] - pos[edge_index[0]]
    vectors[0] = 0.0  # zero length
    vectors[1] = torch.tensor([0.0, 2.0, 0.0], dtype=F64)  # along +y: the frame's pole
    vectors[2] = torch.tensor([0.0, -1.0, 0.0], dtype=F64)  # along -y
    per_edge = EquivariantConvolution(
        L1, L2, L3, channels=3, radial=BesselBasis(4.0, 5), num_basis=5, method="dense"
    ).double()
    per_edge.load_state_dict(plain.state_dict())  # one dense Gaunt product per edge, summed with index_add
    x = torch.randn(6, (L1 + 1) ** 2, 3, dtype=F64)
    out = plain(x, vectors, edge_index)  # grid: synthesis per node, edge functions by the addition theorem
    assert (out - per_edge(x, vectors, edge_index)).abs().max() < 1e-12
    assert (out - framed(x, vectors, edge_index)).abs().max() < 1e-12


def test_edge_frame_convolution_equivariance_and_gradients():
    conv = EquivariantConvolution(
        2, 2, 2, channels=2, radial=GaussianBasis(3.0, 4), num_basis=4, method="edge_frame"
    ).double()
    pos, edge_index = _graph()
    vectors = (pos[edge_index[1]] - pos[edge_index[0]]).requires_grad_()
    x = torch.randn(6, 9, 2, dtype=F64)
    out = conv(x, vectors, edge_index)
    R = random_rotation(dtype=F64)
    rotated = conv(wigner_D_matrix(2, -R, p=1) @ x, vectors.detach() @ -R.T, edge_index)
    assert (rotated - wigner_D_matrix(2, -R, p=1) @ out).abs().max() < 1e-10
    special = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.5, 0.0], [0.0, -0.7, 0.0]], dtype=F64, requires_grad=True)
    y = conv(x[:3], special, torch.tensor([[0, 1, 2], [1, 2, 0]]))
    (g,) = torch.autograd.grad(y.square().sum(), special)
    assert torch.isfinite(g).all()
    small = torch.randn(3, 3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: conv(x[:3], v, torch.tensor([[0, 1, 2], [1, 2, 0]])), (small,))


def test_facet_mixing():
    irreps = spherical_tensor_irreps(2, 3)
    exact = FacetMixing(2, 3, hidden=5, activation=torch.square).double()  # a polynomial MLP: exact on its grid
    assert equivariance_error(exact, irreps, irreps, layout="spherical") < 1e-10
    errors = [
        equivariance_error(FacetMixing(2, 3, hidden=5, resolution=res).double(), irreps, irreps, layout="spherical")
        for res in (6, 24)
    ]
    assert errors[1] < errors[0] and errors[1] < 1e-3
    out = FacetMixing(2, 3, hidden=4, lmax_out=1)(torch.randn(2, 5, 9, 3))
    assert out.shape == (2, 5, 4, 3)
    with pytest.raises(ValueError, match=r"x: expected shape \[\.\.\., 9, 3\]"):
        exact(torch.randn(4, 9, 2, dtype=F64))


def test_linear_and_layer_bad_input():
    lin = Linear("2x0e + 1x1o", "1x0e")
    with pytest.raises(ValueError, match=r"x: expected shape \[\.\.\., 5\]"):
        lin(torch.randn(3, 4))
    with pytest.raises(ValueError, match="method: expected one of"):
        EquivariantConvolution(1, 1, 1, channels=2, method="fft")
    with pytest.raises(ValueError, match="method: expected one of"):
        EquivariantConvolution(1, 1, 1, channels=2, method="so2")
    with pytest.raises(ValueError, match="num_basis: Sequential has no int attribute num_basis"):
        EquivariantConvolution(1, 1, 1, channels=2, radial=torch.nn.Sequential(BesselBasis(3.0, 5)))
    assert EquivariantConvolution(1, 1, 1, channels=2, radial=BesselBasis(3.0, 5)).radial_mlp.sizes[0] == 5
    with pytest.raises(ValueError, match="r_max: expected a positive"):
        BesselBasis(0.0)
    with pytest.raises(ValueError, match=r"x: expected shape \[\.\.\., 9, 5\]"):
        EquivariantLayerNorm(2, 5)(torch.randn(2, 9, 4))


@pytest.mark.parametrize("lmax, lmax_out, correlation", [(1, 3, 1), (2, 1, 1), (1, 3, 2), (2, 0, 3)])
def test_many_body_grid_matches_pairwise_products(lmax, lmax_out, correlation):
    kwargs = dict(correlation=correlation, num_elements=2, lmax_out=lmax_out)
    grid = ManyBodyInteraction(lmax, 3, method="grid", **kwargs).double()
    with torch.no_grad():
        grid.weights_in.normal_()
    dense = ManyBodyInteraction(lmax, 3, method="dense", **kwargs).double()
    dense.load_state_dict(grid.state_dict())
    x, element = torch.randn(5, (lmax + 1) ** 2, 3, dtype=F64), torch.tensor([0, 1, 1, 0, 1])
    assert (grid(x, element) - dense(x, element)).abs().max() < 1e-10


@pytest.mark.parametrize("method", ["grid", "edge_frame", "dense"])
def test_convolution_second_derivatives_with_a_zero_length_edge(method):
    """Self-loops have zero-length edge vectors; Hessians w.r.t. positions (phonons, force training) must stay
    finite and right. The norm's double backward used to be NaN there."""
    conv = EquivariantConvolution(1, 2, 1, channels=2, radial=BesselBasis(3.0, 4), method=method).double()
    edge_index = torch.tensor([[0, 1, 2, 1, 2], [1, 2, 0, 1, 2]])  # the last two are self-loops
    x = torch.randn(3, 4, 2, dtype=F64)

    def energy(pos: torch.Tensor) -> torch.Tensor:
        vectors = pos[edge_index[1]] - pos[edge_index[0]]
        return (conv(x, vectors, edge_index) ** 2).sum()

    pos = torch.randn(3, 3, dtype=F64, requires_grad=True)
    hessian = torch.autograd.functional.hessian(energy, pos)
    assert torch.isfinite(hessian).all()
    assert torch.autograd.gradgradcheck(energy, (pos,))


@pytest.mark.parametrize("degrees", [(0, 3, 3), (0, 2, 1), (0, 1, 0)], ids=str)
def test_scalar_sender_convolution_matches_dense(degrees):
    """``auto`` with scalar senders takes the direct path x_j Y_0 g_e; it equals the per-edge Gaunt product, also
    through zero-length edges and in second derivatives."""
    L1, L2, L3 = degrees
    auto = EquivariantConvolution(L1, L2, L3, channels=3, radial=BesselBasis(4.0, 5)).double()
    dense = EquivariantConvolution(L1, L2, L3, channels=3, radial=BesselBasis(4.0, 5), method="dense").double()
    dense.load_state_dict(auto.state_dict())
    pos, edge_index = _graph(n=6, e=17, seed=2)
    edge_index[1, 0] = edge_index[0, 0]  # a self-loop
    x = torch.randn(6, 1, 3, dtype=F64)

    def energy(conv, p):
        return (conv(x, p[edge_index[1]] - p[edge_index[0]], edge_index) ** 2).sum()

    vectors = pos[edge_index[1]] - pos[edge_index[0]]
    assert (auto(x, vectors, edge_index) - dense(x, vectors, edge_index)).abs().max() < 1e-12
    p = pos.clone().requires_grad_(True)
    h_auto = torch.autograd.functional.hessian(lambda q: energy(auto, q), p)
    h_dense = torch.autograd.functional.hessian(lambda q: energy(dense, q), p)
    assert torch.isfinite(h_auto).all() and (h_auto - h_dense).abs().max() < 1e-10


@pytest.mark.parametrize("radial_channels", [3, 1], ids=["per-channel", "broadcast"])
def test_grid_convolution_first_and_second_derivatives(radial_channels):
    """The grid executor keeps no [E, G, C] tensors for the backward pass (a custom autograd function recomputes
    them chunk by chunk): its gradients and second derivatives with respect to the features, the radial weights
    and the edge vectors are checked against finite differences, over several chunks of edges."""
    pos, edge_index = _graph(n=5, e=11, seed=3)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]  # no zero-length edges: their Y_0-only rule has a kink
    x = torch.randn(5, 4, 3, dtype=F64, requires_grad=True)
    radial = torch.randn(edge_index.shape[1], 3, radial_channels, dtype=F64, requires_grad=True)
    vectors = (pos[edge_index[1]] - pos[edge_index[0]]).detach().requires_grad_(True)

    def conv(x, radial, vectors):
        return gaunt_convolution(x, radial, vectors, edge_index, 2, method="grid", chunk_size=4)

    dense = gaunt_convolution(x, radial, vectors, edge_index, 2, method="dense")
    assert (conv(x, radial, vectors) - dense).abs().max() < 1e-12
    assert torch.autograd.gradcheck(conv, (x, radial, vectors))
    assert torch.autograd.gradgradcheck(conv, (x, radial, vectors))


@pytest.mark.parametrize("lmax_in, method", [(0, "auto"), (1, "auto"), (1, "dense")], ids=["scalar", "grid", "dense"])
def test_convolution_in_checkpointed_chunks_equals_one_pass(lmax_in, method):
    """``forward_in_chunks`` (per-edge bases and radial weights built chunk by chunk under checkpointing, one sum
    over all edges; per-edge executors checkpoint whole chunks) gives the messages and the gradients with respect to
    the features, the edge vectors and the radial network's weights of one pass over all edges."""
    torch.manual_seed(0)
    conv = EquivariantConvolution(lmax_in, 3, min(lmax_in + 3, 2), channels=3, radial=BesselBasis(4.0, 5),
                                  num_basis=5, method=method, chunk_size=3).double()  # fmt: skip
    pos, edge_index = _graph(n=6, e=17, seed=4)
    x = torch.randn(6, (lmax_in + 1) ** 2, 3, dtype=F64, requires_grad=True)
    vectors = (pos[edge_index[1]] - pos[edge_index[0]]).requires_grad_(True)
    results = []
    for run in (lambda: conv(x, vectors, edge_index), lambda: conv.forward_in_chunks(x, vectors, edge_index, 5)):
        out = run()
        grads = torch.autograd.grad((out**2).sum(), [x, vectors, *conv.parameters()])
        results.append((out, *grads))
    for whole, chunked in zip(*results):
        torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-12)
    torch.testing.assert_close(conv.forward_in_chunks(x, vectors, edge_index, 17), results[0][0], rtol=0, atol=0)
    with pytest.raises(ValueError, match="chunk"):
        conv.forward_in_chunks(x, vectors, edge_index, 0)


def test_convolution_from_edge_blocks_first_and_second_derivatives():
    """The edge sum over several blocks of edges (as ``forward_in_chunks`` builds them) equals the sum over one
    block, and its first and second derivatives with respect to the features, the bases and the radial weights
    match finite differences."""
    pos, edge_index = _graph(n=5, e=11, seed=5)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    vectors = pos[edge_index[1]] - pos[edge_index[0]]
    x = torch.randn(5, 4, 2, dtype=F64, requires_grad=True)
    basis = convolution_edge_basis(vectors, 1, 2, 2, "grid").detach().requires_grad_(True)
    radial = torch.randn(edge_index.shape[1], 3, 2, dtype=F64, requires_grad=True)

    def in_blocks(x, basis, radial):
        parts = [(basis[:4], radial[:4]), (basis[4:], radial[4:])]
        return convolution_from_edge_basis(x, parts, edge_index, 2, "grid", chunk_size=3)

    one = convolution_from_edge_basis(x, [(basis, radial)], edge_index, 2, "grid")
    assert (in_blocks(x, basis, radial) - one).abs().max() < 1e-13
    assert (one - gaunt_convolution(x, radial, vectors, edge_index, 2, method="dense")).abs().max() < 1e-12
    assert torch.autograd.gradcheck(in_blocks, (x, basis, radial))
    assert torch.autograd.gradgradcheck(in_blocks, (x, basis, radial))
