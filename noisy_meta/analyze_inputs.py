"""Checks of what `noisy_meta.analyze` is given: one InputError sentence each.

Every entry point of analyze.py passes its arguments through here before it
computes or writes anything: never a numpy error or a silent cast. The rules
(docs/api.md, "What each entry point accepts"):

- class ids and example ids are integers; a float that is a whole number
  (1.0, as pandas gives a column with gaps) counts as that integer, 1.5,
  NaN, booleans, strings and None are refused (string labels are mapped
  only where the class names are given: `label_names`);
- logits are real numbers [epochs >= 1, N >= 1, classes >= 2], finite, within
  +-1e30 (float32 margins summed over epochs must not overflow); rows that
  all lie in [0, 1] and sum to 1 are probabilities and refused, with the
  hint that log-probabilities give the same margins.
"""
from collections import abc
import difflib
import numbers
import os

import numpy as np

from noisy_meta.core import errors

MAX_LOGIT = 1e30  # |logit| above this overflows float32 margin sums.


def fail(message):
  raise errors.InputError(message)


def _show(v):
  s = repr(v.item() if isinstance(v, np.generic) else v)
  return s if len(s) <= 40 else s[:37] + "..."


def array(values, what):
  """np.asarray(values), or an InputError for ragged or unconvertible input."""
  if isinstance(values, (str, bytes)):
    fail(f"{what}: a single string {_show(values)}; expected one value per example.")
  try:
    return np.asarray(values)
  except (ValueError, TypeError) as e:
    fail(f"{what}: not an array of numbers ({str(e).splitlines()[0][:80]}).")


def integers(values, what, *, low=0, high=None, allow_empty=False, note=""):
  """int64 [N] of whole numbers in low..high-1 (high None: no upper bound);
  `note` follows the range in the message."""
  arr = array(values, what)
  if arr.ndim != 1:
    fail(f"{what}: shape {arr.shape}; expected a flat list (one value per example).")
  if not arr.size:
    if allow_empty:
      return np.zeros(0, np.int64)
    fail(f"{what}: empty; expected one value per example.")
  kind = arr.dtype.kind
  if kind == "O":
    for i, v in enumerate(arr):
      if not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_)):
        fail(f"{what}[{i}] = {_show(v)}: not an integer.")
    arr = arr.astype(np.float64)
    kind = "f"
  if kind == "b":
    fail(f"{what}: booleans; pass integers (np.asarray(x, int) gives 0 and 1).")
  if kind in "US":
    fail(f"{what}: strings (e.g. {_show(arr[0])}); expected integers.")
  if kind == "c":
    fail(f"{what}: complex numbers; expected integers.")
  if kind == "f":
    arr = arr.astype(np.float64)  # float16 cannot hold the bounds compared below.
    bad = ~np.isfinite(arr) | (arr != np.round(arr))
    if bad.any():
      i = int(np.flatnonzero(bad)[0])
      fail(f"{what}[{i}] = {_show(arr[i])}: not a whole number (1.0 counts as 1; 1.5, NaN "
           "and inf do not).")
  elif kind not in "iu":
    fail(f"{what}: values of type {arr.dtype}; expected integers.")
  out_of_range = (arr < low) | (arr >= (high if high is not None else 2**53))
  if out_of_range.any():
    i = int(np.flatnonzero(out_of_range)[0])
    span = f"{low}..{high - 1}" if high is not None else f"{low}..2**53"
    fail(f"{what}[{i}] = {_show(arr[i])}: outside {span}{note}.")
  return arr.astype(np.int64)


