import pytest
import torch
from e3nn import o3

from conftest import default_float64
from torch_gaunt.products import GauntDescription, GauntTensorProduct, gaunt_tensor_product, select_method
from torch_gaunt.products.gaunt import METHODS as ALL_METHODS
from torch_gaunt.so3 import (
    gaunt_cg_ratio,
    irreps_to_spherical_tensor,
    spherical_tensor_irreps,
    spherical_tensor_to_irreps,
)
from torch_gaunt.testing import equivariance_error

METHODS = ["dense", "grid", "fourier"]
F64 = torch.float64


def reference(x, y, L3):
    """Σ over paths of gaunt_cg_ratio x e3nn's wigner_3j contraction (independent of our CG and Gaunt tables)."""
    L1, L2 = int(x.shape[-2] ** 0.5) - 1, int(y.shape[-2] ** 0.5) - 1
    z = x.new_zeros(x.shape[:-2] + ((L3 + 1) ** 2, x.shape[-1]))
    for l1, l2, l3 in GauntDescription(L1, L2, L3).paths:
        with default_float64():
            C = o3.wigner_3j(l1, l2, l3).to(x.dtype)
        xs, ys = x[..., l1 * l1 : (l1 + 1) ** 2, :], y[..., l2 * l2 : (l2 + 1) ** 2, :]
        z[..., l3 * l3 : (l3 + 1) ** 2, :] += gaunt_cg_ratio(l1, l2, l3) * torch.einsum(
            "ijk,...ic,...jc->...kc", C, xs, ys
        )
    return z


