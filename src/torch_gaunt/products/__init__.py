"""Tensor products: Gaunt (dense / grid / fourier executors), the vector Gaunt product and the CG reference."""

from .clebsch_gordan import CGTensorProduct, Instruction, channelwise_instructions, fully_connected_instructions
from .description import GauntDescription
from .gaunt import METHODS, GauntTensorProduct, gaunt_tensor_product, select_method
from .vector_gaunt import VectorGauntProduct, vector_gaunt_product, vsh_irreps, vsh_to_components
