"""Reads logits dumps for `noisy_meta.analyze` (re-exported as `analyze.load`).

Three forms: an .npz (`logits` [E, N, C] or `logits_run1`, `logits_run2`;
`labels`; optional `threshold_ids_run1/2`), an AUM workdir of ours (its
aum_run*/dynamics.npz and noise.npz) or a JSONL file with one line per
example and epoch: {"run": 1, "epoch": 0, "id": 17, "label": 2, "logits":
[...]}, `label` the label trained on (the fake class, the last column, for a
threshold sample). A line that is not such a record, a negative or
fractional number, a label that changes within a run, a (run, epoch, id)
twice or missing are refused with file and line. `LogitsRecorder` writes
such a file from a training loop of any framework.
"""
import json
import math
import os

import numpy as np

from noisy_meta import analyze_inputs as inputs
from noisy_meta.core import errors


class LogitsRecorder:
  """The training loop's callback: one JSONL line per example and epoch.

  with LogitsRecorder("logits.jsonl", run=1) as record:   # Appends: runs share a file.
    ...
    record(epoch, ids, labels, logits)   # After each training forward pass.

  ids, labels [B] and logits [B, C]: PyTorch tensors (gradients or not),
  NumPy or JAX arrays, or lists. Every call is flushed to disk, so `load`
  reads the file at once, in the same process, even before `close`; a call
  returns the lines it wrote, and a bad batch is refused whole.
  """

  def __init__(self, path, run=1):
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
      inputs.fail(f"LogitsRecorder: path={path!r}: expected a file name (.jsonl).")
    self.path = os.fspath(path)
    self.run = _count(run, "run", f"LogitsRecorder({self.path!r})")
    try:
      self.file = open(self.path, "a", encoding="utf-8")
    except OSError as e:
      inputs.fail(f"LogitsRecorder: {self.path}: cannot be written ({type(e).__name__}: "
                  f"{str(e)[:80]}).")

  def __call__(self, epoch, ids, labels, logits):
    where = f"LogitsRecorder({self.path!r})"
    epoch = _count(_as_list(epoch), "epoch", where)
    ids, labels, logits = _as_list(ids), _as_list(labels), _as_list(logits)
    if not all(isinstance(x, list) for x in (ids, labels, logits)) or not (
        len(ids) == len(labels) == len(logits)):
      inputs.fail(f"{where}: expected ids [B], labels [B] and logits [B, C] of one batch, got "
                  f"{_size(ids)}, {_size(labels)} and {_size(logits)}.")
    lines = []
    for i, y, z in zip(ids, labels, logits):
      i, y = _count(i, "id", where), _count(y, "label", where)
      if not isinstance(z, list) or not z or not all(
          isinstance(v, (int, float)) and not isinstance(v, bool) for v in z):
        inputs.fail(f"{where}: logits of id {i}: expected a row of numbers, got {str(z)[:40]}.")
      try:
        z = [float(v) for v in z]
      except OverflowError:  # An int beyond float's range.
        z = [math.inf]
      if not all(math.isfinite(v) and abs(v) <= inputs.MAX_LOGIT for v in z):
        inputs.fail(f"{where}: logits of id {i} hold NaN, inf or values beyond "
                    f"+-{inputs.MAX_LOGIT:g} (a diverged training?).")
      lines.append(json.dumps({"run": self.run, "epoch": epoch, "id": i, "label": y,
                               "logits": z}) + "\n")
    self.file.write("".join(lines))  # The whole batch, or nothing of it.
    self.file.flush()
    return len(lines)

  def close(self):
    self.file.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


def _as_list(x):
  """A tensor or array (torch with or without gradients, NumPy, JAX) as Python values."""
  try:
    return x.tolist()
  except AttributeError:
    return list(x) if isinstance(x, (list, tuple, range)) else x


def _count(value, name, where):
  """A whole number >= 0 (1.0 counts as 1), or an InputError naming `name`."""
  if value is None:
    inputs.fail(f"{where}: {name}=None; expected a whole number (counted from 0).")
  return _whole({name: value}, name, where)


def _size(x):
  if isinstance(x, list):
    return f"{len(x)} value{'' if len(x) == 1 else 's'}"
  return f"{type(x).__name__} {str(x)[:20]}"


def load(path):
  """{"logits": [per run [E, N, C]], "labels": [N], "threshold": per run ids
  or None} from an .npz, a .jsonl dump or one of our AUM workdirs."""
  if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
    inputs.fail(f"path={path!r}: expected the path of an .npz, a .jsonl or an AUM workdir.")
  path = os.fspath(path)
  if os.path.isdir(path):
    return _load_workdir(path)
  if not os.path.exists(path):
    inputs.fail(f"{path}: not found.")
  if path.endswith(".npz"):
    return _load_npz(path)
  if path.endswith(".jsonl"):
    return _load_jsonl(path)
  inputs.fail(f"{path}: expected an .npz, a .jsonl or an AUM workdir.")


