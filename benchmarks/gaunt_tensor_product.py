"""Gaunt tensor products vs e3nn and our CG reference: same as ``torch-gaunt bench tp [options]``.

python benchmarks/gaunt_tensor_product.py --out docs/benchmarks      # the recorded run
python benchmarks/gaunt_tensor_product.py --quick --out ''           # a 30-second look
python benchmarks/gaunt_tensor_product.py --pof --out docs/benchmarks  # with the Price-of-Freedom protocol
"""

import sys

from torch_gaunt.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", "tp", *sys.argv[1:]]))
