"""The learner interface as types: what the loop (noisy_meta/core/loop.py) and
every method (supervised, AUM, detectors, MLRC) call, and the capabilities
some learners add.

`Learner` is what every learner is; the capability protocols (`Features`,
`FrozenEmbeddings`, `LayerEmbeddings`, `TestScored`, `LabelPatched`) are
what a method may use when a learner has them, asked with `isinstance`
(the protocols are runtime-checkable), never by probing for attributes.
tests/learners_test.py checks every registered learner against them.

Shared pieces the learners would otherwise copy live here too:
`BucketedBatches` (length-bucketed batches of token-id splits) and
`InMemory` (the data and recipe defaults of a learner over in-memory
arrays, scored by accuracy: a new learner writes its model and batches).
"""
import dataclasses
from typing import Any, Protocol, runtime_checkable

from absl import logging
import numpy as np

from noisy_meta.core import guards
from noisy_meta.data import pipeline
from noisy_meta.data import text_files
from noisy_meta import metrics as metrics_lib


@runtime_checkable
class Learner(Protocol):
  """A model family the loop and the methods train.

  Splits are the learner's own objects (arrays with `labels` [N]); batches
  are dicts with the model's inputs, `label`, `_id` (row, -1 for padding)
  and `_mask` (real rows), padded to a fixed number of rows.
  """
  name: str  # The registry key (config.learner).
  config: Any
  train: Any  # Training split; dev: the development split.
  dev: Any
  label_names: list
  num_classes: int
  batch_size: int
  eval_batch_size: int
  # True when `end_epoch` ignores dev, so config.eval_every_epoch=False may
  # score dev after the last epoch only.
  dev_free_epochs: bool

  # The data.
  def size(self, split) -> int: ...
  def subset(self, split, idx): ...
  def relabel(self, split, labels): ...
  def fingerprints(self, train) -> dict:
    """{split: digest} a reused workdir of one training run must match."""
  def source_fingerprints(self) -> dict:
    """{split: digest} of the data a whole job (AUM, MLRC) reads."""
  def epoch_batches(self, split, seed, epoch) -> list:
    """[(row indices, padded length or 0)] of one epoch; pure in (seed, epoch)."""
  def eval_batches(self, split, batch_size=None) -> list:
    """[(row indices, padded length or 0)] covering `split` once, in a fixed order."""
  def padded_length(self, split, rows) -> int: ...
  def example_ids(self, split) -> list: ...
  def make_batch(self, split, idx, batch_size, length): ...
  def train_examples(self):
    """The training split as `text_files.TextData` (for reports), its
    `warnings` the learner's `data_warnings()`."""

  # The model.
  def init_state(self, rng, num_classes, num_steps, mesh, dynamics_shape=None,
                 init_params=None):
    """A flax TrainState (with a `dynamics` field), replicated over `mesh`."""
  def forward(self, state, params, batch, rng):
    """(logits_BxC, per-example penalty [B] or None) with dropout on; traceable.
    The method's objective (noisy_meta/core/objectives.py) makes the loss."""
  def logits(self, state, params, batch):
    """logits_BxC of a deterministic forward pass; traceable."""
  def learning_rate(self, state, step=None):
    """The step size before update `step` (default: the state's); traceable."""

  # The recipe and the score.
  def describe(self, workdir, n, num_classes, num_steps) -> None: ...
  def dev_metrics(self, preds, num_classes) -> dict: ...
  def dev_line(self, dev) -> str: ...
  def end_epoch(self, state, dev, epoch):
    """(state, dev to log, note): best-dev selection, learning-rate decay."""
  def info(self) -> dict:
    """What metrics.json says the run was (task, model)."""
  def collapse_reason(self, preds, labels):
    """Why predictions `preds` of labels `labels` are degenerate, or None."""
  def data_warnings(self) -> list:
    """What the readers found odd but usable in this data (reports repeat it)."""


@runtime_checkable
class Features(Protocol):
  """A learner whose model exposes the classifier's input (neighbour detectors)."""

  def features(self, state, params, batch):
    """(logits_BxC, features_BxD) of a deterministic forward pass; traceable."""


@runtime_checkable
class FrozenEmbeddings(Protocol):
  """A learner with a training-free view of its examples (probes, kNN)."""

  def embed(self, split):
    """[N, D] L2-normalised vectors of `split` (no training involved)."""


@runtime_checkable
class LayerEmbeddings(Protocol):
  """A pretrained encoder whose every layer gives a frozen view."""

  def embed_layers(self, split):
    """[N, layers, D], each layer's vectors L2-normalised."""


