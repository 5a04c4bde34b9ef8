"""Checks a config before any training: a bad value is one error naming its flag.

`check(config)` runs in `main` before the trainer is called, for every config
family (fine-tuning, AUM, relation, MLRC): a field is checked only where the
config has it. Errors name the field as typed on the command line, e.g.
`--config.input.batch_size=0: must be a positive integer.`
"""
import difflib
import numbers

from ml_collections import config_dict

from noisy_meta.core import errors
from noisy_meta import trainers

# Fields that must be integers >= 1.
POSITIVE = ("input.batch_size", "input.eval_batch_size", "input.length_bucket",
            "num_epochs", "log_every", "eval_every", "meta.log_every",
            "meta.checkpoint_every", "meta.iterations", "meta.tasks", "meta.inner_steps",
            "meta.inner_batch", "neighbors.k", "mlrc.runs", "detect.k", "detect.early_epochs",
            "detect.simifeat_rounds")
# Integers >= 0: seeds, sizes where 0 means "all", checkpoint_every (0: at
# epoch ends only).
NON_NEGATIVE = ("seed", "input.train_size", "input.dev_size", "input.subset_seed",
                "input.split_seed", "noise.seed", "aum.threshold_seed", "detect.seed",
                "detect.folds", "checkpoint_every")
# Floats > 0.
POSITIVE_FLOAT = ("optim.lr", "optim.grad_clip", "optim.lr_decay", "meta.meta_lr",
                  "meta.inner_grad_clip")
# Floats >= 0 (meta.inner_lr 0: the learner's lr).
NON_NEGATIVE_FLOAT = ("optim.weight_decay", "meta.inner_lr", "model.pooling_l2")
# Strings with a fixed set of values.
CHOICES = {
    "input.source": ("auto", "local", "tfds"),
    "input.dataset": ("semeval", "tacred"),
    "input.label_patch_format": ("auto", "tacrev", "retacred", "mapping"),
    "optim.name": ("sgd", "adagrad", "adam", "adamw"),
    "input.markers": ("entity", "punct", "typed_punct"),
    "aum.threshold_mode": ("equal", "random", "capped"),
    "aum.threshold_divisor": ("c+1", "c"),
    "aum.margins": ("train", "eval", "both"),
    "clean.detector": ("ensemble", "aum", "aum_bbe", "knn", "simifeat", "cleanlab", "probe"),
    "meta.algorithm": ("reptile", "fomaml", "maml"),
    "meta.task_axis": ("auto", "vmap", "map"),
    "meta.inner_optim": ("sgd", "adagrad", "adam"),
    "meta.sampling": ("uniform", "proportional"),
}
SEMEVAL_RELATIONS = 19  # Labels of SemEval-2010 Task 8, Other included.
MISSING = object()


_BLOCKS = (dict, config_dict.ConfigDict)  # A config and its nested blocks.


def lookup(config, key):
  """config.a.b for key "a.b", or MISSING where the config has no such field."""
  node = config
  for part in key.split("."):
    if not isinstance(node, _BLOCKS) or part not in node:
      return MISSING
    node = node[part]
  return node


def _flag(key, value):
  """The flag as typed: tuples as `(16,32)`."""
  if isinstance(value, (tuple, list)):
    value = "(" + ",".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"
  return f"--config.{key}={value}"


def _fail(key, value, problem):
  raise errors.InputError(f"{_flag(key, value)}: {problem}")