def _npz(path):
  """{name: array} of an .npz, or an InputError for a file numpy cannot read."""
  import zipfile  # pylint: disable=g-import-not-at-top
  import zlib  # pylint: disable=g-import-not-at-top
  try:
    with open(path, "rb") as f:
      z = np.load(f, allow_pickle=False)
      if not isinstance(z, np.lib.npyio.NpzFile):
        inputs.fail(f"{path}: a single array, not an .npz archive of named arrays.")
      with z:
        return {k: z[k] for k in z.files}
  except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
    if isinstance(e, errors.InputError):
      raise
    inputs.fail(f"{path}: not a readable .npz ({e.__class__.__name__}: "
                f"{str(e).splitlines()[0][:80] if str(e) else ''}).")


def _dump(path, logits, labels, threshold):
  """The loaded dump, its labels and threshold ids checked as whole numbers."""
  labels = inputs.integers(labels, f"{path}: labels")
  for r, lg in enumerate(logits, 1):
    if np.ndim(lg) != 3 or np.shape(lg)[1] != len(labels):
      inputs.fail(f"{path}: run {r}'s logits of shape {np.shape(lg)} for {len(labels)} "
                  "labels; expected [epochs, N, classes].")
  if threshold is not None:
    threshold = [inputs.integers(t, f"{path}: run {r}'s threshold ids", high=len(labels),
                                 allow_empty=True) for r, t in enumerate(threshold, 1)]
  return {"logits": list(logits), "labels": labels, "threshold": threshold}


def _load_npz(path):
  z = _npz(path)
  keys = set(z)
  if "labels" not in keys:
    inputs.fail(f"{path}: no 'labels' array (found {sorted(keys)}).")
  named = {"threshold_ids_run1", "threshold_ids_run2"} & keys
  if "logits" in keys:
    logits, thr = [z["logits"]], (["threshold_ids"] if "threshold_ids" in keys else None)
  elif {"logits_run1", "logits_run2"} <= keys:
    logits = [z["logits_run1"], z["logits_run2"]]
    if len(named) == 1:
      inputs.fail(f"{path}: {named.pop()} without its pair; give both runs' threshold ids "
                  "or neither.")
    thr = sorted(named) or None
  else:
    inputs.fail(f"{path}: expected 'logits' or 'logits_run1' and 'logits_run2' (found "
                f"{sorted(keys)}).")
  return _dump(path, logits, z["labels"], [z[k] for k in thr] if thr else None)


def _load_workdir(path):
  runs = [os.path.join(path, f"aum_run{r}", "dynamics.npz") for r in (1, 2)]
  if not all(os.path.exists(p) for p in runs):
    inputs.fail(f"{path}: not a finished AUM workdir (no aum_run1/dynamics.npz and "
                "aum_run2/dynamics.npz).")
  logits, thr = [], []
  for p in runs:
    z = _npz(p)
    if "logits_ENC" not in z:
      inputs.fail(f"{p}: no logits_ENC (the run had aum.save_logits=False).")
    if "threshold_idx" not in z:
      inputs.fail(f"{p}: no threshold_idx (not an AUM run's dynamics).")
    logits.append(z["logits_ENC"])
    thr.append(z["threshold_idx"])
  noise = os.path.join(path, "noise.npz")
  if not os.path.exists(noise):
    inputs.fail(f"{noise}: not found (the given labels of the AUM job).")
  z = _npz(noise)
  if "given" not in z:
    inputs.fail(f"{noise}: no 'given' labels (found {sorted(z)}).")
  return _dump(path, logits, z["given"], thr)


def _whole(d, key, where, default=None):
  v = d.get(key, default)
  if v is None:
    inputs.fail(f"{where}: no {key!r}; expected a JSON object with epoch, id, label and "
                "logits (and run).")
  if isinstance(v, bool) or not isinstance(v, (int, float)) or (
      isinstance(v, float) and not (np.isfinite(v) and v == int(v))):
    inputs.fail(f"{where}: {key}={v!r} is not a whole number.")
  if v < 0:
    inputs.fail(f"{where}: {key}={int(v)} is negative; runs, epochs, ids and labels count "
                "from 0.")
  return int(v)


