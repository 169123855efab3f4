"""``torch-gaunt bench``: time torch-gaunt against its peers and write a report.

Every run writes to a folder of its own (``runs/bench/<date-time>`` unless ``--out`` names one), prints its tables,
and says plainly when the machine was too noisy for its numbers to be quoted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .._checks import FLOAT_DTYPES
from ..bench.variants import VARIANTS
from ._arguments import device

DTYPES = FLOAT_DTYPES
MACE_PYTHON = Path(".venv-mace/bin/python")
MACE_SETUP = (
    "python -m venv .venv-mace && .venv-mace/bin/pip install torch==2.13.0 && "
    '.venv-mace/bin/pip install -e ".[bench-mace]"'
)

BENCHMARKS = {
    "tp": "(default) Gaunt tensor products vs e3nn, L = 1..32",
    "sh": "spherical harmonics vs e3nn and sphericart",
    "interaction": "feature interaction vs e3nn tensor products",
    "convolution": "convolution vs e3nn and an eSCN-style SO(2) conv",
    "manybody": "many-body vs MACE's SymmetricContraction",
    "potential": "Gaunt-MACE vs mace-torch: training step and inference",
    "large": "Gaunt-MACE vs mace-torch on 10 to 10,000+ atoms: time and memory of energy + forces",
}


def default_subcommand(argv: list[str]) -> list[str]:
    """``torch-gaunt bench [options]`` runs ``tp``."""
    if len(argv) == 1 or (argv[1].startswith("-") and argv[1] not in ("-h", "--help")):
        return ["bench", "tp"] + argv[1:]
    return argv


def _command_line(argv: list[str]) -> str:
    return " ".join(["torch-gaunt"] + argv)


def _prepare(args: argparse.Namespace) -> tuple[bool, str | None]:
    """Tune the allocator if asked, choose the report folder, and warn about a busy machine."""
    from ..bench.report import default_out_dir
    from ..bench.timing import busy_warning
    from ..utils import tune_cpu_allocator

    tuned = tune_cpu_allocator() if args.tune_allocator else False
    out = str(default_out_dir()) if args.out is None else (args.out or None)
    warning = busy_warning()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return tuned, out


def _finish(out: str | None) -> None:
    if out:
        print(f"\nreport written to {out}/")


def _tp(args: argparse.Namespace, argv: list[str]) -> int:
    from ..bench.tensor_product import run

    tuned, out = _prepare(args)
    if args.quick:
        lmaxes, scaling = [1, 2, 4, 6], [8, 16]
    else:
        lmaxes, scaling = list(range(1, 11)), [12, 16, 24, 32]
    pof = (list(range(1, 11)) if not args.quick else [1, 4]) if args.pof else []
    run(
        args.lmax or lmaxes, scaling if not args.lmax else [], pof, DTYPES[args.dtype], args.device, out,
        _command_line(argv), backward=not args.no_backward, allocator_tuned=tuned, compiled=args.compile,
    )  # fmt: skip
    _finish(out)
    return 0


def _sh(args: argparse.Namespace, argv: list[str]) -> int:
    from ..bench.spherical_harmonics import run

    tuned, out = _prepare(args)
    run(args.lmax or [2, 6, 12, 20], args.n, DTYPES[args.dtype], args.device, out, _command_line(argv), tuned)
    _finish(out)
    return 0


def _mace_python(args: argparse.Namespace) -> str | None:
    """--mace-python, else .venv-mace if it exists, else None with a note on how to set it up."""
    mace_python = args.mace_python or (str(MACE_PYTHON) if MACE_PYTHON.exists() else None)
    if mace_python is None:
        print(
            "note: mace-torch is not set up, so MACE will not be timed. mace-torch pins e3nn 0.4.4 and needs its own "
            f"environment:\n  {MACE_SETUP}\nthen rerun this command (it finds .venv-mace by itself) or pass "
            "--mace-python.",
            file=sys.stderr,
        )
    return mace_python


def _layer(args: argparse.Namespace, argv: list[str]) -> int:
    from ..bench.layers import run

    mace_python = _mace_python(args) if args.op == "manybody" else None
    tuned, out = _prepare(args)
    default = {"interaction": [1, 2, 3, 4, 5, 6], "convolution": [1, 2, 3, 4, 5, 6], "manybody": [2, 3]}[args.op]
    run(
        args.op, args.lmax or default, DTYPES[args.dtype], args.device, out, _command_line(argv),
        backward=not args.no_backward, allocator_tuned=tuned, mace_python=mace_python,
    )  # fmt: skip
    _finish(out)
    return 0


def _potential(args: argparse.Namespace, argv: list[str]) -> int:
    from ..bench.potential import SIZES, run
    from .train import DEMO_DATA

    mace_python = _mace_python(args)
    tuned, out = _prepare(args)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes] if args.sizes else SIZES
    dtypes = [DTYPES[d] for d in (args.dtypes or ["float64", "float32"])]
    run(args.structures or str(DEMO_DATA), sizes, dtypes, args.device, out, _command_line(argv), mace_python,
        args.batch_size, rounds=args.rounds, allocator_tuned=tuned, variants=args.variants,
        mace_backends=args.mace_backends)  # fmt: skip
    _finish(out)
    return 0


def _large(args: argparse.Namespace, argv: list[str]) -> int:
    from ..bench.large import SIZES, run

    mace_python = _mace_python(args)
    tuned, out = _prepare(args)
    sizes = {k: v for k, v in SIZES.items() if k in (args.kinds or SIZES)}
    if args.max_atoms:
        sizes = {k: tuple(n for n in v if n <= args.max_atoms) for k, v in sizes.items()}
    run(sizes, args.dtypes or ["float64", "float32"], args.device, out, _command_line(argv), mace_python,
        edge_chunk_size=args.edge_chunk_size, allocator_tuned=tuned)  # fmt: skip
    _finish(out)
    return 0


def add_parser(commands, name: str) -> None:
    listing = "\n".join(f"  {op:<13}{text}" for op, text in BENCHMARKS.items())
    bench = commands.add_parser(
        name,
        help="time torch-gaunt against its peers and write a report",
        description="Time torch-gaunt against its peers in interleaved rounds, print the tables, and write a report\n"
        "(Markdown, JSON, PNG) to a new folder. `torch-gaunt bench` runs tp; `torch-gaunt bench BENCHMARK --help`\n"
        f"shows the options of one.\n\nbenchmarks:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="torch-gaunt bench [BENCHMARK] [options]",
    )
    ops = bench.add_subparsers(dest="op", metavar="BENCHMARK", help=argparse.SUPPRESS, prog="torch-gaunt bench")
    tp = ops.add_parser("tp", description=BENCHMARKS["tp"])
    tp.add_argument("--lmax", type=int, nargs="+", help="degrees of the 256 x 16 protocol (default 1..10, then 12..32)")
    tp.add_argument("--quick", action="store_true", help="a short run: L = 1, 2, 4, 6 and 8, 16")
    tp.add_argument("--pof", action="store_true", help="add the Price-of-Freedom protocol (batch 10000 x 1 channel)")
    tp.add_argument("--no-backward", action="store_true", help="time the forward pass only")
    tp.add_argument(
        "--compile", action="store_true", help="add the grid product under torch.compile (compiles once per L)"
    )
    tp.set_defaults(run=_tp)
    sh = ops.add_parser("sh", description=BENCHMARKS["sh"])
    sh.add_argument("--lmax", type=int, nargs="+", help="degrees (default 2 6 12 20)")
    sh.add_argument("--n", type=int, default=100_000, help="number of vectors (default 100000)")
    sh.set_defaults(run=_sh)
    layers = []
    for op in ("interaction", "convolution", "manybody"):
        p = ops.add_parser(op, description=BENCHMARKS[op])
        p.add_argument("--lmax", type=int, nargs="+", help="degrees (default 1..6; many-body 2 3)")
        p.add_argument("--no-backward", action="store_true", help="time the forward pass only")
        p.set_defaults(run=_layer)
        layers.append(p)
    potential = ops.add_parser("potential", description=BENCHMARKS["potential"])
    potential.add_argument("--sizes", nargs="+", help="CHANNELSxMAX_L sizes (default 64x1 128x2)")
    potential.add_argument("--dtypes", nargs="+", choices=list(DTYPES), help="default: float64 float32")
    potential.add_argument("--structures", help="structure file (default: the demo AcAc data)")
    potential.add_argument("--batch_size", type=int, default=5, help="structures per batch (default 5)")
    potential.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (default 7)")
    potential.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS),
        help="our models to time (default: all): " + "; ".join(f"{k}: {v[0]}" for k, v in VARIANTS.items()),
    )  # fmt: skip
    potential.add_argument(
        "--mace-backends", nargs="+", choices=["e3nn", "cueq"], default=["e3nn"],
        help="mace-torch as it is (e3nn, the default) and/or converted to cuEquivariance (cueq: MACE's "
        "run_e3nn_to_cueq; needs cuequivariance-torch, and its CUDA ops package on a GPU)",
    )  # fmt: skip
    potential.set_defaults(run=_potential)
    large = ops.add_parser("large", description=BENCHMARKS["large"])
    large.add_argument("--kinds", nargs="+", choices=["periodic", "molecules"], help="default: both")
    large.add_argument("--dtypes", nargs="+", choices=list(DTYPES), help="default: float64 float32")
    large.add_argument("--max_atoms", type=int, help="skip the sizes above this")
    large.add_argument("--edge_chunk_size", type=int, default=16384, help="our convolutions' edge chunk")
    large.set_defaults(run=_large)
    for p in (layers[-1], potential, large):
        p.add_argument(
            "--mace-python",
            help=f"python of an environment with mace-torch (default {MACE_PYTHON} if it exists; set it up with: "
            f"{MACE_SETUP})",
        )
    for p in (sh, tp, *layers, potential, large):
        p.add_argument(
            "--no-tune-allocator", dest="tune_allocator", action="store_false",
            help="keep glibc's default malloc thresholds (see torch_gaunt.utils.tune_cpu_allocator)",
        )  # fmt: skip
        p.add_argument("--dtype", choices=list(DTYPES), default="float32")
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", type=device)
        p.add_argument("--out", help="report folder (default runs/bench/<date-time>; '' to write nothing)")
