"""The training loop of a potential: weighted energy/force/stress loss, Adam (AMSGrad), plateau learning-rate
schedule, exponential moving average of the weights (EMA), gradient clipping, a second stage with a higher energy
weight (MACE's ``--swa``), early stopping, and atomic checkpoints that resume exactly.

Exact resume: the order of the batches of epoch ``t`` depends only on ``(seed, t)``, and a checkpoint written at
the end of every epoch holds the model, EMA, optimizer, scheduler, best model, history and elapsed time. A run
killed at any point and resumed with ``resume=True`` ends with the same parameters as an uninterrupted run (on CPU).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .._checks import check_int
from .._io import atomic_write, atomic_write_text
from .._progress import progress_bar
from ..models import AtomicGraph, GauntMACE, batch_graphs
from . import distributed
from .evaluation import Predictions, predict, shuffled_chunks

__all__ = ["TrainingSettings", "ExponentialMovingAverage", "weighted_loss", "parameter_groups", "train"]


@dataclass
class TrainingSettings:
    """Optimisation settings, with MACE's names and defaults where MACE has them.

    With ``swa`` a second stage trains with ``swa_lr`` and the ``swa_*_weight`` loss weights from epoch
    ``start_swa``; by default from ``3/4`` of ``max_num_epochs`` or, with ``max_time``, from the first epoch that
    starts past ``3/4`` of it, whichever comes first. ``max_time`` (seconds, or None) stops after the first epoch
    that ends past it. ``patience`` epochs without a better validation loss
    stop the run (early stopping).
    """

    energy_weight: float = 1.0
    forces_weight: float = 100.0
    stress_weight: float = 1.0
    batch_size: int = 5
    valid_batch_size: int = 10
    max_num_epochs: int = 100
    lr: float = 0.01
    weight_decay: float = 5e-7
    weight_decay_groups: str = "mace"
    amsgrad: bool = True
    ema: bool = True
    ema_decay: float = 0.99
    swa: bool = False
    start_swa: int | None = None
    swa_lr: float = 1e-3
    swa_energy_weight: float = 1000.0
    swa_forces_weight: float = 100.0
    swa_stress_weight: float = 10.0
    scheduler_patience: int = 50
    lr_factor: float = 0.8
    patience: int = 2048
    clip_grad: float | None = 10.0
    seed: int = 123
    max_time: float | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "valid_batch_size", "max_num_epochs", "patience", "scheduler_patience"):
            check_int(name, getattr(self, name))
        if not self.lr > 0:
            raise ValueError(f"lr: expected a positive learning rate, got {self.lr!r}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay: expected a number in [0, 1), got {self.ema_decay!r}")
        if self.weight_decay_groups not in ("mace", "all"):
            raise ValueError(f"weight_decay_groups: expected 'mace' or 'all', got {self.weight_decay_groups!r}")

    def second_stage_due(self, epoch: int, elapsed: float) -> bool:
        """Whether epoch ``epoch`` (0-based), starting ``elapsed`` seconds into the run, belongs to the second stage."""
        if not self.swa:
            return False
        if self.start_swa is not None:
            return epoch >= self.start_swa
        by_time = self.max_time is not None and elapsed >= 0.75 * self.max_time
        return by_time or epoch >= max(1, self.max_num_epochs // 4 * 3)

    def loss_weights(self, second_stage: bool) -> tuple[float, float, float]:
        """``(energy, forces, stress)`` loss weights of the first or second stage."""
        if second_stage:
            return self.swa_energy_weight, self.swa_forces_weight, self.swa_stress_weight
        return self.energy_weight, self.forces_weight, self.stress_weight


class ExponentialMovingAverage:
    """``shadow <- d · shadow + (1 - d) · param`` after every step, with ``d = min(decay, (1 + n) / (10 + n))``
    after ``n`` updates (as ``torch_ema``, which MACE uses). :meth:`swapped` puts the averages into the model."""

    def __init__(self, parameters: list[torch.nn.Parameter], decay: float):
        self.parameters, self.decay, self.num_updates = list(parameters), decay, 0
        self.shadow = [p.detach().clone() for p in self.parameters]

    @torch.no_grad()
    def update(self) -> None:
        self.num_updates += 1
        d = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        for s, p in zip(self.shadow, self.parameters):
            s.lerp_(p.detach(), 1 - d)

    @torch.no_grad()
    def swap(self) -> None:
        """Exchange the model's parameters with the averages (call twice to undo)."""
        for s, p in zip(self.shadow, self.parameters):
            tmp = p.detach().clone()
            p.copy_(s)
            s.copy_(tmp)

    def state_dict(self) -> dict:
        return {"shadow": [s.clone() for s in self.shadow], "num_updates": self.num_updates}

    @torch.no_grad()
    def load_state_dict(self, state: dict) -> None:
        for s, v in zip(self.shadow, state["shadow"]):
            s.copy_(v)
        self.num_updates = state["num_updates"]


