"""The ``torch-gaunt`` command: one module per subcommand (``train``, ``evaluate``, ``md``, ``export``,
``bench``, ``expressivity``).

``torch-gaunt`` alone prints this help; ``torch-gaunt bench --help`` lists the benchmarks.
"""

from __future__ import annotations

import argparse
import sys

from . import bench, evaluate, export, expressivity, md, train

__all__ = ["main", "build_parser"]

SUBCOMMANDS = {
    "train": train,
    "evaluate": evaluate,
    "md": md,
    "export": export,
    "bench": bench,
    "expressivity": expressivity,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torch-gaunt", description="Fast E(3)-equivariant operations through Gaunt tensor products."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        module.add_parser(commands, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 0
    if argv[0] == "bench":
        argv = bench.default_subcommand(argv)
    args = parser.parse_args(argv)
    return args.run(args, argv) or 0


if __name__ == "__main__":
    raise SystemExit(main())
