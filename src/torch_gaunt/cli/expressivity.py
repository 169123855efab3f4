"""``torch-gaunt expressivity``: how many bilinear maps CG, Gaunt and vector Gaunt products can express.

Counts, for features holding one copy of each degree ``0..L``, the independent equivariant bilinear maps that
``linear ∘ product ∘ (linear, linear)`` reaches (Xie et al., "The Price of Freedom"; see
``torch_gaunt.products.expressivity``), and with ``--check L`` confirms the counts up to ``L`` by computing the
rank of the span of those maps by brute force.
"""

from __future__ import annotations

import argparse


def add_parser(commands, name: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help="count the bilinear maps each product can express", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--lmax", type=int, nargs="+", default=[1, 2, 3, 4, 6, 8], help="degrees L for the table")
    parser.add_argument("--check", type=int, default=None, metavar="L", help="brute-force rank check for L' <= L")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from .._checks import check_degree
    from ..products.expressivity import PRODUCTS, expressivity, expressivity_by_rank, expressivity_table

    for L in args.lmax:
        check_degree("--lmax", L)
    print(expressivity_table(args.lmax))
    if args.check is None:
        return 0
    check_degree("--check", args.check)
    failures = 0
    print(f"\nbrute-force rank check, L = 0..{args.check}:")
    for L in range(args.check + 1):
        for product in PRODUCTS:
            counted, rank = expressivity(product, L), expressivity_by_rank(product, L)
            failures += counted != rank
            print(
                f"  L = {L}  {product:<20s} counted {counted:5d}  rank {rank:5d}  {'ok' if counted == rank else 'DIFFERENT'}"
            )
    return 1 if failures else 0
