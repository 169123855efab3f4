"""The learning-curve harness: the split, the readers of both programs' metrics, and the report."""

import json

import ase.io
import numpy as np
import pytest

from atoms_helpers import DEMO
from torch_gaunt.bench.learning import (
    Schedule,
    curve_errors,
    mean_difference,
    prediction_errors,
    prepare_split,
    read_mace,
    read_ours,
    report,
)


def test_split_is_fixed_and_relabelled(tmp_path):
    data = prepare_split(str(DEMO), str(DEMO), tmp_path, n_valid=20, seed=7)
    train, valid = ase.io.read(data / "train.xyz", ":"), ase.io.read(data / "valid.xyz", ":")
    frames = [a for a in ase.io.read(DEMO, ":") if len(a) > 1]  # the isolated atoms are E0s, not data
    assert len(train) + len(valid) == len(frames) and len(valid) == 20
    first = valid[0]
    assert "REF_energy" in first.info and "REF_forces" in first.arrays and first.calc is None
    again = prepare_split(str(DEMO), str(DEMO), tmp_path / "other", n_valid=20, seed=7)
    assert [a.info["REF_energy"] for a in ase.io.read(again / "valid.xyz", ":")] == [
        a.info["REF_energy"] for a in valid
    ]
    with pytest.raises(ValueError, match="n_valid: expected 1"):
        prepare_split(str(DEMO), str(DEMO), tmp_path / "bad", n_valid=0)


def test_schedule_flags_are_shared_names():
    flags = Schedule(e0s={1: -13.5, 8: -2037.8}).flags(5, tmp := __import__("pathlib").Path("d"))
    assert "--seed=5" in flags and "--max_num_epochs=80" in flags and "--swa" in flags
    assert "--E0s={1: -13.5, 8: -2037.8}" in flags and f"--valid_file={tmp / 'valid.xyz'}" in flags


def test_read_mace_follows_restarts(tmp_path):
    """MACE logs a validation before its first epoch (again after a restart); the clock continues across restarts
    and a repeated epoch keeps its last record."""
    records = [
        {"mode": "eval", "epoch": None, "wall": 100.0, "rmse_e_per_atom": 1.0, "rmse_f": 1.0},
        {"mode": "opt", "epoch": 0, "wall": 110.0},
        {"mode": "eval", "epoch": 0, "wall": 160.0, "rmse_e_per_atom": 0.01, "rmse_f": 0.2},
        {"mode": "eval", "epoch": 1, "wall": 220.0, "rmse_e_per_atom": 0.005, "rmse_f": 0.1},
        {"mode": "eval", "epoch": None, "wall": 1000.0, "rmse_e_per_atom": 0.005, "rmse_f": 0.1},
        {"mode": "eval", "epoch": 1, "wall": 1050.0, "rmse_e_per_atom": 0.004, "rmse_f": 0.09},
    ]
    path = tmp_path / "results.txt"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    curve = read_mace(path)
    assert [r["epoch"] for r in curve] == [1, 2]
    assert curve[0]["minutes"] == pytest.approx(1.0) and curve[0]["forces_rmse"] == pytest.approx(200)
    assert curve[1]["minutes"] == pytest.approx((120 + 50) / 60) and curve[1]["energy_rmse"] == pytest.approx(4)


