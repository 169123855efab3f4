"""The ``torch-gaunt`` command: ``torch-gaunt bench [sh]``."""

from __future__ import annotations

import argparse
import sys

import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _bench_sh(args: argparse.Namespace) -> None:
    from .bench.spherical_harmonics import run

    run(
        args.lmax or [2, 6, 12, 20],
        args.n,
        DTYPES[args.dtype],
        args.device,
        args.out,
        " ".join(["torch-gaunt"] + sys.argv[1:]),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torch-gaunt", description="Fast equivariant operations via Gaunt tensor products."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("bench", help="time torch-gaunt against its peers and write a report")
    ops = bench.add_subparsers(dest="op")
    sh = ops.add_parser("sh", help="spherical harmonics vs e3nn and sphericart")
    sh.add_argument("--lmax", type=int, nargs="+", help="degrees (default 2 6 12 20)")
    sh.add_argument("--n", type=int, default=100_000, help="number of vectors (default 100000)")
    for p in (sh,):
        p.add_argument("--dtype", choices=list(DTYPES), default="float32")
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
        p.add_argument("--out", default="runs/bench", help="folder for the report (default runs/bench; '' to skip)")
    sh.set_defaults(run=_bench_sh)
    bench.set_defaults(run=None, bench_parser=bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "bench" and args.run is None:
        args = parser.parse_args(["bench", "sh"] + (argv or sys.argv[1:])[1:])
    args.run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
