#!/usr/bin/env bash
# Selfmix on vs off on the AcAc 450/50 split of train_300K, trained side by side on one GPU for the same wall time.
# Usage: bash benchmarks/selfmix_ablation_gpu.sh DATA_DIR OUT_DIR MINUTES
set -euo pipefail
data=$1 out=$2 minutes=$3
common=(--train_file "$data/train_300K.xyz" --E0s "$data/isolated_atoms.xyz" --valid_fraction 0.1 --num_channels 64
        --max_L 1 --correlation 3 --batch_size 5 --max_num_epochs 400 --swa --default_dtype float64 --device cuda
        --max_minutes "$minutes" --no-progress --seed 123 --work_dir "$out")
python3 -m torch_gaunt.cli train "${common[@]}" --name selfmix_off > "$out/selfmix_off.out" 2>&1 &
python3 -m torch_gaunt.cli train "${common[@]}" --name selfmix_on --selfmix > "$out/selfmix_on.out" 2>&1 &
wait
