# Sourced by run.sh and test.sh: one virtualenv, one data directory, one cache.
. .venv/bin/activate
export NOISY_META_DATA_DIR=${NOISY_META_DATA_DIR:-$(cd .. && pwd)/shared/data}
# Tokenisation, spaCy and compilation caches: the same for jobs and tests.
export NOISY_META_CACHE=${NOISY_META_CACHE:-$PWD/.cache}
