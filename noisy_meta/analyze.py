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
`workdir`, examples.csv, summary.json, report.md, the figures and
explorer.html are written exactly as an AUM job of our trainer writes them
from the same logits (the same code, `trainers/aum.judge` and
`write_reports`; the test compares examples.csv byte for byte); with
explorer_runs.npz, the two runs' AUM, the explorer gets every percentile,
the fake-class histogram and suggested labels, as from aum_run*/. Logits without threshold samples give AUM and
the data-map statistics, but no flags: AUM's cut is the threshold samples'.

`load(path)` (analyze_load.py) reads logits dumps: an .npz, one of our AUM
workdirs or a JSONL file with one line per example and epoch, as
`LogitsRecorder`, the training loop's callback (docs/api.md), writes it.

Every entry point checks its arguments first (analyze_inputs.py) and refuses
a bad one with one errors.InputError sentence before it computes or writes
anything; `from_logits_inputs`, `label_issues_config` and
`relation_issues_config` are those checks alone (docs/api.md lists what each
entry point accepts).
"""
import contextlib
import json
import logging as py_logging
import os
import sys

import ml_collections
import numpy as np

from noisy_meta import analyze_inputs as inputs
from noisy_meta import aum_lib
from noisy_meta.analyze_load import load  # pylint: disable=unused-import  (analyze.load)
from noisy_meta.analyze_load import LogitsRecorder  # pylint: disable=unused-import
from noisy_meta.core import errors
from noisy_meta.data import text_files
from noisy_meta.reports import explorer

# The detectors' settings of configs/aum.py (tests/aum_lib_test.py checks
# that they agree); no frozen encoder and no fold models from logits alone.
DETECT = dict(k=10, early_epochs=1, simifeat_rounds=5, probe_folds=10, seed=0,
              ensemble=("aum", "cleanlab", "probe"), ensemble_weights="equal",
              ensemble_keep=0.0, ensemble_cut="count", aum_percentile=99,
              min_positive=0.05, frozen=False, folds=0)
PERCENTILES = (1, 10, 50, 90, 99)


def threshold_ids(labels, num_classes, seed=0, mode="equal", divisor="c+1"):
  """Two disjoint sets of threshold samples (as an AUM job of ours draws them
  with aum.threshold_seed=`seed`): N // (c + 1) each, equally per class."""
  num_classes = inputs.positive_int(num_classes, "num_classes", low=2)
  labels = inputs.class_ids(labels, "labels", num_classes,
                            note=f" (num_classes={num_classes})", map_hint=False)
  seed = inputs.positive_int(seed, "seed", low=0)
  inputs.choice(mode, "mode", ("equal", "random", "capped"))
  inputs.choice(divisor, "divisor", ("c+1", "c"))
  rng = np.random.default_rng(seed)
  thr_1 = aum_lib.assign_threshold_samples(labels, num_classes, rng, mode, divisor=divisor)
  thr_2 = aum_lib.assign_threshold_samples(labels, num_classes, rng, mode, exclude=thr_1,
                                           divisor=divisor)
  if not len(thr_1) or not len(thr_2):
    each = ", two examples of a class at least" if mode == "equal" else ""
    inputs.fail(f"{len(labels)} examples of {num_classes} classes give no threshold samples "
                f"(N // (c + 1) per run{each}); AUM's cut needs some.")
  return thr_1, thr_2


def config(task="logits", percentiles=PERCENTILES, noise_rate=0.0, **detect):
  """The settings the report reads (an AUM job's config has them all);
  `detect` overrides DETECT, checked as the CLI checks --config.detect.*."""
  percentiles = inputs.percentiles(percentiles)
  if not isinstance(task, str) or not task.strip():
    inputs.fail(f"task={task!r}: expected a name for the report, e.g. 'logits'.")
  if (not isinstance(noise_rate, (int, float, np.floating, np.integer))
      or isinstance(noise_rate, bool) or not 0 <= noise_rate < 1):
    inputs.fail(f"noise_rate={noise_rate!r}: must be a number in [0, 1).")
  c = ml_collections.ConfigDict()
  c.runlocal = False  # Not a smoke run (configs/finetune.py).
  c.learner = "text"  # Reported as a classifier's logits, not a relation scorer's.
  c.input = ml_collections.ConfigDict({"task": task})
  c.noise = ml_collections.ConfigDict({"rate": float(noise_rate)})
  c.aum = ml_collections.ConfigDict({"percentiles": tuple(percentiles)})
  c.clean = ml_collections.ConfigDict(dict(methods=(), detector="aum", percentiles=(),
                                           seeds=()))
  c.neighbors = ml_collections.ConfigDict({"k": DETECT["k"]})
  c.detect = ml_collections.ConfigDict(DETECT)
  inputs.apply_overrides(c.detect, detect)
  if detect:  # Their values by the AUM job's declared rules (validate.check).
    _job_config("aum_tsv", "", {f"detect.{k}": v for k, v in detect.items()},
                {"input.train_file": "train.tsv", "input.dev_file": "dev.tsv"})
  return c