DEGREES = [(L, L, L3) for L in range(1, 9) for L3 in (L, 2 * L)] + [
    (1, 4, 3),
    (5, 2, 7),
    (3, 6, 2),
    (7, 0, 7),
    (0, 0, 0),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("degrees", DEGREES, ids=str)
def test_methods_match_reference_float64(method, degrees):
    L1, L2, L3 = degrees
    x = torch.randn(3, (L1 + 1) ** 2, 4, dtype=F64)
    y = torch.randn(3, (L2 + 1) ** 2, 4, dtype=F64)
    assert (gaunt_tensor_product(x, y, L3, method=method) - reference(x, y, L3)).abs().max() < 1e-10


@pytest.mark.parametrize("crossover", [-1, 10], ids=["fft", "direct"])
@pytest.mark.parametrize("degrees", [(1, 1, 2), (3, 1, 4), (2, 4, 3), (4, 4, 8), (0, 3, 3)], ids=str)
def test_fourier_convolution_paths(degrees, crossover, monkeypatch):
    # the Fourier executor convolves by FFT or directly; force each path and compare with the reference
    import torch_gaunt.products.backends.fourier as fourier

    monkeypatch.setattr(fourier, "DIRECT_MAX_DEGREE", crossover)
    L1, L2, L3 = degrees
    x = torch.randn(2, (L1 + 1) ** 2, 3, dtype=F64)
    y = torch.randn(2, (L2 + 1) ** 2, 1, dtype=F64)
    assert (
        gaunt_tensor_product(x, y, L3, method="fourier") - reference(x, y.expand(-1, -1, 3), L3)
    ).abs().max() < 1e-10


@pytest.mark.parametrize("method", METHODS)
def test_float32_relative_accuracy(method):
    L = 6
    x, y = torch.randn(8, (L + 1) ** 2, 16, dtype=F64), torch.randn(8, (L + 1) ** 2, 16, dtype=F64)
    exact = reference(x, y, L)
    z = gaunt_tensor_product(x.float(), y.float(), L, method=method)
    assert z.dtype == torch.float32
    assert ((z.double() - exact).abs().max() / exact.abs().max()) < 1e-5


def test_gaunt_path_is_documented_multiple_of_e3nn_cg_path():
    # e3nn channel-wise TensorProduct with raw CG paths (no normalisation) and weights = gaunt_cg_ratio
    L, C = 3, 2
    irreps = o3.Irreps([(C, (l, (-1) ** l)) for l in range(L + 1)])
    desc = GauntDescription(L, L, L)
    instructions = [(l1, l2, l3, "uuu", True) for l1, l2, l3 in desc.paths]
    with default_float64():  # e3nn computes its CG buffers in the default dtype
        tp = o3.TensorProduct(
            irreps, irreps, irreps, instructions, irrep_normalization="none", path_normalization="none"
        )
    with torch.no_grad():
        tp.weight.copy_(torch.tensor([gaunt_cg_ratio(*p) for p in desc.paths for _ in range(C)], dtype=F64))
    x, y = torch.randn(5, irreps.dim, dtype=F64), torch.randn(5, irreps.dim, dtype=F64)
    ours = gaunt_tensor_product(irreps_to_spherical_tensor(x, irreps), irreps_to_spherical_tensor(y, irreps), L)
    assert (spherical_tensor_to_irreps(ours, irreps) - tp(x, y)).abs().max() < 1e-12


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("parities", [(1, 1), (1, -1), (-1, -1)])
def test_equivariance(method, parities):
    desc = GauntDescription(3, 2, 4, *parities)
    irreps1, irreps2, irreps_out = desc.irreps(channels=3)
    fn = lambda x, y: gaunt_tensor_product(x, y, 4, method=method)
    assert equivariance_error(fn, [irreps1, irreps2], irreps_out, layout="spherical") < 1e-10


@pytest.mark.parametrize("method", METHODS)
def test_gradcheck(method):
    x = torch.randn(2, 9, 2, dtype=F64, requires_grad=True)
    y = torch.randn(2, 4, 2, dtype=F64, requires_grad=True)
    fn = lambda x, y: gaunt_tensor_product(x, y, 2, method=method)
    assert torch.autograd.gradcheck(fn, (x, y))
    assert torch.autograd.gradgradcheck(fn, (x, y))


@pytest.mark.parametrize("method", METHODS)
def test_broadcasting_and_weights(method):
    L1, L2, L3 = 3, 2, 4
    x = torch.randn(2, 5, (L1 + 1) ** 2, 3, dtype=F64)
    y = torch.randn(5, (L2 + 1) ** 2, 1, dtype=F64)  # one channel, broadcast over batch dim 0 and channels
    z = gaunt_tensor_product(x, y, L3, method=method)
    assert z.shape == (2, 5, (L3 + 1) ** 2, 3)
    assert (z - reference(x, y.expand(2, 5, -1, 3), L3)).abs().max() < 1e-10
    w1, w2, w3 = torch.rand(L1 + 1, 3, dtype=F64), torch.rand(L2 + 1, dtype=F64), torch.rand(L3 + 1, 3, dtype=F64)
    weighted = gaunt_tensor_product(x, y, L3, method=method, weights1=w1, weights2=w2, weights_out=w3)
    expand = lambda w, L: torch.repeat_interleave(
        w if w.dim() == 2 else w[:, None], torch.arange(1, 2 * L + 2, 2), dim=0
    )
    expected = reference(x * expand(w1, L1), y * expand(w2, L2), L3) * expand(w3, L3)
    assert (weighted - expected).abs().max() < 1e-10


def test_empty_batch():
    z = gaunt_tensor_product(torch.randn(0, 4, 2), torch.randn(0, 9, 2), 3, method="grid")
    assert z.shape == (0, 16, 2)


def test_module():
    tp = GauntTensorProduct(2, 2, 3, channels=4, p1=1, p2=-1)
    assert "auto" in repr(tp) and tp.method in ALL_METHODS and str(tp.irreps_out) == "4x0o+4x1e+4x2o+4x3e"
    x, y = torch.randn(6, 9, 4), torch.randn(6, 9, 4)
    with torch.no_grad():
        tp.weights1.mul_(2.0)
    assert torch.allclose(tp(x, y), 2 * gaunt_tensor_product(x, y, 3), atol=1e-5)
    assert len(list(tp.parameters())) == 3
    assert len(list(GauntTensorProduct(2, 2, weights=None).parameters())) == 0
    fixed = GauntTensorProduct(1, 1, method="fourier", weights=None)
    assert "'fourier'" in repr(fixed) and "(auto)" not in repr(fixed)


@pytest.mark.parametrize("method", METHODS)
def test_compile_fullgraph(method):
    x, y = torch.randn(4, 16, 3), torch.randn(4, 16, 3)
    eager = gaunt_tensor_product(x, y, 3, method=method)  # the first call prepares the cached tables
    compiled = torch.compile(
        lambda a, b: gaunt_tensor_product(a, b, 3, method=method), fullgraph=True, backend="aot_eager"
    )
    assert torch.allclose(compiled(x, y), eager, atol=1e-5)


def test_fourier_fft_branch_gradients_and_compile():
    """Degrees above DIRECT_MAX_DEGREE take the FFT branch of the Fourier executor: gradients and compile there."""
    from torch_gaunt.products.backends.fourier import DIRECT_MAX_DEGREE, select_convolution

    L = DIRECT_MAX_DEGREE + 1
    assert select_convolution(GauntDescription(L, L, L)) == "fft"
    x = torch.randn(2, (L + 1) ** 2, 2, dtype=F64, requires_grad=True)
    y = torch.randn(2, (L + 1) ** 2, 2, dtype=F64, requires_grad=True)
    fn = lambda x, y: gaunt_tensor_product(x, y, L, method="fourier")  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, y))
    assert torch.autograd.gradgradcheck(fn, (x, y))
    compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
    assert (compiled(x, y) - reference(x, y, L)).abs().max() < 1e-12


