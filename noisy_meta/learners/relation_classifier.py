"""The relation classifier learner: PA-LSTM (Zhang et al. 2017) or C-GCN
(Zhang, Qi and Manning 2018) over fixed GloVe vectors, trained with the
originals' recipe (SGD or Adagrad, gradient clipping, the learning rate
decayed when dev F1 stops improving, the best-dev parameters kept), scored
with the dataset's official metric (SemEval-2010 Task 8 macro-F1, TACRED
micro-F1).
"""
import dataclasses
import os
from typing import Any, Optional

from absl import logging
import flax
from flax.training import train_state
import jax
import jax.numpy as jnp
import numpy as np
import optax

from noisy_meta import aum_lib
from noisy_meta.core import errors
from noisy_meta.core import guards
from noisy_meta.core import objectives
from noisy_meta.core import parallel
from noisy_meta.data import corrections
from noisy_meta.data import label_checks
from noisy_meta.data import label_patches
from noisy_meta.data import pipeline
from noisy_meta.data import relation_batches
from noisy_meta.data import relation_features as rf
from noisy_meta.data import semeval
from noisy_meta.data import tacred
from noisy_meta.data import text_files
from noisy_meta.learners import relation_scoring
from noisy_meta.models import relation_models
from noisy_meta import relation_metrics


class TrainState(train_state.TrainState):
  """Params, optimizer state, fixed word vectors, the dev-driven schedule and
  (AUM runs) per-example dynamics."""
  constants: Any = None  # {"embed": {"glove": [V, D]}}: fixed, not optimised.
  lr: Any = None  # Current learning rate (decays on dev plateaus).
  best_f1: Any = None  # Best dev score so far, and its parameters.
  best_params: Any = None
  last_f1: Any = None  # Previous epoch's dev score (the decay rule).
  evals: Any = None  # Dev evaluations so far.
  dynamics: Optional[aum_lib.Dynamics] = None


def make_optimizer(optim):
  """Clipping and the update direction; the learning rate is applied in the step."""
  if optim.name == "sgd":
    direction = optax.identity()
  elif optim.name == "adagrad":  # PyTorch's Adagrad with the originals' 0.1 start.
    direction = optax.scale_by_rss(initial_accumulator_value=0.1, eps=1e-10)
  elif optim.name == "adam":
    direction = optax.scale_by_adam()
  else:
    raise errors.InputError(f"optim.name={optim.name!r}: use sgd, adagrad or adam.")
  return optax.chain(optax.clip_by_global_norm(optim.grad_clip), direction)


def batch_forward(apply_fn, params, constants, batch, rng, pooling_l2=0.0):
  """(logits [B, C], per-example penalty [B] or None) with dropout on: C-GCN's
  L2 penalty on the pooled sentence vector (`pooling_l2`)."""
  out = apply_fn({"params": params, "constants": constants}, batch, train=True,
                 rngs={"dropout": rng})
  logits, pooled = out if isinstance(out, tuple) else (out, None)
  penalty = None
  if pooled is not None and pooling_l2:
    penalty = pooling_l2 * (pooled.astype(jnp.float32) ** 2).sum(-1)
  return logits, penalty


def batch_loss(apply_fn, params, constants, batch, rng, pooling_l2=0.0):
  """(mean cross-entropy plus the penalty over the real rows, logits): the
  default objective of `batch_forward` (benchmarks call it directly)."""
  logits, penalty = batch_forward(apply_fn, params, constants, batch, rng, pooling_l2)
  loss_B = objectives.cross_entropy(logits, batch)
  if penalty is not None:
    loss_B = loss_B + penalty
  return objectives.masked_mean(loss_B, batch), logits


def _with_warnings(d, folder, extra=()):
  """`d` with `warnings`: a dev or test split that repeats train, and `extra`
  (logged; the job's report repeats them)."""
  where = {k: os.path.join(folder, f"{k}.json") for k in ("dev", "test")}
  d["warnings"] = label_checks.held_out_relation_warnings(d, where) + list(extra)
  for line in d["warnings"]:
    logging.warning("%s", line)
  return d


