#!/usr/bin/env bash
# The README's main command: set up (idempotent), then run a config.
#   bash scripts/run.sh [configs/aum_cola.py[:args]] [workdir] [extra flags]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export NOISY_META_DATA_DIR=${NOISY_META_DATA_DIR:-$(cd .. && pwd)/shared/data}
CONFIG=${1:-configs/aum_cola.py}
WORKDIR=${2:-runs/$(basename "${CONFIG%%:*}" .py)}
shift $(( $# > 2 ? 2 : $# ))
python -m noisy_meta.main --config="$CONFIG" --workdir="$WORKDIR" "$@"
