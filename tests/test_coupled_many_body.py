"""The many-body product with one weight per coupling: grid against dense products, the couplings' count, unit
variance, independence and equivariance."""

import pytest
import torch

from torch_gaunt.nn import CoupledManyBodyInteraction
from torch_gaunt.products import CoupledManyBodyDescription, coupled_many_body_product
from torch_gaunt.products.backends import grid as grid_backend
from torch_gaunt.so3 import spherical_tensor_irreps
from torch_gaunt.testing import equivariance_error

F64 = torch.float64


@pytest.mark.parametrize("degrees", [(3, 3, 1), (2, 2, 2), (1, 4, 1), (3, 3, 0), (2, 1, 2), (0, 3, 0)], ids=str)
def test_grid_equals_dense_products(degrees):
    L, correlation, Lo = degrees
    desc = CoupledManyBodyDescription(L, correlation, Lo)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, (L + 1) ** 2, 3, dtype=F64, generator=g)
    w = torch.randn(4, len(desc.couplings), 3, dtype=F64, generator=g)
    dense = coupled_many_body_product(x, w, desc, method="dense")
    assert (coupled_many_body_product(x, w, desc) - dense).abs().max() < 1e-12 * dense.abs().max()


def test_half_grid_form_agrees(monkeypatch):
    """Large grids run on half of the φ nodes; force that form on a small grid and compare."""
    desc = CoupledManyBodyDescription(2, 3, 1)
    x, w = torch.randn(3, 9, 2, dtype=F64), torch.randn(3, len(desc.couplings), 2, dtype=F64)
    full = coupled_many_body_product(x, w, desc)
    monkeypatch.setattr(grid_backend, "HALF_GRID_FROM", 2)
    assert grid_backend.grid_tables(2, desc.grid_size, F64, torch.device("cpu")).half
    assert (coupled_many_body_product(x, w, desc) - full).abs().max() < 1e-12


def test_couplings_of_mace_sizes():
    """Messages of degree 3, correlation 3: 13 invariant and 13 vector couplings, the even ones of MACE's 16 vector
    covariants; every multiset of degrees appears with each output it can reach."""
    desc = CoupledManyBodyDescription(3, 3, 1)
    by_degree = [sum(1 for _, l in desc.couplings if l == lo) for lo in range(2)]
    assert by_degree == [13, 13]
    assert ((0, 0, 0), 0) in desc.couplings and ((1, 1, 1), 1) in desc.couplings
    assert ((1, 1, 1), 0) not in desc.couplings  # 1 + 1 + 1 + 0 is odd: no Gaunt coupling
    assert ((0, 1), 1) in desc.couplings and ((0, 2), 1) not in desc.couplings


def test_distinct_degree_couplings_have_unit_variance():
    """With independent N(0, 1) coefficients, a coupling of distinct degrees has unit variance per component."""
    desc = CoupledManyBodyDescription(3, 3, 2)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(20000, 16, 1, dtype=F64, generator=g)
    for k, (S, l) in enumerate(desc.couplings):
        if len(set(S)) != len(S):
            continue  # repeated degrees are not independent factors
        w = torch.zeros(20000, len(desc.couplings), 1, dtype=F64)
        w[:, k] = 1.0
        z = coupled_many_body_product(x, w, desc)[:, l * l : (l + 1) ** 2]
        assert float(z.square().mean()) == pytest.approx(1.0, rel=0.05), (S, l)


@pytest.mark.parametrize("degrees", [(3, 3, 1), (2, 2, 2)], ids=str)
def test_couplings_are_linearly_independent(degrees):
    """No weight is redundant: the couplings into each output degree, as functions of x, have full rank."""
    desc = CoupledManyBodyDescription(*degrees)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(400, (desc.lmax + 1) ** 2, 1, dtype=F64, generator=g)
    for lo in range(desc.lmax_out + 1):
        ks = [k for k, (_, l) in enumerate(desc.couplings) if l == lo]
        columns = []
        for k in ks:
            w = torch.zeros(400, len(desc.couplings), 1, dtype=F64)
            w[:, k] = 1.0
            columns.append(coupled_many_body_product(x, w, desc)[:, lo * lo : (lo + 1) ** 2].reshape(-1))
        assert torch.linalg.matrix_rank(torch.stack(columns, 1)) == len(ks)


def test_module_equivariance_elements_and_gradients():
    mb = CoupledManyBodyInteraction(2, 3, correlation=3, num_elements=2, lmax_out=2).double()
    element = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
    irreps = spherical_tensor_irreps(2, 3)
    assert equivariance_error(lambda x: mb(x, element), irreps, irreps, layout="spherical") < 1e-10
    x = torch.randn(8, 9, 3, dtype=F64)
    by_index, by_one_hot = mb(x, element), mb(x, torch.nn.functional.one_hot(element, 2).double())
    assert torch.equal(by_index, by_one_hot)
    w = mb.weights * mb.scale[:, None]  # each node takes its element's weights
    assert torch.allclose(by_index, coupled_many_body_product(x, w[element], mb.description), atol=1e-13)
    small = torch.randn(2, 9, 3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda t: mb(t, element[:2]), (small,))
    with pytest.raises(ValueError, match=r"element: expected indices in \[0, 2\)"):
        mb(x, torch.full((8,), 2))
    with pytest.raises(ValueError, match=r"weights: expected shape \[8, 25 couplings, 3\]"):
        coupled_many_body_product(x, torch.randn(8, 5, 3, dtype=F64), mb.description)
