"""Functions on the sphere in two bases besides spherical harmonics: values on a Gauss-Legendre x equispaced grid
(:mod:`~torch_gaunt.sphere.grid`, separable per order ``m``, O(L^3)) and 2D Fourier series in ``(θ, φ)``
(:mod:`~torch_gaunt.sphere.fourier`, exact tables). The executors in :mod:`torch_gaunt.products` are built on them.
"""

from .fourier import FourierTables
from .grid import SphereGrid, from_sphere_grid, to_sphere_grid

__all__ = ["to_sphere_grid", "from_sphere_grid", "SphereGrid", "FourierTables"]