def class_ids(labels, what, num_classes, names=None, note="", map_hint=True):
  """int64 [N] class ids in 0..num_classes-1; strings are mapped through
  `names` (the class names in column order) when given."""
  arr = array(labels, what)
  strings = arr.dtype.kind in "US" or (
      arr.dtype.kind == "O" and arr.size and all(isinstance(v, str) for v in arr.ravel()))
  if strings and arr.ndim == 1:
    if names is None:
      fail(f"{what}: strings (e.g. {_show(arr[0])}); pass class ids 0..{num_classes - 1}"
           + (", or label_names (the classes in logit-column order) to map the strings."
              if map_hint else " (np.unique(labels, return_inverse=True)[1] gives them)."))
    index = {str(n): i for i, n in enumerate(names)}
    out = np.empty(len(arr), np.int64)
    for i, v in enumerate(arr):
      if str(v) not in index:
        close = difflib.get_close_matches(str(v), list(index), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        fail(f"{what}[{i}] = {_show(str(v))}: not among label_names{hint}.")
      out[i] = index[str(v)]
    return out
  return integers(arr, what, low=0, high=num_classes, note=note)


def positive_int(v, what, low=1):
  if not isinstance(v, numbers.Integral) or isinstance(v, (bool, np.bool_)) or v < low:
    fail(f"{what}={_show(v)}: must be an integer >= {low}.")
  return int(v)


def choice(v, what, known):
  if not isinstance(v, str) or v not in known:
    close = difflib.get_close_matches(str(v), known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    fail(f"{what}={_show(v)}: {hint}use one of {', '.join(known)}.")
  return v


def logits_runs(logits, *, fake_class=False):
  """float32 [epochs, N, C] per run: finite, same shape across runs, not
  probabilities. fake_class: the last column is the threshold samples'."""
  runs = list(logits) if isinstance(logits, (list, tuple)) else [logits]
  if not runs:
    fail("logits: no runs; give one array [epochs, N, classes] per run.")
  out = []
  for r, lg in enumerate(runs, 1):
    arr = array(lg, f"run {r}'s logits")
    if arr.dtype.kind not in "iuf":
      fail(f"run {r}: logits of type {arr.dtype}; expected real numbers (float16/32/64).")
    if arr.ndim != 3:
      fail(f"run {r}: logits of shape {arr.shape}; expected [epochs, N examples, classes]"
           " (several runs: a list of such arrays).")
    e, n, c = arr.shape
    if not e or not n:
      fail(f"run {r}: logits of shape {arr.shape}: {'no epochs' if not e else 'no examples'};"
           " expected [epochs >= 1, N >= 1, classes].")
    need = 3 if fake_class else 2
    if c < need:
      fail(f"run {r}: {c} logit column{'s' if c != 1 else ''}; AUM needs two classes at least"
           + (" plus the fake class (the last column)." if fake_class else "."))
    if not np.isfinite(arr).all():
      fail(f"run {r}: logits hold NaN or inf (a diverged training?).")
    biggest = np.abs(arr.astype(np.float64)).max()
    if biggest > MAX_LOGIT:
      fail(f"run {r}: logits up to {biggest:.3g} in magnitude; keep them within "
           f"+-{MAX_LOGIT:g} (float32 margins summed over epochs overflow).")
    arr = arr.astype(np.float32)
    if arr.min() >= 0 and arr.max() <= 1 and np.allclose(arr.astype(np.float64).sum(-1), 1,
                                                         atol=1e-3):
      fail(f"run {r}: these look like probabilities (every row lies in [0, 1] and sums to 1);"
           " pass logits (log-probabilities work too: np.log(probs) gives the same margins).")
    if out and arr.shape != out[0].shape:
      what = [w for w, a, b in zip(("epochs", "examples", "classes"), arr.shape,
                                   out[0].shape) if a != b][-1]
      fail(f"run {r}: logits {list(arr.shape)}, run 1's {list(out[0].shape)}: the runs differ "
           f"in {what} (every run trains the same examples, classes and epochs).")
    out.append(arr)
  return out


def threshold_sets(threshold, num_runs, n):
  """Per run int64 ids in 0..n-1, non-empty, unique, the two sets disjoint."""
  if isinstance(threshold, (str, bytes)) or not isinstance(threshold, abc.Sized):
    fail(f"threshold: {_show(threshold)}; expected one list of example ids per run.")
  if len(threshold) != num_runs:
    fail(f"{num_runs} run{'s' if num_runs != 1 else ''} of logits but {len(threshold)} "
         "threshold-sample sets.")
  if num_runs != 2:
    fail("flags need two runs with disjoint threshold samples (each example judged in the "
         "run where it kept its label); analyze.threshold_ids gives the two sets.")
  sets = []
  for r, ids in enumerate(threshold, 1):
    ids = integers(ids, f"threshold[{r - 1}]", low=0, high=n, allow_empty=True)
    if not ids.size:
      fail(f"run {r}: no threshold samples; AUM's cut is a percentile of their AUM "
           "(analyze.threshold_ids draws N // (c + 1) per run).")
    if len(np.unique(ids)) != len(ids):
      fail(f"run {r}: threshold-sample ids repeat.")
    sets.append(ids)
  if len(np.intersect1d(sets[0], sets[1])):
    fail("the two runs' threshold samples must be disjoint.")
  return sets


def strings(values, what, n, *, allow_empty=True):
  """list of n str (numpy strings count), or an InputError naming the first bad one."""
  if isinstance(values, (str, bytes)) or not isinstance(values, abc.Iterable):
    fail(f"{what}: {_show(values)}; expected a list of {n} strings.")
  out = list(values)
  if len(out) != n:
    fail(f"{len(out)} {what} for {n} examples.")
  for i, v in enumerate(out):
    if not isinstance(v, str):
      fail(f"{what}[{i}] = {_show(v)}: not a string.")
    if not allow_empty and not v.strip():
      fail(f"{what}[{i}]: empty.")
  return [str(v) for v in out]


def label_names(names, num_real):
  if names is None:
    return tuple(map(str, range(num_real)))
  if isinstance(names, (str, bytes)) or not isinstance(names, abc.Iterable):
    fail(f"label_names: {_show(names)}; expected a list of {num_real} strings.")
  names = list(names)
  if len(names) != num_real:
    fail(f"{len(names)} label names for {num_real} classes.")
  for i, v in enumerate(names):
    if not isinstance(v, str) or not v.strip():
      fail(f"label_names[{i}] = {_show(v)}: not a non-empty string.")
  if len(set(names)) != len(names):
    dup = next(v for v in names if names.count(v) > 1)
    fail(f"label_names: {dup!r} twice; each class needs its own name.")
  return tuple(str(v) for v in names)


def percentiles(values):
  if isinstance(values, (str, bytes)) or not isinstance(values, abc.Iterable):
    fail(f"percentiles: {_show(values)}; expected a list of numbers in [0, 100].")
  values = list(values)
  if not values:
    fail("percentiles: empty; give one at least, e.g. (1, 10, 50, 90, 99).")
  for v in values:
    if (not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_))
        or not 0 <= v <= 100):
      fail(f"percentiles: {_show(v)} is not a number in [0, 100].")
  if len(set(values)) != len(values):
    fail(f"percentiles: {_show(values)} repeat a value.")
  return tuple(v.item() if isinstance(v, np.generic) else v for v in values)


