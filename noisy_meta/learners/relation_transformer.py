"""The Transformer relation learner: a pretrained BERT / DistilBERT encoder
(default: the offline MiniLM) over entity-marked sentences
(noisy_meta/data/entity_markers.py), the hidden states at the two start
markers concatenated, dropout and a linear layer over the directed labels
(Baldini Soares et al. 2019). Fine-tuned with the text classifier's AdamW
recipe (linear warmup and decay, clipping, no decay on biases and
LayerNorm), the best-dev parameters kept, scored with the dataset's official
metric (SemEval-2010 Task 8 macro-F1, TACRED micro-F1). SemEval and TACRED
(with label patches) are read as for PA-LSTM and C-GCN.
"""
import dataclasses
from typing import Any, Optional

from absl import logging
import flax
import jax
import jax.numpy as jnp
import numpy as np

from noisy_meta import aum_lib
from noisy_meta.core import errors
from noisy_meta.core import guards
from noisy_meta.core import loop
from noisy_meta.core import parallel
from noisy_meta.data import corrections
from noisy_meta.data import entity_markers
from noisy_meta.data import pipeline
from noisy_meta.data import text_files
from noisy_meta.learners import base
from noisy_meta.learners import relation_classifier
from noisy_meta.learners import relation_scoring
from noisy_meta.learners import text_classifier
from noisy_meta.models import encoders
from noisy_meta.models import hf_import
from noisy_meta.models import transformer


class TrainState(text_classifier.TrainState):
  """The text classifier's state (AdamW schedule, AUM dynamics) and the
  best-dev score and parameters."""
  best_f1: Any = None
  best_params: Any = None
  dynamics: Optional[aum_lib.Dynamics] = None


@dataclasses.dataclass
class Split:
  """Subword ids [N, L], lengths [N], start-marker positions e1, e2 [N],
  labels [N] and the examples' ids (list of str) of one split."""
  tokens: np.ndarray
  lengths: np.ndarray
  e1: np.ndarray
  e2: np.ndarray
  labels: np.ndarray
  ids: list


def _split(examples, enc, labels):
  index = {r: i for i, r in enumerate(labels)}
  ys = np.zeros(len(examples), np.int32)
  for i, e in enumerate(examples):
    if e["relation"] not in index:
      raise errors.InputError(f"{e.get('source', e['id'])}: relation {e['relation']!r} "
                              f"is not among the labels {labels}.")
    ys[i] = index[e["relation"]]
  return Split(enc.ids, enc.lengths, enc.e1, enc.e2, ys, [e["id"] for e in examples])


def prepare(config):
  """Entity-marked splits (cached) and the pretrained encoder."""
  inp = config.input
  d, labels = relation_classifier.load_examples(config)
  train = d["train"][:inp.train_size] if inp.train_size else d["train"]
  if inp.get("corrections"):  # A person's decisions on these rows (ids: after train_size).
    train = corrections.correct_examples(train, inp.corrections, labels)
  folder, enc_cfg, enc_params, _ = hf_import.load(config.model.path)
  if inp.max_len > enc_cfg.max_position:
    raise errors.InputError(f"input.max_len={inp.max_len} exceeds the model's "
                            f"{enc_cfg.max_position} positions.")
  tokenizer = hf_import.load_tokenizer(folder)
  if inp.markers == "entity":  # New marker tokens where the vocabulary has no unused slots.
    added = entity_markers.add_marker_tokens(tokenizer)
    size = max(entity_markers.entity_ids(tokenizer)) + 1
    enc_cfg, enc_params = grow_vocab(enc_cfg, enc_params, size, added)
    if added:
      logging.info("Entity markers: added %s to the vocabulary as ids %s; the "
                   "embedding table has %d rows.", entity_markers.ADDED, added,
                   enc_cfg.vocab_size)
  cache = pipeline.cache_dir(inp.cache_dir)
  splits, cut = {}, 0
  for name, exs in (("train", train), ("dev", d["dev"]), ("test", d["test"])):
    enc = entity_markers.encode(exs, tokenizer, inp.max_len, kind=inp.markers, cache=cache)
    splits[name] = _split(exs, enc, labels)
    cut += int(enc.truncated.sum())
  logging.info("Entity markers (%s): %.1f subword tokens per training sentence on "
               "average; %d sentences cut around their entities (max_len %d).",
               inp.markers, splits["train"].lengths.mean(), cut, inp.max_len)
  return dict(splits=splits, labels=labels, dev_ids=d.get("dev_ids", splits["dev"].ids),
              warnings=d.get("warnings", []),
              enc_cfg=enc_cfg, enc_params=enc_params, tokenizer=tokenizer,
              examples=dict(train=train),
              train_before_patch=relation_classifier.labels_before_patch(train, labels))


