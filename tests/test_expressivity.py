"""The expressivity count (Price of Freedom) against a brute-force rank of the maps the products express."""

from __future__ import annotations

import pytest

from torch_gaunt.cli import main as torch_gaunt
from torch_gaunt.products.expressivity import PRODUCTS, expressivity, expressivity_by_rank, paths


@pytest.mark.parametrize("lmax", [0, 1, 2, 3])
@pytest.mark.parametrize("product", PRODUCTS)
def test_count_equals_brute_force_rank(product, lmax):
    assert expressivity(product, lmax) == expressivity_by_rank(product, lmax)


def test_counts_by_hand():
    # L = 1: paths 000, 011, 101, 110, 111; Gaunt loses 111 (the cross product), vector Gaunt loses 000
    assert paths(1) == [(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0), (1, 1, 1)]
    assert [expressivity(p, 1) for p in PRODUCTS] == [5, 4, 4, 5]
    # the Gaunt share of the paths falls towards one half as L grows
    assert 0.5 < expressivity("gaunt", 12) / expressivity("cg", 12) < 0.6


def test_command_prints_table_and_checks(capsys):
    assert torch_gaunt(["expressivity", "--lmax", "1", "2", "--check", "1"]) == 0
    out = capsys.readouterr().out
    assert "| 2 | 15 | 11 | 14 | 15 | 0.73 |" in out
    assert "DIFFERENT" not in out and out.count(" ok") == 8
    with pytest.raises(ValueError, match="product"):
        expressivity("matrix", 2)