def test_compile_with_changing_batch_sizes():
    """A second batch size makes Dynamo trace with symbolic sizes; the degree must still be read without a break."""
    tp = GauntTensorProduct(2, 2, 2, channels=3, method="grid")
    compiled = torch.compile(tp, fullgraph=True, backend="aot_eager")
    for batch in (4, 7, 9):
        x, y = torch.randn(batch, 9, 3), torch.randn(batch, 9, 3)
        assert torch.allclose(compiled(x, y), tp(x, y), atol=1e-6)
    # and changing degrees: the coefficient axis becomes symbolic too
    product = torch.compile(lambda a, b: gaunt_tensor_product(a, b, method="grid"), fullgraph=True, backend="aot_eager")
    for L in (1, 2, 3):
        x = torch.randn(3, (L + 1) ** 2, 2)
        eager = gaunt_tensor_product(x, x, method="grid")  # builds the tables, outside the compiled region
        assert torch.allclose(product(x, x), eager, atol=1e-5)


@pytest.mark.parametrize(
    ("degrees", "operation", "expected"),
    [
        ((0, 0, 0), "product", "dense"),
        ((2, 2, 2), "product", "dense"),
        ((5, 1, 5), "product", "dense"),  # (L1+1)^2 (L2+1)^2 = 144 <= 150
        ((6, 1, 6), "product", "grid"),  # 196
        ((3, 3, 3), "product", "grid"),
        ((0, 3, 3), "convolution", "grid"),
        ((1, 1, 1), "many_body", "dense"),
        ((2, 2, 1), "many_body", "grid"),
    ],
)
def test_select_method(degrees, operation, expected):
    assert select_method(*degrees, operation=operation) == expected
    assert select_method(*degrees, device="cuda", operation=operation) == expected  # no GPU table yet: same rule


def test_auto_is_select_method():
    for degrees in [(1, 1, 2), (3, 3, 3)]:
        method = select_method(*degrees)
        assert GauntTensorProduct(*degrees).method == method
        L1, L2, L3 = degrees
        x, y = torch.randn(2, (L1 + 1) ** 2, 3, dtype=F64), torch.randn(2, (L2 + 1) ** 2, 3, dtype=F64)
        assert torch.equal(gaunt_tensor_product(x, y, L3), gaunt_tensor_product(x, y, L3, method=method))
    with pytest.raises(ValueError, match="operation: expected one of"):
        select_method(1, 1, 1, operation="cg")


def test_module_compiles_and_follows_dtype():
    tp = GauntTensorProduct(2, 2, 3, channels=3, method="grid").double()
    x, y = torch.randn(4, 9, 3, dtype=F64), torch.randn(4, 9, 3, dtype=F64)
    compiled = torch.compile(tp, fullgraph=True, backend="aot_eager")
    assert (compiled(x, y) - reference(x, y, 3)).abs().max() < 1e-12


