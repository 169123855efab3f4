"""The ``torch-gaunt`` command: one module per subcommand (``train``, ``evaluate``, ``md``, ``lammps``,
``export``, ``bench``, ``expressivity``).

``torch-gaunt`` alone prints this help; ``torch-gaunt bench --help`` lists the benchmarks.

A mistake of the user's (a bad option, a missing or unreadable file, bad data, an unknown element, a model file
from another version) prints one line, ``torch-gaunt <command>: error: <what was expected>``, and exits with status
2, as argparse does for a bad option. ``--debug``, anywhere on the line, shows the Python traceback instead.
"""

from __future__ import annotations

import argparse
import sys

from . import bench, evaluate, export, expressivity, lammps, md, train

__all__ = ["main", "build_parser", "Parser", "USER_ERRORS"]

SUBCOMMANDS = {
    "train": train,
    "evaluate": evaluate,
    "md": md,
    "lammps": lammps,
    "export": export,
    "bench": bench,
    "expressivity": expressivity,
}

USER_ERRORS = (OSError, ValueError, KeyError)
"""What the library raises at its boundary for bad input: a file that is missing or unreadable (``OSError``),
data, elements, options or model files that are not what was expected (``ValueError``, ``KeyError``)."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors take one line and whose parsers all know ``--debug``.

    Every parser (the subcommands' and the benchmarks' too: argparse builds them with this class) stores itself as
    the ``parser`` default, so that ``args.parser`` is the innermost parser the line reached: the one whose name
    an error message should carry.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_defaults(parser=self)
        self.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show the Python traceback of an error"
        )

    def error(self, message: str):
        """Print ``<prog>: error: <message>`` on stderr (no usage block) and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def describe(error: BaseException) -> str:
    """The message of an exception raised at the library's boundary, on one line."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        message = f"{error.filename}: {error.strerror}"
    elif isinstance(error, KeyError) and len(error.args) == 1:
        message = str(error.args[0])
    else:
        message = str(error)
    return " ".join(message.split()) or type(error).__name__


def build_parser() -> Parser:
    parser = Parser(prog="torch-gaunt", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        module.add_parser(commands, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status (2 for the user's
    mistakes, one line on stderr; 130 when interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # anywhere on the line; the subcommands never see it
    argv = [word for word in argv if word != "--debug"]
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 0
    if argv[0] == "bench":
        argv = bench.default_subcommand(argv)
    args, extras = parser.parse_known_args(argv)
    command = args.parser
    if extras:
        command.error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        return args.run(args, argv) or 0
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{command.prog}: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        if debug:
            raise
        print(f"{command.prog}: error: {describe(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
