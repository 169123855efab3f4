"""``torch-gaunt md``: molecular dynamics of a structure with a trained model (ASE's integrators).

NVE is velocity Verlet; NVT is Langevin. Initial velocities are Maxwell-Boltzmann at ``--temperature`` (seeded).
Writes ``--trajectory`` (extxyz, one frame every ``--interval`` steps, flushed to disk as it goes), a log of
energies and temperature (``<trajectory>.log.jsonl``), a plot of both (``<trajectory>.md.png``) and prints the
energy drift (NVE, meV/atom/ps) or the mean temperature (NVT).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._arguments import device


def add_parser(commands, name: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help="molecular dynamics with a trained model", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--structure", required=True, help="starting structure (any ase.io format; first frame)")
    parser.add_argument("--model", required=True, help="model file written by torch-gaunt train (model.pt)")
    parser.add_argument("--trajectory", default="md.xyz", help="extxyz trajectory to write (default: md.xyz)")
    parser.add_argument("--ensemble", default="nvt", choices=["nve", "nvt"])
    parser.add_argument("--temperature", type=float, default=300.0, help="K (initial velocities, thermostat)")
    parser.add_argument("--timestep", type=float, default=0.5, help="fs (default 0.5)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--friction", type=float, default=0.01, help="Langevin friction in 1/fs (default 0.01)")
    parser.add_argument("--interval", type=int, default=10, help="steps between frames and log lines")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skin", type=float, default=0.5, help="neighbour-list skin in Å (0: rebuild every step)")
    parser.add_argument("--device", default="cpu", type=device)
    parser.add_argument("--default_dtype", default=None, choices=["float64", "float32"], help="default: the model's")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from .._io import atomic_write_text
    from ..atoms import GauntCalculator, MDSettings, run_md
    from ..atoms.data import read_frames
    from ..atoms.plots import plot_md

    settings = MDSettings(
        ensemble=args.ensemble, temperature_K=args.temperature, timestep_fs=args.timestep, steps=args.steps,
        friction=args.friction, seed=args.seed, interval=args.interval,
    )  # fmt: skip
    settings.check()
    atoms = read_frames(args.structure, index="0")[0]
    atoms.calc = GauntCalculator(args.model, device=args.device, dtype=args.default_dtype, skin=args.skin)
    atoms.calc.graph(atoms)  # an element the model does not know fails here, before the MD starts
    trajectory = Path(args.trajectory)
    log = trajectory.with_suffix(".log.jsonl")
    summary = run_md(atoms, settings, trajectory, log=log, progress=args.progress)
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    plot = plot_md(rows, trajectory.with_suffix(".md.png"))
    atomic_write_text(trajectory.with_suffix(".summary.json"), json.dumps(summary.__dict__, indent=1))
    print(summary.format())
    print(f"trajectory: {trajectory}  log: {log}  plot: {plot}")
    return 0
