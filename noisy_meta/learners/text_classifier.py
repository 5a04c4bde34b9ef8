"""The text classifier learner: a pretrained Transformer encoder (BERT,
DistilBERT, MiniLM) with a classification head, fine-tuned with AdamW
(linear warmup and decay, gradient clipping, dropout), scored by accuracy
and MCC (CoLA's metric).
"""
import dataclasses
from typing import Optional

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
from noisy_meta.core import loop
from noisy_meta.core import parallel
from noisy_meta.data import pipeline
from noisy_meta.data import tasks
from noisy_meta.learners import base
from noisy_meta import metrics as metrics_lib
from noisy_meta.models import encoders
from noisy_meta.models import hf_import
from noisy_meta.models import transformer


class TrainState(train_state.TrainState):
  """Params, optimizer state, step, schedule and (AUM runs) per-example dynamics.

  The learning-rate schedule is data in the state, not constants in the
  compiled step: runs of different lengths (sieved subsets, seeds, learning
  rates) then compile to the same program, which the persistent compilation
  cache serves after the first run.
  """
  dynamics: Optional[aum_lib.Dynamics] = None
  schedule: Optional[dict] = None  # peak (f32), warmup and total steps (i32).


def make_schedule(optim, num_steps):
  """Linear warmup over `warmup_frac` of the steps, then linear decay to 0."""
  return {"peak": jnp.float32(optim.lr),
          "warmup": jnp.int32(int(optim.warmup_frac * num_steps)),
          "total": jnp.int32(num_steps)}


def learning_rate(schedule, step):
  """The schedule's learning rate before update `step` (0-based); traceable."""
  step = jnp.asarray(step, jnp.float32)
  warmup = schedule["warmup"].astype(jnp.float32)
  total = schedule["total"].astype(jnp.float32)
  up = schedule["peak"] * step / jnp.maximum(warmup, 1.0)
  down = schedule["peak"] * (total - step) / jnp.maximum(total - warmup, 1.0)
  return jnp.where(step < warmup, up, jnp.maximum(down, 0.0))


def make_optimizer(optim):
  """AdamW without its learning rate (applied in the step), with clipping.

  AdamW = Adam moments, then decoupled weight decay, then -lr scaling
  (optax.adamw's order); the last factor comes from `learning_rate`.
  """
  # No weight decay on biases and LayerNorm scales (as BERT and HF do).
  decay_mask = lambda p: jax.tree_util.tree_map_with_path(
      lambda path, _: path[-1].key not in ("bias", "scale"), p)
  return optax.chain(
      optax.clip_by_global_norm(optim.grad_clip),
      optax.scale_by_adam(b1=optim.b1, b2=optim.b2, eps=optim.eps),
      optax.add_decayed_weights(optim.weight_decay, mask=decay_mask))


def compute_dtype(config):
  """The encoder's computation dtype (model.dtype; float32 where unset)."""
  return jnp.dtype(config.model.get("dtype", "float32"))


def create_train_state(config, enc_cfg, enc_params, head_params, num_classes,
                       num_steps, rng, dynamics_shape=None, mesh=None):
  """A TrainState whose encoder (and pooler, if saved) is pretrained.

  `dynamics_shape` = (examples, epochs, real classes) adds AUM / data-map
  accumulators. Made replicated over `mesh` (default: all devices) from the
  start: the fresh head by a jit with replicated outputs, the pretrained
  weights put by each process on its own devices.
  """
  mesh = mesh or parallel.make_mesh()
  rep = parallel.replicated(mesh)
  model = transformer.Classifier(enc_cfg, num_classes, config.model.dropout,
                                 config.model.classifier_dropout,
                                 dtype=compute_dtype(config))
  dummy = jnp.zeros((1, 8), jnp.int32)
  # The whole model's parameter shapes without running (or compiling) its
  # init: the encoder's weights all come from the checkpoint; only the head
  # is drawn, with the values the whole model's init would give it.
  shapes = flax.core.unfreeze(jax.eval_shape(
      lambda r: model.init(r, dummy, jnp.ones_like(dummy))["params"], rng))
  head = transformer.Head(enc_cfg, num_classes)
  init = jax.jit(lambda r: head.init(r, jnp.zeros((1, enc_cfg.hidden_size)))["params"],
                 out_shardings=rep)
  params = flax.core.unfreeze(init(parallel.replicate(rng, mesh)))
  params["encoder"] = hf_import.merge(shapes["encoder"], enc_params, "encoder", full=True)
  if set(params) != set(shapes):  # Head and Classifier out of step: a bug.
    raise AssertionError(f"head {sorted(params)} != model {sorted(shapes)}")
  params = parallel.replicate(hf_import.merge(params, head_params, "head"), mesh)

  def create(params):
    dynamics = aum_lib.Dynamics.zeros(*dynamics_shape) if dynamics_shape else None
    return TrainState.create(apply_fn=model.apply, params=params,
                             tx=make_optimizer(config.optim), dynamics=dynamics,
                             schedule=make_schedule(config.optim, num_steps))
  return jax.jit(create, out_shardings=rep)(params)


