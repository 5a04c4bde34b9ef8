#!/usr/bin/env bash
# The README's test command: set up (idempotent), then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
python -m pytest -q --durations=20 tests "$@"
