"""Metric writers: JSONL in the workdir plus TensorBoard event files."""
import json
import os

import jax
import numpy as np


def _plain(v):
  if isinstance(v, (np.generic, np.ndarray)):
    return v.item() if np.ndim(v) == 0 else np.asarray(v).tolist()
  return v


def write_json(path, obj):
  """Writes JSON atomically (temporary file, then rename)."""
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w") as f:
    json.dump(obj, f, indent=2, sort_keys=True, default=_plain)
    f.write("\n")
  os.replace(tmp, path)


def write_text(path, text):
  """Writes text atomically (temporary file, then rename)."""
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w", encoding="utf-8") as f:
    f.write(text)
  os.replace(tmp, path)


def mean_metrics(pending, step):
  """Means of the device metrics logged since the last report (one host sync).

  Raises FloatingPointError on a non-finite loss, naming the step; the
  caller has not saved since, so the last good checkpoint stays.
  """
  m = jax.tree_util.tree_map(lambda *x: float(np.mean(x)), *jax.device_get(pending))
  if not np.isfinite(m["loss"]):
    raise FloatingPointError(f"Loss is {m['loss']} at step {step}; the last good "
                             "checkpoint is kept in the workdir.")
  return m


class MetricWriter:
  """Scalars to `metrics.jsonl` and TensorBoard (`tb/`); no-op if disabled."""

  def __init__(self, workdir, enabled=True, resume_step=None):
    self.enabled = enabled
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._tb = None
    if not enabled:
      return
    if resume_step is not None and os.path.exists(self.path):
      # Drop lines past the restored step: they are about to be recomputed.
      with open(self.path) as f:
        keep = [l for l in f if json.loads(l).get("step", 0) <= resume_step]
      tmp = self.path + ".tmp"
      with open(tmp, "w") as f:
        f.writelines(keep)
      os.replace(tmp, self.path)
    try:
      from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
      self._tb = SummaryWriter(os.path.join(workdir, "tb"))
    except ImportError:
      self._tb = None

  def write(self, step, scalars, prefix=""):
    if not self.enabled:
      return
    row = {"step": int(step)}
    row.update({prefix + k: _plain(v) for k, v in scalars.items()})
    with open(self.path, "a") as f:
      f.write(json.dumps(row) + "\n")
    if self._tb is not None:
      for k, v in scalars.items():
        if np.ndim(v) == 0:
          self._tb.add_scalar(prefix + k, float(v), int(step))

  def close(self):
    if self._tb is not None:
      self._tb.close()
