"""``torch-gaunt train``: train a Gaunt-MACE potential (MACE's flag names), or the demo when no data is given.

With no ``--train_file`` it trains the demo: a small model on the acetylacetone structures that ship with the
package (``torch_gaunt/atoms/demo``, MIT licensed), in a few minutes on two CPU cores. Options come from, in
increasing priority, the defaults, the demo preset (without ``--train_file``), ``--config file.yaml`` and the
command line. Outputs go to ``<work_dir>/<name>/`` (model.pt, checkpoint.pt, metrics.jsonl, log.txt, report.md,
loss.png, parity_*.png); ``--resume`` continues a run from its checkpoint.
"""

from __future__ import annotations

import argparse
import ast
import shlex
import time
from pathlib import Path

from ._arguments import device

DEMO_DATA = Path(__file__).resolve().parents[1] / "atoms" / "demo" / "acac_300K_demo.xyz"

MODEL_OPTIONS = (
    "r_max",
    "num_channels",
    "max_L",
    "max_ell",
    "correlation",
    "num_interactions",
    "num_radial_basis",
    "num_cutoff_basis",
    "radial_MLP",
    "selfmix",
    "convolution",
    "many_body",
    "energy_offset",
    "residual_first",
)
SETTINGS = (
    "energy_weight",
    "forces_weight",
    "stress_weight",
    "batch_size",
    "valid_batch_size",
    "max_num_epochs",
    "lr",
    "weight_decay",
    "weight_decay_groups",
    "amsgrad",
    "ema",
    "ema_decay",
    "swa",
    "start_swa",
    "swa_lr",
    "swa_energy_weight",
    "swa_forces_weight",
    "swa_stress_weight",
    "scheduler_patience",
    "lr_factor",
    "patience",
    "clip_grad",
    "seed",
)

# the demo: a small model that reaches a few meV/atom and ~100 meV/Å in a few minutes on 2 cores
DEMO = {
    "name": "demo",
    "num_channels": 32,
    "max_L": 1,
    "max_num_epochs": 50,
    "swa": True,
    "batch_size": 5,
    "default_dtype": "float32",
    "lr": 0.01,
    "scheduler_patience": 5,
}


