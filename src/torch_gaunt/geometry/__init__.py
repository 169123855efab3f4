"""Tools for point clouds beyond tensor products, from the papers this library grew from.

- frame averaging and canonicalisation (:mod:`.frame_averaging`): any network made exactly invariant or equivariant
  by evaluating it in the PCA frames of its input;
- invariants of pairs of points, oriented points and poses (:mod:`.pair_invariants`), and which sets are complete;
- vector-neuron layers on ``[..., C, 3]`` features (:mod:`.vector_neurons`);
- an SO(3) Fourier density for single-view pose estimation (:mod:`.pose`).
"""

from .frame_averaging import (
    Canonicalisation,
    DegenerateFrameWarning,
    FrameAverage,
    canonical_frame,
    frame_signs,
    pca_frames,
)
from .pair_invariants import (
    angle_between,
    oriented_pair_invariants,
    point_pair_features,
    point_pair_invariants,
    ponita_counterexample,
    ponita_invariants,
    pose_pair_invariants,
)
from .pose import SO3FourierDensity, SO3PoseHead, num_so3_coefficients, so3_fourier_function, so3_haar_grid
from .vector_neurons import (
    VNInvariant,
    VNKabschHead,
    VNLeakyReLU,
    VNLinear,
    irreps_to_vectors,
    spherical_tensor_to_vectors,
    vectors_to_irreps,
    vectors_to_spherical_tensor,
    vn_centre,
)

__all__ = [
    "FrameAverage",
    "Canonicalisation",
    "DegenerateFrameWarning",
    "pca_frames",
    "canonical_frame",
    "frame_signs",
    "angle_between",
    "point_pair_invariants",
    "ponita_invariants",
    "point_pair_features",
    "oriented_pair_invariants",
    "pose_pair_invariants",
    "ponita_counterexample",
    "SO3FourierDensity",
    "SO3PoseHead",
    "so3_fourier_function",
    "so3_haar_grid",
    "num_so3_coefficients",
    "VNLinear",
    "VNLeakyReLU",
    "VNInvariant",
    "VNKabschHead",
    "vn_centre",
    "vectors_to_irreps",
    "irreps_to_vectors",
    "vectors_to_spherical_tensor",
    "spherical_tensor_to_vectors",
]
