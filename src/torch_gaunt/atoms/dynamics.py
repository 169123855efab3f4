"""Molecular dynamics with ASE's integrators: NVE (velocity Verlet) and NVT (Langevin), with a crash-safe
trajectory, a log of energies and temperature, and a summary (energy drift for NVE, mean temperature for NVT).

Every ``interval`` steps one extxyz frame (positions, momenta, energy, forces) is appended to the trajectory in a
single write followed by ``fsync``, and one JSON line (step, time, potential, kinetic and total energy,
temperature) to the log: if the run is killed, the frames written so far stay readable. Langevin runs hold the
centre of mass fixed (ASE's ``FixCom`` constraint).
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import ase.io
import numpy as np
from ase import units
from ase.constraints import FixCom
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, ZeroRotation
from ase.md.verlet import VelocityVerlet

from .._checks import check_int
from .._progress import progress_bar

try:  # ASE >= 3.27
    from ase.md.velocitydistribution import thermalize_momenta as thermalize
except ImportError:
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize

__all__ = ["MDSettings", "MDSummary", "run_md", "energy_drift", "read_trajectory"]

ENSEMBLES = ("nve", "nvt")


@dataclass
class MDSettings:
    """``ensemble`` ``"nve"`` or ``"nvt"``; ``temperature_K`` sets the initial velocities (Maxwell-Boltzmann, no net
    momentum or rotation) and the Langevin thermostat; ``timestep_fs`` in fs; ``friction`` in 1/fs (NVT);
    ``interval``: steps between trajectory frames and log lines."""

    ensemble: str = "nvt"
    temperature_K: float = 300.0
    timestep_fs: float = 0.5
    steps: int = 1000
    friction: float = 0.01
    seed: int = 0
    interval: int = 10

    def check(self) -> None:
        if self.ensemble not in ENSEMBLES:
            raise ValueError(f"ensemble: expected one of {ENSEMBLES}, got {self.ensemble!r}")
        for name in ("temperature_K", "friction"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}: expected a number >= 0, got {getattr(self, name)}")
        if not self.timestep_fs > 0:
            raise ValueError(f"timestep_fs: expected a time step > 0 fs, got {self.timestep_fs}")
        for name in ("steps", "interval"):
            check_int(name, getattr(self, name))


@dataclass
class MDSummary:
    """What a run did: steps, simulated time (ps), wall time (s), ps per wall hour, and either the NVE energy drift
    (meV/atom/ps, slope of a line fitted to the total energy per atom; and the largest deviation from the start,
    meV/atom) or the NVT mean temperature (K, over the second half of the run)."""

    ensemble: str
    steps: int
    simulated_ps: float
    wall_s: float
    ps_per_hour: float
    mean_temperature_K: float
    drift_meV_per_atom_per_ps: float | None = None
    max_deviation_meV_per_atom: float | None = None

    def format(self) -> str:
        lines = [
            f"{self.ensemble.upper()}: {self.steps} steps, {self.simulated_ps:.3f} ps in {self.wall_s:.1f} s "
            f"({self.ps_per_hour:.2f} ps per wall hour)",
            f"mean temperature (second half): {self.mean_temperature_K:.1f} K",
        ]
        if self.drift_meV_per_atom_per_ps is not None:
            lines.append(
                f"total energy drift: {self.drift_meV_per_atom_per_ps:+.4f} meV/atom/ps "
                f"(largest deviation {self.max_deviation_meV_per_atom:.4f} meV/atom)"
            )
        return "\n".join(lines)


def energy_drift(times_ps: np.ndarray, total_energy_per_atom: np.ndarray) -> float:
    """Slope (meV/atom/ps) of the least-squares line through ``total_energy_per_atom [T]`` (eV) against
    ``times_ps [T]``."""
    times_ps, energy = np.asarray(times_ps, dtype=float), np.asarray(total_energy_per_atom, dtype=float)
    if len(times_ps) < 2:
        return 0.0
    return float(np.polyfit(times_ps, energy, 1)[0] * 1000.0)


def _append(path: Path, text: str) -> None:
    """Append ``text`` with one ``write`` system call per chunk on an ``O_APPEND`` descriptor, then ``fsync``."""
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _append_frame(path: Path, atoms) -> None:
    buffer = io.StringIO()
    ase.io.write(buffer, atoms, format="extxyz")
    _append(path, buffer.getvalue())


def read_trajectory(path: str | os.PathLike) -> list:
    """The complete frames of an extxyz trajectory written by :func:`run_md`, as ASE ``Atoms``; a last frame cut
    short by a crash is left out."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"trajectory: {path} does not exist")
    frames = []
    try:
        for atoms in ase.io.iread(path, index=":", format="extxyz"):
            frames.append(atoms)
    except Exception:
        pass  # a truncated last frame; everything before it is complete
    return frames


