"""Tensor products: Gaunt (dense / grid / fourier) vs e3nn and our CG reference, same inputs, one run.

Protocols:

- ``channels``: batch 256 x 16 channels, channel-wise, every Gaunt path (``l1 + l2 + l3`` even) to ``L3 = L``;
- ``pof``: the Price-of-Freedom protocol, one channel and batch 10,000;
- ``scaling``: the grid method alone from L = 8 to 32, with the fitted exponent of time vs L.

Each op runs in its native layout (e3nn ``[B, dim]``, ours ``[B, (L+1)**2, C]``), forward and forward+backward.
Memory is the peak allocated during one forward+backward (:func:`~torch_gaunt.bench.timing.peak_memory`).
"""

from __future__ import annotations

import math

import torch

from ..products import CGTensorProduct, GauntDescription, GauntTensorProduct, channelwise_instructions
from ..products.gaunt import select_method
from ..so3.spherical_tensor import spherical_tensor_irreps
from .report import format_mb, format_ms, format_ratio, markdown_table, write_report
from .timing import machine_info, measure, progress

OURS = ("dense", "grid", "fourier")


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
        tp = o3.FullyConnectedTensorProduct(irreps, irreps, o3.Irreps(str(spherical_tensor_irreps(L, C, p=1))))
    return tp.to(device=device, dtype=dtype)


def _case(L: int, batch: int, C: int, dtype, device, backward: bool, opponents: dict[str, int]) -> dict:
    """Time every op at degree L. ``opponents`` maps an opponent to the largest L it is run at."""
    row: dict = {"lmax": L}
    x = torch.randn(batch, (L + 1) ** 2, C, dtype=dtype, device=device, requires_grad=backward)
    y = torch.randn(batch, (L + 1) ** 2, C, dtype=dtype, device=device, requires_grad=backward)
    for method in OURS:
        if L > opponents.get(method, 10**9):
            continue
        tp = GauntTensorProduct(L, L, L, channels=C, method=method).to(device=device, dtype=dtype)
        row[method] = measure(lambda tp=tp: tp(x, y), [x, y, *tp.parameters()], device, backward)
    irreps = spherical_tensor_irreps(L, C, p=1)
    xe = torch.randn(batch, irreps.dim, dtype=dtype, device=device, requires_grad=backward)
    ye = torch.randn(batch, irreps.dim, dtype=dtype, device=device, requires_grad=backward)
    if L <= opponents.get("cg_reference", 10**9):
        cg = CGTensorProduct(irreps, irreps, irreps, channelwise_instructions(irreps, irreps, irreps, even_only=True))
        cg = cg.to(device=device, dtype=dtype)
        row["cg_reference"] = measure(lambda: cg(xe, ye), [xe, ye, *cg.parameters()], device, backward)
    for name, mode in (("e3nn_channelwise", "channelwise"), ("e3nn_fully_connected", "fully_connected")):
        if L <= opponents.get(name, 10**9):
            tp = _e3nn_tensor_product(L, C, mode, device, dtype)
            if tp is not None:
                row[name] = measure(lambda tp=tp: tp(xe, ye), [xe, ye, *tp.parameters()], device, backward)
    return row


COLUMNS = [
    ("e3nn_channelwise", "e3nn uuu"),
    ("e3nn_fully_connected", "e3nn uvw"),
    ("cg_reference", "our CG"),
    ("dense", "dense"),
    ("grid", "grid"),
    ("fourier", "fourier"),
]


def _table(rows: list[dict], key: str) -> str:
    header = ["L"] + [f"{label} (ms)" for _, label in COLUMNS] + ["e3nn uuu / grid", "e3nn uuu / auto"]
    lines = []
    for r in rows:
        cells = [str(r["lmax"])] + [format_ms(r[name][key]) if name in r else "–" for name, _ in COLUMNS]
        ref = r.get("e3nn_channelwise", {}).get(key)
        auto = select_method(r["lmax"], r["lmax"], r["lmax"])
        for method in ("grid", auto):
            ours = r.get(method, {}).get(key)
            cells.append(format_ratio(ref / ours) if ref and ours else "–")
        lines.append(cells)
    return markdown_table(header, lines)


def _memory_table(rows: list[dict]) -> str:
    header = ["L"] + [f"{label} (MB)" for _, label in COLUMNS]
    lines = [
        [str(r["lmax"])] + [format_mb(r[name]["memory"]) if name in r else "–" for name, _ in COLUMNS] for r in rows
    ]
    return markdown_table(header, lines)


def _fit_exponent(rows: list[dict], key: str = "forward") -> float | None:
    pts = [(math.log(r["lmax"]), math.log(r["grid"][key])) for r in rows if "grid" in r]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    return sum((a - mx) * (b - my) for a, b in pts) / sum((a - mx) ** 2 for a, _ in pts)