def _is_int(v):
  return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v):
  return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _choice(key, value, known):
  if value not in known:
    close = difflib.get_close_matches(str(value), known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    _fail(key, value, f"{hint}use one of {', '.join(known)}.")


def _numbers(config):
  for key in POSITIVE:
    v = lookup(config, key)
    if v is not MISSING and not (_is_int(v) and v >= 1):
      _fail(key, v, "must be a positive integer.")
  for key in NON_NEGATIVE:
    v = lookup(config, key)
    if v is not MISSING and not (_is_int(v) and v >= 0):
      _fail(key, v, "must be an integer >= 0.")
  for key in POSITIVE_FLOAT:
    v = lookup(config, key)
    if v is not MISSING and not (_is_number(v) and v > 0):
      _fail(key, v, "must be a number > 0.")
  for key in NON_NEGATIVE_FLOAT:
    v = lookup(config, key)
    if v is not MISSING and not (_is_number(v) and v >= 0):
      _fail(key, v, "must be a number >= 0.")
  v = lookup(config, "optim.warmup_frac")
  if v is not MISSING and not (_is_number(v) and 0 <= v <= 1):
    _fail("optim.warmup_frac", v, "must be in [0, 1].")
  model = lookup(config, "model")
  for name in (sorted(model.keys()) if isinstance(model, _BLOCKS) else ()):
    v = model[name]
    if name.endswith("dropout") and not (_is_number(v) and 0 <= v < 1):
      _fail(f"model.{name}", v, "a dropout rate must be in [0, 1).")
  v = lookup(config, "noise.rate")
  if v is not MISSING and not (_is_number(v) and 0 <= v < 1):
    _fail("noise.rate", v, "a noise rate must be in [0, 1) (0: the labels as given).")


def _text_input(config):
  v = lookup(config, "input.max_len")
  if v is not MISSING and not (_is_int(v) and v >= 3):
    _fail("input.max_len", v, "must be >= 3 ([CLS], [SEP] and one token; longer texts "
          "are cut to max_len tokens).")
  v = lookup(config, "input.buckets")
  if v is not MISSING:
    b = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if not b or not all(_is_int(x) and x >= 1 for x in b) or any(
        x >= y for x, y in zip(b, b[1:])):
      _fail("input.buckets", v, "give padded lengths as positive, increasing integers, "
            "e.g. --config.input.buckets=(16,32,64,128).")


def _noise(config):
  """noise.kind: one kind, or a mix "direction=0.1,pair=0.1" of known kinds
  with rates in [0, 1)."""
  from noisy_meta.data import noise  # pylint: disable=g-import-not-at-top
  v = lookup(config, "noise.kind")
  if v is MISSING:
    return
  if "=" not in str(v):
    _choice("noise.kind", v, noise.KINDS)
    return
  try:
    noise.parse_mix(str(v), 0.0)
  except ValueError as e:
    _fail("noise.kind", v, f"{e} A mix: kind=rate pairs of {', '.join(noise.KINDS)}.")


def _aum(config):
  aum_p = lookup(config, "aum.percentiles")
  if aum_p is not MISSING:
    if not aum_p or not all(_is_number(p) and 0 <= p <= 100 for p in aum_p):
      _fail("aum.percentiles", aum_p, "give percentiles in [0, 100], e.g. (1,10,50,90,99).")
  clean_p = lookup(config, "clean.percentiles")
  if clean_p is not MISSING and aum_p is not MISSING:
    extra = [p for p in clean_p if p not in tuple(aum_p)]
    if extra:
      _fail("clean.percentiles", clean_p, f"{', '.join(map(str, extra))} not among "
            f"{_flag('aum.percentiles', aum_p)} (flags exist only at those).")
  methods = lookup(config, "clean.methods")
  for m in (() if methods is MISSING else methods):
    _choice("clean.methods", m, ("sieve", "flip"))
  seeds = lookup(config, "clean.seeds")
  if seeds is not MISSING and not all(_is_int(s) and s >= 0 for s in seeds):
    _fail("clean.seeds", seeds, "seeds must be integers >= 0.")
  _detect(config)


# Detectors the ensemble can average (every detector but itself).
ENSEMBLE_PARTS = ("aum", "aum_early", "aum_eval", "aum_two_runs", "loss", "confidence",
                  "variability", "forgetting", "cleanlab", "knn", "simifeat", "probe",
                  "knn_tuned", "knn_oof", "prior")


def _detect(config):
  folds = lookup(config, "detect.folds")
  if folds == 1:
    _fail("detect.folds", folds, "cross-validation needs 2 folds at least (0: no "
          "confident learning).")
  if lookup(config, "clean.detector") == "cleanlab" and not folds:
    _fail("clean.detector", "cleanlab", "confident learning needs out-of-fold "
          "probabilities: set --config.detect.folds=K (K >= 2).")
  parts = lookup(config, "detect.ensemble")
  if parts is not MISSING:
    if not parts:
      _fail("detect.ensemble", parts, f"give one detector at least, of {', '.join(ENSEMBLE_PARTS)}.")
    for name in parts:
      _choice("detect.ensemble", name, ENSEMBLE_PARTS)
    if "aum_eval" in parts and lookup(config, "aum.margins") != "both":
      _fail("detect.ensemble", parts, "aum_eval needs --config.aum.margins=both.")
  v = lookup(config, "detect.aum_percentile")
  if v is not MISSING and not (_is_number(v) and 0 <= v <= 100):
    _fail("detect.aum_percentile", v, "must be a percentile in [0, 100].")
  v = lookup(config, "detect.min_positive")
  if v is not MISSING and not (_is_number(v) and 0 < v < 1):
    _fail("detect.min_positive", v, "must be in (0, 1).")


def _mlrc(config):
  fractions = lookup(config, "mlrc.fractions")
  if fractions is not MISSING:
    if not fractions or not all(_is_number(f) and 0 < f <= 1 for f in fractions):
      _fail("mlrc.fractions", fractions, "give fractions in (0, 1] (0.01 keeps 1% of the "
            "training set, 1 keeps all of it).")
    by = lookup(config, "mlrc.runs_by_fraction")
    if by is not MISSING and by:
      if len(by) != len(fractions) or not all(_is_int(r) and r >= 1 for r in by):
        _fail("mlrc.runs_by_fraction", by, f"give a run count >= 1 for each of the "
              f"{len(fractions)} fractions.")
  tasks = lookup(config, "meta.tasks")
  if (tasks is not MISSING and lookup(config, "input.dataset") == "semeval"
      and tasks > SEMEVAL_RELATIONS):
    _fail("meta.tasks", tasks, f"SemEval has {SEMEVAL_RELATIONS} relations; use at most "
          f"{SEMEVAL_RELATIONS} per meta-iteration.")


def check(config):
  """Raises errors.InputError naming the first bad field of `config`."""
  trainer = lookup(config, "trainer")
  _choice("trainer", trainer, sorted(trainers._TRAINERS))  # pylint: disable=protected-access
  for key, known in CHOICES.items():
    v = lookup(config, key)
    if v is not MISSING:
      _choice(key, v, known)
  _numbers(config)
  _text_input(config)
  _noise(config)
  _aum(config)
  _mlrc(config)
