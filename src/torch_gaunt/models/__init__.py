"""Complete models in pure PyTorch: batched atomic graphs, MACE's blocks on Gaunt products, the Gaunt-MACE
potential, its config, and one-file saving and loading."""

from .blocks import ElementLinear, Interaction, LinearReadout, NonLinearReadout, ProductBasis, RadialEmbedding, SelfMix
from .config import ModelConfig
from .graph import AtomicGraph, batch_graphs
from .potential import GauntMACE
from .saving import load_model, save_model

__all__ = [
    "AtomicGraph",
    "batch_graphs",
    "ModelConfig",
    "GauntMACE",
    "save_model",
    "load_model",
    "RadialEmbedding",
    "ElementLinear",
    "Interaction",
    "ProductBasis",
    "SelfMix",
    "LinearReadout",
    "NonLinearReadout",
]