MARKER_INIT_STD = 0.02  # BERT's initializer_range, which the registered families share.
MARKER_INIT_SEED = 0


def vocab_tables(cfg):
  """The flattened encoder param paths whose first axis is the vocabulary
  (the word-embedding table: word_embeddings for BERT, RoBERTa, ELECTRA,
  MPNet and DeBERTa, tok_embeddings for ModernBERT), found as the params
  whose shapes change with cfg.vocab_size, so every registered architecture
  is covered without naming its table."""
  def shapes(c):
    model = encoders.encoder(c)
    ids = jnp.zeros((1, 4), jnp.int32)
    tree = jax.eval_shape(lambda r: model.init(r, ids, jnp.ones_like(ids))["params"],
                          jax.random.key(0))
    return {k: v.shape for k, v in flax.traverse_util.flatten_dict(
        flax.core.unfreeze(tree)).items()}
  a = shapes(cfg)
  b = shapes(dataclasses.replace(cfg, vocab_size=cfg.vocab_size + 1))
  paths = sorted(k for k in a if a[k] != b[k])
  for k in paths:
    if b[k] != (a[k][0] + 1,) + tuple(a[k][1:]) or a[k][0] != cfg.vocab_size:
      raise AssertionError(f"{cfg.kind}: {'/'.join(k)} {a[k]} -> {b[k]} with one more "
                           "vocabulary entry; expected its first axis to be the vocabulary.")
  if not paths:
    raise AssertionError(f"{cfg.kind}: no encoder param depends on vocab_size.")
  return paths


def grow_vocab(cfg, params, size, fresh):
  """(config, encoder params) with at least `size` vocabulary rows, the rows
  of the ids in `fresh` (tokens just added to the tokenizer) and any
  appended row drawn from N(0, MARKER_INIT_STD) with a fixed seed, so the
  grown encoder is one fixed starting point like a checkpoint's unused rows
  (run seeds vary the head, dropout and order, as with BERT). Nothing to do
  (a BERT vocabulary's unused slots): the inputs themselves, unchanged.

  A table padded past the tokenizer (ModernBERT, DeBERTa-v3) has rows for
  the added ids already: those rows are redrawn and the table keeps its size.
  """
  old = cfg.vocab_size
  rows = sorted(set(fresh) | set(range(old, size)))
  if not rows:
    return cfg, params
  new_cfg = dataclasses.replace(cfg, vocab_size=max(old, size))
  flat = flax.traverse_util.flatten_dict(params)
  rng = np.random.default_rng(MARKER_INIT_SEED)
  for k in vocab_tables(cfg):
    table = np.asarray(flat[k], np.float32)
    grown = np.concatenate([table, np.zeros((new_cfg.vocab_size - old,) + table.shape[1:],
                                            np.float32)])
    grown[rows] = rng.normal(0.0, MARKER_INIT_STD, (len(rows),) + table.shape[1:])
    flat[k] = grown
  return new_cfg, flax.traverse_util.unflatten_dict(flat)