def add_parser(commands, name: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help="train a Gaunt-MACE potential (no --train_file: the shipped demo)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    bool_flag = argparse.BooleanOptionalAction
    io = parser.add_argument_group("data and run folder")
    io.add_argument("--config", help="YAML file of options (keys are the flag names without --)")
    io.add_argument("--name", default="gaunt_mace", help="run name: outputs go to <work_dir>/<name>")
    io.add_argument("--work_dir", default="runs/train", help="folder of the runs (default: runs/train)")
    io.add_argument("--train_file", help="training structures (extxyz or any ase.io format); default: the demo")
    io.add_argument("--valid_file", help="validation structures (default: split --valid_fraction off the train file)")
    io.add_argument("--valid_fraction", type=float, default=0.1, help="fraction of train_file for validation")
    io.add_argument("--test_file", action="append", default=None, help="test structures (repeatable)")
    io.add_argument(
        "--E0s",
        default="auto",
        help="isolated-atom energies: auto (IsolatedAtom frames, else average), isolated, average, "
        "'{1: -13.6, 8: -2037.8}' or a file",
    )
    io.add_argument("--energy_key", default="energy")
    io.add_argument("--forces_key", default="forces")
    io.add_argument("--stress_key", default="stress")
    io.add_argument("--virials_key", default="virials")
    io.add_argument("--max_train", type=int, help="use only the first N training structures")
    io.add_argument("--resume", action="store_true", help="continue the run in <work_dir>/<name> from its checkpoint")
    io.add_argument("--progress", action=bool_flag, default=True, help="progress bar per epoch")

    model = parser.add_argument_group("model")
    model.add_argument("--r_max", type=float, default=5.0, help="cutoff radius in Å")
    model.add_argument("--num_channels", type=int, default=64)
    model.add_argument("--max_L", type=int, default=1, help="degree of the hidden node features")
    model.add_argument("--max_ell", type=int, default=3, help="degree of the edge harmonics and messages")
    model.add_argument("--correlation", type=int, default=3)
    model.add_argument("--num_interactions", type=int, default=2)
    model.add_argument("--num_radial_basis", type=int, default=8)
    model.add_argument("--num_cutoff_basis", type=int, default=5)
    model.add_argument("--radial_MLP", default="[64, 64, 64]", help="hidden sizes of the radial MLP")
    model.add_argument("--selfmix", action=bool_flag, default=False, help="Gaunt Selfmix block after each layer")
    model.add_argument(
        "--convolution", choices=["gaunt", "per_path"], default="gaunt",
        help="gaunt (default): a radial weight per degree, one Gaunt product; per_path: a weight and slot per path, as MACE",
    )  # fmt: skip
    model.add_argument(
        "--many_body", choices=["per_degree", "coupled"], default="per_degree",
        help="per_degree (default): per-degree weights of each factor; coupled: a weight per coupling (slower)",
    )  # fmt: skip
    model.add_argument(
        "--energy_offset", action=bool_flag, default=True, help="a learnable energy per element (default: on)"
    )
    model.add_argument(
        "--residual_first", action=bool_flag, default=False,
        help="skip connection in the first layer too, as mace_run_train's default (default: off, the MACE paper's)",
    )  # fmt: skip

    opt = parser.add_argument_group("training")
    opt.add_argument("--energy_weight", type=float, default=1.0)
    opt.add_argument("--forces_weight", type=float, default=100.0)
    opt.add_argument("--stress_weight", type=float, default=1.0)
    opt.add_argument("--batch_size", type=int, default=5)
    opt.add_argument("--valid_batch_size", type=int, default=10)
    opt.add_argument("--max_num_epochs", type=int, default=100)
    opt.add_argument("--max_minutes", type=float, help="stop after the first epoch that ends past this wall time")
    opt.add_argument("--lr", type=float, default=0.01)
    opt.add_argument("--weight_decay", type=float, default=5e-7)
    opt.add_argument(
        "--weight_decay_groups", choices=["mace", "all"], default="mace",
        help="mace (default): decay only the linear maps after the convolutions and the product bases, as MACE; "
        "all: every parameter",
    )  # fmt: skip
    opt.add_argument("--amsgrad", action=bool_flag, default=True)
    opt.add_argument("--ema", action=bool_flag, default=True, help="exponential moving average of the weights")
    opt.add_argument("--ema_decay", type=float, default=0.99)
    opt.add_argument("--swa", action=bool_flag, default=False, help="second stage with a higher energy weight")
    opt.add_argument(
        "--start_swa",
        type=int,
        help="epoch of the second stage (default: 3/4 of max_num_epochs, or of --max_minutes if that comes first)",
    )
    opt.add_argument("--swa_lr", type=float, default=1e-3)
    opt.add_argument("--swa_energy_weight", type=float, default=1000.0)
    opt.add_argument("--swa_forces_weight", type=float, default=100.0)
    opt.add_argument("--swa_stress_weight", type=float, default=10.0)
    opt.add_argument("--scheduler_patience", type=int, default=50)
    opt.add_argument("--lr_factor", type=float, default=0.8)
    opt.add_argument("--patience", type=int, default=2048, help="early stopping: epochs without a better valid loss")
    opt.add_argument("--clip_grad", type=float, default=10.0, help="gradient norm clip (0: none)")
    opt.add_argument("--seed", type=int, default=123)
    opt.add_argument("--device", default="cpu", type=device, help="cpu, cuda, cuda:1, ...")
    opt.add_argument(
        "--distributed", action=bool_flag, default=False,
        help="data-parallel over the processes torchrun starts (gloo on CPU, nccl on CUDA, one GPU per process); "
        "--batch_size is then the global batch, shared out among the processes",
    )  # fmt: skip
    opt.add_argument("--default_dtype", default="float64", choices=["float64", "float32"])
    opt.add_argument(
        "--tune_allocator", action=bool_flag, default=True,
        help="keep large temporaries in glibc's heap (torch_gaunt.utils.tune_cpu_allocator); faster on CPU",
    )  # fmt: skip


def resolve_options(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse with the precedence defaults < demo preset < YAML < command line."""
    args = parser.parse_args(argv)
    presets: dict = {}
    if args.config:
        import yaml

        path = Path(args.config)
        if not path.is_file():
            parser.error(f"--config: {path} does not exist")
        try:
            presets = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            parser.error(f"--config: {path} is not valid YAML ({' '.join(str(error).split())})")
        if not isinstance(presets, dict):
            parser.error(f"--config: {path} must hold a mapping of option names to values")
        known = {a.dest for a in parser._actions}
        unknown = sorted(set(presets) - known)
        if unknown:
            parser.error(f"--config: unknown options {unknown} in {path}")
    demo = args.train_file is None and presets.get("train_file") is None
    if demo:
        parser.set_defaults(**DEMO, train_file=str(DEMO_DATA))
    parser.set_defaults(**presets)
    args = parser.parse_args(argv)
    args.demo = demo
    return args


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from .. import atoms
    from ..atoms.pipeline import parse_dtype, run_logger

    args = resolve_options(args.parser, argv[1:])
    import torch

    from ..atoms import distributed

    dtype = parse_dtype(args.default_dtype)
    if args.distributed:
        try:
            args.device = distributed.init_from_environment(args.device)
        except RuntimeError as error:  # not launched by torchrun, or the process group did not form
            args.parser.error(str(error))
    main = distributed.is_main()
    run_dir = Path(args.work_dir) / args.name
    if args.demo and not args.resume and (run_dir / "checkpoint.pt").exists():
        run_dir = Path(args.work_dir) / distributed.broadcast(f"{args.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    if (run_dir / "checkpoint.pt").exists() and not args.resume:
        args.parser.error(
            f"{run_dir} already holds a training run; pass --resume to continue it, or choose another --name"
        )
    try:
        radial = ast.literal_eval(args.radial_MLP) if isinstance(args.radial_MLP, str) else list(args.radial_MLP)
    except (ValueError, SyntaxError):
        args.parser.error(f"--radial_MLP: expected a list such as '[64, 64, 64]', got {args.radial_MLP!r}")
    keys = atoms.Keys(args.energy_key, args.forces_key, args.stress_key, args.virials_key)
    command = "torch-gaunt " + shlex.join(argv)
    log = run_logger(run_dir / "log.txt")
    if args.tune_allocator:
        from ..utils import tune_cpu_allocator

        log(f"glibc allocator tuned for large temporaries: {tune_cpu_allocator()}")
    if args.distributed:
        log(f"distributed: {distributed.world_size()} processes, backend {torch.distributed.get_backend()}")
    if main:
        _write_options(args, run_dir / "options.yaml")
    if args.demo:
        log(f"no --train_file: training the demo potential on {DEMO_DATA.name} (acetylacetone, MIT licence)")
    data = atoms.prepare_data(
        args.train_file,
        args.r_max,
        valid_file=args.valid_file,
        valid_fraction=args.valid_fraction,
        test_files=args.test_file,
        e0s=args.E0s,
        keys=keys,
        seed=args.seed,
        max_train=args.max_train,
        log=log,
    )
    model_options = {k: getattr(args, k) for k in MODEL_OPTIONS if k != "radial_MLP"}
    model_options["radial_mlp"] = radial
    settings = atoms.TrainingSettings(
        **{k: getattr(args, k) for k in SETTINGS},
        max_time=args.max_minutes * 60 if args.max_minutes else None,
    )
    if not settings.clip_grad:
        settings.clip_grad = None
    device = torch.device(args.device)
    atoms.train_potential(
        data, model_options, settings, run_dir, device=str(device), dtype=dtype, resume=args.resume,
        command=command, progress=args.progress, log=log,
    )  # fmt: skip
    if args.distributed:
        distributed.leave()
    return 0


def _write_options(args: argparse.Namespace, path: Path) -> None:
    """The resolved options as YAML (``--config`` takes it back), written atomically."""
    import yaml

    from .._io import atomic_write_text

    skip = {"parser", "run", "demo", "command", "config", "resume"}
    options = {k: v for k, v in sorted(vars(args).items()) if k not in skip}
    atomic_write_text(path, yaml.safe_dump(options, sort_keys=True))
