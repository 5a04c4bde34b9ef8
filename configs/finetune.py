r"""Fine-tune a pretrained encoder on a text-classification task (cola | sst2 | tsv).

  python -m noisy_meta.main --config=configs/finetune.py:task=sst2,runlocal --workdir=/tmp/sst2

The family of configs/finetune_{cola,sst2,tsv}.py, which are the entry
points; configs/aum.py and configs/mlrc.py build on `build`.
"""
import ml_collections

from configs import common
from configs import rules

# Text tasks (noisy_meta/data/tasks.py reads each); configs/aum.py and
# configs/mlrc.py tell them from relation datasets by this.
TEXT_TASKS = ("cola", "sst2", "trec", "tsv")
# The `:key=value,...` arguments and their defaults.
ARGS = dict(runlocal=False, seed=0, model="minilm", train_size=0, epochs=3, lr=5e-5,
            batch_size=32)


def get_config(arg=None, task=None, **task_defaults):
  """The fine-tuning config of `task`; as a config file, `task=` is an argument."""
  defaults = dict(ARGS, **task_defaults)
  if task is None:  # Run as configs/finetune.py itself: the task is an argument too.
    a = common.parse_arg(arg, task="cola", **defaults)
    return build(a.task, a)
  return build(task, common.parse_arg(arg, **defaults))


def build(task, a):
  """The fine-tuning config of parsed arguments `a` (ARGS' keys; others are ignored)."""
  c = ml_collections.ConfigDict()
  c.trainer = "finetune"
  c.learner = "text"  # noisy_meta/learners/text_classifier.py (configs/relation.py: its own).
  # A smoke run (:runlocal): tiny data, a check that the job runs end to end;
  # the log, report and closing line say so. Its numbers are not results.
  c.runlocal = a.runlocal
  c.seed = a.seed
  c.num_devices = 0  # Mesh ('data',) over this many devices; 0: all (every host).
  # Resume a workdir whose config.json differs from this config (the old one
  # is kept as config.prev<N>.json); False: such a workdir is an error.
  c.overwrite_config = False
  c.debug = common.debug_config()

  c.input = ml_collections.ConfigDict()
  c.input.task = task  # cola | sst2 | tsv
  c.input.source = "auto"  # auto | local | tfds (auto: local files if present).
  c.input.data_dir = ""  # Empty: $NOISY_META_DATA_DIR.
  c.input.cache_dir = ""  # Empty: $NOISY_META_CACHE or ~/.cache/noisy_meta.
  # Training examples: 0, all; text (here), a subset of N drawn with
  # subset_seed; relations (configs/relation.py), the first N of the split.
  c.input.train_size = a.train_size
  c.input.subset_seed = 0  # Seed of that subset (fixed across training seeds).
  c.input.max_len = 128  # Tokens, [CLS] and [SEP] included; longer is cut.
  c.input.buckets = (16, 32, 64, 128)  # Padded lengths: one compile each.
  c.input.batch_size = a.batch_size
  c.input.eval_batch_size = 128
  # Generic delimited files (task="tsv"): paths, columns and labels.
  c.input.train_file = ""
  c.input.dev_file = ""
  c.input.text_column = "sentence"  # Name (with header) or 0-based index.
  c.input.label_column = "label"
  c.input.delimiter = "\t"
  c.input.has_header = True
  c.input.labels = ()  # Label strings in class order; empty: sorted train labels.
  # A person's review decisions: the explorer's corrections.csv (docs/explorer.md),
  # applied to the training rows after train_size (relabel, drop, keep); empty: none.
  c.input.corrections = ""

  c.model = common.model_config(a.model)

  c.optim = ml_collections.ConfigDict()
  c.optim.lr = a.lr  # Peak learning rate of AdamW.
  c.optim.weight_decay = 0.01  # Not applied to biases and LayerNorm.
  c.optim.warmup_frac = 0.1  # Linear warmup over this share of steps, then linear decay to 0.
  c.optim.grad_clip = 1.0  # Global-norm clipping.
  c.optim.b1 = 0.9
  c.optim.b2 = 0.999
  c.optim.eps = 1e-8

  c.num_epochs = a.epochs
  c.log_every = 50  # Steps between progress lines and train metrics.
  c.checkpoint_every = 200  # Steps between checkpoints (and one per epoch end).
  c.eval_every_epoch = True  # False: dev scored after the last epoch only (cheaper).
  c.eval_every = 1  # Dev scored after every N-th epoch and the last (when every epoch).
  # Compile the train and eval steps for every batch shape in parallel before
  # the first step (noisy_meta/core/loop.py); False: each on first use.
  c.precompile = True

  if a.runlocal:  # Arguments typed on the same line win (common.given).
    if not common.given(a, "train_size"):
      c.input.train_size = 256
    c.input.dev_size = 128
    if not common.given(a, "epochs"):
      c.num_epochs = 1
    c.log_every = 2
    c.checkpoint_every = 4
    if not common.given(a, "batch_size"):
      c.input.batch_size = 16
    c.input.eval_batch_size = 64
  else:
    c.input.dev_size = 0  # 0: all of dev.
  return c


