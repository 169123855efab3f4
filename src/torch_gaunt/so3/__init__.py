"""SO(3)/O(3) core: irreps, spherical harmonics, rotations, Wigner-D, Clebsch-Gordan and Gaunt coefficients."""

from .coefficients import clebsch_gordan, gaunt_allowed, gaunt_cg_ratio, gaunt_coefficients, triangle
from .edge_frame import EdgeFrame, edge_frame
from .irreps import Irrep, Irreps, MulIrrep
from .quadrature import exact_grid_size, gauss_legendre_grid, sphere_grid_points
from .rotations import (
    angles_to_matrix,
    axis_angle_to_matrix,
    geodesic_angle,
    kabsch,
    matrix_to_angles,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    matrix_to_rotation_vector,
    quaternion_to_matrix,
    random_rotation,
    rotation_6d_to_matrix,
    rotation_vector_to_matrix,
    special_procrustes,
)
from .spherical_harmonics import SphericalHarmonics, associated_legendre, spherical_harmonics
from .spherical_tensor import (
    degree_index,
    degree_of,
    degree_slice,
    irreps_to_spherical_tensor,
    lm_index,
    num_coefficients,
    spherical_tensor_irreps,
    spherical_tensor_layout,
    spherical_tensor_to_irreps,
)
from .wigner import (
    representation_matrix,
    wigner_D,
    wigner_D_blocks,
    wigner_D_from_angles,
    wigner_D_from_axis_angle,
    wigner_D_from_quaternion,
    wigner_D_matrix,
)

__all__ = [
    # irreps and the spherical-tensor layout
    "Irrep",
    "Irreps",
    "MulIrrep",
    "num_coefficients",
    "degree_of",
    "degree_slice",
    "degree_index",
    "lm_index",
    "spherical_tensor_irreps",
    "spherical_tensor_layout",
    "irreps_to_spherical_tensor",
    "spherical_tensor_to_irreps",
    # functions on the sphere
    "spherical_harmonics",
    "SphericalHarmonics",
    "associated_legendre",
    "exact_grid_size",
    "gauss_legendre_grid",
    "sphere_grid_points",
    # rotations and their representations
    "random_rotation",
    "angles_to_matrix",
    "matrix_to_angles",
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
    "quaternion_to_matrix",
    "matrix_to_quaternion",
    "rotation_vector_to_matrix",
    "matrix_to_rotation_vector",
    "rotation_6d_to_matrix",
    "matrix_to_rotation_6d",
    "geodesic_angle",
    "special_procrustes",
    "kabsch",
    "representation_matrix",
    "wigner_D",
    "wigner_D_blocks",
    "wigner_D_matrix",
    "wigner_D_from_angles",
    "wigner_D_from_quaternion",
    "wigner_D_from_axis_angle",
    "EdgeFrame",
    "edge_frame",
    # coupling coefficients
    "clebsch_gordan",
    "gaunt_coefficients",
    "gaunt_cg_ratio",
    "gaunt_allowed",
    "triangle",
]
