"""The examples of docs/geometry.md: the N-body simulator commutes with rigid motions; both scripts run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from torch_gaunt.so3 import random_rotation

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE = EXAMPLES / "nbody"
sys.path.insert(0, str(EXAMPLE))

from charged import integrate, simulate  # noqa: E402


def test_simulator_commutes_with_rigid_motions():
    """Close encounters included (the force's norm is clipped, not its components)."""
    data = simulate(64, burn_in=0, steps=0, seed=3)
    R, t = -random_rotation(dtype=torch.float64), torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    x, v = integrate(data.positions, data.velocities, data.charges, 300)
    x_moved, v_moved = integrate(data.positions @ R.T + t, data.velocities @ R.T, data.charges, 300)
    assert (x_moved - (x @ R.T + t)).abs().max() < 1e-9 and (v_moved - v @ R.T).abs().max() < 1e-9
    assert (x - data.positions).abs().max() > 0.1  # it moved


def test_nbody_script_runs_quick(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "run.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [r["model"] for r in saved["results"]] == ["gaunt", "cg", "frame_averaging", "vector_neurons"]
    for r in saved["results"]:
        assert r["equivariance_error"] < 1e-4  # float32, exact up to rounding
        assert set(saved["timing_seconds"][r["model"]]) and r["test_mse"] > 0
    assert (tmp_path / "nbody.png").stat().st_size > 1000 and "| Gaunt message passing |" in (
        tmp_path / "nbody.md"
    ).read_text()


def test_pose_script_runs_quick(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "pose" / "run.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = (tmp_path / "report.md").read_text()
    assert "| density head (mode) |" in report and "| rotation regression |" in report
    assert (tmp_path / "pose.png").stat().st_size > 1000