def features(feats, num_runs, n):
  """Per run float32 [N, D], finite."""
  if isinstance(feats, (str, bytes)) or not isinstance(feats, abc.Sized) or len(feats) != num_runs:
    fail(f"features: expected one array [N, D] per run ({num_runs}).")
  out = []
  for r, f in enumerate(feats, 1):
    arr = array(f, f"run {r}'s features")
    if arr.dtype.kind not in "iuf" or arr.ndim != 2 or arr.shape[0] != n or not arr.shape[1]:
      fail(f"run {r}: features of shape {arr.shape} and type {arr.dtype}; expected real "
           f"numbers [{n} examples, D >= 1].")
    if not np.isfinite(arr).all() or np.abs(arr.astype(np.float64)).max() > MAX_LOGIT:
      fail(f"run {r}: features hold NaN, inf or values beyond +-{MAX_LOGIT:g}.")
    out.append(arr.astype(np.float32))
  return out


def workdir(path):
  if path is None:
    return None
  if not isinstance(path, (str, os.PathLike)) or not str(os.fspath(path)).strip():
    fail(f"workdir={_show(path)}: expected a folder path.")
  path = os.fspath(path)
  if os.path.exists(path) and not os.path.isdir(path):
    fail(f"workdir={path}: exists and is not a folder.")
  return path


# --- find_label_issues / find_relation_issues: rows and the job's settings.


