#!/usr/bin/env bash
# Seed 004 on SemEval: baseline vs MLRC for PA-LSTM and C-GCN over a grid of
# training fractions, RUNS runs each (the paper averages 10). Each workdir gets
# report.md (Table 1 at the smallest fraction) and f1_vs_fraction.png
# (Figure 1a for PA-LSTM, 2a for C-GCN). For a GPU/TPU: on 2 CPU cores one
# 1 % run takes about half an hour (1000 meta-iterations) and a 100 % run
# hours. Reruns resume (finished runs are read back).
#   [PARALLEL=1] [RUNS=10] [FRACTIONS=0.01+0.02+0.05+0.1+0.2+0.5+1] \
#       bash launch/mlrc_paper.sh [ROOT=runs/mlrc_paper] [extra flags]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-runs/mlrc_paper}; shift $(( $# > 1 ? 1 : $# ))
# Defaults: the paper's grid, from configs/mlrc_semeval.py (PAPER_GRID).
GRID='from configs import mlrc_semeval as m; g = m.PAPER_GRID'
RUNS=${RUNS:-$(python -c "$GRID; print(g['runs'])")}
FRACTIONS=${FRACTIONS:-$(python -c "$GRID; print('+'.join(f'{f:g}' for f in g['fractions']))")}
run() {
  python -m noisy_meta.main \
      --config="configs/mlrc_semeval.py:model=$1,fractions=$FRACTIONS,runs=$RUNS" \
      --workdir="$ROOT/$1" "${@:2}"
}
if [ "${PARALLEL:-0}" = 1 ]; then  # Both learners share one accelerator.
  export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.45}
  run pa_lstm "$@" & pids=($!)
  run cgcn "$@" & pids+=($!)
  for p in "${pids[@]}"; do wait "$p"; done  # Fails if either failed.
else
  run pa_lstm "$@"
  run cgcn "$@"
fi
