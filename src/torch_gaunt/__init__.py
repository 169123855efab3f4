"""torch-gaunt: fast E(3)-equivariant operations through Gaunt tensor products."""

from . import nn, products, so3, sphere, testing
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
    "sphere",
    "products",
    "nn",
    "testing",
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
