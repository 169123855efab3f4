"""Spherical harmonics vs e3nn and sphericart: same as ``torch-gaunt bench sh [options]``.

python benchmarks/spherical_harmonics.py --out docs/benchmarks
"""

import sys

from torch_gaunt.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", "sh", *sys.argv[1:]]))
