#!/usr/bin/env bash
# Wheels for the one prepared GPU run (benchmarks/cuda_run.sh), fetched here, where pip reaches an index, for the
# GPU machine's Python 3.12 (x86-64), which reaches none. That machine has torch (CUDA 13), numpy, scipy, sympy,
# e3nn, pytest and matplotlib; it lacks the rest:
#   DIR/ours: ase, vesin, cuequivariance, cuequivariance-torch (our side and the cuEquivariance opponents)
#   DIR/mace: mace-torch with e3nn 0.4.4 and the requirements that machine lacks (MACE's own environment)
#   DIR/ops.tar.xz: cuEquivariance's CUDA ops (cuequivariance-ops-cu13, -ops-torch-cu13), unpacked and xz-packed,
#   because the two wheels (74 MB) alone exceed what one call may carry (64 MiB with the working tree).
# Usage: bash benchmarks/cuda_wheels.sh [DIR]   (default .whl, which git ignores; carry it: carry=[".whl"])
set -euo pipefail
dir=${1:-.whl}
mkdir -p "$dir/ours" "$dir/mace"
platforms=()
for n in 17 24 27 28 31 34 35; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
platforms+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64)
get() {  # get FOLDER PACKAGE...
    local folder=$1
    shift
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        "${platforms[@]}" -d "$folder" "$@"
}
get "$dir/ours" ase vesin cuequivariance==0.13.0 cuequivariance-torch==0.13.0
get "$dir/mace" mace-torch==0.3.16 e3nn==0.4.4 opt-einsum-fx configargparse gitpython gitdb smmap lmdb matscipy \
    orjson prettytable wcwidth torch-ema
ops=$(mktemp -d)
get "$ops" cuequivariance-ops-cu13==0.13.0 cuequivariance-ops-torch-cu13==0.13.0
mkdir -p "$ops/site"
for w in "$ops"/*.whl; do python3 -m zipfile -e "$w" "$ops/site"; done
python3 - "$ops/site" "$dir/ops.tar.xz" <<'PY'
import os, sys, tarfile
source, target = sys.argv[1:]
with tarfile.open(target + ".part", "w:xz", preset=6) as tar:
    for name in sorted(os.listdir(source)):
        tar.add(os.path.join(source, name), arcname=name)
os.replace(target + ".part", target)
PY
rm -rf "$ops"
du -sh "$dir"/* | sed 's/^/  /'
