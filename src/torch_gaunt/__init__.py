"""torch-gaunt: fast E(3)-equivariant operations through Gaunt tensor products."""

from . import so3
from .so3 import Irrep, Irreps, spherical_harmonics

__version__ = "0.1.0.dev0"
__all__ = ["so3", "Irrep", "Irreps", "spherical_harmonics", "__version__"]
