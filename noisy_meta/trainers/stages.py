"""Stage bookkeeping of the multi-run methods (AUM, MLRC): a stage is a
sub-workdir that is finished once its metrics.json exists; a finished stage
is read back instead of retrained, and its checkpoints may go."""
import json
import os
import shutil

from absl import logging

from noisy_meta.core import errors
from noisy_meta.core import parallel

# What every reader of a stage's metrics.json needs (supervised.fit writes
# them): its final dev scores, its step count and its training time.
NEEDED = {"dev": dict, "steps": int, "train_seconds": (int, float)}

# Results a stage writes after its metrics.json (trainers/aum.py): while one
# exists the stage is taken as finished, so a damaged metrics.json is refused.
DERIVED = ("dynamics.npz", "outputs.npz")


def _damage(name):
  """(why the metrics.json at `name` is not a finished stage's, or "" if it
  is; the result when it is, else None)."""
  try:
    with open(name, encoding="utf-8") as f:
      result = json.load(f)
  except (ValueError, UnicodeDecodeError) as e:
    return f"not readable JSON: {e}", None
  if not isinstance(result, dict):
    return f"a JSON {type(result).__name__}, not an object", None
  wrong = [k for k, t in NEEDED.items()
           if not isinstance(result.get(k), t) or isinstance(result.get(k), bool)]
  if wrong:
    return f"no valid {', '.join(wrong)}", None
  return "", result


def finished(path):
  """The stage's metrics.json as a dict, or None while it is not finished.

  A metrics.json that is not a JSON object with the NEEDED fields is
  damage: the stage is unfinished (it trains again, resuming from its
  checkpoints if kept: the same result, as runs are deterministic) with a
  warning, the file kept as metrics.json.damaged. Where results derived from
  it exist (DERIVED), retraining would leave them behind: an InputError.
  """
  name = os.path.join(path, "metrics.json")
  if not os.path.exists(name):
    return None
  why, result = _damage(name)
  if not why:
    return result
  derived = [d for d in DERIVED if os.path.exists(os.path.join(path, d))]
  if derived:
    raise errors.InputError(
        f"{name}: a finished stage's results, but {why}; its {derived[0]} was made by the "
        f"same run: restore the file, or delete {path} to train this stage again.")
  logging.warning("%s: a finished stage's results, but %s; kept as metrics.json.damaged, "
                  "the stage is trained again.", name, why)
  if parallel.is_lead():
    os.replace(name, name + ".damaged")
  return None


def drop_checkpoints(path):
  """Removes a finished stage's ckpt/ (its results are in its files)."""
  if parallel.is_lead():
    shutil.rmtree(os.path.join(path, "ckpt"), ignore_errors=True)
