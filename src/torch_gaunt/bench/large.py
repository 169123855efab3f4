"""Gaunt-MACE against mace-torch on large structures: time and peak memory of energy + forces per structure size,
for periodic fcc Cu and for non-periodic clusters of acetylacetone molecules.

Every (model, structure, dtype) runs in a fresh process (``large_worker.py``: ours with our Python, MACE with the
Python of its environment), ours first, then MACE, size after size, so that both see the machine in the same state
and each peak belongs to one structure. A process that dies (for example killed for lack of memory) is reported
as such. Our convolutions run over chunks of ``edge_chunk_size`` edges and our product basis over chunks of
``edge_chunk_size // 16`` atoms, with activation checkpointing (:meth:`~torch_gaunt.models.GauntMACE.set_chunk_sizes`),
which bounds their memory; MACE has no such option.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .mace_process import dtype_name
from .report import markdown_table, write_report
from .timing import machine_info, progress

__all__ = ["run", "SIZES"]

SIZES = {"periodic": (32, 256, 864, 2048, 4000, 10976), "molecules": (15, 120, 960, 3240, 10935)}
WORKER = Path(__file__).with_name("large_worker.py")


def _measure(python, which, kind, atoms, dtype, channels, max_L, r_max, chunk, device, tuned) -> dict:
    env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    if tuned:  # the same glibc settings as torch_gaunt.utils.tune_cpu_allocator, for both
        env.update(MALLOC_MMAP_THRESHOLD_=str(1 << 30), MALLOC_TRIM_THRESHOLD_=str((1 << 31) - 1))
    args = [python, str(WORKER), which, kind, atoms, dtype_name(dtype), channels, max_L, r_max, chunk, device]
    result = subprocess.run(list(map(str, args)), capture_output=True, text=True, env=env)
    for line in result.stdout.splitlines():
        if line.startswith("@ "):
            return json.loads(line[2:])
    reason = "killed (out of memory?)" if result.returncode in (-9, 137) else f"exit {result.returncode}"
    return {"error": reason, "detail": result.stderr[-500:]}


def run(
    sizes: dict | None = None,
    dtypes=("float64", "float32"),
    device: str = "cpu",
    out_dir=None,
    command: str = "",
    mace_python: str | None = None,
    channels: int = 64,
    max_L: int = 1,
    r_max: float = 5.0,
    edge_chunk_size: int = 16384,
    allocator_tuned: bool = False,
) -> dict:
    """Measure every size of :data:`SIZES` (or ``sizes``) in both dtypes; print the table, write the report and a
    plot of time and memory per atom against size."""
    import torch

    sizes = sizes or SIZES
    rows = []
    for dtype in dtypes:
        dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        for kind, counts in sizes.items():
            for n in progress(counts, f"large {kind} {dtype_name(dtype)}"):
                row = {"kind": kind, "dtype": dtype_name(dtype), "requested": n}
                spec = (kind, n, dtype, channels, max_L, r_max)
                row["ours"] = _measure(sys.executable, "ours", *spec, edge_chunk_size, device, allocator_tuned)
                if mace_python:
                    row["mace"] = _measure(mace_python, "mace", *spec, 0, device, allocator_tuned)
                rows.append(row)
    table = _table(rows)
    print(table)
    if out_dir:
        machine = machine_info(device) + f", allocator tuned: {allocator_tuned} (for both)"
        notes = __doc__.split("\n\n", 1)[1] + (
            f"\n\nModels: {channels} channels, max_L {max_L}, correlation 3, r_max {r_max} Å, edge harmonics to "
            f"l = 3; our chunks: {edge_chunk_size} edges, {edge_chunk_size // 16} atoms. Time: median of calls 2-4 in the process; memory: "
            "growth of the resident set over its size just before the first call, after the heap's free memory is "
            "handed back to the system (CPU; see large_worker.py), or CUDA's peak allocation."
        )
        data = {"rows": rows, "channels": channels, "max_L": max_L, "r_max": r_max, "edge_chunk_size": edge_chunk_size}
        title = "Gaunt-MACE vs MACE on large structures: energy + forces"
        write_report(out_dir, "large", title, command, machine, [("Time and peak memory", table)], data,
                     lambda path: _plot(rows).savefig(path, format="png", dpi=120), notes)  # fmt: skip
    return {"rows": rows}


def _cell(measure: dict | None, key: str, fmt: str) -> str:
    if measure is None:
        return "-"
    if "error" in measure:
        return measure["error"]
    return format(measure[key], fmt)


def _ratio(row: dict, key: str) -> str:
    ours, mace = row.get("ours", {}), row.get("mace")
    if mace is None or "error" in ours or "error" in mace:
        return "-"
    return f"{mace[key] / ours[key]:.2g}x"


def _table(rows: list[dict]) -> str:
    header = ["structure", "dtype", "atoms", "edges", "ours (s)", "MACE (s)", "MACE / ours", "ours (MB)",
              "MACE (MB)", "MACE / ours (memory)"]  # fmt: skip
    body = []
    for r in rows:
        ours = r["ours"]
        body.append([
            r["kind"], r["dtype"], str(ours.get("atoms", r["requested"])), str(ours.get("edges", "?")),
            _cell(ours, "seconds", ".3g"), _cell(r.get("mace"), "seconds", ".3g"), _ratio(r, "seconds"),
            _cell(ours, "peak_mb", ".0f"), _cell(r.get("mace"), "peak_mb", ".0f"), _ratio(r, "peak_mb"),
        ])  # fmt: skip
    return markdown_table(header, body)


def _plot(rows: list[dict]):
    """A figure: time per atom and peak memory against atoms, per structure kind and dtype, ours and MACE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    styles = {"periodic": "-", "molecules": "--"}
    for (which, color), (kind, dtype) in [
        (w, k) for w in (("ours", "C0"), ("mace", "C3")) for k in {(r["kind"], r["dtype"]) for r in rows}
    ]:
        points = [r[which] for r in rows if r["kind"] == kind and r["dtype"] == dtype and "atoms" in r.get(which, {})]
        if not points:
            continue
        atoms = [p["atoms"] for p in points]
        marker = "o" if dtype == "float64" else "s"
        label = f"{'Gaunt-MACE' if which == 'ours' else 'MACE'} {kind} {dtype}"
        axes[0].loglog(atoms, [p["seconds"] / p["atoms"] * 1e3 for p in points], styles[kind], marker=marker,
                       color=color, label=label, alpha=0.85)  # fmt: skip
        axes[1].loglog(atoms, [max(p["peak_mb"], 1e-1) for p in points], styles[kind], marker=marker, color=color,
                       alpha=0.85)  # fmt: skip
    axes[0].set(xlabel="atoms", ylabel="ms per atom (energy + forces)", title="time per atom")
    axes[1].set(xlabel="atoms", ylabel="peak memory (MB)", title="peak memory")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
