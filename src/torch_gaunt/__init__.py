"""torch-gaunt: fast E(3)-equivariant operations through Gaunt tensor products."""

from . import geometry, models, nn, products, so3, sphere, testing
from ._version import __version__
from .products import (
    CGTensorProduct,
    GauntTensorProduct,
    VectorGauntProduct,
    gaunt_tensor_product,
    vector_gaunt_product,
)
from .so3 import Irrep, Irreps, spherical_harmonics

__all__ = [
    "so3",
    "sphere",
    "products",
    "nn",
    "geometry",
    "models",
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
