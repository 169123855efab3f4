"""``torch-gaunt evaluate``: predict energies, forces and stresses of structures with a trained model.

Writes the structures to ``--output`` (extxyz) with ``<info_prefix>energy``, ``<info_prefix>forces``,
``<info_prefix>stress`` (periodic cells, Voigt order) and ``<info_prefix>node_energy``; when the file has reference
labels it prints the RMSE/MAE table per ``config_type`` and draws parity plots next to the output.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._arguments import device


def add_parser(commands, name: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help="predict structures with a trained model", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--configs", required=True, help="structures to evaluate (extxyz or any ase.io format)")
    parser.add_argument("--model", required=True, help="model file written by torch-gaunt train (model.pt)")
    parser.add_argument("--output", required=True, help="extxyz file to write")
    parser.add_argument("--info_prefix", default="gaunt_", help="prefix of the predicted keys (default: gaunt_)")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--device", default="cpu", type=device)
    parser.add_argument("--default_dtype", default=None, choices=["float64", "float32"], help="default: the model's")
    parser.add_argument("--energy_key", default="energy", help="reference energy key, for the error table")
    parser.add_argument("--forces_key", default="forces")
    parser.add_argument("--stress_key", default="stress")
    parser.add_argument("--virials_key", default="virials")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from .._io import atomic_write_text
    from ..atoms import Keys, evaluate_potential, format_errors
    from ..atoms.pipeline import parse_dtype

    dtype = parse_dtype(args.default_dtype) if args.default_dtype else None
    output = Path(args.output)
    table = evaluate_potential(
        args.model, args.configs, output, keys=Keys(args.energy_key, args.forces_key, args.stress_key, args.virials_key),
        batch_size=args.batch_size, device=args.device, dtype=dtype, prefix=args.info_prefix,
        plot=output.with_suffix(".parity.png"),
    )  # fmt: skip
    print(f"wrote {output}")
    if table is not None:
        print(format_errors(table))
        atomic_write_text(output.with_suffix(".errors.json"), json.dumps(table, indent=1))
        print(f"parity plot: {output.with_suffix('.parity.png')}")
    return 0