def test_curves_report_and_errors(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    rows = [{"epoch": k, "energy_rmse": 5.0 / (k + 1), "forces_rmse": 100.0 / (k + 1), "time": 30.0 * (k + 1)}
            for k in range(4)]  # fmt: skip
    metrics.write_text("".join(json.dumps(r) + "\n" for r in rows))
    curve = read_ours(metrics)
    assert curve[1] == {"epoch": 2, "energy_rmse": 2.5, "forces_rmse": 50.0, "minutes": 1.0}
    assert curve_errors(curve, epoch=3)["forces_rmse"] == pytest.approx(100 / 3)
    assert curve_errors(curve, minutes=1.7)["epoch"] == 3 and curve_errors(curve, minutes=0.1) is None
    frames = [a for a in ase.io.read(DEMO, ":") if len(a) > 1][:4]
    for k, atoms in enumerate(frames):
        atoms.info["REF_energy"], atoms.arrays["REF_forces"] = 1.0, np.zeros((len(atoms), 3))
        atoms.info["gaunt_energy"] = 1.0 + 0.001 * len(atoms) * (1 if k % 2 else -1)
        atoms.arrays["gaunt_forces"] = np.full((len(atoms), 3), 0.002)
        atoms.calc = None
    ase.io.write(tmp_path / "predicted.xyz", frames)
    errors = prediction_errors(tmp_path / "predicted.xyz", "gaunt_")
    assert errors["energy_rmse"] == pytest.approx(1.0) and errors["forces_rmse"] == pytest.approx(2.0)
    for label, scale in (("ours", 1.0), ("mace", 1.5)):
        for seed in (1, 2):
            run = tmp_path / "runs" / f"{label}_seed{seed}"
            run.mkdir(parents=True)
            factor = scale * (1 + 0.2 * (seed - 1))  # the second seed 20 % worse
            (run / "curve.json").write_text(
                json.dumps([{**r, "forces_rmse": r["forces_rmse"] * factor} for r in curve])
            )
            (run / "extrapolation.json").write_text(json.dumps(errors))
            (run / "run.json").write_text(json.dumps({"machine": "test", "command": ["x", "train"], "cpu_use": 1.8}))
    folders = sorted((tmp_path / "runs").iterdir())
    text = report(folders, tmp_path / "out" / "acac", epochs=(2, 4), minutes=(1,), untimed=("ours_seed2",))
    assert "| ours | 2 | 55 (50-60) | 27.5 (25-30) | 50 | 2.5 (2.5-2.5) |" in text  # the untimed seed has no clock
    assert "| mace | 2 | 82.5 (75-90) |" in text
    assert (tmp_path / "out" / "acac.png").stat().st_size > 10_000 and (tmp_path / "out" / "acac.json").is_file()
    # the report's data stands in for the run folders: the same report again, then grown by one run
    again = report([tmp_path / "out" / "acac.json"], tmp_path / "again", epochs=(2, 4), minutes=(1,),
                   untimed=("ours_seed2",))  # fmt: skip
    assert again == text
    grown = report([tmp_path / "out" / "acac.json", folders[0]], tmp_path / "grown", epochs=(2, 4), minutes=(1,))
    assert "| mace | 3 | 80 (75-90) |" in grown
    # ours − mace with its standard error over seeds: F @ 2 is 50, 60 against 75, 90
    compared = report([tmp_path / "out" / "acac.json"], tmp_path / "compared", epochs=(2,), minutes=(),
                      compare=[("ours", "mace")])  # fmt: skip
    assert f"| ours − mace | -27.5 ± {np.sqrt(50 / 2 + 112.5 / 2):.2g} | +0 ± 0 | +0 ± 0 | 2 / 2 |" in compared
    with pytest.raises(ValueError, match="no runs labelled"):
        report([tmp_path / "out" / "acac.json"], tmp_path / "bad", compare=[("ours", "theirs")])
    with pytest.raises(FileNotFoundError, match="no such report data"):
        report([tmp_path / "out" / "missing.json"], tmp_path / "none")


def test_mean_difference_and_its_standard_error():
    d, se = mean_difference([1.0, 3.0, 5.0], [2.0, 2.0])
    assert d == pytest.approx(1.0) and se == pytest.approx(np.sqrt(4.0 / 3))  # the second sample has no spread
    d, se = mean_difference([1.0], [2.0, 4.0])
    assert d == -2.0 and np.isnan(se)  # one seed: no error to give
    with pytest.raises(ValueError, match="values on both sides"):
        mean_difference([], [1.0])


def test_report_reads_stopped_runs(tmp_path):
    """A run stopped before its end has no run.json: its curve comes from our metrics.jsonl or MACE's results file,
    its command from the first line of output.log; it has no extrapolation errors and no clock that counts."""
    ours = tmp_path / "ours_seed1"
    (ours / "train").mkdir(parents=True)
    rows = [{"epoch": k, "energy_rmse": 1.0, "forces_rmse": 40.0 - k, "time": 30.0 * (k + 1)} for k in range(3)]
    (ours / "train" / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (ours / "output.log").write_text("$ python -m torch_gaunt.cli train --seed=1\nepoch 0\n")
    mace = tmp_path / "mace_seed1"
    (mace / "results").mkdir(parents=True)
    records = [{"mode": "eval", "epoch": None, "wall": 0.0, "rmse_e_per_atom": 1.0, "rmse_f": 1.0}]
    records += [{"mode": "eval", "epoch": k, "wall": 60.0 * (k + 1), "rmse_e_per_atom": 0.002, "rmse_f": 0.05}
                for k in range(2)]  # fmt: skip
    (mace / "results" / "mace_run-1_train.txt").write_text("".join(json.dumps(r) + "\n" for r in records))
    text = report([ours, mace], tmp_path / "out" / "stopped", epochs=(2, 3), minutes=(1,))
    assert "| ours | 1 | 39 | 38 | – | 1 | 1 | – | – | – | – |" in text
    assert "| mace | 1 | 50 | – | – | 2 | – |" in text
    assert "`ours_seed1`: stopped after 3 epochs; `torch_gaunt.cli train --seed=1`" in text
    assert "`mace_seed1`: stopped after 2 epochs" in text
    with pytest.raises(FileNotFoundError, match="neither a finished run"):
        report([tmp_path / "out"], tmp_path / "out" / "nothing")
