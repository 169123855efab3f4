"""The Gaunt paper's operation families vs peers: same as ``torch-gaunt bench {interaction,convolution,manybody}``.

python benchmarks/layers.py interaction --out docs/benchmarks
python benchmarks/layers.py convolution --out docs/benchmarks
python -m venv .venv-mace && .venv-mace/bin/pip install torch==2.13.0 && .venv-mace/bin/pip install -e ".[bench-mace]"
python benchmarks/layers.py manybody --out docs/benchmarks        # finds .venv-mace (mace-torch pins e3nn 0.4.4)
"""

import sys

from torch_gaunt.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", *sys.argv[1:]]))