def run_arrays(logits_ENC, labels, num_real, threshold_idx=(), features=None):
  """One run's arrays (as aum_run*/dynamics.npz holds them) from its logits:
  `labels` the given labels, the threshold samples trained on class num_real."""
  num_real = inputs.positive_int(num_real, "num_real", low=2)
  threshold_idx = inputs.integers(threshold_idx, "threshold_idx", allow_empty=True)
  fake = threshold_idx.size > 0
  [logits_ENC] = inputs.logits_runs([logits_ENC], fake_class=fake)
  n = logits_ENC.shape[1]
  if logits_ENC.shape[2] != num_real + fake:
    inputs.fail(f"logits of shape {logits_ENC.shape}: {num_real} real classes"
                + (" and the fake class need " if fake else " need ")
                + f"{num_real + fake} columns.")
  trained = inputs.class_ids(labels, "labels", num_real)
  if len(trained) != n:
    inputs.fail(f"{len(trained)} labels for logits of {n} examples.")
  if fake and threshold_idx.max() >= n:
    inputs.fail(f"threshold_idx: {threshold_idx.max()} outside 0..{n - 1}.")
  feats = inputs.features([features], 1, n)[0] if features is not None else None
  return _run_arrays(logits_ENC, trained, num_real, threshold_idx, feats)


def _run_arrays(logits_ENC, labels, num_real, threshold_idx, features):
  """run_arrays of checked inputs: float32 logits, int labels and ids."""
  from noisy_meta.trainers import aum as aum_trainer  # pylint: disable=g-import-not-at-top
  trained = np.array(labels, np.int32)
  threshold_idx = np.asarray(threshold_idx, np.int64)
  trained[threshold_idx] = num_real
  out = aum_trainer.run_arrays(aum_lib.from_logits(logits_ENC, trained, num_real),
                               threshold_idx)
  out["logits_ENC"] = logits_ENC
  if features is not None:
    out["features"] = features
  return out


