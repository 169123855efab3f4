"""cuEquivariance as a benchmark opponent: the ops `bench convolution` and `bench manybody` time are the
equivariant ops they are said to be (run on its reference code on the CPU)."""

import pytest
import torch

from torch_gaunt.bench.layers import OPS, _cueq, _CueqEdgeConvolution, run
from torch_gaunt.testing import assert_equivariant

cueq = pytest.importorskip("cuequivariance_torch") and _cueq()
pytestmark = pytest.mark.filterwarnings("ignore:cuequivariance_ops_torch is not available")


def test_cueq_edge_convolution_is_equivariant():
    torch.manual_seed(0)
    L, C, N = 2, 3, 6
    conv = _CueqEdgeConvolution(*cueq, L, C, dtype=torch.float64).double()
    edge_index = torch.randint(0, N, (2, N))
    irreps_out = str(conv.tp.irreps_out).replace(" ", "")
    assert irreps_out.count("x") > L + 1  # every path in a slot of its own (uvu), as MACE's convolution
    assert_equivariant(lambda x, v: conv(x, v, edge_index), [f"{C}x0e+{C}x1o+{C}x2e", "1x1o"], irreps_out, batch=N)


def test_cueq_symmetric_contraction_reads_our_layout():
    cue, cuet = cueq
    C, elements = 4, 3
    sc = cuet.SymmetricContraction(
        cue.Irreps("O3", f"{C}x0e+{C}x1o+{C}x2e"), cue.Irreps("O3", f"{C}x0e+{C}x1o"), 3, elements,
        layout=cue.ir_mul, dtype=torch.float64,
    )  # fmt: skip
    element = torch.tensor([0, 1, 2, 1, 0])
    fn = lambda x: sc(x.reshape(x.shape[0], -1), element).reshape(x.shape[0], 4, C)  # noqa: E731
    assert_equivariant(fn, f"{C}x0e+{C}x1o+{C}x2e", f"{C}x0e+{C}x1o", layout="spherical", batch=5)


def test_layer_benchmarks_time_cueq_beside_the_others(capsys):
    data = run("convolution", [1], torch.float64, backward=False)
    (row,) = data["rows"]
    assert "cueq_edge_tp" in row["results"] and "cueq_edge_tp/ours_gaunt/forward" in row["ratios"]
    printed = capsys.readouterr().out
    assert "cuEquivariance edge TP" in printed and "not a speed to quote" in printed
    assert OPS["manybody"][0] == ("mace", "cueq_symmetric_contraction")
