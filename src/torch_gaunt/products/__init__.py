"""Tensor products and the descriptions they execute.

- :func:`gaunt_tensor_product` / :class:`GauntTensorProduct`: Gaunt products by the ``dense``, ``grid`` and
  ``fourier`` executors (``backends/``), ``auto`` picking one with :func:`select_method`;
- :func:`gaunt_convolution`: Gaunt products of node features with edge harmonics, summed per receiver
  (:func:`convolution_edge_basis` and :func:`convolution_from_edge_basis` split it into per-edge and summed work);
- :func:`path_convolution`: the same with a weight and a message slot per path (MACE's convolution);
- :func:`many_body_product`: the ν-fold products of reweighted copies of one spherical tensor;
- :func:`coupled_many_body_product`: the same products with one weight per coupling;
- :func:`pointwise_on_sphere`: any pointwise function of spherical functions, on a grid;
- :func:`vector_gaunt_product`: the cross product of vector fields (the odd paths);
- :class:`CGTensorProduct`: the Clebsch-Gordan reference with e3nn's semantics;
- :func:`expressivity`: how many bilinear maps each product can express between linear layers.
"""

from .clebsch_gordan import CGTensorProduct, Instruction, channelwise_instructions, fully_connected_instructions
from .convolution import (
    CONVOLUTION_METHODS,
    convolution_edge_basis,
    convolution_from_edge_basis,
    gaunt_convolution,
    node_sum_executor,
    prepare_convolution,
)
from .description import (
    CoupledManyBodyDescription,
    GauntDescription,
    ManyBodyDescription,
    PathConvolutionDescription,
)
from .expressivity import expressivity, expressivity_by_rank
from .gaunt import METHODS, GauntTensorProduct, gaunt_tensor_product, select_method
from .many_body import coupled_many_body_product, many_body_product
from .path_convolution import path_convolution, path_normalization
from .pointwise import pointwise_on_sphere
from .vector_gaunt import VectorGauntProduct, vector_gaunt_product, vsh_irreps, vsh_to_components

__all__ = [
    "gaunt_tensor_product",
    "GauntTensorProduct",
    "select_method",
    "METHODS",
    "GauntDescription",
    "gaunt_convolution",
    "node_sum_executor",
    "convolution_edge_basis",
    "convolution_from_edge_basis",
    "prepare_convolution",
    "CONVOLUTION_METHODS",
    "path_convolution",
    "path_normalization",
    "PathConvolutionDescription",
    "many_body_product",
    "ManyBodyDescription",
    "coupled_many_body_product",
    "CoupledManyBodyDescription",
    "pointwise_on_sphere",
    "vector_gaunt_product",
    "VectorGauntProduct",
    "vsh_irreps",
    "vsh_to_components",
    "CGTensorProduct",
    "expressivity",
    "expressivity_by_rank",
    "Instruction",
    "channelwise_instructions",
    "fully_connected_instructions",
]