def test_bad_input():
    x, y = torch.randn(2, 9, 3), torch.randn(2, 4, 3)
    with pytest.raises(ValueError, match=r"x: expected \(L\+1\)\*\*2 coefficients \(1, 4, 9, 16, ...\) in axis -2"):
        gaunt_tensor_product(torch.randn(2, 8, 3), y)
    with pytest.raises(ValueError, match="y: expected 3 channels"):
        gaunt_tensor_product(x, torch.randn(2, 4, 2))
    with pytest.raises(ValueError, match="lmax_out: expected a degree <= 3"):
        gaunt_tensor_product(x, y, 4)
    with pytest.raises(ValueError, match="y: expected dtype torch.float32"):
        gaunt_tensor_product(x, y.double())
    with pytest.raises(ValueError, match="y: expected device cpu"):
        gaunt_tensor_product(x, y.to("meta"))
    with pytest.raises(ValueError, match="method: expected one of"):
        gaunt_tensor_product(x, y, method="fft")
    with pytest.raises(ValueError, match="leading dimensions must broadcast"):
        gaunt_tensor_product(torch.randn(3, 9, 3), y)
    with pytest.raises(ValueError, match=r"weights1: expected shape \[3\] or \[3, 3\]"):
        gaunt_tensor_product(x, y, weights1=torch.ones(4))
    with pytest.raises(ValueError, match=r"x: expected shape \[\.\.\., 9, 4\] \(degree 2\)"):
        GauntTensorProduct(2, 1, channels=4)(x, y)
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        gaunt_tensor_product([1.0], y)


@pytest.mark.parametrize("batch", [1, 4, 9, 16])
def test_e3nn_layout_with_square_batch_is_refused(batch):
    """[B, irreps.dim] with B a square used to be read as B = (L+1)**2 coefficients: now it fails and says why."""
    irreps = spherical_tensor_irreps(1, 4)
    x = torch.randn(batch, irreps.dim)
    with pytest.raises(ValueError, match="irreps_to_spherical_tensor"):
        gaunt_tensor_product(x, x)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        GauntTensorProduct(1, 1, channels=4)(x, x)
    t = irreps_to_spherical_tensor(x, irreps)  # the fix the message points to
    assert gaunt_tensor_product(t, t, 1).shape == (batch, 4, 4)


def test_only_y_broadcasts_over_channels():
    x, y = torch.randn(2, 4, 1), torch.randn(2, 4, 8)
    with pytest.raises(ValueError, match="only y broadcasts over channels, so pass the tensor with 8 channels as x"):
        gaunt_tensor_product(x, y)
    assert gaunt_tensor_product(y, x).shape == (2, 9, 8)  # the other way round is the supported broadcast


@pytest.mark.parametrize("half_from", [0, 10**6], ids=["half grids", "full grids"])
def test_both_grid_forms_agree(half_from, monkeypatch):
    """The grid pipeline runs on half or full grids by grid size; force each and compare with the reference."""
    import torch_gaunt.products.backends.grid as grid
    from torch_gaunt.nn import ManyBodyInteraction

    monkeypatch.setattr(grid, "HALF_GRID_FROM", half_from)
    for L1, L2, L3 in [(2, 2, 2), (3, 1, 4), (4, 4, 8)]:
        x = torch.randn(2, (L1 + 1) ** 2, 3, dtype=F64, requires_grad=True)
        y = torch.randn(2, (L2 + 1) ** 2, 3, dtype=F64, requires_grad=True)
        desc = GauntDescription(L1, L2, L3)
        assert grid.grid_tables(L3, desc.grid_size, F64, torch.device("cpu")).half == (half_from == 0)
        assert (gaunt_tensor_product(x, y, L3, method="grid") - reference(x, y, L3)).abs().max() < 1e-12
    assert torch.autograd.gradgradcheck(lambda x, y: gaunt_tensor_product(x, y, 2, method="grid"), (x[:, :9], y))
    mb = ManyBodyInteraction(2, 3, correlation=3, num_elements=2, lmax_out=2, method="grid").double()
    dense = ManyBodyInteraction(2, 3, correlation=3, num_elements=2, lmax_out=2, method="dense").double()
    dense.load_state_dict(mb.state_dict())
    x, element = torch.randn(4, 9, 3, dtype=F64), torch.tensor([0, 1, 1, 0])
    assert (mb(x, element) - dense(x, element)).abs().max() < 1e-12
