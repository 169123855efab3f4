"""Spherical harmonics: torch-gaunt vs e3nn (l <= 12) and sphericart, same vectors, one run."""

from __future__ import annotations

import torch

from ..so3 import spherical_harmonics
from .report import format_ms, format_ratio, markdown_table, write_report
from .timing import machine_info, progress, time_function


def _opponents(lmax: int, x: torch.Tensor) -> dict:
    found = {}
    try:
        from e3nn import o3

        if lmax <= 12:  # e3nn 0.6 stops at l = 12
            found["e3nn"] = lambda: o3.spherical_harmonics(list(range(lmax + 1)), x, True)
    except ImportError:
        pass
    try:
        import sphericart

        if x.device.type == "cpu":
            calculator = sphericart.SphericalHarmonics(lmax)
            array = x.numpy()
            found["sphericart"] = lambda: calculator.compute(array)
    except ImportError:
        pass
    return found


def run(
    lmaxes: list[int] = (2, 6, 12, 20),
    n: int = 100_000,
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    out_dir: str | None = "docs/benchmarks",
    command: str = "torch-gaunt bench sh",
    allocator_tuned: bool = False,
) -> dict:
    """Time ``spherical_harmonics(x, L)`` for ``n`` random vectors against the peers; print and save a report."""
    x = torch.randn(n, 3, dtype=dtype, device=device)
    results = []
    for lmax in progress(lmaxes, "spherical harmonics"):
        row = {"lmax": lmax, "torch_gaunt": time_function(lambda lmax=lmax: spherical_harmonics(x, lmax), device)}
        for name, fn in _opponents(lmax, x).items():
            row[name] = time_function(fn, device)
        results.append(row)
    header = ["L", "torch-gaunt (ms)", "e3nn (ms)", "sphericart (ms)", "e3nn / ours", "sphericart / ours"]
    rows = []
    for r in results:
        ours = r["torch_gaunt"]
        rows.append(
            [str(r["lmax"]), format_ms(ours), format_ms(r.get("e3nn")), format_ms(r.get("sphericart"))]
            + [format_ratio(r[k] / ours) if k in r else "–" for k in ("e3nn", "sphericart")]
        )
    table = markdown_table(header, rows)
    machine = machine_info(device) + f", allocator tuned: {allocator_tuned}"
    print(f"spherical harmonics of {n} vectors, {dtype}, {device} ({machine})\n{table}")
    if out_dir:

        def plot(path: str) -> None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(5, 3.6))
            for key, label in (("torch_gaunt", "torch-gaunt"), ("e3nn", "e3nn"), ("sphericart", "sphericart (numpy)")):
                pts = [(r["lmax"], r[key] * 1e3) for r in results if key in r]
                if pts:
                    ax.plot(*zip(*pts), "o-", label=label)
            ax.set(xscale="log", yscale="log", xlabel="L", ylabel="time (ms)", title=f"SH of {n} vectors, {dtype}")
            ax.legend()
            fig.tight_layout()
            fig.savefig(path, dpi=120, format="png")
            plt.close(fig)

        notes = (
            "Forward evaluation of all degrees 0..L (normalised input, `integral` normalisation), median of repeated "
            "runs. e3nn 0.6 has no harmonics above l = 12. sphericart runs through its NumPy (C++) API on the CPU "
            "and uses its own (z-polar) real basis, an orthogonal change of basis of the same functions. The glibc "
            f"allocator tuning (`torch_gaunt.utils.tune_cpu_allocator`) was {'on' if allocator_tuned else 'off'} for "
            "the whole process, so every opponent ran with the same allocator."
        )
        write_report(
            out_dir,
            "spherical_harmonics",
            "Spherical harmonics: torch-gaunt vs e3nn and sphericart",
            command,
            machine,
            [(f"{n} vectors, {str(dtype).replace('torch.', '')}, {device}", table)],
            {"n": n, "dtype": str(dtype), "device": device, "results": results},
            plot,
            notes,
        )
    return {"results": results, "table": table}
