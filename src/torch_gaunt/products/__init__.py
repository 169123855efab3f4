"""Tensor products: the Gaunt tensor product (dense / grid / fourier executors)."""

from .description import GauntDescription
from .gaunt import METHODS, GauntTensorProduct, gaunt_tensor_product, select_method
