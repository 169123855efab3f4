"""Learning curves of Gaunt-MACE against mace-torch on AcAc (same split, size, schedule, batches, E0s, seeds).

python -m venv .venv-mace && .venv-mace/bin/pip install torch==2.13.0 && .venv-mace/bin/pip install -e ".[bench-mace]"
python benchmarks/learning_curves.py run mace --seed 123               # runs/learning/mace_seed123
python benchmarks/learning_curves.py run ours --seed 123               # runs/learning/ours_seed123
python benchmarks/learning_curves.py run ours --seed 123 --minutes 60 --label ours_60min
python benchmarks/learning_curves.py report runs/learning/*_seed* --out docs/experiments/learning/acac
"""

import sys

from torch_gaunt.bench.learning import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
