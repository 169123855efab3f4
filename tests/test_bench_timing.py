import torch

from torch_gaunt.bench.report import check_results, default_out_dir, noise_summary, result_json, write_report
from torch_gaunt.bench.timing import NOISE_THRESHOLD, Timing, compare, measure_ops, peak_memory, ratio


class _Scripted:
    """An operation timed elsewhere whose rounds return the given seconds; records the order of the calls."""

    def __init__(self, name, samples, log):
        self.name, self.samples, self.log = name, list(samples), log

    def round(self):
        self.log.append(self.name)
        return self.samples.pop(0)


def test_compare_interleaves_and_rotates_the_order():
    log = []
    ops = {n: _Scripted(n, [1.0, 2.0, 3.0], log) for n in ("a", "b", "c")}
    timings = compare(ops, rounds=3)
    assert [t.samples for t in timings.values()] == [[1.0, 2.0, 3.0]] * 3
    assert log == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # every round runs all, none always first


def test_ratio_is_taken_round_by_round():
    # a burst of load in round 2 slows both ops: per-round ratios stay at 2, a ratio of medians would not
    slow, fast = Timing([2.0, 20.0, 2.0, 2.2, 2.0]), Timing([1.0, 10.0, 1.0, 1.1, 1.0])
    assert ratio(slow, fast) == {"median": 2.0, "min": 2.0, "max": 2.0}
    assert slow.noisy and not Timing([1.0, 1.1, 0.95]).noisy
    assert abs(Timing([1.0, 1.0, 1.0 + NOISE_THRESHOLD / 2]).spread - NOISE_THRESHOLD / 2) < 1e-12


def test_check_results_flags_noise_and_impossible_results():
    steady, noisy = Timing([1.0, 1.05, 1.0]), Timing([1.0, 3.0, 1.0])
    results = {"ours": {"forward": Timing([2.0, 2.0, 2.0]), "forward_backward": steady}, "theirs": {"forward": noisy}}
    warnings = check_results("L = 3", results)
    assert any("ours: forward (2000 ms) slower than forward + backward (1000 ms)" in w for w in warnings)
    assert any("theirs: rounds spread by 200%" in w for w in warnings)
    assert results["ours"]["impossible"]
    assert "noisy" in noise_summary(warnings, 3) and "steady" in noise_summary([], 3)
    data = result_json(results)
    assert set(data["ours"]) == {"forward_ms", "forward_backward_ms", "impossible"}
    assert data["ours"]["forward_ms"]["median_ms"] == 2000.0 and data["theirs"]["forward_ms"]["rounds"] == 3


def test_measure_ops_times_forward_and_training_step():
    x = torch.randn(100, 10, requires_grad=True)
    results = measure_ops({"square": (lambda: (x * x).sin(), [x])}, rounds=2)
    r = results["square"]
    assert set(r) == {"forward", "forward_backward", "peak_memory"}
    assert len(r["forward"].samples) == 2 and r["forward"].median > 0
    assert r["peak_memory"] >= 2 * x.numel() * 4  # the product, and the gradient of x
    assert x.grad is None  # gradients cleared after measuring


def test_peak_memory_counts_live_tensors_only():
    def step():
        a = torch.ones(250_000)  # 1 MB
        b = torch.ones(250_000)  # 2 MB live
        del a, b
        c = torch.ones(125_000)  # 0.5 MB live
        del c

    assert 2_000_000 <= peak_memory(step) < 2_050_000


def test_reports_go_to_new_folders_and_never_replace_silently(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_out_dir().parent == tmp_path.joinpath("runs", "bench").relative_to(tmp_path)
    args = ("x", "X", "cmd", "machine", [("t", "| a |")], {"k": 1})
    write_report(tmp_path / "out", *args)
    assert "replacing" not in capsys.readouterr().err
    write_report(tmp_path / "out", *args)
    assert "replacing the earlier x report" in capsys.readouterr().err


def test_busy_warning_reads_what_others_use(monkeypatch):
    import torch_gaunt.bench.timing as timing

    samples = iter([(100, 1000), (100 + 180, 1000 + 200)])  # 90 % busy during the window
    monkeypatch.setattr(timing, "_cpu_times", lambda: next(samples))
    assert "90%" in timing.busy_warning(window=0)
    samples = iter([(100, 1000), (110, 1200)])  # 5 %
    monkeypatch.setattr(timing, "_cpu_times", lambda: next(samples))
    assert timing.busy_warning(window=0) is None


def test_the_mace_worker_loads_timing_by_path():
    """The worker runs where torch-gaunt is not installed: it loads timing.py by path, dataclasses included."""
    import importlib.util
    from pathlib import Path

    import torch_gaunt.bench

    path = Path(torch_gaunt.bench.__file__).with_name("mace_worker.py")
    spec = importlib.util.spec_from_file_location("mace_worker_probe", path)
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)  # imports no MACE at module level
    timing = worker.load_timing()
    assert timing.Timing([1.0, 2.0, 3.0]).median == 2.0