def weighted_loss(
    out: dict, batch: AtomicGraph, weights: tuple[float, float, float], totals: tuple[int, int] | None = None
) -> torch.Tensor:
    """MACE's weighted loss: ``w_E · mean_b(w_b ((E_b - E_b^ref) / N_b)²) + w_F · mean_{i,α}(w_b(i) (F - F^ref)²)
    + w_S · mean_b(w_b (σ - σ^ref)²)``; labels a structure lacks have zero weight.

    ``totals = (structures, atoms)`` replaces the batch's own counts in the means: a shard of a larger batch then
    contributes its part of that batch's loss (data-parallel training sums the parts)."""
    w_e, w_f, w_s = weights
    dtype = out["energy"].dtype
    num_graphs, num_atoms = totals if totals is not None else (batch.num_graphs, batch.positions.shape[0])
    n = batch.num_atoms.to(dtype)
    per_graph = batch.weight.to(dtype)
    e_err = (out["energy"] - torch.nan_to_num(batch.energy.to(dtype))) / n
    loss = w_e * torch.sum(per_graph * batch.energy_weight.to(dtype) * e_err**2) / num_graphs
    if "forces" in out:
        per_atom = (per_graph * batch.forces_weight.to(dtype))[batch.batch]
        f_err = out["forces"] - torch.nan_to_num(batch.forces.to(dtype))
        loss = loss + w_f * torch.sum(per_atom[:, None] * f_err**2) / (3 * num_atoms)
    if "stress" in out:
        s_err = out["stress"] - torch.nan_to_num(batch.stress.to(dtype))
        s_weight = (per_graph * batch.stress_weight.to(dtype))[:, None, None]
        loss = loss + w_s * torch.sum(s_weight * s_err**2) / (9 * num_graphs)
    return loss


