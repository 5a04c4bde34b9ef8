#!/usr/bin/env bash
# Seed 000's experiments with MiniLM: CoLA percentile sweep (Table 1 / Fig. 2)
# and SST-2 (10k subset) at 20 % and 40 % injected noise (Table 5), 3 seeds.
# About 10 minutes on one H100 with the three jobs sharing it; hours on CPU.
#   [PARALLEL=1] bash launch/aum_paper.sh [ROOT=runs/aum_paper] [extra flags]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-runs/aum_paper}; shift $(( $# > 1 ? 1 : $# ))
# Checkpoints at epoch ends only: a run is a few seconds on a GPU.
FLAGS=(--config.checkpoint_every=1000000 "$@")
if [ "${PARALLEL:-0}" = 1 ]; then  # PARALLEL=1: three jobs share one GPU.
  # One accelerator, three processes: split its memory (JAX takes 75 % by default).
  export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.28}
  python -m noisy_meta.main --config=configs/aum_cola.py --workdir="$ROOT/cola" "${FLAGS[@]}" & pids=($!)
  python -m noisy_meta.main --config=configs/aum_sst2.py:train_size=10000,noise=0.2 \
      --workdir="$ROOT/sst2_10k_n20" "${FLAGS[@]}" & pids+=($!)
  python -m noisy_meta.main --config=configs/aum_sst2.py:train_size=10000,noise=0.4 \
      --workdir="$ROOT/sst2_10k_n40" "${FLAGS[@]}" & pids+=($!)
  for p in "${pids[@]}"; do wait "$p"; done  # Fails if any job failed.
else
  python -m noisy_meta.main --config=configs/aum_cola.py --workdir="$ROOT/cola" "${FLAGS[@]}"
  for n in 0.2 0.4; do
    python -m noisy_meta.main --config=configs/aum_sst2.py:train_size=10000,noise=$n \
        --workdir="$ROOT/sst2_10k_n${n#0.}0" "${FLAGS[@]}"
  done
fi