def create_train_state(config, enc_cfg, enc_params, num_classes, num_steps, rng,
                       dynamics_shape=None, mesh=None):
  """A TrainState with the pretrained encoder and a fresh linear layer,
  replicated over `mesh` from the start."""
  mesh = mesh or parallel.make_mesh()
  rep = parallel.replicated(mesh)
  model = transformer.EntityStartClassifier(enc_cfg, num_classes, config.model.dropout,
                                            config.model.classifier_dropout,
                                            dtype=text_classifier.compute_dtype(config))
  dummy = jnp.zeros((1, 8), jnp.int32)
  zero = jnp.zeros((1,), jnp.int32)
  shapes = flax.core.unfreeze(jax.eval_shape(
      lambda r: model.init(r, dummy, jnp.ones_like(dummy), zero, zero)["params"], rng))
  head = flax.linen.Dense(num_classes, kernel_init=flax.linen.initializers.normal(0.02))
  init = jax.jit(lambda r: head.init(r, jnp.zeros((1, 2 * enc_cfg.hidden_size)))["params"],
                 out_shardings=rep)
  params = {"classifier": flax.core.unfreeze(init(parallel.replicate(rng, mesh))),
            "encoder": hf_import.merge(shapes["encoder"], enc_params, "encoder", full=True)}
  if set(params) != set(shapes):  # The module and this init out of step: a bug.
    raise AssertionError(f"init {sorted(params)} != model {sorted(shapes)}")
  params = parallel.replicate(params, mesh)

  def create(params):
    dynamics = aum_lib.Dynamics.zeros(*dynamics_shape) if dynamics_shape else None
    return TrainState.create(
        apply_fn=model.apply, params=params, tx=text_classifier.make_optimizer(config.optim),
        dynamics=dynamics, schedule=text_classifier.make_schedule(config.optim, num_steps),
        best_f1=jnp.float32(-1.0), best_params=jax.tree_util.tree_map(jnp.copy, params))
  return jax.jit(create, out_shardings=rep)(params)


