#!/usr/bin/env bash
# Runs one config for several seeds, one workdir each (resumes finished/partial runs).
#   bash launch/seeds.sh configs/finetune_cola.py runs/cola "0 1 2" [extra flags]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=$1; ROOT=$2; SEEDS=${3:-"0 1 2"}; shift $(( $# > 3 ? 3 : $# ))
case "$CONFIG" in *:*) SEP=",";; *) SEP=":";; esac
for s in $SEEDS; do
  python -m noisy_meta.main --config="${CONFIG}${SEP}seed=${s}" --workdir="${ROOT}/seed${s}" "$@"
done