def run_md(
    atoms,
    settings: MDSettings,
    trajectory: str | os.PathLike,
    log: str | os.PathLike | None = None,
    progress: bool = True,
) -> MDSummary:
    """Run ``settings.steps`` steps of MD on ``atoms`` (its calculator attached), appending frames to
    ``trajectory`` (extxyz; an existing file is replaced) and JSON lines to ``log`` (default: the trajectory's
    name with ``.log.jsonl``). Returns the :class:`MDSummary`."""
    settings.check()
    if atoms.calc is None:
        raise ValueError("atoms: no calculator attached (set atoms.calc, e.g. to a GauntCalculator)")
    trajectory = Path(trajectory)
    log = Path(log) if log is not None else trajectory.with_suffix(".log.jsonl")
    for path in (trajectory, log):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
    rng = np.random.default_rng(settings.seed)
    thermalize(atoms, temperature_K=settings.temperature_K, rng=rng)
    Stationary(atoms)
    if not atoms.pbc.any():
        ZeroRotation(atoms)
    dt = settings.timestep_fs * units.fs
    if settings.ensemble == "nve":
        dynamics = VelocityVerlet(atoms, timestep=dt)
    else:
        if not any(isinstance(c, FixCom) for c in atoms.constraints):
            atoms.set_constraint([*atoms.constraints, FixCom()])  # no drift of the centre of mass
        friction = settings.friction / units.fs
        dynamics = Langevin(
            atoms, timestep=dt, temperature_K=settings.temperature_K, friction=friction, fixcm=False, rng=rng
        )
    n = len(atoms)
    records: list[dict] = []
    start = time.perf_counter()

    def record() -> None:
        epot, ekin = atoms.get_potential_energy(), atoms.get_kinetic_energy()
        row = {
            "step": dynamics.nsteps,
            "time_ps": dynamics.nsteps * settings.timestep_fs / 1000.0,
            "potential_energy": epot,
            "kinetic_energy": ekin,
            "total_energy": epot + ekin,
            "temperature_K": atoms.get_temperature(),
        }
        records.append(row)
        _append_frame(trajectory, atoms)
        _append(log, json.dumps(row) + "\n")

    bar = progress_bar(total=settings.steps, desc=f"MD {settings.ensemble.upper()}", unit="step") if progress else None
    record()
    done = 0
    while done < settings.steps:
        chunk = min(settings.interval, settings.steps - done)
        dynamics.run(chunk)
        done += chunk
        record()
        if bar is not None:
            elapsed = time.perf_counter() - start
            bar.update(chunk)
            bar.set_postfix(
                ps_per_hour=f"{done * settings.timestep_fs / 1000.0 / elapsed * 3600:.2f}",
                T=f"{records[-1]['temperature_K']:.0f}K",
            )
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - start
    simulated = settings.steps * settings.timestep_fs / 1000.0
    times = np.array([r["time_ps"] for r in records])
    temperatures = np.array([r["temperature_K"] for r in records])
    summary = MDSummary(
        ensemble=settings.ensemble,
        steps=settings.steps,
        simulated_ps=simulated,
        wall_s=wall,
        ps_per_hour=simulated / wall * 3600.0 if wall > 0 else math.inf,
        mean_temperature_K=float(temperatures[len(temperatures) // 2 :].mean()),
    )
    if settings.ensemble == "nve":
        total = np.array([r["total_energy"] for r in records]) / n
        summary.drift_meV_per_atom_per_ps = energy_drift(times, total)
        summary.max_deviation_meV_per_atom = float(np.abs(total - total[0]).max() * 1000.0)
    return summary
