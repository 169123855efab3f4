"""Molecular dynamics: NVE conserves energy, Langevin holds its temperature, the trajectory survives a kill,
and the `md` command writes its report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import ase.io
import numpy as np
import pytest

from atoms_helpers import copper, molecule, tiny_model
from torch_gaunt.atoms import GauntCalculator, MDSettings, energy_drift, read_trajectory, run_md
from torch_gaunt.models import save_model


def copper_cell():
    atoms = copper(0, cubic=True).repeat((2, 1, 1))
    atoms.calc = GauntCalculator(tiny_model(), skin=0.5)
    return atoms


def test_nve_conserves_total_energy(tmp_path):
    atoms = copper_cell()
    settings = MDSettings(ensemble="nve", temperature_K=300, timestep_fs=1.0, steps=200, interval=5, seed=1)
    summary = run_md(atoms, settings, tmp_path / "nve.xyz", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "nve.log.jsonl").read_text().splitlines()]
    assert len(rows) == 200 // 5 + 1
    total = np.array([r["total_energy"] for r in rows])
    potential = np.array([r["potential_energy"] for r in rows])
    # energy flows between kinetic and potential while the sum stays put
    assert potential.std() > 1e-3
    assert total.std() < 0.02 * potential.std()
    assert abs(summary.drift_meV_per_atom_per_ps) < 0.02 * (potential.std() * 1000 / len(atoms)) / summary.simulated_ps
    assert summary.steps == 200 and summary.simulated_ps == pytest.approx(0.2)
    frames = ase.io.read(tmp_path / "nve.xyz", ":")
    assert len(frames) == len(rows)
    np.testing.assert_allclose(frames[-1].get_potential_energy(), rows[-1]["potential_energy"])


def test_langevin_holds_the_target_temperature(tmp_path):
    atoms = copper_cell()
    settings = MDSettings(ensemble="nvt", temperature_K=1000, timestep_fs=1.0, steps=400, friction=0.2, interval=4)
    summary = run_md(atoms, settings, tmp_path / "nvt.xyz", progress=False)
    assert summary.drift_meV_per_atom_per_ps is None
    assert 700 < summary.mean_temperature_K < 1300


def test_energy_drift_is_the_fitted_slope():
    t = np.linspace(0, 2, 50)
    assert energy_drift(t, 0.5 + 0.003 * t) == pytest.approx(3.0)
    assert energy_drift(t[:1], t[:1]) == 0.0


def test_settings_are_checked(tmp_path):
    atoms = molecule(0)
    with pytest.raises(ValueError, match="ensemble"):
        run_md(atoms, MDSettings(ensemble="npt"), tmp_path / "x.xyz")
    with pytest.raises(ValueError, match="timestep_fs"):
        run_md(atoms, MDSettings(timestep_fs=0), tmp_path / "x.xyz")
    with pytest.raises(ValueError, match="no calculator"):
        run_md(atoms, MDSettings(), tmp_path / "x.xyz")


def _md_command(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "torch_gaunt.cli", "md", *args]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture()
def model_and_structure(tmp_path):
    model = save_model(tmp_path / "model.pt", tiny_model())
    structure = tmp_path / "cu.xyz"
    ase.io.write(structure, copper(0, cubic=True))
    return model, structure


def test_md_command_writes_trajectory_log_plot_and_summary(tmp_path, model_and_structure):
    model, structure = model_and_structure
    args = ["--structure", str(structure), "--model", str(model), "--trajectory", str(tmp_path / "run.xyz"),
            "--ensemble", "nve", "--steps", "20", "--interval", "5", "--no-progress"]  # fmt: skip
    process = _md_command(args, tmp_path)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert "total energy drift" in output and "ps per wall hour" in output
    assert len(ase.io.read(tmp_path / "run.xyz", ":")) == 5
    assert (tmp_path / "run.md.png").stat().st_size > 0
    summary = json.loads((tmp_path / "run.summary.json").read_text())
    assert summary["ensemble"] == "nve" and summary["steps"] == 20


def test_trajectory_survives_a_kill(tmp_path, model_and_structure):
    model, structure = model_and_structure
    trajectory = tmp_path / "killed.xyz"
    args = ["--structure", str(structure), "--model", str(model), "--trajectory", str(trajectory),
            "--steps", "100000", "--interval", "1", "--no-progress"]  # fmt: skip
    process = _md_command(args, tmp_path)
    log = tmp_path / "killed.log.jsonl"
    deadline = time.time() + 120
    while not (log.exists() and log.read_text().count("\n") >= 5):
        assert process.poll() is None and time.time() < deadline, process.communicate()[0]
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    logged = log.read_text().count("\n")
    frames = read_trajectory(trajectory)
    assert len(frames) >= logged >= 5
    assert all(len(f) == 4 for f in frames)
    assert "momenta" in frames[-1].arrays


def test_emt_example_runs_quick(tmp_path):
    script = Path(__file__).resolve().parents[1] / "examples" / "emt_metals" / "run.py"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = (tmp_path / "report.md").read_text()
    assert "fcc Cu lattice constant" in report and "S RMSE" in report
    assert (tmp_path / "train" / "model.pt").is_file()
