"""Tensor products: Gaunt (dense / grid / fourier) vs e3nn and our CG reference, same inputs, one run.

Protocols:

- ``channels`` (default): batch 256 x 16 channels, channel-wise, every Gaunt path (``l1 + l2 + l3`` even) to
  ``L3 = L``, forward and forward + backward, with peak memory;
- ``scaling`` (default): the same from L = 12 to 32, forward only, with the fitted exponent of time vs L;
- ``pof`` (``--pof``): the Price-of-Freedom protocol, one channel and batch 10,000.

Each op runs in its native layout (e3nn ``[B, dim]``, ours ``[B, (L+1)**2, C]``). All ops of one L are timed in
interleaved rounds (:func:`~torch_gaunt.bench.timing.compare`). One of our executors stops being run once it is more
than ``DROP_FACTOR`` times slower than the fastest one (its cost grows faster with L); e3nn's ops stop at the
degrees in ``CAPS``, where one call takes seconds.
"""

from __future__ import annotations

import math

import torch

from ..products import CGTensorProduct, GauntDescription, GauntTensorProduct, channelwise_instructions, select_method
from ..products.backends import grid_triton
from ..so3 import spherical_tensor_irreps
from .report import (
    check_results,
    format_mb,
    markdown_table,
    noise_summary,
    ratio_cell,
    result_json,
    time_cell,
    write_report,
)
from .timing import machine_info, measure_ops, progress, ratio

OURS = ("dense", "grid", "fourier", "grid_triton")  # grid_triton where it can run (a GPU with Triton)
DROP_FACTOR = 4.0
CAPS = {"e3nn_fully_connected": 3, "cg_reference": 6, "e3nn_channelwise": 10}
COLUMNS = [
    ("e3nn_channelwise", "e3nn uuu"),
    ("e3nn_fully_connected", "e3nn uvw"),
    ("cg_reference", "our CG"),
    ("dense", "dense"),
    ("grid", "grid"),
    ("grid_compiled", "grid, torch.compile"),
    ("grid_triton", "grid, one Triton kernel"),
    ("fourier", "fourier"),
]


def _e3nn_tensor_product(L: int, C: int, mode: str, device, dtype):
    try:
        from e3nn import o3
    except ImportError:
        return None
    irreps = o3.Irreps(str(spherical_tensor_irreps(L, C, p=1)))
    if mode == "channelwise":
        paths = GauntDescription(L, L, L).paths
        tp = o3.TensorProduct(irreps, irreps, irreps, [(a, b, c, "uuu", True) for a, b, c in paths])
    else:
        tp = o3.FullyConnectedTensorProduct(irreps, irreps, irreps)
    return tp.to(device=device, dtype=dtype)


def _ops(L: int, batch: int, C: int, dtype, device, run: set[str]) -> dict:
    """``name: (forward, params)`` for every op in ``run``, on fresh inputs."""
    ops = {}
    x = torch.randn(batch, (L + 1) ** 2, C, dtype=dtype, device=device, requires_grad=True)
    y = torch.randn(batch, (L + 1) ** 2, C, dtype=dtype, device=device, requires_grad=True)
    for method in OURS:
        if method in run:
            tp = GauntTensorProduct(L, L, L, channels=C, method=method).to(device=device, dtype=dtype)
            ops[method] = (lambda tp=tp: tp(x, y), [x, y, *tp.parameters()])
    if "grid_compiled" in run:  # inductor; the warm-up calls compile (tens of seconds)
        tp = GauntTensorProduct(L, L, L, channels=C, method="grid").to(device=device, dtype=dtype)
        torch._dynamo.reset()  # one compiled module per L: past 8 recompilations Dynamo would silently run eager
        compiled = torch.compile(tp)
        ops["grid_compiled"] = (lambda: compiled(x, y), [x, y, *tp.parameters()])
    irreps = spherical_tensor_irreps(L, C, p=1)
    xe = torch.randn(batch, irreps.dim, dtype=dtype, device=device, requires_grad=True)
    ye = torch.randn(batch, irreps.dim, dtype=dtype, device=device, requires_grad=True)
    if "cg_reference" in run:
        cg = CGTensorProduct(irreps, irreps, irreps, channelwise_instructions(irreps, irreps, irreps, even_only=True))
        cg = cg.to(device=device, dtype=dtype)
        ops["cg_reference"] = (lambda: cg(xe, ye), [xe, ye, *cg.parameters()])
    for name, mode in (("e3nn_channelwise", "channelwise"), ("e3nn_fully_connected", "fully_connected")):
        if name in run:
            tp = _e3nn_tensor_product(L, C, mode, device, dtype)
            if tp is not None:
                ops[name] = (lambda tp=tp: tp(xe, ye), [xe, ye, *tp.parameters()])
    return ops


