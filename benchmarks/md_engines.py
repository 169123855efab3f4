"""MD speed of the three ways to run a Gaunt-MACE model: ASE (``torch-gaunt md``), LAMMPS (``torch-gaunt lammps``)
and torch-sim (``GauntTorchSimModel``), measured in interleaved rounds in one process.

    python benchmarks/md_engines.py --out docs/benchmarks/md_engines

1. LAMMPS against ``torch-gaunt md`` (``run_md``), NVE, same model, same structure, same time step:
   acetylacetone (15 atoms, examples/acac_300K) and fcc copper (108 atoms, examples/emt_metals).
2. torch-sim against ASE for many systems: 32 AcAc molecules in one torch-sim NVT Langevin batch against 32
   ``run_md`` NVT runs one after another.

Each round times every engine once (after a warm-up run), and the report gives the median over rounds of steps per
second (system-steps per second for the batch) and the ratio to ASE. Model loading and setup are not timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from ase.build import bulk
from ase.io import read

from torch_gaunt._io import atomic_write_text
from torch_gaunt.atoms import GauntCalculator, MDSettings, run_md
from torch_gaunt.atoms.lammps import FIX_LINE, attach_model, open_lammps, structure_commands
from torch_gaunt.bench.report import markdown_table
from torch_gaunt.bench.timing import busy_warning, machine_info

ROOT = Path(__file__).resolve().parents[1]
ACAC_MODEL = ROOT / "examples" / "acac_300K" / "model.pt"
CU_MODEL = ROOT / "examples" / "emt_metals" / "train" / "model.pt"
DEMO = ROOT / "src" / "torch_gaunt" / "atoms" / "demo" / "acac_300K_demo.xyz"


def acac_molecules(n: int) -> list:
    frames = [f for f in read(DEMO, index=":") if len(f) > 1][:n]
    for f in frames:
        f.cell, f.pbc = None, False
        f.positions -= f.get_center_of_mass()
    return frames


def copper() -> object:
    return bulk("Cu", "fcc", a=3.59, cubic=True).repeat((3, 3, 3))


def time_ase(atoms, model: Path, steps: int, dt_fs: float, ensemble: str = "nve") -> float:
    """Seconds for ``steps`` steps of ``run_md`` (as ``torch-gaunt md`` runs them, frames every 100 steps)."""
    atoms = atoms.copy()
    atoms.calc = GauntCalculator(model)
    atoms.get_forces()  # the first call builds the model's tables: not timed
    settings = MDSettings(ensemble=ensemble, temperature_K=300.0, timestep_fs=dt_fs, steps=steps, interval=100)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run_md(atoms, settings, Path(folder) / "md.xyz", progress=False)
        return time.perf_counter() - start


def time_lammps(atoms, model: Path, steps: int, dt_fs: float) -> float:
    """Seconds for ``steps`` NVE steps in LAMMPS with the model on a ``fix external`` (thermo every 100 steps)."""
    symbols = list(dict.fromkeys(atoms.get_chemical_symbols()))
    lmp = open_lammps()
    lmp.commands_list(structure_commands(atoms, symbols))
    lmp.command(FIX_LINE)
    attach_model(lmp, "gaunt", model, symbols)
    lmp.commands_list([
        "velocity all create 300.0 4928459 mom yes rot yes", "fix nve all nve", f"timestep {dt_fs / 1000!r}",
        "thermo 100", "run 0",
    ])  # fmt: skip
    start = time.perf_counter()
    lmp.command(f"run {steps} pre no post no")
    seconds = time.perf_counter() - start
    lmp.close()
    return seconds


def time_torchsim(frames: list, model: Path, steps: int, dt_fs: float) -> float:
    """Seconds for ``steps`` torch-sim NVT Langevin steps of all ``frames`` in one batch."""
    import torch_sim as ts

    from torch_gaunt.atoms.torchsim import GauntTorchSimModel

    gaunt = GauntTorchSimModel(model)
    state = ts.initialize_state(frames, device=torch.device("cpu"), dtype=gaunt.dtype)
    gaunt(state)  # builds the model's tables: not timed
    start = time.perf_counter()
    ts.integrate(system=state, model=gaunt, integrator=ts.nvt_langevin, n_steps=steps, temperature=300.0,
                 timestep=dt_fs / 1000)  # fmt: skip
    return time.perf_counter() - start


def time_ase_batch(frames: list, model: Path, steps: int, dt_fs: float) -> float:
    """Seconds for one ``run_md`` NVT run of ``steps`` steps per frame, one after another."""
    return sum(time_ase(f, model, steps, dt_fs, ensemble="nvt") for f in frames)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/bench/md_engines", help="report folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200, help="MD steps of the single-system runs")
    parser.add_argument("--batch", type=int, default=32, help="systems in the torch-sim batch")
    parser.add_argument("--batch_steps", type=int, default=50)
    args = parser.parse_args(argv)
    torch.set_default_dtype(torch.float64)
    cases = {
        "AcAc, 15 atoms (64x1 model)": (acac_molecules(1)[0], ACAC_MODEL, 0.5),
        "fcc Cu, 108 atoms (32x1 EMT model)": (copper(), CU_MODEL, 2.0),
    }
    frames = acac_molecules(args.batch)
    times: dict[str, dict[str, list[float]]] = {name: {"ASE": [], "LAMMPS": []} for name in cases}
    batch_name = f"{args.batch} AcAc molecules, NVT"
    times[batch_name] = {"ASE, one after another": [], "torch-sim, one batch": []}
    warnings = []
    for atoms, model, dt in cases.values():  # warm-up
        time_ase(atoms, model, 5, dt), time_lammps(atoms, model, 5, dt)
    time_torchsim(frames, ACAC_MODEL, 2, 0.5)
    for r in range(args.rounds):
        busy = busy_warning()
        if busy:
            warnings.append(f"round {r}: {busy}")
        for name, (atoms, model, dt) in cases.items():
            times[name]["ASE"].append(time_ase(atoms, model, args.steps, dt))
            times[name]["LAMMPS"].append(time_lammps(atoms, model, args.steps, dt))
        times[batch_name]["ASE, one after another"].append(time_ase_batch(frames, ACAC_MODEL, args.batch_steps, 0.5))
        times[batch_name]["torch-sim, one batch"].append(time_torchsim(frames, ACAC_MODEL, args.batch_steps, 0.5))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    rows, results = [], {}
    for name, engines in times.items():
        work = args.steps if name in cases else args.batch * args.batch_steps
        base = statistics.median(next(iter(engines.values())))
        for engine, seconds in engines.items():
            median = statistics.median(seconds)
            spread = (max(seconds) - min(seconds)) / median
            results.setdefault(name, {})[engine] = {"seconds": seconds, "steps_per_s": work / median}
            rows.append([name, engine, f"{work / median:.1f}", f"{base / median:.2f}x", f"{spread:.0%}"])
    command = "python benchmarks/md_engines.py " + " ".join(argv)
    machine = machine_info()
    text = [
        "# MD engines: ASE, LAMMPS and torch-sim with one Gaunt-MACE model", "",
        f"Command: `{command}`", "", f"Machine: {machine}", "",
        f"{args.rounds} interleaved rounds; the median per engine. Single systems: {args.steps} NVE steps; the batch: "
        f"{args.batch_steps} NVT Langevin steps of each of {args.batch} molecules (work = system-steps). float64.", "",
        markdown_table(["system", "engine", "steps/s", "speed vs the first row", "spread over rounds"], rows), "",
    ]  # fmt: skip
    if warnings:
        text += ["Noise: " + "; ".join(warnings), ""]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "report.md", "\n".join(text))
    atomic_write_text(
        out / "results.json", json.dumps({"command": command, "machine": machine, "results": results}, indent=1)
    )
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
