"""AUM, data maps, flags and the report from any framework's logits.

Train where you like (PyTorch, Keras, our trainer), record every epoch's
logits of every training example, and hand them here (docs/api.md):

  from noisy_meta import analyze
  thr_1, thr_2 = analyze.threshold_ids(labels, num_classes)   # Two disjoint sets.
  # Run r: train on `labels` with the examples thr_r relabelled to the fake
  # class `num_classes` (one extra output), keep logits [epochs, N, C + 1].
  table = analyze.from_logits([logits_1, logits_2], labels, [thr_1, thr_2],
                              texts=texts, label_names=names, workdir="runs/mine")

`table` is a pandas DataFrame, one row per example, lowest AUM first; with
`workdir`, examples.csv, summary.json, report.md and the figures are written
exactly as an AUM job of our trainer writes them from the same logits (the
same code, `trainers/aum.judge` and `write_reports`; the test compares
examples.csv byte for byte). Logits without threshold samples give AUM and
the data-map statistics, but no flags: AUM's cut is the threshold samples'.

`load(path)` reads logits dumps: an .npz (`logits` [E, N, C] or
`logits_run1`, `logits_run2`; `labels`; optional `threshold_ids_run1/2`),
an AUM workdir of ours (its aum_run*/dynamics.npz) or a JSONL file with one
line per example and epoch: {"run": 1, "epoch": 0, "id": 17, "label": 2,
"logits": [...]}, `label` the label trained on (the fake class for a
threshold sample), as the PyTorch callback in docs/api.md writes it.
"""
import json
import os

import ml_collections
import numpy as np

from noisy_meta import aum_lib
from noisy_meta.core import errors
from noisy_meta.data import text_files

# The detectors' settings of configs/aum.py (tests/aum_lib_test.py checks
# that they agree); no frozen encoder and no fold models from logits alone.
DETECT = dict(k=10, early_epochs=1, simifeat_rounds=5, probe_folds=10, seed=0,
              ensemble=("aum", "cleanlab", "probe"), aum_percentile=99, min_positive=0.05,
              frozen=False, folds=0)
PERCENTILES = (1, 10, 50, 90, 99)


def threshold_ids(labels, num_classes, seed=0, mode="equal", divisor="c+1"):
  """Two disjoint sets of threshold samples (as an AUM job of ours draws them
  with aum.threshold_seed=`seed`): N // (c + 1) each, equally per class."""
  rng = np.random.default_rng(seed)
  labels = np.asarray(labels)
  thr_1 = aum_lib.assign_threshold_samples(labels, num_classes, rng, mode, divisor=divisor)
  thr_2 = aum_lib.assign_threshold_samples(labels, num_classes, rng, mode, exclude=thr_1,
                                           divisor=divisor)
  return thr_1, thr_2


def config(task="logits", percentiles=PERCENTILES, noise_rate=0.0, **detect):
  """The settings the report reads (an AUM job's config has them all)."""
  c = ml_collections.ConfigDict()
  c.runlocal = False  # Not a smoke run (configs/finetune.py).
  c.learner = "text"  # Reported as a classifier's logits, not a relation scorer's.
  c.input = ml_collections.ConfigDict({"task": task})
  c.noise = ml_collections.ConfigDict({"rate": float(noise_rate)})
  c.aum = ml_collections.ConfigDict({"percentiles": tuple(percentiles)})
  c.clean = ml_collections.ConfigDict(dict(methods=(), detector="aum", percentiles=(),
                                           seeds=()))
  c.neighbors = ml_collections.ConfigDict({"k": DETECT["k"]})
  c.detect = ml_collections.ConfigDict(dict(DETECT, **detect))
  return c


def run_arrays(logits_ENC, labels, num_real, threshold_idx=(), features=None):
  """One run's arrays (as aum_run*/dynamics.npz holds them) from its logits:
  `labels` the given labels, the threshold samples trained on class num_real."""
  from noisy_meta.trainers import aum as aum_trainer  # pylint: disable=g-import-not-at-top
  logits_ENC = np.asarray(logits_ENC, np.float32)
  trained = np.array(labels, np.int32)
  trained[np.asarray(threshold_idx, np.int64)] = num_real
  out = aum_trainer.run_arrays(aum_lib.from_logits(logits_ENC, trained, num_real),
                               np.asarray(threshold_idx, np.int64))
  out["logits_ENC"] = logits_ENC
  if features is not None:
    out["features"] = np.asarray(features, np.float32)
  return out


