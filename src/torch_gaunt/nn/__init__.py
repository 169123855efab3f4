"""Equivariant layers built on the Gaunt engine: linear maps, nonlinearities, norms, radial bases and the
three operation families of the Gaunt paper (feature interaction, convolution, many-body interaction)."""

from .activation import Gate, SphereGridActivation, normalize2mom
from .facet import FacetMixing
from .interactions import (
    CoupledManyBodyInteraction,
    EquivariantConvolution,
    FeatureInteraction,
    ManyBodyInteraction,
    PathConvolution,
)
from .linear import Linear, PathLinear, SphericalLinear
from .norm import EquivariantLayerNorm, EquivariantRMSNorm
from .radial import BesselBasis, GaussianBasis, PolynomialCutoff, RadialMLP, SplineBasis

__all__ = [
    "Linear",
    "SphericalLinear",
    "PathLinear",
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
    "PathConvolution",
    "ManyBodyInteraction",
    "CoupledManyBodyInteraction",
]