def load_examples(config):
  """{train, dev, test, warnings} lists of TACRED-schema examples, and the
  label order. A relation of dev or test that is no relation of the dataset
  (nor of train or the label patch) is refused with its file and example."""
  inp = config.input
  if inp.dataset == "semeval" and inp.converted_dir:  # No spaCy needed.
    d = {k: tacred.read_tacred(os.path.join(inp.converted_dir, f"{k}.json"))
         for k in ("train", "dev", "test")}
    d["dev_ids"] = [e["id"] for e in d["dev"]]
    label_checks.check_held_out_relations(d, relation_metrics.SEMEVAL_LABELS,
                                          "SemEval-2010 Task 8", closed=True)
    return _with_warnings(d, inp.converted_dir), list(relation_metrics.SEMEVAL_LABELS)
  if inp.dataset == "semeval":
    data_dir = text_files.configured_data_dir(inp.data_dir)
    if not data_dir:
      raise errors.InputError("No data directory: set config.input.data_dir or "
                              "NOISY_META_DATA_DIR.")
    d = semeval.load_semeval(data_dir, inp.cache_dir, dev_size=inp.dev_size,
                             seed=inp.split_seed)
    d["warnings"] = []  # Official files, dev drawn from train: nothing to name.
    return d, list(relation_metrics.SEMEVAL_LABELS)
  if inp.dataset == "tacred":
    if not inp.tacred_dir:
      raise errors.InputError("TACRED is LDC-licensed and not shipped: set "
                              "--config.input.tacred_dir to the folder of its JSON files.")
    d = label_patches.load_tacred(inp.tacred_dir, patch=inp.label_patch,
                                  patch_format=inp.label_patch_format)
    # Known: TACRED's relations and those the label patch assigns.
    known = set(tacred.TACRED_RELATIONS) | {
        e["relation"] for k in ("train", "dev", "test") for e in d[k]
        if "original_relation" in e}
    label_checks.check_held_out_relations(d, known, "TACRED")
    _with_warnings(d, inp.tacred_dir, label_checks.unknown_train_relations(
        d["train"], known, "TACRED", os.path.join(inp.tacred_dir, "train.json")))
    # The output space: every relation in any split (TACRED, TACRED-Revisited
    # and Re-TACRED differ), no_relation first.
    # The patched data's relations; an AUM job that trains on the labels
    # before the patch (noise.from_patch) also needs the relations the patch
    # replaced everywhere.
    before = config.noise.from_patch
    labels = sorted({r for k in ("train", "dev", "test") for e in d[k]
                     for r in ((e["relation"], e.get("original_relation", e["relation"]))
                               if before else (e["relation"],))} - {"no_relation"})
    return d, ["no_relation"] + labels
  raise errors.InputError(f"input.dataset={inp.dataset!r}: use semeval or tacred.")


def glove_path(config):
  inp = config.input
  if inp.glove:
    return inp.glove
  folder = os.path.join(text_files.configured_data_dir(inp.data_dir), "glove")
  files = sorted(f for f in os.listdir(folder) if f.startswith("glove")) if os.path.isdir(
      folder) else []
  if not files:
    raise errors.InputError(f"No GloVe file: set --config.input.glove (none in {folder!r}).")
  return os.path.join(folder, files[0])


def prepare(config):
  """Encoded splits, vocabularies, the GloVe matrix and the data's warnings."""
  inp = config.input
  d, labels = load_examples(config)
  train = d["train"][:inp.train_size] if inp.train_size else d["train"]
  if inp.get("corrections"):  # A person's decisions on these rows (ids: after train_size).
    train = corrections.correct_examples(train, inp.corrections, labels)
  vocabs = rf.build_vocabs(train, labels=labels, lower=inp.lower, mask=inp.entity_mask)
  glove, hits = rf.read_glove(glove_path(config), vocabs.words, seed=0)
  logging.info("Vocabulary: %d words (%d with GloVe vectors, dim %d), %d POS, %d NER, "
               "%d labels.", len(vocabs.words), hits, glove.shape[1], len(vocabs.pos),
               len(vocabs.ner), len(labels))
  enc = {name: rf.encode(split, vocabs, inp.prune_k, inp.lower, mask=inp.entity_mask)
         for name, split in (("train", train), ("dev", d["dev"]), ("test", d["test"]))}
  return dict(enc=enc, vocabs=vocabs, glove=glove, labels=labels,
              dev_ids=d.get("dev_ids", enc["dev"].ids), warnings=d.get("warnings", []),
              train_before_patch=labels_before_patch(train, labels))


