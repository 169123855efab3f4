"""Equivariant layers built on the Gaunt engine: linear maps, nonlinearities, norms, radial bases and the
three operation families of the Gaunt paper (feature interaction, convolution, many-body interaction)."""

from .activation import Gate, SphereGridActivation, normalize2mom
from .facet import FacetMixing
from .interactions import EquivariantConvolution, FeatureInteraction, ManyBodyInteraction
from .linear import Linear, SphericalLinear
from .norm import EquivariantLayerNorm, EquivariantRMSNorm
from .radial import BesselBasis, GaussianBasis, PolynomialCutoff, RadialMLP, SplineBasis

__all__ = [
    "Linear",
    "SphericalLinear",
    "Gate",
    "SphereGridActivation",
    "normalize2mom",
    "FacetMixing",
    "EquivariantLayerNorm",
    "EquivariantRMSNorm",
    "BesselBasis",
    "GaussianBasis",
    "SplineBasis",
    "PolynomialCutoff",
    "RadialMLP",
    "FeatureInteraction",
    "EquivariantConvolution",
    "ManyBodyInteraction",
]
