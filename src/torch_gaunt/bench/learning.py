"""Learning curves of Gaunt-MACE against mace-torch: the same data, split, size, schedule, batches, E0s and seeds.

A run trains one model on the training part of a fixed split and records the validation energy and force RMSE
after every epoch with the wall time; at the end it predicts an extrapolation set with the trained model. Ours runs
``torch-gaunt train``; MACE runs ``mace_run_train`` in its own environment (``.venv-mace``, mace-torch pins e3nn
0.4.4) through ``mace_train_worker.py``, which adds the wall time to MACE's metrics. Both get the same flags,
which have the same names and defaults in both programs, and the same files:

- ``<root>/data/train.xyz``, ``valid.xyz``: the split (``REF_energy``/``REF_forces`` keys), written once;
- ``<root>/<label>_seed<seed>/``: one run, with ``curve.json`` (per epoch: ``epoch``, ``energy_rmse`` meV/atom,
  ``forces_rmse`` meV/Å, ``minutes``), ``extrapolation.json`` (errors on the extrapolation set) and ``run.json``
  (command, machine, CPU use).

:func:`report` draws validation F (and E) RMSE against epoch and against wall time, and tabulates both at chosen
epochs and minutes. ``python benchmarks/learning_curves.py --help`` is the command line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .._io import atomic_write, atomic_write_text

__all__ = ["Schedule", "prepare_split", "run", "read_ours", "read_mace", "curve_errors", "report", "main"]

WORKER = Path(__file__).with_name("mace_train_worker.py")
KEYS = ("REF_energy", "REF_forces")


@dataclass
class Schedule:
    """What both programs are told: model size, optimiser and stage-two settings (MACE's flag names)."""

    num_channels: int = 64
    max_L: int = 1
    correlation: int = 3
    r_max: float = 5.0
    batch_size: int = 5
    valid_batch_size: int = 10
    max_num_epochs: int = 80
    lr: float = 0.01
    weight_decay: float = 5e-7
    energy_weight: float = 1.0
    forces_weight: float = 100.0
    swa_energy_weight: float = 1000.0
    swa_forces_weight: float = 100.0
    swa_lr: float = 1e-3
    ema_decay: float = 0.99
    scheduler_patience: int = 50
    lr_factor: float = 0.8
    clip_grad: float = 10.0
    default_dtype: str = "float64"
    e0s: dict = field(default_factory=dict)

    def flags(self, seed: int, data: Path) -> list[str]:
        """The flags both ``torch-gaunt train`` and ``mace_run_train`` take, with these meanings."""
        out = [f"--{name}={value}" for name, value in asdict(self).items() if name != "e0s"]
        e0s = "{" + ", ".join(f"{z}: {e!r}" for z, e in sorted(self.e0s.items())) + "}"
        return out + [
            "--swa", "--ema", "--amsgrad", f"--seed={seed}", f"--E0s={e0s}",
            f"--train_file={data / 'train.xyz'}", f"--valid_file={data / 'valid.xyz'}",
            f"--energy_key={KEYS[0]}", f"--forces_key={KEYS[1]}",
        ]  # fmt: skip


def _write_frames(path: Path, frames) -> None:
    import ase.io

    atomic_write(path, lambda tmp: ase.io.write(tmp, frames, format="extxyz"))


def _relabelled(frames) -> list:
    """Copies of ``frames`` with their reference energy and forces under ``REF_energy``/``REF_forces`` only; single
    atoms (isolated-atom energies, which both programs take as E0s instead) are left out."""
    out = []
    for atoms in frames:
        if len(atoms) == 1:
            continue
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        copy = atoms.copy()
        copy.calc = None
        for key in ("energy", "forces", "free_energy"):
            copy.info.pop(key, None)
            copy.arrays.pop(key, None)
        copy.info[KEYS[0]], copy.arrays[KEYS[1]] = energy, forces
        out.append(copy)
    return out


def prepare_split(train_file: str, extrapolation_file: str, root: Path, n_valid: int = 50, seed: int = 123) -> Path:
    """Write ``<root>/data/{train,valid,extrapolation}.xyz`` (a random ``n_valid`` of ``train_file`` for validation,
    chosen by ``seed``) unless they exist; returns the folder."""
    import ase.io

    data = root / "data"
    if all((data / f"{name}.xyz").is_file() for name in ("train", "valid", "extrapolation")):
        return data
    frames = _relabelled(ase.io.read(train_file, index=":"))
    order = np.random.default_rng(seed).permutation(len(frames))
    if not 0 < n_valid < len(frames):
        raise ValueError(f"n_valid: expected 1..{len(frames) - 1} for {train_file}, got {n_valid}")
    _write_frames(data / "valid.xyz", [frames[k] for k in sorted(order[:n_valid])])
    _write_frames(data / "train.xyz", [frames[k] for k in sorted(order[n_valid:])])
    _write_frames(data / "extrapolation.xyz", _relabelled(ase.io.read(extrapolation_file, index=":")))
    return data


def _run_process(args: list[str], log_path: Path, env: dict | None = None) -> dict:
    """Run ``args`` with stdout and stderr appended to ``log_path``; returns wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(args)}\n")
        log.flush()
        code = subprocess.call(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        raise RuntimeError(f"{args[0]} failed with exit status {code}; see {log_path}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_seconds": time.perf_counter() - start, "cpu_seconds": cpu}


def run(
    kind: str,
    seed: int,
    root: Path,
    schedule: Schedule,
    label: str | None = None,
    minutes: float | None = None,
    extra: list[str] | None = None,
    mace_python: str | None = None,
) -> Path:
    """Train one model (``kind`` ``"ours"`` or ``"mace"``) on the split in ``<root>/data`` and write its curve and
    extrapolation errors into ``<root>/<label>_seed<seed>``; an interrupted run resumes from its checkpoint.
    ``minutes`` (ours only) budgets wall time instead of epochs; ``extra`` adds flags to the training command."""
    from .timing import machine_info

    if kind not in ("ours", "mace"):
        raise ValueError(f"kind: expected 'ours' or 'mace', got {kind!r}")
    data = root / "data"
    run_dir = root / f"{label or kind}_seed{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    flags = schedule.flags(seed, data) + list(extra or [])
    if kind == "ours":
        resume = ["--resume"] if (run_dir / "train" / "checkpoint.pt").is_file() else []
        budget = [f"--max_minutes={minutes}"] if minutes is not None else []
        command = [sys.executable, "-m", "torch_gaunt.cli", "train", *flags, *budget, "--name=train"]
        command += [f"--work_dir={run_dir}", f"--test_file={data / 'extrapolation.xyz'}", "--no-progress", *resume]
        usage = _run_process(command, run_dir / "output.log")
        predict = [sys.executable, "-m", "torch_gaunt.cli", "evaluate", f"--model={run_dir / 'train' / 'model.pt'}"]
        predict += [f"--configs={data / 'extrapolation.xyz'}", f"--output={run_dir / 'extrapolation.xyz'}"]
        _run_process(predict, run_dir / "output.log")
        curve, prefix = read_ours(run_dir / "train" / "metrics.jsonl"), "gaunt_"
        from ..models import load_model

        parameters = sum(p.numel() for p in load_model(run_dir / "train" / "model.pt").parameters())
    else:
        if minutes is not None:
            raise ValueError("minutes: a time budget is for our runs only (mace_run_train budgets epochs)")
        if mace_python is None:
            raise ValueError("mace_python: MACE runs need the Python of MACE's environment (.venv-mace/bin/python)")
        env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
        command = [mace_python, str(WORKER), *flags, "--name=mace", f"--work_dir={run_dir}", "--device=cpu"]
        command += ["--model=MACE", "--eval_interval=1", "--error_table=PerAtomRMSE", "--restart_latest"]
        usage = _run_process(command, run_dir / "output.log", env)
        model = run_dir / ("mace_stagetwo.model" if (run_dir / "mace_stagetwo.model").is_file() else "mace.model")
        predict = [mace_python, "-m", "mace.cli.eval_configs", f"--configs={data / 'extrapolation.xyz'}"]
        predict += [f"--model={model}", f"--output={run_dir / 'extrapolation.xyz'}", "--default_dtype=float64"]
        _run_process(predict, run_dir / "output.log", env)
        curve, prefix = read_mace(run_dir / "results" / f"mace_run-{seed}_train.txt"), "MACE_"
        count = f"import torch; m = torch.load({str(model)!r}, weights_only=False); print(sum(p.numel() for p in m.parameters()))"
        parameters = int(subprocess.check_output([mace_python, "-c", count], env=env, text=True).split()[-1])
    atomic_write_text(run_dir / "curve.json", json.dumps(curve, indent=1))
    atomic_write_text(
        run_dir / "extrapolation.json", json.dumps(prediction_errors(run_dir / "extrapolation.xyz", prefix))
    )
    info = {
        "kind": kind,
        "seed": seed,
        "command": command,
        "machine": machine_info(),
        "parameters": parameters,
        **usage,
    }
    info["cpu_use"] = usage["cpu_seconds"] / max(usage["wall_seconds"], 1e-9)
    atomic_write_text(run_dir / "run.json", json.dumps(info, indent=1))
    return run_dir


def read_ours(metrics_file: Path) -> list[dict]:
    """Per-epoch validation errors from ``torch-gaunt train``'s ``metrics.jsonl``."""
    lines = Path(metrics_file).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return [
        {"epoch": r["epoch"] + 1, "energy_rmse": r["energy_rmse"], "forces_rmse": r["forces_rmse"],
         "minutes": r["time"] / 60}
        for r in records
    ]  # fmt: skip


def read_mace(results_file: Path) -> list[dict]:
    """Per-epoch validation errors from MACE's ``results/<tag>_train.txt`` with the worker's wall times.

    Time runs from the validation MACE does before its first epoch; a restarted run (a new such record) continues
    the clock where the last epoch left it. A repeated epoch keeps its last record."""
    curve: dict[int, dict] = {}
    start, offset, last = None, 0.0, 0.0
    for line in Path(results_file).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get("mode") != "eval":
            continue
        if r.get("epoch") is None:  # the validation before training (again after a restart)
            start, offset = r["wall"], last
            continue
        last = offset + (r["wall"] - start)
        curve[int(r["epoch"]) + 1] = {
            "epoch": int(r["epoch"]) + 1,
            "energy_rmse": 1000 * r["rmse_e_per_atom"],
            "forces_rmse": 1000 * r["rmse_f"],
            "minutes": last / 60,
        }
    return [curve[k] for k in sorted(curve)]


def prediction_errors(path: Path, prefix: str) -> dict:
    """Energy RMSE (meV/atom) and force RMSE (meV/Å) of the ``<prefix>energy``/``<prefix>forces`` predictions in
    ``path`` against its ``REF_`` labels."""
    import ase.io

    e, f = [], []
    for atoms in ase.io.read(path, index=":"):
        n = len(atoms)
        e.append((atoms.info[f"{prefix}energy"] - atoms.info[KEYS[0]]) / n)
        f.append(atoms.arrays[f"{prefix}forces"] - atoms.arrays[KEYS[1]])
    return {
        "count": len(e),
        "energy_rmse": 1000 * float(np.sqrt(np.mean(np.square(e)))),
        "forces_rmse": 1000 * float(np.sqrt(np.mean(np.square(np.concatenate(f))))),
    }


def curve_errors(curve: list[dict], epoch: int | None = None, minutes: float | None = None) -> dict | None:
    """The record after ``epoch`` epochs, or the last one that ended within ``minutes``; None if there is none."""
    if epoch is not None:
        match = [r for r in curve if r["epoch"] == epoch]
        return match[0] if match else None
    within = [r for r in curve if r["minutes"] <= minutes]
    return within[-1] if within else None


def _load_runs(folders: list[Path]) -> dict[str, list[dict]]:
    """``{label: [run, ...]}`` where each run has ``curve``, ``extrapolation``, ``info``, ``name`` and ``finished``.

    A run that was stopped before its end (``run.json`` missing) still has the curve of the epochs it did, from
    its ``metrics.jsonl`` (ours) or MACE's results file; it has no extrapolation errors and no clock that counts.
    A ``.json`` file in ``folders`` is an earlier report's data (``report`` writes it): its runs are taken as
    they are, so a report can grow by new runs after the old run folders are gone."""
    runs: dict[str, list[dict]] = {}
    for folder in folders:
        if folder.suffix == ".json":
            if not folder.is_file():
                raise FileNotFoundError(f"{folder}: no such report data (the .json that `report` writes)")
            for label, group in json.loads(folder.read_text(encoding="utf-8")).items():
                runs.setdefault(label, []).extend(group)
            continue
        label = folder.name.rsplit("_seed", 1)[0]
        finished = (folder / "run.json").is_file()
        ours, mace = folder / "train" / "metrics.jsonl", sorted(folder.glob("results/*_train.txt"))
        if finished:
            curve = json.loads((folder / "curve.json").read_text(encoding="utf-8"))
            extrapolation = json.loads((folder / "extrapolation.json").read_text(encoding="utf-8"))
            info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        elif ours.is_file() or mace:
            curve = read_ours(ours) if ours.is_file() else read_mace(mace[0])
            extrapolation = {}
            log = folder / "output.log"
            first = log.read_text(encoding="utf-8").split("\n", 1)[0] if log.is_file() else ""
            command = first[2:].split(" ") if first.startswith("$ ") else []
            info = {"machine": f"stopped after {len(curve)} epochs", "command": command, "cpu_use": math.nan}
        else:
            raise FileNotFoundError(
                f"{folder}: neither a finished run (run.json) nor a curve (train/metrics.jsonl, results/*_train.txt)"
            )
        run = {"name": folder.name, "curve": curve, "extrapolation": extrapolation, "info": info, "finished": finished}
        runs.setdefault(label, []).append(run)
    return runs


def _cell(values: list[float | None]) -> str:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "–"
    mean = sum(values) / len(values)
    return f"{mean:.3g}" + (f" ({min(values):.3g}-{max(values):.3g})" if len(values) > 1 else "")


def mean_difference(a: list[float], b: list[float]) -> tuple[float, float]:
    """``(mean(a) - mean(b), standard error)`` of two independent samples (seeds of two models), the error
    ``sqrt(s_a²/n_a + s_b²/n_b)`` from the sample variances; NaN when a side has fewer than two values."""
    if not a or not b:
        raise ValueError(f"mean_difference: expected values on both sides, got {len(a)} and {len(b)}")

    def mean_variance(v):
        m = sum(v) / len(v)
        return m, (sum((x - m) ** 2 for x in v) / (len(v) - 1) if len(v) > 1 else math.nan)

    (ma, va), (mb, vb) = mean_variance(a), mean_variance(b)
    return ma - mb, math.sqrt(va / len(a) + vb / len(b))


def _comparison(runs: dict[str, list[dict]], pairs, epochs) -> list[str]:
    """Markdown rows ``a − b`` per pair of labels: the difference of the seed means of the validation F RMSE at
    ``epochs`` and of the extrapolation errors, each ± its standard error."""
    if not pairs:
        return []
    columns = [*(f"F @ {e} ep" for e in epochs), "F extrapolation", "E extrapolation", "seeds"]
    lines = ["Difference of the seed means (first minus second model) ± its standard error "
             "`sqrt(s1²/n1 + s2²/n2)`; negative: the first is lower. A difference within about twice its standard "
             "error is within seed-to-seed noise.", "", "| | " + " | ".join(columns) + " |",
             "|" + "---|" * (len(columns) + 1)]  # fmt: skip
    getters = [lambda r, e=e: (curve_errors(r["curve"], epoch=e) or {}).get("forces_rmse") for e in epochs]
    getters += [lambda r, k=k: r["extrapolation"].get(k) for k in ("forces_rmse", "energy_rmse")]

    def values(label, get):
        return [v for v in (get(r) for r in runs[label]) if v is not None and math.isfinite(v)]

    for a, b in pairs:
        missing = [label for label in (a, b) if label not in runs]
        if missing:
            raise ValueError(f"compare: no runs labelled {missing}; labels are {sorted(runs)}")
        cells = []
        for get in getters:
            va, vb = values(a, get), values(b, get)
            if not va or not vb:
                cells.append("–")
                continue
            d, se = mean_difference(va, vb)
            cells.append(f"{d:+.3g}" + (f" ± {se:.2g}" if math.isfinite(se) else ""))
        cells.append(f"{len(runs[a])} / {len(runs[b])}")
        lines.append(f"| {a} − {b} | " + " | ".join(cells) + " |")
    return lines + [""]


def report(
    folders: list[Path],
    out: Path,
    epochs=(20, 40, 80),
    minutes=(20, 40, 60),
    title: str = "Learning curves",
    untimed: tuple[str, ...] = (),
    compare: list[tuple[str, str]] | None = None,
) -> str:
    """Write ``<out>.md``, ``<out>.json`` and ``<out>.png`` for the runs in ``folders`` (grouped by label, seeds
    averaged in the tables, every seed drawn); returns the Markdown. Runs named in ``untimed`` (folder names) shared
    the machine or were paused: their epochs count, their clock does not (no wall-time cells or curves).
    ``compare``: pairs of labels ``(a, b)`` whose difference ``a − b`` of the seed means is tabulated with its
    standard error (:func:`mean_difference`)."""
    runs = _load_runs(folders)
    for group in runs.values():
        for r in group:
            r["timed"] = r["finished"] and r["name"] not in untimed
    lines = [f"# {title}", "", "Validation RMSE (mean over seeds, range in brackets): E in meV/atom, F in meV/Å.", ""]
    columns = ["model", "seeds", *(f"F @ {e} ep" for e in epochs), *(f"F @ {m:g} min" for m in minutes)]
    columns += [*(f"E @ {e} ep" for e in epochs), "F extrapolation", "E extrapolation", "min/epoch", "CPU use"]
    head = "| " + " | ".join([*columns, "parameters"]) + " |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for label, group in runs.items():
        cells = [label, str(len(group))]
        cells += [_cell([(curve_errors(r["curve"], epoch=e) or {}).get("forces_rmse") for r in group]) for e in epochs]
        timed = [r for r in group if r["timed"]]
        cells += [
            _cell([(curve_errors(r["curve"], minutes=m) or {}).get("forces_rmse") for r in timed]) for m in minutes
        ]
        cells += [_cell([(curve_errors(r["curve"], epoch=e) or {}).get("energy_rmse") for r in group]) for e in epochs]
        cells += [_cell([r["extrapolation"].get(k) for r in group]) for k in ("forces_rmse", "energy_rmse")]
        per_epoch = [r["curve"][-1]["minutes"] / r["curve"][-1]["epoch"] for r in timed if r["curve"]]
        cells.append(f"{sum(per_epoch) / len(per_epoch):.2f}" if per_epoch else "–")
        cpu = _cell([100 * r["info"]["cpu_use"] / 2 for r in timed])
        cells.append(cpu if cpu == "–" else cpu + " %")
        parameters = group[0]["info"].get("parameters")
        cells.append(f"{parameters:,}" if parameters else "–")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "CPU use: CPU seconds of the training process over its wall time, per 2 cores (100 % = both cores "
              "busy with it the whole time; less means other work shared the machine or the run was idle). Wall-time "
              "cells and curves leave out the runs whose clock does not count: " + (", ".join(untimed) or "none") + ".",
              ""]  # fmt: skip
    lines += _comparison(runs, compare, epochs)
    for group in runs.values():
        for r in group:
            lines += [f"- `{r['name']}`: {r['info']['machine']}; `{' '.join(r['info']['command'][2:])}`"]
    text = "\n".join(lines) + "\n"
    atomic_write_text(out.with_suffix(".md"), text)
    atomic_write_text(out.with_suffix(".json"), json.dumps(runs, indent=1))
    _plot(runs, out.with_suffix(".png"), title)
    return text


