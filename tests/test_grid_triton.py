"""The fused Triton grid executor (``method="grid_triton"``): the same products and gradients as the grid
executor, checked on the CPU with Triton's interpreter in a process of its own (``TRITON_INTERPRET=1`` must be set
before Triton is imported)."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from torch_gaunt.products import gaunt_tensor_product, select_method
from torch_gaunt.products.backends import grid_triton

INTERPRETED = textwrap.dedent(
    """
    import torch
    from torch_gaunt.products import gaunt_tensor_product
    from torch_gaunt.products.backends import grid_triton

    assert grid_triton.available("cpu")
    torch.manual_seed(0)
    for L1, L2, L3, cy, dtype, tol in ((1, 1, 2, 3, torch.float64, 1e-12), (2, 1, 2, 1, torch.float64, 1e-12),
                                       (3, 2, 4, 3, torch.float32, 2e-5), (2, 2, 0, 1, torch.float32, 2e-5)):
        x = torch.randn(4, (L1 + 1) ** 2, 3, dtype=dtype)
        y = torch.randn(4, (L2 + 1) ** 2, cy, dtype=dtype)
        ref = gaunt_tensor_product(x, y, L3, method="grid")
        got = gaunt_tensor_product(x, y, L3, method="grid_triton")
        err = (got - ref).abs().max().item() / ref.abs().max().item()
        assert err < tol, (L1, L2, L3, cy, dtype, err)
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 9, 1, dtype=torch.float64, requires_grad=True)
    fn = lambda a, b: gaunt_tensor_product(a, b, 2, method="grid_triton")
    assert torch.autograd.gradcheck(fn, (x, y))
    assert torch.autograd.gradgradcheck(fn, (x, y))  # forces of a potential differentiate the backward
    print("ok")
    """
)


def test_grid_triton_needs_a_gpu_or_the_interpreter(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert not grid_triton.available("cpu")
    with pytest.raises(RuntimeError, match="grid_triton.*CUDA device.*TRITON_INTERPRET"):
        gaunt_tensor_product(torch.randn(2, 4, 3), torch.randn(2, 4, 3), 2, method="grid_triton")


def test_auto_never_picks_grid_triton():
    for device in ("cpu", "cuda"):
        for L in range(1, 17):
            assert select_method(L, L, L, device) != "grid_triton"


def test_grid_triton_matches_grid_in_the_interpreter(tmp_path):
    pytest.importorskip("triton")
    env = dict(os.environ, TRITON_INTERPRET="1")
    result = subprocess.run(
        [sys.executable, "-c", INTERPRETED], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stdout + result.stderr
