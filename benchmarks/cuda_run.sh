#!/usr/bin/env bash
# The one prepared GPU run of issue 20, 8-9 minutes on one GPU (each part has a timeout): the device tests on CUDA, then Gaunt-MACE
# against mace-torch with and without cuEquivariance, the Gaunt tensor products against e3nn, and the layers
# against e3nn, MACE and cuEquivariance, all on the GPU, interleaved as on the CPU. Everything lands in OUT:
# log.txt (all output) and results.tgz (every report: .md, .json, .png).
#
# Prepare here: bash benchmarks/cuda_wheels.sh .whl   (then carry .whl to the GPU machine)
# There:        bash benchmarks/cuda_run.sh "$OUT" [.whl]
# Dry run on a CPU with the environments of this machine (checks the plumbing, times nothing worth quoting):
#   DEVICE=cpu QUICK=1 PYTHON=.venv/bin/python MACE_PYTHON=.venv-mace/bin/python bash benchmarks/cuda_run.sh OUT
set -uo pipefail
out=${1:?usage: cuda_run.sh OUT [WHEELS]}
wheels=${2:-.whl}
device=${DEVICE:-cuda}
quick=${QUICK:-0}
mkdir -p "$out"
results=$(mktemp -d)
log="$out/log.txt"
exec > >(tee "$log") 2>&1

if [ -z "${PYTHON:-}" ]; then  # the GPU machine: install the carried wheels beside its own packages
    install() { python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$1" "${@:2}"; }
    install /tmp/site "$wheels"/ours/*.whl || exit 1
    install /tmp/mace-site "$wheels"/mace/*.whl || exit 1
    if [ -f "$wheels/ops.tar.xz" ]; then
        python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall('/tmp/site')" "$wheels/ops.tar.xz"
    fi
    printf '#!/bin/sh\nPYTHONPATH=/tmp/mace-site:/tmp/site exec python3 "$@"\n' > /tmp/mace-python
    chmod +x /tmp/mace-python
    export PYTHONPATH="$PWD/src:/tmp/site"
    PYTHON=python3
    MACE_PYTHON=/tmp/mace-python
fi
MACE_PYTHON=${MACE_PYTHON:-}
export PYTHONUNBUFFERED=1
export MACE_CUEQ_CACHE=/tmp/mace-cueq-models  # batch 64 reuses the models that batch 5 converted
step() {  # step SECONDS NAME COMMAND...: one part, stopped after SECONDS so that the rest still runs
    local seconds=$1 name=$2
    shift 2
    echo "=== $name ($(date -u +%H:%M:%S), at most ${seconds} s): $*"
    timeout "$seconds" "$@"
    echo "=== $name: exit $?"
}
bench() {  # bench SECONDS NAME OP ARGS...: torch-gaunt bench OP on the device
    step "$1" "$2" "$PYTHON" -m torch_gaunt.cli bench "$3" --device "$device" "${@:4}"
}
"$PYTHON" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
"$PYTHON" -c "import cuequivariance_torch, importlib.util as u; print('cuequivariance ops:', u.find_spec('cuequivariance_ops_torch') is not None)"
mace=()
[ -n "$MACE_PYTHON" ] && mace=(--mace-python "$MACE_PYTHON")
if [ "$quick" = 1 ]; then
    sizes=(8x1)
    dtypes=(--dtypes float32)
    potential_seconds=120
    lmax_tp=(--lmax 1 2)
    lmax_layers=(--lmax 1)
    atoms=32
else
    sizes=(64x1 128x2)
    dtypes=(--dtypes float32 float64)
    potential_seconds=50
    lmax_tp=(--lmax 1 2 3 4 5 6 7 8 10 12 14 16)
    lmax_layers=()
    atoms=2048
fi

# mace-torch's conversion to cuEquivariance takes 25-70 s per model on one core: convert every model the
# potential benchmarks need at once, in the background, while the device tests run (the workers save them in
# $MACE_CUEQ_CACHE and exit when their input ends)
"$PYTHON" benchmarks/copper_cell.py /tmp/cu.xyz --atoms "$atoms"
demo=$("$PYTHON" -c "from torch_gaunt.cli.train import DEMO_DATA; print(DEMO_DATA)")
converting=()
if [ -n "$MACE_PYTHON" ]; then
    for structures in "$demo" /tmp/cu.xyz; do
        for size in "${sizes[@]}"; do
            for dtype in "${dtypes[@]:1}"; do
                timeout 150 "$MACE_PYTHON" src/torch_gaunt/bench/mace_potential_worker.py "$structures" 1 5.0 "${size%x*}" \
                    "${size#*x}" 3 "$dtype" "$device" cueq < /dev/null > /dev/null 2>&1 &
                converting+=($!)
            done
        done
    done
fi
step 45 "device tests" "$PYTHON" -m pytest tests/test_device.py --device "$device" -q -p no:cacheprovider
[ ${#converting[@]} -gt 0 ] && wait "${converting[@]}"
for batch in 5 64 cu; do  # one call per structure and size, so that one that runs out of time loses only itself
    structures=$demo
    [ "$batch" = cu ] && structures=/tmp/cu.xyz
    for size in "${sizes[@]}"; do
        bench "$potential_seconds" "potential, batch $batch, $size" potential --structures "$structures" \
            --batch_size "${batch/cu/1}" --sizes "$size" "${dtypes[@]}" "${mace[@]}" --mace-backends e3nn cueq \
            --variants ours --rounds 5 --out "$results/potential_${batch}_$size"
    done
done
bench 40 "tensor products" tp "${lmax_tp[@]}" --out "$results/tp"
bench 15 "convolution" convolution "${lmax_layers[@]}" --out "$results/convolution"
bench 25 "many-body" manybody "${lmax_layers[@]}" "${mace[@]}" --out "$results/manybody"
tar czf "$out/results.tgz" -C "$results" .
echo "wrote $out/results.tgz and $log"