def pretrained(path):
  """The pretrained model alone: {enc_cfg, enc_params, head_params}."""
  _, enc_cfg, enc_params, head_params = hf_import.load(path)
  return dict(enc_cfg=enc_cfg, enc_params=enc_params, head_params=head_params)


def prepare(config):
  """Data (tokenised) and the pretrained model for a fine-tuning config."""
  inp = config.input
  train, dev = tasks.load_splits(inp)
  folder, enc_cfg, enc_params, head_params = hf_import.load(config.model.path)
  tokenizer = hf_import.load_tokenizer(folder)
  if inp.max_len > enc_cfg.max_position:
    raise errors.InputError(f"input.max_len={inp.max_len} exceeds the model's "
                            f"{enc_cfg.max_position} positions.")
  cache = pipeline.cache_dir(inp.cache_dir)
  train_ids, train_len = pipeline.tokenize(train.texts, tokenizer, inp.max_len, cache)
  dev_ids, dev_len = pipeline.tokenize(dev.texts, tokenizer, inp.max_len, cache)
  return dict(train=train, dev=dev, train_ids=train_ids, train_len=train_len,
              dev_ids=dev_ids, dev_len=dev_len, enc_cfg=enc_cfg,
              enc_params=enc_params, head_params=head_params)


@dataclasses.dataclass
class Split:
  """Token ids [N, L], lengths [N] and labels [N] of one split."""
  ids: np.ndarray
  lengths: np.ndarray
  labels: np.ndarray