def _protocol(
    lmaxes,
    batch: int,
    C: int,
    dtype,
    device,
    backward: bool,
    opponents: bool,
    desc: str,
    running: set[str],
    compiled: bool = False,
) -> list[dict]:
    """Rows ``{"lmax", "auto", "best", "results", ...}``. Our executors in ``running`` drop out of it (for this and
    later protocols of the same batch) once ``DROP_FACTOR`` x slower than the fastest."""
    rows = []
    for L in progress(lmaxes, desc):
        run = set(running)
        if opponents:
            run |= {name for name, cap in CAPS.items() if L <= cap}
        if compiled:
            run.add("grid_compiled")
        results = measure_ops(_ops(L, batch, C, dtype, device, run), device, backward, memory=backward)
        row = {"lmax": L, "auto": select_method(L, L, L, device), "results": results}
        ours = {m: results[m]["forward"] for m in OURS if m in results}
        row["best"], row["auto_vs_best"] = {}, {}
        for kind in ("forward", "forward_backward") if backward else ("forward",):
            best = min(ours, key=lambda m: results[m][kind].median)
            row["best"][kind] = best
            if row["auto"] != best:  # None: auto's executor was dropped as too slow
                auto = results.get(row["auto"], {}).get(kind)
                row["auto_vs_best"][kind] = ratio(auto, results[best][kind]) if auto else None
        best = row["best"]["forward"]
        if "e3nn_channelwise" in results:
            row["ratios"] = {
                f"e3nn_channelwise/{m}/{kind}": ratio(results["e3nn_channelwise"][kind], results[m][kind])
                for m in [*ours, "grid_compiled"]
                for kind in ("forward", "forward_backward")
                if kind in results.get(m, {})
            }
        running -= {m for m in ours if m != "grid" and ours[m].median > DROP_FACTOR * ours[best].median}
        row["warnings"] = check_results(f"L = {L}", results)
        rows.append(row)
    return rows


def _time_table(rows: list[dict], kind: str) -> str:
    columns = [(name, label) for name, label in COLUMNS if any(name in r["results"] for r in rows)]
    compared = [name for name in ("grid", "grid_compiled") if any(name in r["results"] for r in rows)]
    header = (
        ["L"]
        + [f"{label} (ms)" for _, label in columns]
        + [f"e3nn uuu / {dict(COLUMNS)[name]}" for name in compared]
        + ["auto picks", "auto / best"]
    )
    lines = []
    for r in rows:
        res = r["results"]
        cells = [str(r["lmax"])]
        for name, _ in columns:
            timing = res.get(name, {}).get(kind)
            cells.append(time_cell(timing) + ("!" if res.get(name, {}).get("impossible") else ""))
        cells += [ratio_cell(r.get("ratios", {}).get(f"e3nn_channelwise/{name}/{kind}")) for name in compared]
        cells.append(r["auto"])
        cells.append(ratio_cell(r["auto_vs_best"][kind]) if kind in r["auto_vs_best"] else "1")
        lines.append(cells)
    return markdown_table(header, lines)


def _memory_table(rows: list[dict]) -> str:
    header = ["L"] + [f"{label} (MB)" for _, label in COLUMNS]
    lines = [
        [str(r["lmax"])] + [format_mb(r["results"].get(name, {}).get("peak_memory")) for name, _ in COLUMNS]
        for r in rows
    ]
    return markdown_table(header, lines)


def _fit_exponent(rows: list[dict]) -> float | None:
    pts = [(math.log(r["lmax"]), math.log(r["results"]["grid"]["forward"].median)) for r in rows]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    return sum((a - mx) * (b - my) for a, b in pts) / sum((a - mx) ** 2 for a, _ in pts)