def text_labels(labels, what, n):
  """Labels of texts as the TSV will hold them: all strings (non-empty, no
  tab or newline) or all whole numbers (1.0 counts as 1), never a mix."""
  if isinstance(labels, (str, bytes)) or not isinstance(labels, abc.Iterable):
    fail(f"{what}: {_show(labels)}; expected a list of {n} labels.")
  values = [v.item() if isinstance(v, np.generic) else v for v in labels]
  if len(values) != n:
    fail(f"{n} texts and {len(values)} {what}: need as many.")
  if all(isinstance(v, str) for v in values):
    for i, v in enumerate(values):
      if not v.strip() or any(ch in v for ch in "\t\r\n"):
        fail(f"{what}[{i}] = {_show(v)}: a label must be non-empty and hold no tab or "
             "newline.")
    return [v.strip() for v in values], str
  ints = []
  for i, v in enumerate(values):
    whole = (isinstance(v, numbers.Real) and not isinstance(v, bool)
             and np.isfinite(float(v)) and float(v) == int(v))
    if not whole:
      kind = "strings and numbers mixed" if any(isinstance(x, str) for x in values) else (
          "give strings or whole numbers")
      fail(f"{what}[{i}] = {_show(v)}: not a label ({kind}; 1.0 counts as 1, 1.5, NaN, "
           "None and booleans do not).")
    ints.append(int(v))
  return [str(v) for v in ints], int


def _look_wrong(labels):
  """Refuses what the TSV reader refuses in a file whose classes it infers
  (data/label_checks.py): a missing-value marker, one class written two ways."""
  from noisy_meta.data import label_checks  # pylint: disable=g-import-not-at-top
  first = {}
  for i, y in enumerate(labels):
    first.setdefault(y, i)
  for y, i in first.items():
    if y.lower() in label_checks.MISSING_LABELS:
      fail(f"labels[{i}] = {_show(y)}: looks like a missing value (pandas writes NaN so), "
           "not a class; fill it in or drop the row.")
  names = list(first)
  for a, b in ((a, b) for j, a in enumerate(names) for b in names[:j]):
    why = label_checks.same_class(a, b)
    if why:
      fail(f"labels[{first[a]}] = {_show(a)} and labels[{first[b]}] = {_show(b)} are {why}; "
           "write each class one way.")


def _text_list(value, name, empty):
  """`value` as a list of non-empty strings; `empty`: what to say when it has none."""
  if isinstance(value, (str, bytes)) or not isinstance(value, abc.Iterable):
    fail(f"{name}: {_show(value)}; expected a list of strings.")
  value = list(value) or fail(f"{name}: empty; {empty}")
  return strings(value, name, len(value), allow_empty=False)


def label_rows(texts, labels, dev_texts, dev_labels):
  """(texts, labels, dev_texts, dev_labels, classes) of find_label_issues:
  strings, the classes in order (sorted; whole numbers numerically)."""
  texts = _text_list(texts, "texts", "need one text at least per class.")
  labels, kind = text_labels(labels, "labels", len(texts))
  classes = sorted(set(labels), key=int if kind is int else str)
  if len(classes) < 2:
    fail(f"labels: all {len(labels)} are {classes[0]!r}; AUM needs two classes at least.")
  if kind is str:
    _look_wrong(labels)
  if len(classes) > max(20, len(labels) // 2):
    fail(f"labels: {len(classes)} different labels in {len(labels)} rows (e.g. "
         f"{_show(classes[0])}, {_show(classes[1])}): are texts and labels swapped?")
  if (dev_texts is None) != (dev_labels is None):
    fail("dev_texts without dev_labels (or the reverse): give both, or neither (the first "
         "min(200, N) training rows monitor the runs).")
  if dev_texts is None:
    return texts, labels, texts[:200], labels[:200], tuple(classes)
  dev_texts = _text_list(dev_texts, "dev_texts",
                         "give one row at least, or neither dev_texts nor dev_labels.")
  dev_labels, dev_kind = text_labels(dev_labels, "dev_labels", len(dev_texts))
  if dev_kind is not kind:
    name = {str: "strings", int: "numbers"}
    fail(f"dev_labels are {name[dev_kind]}, labels {name[kind]}: give both alike.")
  unknown = [y for y in dev_labels if y not in set(classes)]
  if unknown:
    fail(f"dev_labels: {unknown[0]!r} is not a training label (classes: "
         f"{', '.join(classes[:10])}{', ...' if len(classes) > 10 else ''}).")
  return texts, labels, dev_texts, dev_labels, tuple(classes)


def relation_examples(examples, what):
  if isinstance(examples, (str, bytes)) or not isinstance(examples, abc.Iterable):
    fail(f"{what}: {_show(examples)}; expected a list of dicts (TACRED's JSON schema).")
  examples = list(examples)
  if not examples:
    fail(f"{what}: none given.")
  for i, e in enumerate(examples):
    if not isinstance(e, dict):
      fail(f"{what}[{i}] = {_show(e)}: not a dict (TACRED's JSON schema).")
  return examples


def _jsonable(value):
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, np.ndarray):
    return value.tolist()
  raise TypeError(f"a {type(value).__name__}")


