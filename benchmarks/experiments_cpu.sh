#!/usr/bin/env bash
# One timed Gaunt-MACE training run on the CPU with the default model (64 channels, max_L 1, correlation 3,
# float64, SWA), for the tables of docs/potential.md. Run one at a time, alone on the machine: two runs sharing
# the cores make both tables unquotable.
# Usage: bash benchmarks/experiments_cpu.sh DATA_DIR OUT_DIR {3bpa|ethanol|aspirin} MINUTES
#   DATA_DIR is ../shared/data; the run lands in OUT_DIR/<name> (report.md, errors.json, log, parity plots).
set -euo pipefail
data=$1 out=$2 which=$3 minutes=$4
common=(--num_channels 64 --max_L 1 --correlation 3 --r_max 5.0 --batch_size 5 --max_num_epochs 1000 --swa
        --default_dtype float64 --max_minutes "$minutes" --no-progress --seed 123 --work_dir "$out")
case $which in
  3bpa)    args=(--train_file "$data/3bpa/train_300K.xyz" --valid_fraction 0.1 --E0s "$data/3bpa/iso_atoms.xyz"
                 --test_file "$data/3bpa/train_mixedT.xyz") ;;
  ethanol) args=(--train_file "$data/rmd17/ethanol/train.xyz" --valid_fraction 0.05
                 --E0s "$data/rmd17/ethanol/isolated_atoms.xyz" --test_file "$data/rmd17/ethanol/test_MD.xyz") ;;
  aspirin) args=(--train_file "$data/rmd17/aspirin/rmd17_aspirin_train.xyz" --valid_fraction 0.0417 --max_train 950
                 --E0s "$data/rmd17/ethanol/isolated_atoms.xyz" --test_file "$data/rmd17/aspirin/rmd17_aspirin_test.xyz") ;;
  *) echo "expected one of 3bpa, ethanol, aspirin; got '$which'" >&2; exit 2 ;;
esac
mkdir -p "$out"
exec "${PYTHON:-python3}" -m torch_gaunt.cli train "${common[@]}" --name "$which" "${args[@]}"