def run(
    lmaxes=tuple(range(1, 11)),
    scaling_lmaxes=(12, 16, 24, 32),
    pof_lmaxes=(),
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    out_dir: str | None = None,
    command: str = "torch-gaunt bench tp",
    backward: bool = True,
    allocator_tuned: bool = False,
    compiled: bool = False,
) -> dict:
    """Run the protocols, print the tables and write the report (Markdown, JSON, PNG) to ``out_dir``.

    ``compiled`` adds the grid product under ``torch.compile`` (inductor) to the 256 x 16 protocol.
    """
    runnable = {m for m in OURS if m != "grid_triton" or grid_triton.available(device)}
    running = set(runnable)
    channels = _protocol(lmaxes, 256, 16, dtype, device, backward, True, "tensor products, 256 x 16", running, compiled)
    scaling = _protocol(scaling_lmaxes, 256, 16, dtype, device, False, False, "scaling, 256 x 16", running)
    pof = _protocol(pof_lmaxes, 10_000, 1, dtype, device, backward, True, "Price-of-Freedom, 10000 x 1", set(runnable))
    exponent = _fit_exponent([r for r in channels if r["lmax"] >= 8] + scaling)
    sections = [("Forward, batch 256 x 16 channels", _time_table(channels, "forward"))]
    if backward:
        sections += [
            ("Forward + backward, batch 256 x 16 channels", _time_table(channels, "forward_backward")),
            ("Peak memory allocated by one forward + backward, 256 x 16", _memory_table(channels)),
        ]
    if scaling:
        fit = f"\n\nFitted exponent of the grid's time vs L from L = 8 to {scaling[-1]['lmax']}: **{exponent:.2f}**"
        sections.append(("Scaling (forward, 256 x 16)", _time_table(scaling, "forward") + (fit if exponent else "")))
    if pof:
        sections.append(("Forward, Price-of-Freedom protocol (10,000 x 1)", _time_table(pof, "forward")))
        if backward:
            sections.append(("Forward + backward, Price-of-Freedom protocol", _time_table(pof, "forward_backward")))
    warnings = [w for r in channels + scaling + pof for w in r["warnings"]]
    count = sum(len(r["results"]) * (2 if backward and r in channels + pof else 1) for r in channels + scaling + pof)
    quality = noise_summary(warnings, count)
    machine = machine_info(device) + f", {str(dtype).replace('torch.', '')}, allocator tuned: {allocator_tuned}"
    print(f"tensor products ({machine})")
    for heading, table in sections:
        print(f"\n{heading}\n{table}")
    print("\n" + quality)
    data = {
        "dtype": str(dtype),
        "device": str(device),
        "exponent": exponent,
        "protocols": {
            name: [_row_json(r) for r in rows]
            for name, rows in (("channels", channels), ("scaling", scaling), ("pof", pof))
        },
    }
    if out_dir:
        notes = (
            "Channel-wise products with every path of even `l1 + l2 + l3` up to `L3 = L`. e3nn `uuu` is "
            "`o3.TensorProduct` with those paths and per-path weights; e3nn `uvw` is `FullyConnectedTensorProduct` "
            "(all paths, run to L = 3); 'our CG' is `CGTensorProduct` with the same `uuu` paths (to L = 6). "
            "Ours are `GauntTensorProduct` with per-degree weights. Times are medians over 5 interleaved rounds in ms "
            f"(`~`: rounds spread by more than 30 %; `!`: forward slower than forward + backward). Ratios are medians of "
            "per-round ratios, with their range; e3nn's time divided by ours, so larger is better for us. `auto "
            "picks` is the executor of `method='auto'` and `auto / best` its time over that of the fastest executor "
            f"measured (1 when it is the fastest). An executor more than {DROP_FACTOR:g}x slower than the fastest is "
            "not run at larger L. The glibc allocator tuning (`torch_gaunt.utils.tune_cpu_allocator`) was "
            f"{'on' if allocator_tuned else 'off'} for the whole process, so every op ran with the same allocator."
            "\n\n" + quality
        )
        write_report(
            out_dir, "gaunt_tensor_product", "Gaunt tensor products vs e3nn", command, machine, sections, data,
            lambda path: _plot(path, channels, scaling, exponent), notes,
        )  # fmt: skip
    return data


def _row_json(r: dict) -> dict:
    out = {"lmax": r["lmax"], "auto": r["auto"], "best": r["best"], "results": result_json(r["results"])}
    out["auto_vs_best"] = r["auto_vs_best"]
    if "ratios" in r:
        out["ratios"] = r["ratios"]
    return out


def _plot(path: str, channels: list[dict], scaling: list[dict], exponent: float | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, kind, title in ((axes[0], "forward", "forward"), (axes[1], "forward_backward", "forward + backward")):
        for name, label in COLUMNS:
            pts = [
                (r["lmax"], r["results"][name][kind].median * 1e3)
                for r in channels + (scaling if kind == "forward" else [])
                if name in r["results"] and kind in r["results"][name]
            ]
            if pts:
                ax.plot(*zip(*pts), "o-", label=label, ms=3)
        if kind == "forward" and scaling:
            L0 = scaling[0]["lmax"]
            t0 = scaling[0]["results"]["grid"]["forward"].median * 1e3
            Ls = [r["lmax"] for r in scaling]
            ax.plot(Ls, [t0 * (L / L0) ** 3 for L in Ls], "k--", lw=0.8, label="∝ L³")
        fit = f" (grid: L^{exponent:.2f})" if exponent and kind == "forward" else ""
        ax.set(xscale="log", yscale="log", xlabel="L", ylabel="time (ms)", title=f"{title}, 256 x 16{fit}")
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
