#!/usr/bin/env bash
# The README's test command: set up (idempotent), then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export NOISY_META_DATA_DIR=${NOISY_META_DATA_DIR:-$(cd .. && pwd)/shared/data}
export NOISY_META_CACHE=${NOISY_META_CACHE:-$PWD/.cache}
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
python -m pytest -q tests "$@"