def _plot(runs: dict[str, list[dict]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = any(r["timed"] for group in runs.values() for r in group)  # no clock that counts: epochs only
    ncols = 2 if timed else 1
    fig, axes = plt.subplots(2, ncols, figsize=(11 if timed else 7.5, 8), sharey="row", squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (label, group) in enumerate(runs.items()):
        colour, several = colours[k % len(colours)], len(group) > 1
        for j, r in enumerate(group):
            c = r["curve"]
            for row, key in enumerate(("forces_rmse", "energy_rmse")):
                y = [p[key] for p in c]
                for col, x in enumerate(([p["epoch"] for p in c], [p["minutes"] for p in c])[:ncols]):
                    if col == 1 and not r["timed"]:
                        continue
                    axes[row, col].plot(x, y, color=colour, alpha=0.3 if several else 0.85, lw=0.8 if several else 1.2,
                                        label=None if several or j else label)  # fmt: skip
        if several:  # the seeds thin, their mean bold (over the epochs that every seed reached)
            epochs = sorted(set.intersection(*({p["epoch"] for p in r["curve"]} for r in group)))
            for row, key in enumerate(("forces_rmse", "energy_rmse")):
                mean = [sum(curve_errors(r["curve"], epoch=e)[key] for r in group) / len(group) for e in epochs]
                axes[row, 0].plot(epochs, mean, color=colour, lw=2, label=f"{label} (mean of {len(group)})")
    for row, name in enumerate(("valid F RMSE (meV/Å)", "valid E RMSE (meV/atom)")):
        for col, xlabel in enumerate(("epoch", "wall time (min)")[:ncols]):
            ax = axes[row, col]
            ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(name)
            ax.grid(True, which="both", alpha=0.3)
    axes[0, 0].legend()
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("run", help="train one model and record its curve (resumes if interrupted)")
    train.add_argument("kind", choices=["ours", "mace"])
    train.add_argument("--seed", type=int, default=123)
    train.add_argument("--label", help="run name (default: the kind); the folder is <root>/<label>_seed<seed>")
    train.add_argument("--minutes", type=float, help="ours: a wall-time budget instead of an epoch count")
    train.add_argument(
        "--epochs", type=int, help="max_num_epochs (stage two from 3/4 of it; default 80, with --minutes 1000: the "
        "time budget ends the run and places stage two)",
    )  # fmt: skip
    train.add_argument("--mace-python", default=".venv-mace/bin/python")
    train.add_argument("--extra", default="", help="more flags for the training command, in one string")
    for sub in (train,):
        sub.add_argument("--root", type=Path, default=Path("runs/learning"))
        sub.add_argument("--data", default="../shared/data/acac/train_300K.xyz")
        sub.add_argument("--extrapolation", default="../shared/data/acac/train_600K.xyz")
        sub.add_argument("--isolated", default="../shared/data/acac/isolated_atoms.xyz")
    plot = commands.add_parser("report", help="tables and plots of finished runs")
    plot.add_argument("folders", nargs="+", type=Path, help="run folders, or the .json of an earlier report")
    plot.add_argument("--out", type=Path, required=True, help="report path without suffix")
    plot.add_argument("--title", default="Learning curves on AcAc (450/50 split of train_300K)")
    plot.add_argument("--untimed", nargs="*", default=[], help="run folder names whose wall time does not count")
    plot.add_argument("--epochs", nargs="+", type=int, default=[20, 40, 80], help="epochs of the table")
    plot.add_argument("--minutes", nargs="*", type=float, default=[20, 40, 60], help="wall times of the table")
    plot.add_argument("--compare", nargs=2, action="append", metavar=("A", "B"), default=[],
                      help="tabulate A − B (labels) with its standard error over seeds; repeatable")  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "report":
        text = report(args.folders, args.out, args.epochs, args.minutes, args.title, tuple(args.untimed), args.compare)
        print(text)
        return 0
    import ase.io

    e0s = {int(a.numbers[0]): float(a.get_potential_energy()) for a in ase.io.read(args.isolated, index=":")}
    prepare_split(args.data, args.extrapolation, args.root)
    epochs = args.epochs or (1000 if args.minutes is not None else 80)
    schedule = Schedule(max_num_epochs=epochs, e0s=e0s)
    folder = run(
        args.kind, args.seed, args.root, schedule, args.label, args.minutes, args.extra.split(), args.mace_python
    )
    print(f"wrote {folder}")
    return 0
