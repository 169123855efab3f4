#!/usr/bin/env bash
# Short rMD17 runs (ethanol, aspirin) side by side on one GPU, each for the same wall time.
# Usage: bash benchmarks/rmd17_gpu.sh RMD17_DIR OUT_DIR MINUTES
set -euo pipefail
data=$1 out=$2 minutes=$3
common=(--num_channels 64 --max_L 1 --correlation 3 --r_max 5.0 --batch_size 5 --max_num_epochs 1000 --swa
        --default_dtype float64 --device cuda --max_minutes "$minutes" --no-progress --seed 123 --work_dir "$out"
        --E0s "$data/ethanol/isolated_atoms.xyz")
python3 -m torch_gaunt.cli train "${common[@]}" --name ethanol --train_file "$data/ethanol/train.xyz" \
    --valid_fraction 0.05 --test_file "$data/ethanol/test_MD.xyz" > "$out/ethanol.out" 2>&1 &
python3 -m torch_gaunt.cli train "${common[@]}" --name aspirin --train_file "$data/aspirin/rmd17_aspirin_train.xyz" \
    --valid_fraction 0.0417 --max_train 950 --test_file "$data/aspirin/rmd17_aspirin_test.xyz" > "$out/aspirin.out" 2>&1 &
wait
