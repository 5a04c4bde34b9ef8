#!/usr/bin/env bash
# The README's test command: set up (idempotent), then run the suite.
# Two tiers (docs/design.md "The suite"): NOISY_META_TESTS=fast (default) runs
# every test but the whole-job ones (marked `job`); =jobs runs only those;
# =all runs both. .ci/run runs fast, then jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${NOISY_META_TESTS:-fast}" in
  fast) tier=(-m "not job") ;;
  jobs) tier=(-m job) ;;
  all) tier=() ;;
  *) echo "error: NOISY_META_TESTS must be fast, jobs or all (got '$NOISY_META_TESTS')" >&2
     exit 2 ;;
esac
bash scripts/setup.sh
. scripts/env.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
# One pytest worker per core, at most 4 (NOISY_META_TEST_WORKERS overrides;
# 0: no workers, the suite in this process). Tests share nothing but the
# caches, whose files are written atomically.
cores=$(nproc 2>/dev/null || echo 1)
workers=${NOISY_META_TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}
python -m pytest -q --strict-markers --durations=20 -n "$workers" --dist worksteal "${tier[@]}" \
    tests "$@"
