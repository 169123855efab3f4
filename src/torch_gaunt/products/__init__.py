"""Tensor products: Gaunt (dense / grid / fourier executors) and the Clebsch-Gordan reference."""

from .clebsch_gordan import CGTensorProduct, Instruction, channelwise_instructions, fully_connected_instructions
from .description import GauntDescription
from .gaunt import METHODS, GauntTensorProduct, gaunt_tensor_product, select_method
