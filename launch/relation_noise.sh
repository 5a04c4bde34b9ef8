#!/usr/bin/env bash
# Finding mislabelled relation examples on SemEval (issue 19), per learner:
# a clean supervised model (whose test confusions give pair noise its
# pairing), then the detector benchmark's relation grid (uniform, direction
# and pair noise at 20 %, three noise seeds, and the original training set;
# AUM, confident learning on K folds, loss ranking and the rest side by side)
# with the cleaning retrains. Reruns resume.
#   [MODELS="pa_lstm transformer"] [CLEAN_SEEDS=3] [DRY_RUN=1] \
#       bash launch/relation_noise.sh [ROOT=runs/relation_noise]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-runs/relation_noise}
MODELS=${MODELS:-pa_lstm transformer}
say() { if [ "${DRY_RUN:-0}" = 1 ]; then echo "$*"; else "$@"; fi; }
for m in $MODELS; do
  say python -m noisy_meta.main --config="configs/re_semeval.py:model=$m" \
      --workdir="$ROOT/$m/supervised"
  say python -m bench.research.detectors \
      --grid="configs/detectors_relation.py:model=$m,pairing=$ROOT/$m/supervised,clean_seeds=${CLEAN_SEEDS:-3}" \
      --out="$ROOT/$m/bench"
done
