"""Gaunt-MACE against mace-torch at identical sizes: time per training step and per inference of one batch.

Both models see the same batch of structures (default: the first 5 AcAc structures of the demo data, MACE's
paper batch size). A training step is forces with ``create_graph``, the weighted energy + force loss, backward and
an AMSGrad step; an inference is energy and forces. MACE runs in worker processes of its own environment
(mace-torch pins e3nn 0.4.4), timed with the same code, round by round, interleaved with ours; MACE's speed varies
from one process to the next, so two workers run and the faster counts (which can only flatter MACE). MACE with
cuEquivariance (``mace_backends=("e3nn", "cueq")``) is the same model converted by MACE's ``run_e3nn_to_cueq``,
in one worker of its own.
"""

from __future__ import annotations

import sys

import torch

from ..atoms import read_configurations, to_graph, weighted_loss
from ..models import GauntMACE, ModelConfig, batch_graphs
from .mace_process import MaceWorker, dtype_name
from .report import markdown_table, noise_summary, ratio_cell, time_cell, write_report
from .timing import compare, machine_info, progress, ratio
from .variants import VARIANTS

__all__ = ["run", "SIZES", "VARIANTS", "MACE_BACKENDS"]

SIZES = ((64, 1), (128, 2))
# MACE's speed varies from one process to the next: two e3nn workers, the faster counts. Converting a model to
# cuEquivariance takes 25-70 s on a CPU core, so that back-end gets one.
MACE_PROCESSES = {"e3nn": 2, "cueq": 1}
MACE_BACKENDS = {"e3nn": "mace", "cueq": "mace_cueq"}  # mace-torch's back-ends and their names in the results
MACE_LABELS = {"mace": "MACE", "mace_cueq": "MACE+cuEq"}


def _ours(structures: str, batch_size: int, channels: int, max_L: int, dtype, device, options: dict):
    configs = read_configurations(structures)
    configs = [c for c in configs if len(c) > 1][:batch_size]
    numbers = sorted({int(z) for c in configs for z in c.numbers})
    batch = batch_graphs([to_graph(c, numbers, 5.0) for c in configs]).to(device, dtype)
    torch.manual_seed(0)
    config = ModelConfig(
        atomic_numbers=numbers, num_channels=channels, max_L=max_L, correlation=3, avg_num_neighbors=12.0, **options
    )
    model = GauntMACE(config).to(device=device, dtype=dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)

    def step():
        optimizer.zero_grad(set_to_none=True)
        weighted_loss(model(batch, training=True), batch, (1.0, 100.0, 0.0)).backward()
        optimizer.step()

    def infer():
        return model(batch)["forces"]

    return step, infer, sum(p.numel() for p in model.parameters())