class TextClassifier(base.BucketedBatches):
  """A text classifier as a `base.Learner` with the `Features`,
  `FrozenEmbeddings` and `LayerEmbeddings` capabilities."""
  name = "text"
  dev_free_epochs = True  # end_epoch ignores dev: config.eval_every_epoch=False may skip it.

  def __init__(self, config, data=None):
    """data: `prepare(config)`'s (made when None). With the pretrained model
    only (`enc_cfg`, `enc_params`, `head_params`: no splits), the learner
    makes states and steps (tests, benchmarks)."""
    self.config = config
    self.data = d = data if data is not None else prepare(config)
    if "train" in d:
      self.train = Split(d["train_ids"], d["train_len"], d["train"].labels)
      self.dev = Split(d["dev_ids"], d["dev_len"], d["dev"].labels)
      self.label_names = list(d["train"].label_names)
      self.num_classes = len(self.label_names)
    self.batch_size = config.input.batch_size
    self.eval_batch_size = config.input.eval_batch_size

  # The data (batches: base.BucketedBatches).
  def relabel(self, split, labels):
    return dataclasses.replace(split, labels=np.asarray(labels))

  def subset(self, split, idx):
    return Split(split.ids[idx], split.lengths[idx], split.labels[idx])

  def fingerprints(self, train):
    """{split: digest} that a reused workdir must match (guards)."""
    return dict(dev=guards.fingerprint(self.data["dev_ids"], self.data["dev"].labels),
                train=guards.fingerprint(train.ids, train.lengths, train.labels))

  def example_ids(self, split):
    """Row numbers (the text files' rows carry no ids of their own)."""
    return list(range(self.size(split)))

  def make_batch(self, split, idx, batch_size, length):
    return pipeline.make_batch(split.ids, split.lengths, split.labels, idx, batch_size,
                               length)

  def info(self):
    """What metrics.json says the run was."""
    return {"task": self.config.input.task, "model": self.config.model.path}

  def train_examples(self):
    """The training split's `TextData` (texts, labels, label names, file:line)."""
    return self.data["train"]

  def source_fingerprints(self):
    """{split: digest} of the data a whole job (AUM) reads."""
    return dict(train=guards.fingerprint(self.data["train"]),
                dev=guards.fingerprint(self.data["dev"]))

  def embed(self, split, batch_size=128):
    """Mean-pooled hidden states of the pretrained encoder [N, D], L2-normalised."""
    return self.embed_layers(split, batch_size)[:, -1]

  def embed_layers(self, split, batch_size=128):
    """Each layer's mean-pooled hidden states of the pretrained encoder
    [N, layers, D], each L2-normalised (the last layer's are `embed`'s)."""
    d = self.data
    model = encoders.encoder(d["enc_cfg"])
    params = {"params": d["enc_params"]}
    is_layer = encoders.is_layer(d["enc_cfg"])

    @jax.jit
    def pooled(batch):
      _, mods = model.apply(params, batch["input_ids"], batch["attention_mask"],
                            capture_intermediates=is_layer)
      m = batch["attention_mask"][..., None].astype(jnp.float32)
      out = []
      for i in range(d["enc_cfg"].num_layers):
        h = mods["intermediates"][f"layer_{i}"]["__call__"][0]
        v = (h * m).sum(1) / jnp.maximum(m.sum(1), 1.0)
        out.append(v / jnp.linalg.norm(v, axis=-1, keepdims=True))
      return jnp.stack(out, 1)

    return loop.map_split(pooled, self, split, batch_size=batch_size,
                          batches=self.eval_batches(split, batch_size))

  # The model.
  def init_state(self, rng, num_classes, num_steps, mesh, dynamics_shape=None,
                 init_params=None):
    d = self.data
    state = create_train_state(self.config, d["enc_cfg"], d["enc_params"], d["head_params"],
                               num_classes, num_steps, rng, dynamics_shape=dynamics_shape,
                               mesh=mesh)
    if init_params is not None:
      state = state.replace(params=parallel.replicate(init_params, mesh))
    return state

  def forward(self, state, params, batch, rng):
    """(logits, no penalty) with dropout on."""
    logits = state.apply_fn({"params": params}, batch["input_ids"], batch["attention_mask"],
                            train=True, rngs={"dropout": rng})
    return logits, None

  def logits(self, state, params, batch):
    return state.apply_fn({"params": params}, batch["input_ids"], batch["attention_mask"],
                          train=False)

  def features(self, state, params, batch):
    """(logits [B, C], the classifier's input features [B, D]), deterministic."""
    logits, mods = state.apply_fn({"params": params}, batch["input_ids"],
                                  batch["attention_mask"], train=False,
                                  mutable=["intermediates"])
    return logits, mods["intermediates"]["features"][0]

  def learning_rate(self, state, step=None):
    return learning_rate(state.schedule, state.step if step is None else step)

  # The recipe and the score.
  def describe(self, workdir, n, num_classes, num_steps):
    logging.info("%s: %d train / %d dev examples, %d classes, %d steps (%s).",
                 self.config.input.task, n, self.size(self.dev), num_classes, num_steps,
                 workdir)

  def dev_metrics(self, preds, num_classes):
    # An AUM run may predict its fake class on dev: count it as a class.
    return metrics_lib.classification_metrics(self.dev.labels, preds, num_classes)

  def dev_line(self, dev):
    return f"accuracy {dev['accuracy']:.4f} mcc {dev['mcc']:.4f}"

  def data_warnings(self):
    """The readers' warnings on train and dev (tasks.load_splits)."""
    return list(self.data["train"].warnings) if "train" in self.data else []

  def collapse_reason(self, preds, labels):
    """One predicted class, or the majority class's accuracy (an AUM run's
    fake class named as such)."""
    names = list(self.label_names) + [f"fake class {len(self.label_names)}"]
    return metrics_lib.collapse(preds, labels, names=names)

  def end_epoch(self, state, dev, epoch):
    """Fine-tuning keeps the last epoch's parameters: nothing to do."""
    del epoch
    return state, dev, ""

