"""Charged N-body: Gaunt message passing, the same with CG products, a frame-averaged MLP and a vector-neuron
model, trained with the same budget on the same simulated data; test MSE, time per training step, table and plot.

Run from the repository root:

    python examples/nbody/run.py                     # simulate, train the four models, write the report
    python examples/nbody/run.py --timing            # only re-time the training steps (interleaved, quiet machine)
    python examples/nbody/run.py --models cg --no-timing   # train some models only (results are merged)
    python examples/nbody/run.py --quick --out /tmp/nbody   # a one-minute smoke run

Training checkpoints every epoch (``<out>/runs/<model>/checkpoint.pt``) and resumes from them when rerun.
Writes ``<out>/results.json``, ``<out>/nbody.md`` and ``<out>/nbody.png`` (default out: docs/experiments/nbody).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from charged import NBodySet, simulate  # noqa: E402
from models import build, num_parameters  # noqa: E402

from torch_gaunt._io import atomic_write, atomic_write_text  # noqa: E402
from torch_gaunt.bench.timing import machine_info  # noqa: E402
from torch_gaunt.testing import equivariance_error  # noqa: E402

MODELS = ("gaunt", "cg", "frame_averaging", "vector_neurons")
LABELS = {
    "gaunt": "Gaunt message passing",
    "cg": "same, CG products",
    "frame_averaging": "FrameAverage(MLP), O(3)",
    "vector_neurons": "vector neurons",
    "cg_e3nn": "same, CG products run by e3nn (timed only)",
}


def dataset(path: Path, sizes: dict[str, int], burn_in: int, steps: int) -> dict[str, NBodySet]:
    """Simulated splits (float64 on disk, cached at ``path``): one seed per split, so they never overlap."""
    settings = {"sizes": sizes, "burn_in": burn_in, "steps": steps}
    if path.exists():
        saved = torch.load(path)
        if all(saved.get(k) == v for k, v in settings.items()):
            return {k: NBodySet(**v) for k, v in saved["splits"].items()}
    splits = {
        name: simulate(n, burn_in=burn_in, steps=steps, seed=seed) for seed, (name, n) in enumerate(sizes.items())
    }
    payload = {**settings, "splits": {k: vars(v) for k, v in splits.items()}}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return splits


def mse(model: torch.nn.Module, data: NBodySet, batch: int = 500) -> float:
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(data), batch):
            b = data.batch(torch.arange(start, min(start + batch, len(data))))
            total += ((model(b.positions, b.velocities, b.charges) - b.target) ** 2).sum().item()
    return total / (len(data) * data.positions.shape[1] * 3)


def train(name: str, splits: dict[str, NBodySet], args, out: Path) -> dict:
    """Train one model for ``args.epochs`` epochs (Adam, cosine schedule), resuming from its checkpoint."""
    run = out / "runs" / name
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    model = build(name, small=args.quick)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(splits["train"]) / args.batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, args.epochs * steps_per_epoch)
    state = {"epoch": 0, "history": [], "train_seconds": 0.0, "best": math.inf}
    checkpoint = run / "checkpoint.pt"
    if checkpoint.exists():
        saved = torch.load(checkpoint)
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        schedule.load_state_dict(saved["schedule"])
        state = saved["state"]
        torch.set_rng_state(saved["rng"])
    train_set = splits["train"]
    for epoch in range(state["epoch"], args.epochs):
        model.train()
        order = torch.randperm(len(train_set))
        start = time.perf_counter()
        for k in range(steps_per_epoch):
            b = train_set.batch(order[k * args.batch : (k + 1) * args.batch])
            loss = ((model(b.positions, b.velocities, b.charges) - b.target) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimiser.step()
            schedule.step()
        state["train_seconds"] += time.perf_counter() - start
        valid = mse(model, splits["valid"])
        state["history"].append({"epoch": epoch + 1, "train_loss": loss.item(), "valid_mse": valid})
        if valid < state["best"]:
            state["best"] = valid
            atomic_write(run / "best.pt", lambda tmp: torch.save(model.state_dict(), tmp))
        state["epoch"] = epoch + 1
        payload = {
            "model": model.state_dict(), "optimiser": optimiser.state_dict(), "schedule": schedule.state_dict(),
            "state": state, "rng": torch.get_rng_state(),
        }  # fmt: skip
        atomic_write(checkpoint, lambda tmp, payload=payload: torch.save(payload, tmp))
        print(f"{name:16s} epoch {epoch + 1:4d}  train {loss.item():.5f}  valid {valid:.5f}", flush=True)
    model.load_state_dict(torch.load(run / "best.pt"))
    model.eval()
    error = equivariance_error(
        lambda x, v, q: model(x.view(-1, 5, 3), v.view(-1, 5, 3), q).flatten(1),
        ["5x1o", "5x1o", "5x0e"], "5x1o", dtype=torch.get_default_dtype(),
    )  # fmt: skip
    return {
        "model": name,
        "parameters": num_parameters(model),
        "epochs": state["epoch"],
        "best_valid_mse": state["best"],
        "test_mse": mse(model, splits["test"]),
        "train_seconds": state["train_seconds"],
        "seconds_per_step_in_training": state["train_seconds"] / (state["epoch"] * steps_per_epoch),
        "equivariance_error": error,
        "history": state["history"],
    }


def time_steps(
    splits: dict[str, NBodySet], names, batch: int, rounds: int = 5, steps: int = 10, small: bool = False
) -> dict[str, list]:
    """Seconds per training step (forward, backward, Adam) of each model, interleaved over ``rounds``."""
    b = splits["train"].batch(torch.arange(batch))
    models = {n: build(n, small) for n in names}
    optimisers = {n: torch.optim.Adam(m.parameters(), 1e-4) for n, m in models.items()}
    times: dict[str, list] = {n: [] for n in names}
    for r in range(rounds + 1):
        for n, m in models.items():
            m.train()
            start = time.perf_counter()
            for _ in range(steps):
                loss = ((m(b.positions, b.velocities, b.charges) - b.target) ** 2).mean()
                optimisers[n].zero_grad()
                loss.backward()
                optimisers[n].step()
            if r:  # round 0 warms up
                times[n].append((time.perf_counter() - start) / steps)
    return times


def plot(results: list[dict], timing: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for r in results:
        epochs = [h["epoch"] for h in r["history"]]
        ax1.plot(epochs, [h["valid_mse"] for h in r["history"]], label=LABELS[r["model"]])
    ax1.set(xlabel="epoch", ylabel="validation MSE", yscale="log", title="learning curves (same budget)")
    ax1.legend()
    costs = []
    for r in results:
        t = (
            statistics.median(timing[r["model"]]) * 1e3
            if timing.get(r["model"])
            else r["seconds_per_step_in_training"] * 1e3
        )
        costs.append(t)
        ax2.scatter(t, r["test_mse"], s=60)
        ax2.annotate(LABELS[r["model"]], (t, r["test_mse"]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax2.set_xlim(min(costs) / 2, max(costs) * 8)  # room for the labels
    ax2.set(xlabel="ms per training step", ylabel="test MSE", xscale="log", yscale="log",
            title="accuracy against cost")  # fmt: skip
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)


def report(results: list[dict], timing: dict, args, command: str, baselines: dict) -> str:
    lines = [
        f"# Charged N-body: {len(results)} equivariant models, {args.epochs} epochs each",
        "",
        "Predict the positions of 5 charged particles 1000 steps (t = 1) ahead from their positions, velocities and",
        "charges (the task of EGNN, SEGNN and Frame Averaging; data simulated by `examples/nbody/charged.py`).",
        f"{args.train} training, {args.valid} validation, {args.test} test systems; each model {args.epochs} epochs of Adam",
        f"(batch {args.batch}, lr {args.lr}, cosine decay), float32, the best validation epoch tested.",
        "",
        "Reproduce: `python examples/nbody/run.py` (simulates the data, trains the four models one after the other,",
        f"times them, writes this file). This file was last written by `{command}`; training can be split over",
        "processes with `--models ... --no-timing` (results are merged, checkpoints resume).",
        f"Machine: {machine_info()}.",
        "",
        "| model | parameters | test MSE | ms / training step | training time | equivariance error |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ms = statistics.median(timing[r["model"]]) * 1e3 if timing.get(r["model"]) else math.nan
        spread = (
            f" ({min(timing[r['model']]) * 1e3:.1f}-{max(timing[r['model']]) * 1e3:.1f})"
            if timing.get(r["model"])
            else ""
        )
        lines.append(
            f"| {LABELS[r['model']]} | {r['parameters']:,} | {r['test_mse']:.4f} | {ms:.1f}{spread} | "
            f"{r['train_seconds'] / 60:.1f} min | {r['equivariance_error']:.1e} |"
        )
    if timing.get("cg_e3nn"):
        t = timing["cg_e3nn"]
        lines.append(
            f"| {LABELS['cg_e3nn']} | {num_parameters(build('cg_e3nn')):,} | | "
            f"{statistics.median(t) * 1e3:.1f} ({min(t) * 1e3:.1f}-{max(t) * 1e3:.1f}) | | |"
        )
    lines += [
        f"| *no motion (x(t) = x(0))* | 0 | {baselines['static']:.4f} | | | |",
        f"| *constant velocity (x(0) + v t)* | 0 | {baselines['linear']:.4f} | | | |",
        "",
        "ms / training step: median (min-max) of interleaved timing rounds of one forward, backward and Adam step",
        f"on {args.batch} systems, after warm-up (`--timing` redoes it). Training time: wall time of the training epochs as they ran",
        "(other work may have shared the machine). Equivariance error: largest |f(gx) - g f(x)| of the trained",
        "model over random rotations and inversions (float32; the frame-averaged MLP is evaluated on all 8 frames).",
        "",
        "![learning curves and accuracy against cost](nbody.png)",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE.parents[1] / "docs" / "experiments" / "nbody")
    parser.add_argument("--data", type=Path, default=HERE / "data" / "nbody.pt")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--valid", type=int, default=500)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--burn_in", type=int, default=3000, help="simulation steps before the input state")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--timing", action="store_true", help="only time the training steps and rewrite the report")
    parser.add_argument("--no-timing", action="store_true", help="train only (e.g. models in parallel processes)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny data, 2 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.train, args.valid, args.test, args.epochs, args.batch, args.burn_in = 40, 20, 20, 2, 20, 100
        args.data = args.out / "nbody.pt"
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    args.out.mkdir(parents=True, exist_ok=True)
    splits = dataset(args.data, {"train": args.train, "valid": args.valid, "test": args.test}, args.burn_in, 1000)
    splits = {k: v.to(torch.float32) for k, v in splits.items()}
    results_path = args.out / "results.json"
    trained = {} if args.timing else {name: train(name, splits, args, args.out) for name in args.models}
    # read the file only now: another process may have added its models while these trained
    saved = json.loads(results_path.read_text()) if results_path.exists() else {"results": [], "timing_seconds": {}}
    results = {r["model"]: r for r in saved["results"]} | trained
    timing = saved["timing_seconds"]
    results = [results[name] for name in MODELS if name in results]
    if args.timing or not args.no_timing:
        names = [r["model"] for r in results]
        if importlib.util.find_spec("e3nn") is not None and not args.quick:
            names.append("cg_e3nn")  # the CG model's products run by e3nn, for the time column only
        timing = time_steps(splits, names, args.batch, rounds=1 if args.quick else 5, small=args.quick)
    test = splits["test"]
    baselines = {
        "static": ((test.positions - test.target) ** 2).mean().item(),
        "linear": ((test.positions + test.velocities - test.target) ** 2).mean().item(),
    }
    command = "python examples/nbody/run.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    atomic_write_text(results_path, json.dumps({"machine": machine_info(), "command": command, "results": results, "timing_seconds": timing, "baselines": baselines}, indent=1))  # fmt: skip
    atomic_write_text(args.out / "nbody.md", report(results, timing, args, command.strip(), baselines))
    plot(results, timing, args.out / "nbody.png")
    print((args.out / "nbody.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
