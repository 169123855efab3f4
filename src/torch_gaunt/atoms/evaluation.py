"""Predictions of a potential on a list of graphs, and their errors against the references (overall and per
``config_type``), in meV units: energy per atom (meV/atom), forces (meV/Å), stress (meV/Å^3)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from .._progress import progress_bar
from ..models import AtomicGraph, GauntMACE, batch_graphs

__all__ = ["Predictions", "predict", "errors", "format_errors", "iterate_batches", "shuffled_chunks"]


def shuffled_chunks(n: int, batch_size: int, generator: torch.Generator | None = None) -> list[list[int]]:
    """``range(n)`` in chunks of ``batch_size`` (the last may be smaller), shuffled first if ``generator`` is
    given."""
    order = torch.randperm(n, generator=generator).tolist() if generator is not None else list(range(n))
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]


def iterate_batches(
    graphs: list[AtomicGraph], batch_size: int, generator: torch.Generator | None = None
) -> Iterator[tuple[list[int], AtomicGraph]]:
    """Batches of ``batch_size`` graphs (the last may be smaller), shuffled if ``generator`` is given; yields the
    indices of the graphs in each batch and the batch."""
    for chunk in shuffled_chunks(len(graphs), batch_size, generator):
        yield chunk, batch_graphs([graphs[k] for k in chunk])


@dataclass
class Predictions:
    """``energy [B]`` eV, ``forces``: one ``[n_b, 3]`` array per structure, ``stress [B, 3, 3]`` (None unless
    computed), ``node_energy``: one ``[n_b]`` array per structure, ``loss``: the mean of ``predict``'s ``loss`` over
    the structures (None unless asked)."""

    energy: np.ndarray
    forces: list[np.ndarray]
    stress: np.ndarray | None
    node_energy: list[np.ndarray]
    loss: float | None = None


def predict(
    model: GauntMACE,
    graphs: list[AtomicGraph],
    batch_size: int = 16,
    compute_stress: bool | None = None,
    progress: bool = False,
    loss: Callable[[dict, AtomicGraph], torch.Tensor] | None = None,
) -> Predictions:
    """Energies, forces and (for periodic structures, or when asked) stresses of ``graphs`` with ``model``, on the
    model's device and dtype; with ``loss(out, batch)``, also its mean over the structures (weighted by batch size)."""
    param = next(model.parameters())
    if compute_stress is None:
        compute_stress = any(bool(g.pbc.any()) for g in graphs)
    energy, forces, stress, node_energy, total = [], [], [], [], 0.0
    batches = iterate_batches(graphs, batch_size)
    if progress:
        batches = progress_bar(batches, total=-(-len(graphs) // batch_size), desc="predict", leave=False)
    for chunk, batch in batches:
        batch = batch.to(param.device, param.dtype)
        out = model(batch, compute_forces=True, compute_stress=compute_stress)
        if loss is not None:
            total += float(loss(out, batch).detach()) * len(chunk)
        counts = batch.num_atoms.tolist()
        energy.append(out["energy"].detach().cpu().double().numpy())
        forces.extend(np.split(out["forces"].detach().cpu().double().numpy(), np.cumsum(counts)[:-1]))
        node_energy.extend(np.split(out["node_energy"].detach().cpu().double().numpy(), np.cumsum(counts)[:-1]))
        if compute_stress:
            stress.append(out["stress"].detach().cpu().double().numpy())
    return Predictions(
        energy=np.concatenate(energy),
        forces=forces,
        stress=np.concatenate(stress) if compute_stress else None,
        node_energy=node_energy,
        loss=total / max(len(graphs), 1) if loss is not None else None,
    )


def _rmse_mae(diff: list[np.ndarray]) -> tuple[float, float]:
    if not diff:
        return float("nan"), float("nan")
    d = np.concatenate([np.ravel(x) for x in diff])
    return float(np.sqrt(np.mean(d**2))), float(np.mean(np.abs(d)))


def errors(graphs: list[AtomicGraph], predictions: Predictions, config_types: list[str] | None = None) -> dict:
    """RMSE and MAE of energy per atom (meV/atom), forces (meV/Å) and stress (meV/Å^3) over the structures that have
    each reference: ``{"all": {...}, <config_type>: {...}}``; each entry has ``count`` and ``energy_rmse``,
    ``energy_mae``, ``forces_rmse``, ``forces_mae``, ``stress_rmse``, ``stress_mae`` (NaN when absent)."""
    types = config_types if config_types is not None else ["Default"] * len(graphs)
    groups: dict[str, list[int]] = {"all": list(range(len(graphs)))}
    for k, t in enumerate(types):
        groups.setdefault(t, []).append(k)
    table = {}
    for name, members in groups.items():
        e, f, s = [], [], []
        for k in members:
            g = graphs[k]
            if g.energy_weight.item() > 0:
                e.append(1000 * (predictions.energy[k] - g.energy.item()) / g.positions.shape[0])
            if g.forces_weight.item() > 0:
                f.append(1000 * (predictions.forces[k] - g.forces.numpy()))
            if g.stress_weight.item() > 0 and predictions.stress is not None:
                s.append(1000 * (predictions.stress[k] - g.stress[0].numpy()))
        row = {"count": len(members)}
        for label, diff in (("energy", [np.array([x]) for x in e]), ("forces", f), ("stress", s)):
            row[f"{label}_rmse"], row[f"{label}_mae"] = _rmse_mae(diff)
        table[name] = row
    return table


def format_errors(table: dict) -> str:
    """A Markdown table of :func:`errors`: one row per group, columns in meV units."""
    has_stress = any(np.isfinite(row["stress_rmse"]) for row in table.values())
    head = "| config_type | count | E RMSE (meV/atom) | E MAE | F RMSE (meV/Å) | F MAE |"
    sep = "|---|---|---|---|---|---|"
    if has_stress:
        head += " S RMSE (meV/Å³) | S MAE |"
        sep += "---|---|"
    lines = [head, sep]
    for name, row in table.items():
        cells = [name, str(row["count"])]
        keys = ["energy_rmse", "energy_mae", "forces_rmse", "forces_mae"]
        keys += ["stress_rmse", "stress_mae"] if has_stress else []
        cells += ["-" if not np.isfinite(row[k]) else f"{row[k]:.2f}" for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
