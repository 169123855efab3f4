"""Learning curves of Gaunt-MACE against mace-torch on AcAc (same split, size, schedule, batches, E0s, seeds).

python -m venv .venv-mace && .venv-mace/bin/pip install torch==2.13.0 && .venv-mace/bin/pip install -e ".[bench-mace]"
python benchmarks/learning_curves.py run mace --seed 123               # runs/learning/mace_seed123
python benchmarks/learning_curves.py run ours --seed 123               # runs/learning/ours_seed123
python benchmarks/learning_curves.py run ours --seed 123 --minutes 60 --label ours_60min
python benchmarks/learning_curves.py run ours --seed 123 --label perpath --extra "--convolution per_path"
python benchmarks/learning_curves.py report runs/learning/*_seed* --out docs/experiments/learning/acac

The committed report grew from its own data after the first runs' folders were gone (seeds 125 and 126 of both
models last, in two queues of one core each: mace 125 then ours 126, ours 125 then mace 126, OMP_NUM_THREADS=1):
python benchmarks/learning_curves.py report docs/experiments/learning/acac.json runs/learning/{ours,mace}_seed12[56] \
    --out docs/experiments/learning/acac --epochs 10 20 40 80 --compare ours mace --compare perpath mace \
    --untimed ours_seed123 mace_seed123 ours_seed124 mace_seed124 perpath_seed123 perpath_seed124 \
              ours_seed125 mace_seed125 ours_seed126 mace_seed126
"""

import sys

from torch_gaunt.bench.learning import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