def _load_jsonl(path):
  rows, first = {}, {}  # (run, epoch, id): (label, logits); (run, id): (label, line).
  try:
    f = open(path, "rb")
  except OSError as e:
    inputs.fail(f"{path}: unreadable ({e.__class__.__name__}: {str(e)[:80]}).")
  with f:
    c = _records(path, f, rows, first)
  return _assemble(path, rows, c)


def _records(path, f, rows, first):
  """Reads every line of `f` into rows; the logit count."""
  c = None
  for line_no, raw in enumerate(f, 1):
    where = f"{path}:{line_no}"
    try:
      line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
    except UnicodeDecodeError as e:
      inputs.fail(f"{where}: not valid UTF-8 text (byte {e.start + 1} of the line).")
    if not line.strip():
      continue
    try:
      d = json.loads(line)
    except ValueError as e:
      inputs.fail(f"{where}: expected a JSON object with epoch, id, label and logits "
                  f"({e.__class__.__name__}: {e}).")
    if not isinstance(d, dict):
      inputs.fail(f"{where}: expected a JSON object with epoch, id, label and logits, got "
                  f"{type(d).__name__}.")
    key = (_whole(d, "run", where, 1), _whole(d, "epoch", where), _whole(d, "id", where))
    label, values = _whole(d, "label", where), d.get("logits")
    if not isinstance(values, list) or not values or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
      inputs.fail(f"{where}: logits={str(values)[:40]}: expected a list of numbers.")
    try:
      finite = np.isfinite(np.array(values, np.float64)).all()
    except OverflowError:
      finite = False
    if not finite or max(abs(v) for v in values) > inputs.MAX_LOGIT:
      inputs.fail(f"{where}: logits hold NaN, inf or values beyond +-{inputs.MAX_LOGIT:g} (a "
                  "diverged training?).")
    c = len(values) if c is None else c
    if len(values) != c:
      inputs.fail(f"{where}: {len(values)} logits, the lines before have {c}.")
    if label >= c:
      inputs.fail(f"{where}: label={label} but {c} logits (labels 0..{c - 1}).")
    if key in rows:
      inputs.fail(f"{where}: run {key[0]} epoch {key[1]} id {key[2]} again (a second "
                  "recording appended to the same file? one file per training).")
    seen = first.setdefault((key[0], key[2]), (label, line_no))
    if seen[0] != label:
      inputs.fail(f"{where}: id {key[2]} has label {label} here but {seen[0]} at line "
                  f"{seen[1]} of run {key[0]}; an example keeps its label through a run.")
    rows[key] = (label, values)
  return c


def _assemble(path, rows, c):
  """The dump's arrays from its records, once every (run, epoch, id) is there."""
  if not rows:
    inputs.fail(f"{path}: no records.")
  runs = sorted({k[0] for k in rows})
  epochs = max(k[1] for k in rows) + 1
  n = max(k[2] for k in rows) + 1
  missing = len(runs) * epochs * n - len(rows)
  if missing:
    inputs.fail(f"{path}: {missing} (run, epoch, id) records missing: every example needs a "
                "line in every epoch of every run.")
  logits = np.zeros((len(runs), epochs, n, c), np.float32)
  trained = np.full((len(runs), n), -1, np.int64)
  for (run, e, i), (label, values) in rows.items():
    logits[runs.index(run), e, i] = values
    trained[runs.index(run), i] = label
  return _dump(path, list(logits), *_given_labels(path, runs, trained, c - 1))


def _given_labels(path, runs, trained, fake):
  """(labels, threshold) from each run's trained labels [R, N]: two runs that
  differ only where one of them trains the fake class (the last column) hold
  threshold samples; otherwise every run must train the same labels."""
  differ = (trained != trained[0]).any(0)
  if not differ.any():
    return trained[0], None
  if len(runs) == 2:
    one_fake = (trained == fake).sum(0) == 1
    bad = np.flatnonzero(differ & ~one_fake)
    both = np.flatnonzero((trained == fake).all(0))
    if not len(bad) and not len(both):
      threshold = [np.flatnonzero(differ & (trained[r] == fake)) for r in range(2)]
      return np.where(trained[0] == fake, trained[1], trained[0]), threshold
    if len(both):
      inputs.fail(f"{path}: id {both[0]} is trained on the fake class ({fake}, the last "
                  "column) in both runs; a threshold sample keeps its label in the other.")
  i = int(np.flatnonzero(differ)[0])
  r = int(np.flatnonzero(trained[:, i] != trained[0, i])[0])
  inputs.fail(f"{path}: id {i} has label {trained[0, i]} in run {runs[0]} but "
              f"{trained[r, i]} in run {runs[r]}; only a threshold sample's label changes "
              f"(to the fake class {fake}, the last column).")
