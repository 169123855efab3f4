import torch

from torch_gaunt.bench.timing import measure, peak_memory


def test_peak_memory_counts_live_tensors_only():
    def step():
        a = torch.ones(250_000)  # 1 MB
        b = torch.ones(250_000)  # 2 MB live
        del a, b
        c = torch.ones(125_000)  # 0.5 MB live
        del c

    assert 2_000_000 <= peak_memory(step) < 2_050_000


def test_measure_times_forward_and_backward():
    x = torch.randn(100, 10, requires_grad=True)
    result = measure(lambda: (x * x).sin(), [x], "cpu", backward=True)
    assert set(result) == {"forward", "backward", "memory"}
    assert result["forward"] > 0 and result["backward"] > 0
    assert result["memory"] >= 2 * x.numel() * 4  # the product, and the gradient of x
    assert set(measure(lambda: x * x, [x], "cpu", backward=False)) == {"forward"}
