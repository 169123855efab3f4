"""The ``torch-gaunt`` command.

- ``torch-gaunt bench`` (= ``bench tp``): Gaunt tensor products vs e3nn and our CG reference;
- ``torch-gaunt bench sh``: spherical harmonics vs e3nn and sphericart;
- ``torch-gaunt bench interaction | convolution | manybody``: the Gaunt paper's operation families vs peers.

Reports (Markdown table, JSON, PNG plot) go to ``--out`` (default ``runs/bench``).
"""

from __future__ import annotations

import argparse
import sys

import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _command_line(argv: list[str]) -> str:
    return " ".join(["torch-gaunt"] + argv)


def _tune(args: argparse.Namespace) -> bool:
    from .utils import tune_cpu_allocator

    return tune_cpu_allocator() if args.tune_allocator else False


def _bench_sh(args: argparse.Namespace, argv: list[str]) -> None:
    from .bench.spherical_harmonics import run

    tuned = _tune(args)
    run(args.lmax or [2, 6, 12, 20], args.n, DTYPES[args.dtype], args.device, args.out, _command_line(argv), tuned)


def _bench_tp(args: argparse.Namespace, argv: list[str]) -> None:
    from .bench.tensor_product import run

    tuned = _tune(args)
    if args.quick:
        lmaxes, pof, scaling = [1, 2, 4, 6], [1, 4], [8, 16]
    else:
        lmaxes, pof, scaling = list(range(1, 11)), list(range(1, 11)), [8, 12, 16, 24, 32]
    run(
        args.lmax or lmaxes, scaling, pof, DTYPES[args.dtype], args.device, args.out, _command_line(argv),
        backward=not args.no_backward, allocator_tuned=tuned,
    )  # fmt: skip


def _bench_layer(args: argparse.Namespace, argv: list[str]) -> None:
    from .bench.layers import run

    tuned = _tune(args)
    default = {"interaction": [1, 2, 3, 4, 5, 6], "convolution": [1, 2, 3, 4, 5, 6], "manybody": [2, 3]}[args.op]
    run(
        args.op, args.lmax or default, DTYPES[args.dtype], args.device, args.out, _command_line(argv),
        backward=not args.no_backward, allocator_tuned=tuned, mace_python=getattr(args, "mace_python", None),
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torch-gaunt", description="Fast equivariant operations via Gaunt tensor products."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("bench", help="time torch-gaunt against its peers and write a report (default: tp)")
    ops = bench.add_subparsers(dest="op")
    sh = ops.add_parser("sh", help="spherical harmonics vs e3nn and sphericart")
    sh.add_argument("--lmax", type=int, nargs="+", help="degrees (default 2 6 12 20)")
    sh.add_argument("--n", type=int, default=100_000, help="number of vectors (default 100000)")
    sh.set_defaults(run=_bench_sh)
    tp = ops.add_parser("tp", help="Gaunt tensor products vs e3nn (channel-wise and fully connected) and our CG")
    tp.add_argument("--lmax", type=int, nargs="+", help="degrees of the 256 x 16 protocol (default 1..10)")
    tp.add_argument("--quick", action="store_true", help="a short run: L = 1, 2, 4, 6 and a two-point scaling")
    tp.add_argument("--no-backward", action="store_true", help="time the forward pass only")
    tp.set_defaults(run=_bench_tp)
    layers = []
    for op, text in (
        ("interaction", "feature interaction vs e3nn channel-wise and fully connected tensor products"),
        ("convolution", "convolution (plain and edge frame) vs e3nn's edge TP and an eSCN-style SO(2) convolution"),
        ("manybody", "many-body interaction vs mace-torch's SymmetricContraction (needs --mace-python)"),
    ):
        p = ops.add_parser(op, help=text)
        p.add_argument("--lmax", type=int, nargs="+", help="degrees (default 1..6; many-body 2 3)")
        p.add_argument("--no-backward", action="store_true", help="time the forward pass only")
        p.set_defaults(run=_bench_layer)
        layers.append(p)
    layers[-1].add_argument("--mace-python", help="python of an environment with mace-torch (it pins e3nn 0.4.4)")
    for p in (sh, tp, *layers):
        p.add_argument(
            "--no-tune-allocator", dest="tune_allocator", action="store_false",
            help="keep glibc's default malloc thresholds (see torch_gaunt.utils.tune_cpu_allocator)",
        )  # fmt: skip
        p.add_argument("--dtype", choices=list(DTYPES), default="float32")
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
        p.add_argument("--out", default="runs/bench", help="folder for the report (default runs/bench; '' to skip)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"] and (len(argv) == 1 or argv[1].startswith("-")):
        argv = ["bench", "tp"] + argv[1:]  # `torch-gaunt bench` runs the tensor-product benchmark
    args = build_parser().parse_args(argv)
    args.run(args, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