def from_logits_inputs(logits, labels, threshold=None, *, texts=None, sources=None,
                       label_names=None, original_labels=None, features=None,
                       percentiles=PERCENTILES, task="logits", workdir=None):
  """`from_logits`' arguments checked (an InputError names the first bad one)
  and converted: (logits float32 per run, labels int32, threshold ids per run
  or None, texts, sources, label names, original labels, noisy mask or None,
  features or None, the report's config, workdir or None)."""
  fake = threshold is not None
  logits = inputs.logits_runs(logits, fake_class=fake)
  _, n, num_columns = logits[0].shape
  num_real = num_columns - fake
  names = inputs.label_names(label_names, num_real)
  note = f" ({num_columns} logit columns{', the last the fake class' if fake else ''})"
  given = inputs.class_ids(labels, "labels", num_real,
                           names if label_names is not None else None, note).astype(np.int32)
  if len(given) != n:
    inputs.fail(f"run 1: logits of shape {logits[0].shape}; expected [epochs, {len(given)} "
                "examples, classes] (one label per example).")
  if fake:
    threshold = inputs.threshold_sets(threshold, len(logits), n)
  texts = inputs.strings(texts, "texts", n) if texts is not None else [""] * n
  sources = (inputs.strings(sources, "sources", n) if sources is not None
             else [str(i) for i in range(n)])
  features = inputs.features(features, len(logits), n) if features is not None else None
  cfg = config(task, percentiles)  # Checks both before anything is computed.
  workdir = inputs.workdir(workdir)
  noisy = None
  if original_labels is not None:
    original = inputs.class_ids(original_labels, "original_labels", num_real,
                                names if label_names is not None else None,
                                note).astype(np.int32)
    if original.shape != given.shape:
      inputs.fail(f"original_labels: {len(original)} for {n} examples.")
    noisy = original != given
  else:
    original = given.copy()
  return (logits, given, threshold, texts, sources, names, original, noisy, features, cfg,
          workdir)


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
  workdir: write examples.csv, summary.json, report.md, the figures,
    explorer.html and explorer_runs.npz there.
  """
  import pandas as pd  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import aum as aum_trainer  # pylint: disable=g-import-not-at-top
  (logits, given, threshold, texts, sources, names, original, noisy, features, cfg,
   workdir) = from_logits_inputs(
       logits, labels, threshold, texts=texts, sources=sources, label_names=label_names,
       original_labels=original_labels, features=features, percentiles=percentiles,
       task=task, workdir=workdir)
  n, num_real = len(given), len(names)
  thr = threshold if threshold is not None else [()] * len(logits)
  feats = features if features is not None else [None] * len(logits)
  runs = [_run_arrays(lg, given, num_real, t, f) for lg, t, f in zip(logits, thr, feats)]

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

  cfg.noise.rate = float(noisy.mean()) if noisy is not None else 0.0
  train = text_files.TextData(texts, given, names, sources)
  j = aum_trainer.judge(cfg.aum.percentiles, runs[0], runs[1])
  out = workdir or _scratch()
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "config.json"), "w") as f:  # The report pages read it.
    json.dump(cfg.to_dict(), f, indent=2, default=list)
  det = aum_trainer.score_detectors(cfg, out, given, num_real, runs, noisy)
  # No aum_run*/ here: explorer.html reads the runs' AUM from explorer_runs.npz
  # (every percentile, the fake-class histogram, suggested labels).
  explorer.save_runs(out, runs)
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


def _job_config(name, arg, overrides, reserved):
  """configs/<name>.py of the repository (beside noisy_meta/) with `arg` and
  `overrides` ({"optim.lr": 3e-5, ...}), checked by the CLI's validate.check."""
  import importlib.util  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  from noisy_meta import validate  # pylint: disable=g-import-not-at-top
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  if root not in sys.path:  # configs/ is the repository's, beside noisy_meta/.
    sys.path.insert(0, root)
  spec = importlib.util.spec_from_file_location(name, os.path.join(root, "configs",
                                                                   f"{name}.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  try:
    cfg = module.get_config(arg)
  except errors.InputError:
    raise
  except ValueError as e:  # parse_arg: an unknown or malformed argument.
    inputs.fail(f"arg={arg!r}: {e}")
  inputs.apply_overrides(cfg, overrides, reserved)
  for key in reserved:  # Placeholders, so that the schema sees a complete config.
    *parents, leaf = key.split(".")
    target = cfg
    for part in parents:
      target = target[part]
    target[leaf] = reserved[key]
  validate.check(cfg)
  return cfg


class _JobLines(py_logging.Formatter):
  """`HH:MM:SS message`, a warning marked as one."""

  def format(self, record):
    tag = f"{record.levelname.lower()}: " if record.levelno >= py_logging.WARNING else ""
    return f"{self.formatTime(record, '%H:%M:%S')} {tag}{record.getMessage()}"


@contextlib.contextmanager
def _job_log():
  """The job's log lines (each stage, progress with rate and ETA) on stderr
  while it runs, as the CLI shows them; outside app.run absl shows warnings only.
  Under app.run (absl's handler installed) its handler shows them as usual."""
  from absl import logging  # pylint: disable=g-import-not-at-top
  logger = py_logging.getLogger("absl")
  handler = None
  if not any(isinstance(h, logging.ABSLHandler) for h in py_logging.getLogger().handlers):
    handler = py_logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JobLines())
    logger.addHandler(handler)

  def quiet(record):  # As main.py: orbax's per-save INFO lines stay out.
    return record.levelno >= py_logging.WARNING or "/orbax/" not in record.pathname
  level, propagate = logger.level, logger.propagate
  logger.addFilter(quiet)
  logger.propagate = handler is None  # Each line once, whatever the root logger has.
  if logger.getEffectiveLevel() > py_logging.INFO:
    logger.setLevel(py_logging.INFO)
  try:
    yield
  finally:
    logger.setLevel(level)
    logger.propagate = propagate
    logger.removeFilter(quiet)
    if handler is not None:
      logger.removeHandler(handler)


def _say(message):
  print(message, file=sys.stderr, flush=True)


def _run_job(cfg, workdir, folds):
  """The AUM job in <workdir>/job, its progress on stderr and, last, where its
  report and explorer are; its examples.csv, lowest AUM first."""
  import pandas as pd  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import aum as aum_trainer  # pylint: disable=g-import-not-at-top
  if not folds:
    cfg.clean.detector = "aum"
  job = os.path.join(workdir, "job")
  _say(f"find issues: the AUM job in {job}, its progress below (calling again resumes it).")
  with _job_log():
    aum_trainer.train_and_evaluate(cfg, job)
  table = pd.read_csv(os.path.join(job, "examples.csv"), keep_default_na=False)
  names = {"report.md": "report {}", "explorer.html": "explorer {} (open it in a browser)"}
  found = [what.format(os.path.join(job, n)) for n, what in names.items()
           if os.path.exists(os.path.join(job, n))]
  _say(f"done: {len(table)} examples ranked; " + ("; ".join(found) or f"files in {job}"))
  return table.sort_values("aum", kind="stable")


def label_issues_config(texts, labels, workdir, *, dev_texts=None, dev_labels=None,
                        model="minilm", seeds=0, folds=0, arg="", **overrides):
  """(config, rows) of `find_label_issues`, every argument checked, nothing
  written: rows is {"train.tsv": (texts, labels), "dev.tsv": (...)}."""
  workdir = inputs.workdir(workdir)
  if workdir is None:
    inputs.fail("workdir=None: expected a folder for the job's files.")
  texts, labels, dev_texts, dev_labels, classes = inputs.label_rows(
      texts, labels, dev_texts, dev_labels)
  data = os.path.join(workdir, "data")
  files = {"input.train_file": os.path.join(data, "train.tsv"),
           "input.dev_file": os.path.join(data, "dev.tsv"), "input.labels": classes}
  cfg = _job_config("aum_tsv", inputs.job_arg(model, seeds, folds, arg), overrides, files)
  return cfg, {"train.tsv": (texts, labels), "dev.tsv": (dev_texts, dev_labels)}


def find_label_issues(texts, labels, workdir, *, dev_texts=None, dev_labels=None,
                      model="minilm", seeds=0, folds=0, arg="", **overrides):
  """The AUM job of our trainer on in-memory texts; returns its per-example
  table (a DataFrame, lowest AUM first), as cleanlab's find_label_issues
  returns its issues. The job's files (examples.csv, report.md, the figures,
  explorer.html, the runs) are in `workdir`/job, and calling again resumes.

  labels: all strings or all whole numbers (1.0 counts as 1); the classes
  are their sorted values (numbers numerically). dev_texts/dev_labels:
  development rows that only monitor the AUM runs (and score the retrains),
  labels among the training labels; absent: the first min(200, N) training
  rows. seeds: retrain seeds of the cleaning (0: detection only); folds: K
  out-of-fold models for confident learning and the ensemble (0: none; the
  job then cleans with AUM's own cut). `arg`: more configs/aum_tsv.py
  arguments ("runlocal,train_size=500"); `overrides`: config fields, e.g.
  num_epochs=3 or **{"optim.lr": 3e-5}, checked as the CLI checks flags.
  """
  cfg, rows = label_issues_config(texts, labels, workdir, dev_texts=dev_texts,
                                  dev_labels=dev_labels, model=model, seeds=seeds,
                                  folds=folds, arg=arg, **overrides)
  os.makedirs(os.path.dirname(cfg.input.train_file), exist_ok=True)
  for name, (ts, ys) in rows.items():
    with open(os.path.join(os.path.dirname(cfg.input.train_file), name), "w",
              encoding="utf-8", newline="") as f:
      f.write("sentence\tlabel\n")
      for t, y in zip(ts, ys):
        f.write(" ".join(t.split()) + "\t" + y + "\n")
  return _run_job(cfg, workdir, folds)


def relation_issues_config(examples, workdir, *, dev_examples=None, model="transformer",
                           seeds=0, folds=0, arg="", **overrides):
  """(config, {"train": rows, "dev": ..., "test": ...}) of
  `find_relation_issues`, every argument and example checked (as the TACRED
  reader checks a file, named by index and id), nothing written."""
  workdir = inputs.workdir(workdir)
  if workdir is None:
    inputs.fail("workdir=None: expected a folder for the job's files.")
  examples = inputs.relation_examples(examples, "examples")
  dev = (inputs.relation_examples(dev_examples, "dev_examples") if dev_examples is not None
         else examples[:200])
  splits = {"train": inputs.tacred_rows(examples, "examples", "train"),
            "dev": inputs.tacred_rows(dev, "examples" if dev_examples is None
                                      else "dev_examples", "dev")}
  cfg = _job_config("aum_tacred", inputs.job_arg(model, seeds, folds, arg), overrides,
                    {"input.tacred_dir": os.path.join(workdir, "data")})
  return cfg, dict(splits, test=splits["dev"])


def find_relation_issues(examples, workdir, *, dev_examples=None, model="transformer",
                         seeds=0, folds=0, arg="", **overrides):
  """`find_label_issues` for relation examples: dicts of TACRED's JSON schema
  (token, subj_start/end, obj_start/end, subj_type, obj_type, relation; and
  stanford_pos, stanford_ner, stanford_head, stanford_deprel for PA-LSTM and
  C-GCN), checked as the TACRED reader checks a file. model: transformer (or
  an encoder), pa_lstm or cgcn. Dev examples only monitor the AUM runs;
  absent: the first min(200, N). `arg`: configs/aum_tacred.py arguments."""
  cfg, splits = relation_issues_config(examples, workdir, dev_examples=dev_examples,
                                       model=model, seeds=seeds, folds=folds, arg=arg,
                                       **overrides)
  os.makedirs(cfg.input.tacred_dir, exist_ok=True)
  for name, rows in splits.items():
    with open(os.path.join(cfg.input.tacred_dir, f"{name}.json"), "w", encoding="utf-8") as f:
      json.dump(rows, f)
  return _run_job(cfg, workdir, folds)