@runtime_checkable
class TestScored(Protocol):
  """A learner with a labelled test split, an official scorer and best-dev
  parameters (`state.best_params`, `state.best_f1`): the relation learners."""
  test: Any

  def names(self, ids) -> list:
    """Label strings of class ids (an AUM run's fake class included)."""
  def score(self, gold, preds):
    """(official score in [0, 1], details) of class ids."""
  def result_fields(self, details) -> dict:
    """What metrics.json adds to the test score, from `score`'s details."""
  def write_test_artifacts(self, workdir, config, test_preds, result) -> None:
    """What a supervised run leaves beside metrics.json (answer files, report.md)."""


@runtime_checkable
class LabelPatched(Protocol):
  """A learner whose data may carry a published label correction."""

  def labels_before_patch(self):
    """[N] training labels before the patch, or None when it changed none."""


CAPABILITIES = (Features, FrozenEmbeddings, LayerEmbeddings, TestScored, LabelPatched)


def missing(cls, protocol):
  """Methods of `protocol` that class `cls` does not define (its data
  members are set per instance: `isinstance` checks those)."""
  names = {n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")}
  return sorted(n for n in names if not any(n in vars(k) for k in cls.__mro__))


class BucketedBatches:
  """Batches of a token-id split (`lengths` [N], `labels` [N]) in
  length buckets (`config.input.buckets`)."""
  config: Any
  batch_size: int
  eval_batch_size: int

  def size(self, split):
    return len(split.labels)

  def epoch_batches(self, split, seed, epoch):
    """Length-bucketed (indices, padded length) of one epoch; pure in (seed, epoch)."""
    return pipeline.epoch_batches(split.lengths, self.batch_size, seed, epoch,
                                  self.config.input.buckets)

  def eval_batches(self, split, batch_size=None):
    return pipeline.epoch_batches(split.lengths, batch_size or self.eval_batch_size, 0, 0,
                                  self.config.input.buckets, shuffle=False)

  def padded_length(self, split, rows):
    """The bucketed length of a batch of rows `rows`."""
    return pipeline.bucket_length(int(split.lengths[rows].max()), self.config.input.buckets)


class InMemory:
  """Defaults for a learner whose splits are dataclasses of row-aligned numpy
  arrays with `labels` [N], scored by accuracy: every `Learner` member but
  the model (`init_state`, `loss`, `logits`, `learning_rate`) and the
  batches (`epoch_batches`, `eval_batches`, `make_batch`)."""
  config: Any
  train: Any
  dev: Any
  label_names: list
  dev_free_epochs = True  # end_epoch ignores dev.

  def size(self, split):
    return len(split.labels)

  def subset(self, split, idx):
    idx = np.asarray(idx, np.int64)
    return dataclasses.replace(split, **{
        f.name: getattr(split, f.name)[idx] for f in dataclasses.fields(split)})

  def relabel(self, split, labels):
    return dataclasses.replace(split, labels=np.asarray(labels, split.labels.dtype))

  def fingerprints(self, train):
    return dict(train=guards.fingerprint(train), dev=guards.fingerprint(self.dev))

  def source_fingerprints(self):
    return self.fingerprints(self.train)

  def padded_length(self, split, rows):
    del split, rows
    return 0  # Rows of fixed width.

  def example_ids(self, split):
    return list(range(self.size(split)))

  def train_examples(self):
    n = self.size(self.train)
    out = text_files.TextData([f"row {i}" for i in range(n)], self.train.labels,
                              tuple(self.label_names), [f"row:{i}" for i in range(n)])
    out.warnings = self.data_warnings()
    return out

  def describe(self, workdir, n, num_classes, num_steps):
    logging.info("%s: %d train / %d dev examples, %d classes, %d steps (%s).", self.name,
                 n, self.size(self.dev), num_classes, num_steps, workdir)

  def dev_metrics(self, preds, num_classes):
    return metrics_lib.classification_metrics(self.dev.labels, preds, num_classes)

  def dev_line(self, dev):
    return f"accuracy {dev['accuracy']:.4f}"

  def end_epoch(self, state, dev, epoch):
    del epoch
    return state, dev, ""

  def info(self):
    return {"task": self.name}

  def collapse_reason(self, preds, labels):
    names = list(self.label_names) + [f"fake class {len(self.label_names)}"]
    return metrics_lib.collapse(preds, labels, names=names)

  def data_warnings(self):
    return []