def _check(logits, labels, threshold):
  labels = np.asarray(labels)
  if labels.ndim != 1:
    raise errors.InputError(f"labels: expected one label per example, got shape {labels.shape}.")
  for r, lg in enumerate(logits, 1):
    if lg.ndim != 3 or lg.shape[1] != len(labels):
      raise errors.InputError(f"run {r}: logits of shape {lg.shape}; expected [epochs, "
                              f"{len(labels)} examples, classes].")
    if not np.isfinite(lg).all():
      raise errors.InputError(f"run {r}: logits hold NaN or inf (a diverged training?).")
  if threshold is not None:
    if len(threshold) != len(logits):
      raise errors.InputError(f"{len(logits)} runs but {len(threshold)} threshold-sample sets.")
    if len(logits) != 2:
      raise errors.InputError(
          "flags need two runs with disjoint threshold samples (each example judged in the "
          "run where it kept its label); analyze.threshold_ids gives the two sets.")
    for r, ids in enumerate(threshold, 1):
      ids = np.asarray(ids)
      if ids.size and (ids.dtype.kind not in "iu" or ids.min() < 0 or ids.max() >= len(labels)):
        raise errors.InputError(f"run {r}: threshold-sample ids must be integers in "
                                f"0..{len(labels) - 1}.")
    if len(np.intersect1d(threshold[0], threshold[1])):
      raise errors.InputError("the two runs' threshold samples must be disjoint.")


def from_logits(logits, labels, threshold=None, *, texts=None, sources=None, label_names=None,
                original_labels=None, features=None, percentiles=PERCENTILES, task="logits",
                workdir=None):
  """The per-example table (pandas DataFrame, lowest AUM first) of one or two
  runs' logits [epochs, N, C]; see the module docstring.

  labels [N]: the given (possibly noisy) labels, real classes 0..c-1.
  threshold: per run, the ids trained on the fake class c (logits then have
    c + 1 columns), or None (no flags: AUM and data maps only).
  original_labels [N]: the labels before noise was injected, if known: the
    detection metrics against them.
  features: per run, the final model's features [N, D] (the knn_tuned detector).
  workdir: write examples.csv, summary.json, report.md and the figures there.
  """
  import pandas as pd  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import aum as aum_trainer  # pylint: disable=g-import-not-at-top
  logits = [np.asarray(x, np.float32) for x in
            (logits if isinstance(logits, (list, tuple)) else [logits])]
  _check(logits, labels, threshold)
  given = np.asarray(labels, np.int32)
  n = len(given)
  num_real = logits[0].shape[2] - (1 if threshold is not None else 0)
  if given.min() < 0 or given.max() >= num_real:
    raise errors.InputError(f"labels must lie in 0..{num_real - 1} ({logits[0].shape[2]} "
                            "logit columns" + (", the last the fake class)" if threshold
                                               is not None else ")"))
  names = tuple(label_names) if label_names is not None else tuple(map(str, range(num_real)))
  texts = list(texts) if texts is not None else [""] * n
  sources = list(sources) if sources is not None else [str(i) for i in range(n)]
  if not len(names) == num_real or not len(texts) == len(sources) == n:
    raise errors.InputError(f"{len(names)} label names for {num_real} classes, {len(texts)} "
                            f"texts and {len(sources)} sources for {n} examples.")
  noisy = None
  if original_labels is not None:
    original = np.asarray(original_labels, np.int32)
    if original.shape != given.shape:
      raise errors.InputError(f"original_labels: {original.shape}, labels: {given.shape}.")
    noisy = original != given
  else:
    original = given.copy()
  thr = threshold if threshold is not None else [()] * len(logits)
  feats = features if features is not None else [None] * len(logits)
  runs = [run_arrays(lg, given, num_real, t, f) for lg, t, f in zip(logits, thr, feats)]

  if threshold is None:  # AUM and the data map of each run, no flags.
    cols = {"id": np.arange(n), "source": sources, "text": texts, "label": given,
            "label_name": [names[i] for i in given]}
    for r, run in enumerate(runs, 1):
      suffix = "" if len(runs) == 1 else f"_run{r}"
      for key in ("aum", "confidence", "variability", "correctness"):
        cols[key + suffix] = run[key]
    table = pd.DataFrame(cols).sort_values(f"aum{'' if len(runs) == 1 else '_run1'}",
                                           kind="stable")
    if workdir:
      os.makedirs(workdir, exist_ok=True)
      table.to_csv(os.path.join(workdir, "examples.csv"), index=False)
    return table

  cfg = config(task, percentiles, float(noisy.mean()) if noisy is not None else 0.0)
  train = text_files.TextData(texts, given, names, sources)
  j = aum_trainer.judge(cfg.aum.percentiles, runs[0], runs[1])
  out = workdir or _scratch()
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "config.json"), "w") as f:  # The report pages read it.
    json.dump(cfg.to_dict(), f, indent=2, default=list)
  det = aum_trainer.score_detectors(cfg, out, given, num_real, runs, noisy)
  aum_trainer.write_reports(cfg, out, train, original, given, noisy, j, det,
                            {"none": {}}, {}, None)
  table = pd.read_csv(os.path.join(out, "examples.csv"), keep_default_na=False)
  if not workdir:
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.rmtree(out, ignore_errors=True)
  return table.sort_values("aum", kind="stable")


