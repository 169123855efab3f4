import json
import sys

import pytest
import torch

from torch_gaunt.cli import main
from torch_gaunt.cli.train import DEMO_DATA


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: torch-gaunt" in capsys.readouterr().out


def test_bench_help_lists_every_benchmark(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--help"])
    assert exit_info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    for name in ("tp", "sh", "interaction", "convolution", "manybody", "potential"):
        assert sum(line.split()[:1] == [name] for line in lines) == 1, name  # one line each, name then text


def test_bench_sh_writes_report(tmp_path, capsys):
    assert main(["bench", "sh", "--lmax", "2", "3", "--n", "1000", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "| L |" in printed and "torch-gaunt" in printed and f"report written to {tmp_path}" in printed
    data = json.loads((tmp_path / "spherical_harmonics.json").read_text())
    assert [r["lmax"] for r in data["rows"]] == [2, 3]
    assert all(r["forward_ms"]["torch_gaunt"]["median_ms"] > 0 for r in data["rows"])
    assert (tmp_path / "spherical_harmonics.md").read_text().startswith("# Spherical harmonics")
    assert (tmp_path / "spherical_harmonics.png").stat().st_size > 1000
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporary files


def test_bench_tp_keys_and_default_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--lmax", "1", "--no-backward"]) == 0  # `bench` alone runs tp
    (folder,) = (tmp_path / "runs" / "bench").iterdir()  # a new, timestamped folder
    data = json.loads((folder / "gaunt_tensor_product.json").read_text())
    (row,) = data["protocols"]["channels"]
    assert row["lmax"] == 1 and row["auto"] in row["results"]
    assert set(row["results"]["grid"]) == {"forward_ms"}
    assert "e3nn_channelwise/grid/forward" in row["ratios"]


def test_manybody_says_when_mace_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no .venv-mace here
    assert main(["bench", "manybody", "--lmax", "1", "--no-backward", "--out", ""]) == 0
    captured = capsys.readouterr()
    assert "mace-torch is not set up" in captured.err and "bench-mace" in captured.err
    assert "MACE was not timed" in captured.out


def test_bench_potential_runs_and_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no .venv-mace here
    args = ["bench", "potential", "--sizes", "4x1", "--dtypes", "float64", "--out", str(tmp_path / "report")]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "mace-torch is not set up" in captured.err and "MACE was not timed" in captured.out
    report = (tmp_path / "report" / "potential.md").read_text()
    assert "Training step (ms)" in report and "4 ch, max_L 1" in report
    assert "ours, per-path convolution" in report and "ours + Selfmix" in report


def test_bench_potential_variants(tmp_path, monkeypatch):
    from torch_gaunt.bench.potential import run

    monkeypatch.chdir(tmp_path)
    data = run(str(DEMO_DATA), [(4, 1)], [torch.float64], rounds=1, variants=["ours", "ours_per_path"])
    assert set(data["rows"][0]["results"]) == {"ours", "ours_per_path"}
    params = data["rows"][0]["params"]
    assert params["ours"] != params["ours_per_path"]  # a radial weight per path, not per degree
    with pytest.raises(ValueError, match="variants: expected names among"):
        run(str(DEMO_DATA), [(4, 1)], [torch.float64], rounds=1, variants=["theirs"])


FAKE_MACE = """#!{python}
# speaks mace_potential_worker.py's protocol without mace-torch: cueq is twice as fast, its compiled ops absent
import json, sys
backend = sys.argv[-1]
print("@ ready", json.dumps({{"parameters": 7, "backend": backend, "cueq_ops": False if backend == "cueq" else None}}))
for line in sys.stdin:
    if line.strip() not in ("forward", "forward_backward"):
        break
    print("@", json.dumps(0.5 if backend == "cueq" else 1.0), flush=True)
"""


def test_bench_potential_times_each_mace_backend(tmp_path, monkeypatch, capsys):
    from torch_gaunt.bench.potential import run

    fake = tmp_path / "python"
    fake.write_text(FAKE_MACE.format(python=sys.executable))
    fake.chmod(0o755)
    data = run(str(DEMO_DATA), [(4, 1)], [torch.float64], out_dir=tmp_path / "report", mace_python=str(fake),
               rounds=1, variants=["ours"], mace_backends=("e3nn", "cueq"))  # fmt: skip
    (row,) = data["rows"]
    assert set(row["results"]) == {"ours", "mace", "mace_cueq"} and row["params"]["mace_cueq"] == 7
    for kind in ("forward", "forward_backward"):
        slow, fast = row["results"]["mace"][kind]["median_ms"], row["results"]["mace_cueq"][kind]["median_ms"]
        assert slow == pytest.approx(1000.0) and fast == pytest.approx(500.0)
        assert row["ratios"][f"mace/ours/{kind}"]["median"] == pytest.approx(
            2 * row["ratios"][f"mace_cueq/ours/{kind}"]["median"], rel=0.5
        )
    report = (tmp_path / "report" / "potential.md").read_text()
    assert "MACE+cuEq / ours" in report and "compiled ops: absent" in report
    with pytest.raises(ValueError, match="rounds: expected at least 1"):
        run(str(DEMO_DATA), [(4, 1)], [torch.float64], rounds=0, variants=["ours"])
    with pytest.raises(ValueError, match="mace_backends: expected names among"):
        run(str(DEMO_DATA), [(4, 1)], [torch.float64], rounds=1, variants=["ours"], mace_backends=("oeq",))


def test_train_and_evaluate_are_listed(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "train" in out and "evaluate" in out
