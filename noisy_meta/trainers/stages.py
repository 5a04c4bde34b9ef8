"""Stage bookkeeping of the multi-run methods (AUM, MLRC): a stage is a
sub-workdir that is finished once its metrics.json exists; a finished stage
is read back instead of retrained, and its checkpoints may go."""
import json
import os
import shutil

from noisy_meta.core import parallel


def finished(path):
  """The stage's metrics.json as a dict, or None while it is not finished."""
  name = os.path.join(path, "metrics.json")
  if not os.path.exists(name):
    return None
  with open(name, encoding="utf-8") as f:
    return json.load(f)


def drop_checkpoints(path):
  """Removes a finished stage's ckpt/ (its results are in its files)."""
  if parallel.is_lead():
    shutil.rmtree(os.path.join(path, "ckpt"), ignore_errors=True)
