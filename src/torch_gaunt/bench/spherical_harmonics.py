"""Spherical harmonics: torch-gaunt vs e3nn (l <= 12) and sphericart, same vectors, one run."""

from __future__ import annotations

import torch

from ..so3 import spherical_harmonics
from .report import check_results, markdown_table, noise_summary, ratio_cell, time_cell, write_report
from .timing import compare, machine_info, progress, ratio


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
    out_dir: str | None = None,
    command: str = "torch-gaunt bench sh",
    allocator_tuned: bool = False,
) -> dict:
    """Time ``spherical_harmonics(x, L)`` for ``n`` random vectors against the peers, interleaved; print and save."""
    x = torch.randn(n, 3, dtype=dtype, device=device)
    rows = []
    for lmax in progress(lmaxes, "spherical harmonics"):
        ops = {"torch_gaunt": lambda lmax=lmax: spherical_harmonics(x, lmax), **_opponents(lmax, x)}
        timings = {name: {"forward": t} for name, t in compare(ops, device).items()}
        ratios = {
            k: ratio(timings[k]["forward"], timings["torch_gaunt"]["forward"]) for k in timings if k != "torch_gaunt"
        }
        rows.append(
            {"lmax": lmax, "results": timings, "ratios": ratios, "warnings": check_results(f"L = {lmax}", timings)}
        )
    header = ["L", "torch-gaunt (ms)", "e3nn (ms)", "sphericart (ms)", "e3nn / ours", "sphericart / ours"]
    lines = [
        [str(r["lmax"])]
        + [time_cell(r["results"].get(k, {}).get("forward")) for k in ("torch_gaunt", "e3nn", "sphericart")]
        + [ratio_cell(r["ratios"].get(k)) for k in ("e3nn", "sphericart")]
        for r in rows
    ]
    table = markdown_table(header, lines)
    quality = noise_summary([w for r in rows for w in r["warnings"]], sum(len(r["results"]) for r in rows))
    machine = machine_info(device) + f", allocator tuned: {allocator_tuned}"
    print(f"spherical harmonics of {n} vectors, {dtype}, {device} ({machine})\n{table}\n\n{quality}")
    data = {
        "n": n,
        "dtype": str(dtype),
        "device": str(device),
        "rows": [
            {
                "lmax": r["lmax"],
                "forward_ms": {k: v["forward"].to_json() for k, v in r["results"].items()},
                "ratios": r["ratios"],
            }
            for r in rows
        ],
    }
    if out_dir:

        def plot(path: str) -> None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(5, 3.6))
            for key, label in (("torch_gaunt", "torch-gaunt"), ("e3nn", "e3nn"), ("sphericart", "sphericart (numpy)")):
                pts = [(r["lmax"], r["results"][key]["forward"].median * 1e3) for r in rows if key in r["results"]]
                if pts:
                    ax.plot(*zip(*pts), "o-", label=label)
            ax.set(xscale="log", yscale="log", xlabel="L", ylabel="time (ms)", title=f"SH of {n} vectors, {dtype}")
            ax.legend()
            fig.tight_layout()
            fig.savefig(path, dpi=120, format="png")
            plt.close(fig)

        notes = (
            "Forward evaluation of all degrees 0..L (normalised input, `integral` normalisation); medians over 5 "
            "interleaved rounds, ratios the medians of per-round ratios with their range. e3nn 0.6 has no harmonics "
            "above l = 12. sphericart runs through its NumPy (C++) API on the CPU and uses its own (z-polar) real "
            "basis, an orthogonal change of basis of the same functions. The glibc allocator tuning "
            f"(`torch_gaunt.utils.tune_cpu_allocator`) was {'on' if allocator_tuned else 'off'} for the whole process, "
            "so every opponent ran with the same allocator.\n\n" + quality
        )
        write_report(
            out_dir, "spherical_harmonics", "Spherical harmonics: torch-gaunt vs e3nn and sphericart", command, machine,
            [(f"{n} vectors, {str(dtype).replace('torch.', '')}, {device}", table)], data, plot, notes,
        )  # fmt: skip
    return data
