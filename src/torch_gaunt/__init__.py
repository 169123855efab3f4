"""torch-gaunt: fast E(3)-equivariant operations through Gaunt tensor products."""

from . import products, so3
from .products import (
    CGTensorProduct,
    GauntTensorProduct,
    VectorGauntProduct,
    gaunt_tensor_product,
    vector_gaunt_product,
)
from .so3 import Irrep, Irreps, spherical_harmonics

__version__ = "0.1.0.dev0"
__all__ = [
    "so3",
    "products",
    "Irrep",
    "Irreps",
    "spherical_harmonics",
    "gaunt_tensor_product",
    "GauntTensorProduct",
    "vector_gaunt_product",
    "VectorGauntProduct",
    "CGTensorProduct",
    "__version__",
]
