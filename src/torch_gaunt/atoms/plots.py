"""Pictures of a run: the loss curve and energy/force parity plots of training, energies and temperature of MD
(PNG, written atomically)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._io import atomic_write

__all__ = ["plot_loss_curve", "plot_parity", "plot_md"]


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    out = atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
    _figure().close(fig)
    return out


def plot_loss_curve(history: list[dict], path: str | os.PathLike) -> Path:
    """Training and validation loss (log scale) and validation RMSEs per epoch."""
    plt = _figure()
    epochs = [r["epoch"] for r in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].semilogy(epochs, [r["train_loss"] for r in history], label="train")
    axes[0].semilogy(epochs, [r["valid_loss"] for r in history], label="valid (EMA)")
    axes[0].set(xlabel="epoch", ylabel="loss", title="loss")
    axes[0].legend()
    for key, label in (("energy_rmse", "E RMSE (meV/atom)"), ("forces_rmse", "F RMSE (meV/Å)")):
        if key in history[0]:
            axes[1].semilogy(epochs, [r[key] for r in history], label=label)
    axes[1].set(xlabel="epoch", title="validation errors")
    axes[1].legend()
    fig.tight_layout()
    return _save(fig, path)


def plot_parity(
    energy_ref: np.ndarray,
    energy_pred: np.ndarray,
    forces_ref: np.ndarray,
    forces_pred: np.ndarray,
    config_types: list[str],
    path: str | os.PathLike,
    title: str = "",
) -> Path:
    """Predicted against reference: energies per atom ``[B]`` (eV/atom, one colour per ``config_types [B]``) and
    force components ``[M, 3]`` (eV/Å)."""
    plt = _figure()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    types = sorted(set(config_types))
    kinds = np.asarray(config_types)
    for t in types:
        mask = kinds == t
        axes[0].scatter(energy_ref[mask], energy_pred[mask], s=6, label=t)
    _diagonal(axes[0], energy_ref, energy_pred)
    e_rmse = 1000 * float(np.sqrt(np.mean((energy_pred - energy_ref) ** 2))) if energy_ref.size else float("nan")
    axes[0].set(xlabel="reference E (eV/atom)", ylabel="predicted E (eV/atom)")
    axes[0].set_title(f"energy per atom, RMSE {e_rmse:.2f} meV/atom")
    if len(types) > 1:
        axes[0].legend(fontsize=7)
    if forces_ref.size:
        axes[1].scatter(forces_ref.ravel(), forces_pred.ravel(), s=2, alpha=0.5)
        _diagonal(axes[1], forces_ref, forces_pred)
    f_rmse = 1000 * float(np.sqrt(np.mean((forces_pred - forces_ref) ** 2))) if forces_ref.size else float("nan")
    axes[1].set(xlabel="reference F (eV/Å)", ylabel="predicted F (eV/Å)")
    axes[1].set_title(f"force components, RMSE {f_rmse:.1f} meV/Å")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def _diagonal(ax, a: np.ndarray, b: np.ndarray) -> None:
    if a.size == 0:
        return
    lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)


def plot_md(rows: list[dict], path: str | os.PathLike) -> Path:
    """Total and potential energy (relative to the start) and temperature against time, from an MD log's rows
    (dicts with ``time_ps``, ``total_energy``, ``potential_energy``, ``temperature_K``), as a PNG at ``path``."""
    plt = _figure()
    t = [r["time_ps"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    for key, label in (("total_energy", "total"), ("potential_energy", "potential")):
        values = np.array([r[key] for r in rows])
        top.plot(t, values - values[0], label=label)
    top.set_ylabel("E - E(0) (eV)")
    top.legend()
    bottom.plot(t, [r["temperature_K"] for r in rows], color="C3")
    bottom.set_ylabel("temperature (K)")
    bottom.set_xlabel("time (ps)")
    return _save(fig, path)