def run(
    structures: str,
    sizes=SIZES,
    dtypes=(torch.float64, torch.float32),
    device="cpu",
    out_dir=None,
    command="",
    mace_python: str | None = None,
    batch_size: int = 5,
    rounds: int = 7,
    allocator_tuned: bool = False,
    variants: list[str] | None = None,
    mace_backends=("e3nn",),
) -> dict:
    """Time our ``variants`` (names of :data:`VARIANTS`, default all) and, given its environment, MACE with each of
    ``mace_backends`` (:data:`MACE_BACKENDS`) at each size and dtype, on ``device``; print the tables and write
    the report."""
    variants = list(VARIANTS) if variants is None else variants
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"variants: expected names among {list(VARIANTS)}, got {unknown}")
    if rounds < 1:
        raise ValueError(f"rounds: expected at least 1, got {rounds}")
    unknown = [b for b in mace_backends if b not in MACE_BACKENDS]
    if unknown:
        raise ValueError(f"mace_backends: expected names among {list(MACE_BACKENDS)}, got {unknown}")
    maces = [MACE_BACKENDS[b] for b in mace_backends] if mace_python else []
    cueq_ops = None
    rows = []
    for dtype in dtypes:
        for channels, max_L in progress(sizes, f"potential {dtype_name(dtype)}"):
            ops, params = {}, {}
            for name in variants:
                step, infer, n = _ours(structures, batch_size, channels, max_L, dtype, device, VARIANTS[name][1])
                ops[f"{name}\0forward_backward"], ops[f"{name}\0forward"], params[name] = step, infer, n
            args = [structures, batch_size, 5.0, channels, max_L, 3, dtype_name(dtype), device]
            workers = _mace_workers(mace_python, mace_backends, args, allocator_tuned) if mace_python else {}
            for w in workers.get("mace_cueq", []):
                cueq_ops = w.info.get("cueq_ops")
            for name, group in workers.items():
                for i, w in enumerate(group):
                    for kind in ("forward", "forward_backward"):
                        ops[f"{name}{i}\0{kind}"] = w.op(kind)
            try:
                timed = compare(ops, device, rounds=rounds, round_time=0.3)
            finally:
                for group in workers.values():
                    for w in group:
                        w.close()
            results: dict[str, dict] = {}
            for key, timing in timed.items():
                name, kind = key.split("\0")
                results.setdefault(name, {})[kind] = timing
            for name, group in workers.items():
                runs = [results.pop(f"{name}{i}") for i in range(len(group))]
                results[name] = {k: min((r[k] for r in runs), key=lambda t: t.median) for k in runs[0]}
                params[name] = group[0].info.get("parameters")
            ratios = {}
            for mace in (m for m in maces if m in results):
                for name in variants:
                    for kind in ("forward", "forward_backward"):
                        ratios[f"{mace}/{name}/{kind}"] = ratio(results[mace][kind], results[name][kind])
            rows.append(dict(channels=channels, max_L=max_L, dtype=dtype_name(dtype), results=results,
                             ratios=ratios, params=params))  # fmt: skip
    names = [n for n in variants if any(n in r["results"] for r in rows)]
    machine = machine_info(device) + f", allocator tuned: {allocator_tuned} (for MACE's workers too)"
    if cueq_ops is not None:
        machine += f", cuEquivariance's compiled ops: {'found' if cueq_ops else 'absent (its slow fallback ran)'}"
    sections = _tables(rows, names)
    warnings = [
        f"{r['channels']}x{r['max_L']} {r['dtype']} {name} {kind}"
        for r in rows
        for name, kinds in r["results"].items()
        for kind, t in kinds.items()
        if t.noisy
    ]
    quality = noise_summary(warnings, sum(2 * len(r["results"]) for r in rows))
    print(f"potential ({machine})")
    for heading, table in sections:
        print(f"\n{heading}\n{table}")
    print("\n" + quality)
    if not any("mace" in r["results"] for r in rows):
        print(
            "MACE was not timed: no environment with mace-torch was given (see `torch-gaunt bench potential --help`)."
        )
    data = {
        "rows": [
            {
                **{k: r[k] for k in ("channels", "max_L", "dtype", "ratios", "params")},
                "results": {n: {k: t.to_json() for k, t in kinds.items()} for n, kinds in r["results"].items()},
            }
            for r in rows
        ]
    }
    if out_dir:
        notes = __doc__.split("\n\n", 1)[1] + f"\n\nStructures: `{structures}`, batch of {batch_size}.\n\n" + quality
        write_report(out_dir, "potential", "Gaunt-MACE vs MACE: training step and inference", command, machine,
                     sections, data, None, notes)  # fmt: skip
    return data


def _mace_workers(mace_python: str, backends, args: list, allocator_tuned: bool) -> dict[str, list[MaceWorker]]:
    """``{result name: [worker, ...]}``: :data:`MACE_PROCESSES` workers per back-end, all building (and converting)
    their models at the same time; none if one fails to start (the error is printed)."""
    workers: dict[str, list[MaceWorker]] = {}
    try:
        for backend in backends:
            for _ in range(MACE_PROCESSES[backend]):
                w = MaceWorker(mace_python, "mace_potential_worker.py", [*args, backend], allocator_tuned, wait=False)
                workers.setdefault(MACE_BACKENDS[backend], []).append(w)
        for group in workers.values():
            for w in group:
                w.wait_ready()
    except RuntimeError as error:
        print(f"MACE not timed: {error}", file=sys.stderr)
        for group in workers.values():
            for w in group:
                w.process.kill()
        return {}
    return workers


def _tables(rows: list[dict], names: list[str]) -> list[tuple[str, str]]:
    """Times per kind of step (ours, each MACE, each MACE over each of ours) and the parameter counts."""
    labels = [VARIANTS[n][0] for n in names]
    maces = [m for m in MACE_LABELS if any(m in r["results"] for r in rows)]
    sections = []
    for kind, title in (("forward_backward", "Training step (ms)"), ("forward", "Inference: energy + forces (ms)")):
        ratios = [(m, n) for m in maces for n in names]
        header = ["size", "dtype", *labels, *(MACE_LABELS[m] for m in maces)]
        header += [f"{MACE_LABELS[m]} / {VARIANTS[n][0]}" for m, n in ratios]
        lines = []
        for r in rows:
            res = r["results"]
            lines.append(
                [f"{r['channels']} ch, max_L {r['max_L']}", r["dtype"]]
                + [time_cell(res.get(n, {}).get(kind)) for n in (*names, *maces)]
                + [ratio_cell(r["ratios"].get(f"{m}/{n}/{kind}")) for m, n in ratios]
            )
        sections.append((title, markdown_table(header, lines)))
    header = ["size", *labels, *(MACE_LABELS[m] for m in maces)]
    seen, lines = set(), []
    for r in rows:
        if (r["channels"], r["max_L"]) not in seen:
            seen.add((r["channels"], r["max_L"]))
            p = r["params"]
            lines.append(
                [f"{r['channels']} ch, max_L {r['max_L']}"]
                + [f"{p[n]:,}" if p.get(n) else "-" for n in (*names, *maces)]
            )

    sections.append(("Parameters", markdown_table(header, lines)))
    return sections
