import pytest
import torch

from torch_gaunt.so3 import (
    Irreps,
    degree_index,
    degree_of,
    irreps_to_spherical_tensor,
    lm_index,
    spherical_tensor_irreps,
    spherical_tensor_layout,
    spherical_tensor_to_irreps,
)


def test_round_trip_and_layout():
    irreps = Irreps("3x0e+2x1o+1x1o+3x2e")
    x = torch.randn(5, 2, irreps.dim)
    t = irreps_to_spherical_tensor(x, irreps)
    assert t.shape == (5, 2, 9, 3)
    # channel c of degree 1 comes from the c-th copy of 1o, m along the coefficient axis
    assert torch.equal(t[..., 1:4, 0], x[..., 3:6])
    assert torch.equal(t[..., 1:4, 2], x[..., 9:12])
    assert torch.equal(spherical_tensor_to_irreps(t, irreps), x)


def test_missing_degree_is_zero():
    irreps = Irreps("2x0e+2x2e")
    x = torch.randn(4, irreps.dim)
    t = irreps_to_spherical_tensor(x, irreps)
    assert t.shape == (4, 9, 2) and torch.all(t[:, 1:4] == 0)
    assert torch.equal(spherical_tensor_to_irreps(t, irreps), x)


def test_helpers():
    assert spherical_tensor_irreps(2, 4) == "4x0e+4x1o+4x2e"
    assert spherical_tensor_layout("4x0e+4x1o") == (1, 4)
    assert lm_index(2, -2) == 4 and lm_index(1, 1) == 3
    assert degree_of(16) == 3


def test_errors():
    with pytest.raises(ValueError, match="same multiplicity"):
        spherical_tensor_layout("2x0e+3x1o")
    with pytest.raises(ValueError, match=r"\[\.\.\., 5\]"):
        irreps_to_spherical_tensor(torch.randn(3, 4), "2x0e+1o")
    with pytest.raises(ValueError, match="L\\+1"):
        degree_of(5)
    with pytest.raises(ValueError, match="m"):
        lm_index(1, 2)
    with pytest.raises(TypeError, match="torch.Tensor"):
        irreps_to_spherical_tensor([1.0], "0e")
    with pytest.raises(ValueError, match="t: expected shape"):
        spherical_tensor_to_irreps(torch.randn(2, 4, 3), "2x0e+2x1o")


def test_degree_index():
    assert degree_index(2).tolist() == [0, 1, 1, 1, 2, 2, 2, 2, 2]
    w = torch.tensor([1.0, 2.0, 3.0])
    assert w.index_select(0, degree_index(2)).tolist() == [1, 2, 2, 2, 3, 3, 3, 3, 3]
    assert degree_index(3) is degree_index(3, "cpu")  # cached
    with pytest.raises(ValueError, match="lmax"):
        degree_index(-1)
