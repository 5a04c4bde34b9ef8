"""Metric writers: JSONL in the workdir plus TensorBoard event files."""
import json
import os

from absl import logging
import jax
import numpy as np

from noisy_meta.core import atomic
from noisy_meta.core import errors


def _plain(v):
  if isinstance(v, (np.generic, np.ndarray)):
    return v.item() if np.ndim(v) == 0 else np.asarray(v).tolist()
  return v


def _nonfinite(v):
  return isinstance(v, float) and not np.isfinite(v)


def _note(v):
  return "undefined: not a number" if np.isnan(v) else "undefined: infinite"


def strict(obj):
  """`obj` with numpy values made plain and every NaN or infinity made None.

  A dict entry `k` that was (or held) a non-finite number gets a sibling
  `k_note` saying so, unless the caller already wrote one with the reason.
  """
  obj = _plain(obj)
  if isinstance(obj, dict):
    out = {}
    for k, v in obj.items():
      v = _plain(v)
      bad = [x for x in (v if isinstance(v, (list, tuple)) else [v]) if _nonfinite(_plain(x))]
      out[k] = strict(v)
      note = f"{k}_note"
      if bad and note not in obj:
        out[note] = _note(bad[0])
    return out
  if isinstance(obj, (list, tuple)):
    return [strict(v) for v in obj]
  if _nonfinite(obj):
    return None
  return obj


def dumps(obj, **kwargs):
  """Strict JSON text (RFC 8259): no bare NaN or Infinity (see `strict`)."""
  return json.dumps(strict(obj), allow_nan=False, default=_plain, **kwargs)


def write_json(path, obj):
  """Writes strict JSON (no NaN / Infinity, see `strict`) atomically."""
  atomic.write_text(path, dumps(obj, indent=2, sort_keys=True) + "\n")


def write_text(path, text):
  """Writes text atomically (temporary file, then rename)."""
  atomic.write_text(path, text)


def check_finite(pending, step):
  """Raises FloatingPointError naming the first step whose loss is not finite.

  `pending`: the metrics of the steps up to `step` not checked yet. Called
  at every log step and before every checkpoint and evaluation, so a
  non-finite state is never saved: the last good checkpoint stays.
  """
  if not pending:
    return
  losses = np.asarray(jax.device_get([m["loss"] for m in pending]), np.float64)
  bad = np.flatnonzero(~np.isfinite(losses))
  if len(bad):
    first = step - len(pending) + 1 + int(bad[0])
    raise FloatingPointError(f"Loss is {losses[bad[0]]} at step {first}.")


def mean_metrics(pending, step):
  """Means of the device metrics logged since the last report (one host sync).

  Raises FloatingPointError on a non-finite loss, naming the step (see
  `check_finite`).
  """
  pending = jax.device_get(pending)
  check_finite(pending, step)
  return jax.tree_util.tree_map(lambda *x: float(np.mean(x)), *pending)


def read_log(path, upto=float("inf"), repair=False):
  """The rows of a metrics log (JSONL) with step <= `upto`, each checked
  (`_checked_lines`)."""
  return [row for _, row in _checked_lines(path, upto, repair)]


def _checked_lines(path, upto, repair):
  """[(line, row)] of a metrics log with step <= `upto`, each row checked.

  A last line without its newline was cut by a kill (the log is appended
  to): skipped, and with `repair` logged as a warning. Any other line that
  is not a JSON object with an integer "step" is an InputError naming the
  file and line: a damaged line in the middle is never dropped silently.
  """
  if not os.path.exists(path):
    return []
  with open(path, "rb") as f:
    lines = f.read().split(b"\n")
  torn = lines.pop()  # After the last newline: b"" unless the last line was cut.
  if torn and repair:
    logging.warning("%s:%d: the last line was cut (%d bytes, no newline: a kill while "
                    "it was written); dropped.", path, len(lines) + 1, len(torn))
  rows = []
  for i, line in enumerate(lines, 1):
    try:
      row = json.loads(line.decode("utf-8"))
      ok = isinstance(row, dict) and type(row.get("step")) is int
      why = "" if ok else "not a JSON object with an integer step"
    except (ValueError, UnicodeDecodeError) as e:
      row, why = None, str(e)
    if why:
      raise errors.InputError(
          f"{path}:{i}: a damaged line in the metrics log ({why}): {line[:60]!r}; only a "
          "cut last line is repaired: restore the line or delete it, then rerun.")
    if row["step"] <= upto:
      rows.append((line, row))
  return rows


def logged(workdir, prefix, upto):
  """The rows of workdir/metrics.jsonl with keys `prefix*` and step <= `upto`,
  prefix stripped (what a resumed run logged before it was interrupted)."""
  rows = read_log(os.path.join(workdir, "metrics.jsonl"), upto)
  return [{k[len(prefix):]: v for k, v in r.items() if k.startswith(prefix)}
          for r in rows if any(k.startswith(prefix) for k in r)]


class MetricWriter:
  """Scalars to `metrics.jsonl` and TensorBoard (`tb/`); no-op if disabled."""

  def __init__(self, workdir, enabled=True, resume_step=None):
    self.enabled = enabled
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._tb = None
    if not enabled:
      return
    if resume_step is not None and os.path.exists(self.path):
      # Drop lines past the restored step: they are about to be recomputed;
      # and a last line cut by a kill (the log is appended to, not renamed).
      keep = _checked_lines(self.path, resume_step, repair=True)
      atomic.write_text(self.path, "".join(l.decode("utf-8") + "\n" for l, _ in keep))
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