def parameter_groups(model: torch.nn.Module, settings: TrainingSettings) -> list[dict]:
    """The optimiser's parameter groups: with ``weight_decay_groups="mace"`` and a model that names the parameters
    to decay (``weight_decay_parameters()``), those with ``settings.weight_decay`` and the rest without; else one
    group, all decayed."""
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    chooses = settings.weight_decay_groups == "mace" and hasattr(model, "weight_decay_parameters")
    decayed = set(model.weight_decay_parameters()) if chooses else {name for name, _ in named}
    groups = [
        {"name": "decay", "params": [p for n, p in named if n in decayed], "weight_decay": settings.weight_decay},
        {"name": "no_decay", "params": [p for n, p in named if n not in decayed], "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def _needs_stress(graphs: list[AtomicGraph]) -> bool:
    return any(g.stress_weight.item() > 0 for g in graphs)


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state()}


def train(
    model: GauntMACE,
    train_graphs: list[AtomicGraph],
    valid_graphs: list[AtomicGraph],
    settings: TrainingSettings,
    run_dir: str | os.PathLike,
    resume: bool = False,
    log: Callable[[str], None] = print,
    validate: Callable[[Predictions], dict] | None = None,
    progress: bool = True,
) -> dict:
    """Train ``model`` in place; checkpoints and ``metrics.jsonl`` go to ``run_dir``.

    Each epoch: shuffled batches (order from ``(seed, epoch)``), loss, backward, clipping, Adam step, EMA update;
    then the validation loss with the EMA weights, the plateau schedule (first stage only), early stopping, the
    checkpoint (atomically) and one log line. ``validate(predictions)`` (optional) turns the EMA model's predictions
    on the validation set into extra per-epoch metrics such as RMSEs. At the end the model holds the EMA weights of the epoch with the lowest
    validation loss. Returns ``{"history": [...], "best_epoch": int, "elapsed": seconds}``.
    """
    if not train_graphs:
        raise ValueError("train: the training set is empty")
    if not valid_graphs:
        raise ValueError("train: the validation set is empty")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = run_dir / "checkpoint.pt"
    param = next(model.parameters())
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameter_groups(model, settings), lr=settings.lr, amsgrad=settings.amsgrad)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=settings.lr_factor, patience=settings.scheduler_patience
    )
    ema = ExponentialMovingAverage(params, settings.ema_decay) if settings.ema else None
    state = {"epoch": -1, "history": [], "best_loss": math.inf, "best_epoch": -1, "best_state": None, "elapsed": 0.0}
    state.update(bad_epochs=0, second_stage_from=None)
    if resume:
        if not checkpoint_path.is_file():
            raise FileNotFoundError(f"resume: no checkpoint at {checkpoint_path}")
        saved = torch.load(checkpoint_path, map_location=param.device, weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        if ema is not None:
            ema.load_state_dict(saved["ema"])
        torch.set_rng_state(saved["rng"]["torch"])
        state = saved["state"]
        log(f"resumed from {checkpoint_path} after epoch {state['epoch'] + 1}")
    stress, valid_stress = _needs_stress(train_graphs), _needs_stress(valid_graphs)
    atoms_per_graph = [g.positions.shape[0] for g in train_graphs]
    shard, shards = distributed.rank(), distributed.world_size()
    start = time.perf_counter() - state["elapsed"]
    for epoch in range(state["epoch"] + 1, settings.max_num_epochs):
        second_stage = state.get("second_stage_from") is not None
        if not second_stage and settings.second_stage_due(epoch, state["elapsed"]):
            state["second_stage_from"], second_stage = epoch, True
            for group in optimizer.param_groups:
                group["lr"] = settings.swa_lr
            state["best_loss"], state["bad_epochs"] = math.inf, 0  # the loss changes meaning in the second stage
            weights = settings.loss_weights(True)
            log(f"epoch {epoch}: second stage, lr {settings.swa_lr:g}, loss weights E {weights[0]:g} F {weights[1]:g}")
        weights = settings.loss_weights(second_stage)
        model.train()
        generator = torch.Generator().manual_seed(settings.seed * 100_003 + epoch)
        chunks = shuffled_chunks(len(train_graphs), settings.batch_size, generator)
        if progress and distributed.is_main():
            chunks = progress_bar(
                chunks, total=-(-len(train_graphs) // settings.batch_size), desc=f"epoch {epoch}", leave=False
            )
        train_loss, seen = 0.0, 0
        for chunk in chunks:
            optimizer.zero_grad(set_to_none=True)
            local = chunk[shard::shards]
            loss = 0.0
            if local:
                batch = batch_graphs([train_graphs[k] for k in local]).to(param.device, param.dtype)
                totals = (len(chunk), sum(atoms_per_graph[k] for k in chunk)) if shards > 1 else None
                out = model(batch, compute_forces=True, compute_stress=stress and weights[2] > 0, training=True)
                local_loss = weighted_loss(out, batch, weights, totals)
                local_loss.backward()
                loss = float(local_loss.detach())
            distributed.all_reduce_gradients(params)
            loss = distributed.all_reduce_sum(loss)
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"epoch {epoch}: the loss is {loss}; check the E0s (see the warning above, or use "
                    "--E0s=average), lower --lr, or look for broken labels"
                )
            if settings.clip_grad:
                torch.nn.utils.clip_grad_norm_(params, settings.clip_grad)
            optimizer.step()
            if ema is not None:
                ema.update()
            train_loss += loss * len(chunk)
            seen += len(chunk)
        model.eval()
        if ema is not None:
            ema.swap()
        predictions = predict(
            model, valid_graphs, settings.valid_batch_size, compute_stress=valid_stress and weights[2] > 0,
            loss=lambda out, batch, w=weights: weighted_loss(out, batch, w),
        )  # fmt: skip
        valid_loss = predictions.loss
        extra = validate(predictions) if validate is not None else {}
        improved = valid_loss < state["best_loss"]
        if improved:
            state["best_loss"], state["best_epoch"], state["bad_epochs"] = valid_loss, epoch, 0
            state["best_state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            state["bad_epochs"] += 1
        if ema is not None:
            ema.swap()
        if not second_stage:
            scheduler.step(valid_loss)
        elapsed = distributed.agree_max(time.perf_counter() - start)  # every process takes the same time decisions
        record = {
            "epoch": epoch,
            "train_loss": train_loss / seen,
            "valid_loss": valid_loss,
            "lr": optimizer.param_groups[0]["lr"],
            "time": elapsed,
            **extra,
        }
        state["history"].append(record)
        state["epoch"], state["elapsed"] = epoch, elapsed
        checkpoint = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "ema": ema.state_dict() if ema is not None else None,
            "rng": _rng_state(),
            "state": state,
            "settings": asdict(settings),
        }
        if distributed.is_main():
            atomic_write(checkpoint_path, lambda tmp, c=checkpoint: torch.save(c, tmp))
            atomic_write_text(run_dir / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in state["history"]))
            log(_epoch_line(record, improved))
        if state["bad_epochs"] >= settings.patience:
            log(f"early stopping: no better validation loss for {settings.patience} epochs")
            break
        if settings.max_time is not None and elapsed >= settings.max_time:
            log(f"time limit: stopping after {elapsed:.0f} s (max_time {settings.max_time:g} s)")
            break
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    model.eval()
    return {"history": state["history"], "best_epoch": state["best_epoch"], "elapsed": state["elapsed"]}


def _epoch_line(record: dict, improved: bool) -> str:
    line = f"epoch {record['epoch']:4d}  loss {record['train_loss']:.4g}  valid {record['valid_loss']:.4g}"
    if "energy_rmse" in record:
        line += f"  E RMSE {record['energy_rmse']:.2f} meV/atom  MAE {record['energy_mae']:.2f}"
    if "forces_rmse" in record:
        line += f"  F RMSE {record['forces_rmse']:.1f} meV/Å  MAE {record['forces_mae']:.1f}"
    if "stress_rmse" in record and math.isfinite(record["stress_rmse"]):
        line += f"  S RMSE {record['stress_rmse']:.2f} meV/Å³"
    line += f"  lr {record['lr']:.2g}  {record['time']:.0f} s" + ("  *" if improved else "")
    return line
