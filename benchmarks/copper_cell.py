"""Write a periodic fcc Cu cell (rattled by 0.05 Å, the cell of ``torch-gaunt bench large``) with EMT energies and
forces as labels, so that ``torch-gaunt bench potential --structures FILE --batch_size 1`` times a training step
and an inference on it, for ours and for mace-torch alike.

    python benchmarks/copper_cell.py runs/cu_2048.xyz --atoms 2048
"""

import argparse

from ase.calculators.emt import EMT
from ase.io import write

from torch_gaunt.bench.large_worker import structure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="extxyz file to write")
    parser.add_argument("--atoms", type=int, default=2048, help="about this many atoms (4 n^3; default 2048)")
    args = parser.parse_args()
    cell = structure("periodic", args.atoms)
    cell.calc = EMT()
    cell.get_forces()
    write(args.out, cell, format="extxyz")
    print(f"wrote {args.out}: {len(cell)} Cu atoms, EMT energy {cell.get_potential_energy():.3f} eV")


if __name__ == "__main__":
    main()