def _scratch():
  import tempfile  # pylint: disable=g-import-not-at-top
  return tempfile.mkdtemp(prefix="noisy_meta_analyze_")


def load(path):
  """{"logits": [per run [E, N, C]], "labels": [N], "threshold": per run ids
  or None} from an .npz, a .jsonl dump or one of our AUM workdirs."""
  if os.path.isdir(path):
    return _load_workdir(path)
  if path.endswith(".npz"):
    with np.load(path) as z:
      keys = set(z.files)
      if "labels" not in keys:
        raise errors.InputError(f"{path}: no 'labels' array (found {sorted(keys)}).")
      if "logits" in keys:
        logits, thr = [z["logits"]], (["threshold_ids"] if "threshold_ids" in keys else None)
      elif {"logits_run1", "logits_run2"} <= keys:
        logits = [z["logits_run1"], z["logits_run2"]]
        thr = (["threshold_ids_run1", "threshold_ids_run2"]
               if {"threshold_ids_run1", "threshold_ids_run2"} <= keys else None)
      else:
        raise errors.InputError(f"{path}: expected 'logits' or 'logits_run1' and "
                                f"'logits_run2' (found {sorted(keys)}).")
      return {"logits": logits, "labels": z["labels"],
              "threshold": [z[k] for k in thr] if thr else None}
  if path.endswith(".jsonl"):
    return _load_jsonl(path)
  raise errors.InputError(f"{path}: expected an .npz, a .jsonl or an AUM workdir.")


def _load_workdir(path):
  runs = [os.path.join(path, f"aum_run{r}", "dynamics.npz") for r in (1, 2)]
  if not all(os.path.exists(p) for p in runs):
    raise errors.InputError(f"{path}: not a finished AUM workdir (no aum_run1/dynamics.npz "
                            "and aum_run2/dynamics.npz).")
  logits, thr = [], []
  for p in runs:
    with np.load(p) as z:
      if "logits_ENC" not in z.files:
        raise errors.InputError(f"{p}: no logits_ENC (the run had aum.save_logits=False).")
      logits.append(z["logits_ENC"])
      thr.append(z["threshold_idx"])
  with np.load(os.path.join(path, "noise.npz")) as z:
    labels = z["given"]
  return {"logits": logits, "labels": labels, "threshold": thr}


def _load_jsonl(path):
  rows = {}
  with open(path, encoding="utf-8") as f:
    for line_no, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        d = json.loads(line)
        key = (int(d.get("run", 1)), int(d["epoch"]), int(d["id"]))
        rows[key] = (int(d["label"]), [float(v) for v in d["logits"]])
      except (ValueError, KeyError, TypeError) as e:
        raise errors.InputError(f"{path}:{line_no}: expected a JSON object with epoch, id, "
                                f"label and logits ({e.__class__.__name__}: {e}).") from None
  if not rows:
    raise errors.InputError(f"{path}: no records.")
  runs = sorted({k[0] for k in rows})
  epochs = max(k[1] for k in rows) + 1
  n = max(k[2] for k in rows) + 1
  c = len(next(iter(rows.values()))[1])
  logits = np.zeros((len(runs), epochs, n, c), np.float32)
  trained = np.full((len(runs), n), -1, np.int64)
  for (run, e, i), (label, values) in rows.items():
    if len(values) != c:
      raise errors.InputError(f"{path}: run {run} epoch {e} id {i}: {len(values)} logits, "
                              f"others have {c}.")
    logits[runs.index(run), e, i] = values
    trained[runs.index(run), i] = label
  missing = len(runs) * epochs * n - len(rows)
  if missing:
    raise errors.InputError(f"{path}: {missing} (run, epoch, id) records missing: every "
                            f"example needs a line in every epoch of every run.")
  # A threshold sample carries the fake class (the last column) in its run.
  fake = c - 1
  has_fake = len(runs) == 2 and (trained == fake).any(1).all()
  labels = trained[0].copy()
  threshold = None
  if has_fake:
    threshold = [np.flatnonzero(trained[r] == fake) for r in range(2)]
    labels[threshold[0]] = trained[1][threshold[0]]
  return {"logits": list(logits), "labels": labels, "threshold": threshold}


