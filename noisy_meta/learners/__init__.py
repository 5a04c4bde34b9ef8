"""Learners: model families the loop (noisy_meta/core/loop.py) and every method
(supervised, AUM, MLRC) can train. Each is one module with one class:

  text_classifier.TextClassifier          a pretrained Transformer encoder + head
  relation_classifier.RelationClassifier  PA-LSTM or C-GCN over GloVe (config.model.name)
  relation_transformer.RelationTransformer  a pretrained encoder over entity-marked
                                          sentences, entity-start pooling

A learner is built from a config (and, optionally, data already prepared by
its module's `prepare`) and offers:

  data     train, dev (and test) splits; size(split); subset(split, idx);
           relabel(split, labels); fingerprints(train) for workdir guards;
           epoch_batches(split, seed, epoch) -> [(indices, padded length)]
           (a pure function of seed and epoch); eval_batches(split);
           make_batch(split, idx, batch_size, length) -> a dict with the
           model's inputs, `label`, `_id` (row, -1 for padding), `_mask`.
  model    init_state(rng, num_classes, num_steps, mesh, dynamics_shape,
           init_params) -> a flax TrainState (with a `dynamics` field);
           loss(state, params, batch, rng) -> (loss, logits_BxC), dropout on;
           logits(state, params, batch) -> logits_BxC, deterministic;
           features(state, params, batch) -> (logits_BxC, features_BxD):
           the classifier's input, deterministic (neighbour detectors);
           learning_rate(state, step=None), traceable.
  recipe   batch_size, eval_batch_size, num_classes, label_names;
           dev_metrics(preds, num_classes); dev_line(dev);
           end_epoch(state, dev, epoch) -> (state, dev to log, note), where
           best-dev selection and learning-rate decay live; describe(...).
"""
import importlib

from noisy_meta.core import errors

_LEARNERS = {
    "text": ("noisy_meta.learners.text_classifier", "TextClassifier"),
    "relation": ("noisy_meta.learners.relation_classifier", "RelationClassifier"),
    "relation_transformer": ("noisy_meta.learners.relation_transformer",
                             "RelationTransformer"),
}


def get(name):
  """The learner class called `name` (config.learner)."""
  if name not in _LEARNERS:  # A config typo: one line from main, no traceback.
    raise errors.InputError(f"config.learner={name!r}: use one of {sorted(_LEARNERS)}.")
  module, cls = _LEARNERS[name]
  return getattr(importlib.import_module(module), cls)