def _column(v):
  return (isinstance(v, str) and v != "") or (rules.is_int(v) and 0 <= v < 10**4)


def _delimiter(v):
  return isinstance(v, str) and (len(v) == 1 or v == "\\t") and v not in "\n\r\"'"


def _labels(v):
  if len(set(v)) != len(v):
    return "names a label twice (each class needs its own)."
  return rules.sequence(rules.text(), min_len=0).problem(v) or True


# The rule of every field of build(), in its order (noisy_meta/validate.py).
INPUT_RULES = {
    "input.task": rules.choice(TEXT_TASKS),
    "input.source": rules.choice(("auto", "local", "tfds")),
    "input.data_dir": rules.text(),
    "input.cache_dir": rules.text(),
    "input.train_size": rules.integer(0, rules.MAX_SIZE),
    "input.subset_seed": rules.seed(),
    "input.max_len": rules.custom(  # [CLS], [SEP] and a token.
        lambda v: rules.is_int(v) and 3 <= v <= rules.MAX_TOKENS,
        f"must be an integer in [3, {rules.MAX_TOKENS}] ([CLS], [SEP] and one token; "
        "longer texts are cut to max_len tokens).", 2),
    "input.buckets": rules.sequence(
        rules.integer(1, rules.MAX_TOKENS), increasing=True, max_len=64,
        says="give padded lengths as positive, increasing integers, e.g. "
             "--config.input.buckets=(16,32,64,128)."),
    "input.batch_size": rules.integer(1, rules.MAX_BATCH),
    "input.eval_batch_size": rules.integer(1, rules.MAX_BATCH),
    "input.train_file": rules.text(),
    "input.dev_file": rules.text(),
    "input.text_column": rules.custom(_column, "must be a column name or a 0-based index.", ""),
    "input.label_column": rules.custom(_column, "must be a column name or a 0-based index.", ""),
    "input.delimiter": rules.custom(
        _delimiter, "must be one character (\\t for a tab; not a newline or quote).", ";;"),
    "input.has_header": rules.flag(),
    "input.labels": rules.custom(_labels, "must be a tuple of label strings.", ("a", "a")),
    "input.corrections": rules.text(),  # noisy_meta/data/corrections.py reads the file.
    "input.dev_size": rules.integer(0, rules.MAX_SIZE),
}


def rules_of(c):
  """The rule of every field of fine-tuning config `c`."""
  del c  # The same fields in every fine-tuning config.
  return {**common.RUN_RULES, **INPUT_RULES, **common.MODEL_RULES, **common.ADAMW_RULES,
          **common.CADENCE_RULES}


TRAINERS = ("finetune", "supervised")  # The trainers its configs run (noisy_meta/validate.py).
# Rules across fields, each (config) -> None or (field, value, problem).
CROSS_RULES = (
    lambda c: None if c.learner == "text" else (
        "learner", c.learner, "a text config trains the text learner (configs/re_*.py "
        "for relations)."),
    common.buckets_cover_max_len,
)


def cross_rules(c):
  """The rules across fields of `c`: CROSS_RULES."""
  del c  # The same for every config of the family.
  return CROSS_RULES
