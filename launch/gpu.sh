#!/usr/bin/env bash
# One config on this machine's GPUs: one process, its mesh over every visible
# GPU. SETUP=1 first makes .venv (scripts/setup.sh) and adds the CUDA 12 build
# of the jax version installed there. JAX_PLATFORMS=cuda (the default here)
# makes a missing GPU an error instead of a silent CPU run.
#   [SETUP=1] [GPUS=0,1] [JAX='jax[cuda12]==X'] bash launch/gpu.sh \
#       [CONFIG=configs/aum_cola.py] [WORKDIR=runs/<config name>] [extra flags]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/aum_cola.py}
WORKDIR=${2:-runs/$(basename "${CONFIG%%:*}" .py)}
shift $(( $# > 2 ? 2 : $# ))
if [ "${SETUP:-0}" = 1 ]; then
  bash scripts/setup.sh
  . .venv/bin/activate
  # The same jax as the tested CPU install, with its CUDA plugin and libraries.
  JAX=${JAX:-"jax[cuda12]==$(python -c 'import importlib.metadata as m; print(m.version("jax"))')"}
  python -m pip install -q "$JAX"
fi
if [ ! -x .venv/bin/python ]; then
  echo "gpu: error: no .venv here: run once with SETUP=1." >&2
  exit 2
fi
. .venv/bin/activate
if [ -n "${GPUS:-}" ]; then export CUDA_VISIBLE_DEVICES=$GPUS; fi
export JAX_PLATFORMS=${JAX_PLATFORMS-cuda}  # Set it empty to let jax pick.
export NOISY_META_DATA_DIR=${NOISY_META_DATA_DIR:-$(cd .. && pwd)/shared/data}
python -m noisy_meta.main --config="$CONFIG" --workdir="$WORKDIR" "$@"