def tacred_rows(examples, what, split):
  """The examples as the TACRED JSON file will hold them (ids as strings,
  `<split>-<i>` where absent; numpy values as numbers, tuples as lists),
  each checked as the TACRED reader checks a file."""
  import json  # pylint: disable=g-import-not-at-top
  from noisy_meta.data import tacred  # pylint: disable=g-import-not-at-top
  rows, seen = [], {}
  for i, e in enumerate(examples):
    row = dict(e, id=str(e.get("id", f"{split}-{i}")))
    where = f"{what}[{i}] (id {_show(row['id'])})"
    try:
      row = json.loads(json.dumps(row, default=_jsonable))
    except (TypeError, ValueError) as err:
      fail(f"{where}: a value that JSON cannot hold ({err}).")
    tacred._check_tacred(row, where)  # pylint: disable=protected-access
    if row["id"] in seen:
      fail(f"{where}: duplicate id (first at {what}[{seen[row['id']]}]).")
    seen[row["id"]] = i
    rows.append(row)
  return rows


def job_arg(model, seeds, folds, arg):
  """The configs/<name>.py argument of find_*_issues' model, seeds, folds, arg."""
  if not isinstance(model, str) or not model.strip() or "," in model:
    fail(f"model={_show(model)}: expected a model name, folder or hub id (no commas).")
  seeds = positive_int(seeds, "seeds", low=0)
  folds = positive_int(folds, "folds", low=0)
  if folds == 1:
    fail("folds=1: cross-validation needs 2 folds at least (0: no fold models).")
  if not isinstance(arg, str):
    fail(f"arg={_show(arg)}: expected a string of config arguments, e.g. 'runlocal'.")
  return ",".join(x for x in (f"model={model},seeds={seeds},folds={folds}", arg) if x)


def _leaves(cfg, prefix=""):
  from ml_collections import config_dict  # pylint: disable=g-import-not-at-top
  for key in cfg.keys():
    value = cfg[key]
    if isinstance(value, config_dict.ConfigDict):
      yield from _leaves(value, f"{prefix}{key}.")
    else:
      yield prefix + key


def apply_overrides(cfg, overrides, reserved=()):
  """Sets {"optim.lr": 3e-5, "num_epochs": 3} on `cfg`; an unknown field is
  refused with the closest known one, a value of the wrong type with the
  field's type. Numpy scalars count as the Python number they hold."""
  known = sorted(_leaves(cfg))
  for key, value in overrides.items():
    if not isinstance(key, str):
      fail(f"override {_show(key)}: field names are strings, e.g. 'optim.lr'.")
    if key in reserved:
      fail(f"{key}: set by this function from its arguments; leave it out.")
    if key not in known:
      inside = [k for k in known if k.startswith(key + ".")]
      if inside:
        fail(f"{key}={_show(value)}: a block of settings; set its fields, e.g. "
             f"{inside[0]}.")
      close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) or [
          k for k in known if k.rsplit(".", 1)[-1] == key]
      hint = f"did you mean {close[0]!r}? " if close else ""
      fail(f"{key}={_show(value)}: not a config field; {hint}see configs/ for the fields.")
    if isinstance(value, np.generic):
      value = value.item()
    *parents, leaf = key.split(".")
    target = cfg
    for part in parents:
      target = target[part]
    old = target[leaf]
    if isinstance(old, bool) != isinstance(value, bool) and old is not None:
      fail(f"{key}={_show(value)}: expected {type(old).__name__}.")
    try:
      target[leaf] = value
    except (TypeError, ValueError):
      fail(f"{key}={_show(value)}: expected {type(old).__name__}, got {type(value).__name__}.")
  return cfg
