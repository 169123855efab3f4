"""When to predict a density over rotations: the pose of a symmetric object from one view.

An object with a two-fold symmetry looks the same in pose ``R`` and ``R Rz(π)``, so from an image the pose is
determined only up to that symmetry. A model that regresses one rotation is pulled towards the average of the
two answers; a density over SO(3) can put its mass on both. This script shows it with

- a synthetic object: 12 points, symmetric under the rotation by π about z (and nothing else);
- "images": the rotated points seen by a camera looking along y, as SO(2)-equivariant features: for radial and
  depth bins (channels) and frequencies ``k = 0..K``, ``Σ_points g(ρ, y) (cos kφ, sin kφ)`` with ``(ρ, φ)``
  the polar coordinates in the image plane (x, z);
- ``SO3PoseHead`` (linear, induced representation) trained on the negative log-likelihood, against an MLP that
  regresses a rotation (special Procrustes of a 3x3 output) trained on the squared Frobenius error.

Run from the repository root: ``python examples/pose/run.py`` (about a minute on 2 CPU cores); it writes
``examples/pose/report.md`` and ``examples/pose/pose.png``.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path

import torch

from torch_gaunt._io import atomic_write, atomic_write_text
from torch_gaunt.geometry import SO3PoseHead
from torch_gaunt.so3 import geodesic_angle, random_rotation, special_procrustes

HERE = Path(__file__).resolve().parent
K, RHO_BINS, DEPTH_BINS = 4, 4, 4


def symmetric_object(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """12 points invariant under ``S = Rz(π)``, and ``S``."""
    half = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    S = torch.diag(torch.tensor([-1.0, -1.0, 1.0], dtype=torch.float64))
    return torch.cat([half, half @ S.T]), S


def image_features(points: torch.Tensor) -> torch.Tensor:
    """SO(2)-equivariant features ``[B, 2K+1, C]`` of rotated points ``[B, n, 3]`` seen along y."""
    x, y, z = points.unbind(-1)
    rho, phi = torch.hypot(x, z), torch.atan2(z, x)
    centres_rho = torch.linspace(0.0, 3.0, RHO_BINS, dtype=points.dtype)
    centres_y = torch.linspace(-2.5, 2.5, DEPTH_BINS, dtype=points.dtype)
    g = torch.exp(-((rho[..., None, None] - centres_rho[:, None]) ** 2) - (y[..., None, None] - centres_y) ** 2)
    g = g.flatten(-2)  # [B, n, C]
    rows = [g.sum(1)]
    for k in range(1, K + 1):
        rows += [(g * torch.cos(k * phi)[..., None]).sum(1), (g * torch.sin(k * phi)[..., None]).sum(1)]
    return torch.stack(rows, 1)


def symmetric_error(R: torch.Tensor, target: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    """Geodesic angle (degrees) from ``R`` to the nearer of the two equivalent poses ``target``, ``target S``."""
    return torch.minimum(geodesic_angle(R, target), geodesic_angle(R, target @ S)) * 180 / math.pi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--lmax", type=int, default=6)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--quick", action="store_true", help="a smoke run (30 steps, lmax 3)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.lmax = 30, 3
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    points, S = symmetric_object(g)
    test_R = random_rotation(500, dtype=torch.float64, generator=g)
    test_features = image_features(points @ test_R.transpose(-1, -2))
    head = SO3PoseHead(RHO_BINS * DEPTH_BINS, K, args.lmax, resolution=4 * args.lmax + 12).double()
    channels = RHO_BINS * DEPTH_BINS * (2 * K + 1)
    regressor = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(channels, 256), torch.nn.SiLU(), torch.nn.Linear(256, 256), torch.nn.SiLU(),
        torch.nn.Linear(256, 9), torch.nn.Unflatten(1, (3, 3)),
    ).double()  # fmt: skip
    optimisers = [torch.optim.Adam(head.parameters(), 3e-3), torch.optim.Adam(regressor.parameters(), 1e-3)]
    start = time.perf_counter()
    for step in range(args.steps):
        R = random_rotation(64, dtype=torch.float64, generator=g)
        features = image_features(points @ R.transpose(-1, -2))
        scale = features.abs().mean()
        losses = [-head.log_likelihood(features, R).mean(), ((special_procrustes(regressor(features / scale)) - R) ** 2).sum((-1, -2)).mean()]  # fmt: skip
        for optimiser, loss in zip(optimisers, losses):
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  NLL {losses[0].item():8.3f}  Frobenius {losses[1].item():.3f}", flush=True)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        coefficients = head(test_features)
        mode = head.density.mode(coefficients)
        log_p_true = head.density.log_likelihood(coefficients, test_R)
        log_p_twin = head.density.log_likelihood(coefficients, test_R @ S)
        R_grid, p_grid = head.density.probabilities(coefficients)
        near_true = (p_grid * (geodesic_angle(R_grid, test_R[:, None]) < math.radians(20))).sum(-1).mean()
        near_twin = (p_grid * (geodesic_angle(R_grid, (test_R @ S)[:, None]) < math.radians(20))).sum(-1).mean()
        regressed = special_procrustes(regressor(test_features / test_features.abs().mean()))
        errors = {"density head (mode)": symmetric_error(mode, test_R, S), "rotation regression": symmetric_error(regressed, test_R, S)}  # fmt: skip
    lines = [
        "# Pose of a symmetric object from one view: density head against rotation regression",
        "",
        f"Command: `{shlex.join(['python', 'examples/pose/run.py', *(argv if argv is not None else sys.argv[1:])])}`",
        f"({args.steps} steps of 64 random poses, both models trained side by side in {seconds:.0f} s; 500 test poses).",
        "",
        "The object is symmetric under Rz(π): poses R and R Rz(π) give the same image, so the error is measured to the",
        "nearer of the two.",
        "",
        "| model | median error (deg) | mean error (deg) | errors < 10 deg |",
        "|---|---:|---:|---:|",
    ]
    for name, e in errors.items():
        lines.append(f"| {name} | {e.median():.1f} | {e.mean():.1f} | {(e < 10).double().mean() * 100:.0f} % |")
    lines += [
        "",
        f"Density head: test negative log-likelihood {-log_p_true.mean():.2f} (a uniform density scores 0);",
        f"probability within 20 deg of the true pose {near_true:.2f} and of its symmetric twin {near_twin:.2f} (means over",
        f"the test images; log p at the two differs by {(log_p_true - log_p_twin).abs().mean():.2f} on average): the head",
        "splits its mass between the two equivalent answers, as it should, since it sees the same image.",
        "",
        "![density over rotations for one test image](pose.png)",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "report.md", "\n".join(lines) + "\n")
    plot(head, test_features[:1], test_R[0], S, args.out / "pose.png")
    print("\n".join(lines))
    return 0


def plot(head: SO3PoseHead, features: torch.Tensor, target: torch.Tensor, S: torch.Tensor, path: Path) -> None:
    """Probability of each grid rotation against its geodesic distance to the true pose and to its twin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with torch.no_grad():
        R, p = head.density.probabilities(head(features))
    order = p[0].argsort()  # most probable drawn last
    d_true = geodesic_angle(R, target)[order] * 180 / math.pi
    d_twin = geodesic_angle(R, target @ S)[order] * 180 / math.pi
    fig, ax = plt.subplots(figsize=(6, 4))
    sc = ax.scatter(d_true, d_twin, c=p[0][order], s=4, cmap="viridis")
    fig.colorbar(sc, label="probability of the grid cell")
    ax.set(xlabel="angle to the true pose (deg)", ylabel="angle to its symmetric twin (deg)",
           title="predicted density: mass at both equivalent poses")  # fmt: skip
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
