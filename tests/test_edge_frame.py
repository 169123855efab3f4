import torch

from torch_gaunt.so3 import angles_to_matrix, spherical_harmonics, wigner_D_matrix
from torch_gaunt.so3.edge_frame import edge_frame

F64 = torch.float64


def test_frame_rotation_is_the_wigner_matrix_of_the_edge():
    v = torch.randn(7, 3, dtype=F64)
    L = 5
    frame = edge_frame(v, L)
    x, y, z = v.unbind(-1)
    theta, phi = torch.atan2(torch.sqrt(x * x + z * z), y), torch.atan2(x, z)
    Q = angles_to_matrix(phi, theta, torch.zeros_like(phi))  # R_y(φ) R_x(θ): ŷ -> v̂
    assert (Q[:, :, 1] - torch.nn.functional.normalize(v, dim=-1)).abs().max() < 1e-14
    D = wigner_D_matrix(L, Q)
    features = torch.randn(7, (L + 1) ** 2, 4, dtype=F64)
    assert (frame.from_frame(features) - D @ features).abs().max() < 1e-12
    assert (frame.to_frame(features) - D.mT @ features).abs().max() < 1e-12


def test_edge_harmonics_in_the_frame_are_zonal():
    v = torch.cat([torch.randn(5, 3, dtype=F64), torch.tensor([[0.0, 1.0, 0.0], [0.0, -2.0, 0.0]], dtype=F64)])
    L = 6
    in_frame = edge_frame(v, L).to_frame(spherical_harmonics(v, L)[..., None])[..., 0]
    zonal = torch.tensor([m == 0 for l in range(L + 1) for m in range(-l, l + 1)])
    assert in_frame[:, ~zonal].abs().max() < 1e-13
    expected = torch.sqrt((2 * torch.arange(L + 1, dtype=F64) + 1) / (4 * torch.pi))
    assert (in_frame[:, zonal] - expected).abs().max() < 1e-13