def _job_config(name, arg, overrides):
  """configs/<name>.py of the repository (beside noisy_meta/) with `arg` and
  `overrides` ({"optim.lr": 3e-5, ...})."""
  import importlib.util  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  if root not in sys.path:  # configs/ is the repository's, beside noisy_meta/.
    sys.path.insert(0, root)
  spec = importlib.util.spec_from_file_location(name, os.path.join(root, "configs",
                                                                   f"{name}.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  cfg = module.get_config(arg)
  for key, value in overrides.items():
    *parents, leaf = key.split(".")
    target = cfg
    for part in parents:
      target = target[part]
    target[leaf] = value
  return cfg


def _run_job(cfg, workdir, folds):
  """The AUM job in <workdir>/job; its examples.csv, lowest AUM first."""
  import pandas as pd  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import aum as aum_trainer  # pylint: disable=g-import-not-at-top
  if not folds:
    cfg.clean.detector = "aum"
  aum_trainer.train_and_evaluate(cfg, os.path.join(workdir, "job"))
  table = pd.read_csv(os.path.join(workdir, "job", "examples.csv"), keep_default_na=False)
  return table.sort_values("aum", kind="stable")


def find_label_issues(texts, labels, workdir, *, dev_texts=None, dev_labels=None,
                      model="minilm", seeds=0, folds=0, arg="", **overrides):
  """The AUM job of our trainer on in-memory texts; returns its per-example
  table (a DataFrame, lowest AUM first), as cleanlab's find_label_issues
  returns its issues. The job's files (examples.csv, report.md, the figures,
  explorer.html, the runs) are in `workdir`/job, and calling again resumes.

  labels: strings or ints (any hashable; the classes are their sorted
  values). dev_texts/dev_labels: development rows that only monitor the AUM
  runs (and score the retrains); absent: the first min(200, N) training rows.
  seeds: retrain seeds of the cleaning (0: detection only); folds: K
  out-of-fold models for confident learning and the ensemble (0: none; the
  job then cleans with AUM's own cut). `arg`: more configs/aum_tsv.py
  arguments ("runlocal,train_size=500"); `overrides`: config fields, e.g.
  num_epochs=3 or **{"optim.lr": 3e-5}.
  """
  texts, labels = [str(t) for t in texts], [str(y) for y in labels]
  if len(texts) != len(labels) or not texts:
    raise errors.InputError(f"{len(texts)} texts and {len(labels)} labels: need as many, "
                            "and at least one.")
  if dev_texts is None:
    dev_texts, dev_labels = texts[:200], labels[:200]
  dev_labels = [str(y) for y in dev_labels]
  data = os.path.join(workdir, "data")
  os.makedirs(data, exist_ok=True)
  for name, ts, ys in (("train.tsv", texts, labels), ("dev.tsv", dev_texts, dev_labels)):
    with open(os.path.join(data, name), "w", encoding="utf-8", newline="") as f:
      f.write("sentence\tlabel\n")
      for t, y in zip(ts, ys):
        f.write(" ".join(str(t).split()) + "\t" + y.replace("\t", " ") + "\n")
  cfg = _job_config("aum_tsv", ",".join(
      x for x in (f"model={model},seeds={seeds},folds={folds}", arg) if x), overrides)
  cfg.input.train_file = os.path.join(data, "train.tsv")
  cfg.input.dev_file = os.path.join(data, "dev.tsv")
  return _run_job(cfg, workdir, folds)


def find_relation_issues(examples, workdir, *, dev_examples=None, model="transformer",
                         seeds=0, folds=0, arg="", **overrides):
  """`find_label_issues` for relation examples: dicts of TACRED's JSON schema
  (token, subj_start/end, obj_start/end, subj_type, obj_type, relation; and
  stanford_pos, stanford_ner, stanford_head, stanford_deprel for PA-LSTM and
  C-GCN), checked as the TACRED reader checks a file. model: transformer (or
  an encoder), pa_lstm or cgcn. Dev examples only monitor the AUM runs;
  absent: the first min(200, N). `arg`: configs/aum_tacred.py arguments."""
  examples = list(examples)
  if not examples:
    raise errors.InputError("no relation examples.")
  dev = list(dev_examples) if dev_examples is not None else examples[:200]
  data = os.path.join(workdir, "data")
  os.makedirs(data, exist_ok=True)
  for name, exs in (("train", examples), ("dev", dev), ("test", dev)):
    rows = [dict(e, id=str(e.get("id", f"{name}-{i}"))) for i, e in enumerate(exs)]
    with open(os.path.join(data, f"{name}.json"), "w", encoding="utf-8") as f:
      json.dump(rows, f)
  cfg = _job_config("aum_tacred", ",".join(
      x for x in (f"model={model},seeds={seeds},folds={folds}", arg) if x), overrides)
  cfg.input.tacred_dir = data
  return _run_job(cfg, workdir, folds)
