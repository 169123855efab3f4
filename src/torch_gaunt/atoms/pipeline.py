"""From files to a trained potential and back: what ``torch-gaunt train`` and ``torch-gaunt evaluate`` do.

:func:`prepare_data` reads and splits the structures, resolves the E0s and builds the graphs;
:func:`train_potential` builds the model from the training statistics, trains it, and writes the model file, the
metrics, error tables and plots into the run folder; :func:`evaluate_potential` predicts with a model file and
writes the structures with ``gaunt_``-prefixed predictions.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import ase.io
import numpy as np
import torch

from .._checks import parse_dtype as _parse_dtype
from .._io import atomic_write, atomic_write_text
from .._version import __version__
from ..models import AtomicGraph, GauntMACE, ModelConfig, load_model, save_model
from . import distributed
from .data import (
    DEFAULT_KEYS,
    Configuration,
    Keys,
    configurations_from_frames,
    is_isolated_atom,
    read_configurations,
    read_frames,
)
from .evaluation import Predictions, errors, format_errors, predict
from .neighbours import to_graph
from .plots import plot_loss_curve, plot_parity
from .statistics import average_num_neighbors, check_e0s, resolve_e0s, scale_shift
from .training import TrainingSettings, train

__all__ = ["DataSplit", "prepare_data", "train_potential", "evaluate_potential", "parse_dtype", "run_logger"]


def parse_dtype(name: str) -> torch.dtype:
    """The dtype of ``--default_dtype``."""
    return _parse_dtype(name, "default_dtype")


@dataclass
class DataSplit:
    """Structures of each set (isolated atoms removed) with their graphs; ``e0s`` maps Z to eV."""

    atomic_numbers: list[int]
    e0s: dict[int, float]
    train: list[Configuration]
    valid: list[Configuration]
    test: dict[str, list[Configuration]] = field(default_factory=dict)
    graphs: dict[str, list[AtomicGraph]] = field(default_factory=dict)

    def sets(self) -> dict[str, list[Configuration]]:
        """``{"train": ..., "valid": ..., <test file stem>: ...}``."""
        return {"train": self.train, "valid": self.valid, **self.test}


def prepare_data(
    train_file: str | os.PathLike,
    r_max: float,
    valid_file: str | os.PathLike | None = None,
    valid_fraction: float = 0.1,
    test_files: list[str] | None = None,
    e0s: str | dict | None = "auto",
    keys: Keys = DEFAULT_KEYS,
    seed: int = 123,
    max_train: int | None = None,
    log=print,
) -> DataSplit:
    """Read ``train_file`` (and the optional validation and test files), split off a random ``valid_fraction`` of
    the training structures when no ``valid_file`` is given, resolve the E0s, and build the graphs."""
    configs = read_configurations(train_file, keys, require_energy=True)
    atomic_numbers = sorted({int(z) for c in configs for z in c.numbers})
    e0_map = resolve_e0s(e0s, configs, atomic_numbers, keys)
    pool = [c for c in configs if not is_isolated_atom(c)]
    if valid_file is not None:
        train, valid = pool, read_configurations(valid_file, keys, require_energy=True)
        valid = [c for c in valid if not is_isolated_atom(c)]
    else:
        if not 0 < valid_fraction < 1:
            raise ValueError(f"valid_fraction: expected a number in (0, 1), got {valid_fraction!r}")
        order = np.random.default_rng(seed).permutation(len(pool))
        n_valid = max(1, int(round(valid_fraction * len(pool))))
        if n_valid >= len(pool):
            raise ValueError(f"{train_file}: {len(pool)} structures are too few to split off a validation set")
        valid = [pool[k] for k in sorted(order[:n_valid])]
        train = [pool[k] for k in sorted(order[n_valid:])]
    if max_train is not None:
        train = train[:max_train]
    tests = {Path(f).stem: read_configurations(f, keys) for f in test_files or []}
    mean = check_e0s(train, e0_map)
    log(
        f"data: {len(train)} train, {len(valid)} valid"
        + "".join(f", {len(v)} {k}" for k, v in tests.items())
        + f"; elements {atomic_numbers}; E0s {e0_map} (mean interaction energy {mean:.3f} eV/atom)"
    )
    split = DataSplit(atomic_numbers, e0_map, train, valid, tests)
    split.graphs = {name: [to_graph(c, atomic_numbers, r_max) for c in cs] for name, cs in split.sets().items()}
    return split


def run_logger(path: Path):
    """A ``log(line)`` that prints ``line`` and appends it to ``path``; silent on processes other than rank 0."""
    if not distributed.is_main():
        return _silent
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        print(line, flush=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    return log


def train_potential(
    data: DataSplit,
    model_options: dict,
    settings: TrainingSettings,
    run_dir: str | os.PathLike,
    device: str = "cpu",
    dtype: torch.dtype = torch.float64,
    resume: bool = False,
    command: str = "",
    progress: bool = True,
    log=None,
) -> dict:
    """Build a :class:`~torch_gaunt.models.GauntMACE` from ``model_options`` (fields of
    :class:`~torch_gaunt.models.ModelConfig`) and the training statistics, train it and write into ``run_dir``:
    ``model.pt``, ``checkpoint.pt``, ``metrics.jsonl``, ``log.txt``, ``errors.json``, ``report.md``, ``loss.png``
    and one ``parity_<set>.png`` per set. Returns the error tables per set. In a process group (``torchrun``)
    only rank 0 logs and writes; the other ranks return ``{}``."""
    run_dir = Path(run_dir)
    main = distributed.is_main()
    log = (log or run_logger(run_dir / "log.txt")) if main else _silent
    train_graphs = data.graphs["train"]
    avg = average_num_neighbors([g.edge_index.shape[1] for g in train_graphs], [len(c) for c in data.train])
    scale, shift = scale_shift(data.train, data.e0s)
    config = ModelConfig(
        atomic_numbers=data.atomic_numbers,
        e0s=[data.e0s[z] for z in data.atomic_numbers],
        avg_num_neighbors=avg,
        scale=scale,
        shift=shift,
        **model_options,
    )
    torch.manual_seed(settings.seed)
    model = GauntMACE(config).to(device=device, dtype=dtype)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"torch-gaunt {__version__}, torch {torch.__version__}, {platform.processor() or platform.machine()}, {device}")
    log(f"model: {n_params:,} parameters; avg_num_neighbors {avg:.3f}, scale {scale:.4f} eV/Å, shift {shift:.4f} eV")
    if command:
        log(f"command: {command}")

    valid_graphs = data.graphs["valid"]

    def validate(predictions: Predictions) -> dict:
        return errors(valid_graphs, predictions)["all"]

    result = train(model, train_graphs, valid_graphs, settings, run_dir, resume, log, validate, progress)
    log(f"best epoch {result['best_epoch']}; training took {result['elapsed']:.0f} s")
    if not main:
        return {}
    save_model(run_dir / "model.pt", model, extra={"command": command, "best_epoch": result["best_epoch"]})
    tables = {}
    for name, configs in data.sets().items():
        graphs = data.graphs[name]
        preds = predict(model, graphs, settings.valid_batch_size)
        tables[name] = errors(graphs, preds, [c.config_type for c in configs])
        write_parity(graphs, preds, [c.config_type for c in configs], run_dir / f"parity_{name}.png", name)
    plot_loss_curve(result["history"], run_dir / "loss.png")
    atomic_write_text(run_dir / "errors.json", json.dumps(tables, indent=1))
    report = [f"# Gaunt-MACE training run `{run_dir.name}`", ""]
    if command:
        report += ["```", command, "```", ""]
    report += [
        f"torch-gaunt {__version__}, torch {torch.__version__}, {platform.platform()}, {os.cpu_count()} CPUs, "
        f"device {device}, {str(dtype).replace('torch.', '')}; {n_params:,} parameters; "
        f"{len(result['history'])} epochs in {result['elapsed']:.0f} s, best epoch {result['best_epoch']}.",
        "",
    ]
    for name, table in tables.items():
        report += [f"## {name}", "", format_errors(table), ""]
        log(f"\n{name}:\n{format_errors(table)}")
    atomic_write_text(run_dir / "report.md", "\n".join(report))
    log(f"wrote {run_dir / 'model.pt'}, report.md, loss.png, parity_*.png")
    return tables


def _silent(line: str) -> None:
    """The log of processes other than rank 0."""


def write_parity(graphs, preds: Predictions, types: list[str], path: Path, title: str) -> None:
    labelled = [k for k, g in enumerate(graphs) if g.energy_weight.item() > 0]
    if not labelled:
        return
    n = np.array([graphs[k].positions.shape[0] for k in labelled])
    e_ref = np.array([graphs[k].energy.item() for k in labelled]) / n
    e_pred = preds.energy[labelled] / n
    with_forces = [k for k in labelled if graphs[k].forces_weight.item() > 0]
    f_ref = np.concatenate([graphs[k].forces.numpy() for k in with_forces]) if with_forces else np.zeros((0, 3))
    f_pred = np.concatenate([preds.forces[k] for k in with_forces]) if with_forces else np.zeros((0, 3))
    plot_parity(e_ref, e_pred, f_ref, f_pred, [types[k] for k in labelled], path, title)


def evaluate_potential(
    model_file: str | os.PathLike,
    configs_file: str | os.PathLike,
    output_file: str | os.PathLike,
    keys: Keys = DEFAULT_KEYS,
    batch_size: int = 16,
    device: str = "cpu",
    dtype: torch.dtype | None = None,
    prefix: str = "gaunt_",
    plot: str | os.PathLike | None = None,
    compute_stress: bool | None = None,
) -> dict | None:
    """Predict every structure of ``configs_file`` with the model in ``model_file`` and write them to
    ``output_file`` (extxyz) with ``<prefix>energy``, ``<prefix>forces``, ``<prefix>stress`` (Voigt, periodic cells)
    and ``<prefix>node_energy``. When the file has references, returns the error table (and plots it to ``plot``)."""
    model = load_model(model_file, device=device, dtype=dtype)
    r_max = model.config.r_max
    frames = read_frames(configs_file)
    configs = configurations_from_frames(frames, keys, str(configs_file))
    graphs = [to_graph(c, model.config.atomic_numbers, r_max) for c in configs]
    preds = predict(model, graphs, batch_size, compute_stress=compute_stress, progress=True)
    for k, atoms in enumerate(frames):
        atoms.calc = None
        atoms.info[f"{prefix}energy"] = float(preds.energy[k])
        atoms.arrays[f"{prefix}forces"] = preds.forces[k]
        atoms.arrays[f"{prefix}node_energy"] = preds.node_energy[k]
        if preds.stress is not None and atoms.pbc.any():
            s = preds.stress[k]
            atoms.info[f"{prefix}stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
    # keep the references next to the predictions, under their own keys
    for atoms, c in zip(frames, configs):
        if c.energy is not None:
            atoms.info.setdefault(keys.energy, c.energy)
        if c.forces is not None:
            atoms.arrays.setdefault(keys.forces, c.forces)
    atomic_write(output_file, lambda tmp: ase.io.write(tmp, frames, format="extxyz"))
    if not any(g.energy_weight.item() > 0 for g in graphs):
        return None
    types = [c.config_type for c in configs]
    table = errors(graphs, preds, types)
    if plot is not None:
        write_parity(graphs, preds, types, Path(plot), Path(configs_file).name)
    return table
