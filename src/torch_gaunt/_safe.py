"""Square roots, norms and ratios whose first and second derivatives stay finite at zero.

``torch.linalg.vector_norm`` has a finite gradient at the zero vector but a NaN second derivative; Hessians
(phonons, force training through a zero-length edge) need both finite. Each function here evaluates the plain
formula where it is smooth and a constant where it is not, with the argument of the plain formula replaced
there by a harmless value, so that no NaN reaches any derivative.
"""

from __future__ import annotations

import torch


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(x)`` for ``x > 0``, else 0 (derivatives there: 0)."""
    ok = x > 0
    return torch.where(ok, torch.sqrt(torch.where(ok, x, torch.ones_like(x))), torch.zeros_like(x))


def safe_norm(v: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Euclidean norm along ``dim``, 0 with zero derivatives at the zero vector."""
    return safe_sqrt((v * v).sum(dim))


def safe_ratio(num: torch.Tensor, den: torch.Tensor, default: float) -> torch.Tensor:
    """``num / den`` where ``den > 0``, else ``default``."""
    ok = den > 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.full_like(num, default))
