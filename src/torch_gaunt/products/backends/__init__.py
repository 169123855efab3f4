"""Executors of Gaunt tensor products.

A backend is one file with two functions:

- ``tables(desc, dtype, device) -> dict[str, Tensor]``: every constant it needs, computed once;
- ``run(x, y, desc, tables) -> z``: the forward pass, with coefficient-major views ``x [K1, M, C]`` and
  ``y [K2, M, C]`` or ``[K2, M, 1]`` (any strides; ``M`` flattened batch, ``C`` channels), returning a contiguous
  ``z [M, K3, C]``. It builds nothing, so it traces into one graph with ``torch.compile``.
"""

from . import dense, fourier, grid, grid_triton

BACKENDS = {"dense": dense, "grid": grid, "fourier": fourier, "grid_triton": grid_triton}

__all__ = ["BACKENDS", "dense", "fourier", "grid", "grid_triton"]