def labels_before_patch(examples, labels):
  """[N] label indices of `examples` before a label patch changed them (a
  changed example keeps `original_relation`), or None when none changed."""
  if not any("original_relation" in e for e in examples):
    return None
  index = {name: i for i, name in enumerate(labels)}
  return np.array([index[e.get("original_relation", e["relation"])] for e in examples],
                  np.int32)


def create_train_state(config, vocabs, glove, num_classes, rng, mesh=None,
                       dynamics_shape=None):
  """The fresh state, replicated over `mesh` (default: all devices) from the start."""
  mesh = mesh or parallel.make_mesh()
  kwargs = {k: v for k, v in config.model.items() if k not in ("name", "pooling_l2")}
  model = relation_models.make(config.model.name, len(vocabs.words), glove.shape[1],
                               len(vocabs.pos), len(vocabs.ner), num_classes, **kwargs)
  dummy = {k: jnp.zeros((2, 8), jnp.int32) for k in ("words", "pos", "ner", "subj_pos",
                                                     "obj_pos")}
  dummy.update(heads=-jnp.ones((2, 8), jnp.int32), kept=jnp.ones((2, 8), bool),
               mask=jnp.ones((2, 8), bool))

  def create(rng, glove):
    variables = model.init({"params": rng, "dropout": rng}, dummy, train=False)
    params = flax.core.unfreeze(variables["params"])
    dynamics = aum_lib.Dynamics.zeros(*dynamics_shape) if dynamics_shape else None
    return TrainState.create(apply_fn=model.apply, params=params,
                             tx=make_optimizer(config.optim),
                             constants={"embed": {"glove": glove}},
                             lr=jnp.float32(config.optim.lr), best_f1=jnp.float32(-1.0),
                             best_params=jax.tree_util.tree_map(jnp.copy, params),
                             last_f1=jnp.float32(-1.0), evals=jnp.int32(0),
                             dynamics=dynamics)
  return jax.jit(create, out_shardings=parallel.replicated(mesh))(
      *parallel.replicate((rng, np.asarray(glove, np.float32)), mesh))


