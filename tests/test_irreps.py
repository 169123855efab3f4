import pytest
import torch
from e3nn import o3

from conftest import default_float64
from torch_gaunt.so3 import Irrep, Irreps

CASES = ["16x0e+8x1o", "0e + 1o + 2e", "3x2o+0e+1x1e+4x0o", "", "1x0e+1x0e", "2x1y"]


@pytest.mark.parametrize("text", CASES)
def test_matches_e3nn(text):
    ours, theirs = Irreps(text), o3.Irreps(text)
    assert str(ours) == str(theirs)
    assert ours.dim == theirs.dim
    assert ours.num_irreps == theirs.num_irreps
    assert ours.ls == theirs.ls
    assert ours.slices() == theirs.slices()
    assert str(ours.simplify()) == str(theirs.simplify())
    s_ours, s_theirs = ours.sort(), theirs.sort()
    assert str(s_ours.irreps) == str(s_theirs.irreps)
    assert s_ours.p == s_theirs.p and s_ours.inv == s_theirs.inv
    assert Irreps(theirs) == ours


def test_equality_semantics():
    assert Irreps("0e+0e") != Irreps("2x0e")
    assert Irreps("2x0e") == "2x0e" == Irreps([(2, "0e")])
    assert Irreps("1o") == Irreps(Irrep(1, -1))
    assert hash(Irreps("1o+2e")) == hash(Irreps("1x1o+1x2e"))
    assert Irreps("1o") != "not irreps"


def test_operations():
    irreps = Irreps("4x0e+2x1o")
    assert irreps + "1e" == Irreps("4x0e+2x1o+1x1e")
    assert irreps * 2 == Irreps("4x0e+2x1o+4x0e+2x1o")
    assert irreps[1:] == Irreps("2x1o")
    assert irreps[0].mul == 4 and irreps[0].ir == Irrep("0e")
    assert irreps.count("1o") == 2 and "1o" in irreps and "2e" not in irreps
    assert irreps.lmax == 1
    assert Irreps("0e+1o+2e+3o").filter(lmax=1) == "0e+1o"
    assert Irreps.spherical_harmonics(2) == "0e+1o+2e"
    assert Irreps.spherical_harmonics(2, p=1) == "0e+1e+2e"
    assert [str(ir) for ir in Irrep("1o") * Irrep("2e")] == ["1o", "2o", "3o"]
    assert 3 * Irrep("1e") == Irreps("3x1e")


def test_D_from_matrix_matches_e3nn():
    alpha, beta, gamma = torch.rand(3, 4, dtype=torch.float64) * 2 * torch.pi
    R = o3.angles_to_matrix(alpha, beta, gamma)
    irreps = "2x0e+1o+2x2e+1x3o+0o"
    for k, g in ((0, R), (1, -R)):
        ours = Irreps(irreps).D_from_matrix(g)
        with default_float64():
            theirs = o3.Irreps(irreps).D_from_angles(alpha, beta, gamma, torch.tensor(k))
        assert (ours - theirs).abs().max() < 1e-12


@pytest.mark.parametrize(
    "bad, error",
    [
        ("1x", ValueError),
        ("2x3q", ValueError),
        ("-1x0e", ValueError),
        ("0e++1o", ValueError),
        ("x1o", ValueError),
    ],
)
def test_malformed_strings(bad, error):
    with pytest.raises(error, match="irreps"):
        Irreps(bad)


def test_bad_irrep_arguments():
    with pytest.raises(ValueError, match="degree"):
        Irrep(-1, 1)
    with pytest.raises(ValueError, match="parity"):
        Irrep(1, 0)
    with pytest.raises(ValueError, match="irrep"):
        Irrep("1z")
    with pytest.raises(TypeError, match="irreps"):
        Irreps(3.5)
    with pytest.raises(ValueError, match="multiplicity"):
        Irreps([(-2, "0e")])
    with pytest.raises(ValueError, match="lmax"):
        _ = Irreps("").lmax