def run(
    lmaxes: list[int] = tuple(range(1, 11)),
    scaling_lmaxes: list[int] = (8, 12, 16, 24, 32),
    pof_lmaxes: list[int] = tuple(range(1, 11)),
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    out_dir: str | None = "runs/bench",
    command: str = "torch-gaunt bench tp",
    backward: bool = True,
    allocator_tuned: bool = False,
) -> dict:
    """Run the three protocols, print the tables and write the report (Markdown, JSON, PNG)."""
    caps = {"e3nn_fully_connected": 3, "cg_reference": 6, "dense": 8, "fourier": 10}
    channels = [_case(L, 256, 16, dtype, device, backward, caps) for L in progress(lmaxes, "tensor products, 256 x 16")]
    pof = [
        _case(L, 10_000, 1, dtype, device, backward, {**caps, "e3nn_fully_connected": 10})
        for L in progress(pof_lmaxes, "tensor products, 10000 x 1")
    ]
    scaling_caps = {"dense": -1, "fourier": -1, "cg_reference": -1, "e3nn_channelwise": -1, "e3nn_fully_connected": -1}
    scaling = [_case(L, 256, 16, dtype, device, False, scaling_caps) for L in progress(scaling_lmaxes, "grid scaling")]
    exponent = _fit_exponent(scaling)
    machine = machine_info(device)
    sections = [
        ("Forward, batch 256 x 16 channels", _table(channels, "forward")),
        ("Forward + backward, batch 256 x 16 channels", _table(channels, "backward") if backward else "not run"),
        (
            "Peak memory allocated by one forward + backward, batch 256 x 16 channels",
            _memory_table(channels) if backward else "not run",
        ),
        ("Forward, Price-of-Freedom protocol (batch 10,000 x 1 channel)", _table(pof, "forward")),
        ("Forward + backward, Price-of-Freedom protocol", _table(pof, "backward") if backward else "not run"),
        (
            "Scaling of the grid method (forward, 256 x 16)",
            markdown_table(
                ["L"] + [str(r["lmax"]) for r in scaling],
                [["grid (ms)"] + [format_ms(r["grid"]["forward"]) for r in scaling]],
            )
            + (
                f"\n\nFitted exponent of time vs L from L = {scaling[0]['lmax']} to {scaling[-1]['lmax']}: **{exponent:.2f}**"
                if exponent
                else ""
            ),
        ),
    ]
    text = f"tensor products, {dtype}, {device} ({machine}; allocator tuned: {allocator_tuned})"
    print(text)
    for heading, table in sections:
        print(f"\n{heading}\n{table}")
    if out_dir:
        notes = (
            "Channel-wise products with every path of even `l1 + l2 + l3` up to `L3 = L`. e3nn `uuu` is "
            "`o3.TensorProduct` with those paths and per-path weights; e3nn `uvw` is `FullyConnectedTensorProduct` "
            "(all paths, run to L = 3); 'our CG' is `CGTensorProduct` with the same `uuu` paths (to L = 6). "
            "Ours are `GauntTensorProduct` with per-degree weights. Times are medians in ms; ratios divide e3nn's "
            "time by ours (larger is better for us). `auto` is the method `method='auto'` picks. "
            f"The glibc allocator tuning (`torch_gaunt.utils.tune_cpu_allocator`) was {'on' if allocator_tuned else 'off'} "
            "for the whole process, so both sides ran with the same allocator."
        )

        def plot(path: str) -> None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            import matplotlib.ticker

            fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
            for ax, rows, key, title in (
                (axes[0], channels, "forward", "forward, 256 x 16"),
                (axes[1], pof, "forward", "forward, 10000 x 1 (PoF protocol)"),
            ):
                for name, label in COLUMNS:
                    pts = [(r["lmax"], r[name][key] * 1e3) for r in rows if name in r]
                    if pts:
                        ax.plot(*zip(*pts), "o-", label=label, ms=3)
                ax.set(xscale="log", yscale="log", xlabel="L", ylabel="time (ms)", title=title)
                ax.legend(fontsize=8)
            pts = [(r["lmax"], r["grid"]["forward"] * 1e3) for r in scaling]
            ax = axes[2]
            ax.plot(*zip(*pts), "o-", label="grid")
            L0, t0 = pts[0]
            ax.plot([p[0] for p in pts], [t0 * (p[0] / L0) ** 3 for p in pts], "k--", label="∝ L³")
            ax.set(
                xscale="log",
                yscale="log",
                xlabel="L",
                ylabel="time (ms)",
                title=f"grid scaling (fit: L^{exponent:.2f})",
            )
            ax.legend(fontsize=8)
            for ax in axes:
                ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            fig.tight_layout()
            fig.savefig(path, dpi=110, format="png")
            plt.close(fig)

        write_report(
            out_dir,
            "gaunt_tensor_product",
            "Gaunt tensor products vs e3nn",
            command,
            machine + f", {str(dtype).replace('torch.', '')}, allocator tuned: {allocator_tuned}",
            sections,
            {"channels": channels, "pof": pof, "scaling": scaling, "exponent": exponent, "dtype": str(dtype)},
            plot,
            notes,
        )
    return {"channels": channels, "pof": pof, "scaling": scaling, "exponent": exponent}