class RelationClassifier(relation_scoring.RelationScoring):
  """PA-LSTM / C-GCN as a `base.Learner` with the `Features`,
  `FrozenEmbeddings`, `TestScored` and `LabelPatched` capabilities."""
  name = "relation"
  dev_free_epochs = False  # end_epoch reads dev (best-dev selection, decay).

  def __init__(self, config, data=None):
    """data: `prepare(config)`'s (made when None). With `vocabs` and `glove`
    only (no `enc` splits), the learner makes states and steps (benchmarks)."""
    self.config = config
    self.data = data if data is not None else prepare(config)
    if "enc" in self.data:
      enc = self.data["enc"]
      self.train, self.dev, self.test = enc["train"], enc["dev"], enc["test"]
    if "labels" in self.data:
      self.label_names = list(self.data["labels"])
      self.num_classes = len(self.label_names)
    self.batch_size = config.input.batch_size
    self.eval_batch_size = config.input.eval_batch_size
    self.dataset = config.input.dataset

  # The data.
  def size(self, split):
    return len(split.labels)

  def relabel(self, split, labels):
    return dataclasses.replace(split, labels=np.asarray(labels, split.labels.dtype))

  def subset(self, split, idx):
    return relation_batches.subset(split, idx)

  def fingerprints(self, train):
    return dict(train=guards.fingerprint(train), dev=guards.fingerprint(self.dev),
                test=guards.fingerprint(self.test))

  def epoch_batches(self, split, seed, epoch):
    """Shuffled rows of one epoch (pure in seed and epoch), padded per batch."""
    return [(idx, 0) for idx in relation_batches.epoch_order(
        self.size(split), self.batch_size, seed, epoch)]

  def eval_batches(self, split, batch_size=None):
    return [(idx, 0) for idx in relation_batches.eval_order(
        split.lengths, batch_size or self.eval_batch_size)]

  def padded_length(self, split, rows):
    """A batch of rows `rows` padded to a multiple of `input.length_bucket`."""
    return pipeline.bucket_length(int(split.lengths[rows].max()),
                                          self.config.input.length_bucket)

  def example_ids(self, split):
    return split.ids

  def make_batch(self, split, idx, batch_size, length=0):
    return relation_batches.make_batch(split, idx, batch_size,
                                       self.config.input.length_bucket, length=length)

  # The model.
  def init_state(self, rng, num_classes, num_steps, mesh, dynamics_shape=None,
                 init_params=None):
    del num_steps  # The learning rate follows dev F1, not the step count.
    state = create_train_state(self.config, self.data["vocabs"], self.data["glove"],
                               num_classes, rng, mesh, dynamics_shape=dynamics_shape)
    if init_params is not None:
      init_params = parallel.replicate(init_params, mesh)
      state = state.replace(params=init_params,
                            best_params=jax.tree_util.tree_map(jnp.copy, init_params))
    return state

  def forward(self, state, params, batch, rng):
    return batch_forward(state.apply_fn, params, state.constants, batch, rng,
                         pooling_l2=self.config.model.pooling_l2)

  def logits(self, state, params, batch):
    out = state.apply_fn({"params": params, "constants": state.constants}, batch,
                         train=False)
    return out[0] if isinstance(out, tuple) else out

  def features(self, state, params, batch):
    """(logits [B, C], the classifier's input features [B, D]), deterministic."""
    out, mods = state.apply_fn({"params": params, "constants": state.constants}, batch,
                               train=False, mutable=["intermediates"])
    return (out[0] if isinstance(out, tuple) else out), mods["intermediates"]["features"][0]

  def learning_rate(self, state, step=None):
    del step  # Set at the end of each epoch by `end_epoch`.
    return state.lr

  # The recipe and the score.
  def describe(self, workdir, n, num_classes, num_steps):
    del num_classes
    logging.info("%s / %s: %d train, %d dev, %d test, %d steps (%s).", self.dataset,
                 self.config.model.name, n, self.size(self.dev), self.size(self.test),
                 num_steps, workdir)

  def info(self):
    """What metrics.json says the run was."""
    return {"task": self.dataset, "model": self.config.model.name}

  def train_examples(self):
    """The training split as `TextData` (for reports): the sentence with the
    subject in [S ...] and the object in [O ...], the example id as source."""
    enc, items = self.train, self.data["vocabs"].words.items
    texts = []
    for i in range(self.size(enc)):
      words = []
      for t in range(int(enc.lengths[i])):
        w = items[enc.words[i, t]]
        subj, obj = enc.subj_pos[i, t] == 0, enc.obj_pos[i, t] == 0
        words.append(f"[S {w}]" if subj else f"[O {w}]" if obj else w)
      texts.append(" ".join(words))
    out = text_files.TextData(texts, np.asarray(enc.labels, np.int32),
                              tuple(self.label_names), [str(x) for x in enc.ids])
    out.warnings = self.data_warnings()
    return out

  def source_fingerprints(self):
    """{split: digest} of the data a whole job (AUM, MLRC) reads."""
    return self.fingerprints(self.train)

  def labels_before_patch(self):
    """The training labels before the label patch (None: it changed none)."""
    return self.data.get("train_before_patch")

  def embed(self, split):
    """Mean GloVe vector of each sentence's words [N, D], L2-normalised (the
    neighbour rule's space: no training involved)."""
    glove = np.asarray(self.data["glove"], np.float32)
    mask = np.arange(split.words.shape[1])[None] < split.lengths[:, None]
    v = (glove[split.words] * mask[..., None]).sum(1) / np.maximum(mask.sum(1), 1)[:, None]
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)

  def end_epoch(self, state, dev, epoch):
    """Keeps the best-dev parameters; decays the learning rate as the originals do:
    when dev F1 does not improve on the previous epoch, once more than
    `decay_epoch` epochs were evaluated (SGD and Adagrad)."""
    del epoch
    optim = self.config.optim
    f1 = dev["f1"]
    decay = (int(state.evals) > optim.decay_epoch and f1 <= float(state.last_f1)
             and optim.name in ("sgd", "adagrad"))
    state, _ = relation_scoring.keep_best(state, f1)
    state = state.replace(last_f1=jnp.float32(f1), evals=state.evals + 1,
                          lr=state.lr * (optim.lr_decay if decay else 1.0))
    dev = dict(dev, best_f1=float(state.best_f1), lr=float(state.lr))
    return state, dev, f", lr -> {float(state.lr):.4f}" if decay else ""
