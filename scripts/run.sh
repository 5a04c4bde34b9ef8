#!/usr/bin/env bash
# The README's main command: set up (idempotent), then run a config.
#   bash scripts/run.sh [configs/aum_cola.py[:args]] [workdir] [extra flags]
# The default workdir is runs/<config>[_<args>], e.g. runs/aum_cola and
# runs/aum_cola_runlocal, so a smoke run never lands in the main run's folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
CONFIG=${1:-configs/aum_cola.py}
NAME=$(basename "${CONFIG%%:*}" .py)
if [[ "$CONFIG" == *:* ]] && [ -n "${CONFIG#*:}" ]; then
  NAME="${NAME}_$(printf '%s' "${CONFIG#*:}" | tr -c 'A-Za-z0-9.=+-' '_' | tr '=' '-')"
fi
WORKDIR=${2:-runs/$NAME}
shift $(( $# > 2 ? 2 : $# ))
CMD=(python -m noisy_meta.main --config="$CONFIG" --workdir="$WORKDIR" "$@")
if [ -n "${NOISY_META_DRY_RUN:-}" ]; then  # Print the command only (tests).
  echo "${CMD[@]}"
  exit 0
fi
exec "${CMD[@]}"
