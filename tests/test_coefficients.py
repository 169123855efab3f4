import itertools
import math

import pytest
import torch
from e3nn import o3
from sympy.physics.wigner import real_gaunt, wigner_3j

from torch_gaunt.so3 import clebsch_gordan, gaunt_cg_ratio, gaunt_coefficients, random_rotation, wigner_D

TRIPLES = [(l1, l2, l3) for l1, l2 in itertools.product(range(6), repeat=2) for l3 in range(abs(l1 - l2), l1 + l2 + 1)]


@pytest.mark.parametrize("triple", TRIPLES)
def test_clebsch_gordan_matches_e3nn(triple):
    assert (clebsch_gordan(*triple) - o3.wigner_3j(*triple, dtype=torch.float64)).abs().max() < 1e-13


@pytest.mark.parametrize("triple", [(10, 8, 12), (12, 12, 7), (9, 4, 13)])
def test_clebsch_gordan_matches_e3nn_higher(triple):
    assert (clebsch_gordan(*triple) - o3.wigner_3j(*triple, dtype=torch.float64)).abs().max() < 1e-13


@pytest.mark.parametrize("triple", [(3, 5, 4), (20, 20, 20), (25, 14, 30)])
def test_clebsch_gordan_invariant_any_degree(triple):
    R = random_rotation(dtype=torch.float64)
    D1, D2, D3 = (wigner_D(l, R) for l in triple)
    C = clebsch_gordan(*triple)
    rotated = torch.einsum("ia,jb,kc,abc->ijk", D1, D2, D3, C)
    assert (rotated - C).abs().max() < 1e-11
    assert abs(C.norm().item() - 1) < 1e-13


@pytest.mark.parametrize("triple", [(0, 0, 0), (1, 1, 2), (2, 2, 2), (1, 2, 3), (2, 3, 3), (3, 3, 4), (2, 4, 4)])
def test_gaunt_matches_sympy(triple):
    # sympy's real spherical harmonics have the same values as ours for these coefficients (identity sign map)
    l1, l2, l3 = triple
    expected = torch.tensor(
        [
            [[float(real_gaunt(l1, l2, l3, m1, m2, m3)) for m3 in range(-l3, l3 + 1)] for m2 in range(-l2, l2 + 1)]
            for m1 in range(-l1, l1 + 1)
        ],
        dtype=torch.float64,
    )
    assert (gaunt_coefficients(*triple) - expected).abs().max() < 1e-14


@pytest.mark.parametrize("triple", [(1, 2, 3), (4, 4, 4), (6, 5, 3), (10, 9, 11), (16, 16, 16)])
def test_gaunt_is_multiple_of_clebsch_gordan(triple):
    l1, l2, l3 = triple
    g = gaunt_cg_ratio(*triple)
    threej = float(wigner_3j(l1, l2, l3, 0, 0, 0))
    assert abs(abs(g) - math.sqrt((2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1) / (4 * math.pi)) * abs(threej)) < 1e-13
    assert (gaunt_coefficients(*triple) - g * clebsch_gordan(*triple)).abs().max() < 1e-13


def test_gaunt_vanishes_for_odd_sums():
    assert gaunt_coefficients(1, 1, 1).abs().max() == 0
    assert gaunt_cg_ratio(2, 2, 3) == 0


def test_dtype_device_and_cache():
    C = clebsch_gordan(2, 2, 2, dtype=torch.float32)
    assert C.dtype == torch.float32 and C.device.type == "cpu"
    assert clebsch_gordan(2, 2, 2, dtype=torch.float32) is C


def test_bad_input():
    with pytest.raises(ValueError, match="triangle"):
        clebsch_gordan(1, 1, 3)
    with pytest.raises(ValueError, match="l2: expected a non-negative degree"):
        gaunt_coefficients(1, -1, 1)
    with pytest.raises(TypeError, match="l1"):
        clebsch_gordan(1.5, 1, 1)