class RelationTransformer(base.BucketedBatches, relation_scoring.RelationScoring):
  """A Transformer relation classifier as a `base.Learner` with the
  `Features`, `FrozenEmbeddings`, `LayerEmbeddings`, `TestScored` and
  `LabelPatched` capabilities."""
  name = "relation_transformer"
  dev_free_epochs = False  # end_epoch reads dev (best-dev selection).

  def __init__(self, config, data=None):
    self.config = config
    self.data = d = data if data is not None else prepare(config)
    if "splits" in d:
      self.train, self.dev, self.test = (d["splits"][k] for k in ("train", "dev", "test"))
    if "labels" in d:
      self.label_names = list(d["labels"])
      self.num_classes = len(self.label_names)
    self.batch_size = config.input.batch_size
    self.eval_batch_size = config.input.eval_batch_size
    self.dataset = config.input.dataset

  # The data (batches: base.BucketedBatches).
  def relabel(self, split, labels):
    return dataclasses.replace(split, labels=np.asarray(labels, np.int32))

  def subset(self, split, idx):
    idx = np.asarray(idx, np.int64)
    return Split(split.tokens[idx], split.lengths[idx], split.e1[idx], split.e2[idx],
                 split.labels[idx], [split.ids[i] for i in idx])

  def fingerprints(self, train):
    fp = lambda s: guards.fingerprint(s.tokens, s.lengths, s.e1, s.e2, s.labels)
    return dict(train=fp(train), dev=fp(self.dev), test=fp(self.test))

  def example_ids(self, split):
    return split.ids

  def make_batch(self, split, idx, batch_size, length):
    length = length or self.padded_length(split, idx)
    batch = pipeline.make_batch(split.tokens, split.lengths, split.labels, idx, batch_size,
                                length)
    for k in ("e1", "e2"):
      pos = np.zeros(batch_size, np.int32)
      pos[:len(idx)] = getattr(split, k)[idx]
      batch[k] = pos
    return batch

  # The model.
  def init_state(self, rng, num_classes, num_steps, mesh, dynamics_shape=None,
                 init_params=None):
    d = self.data
    state = create_train_state(self.config, d["enc_cfg"], d["enc_params"], num_classes,
                               num_steps, rng, dynamics_shape=dynamics_shape, mesh=mesh)
    if init_params is not None:
      init_params = parallel.replicate(init_params, mesh)
      state = state.replace(params=init_params,
                            best_params=jax.tree_util.tree_map(jnp.copy, init_params))
    return state

  @staticmethod
  def _inputs(batch):
    return batch["input_ids"], batch["attention_mask"], batch["e1"], batch["e2"]

  def forward(self, state, params, batch, rng):
    """(logits, no penalty) with dropout on."""
    logits = state.apply_fn({"params": params}, *self._inputs(batch), train=True,
                            rngs={"dropout": rng})
    return logits, None

  def logits(self, state, params, batch):
    return state.apply_fn({"params": params}, *self._inputs(batch), train=False)

  def features(self, state, params, batch):
    """(logits [B, C], the entity-start vector [B, 2D]), deterministic."""
    logits, mods = state.apply_fn({"params": params}, *self._inputs(batch), train=False,
                                  mutable=["intermediates"])
    return logits, mods["intermediates"]["features"][0]

  def learning_rate(self, state, step=None):
    return text_classifier.learning_rate(state.schedule, state.step if step is None else step)

  # Frozen-encoder views (the detectors' probes and neighbours).
  def embed(self, split, batch_size=128):
    """The pretrained encoder's last-layer entity-start vectors [N, 2D], L2-normalised."""
    return self.embed_layers(split, batch_size)[:, -1]

  def embed_layers(self, split, batch_size=128):
    """Each layer's entity-start vectors of the pretrained encoder
    [N, layers, 2D], each L2-normalised."""
    d = self.data
    model = encoders.encoder(d["enc_cfg"])
    params = {"params": d["enc_params"]}
    is_layer = encoders.is_layer(d["enc_cfg"])
    layers = d["enc_cfg"].num_layers

    @jax.jit
    def pooled(batch):
      _, mods = model.apply(params, batch["input_ids"], batch["attention_mask"],
                            capture_intermediates=is_layer)
      out = []
      for i in range(layers):
        h = mods["intermediates"][f"layer_{i}"]["__call__"][0]
        v = transformer.entity_start_states(h, batch["e1"], batch["e2"])
        out.append(v / jnp.maximum(jnp.linalg.norm(v, axis=-1, keepdims=True), 1e-12))
      return jnp.stack(out, 1)

    return loop.map_split(pooled, self, split, batch_size=batch_size,
                          batches=self.eval_batches(split))

  # The recipe and the score.
  def describe(self, workdir, n, num_classes, num_steps):
    del num_classes
    logging.info("%s / transformer (%s): %d train, %d dev, %d test, %d steps (%s).",
                 self.dataset, self.config.model.path, n, self.size(self.dev),
                 self.size(self.test), num_steps, workdir)

  def info(self):
    return {"task": self.dataset, "model": "transformer", "encoder": self.config.model.path}

  def train_examples(self):
    """The training split as `TextData` (for reports): the sentence with the
    subject in [S ...] and the object in [O ...], the example id as source."""
    texts = []
    for e in self.data["examples"]["train"]:
      words = list(e["token"])
      for who, tag in (("subj", "S"), ("obj", "O")):
        s, t = e[f"{who}_start"], e[f"{who}_end"]
        words[s] = f"[{tag} " + words[s]
        words[t] = words[t] + "]"
      texts.append(" ".join(words))
    out = text_files.TextData(texts, np.asarray(self.train.labels, np.int32),
                              tuple(self.label_names), [str(x) for x in self.train.ids])
    out.warnings = self.data_warnings()
    return out

  def source_fingerprints(self):
    return self.fingerprints(self.train)

  def labels_before_patch(self):
    """The training labels before the label patch (None: it changed none)."""
    return self.data.get("train_before_patch")

  def end_epoch(self, state, dev, epoch):
    """Keeps the best-dev parameters (the learning rate follows its schedule)."""
    del epoch
    state, _ = relation_scoring.keep_best(state, dev["f1"])
    return state, dict(dev, best_f1=float(state.best_f1)), ""
