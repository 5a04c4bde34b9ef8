#!/usr/bin/env bash
# MLRC across learners on SemEval (issue 18): for each learner, the grid of
# baseline vs MLRC at FRACTIONS with RUNS runs (per fraction), the control
# (the baseline trained as many examples as MLRC's inner loop adds) on every
# run at the smallest fraction, then one F1-vs-fraction figure and table of
# all learners (bench.research.mlrc_learners). Reruns resume: finished runs and
# controls are read back. For a GPU: on 2 CPU cores a Transformer 1 % run of
# 50 meta-iterations takes about 20 minutes.
#   [MODELS="pa_lstm cgcn transformer"] [FRACTIONS=0.01+0.1] [RUNS=5+2] \
#   [ITERATIONS=1000] [DRY_RUN=1] bash launch/mlrc_learners.sh [ROOT=runs/mlrc_learners]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-runs/mlrc_learners}
MODELS=${MODELS:-pa_lstm cgcn transformer}
FRACTIONS=${FRACTIONS:-0.01+0.1}
RUNS=${RUNS:-5+2}
ITERATIONS=${ITERATIONS:-1000}
SMALLEST=${FRACTIONS%%+*}
FIRST_RUNS=${RUNS%%+*}
say() { if [ "${DRY_RUN:-0}" = 1 ]; then echo "$*"; else "$@"; fi; }
grids=()
for m in $MODELS; do
  arg="model=$m,fractions=$FRACTIONS,runs=$RUNS,iterations=$ITERATIONS"
  say python -m noisy_meta.main --config="configs/mlrc_semeval.py:$arg" --workdir="$ROOT/$m"
  # Examples MLRC's inner loop adds: iterations x B (8) x S (3) x K (10);
  # the control trains the baseline on each run's rows for that many examples.
  rows=$(python -c "print(round($SMALLEST * 7500))")
  epochs=$(( ITERATIONS * 8 * 3 * 10 / rows ))
  runs=$(python -c "print(','.join(map(str, range($FIRST_RUNS))))")
  say python -m bench.research.mlrc_control --config="configs/mlrc_semeval.py:$arg" \
      --workdir="$ROOT/$m" --fraction="$SMALLEST" --runs="$runs" --epochs="$epochs" \
      --eval_every=$(( epochs > 100 ? epochs / 10 : 1 ))
  grids+=(--grid="$m=$ROOT/$m")
done
say python -m bench.research.mlrc_learners "${grids[@]}" --out="$ROOT/mlrc_learners.png"
