"""Periodic metals end to end, reproducible on a laptop: an EMT dataset of bulk Cu, Al, Ni and their alloys
(rattled and strained fcc cells with energies, forces and stresses), a Gaunt-MACE model trained on it with
`torch-gaunt train`, its energy/force/stress errors, and the fcc Cu lattice constant from an energy-volume fit
beside EMT's.

Run from the repository root:

    python examples/emt_metals/run.py                 # about 10 minutes on 2 CPU cores
    python examples/emt_metals/run.py --quick --out /tmp/emt   # a one-minute smoke run

Writes <out>/data/*.xyz, <out>/train/ (model, log, plots) and <out>/report.md (default out: examples/emt_metals).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.eos import EquationOfState

from torch_gaunt._io import atomic_write, atomic_write_text
from torch_gaunt.atoms import GauntCalculator
from torch_gaunt.cli import main as torch_gaunt

HERE = Path(__file__).resolve().parent
LATTICE = {"Cu": 3.61, "Al": 4.05, "Ni": 3.52}


def labelled(atoms: Atoms, config_type: str) -> Atoms:
    """``atoms`` with EMT's energy, forces and (periodic) stress stored as a single-point result."""
    atoms.calc = EMT()
    results = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}
    if atoms.pbc.any():
        results["stress"] = atoms.get_stress()
    atoms.calc = SinglePointCalculator(atoms, **results)
    atoms.info["config_type"] = config_type
    return atoms


def random_structure(rng: np.random.Generator) -> Atoms:
    """An 8-atom fcc cell (primitive 2x2x2, non-orthogonal, or conventional 2x1x1): pure or a random binary
    alloy, lattice constant scaled by 0.95-1.05, a random symmetric strain of up to 3 %, rattled by 0.02-0.12 Å."""
    elements = list(LATTICE)
    if rng.random() < 0.5:
        symbols = [elements[rng.integers(3)]] * 8
    else:
        pair = rng.choice(3, size=2, replace=False)
        symbols = [elements[pair[int(b)]] for b in rng.random(8) < rng.uniform(0.2, 0.8)]
    a = np.mean([LATTICE[s] for s in symbols]) * rng.uniform(0.95, 1.05)
    if rng.random() < 0.5:
        atoms = bulk("Cu", "fcc", a=a).repeat((2, 2, 2))
    else:
        atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat((2, 1, 1))
    atoms.set_chemical_symbols(symbols)
    strain = rng.uniform(-0.03, 0.03, size=(3, 3))
    strain = 0.5 * (strain + strain.T)
    atoms.set_cell(atoms.cell.array @ (np.eye(3) + strain), scale_atoms=True)
    atoms.positions += rng.normal(scale=rng.uniform(0.02, 0.12), size=atoms.positions.shape)
    return labelled(atoms, "bulk")


def make_dataset(out: Path, n_train: int, n_test: int, seed: int = 0) -> tuple[Path, Path]:
    """``n_train`` structures plus one isolated atom per element (their E0s) and ``n_test`` test structures."""
    rng = np.random.default_rng(seed)
    isolated = [labelled(Atoms(s, cell=[15.0] * 3, pbc=False), "IsolatedAtom") for s in LATTICE]
    train = isolated + [random_structure(rng) for _ in range(n_train)]
    test = [random_structure(rng) for _ in range(n_test)]
    paths = out / "emt_train.xyz", out / "emt_test.xyz"
    for path, frames in zip(paths, (train, test)):
        atomic_write(path, lambda tmp, frames=frames: ase.io.write(tmp, frames, format="extxyz"))
    return paths


def lattice_constant(calculator, element: str = "Cu") -> float:
    """fcc lattice constant (Å) from a Birch-Murnaghan fit of 9 primitive-cell energies over ±4 % in ``a``; NaN when
    the energies have no minimum the fit can find (an untrained model, as after the two epochs of ``--quick``)."""
    volumes, energies = [], []
    for scale in np.linspace(0.96, 1.04, 9):
        atoms = bulk(element, "fcc", a=LATTICE[element] * scale)
        atoms.calc = calculator
        volumes.append(atoms.get_volume())
        energies.append(atoms.get_potential_energy())
    try:
        v0, _, _ = EquationOfState(volumes, energies, eos="birchmurnaghan").fit()
    except RuntimeError:  # scipy's curve_fit found no minimum
        return float("nan")
    return float((4 * v0) ** (1 / 3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(HERE), help="output folder (default: this example's folder)")
    parser.add_argument("--quick", action="store_true", help="tiny data and 2 epochs: checks that it all runs")
    args = parser.parse_args(argv)
    out = Path(os.path.relpath(Path(args.out).resolve()))
    n_train, n_test, epochs = (20, 10, 2) if args.quick else (300, 100, 60)
    start = time.perf_counter()
    train_file, test_file = make_dataset(out / "data", n_train, n_test)
    command = [
        "train", "--name", "train", "--work_dir", str(out), "--train_file", str(train_file),
        "--valid_fraction", "0.1", "--test_file", str(test_file), "--E0s", "isolated",
        "--r_max", "4.5", "--num_channels", "8" if args.quick else "32", "--max_L", "1", "--correlation", "3",
        "--forces_weight", "10", "--stress_weight", "100", "--swa", "--swa_stress_weight", "100",
        "--batch_size", "5", "--max_num_epochs", str(epochs), "--default_dtype", "float64", "--seed", "1",
        "--no-progress",
    ]  # fmt: skip
    status = torch_gaunt(command)
    if status:
        return status
    model = GauntCalculator(out / "train" / "model.pt", dtype="float64")
    ours, emt = lattice_constant(model), lattice_constant(EMT())
    report = (out / "train" / "report.md").read_text()
    elapsed = time.perf_counter() - start
    lines = [
        "# Periodic metals: Gaunt-MACE trained on EMT (Cu, Al, Ni and alloys)",
        "",
        f"Command: `python examples/emt_metals/run.py{' --quick' if args.quick else ''}` on "
        f"{platform.processor() or platform.machine()} with {os.cpu_count()} CPUs "
        f"({elapsed / 60:.1f} min in all). It runs:",
        "",
        "```",
        "torch-gaunt " + shlex.join(command),
        "```",
        "",
        f"Data: {n_train} training structures (10 % of them for validation) and {n_test} test structures, each an",
        "8-atom fcc cell (primitive 2x2x2 or conventional 2x1x1), pure Cu/Al/Ni or a random binary alloy, lattice",
        "constant scaled by 0.95-1.05, symmetric strain up to 3 %, rattled by 0.02-0.12 Å; energies, forces and",
        "stresses from ASE's EMT; E0s from one isolated atom per element.",
        "",
        "## fcc Cu lattice constant (Birch-Murnaghan fit, 9 points over ±4 %)",
        "",
        "| | a (Å) |",
        "|---|---|",
        f"| EMT | {emt:.4f} |",
        f"| Gaunt-MACE | {ours:.4f} |",
        f"| difference | {ours - emt:+.4f} ({(ours - emt) / emt * 100:+.2f} %) |",
        "",
        "## Errors (stress in meV/Å³)",
        "",
        report.split("\n", 2)[2],
    ]
    atomic_write_text(out / "report.md", "\n".join(lines))
    print("\n".join(lines[:20]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
