"""``torch-gaunt export``: a trained model as a ``torch.export`` archive (``.pt2``) that runs with PyTorch alone.

The program maps ``(positions [N, 3], species [N], edge_index [2, E], shifts [E, 3])`` to per-atom energies, with
dynamic ``N`` and ``E``; forces follow by autograd. See ``torch_gaunt.models.export`` and docs/simulation.md.
"""

from __future__ import annotations

import argparse


def add_parser(commands, name: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help="export a trained model for PyTorch without torch-gaunt", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--model", required=True, help="model file written by torch-gaunt train (model.pt)")
    parser.add_argument("--output", required=True, help="archive to write (.pt2)")
    parser.add_argument("--default_dtype", default=None, choices=["float64", "float32"], help="default: the model's")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from .._checks import parse_dtype
    from ..models import load_model
    from ..models.export import export_model

    dtype = parse_dtype(args.default_dtype) if args.default_dtype else None
    path = export_model(load_model(args.model, dtype=dtype), args.output)
    print(f"wrote {path}: node_energy = program(positions, species, edge_index, shifts); see docs/simulation.md")
    return 0
