"""Vibrational frequencies of acetylacetone from the one-hour AcAc model: Hessian by autograd against ASE's
finite-difference `Vibrations` with the same calculator.

Run from the repository root:  python examples/vibrations/acac_vibrations.py
Writes examples/vibrations/frequencies.md.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import ase.io
import numpy as np
from ase.optimize import BFGS
from ase.vibrations import Vibrations, VibrationsData

from torch_gaunt._io import atomic_write_text
from torch_gaunt.atoms import GauntCalculator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODEL = ROOT / "examples" / "acac_300K" / "model.pt"
STRUCTURE = ROOT / "src" / "torch_gaunt" / "atoms" / "demo" / "acac_300K_demo.xyz"


def main() -> None:
    atoms = next(a for a in ase.io.iread(STRUCTURE) if len(a) > 1)
    atoms.calc = GauntCalculator(MODEL, dtype="float64")
    BFGS(atoms, logfile=None).run(fmax=1e-4, steps=2000)
    fmax = np.abs(atoms.get_forces()).max()

    start = time.perf_counter()
    H = atoms.calc.get_hessian(atoms)
    t_autograd = time.perf_counter() - start
    autograd = VibrationsData.from_2d(atoms, H).get_frequencies()

    workdir = tempfile.mkdtemp()
    try:
        start = time.perf_counter()
        vib = Vibrations(atoms, name=str(Path(workdir) / "vib"), delta=0.005, nfree=4)
        vib.run()
        finite = vib.get_frequencies()
        t_finite = time.perf_counter() - start
    finally:
        shutil.rmtree(workdir)

    rows = [
        "# Vibrational frequencies of acetylacetone (Gaunt-MACE, examples/acac_300K/model.pt)",
        "",
        "Command: `python examples/vibrations/acac_vibrations.py`. The first AcAc structure of the demo data, relaxed",
        f"with BFGS to max |F| = {fmax:.1e} eV/Å; Hessian by autograd ({t_autograd:.2f} s) against ASE's",
        f"`Vibrations` (central differences, 4 points, delta 0.005 Å: {t_finite:.2f} s), same calculator, float64.",
        "The six smallest modes are translations and rotations (zero up to the residual force).",
        "",
        "| mode | autograd (cm^-1) | finite differences (cm^-1) |",
        "|---|---|---|",
    ]

    def show(f: complex) -> str:
        return f"{f.real:.2f}" if abs(f.imag) < 1e-9 else f"{f.imag:.2f}i"

    for k, (a, b) in enumerate(zip(autograd, finite)):
        rows.append(f"| {k} | {show(a)} | {show(b)} |")
    real = slice(6, None)
    diff = np.abs(np.real(autograd[real]) - np.real(finite[real])).max()
    rows += ["", f"Largest difference over the 33 vibrational modes: {diff:.3f} cm^-1."]
    atomic_write_text(HERE / "frequencies.md", "\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
