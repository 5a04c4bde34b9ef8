"""Learners: model families the loop (noisy_meta/core/loop.py) and every method
(supervised, AUM, detectors, MLRC) can train, by name (`config.learner`):

  text                  text_classifier.TextClassifier: a pretrained
                        Transformer encoder + head
  relation              relation_classifier.RelationClassifier: PA-LSTM or
                        C-GCN over GloVe (config.model.name)
  relation_transformer  relation_transformer.RelationTransformer: a pretrained
                        encoder over entity-marked sentences

The interface is `base.Learner` (a typing.Protocol) with the capability
protocols in noisy_meta/learners/base.py; a learner is a class built from a
config (and, optionally, data already prepared by its module's `prepare`).
A new learner is one module and one `register` call.
"""
import importlib

from noisy_meta.core import errors

_LEARNERS = {
    "text": ("noisy_meta.learners.text_classifier", "TextClassifier"),
    "relation": ("noisy_meta.learners.relation_classifier", "RelationClassifier"),
    "relation_transformer": ("noisy_meta.learners.relation_transformer",
                             "RelationTransformer"),
}


def register(name, module, cls):
  """Makes class `cls` of module `module` (a dotted path) the learner `name`."""
  _LEARNERS[name] = (module, cls)


def names():
  """The registered learners' names."""
  return sorted(_LEARNERS)


def get(name):
  """The learner class called `name` (config.learner)."""
  if name not in _LEARNERS:  # A config typo: one line from main, no traceback.
    raise errors.InputError(f"config.learner={name!r}: use one of {sorted(_LEARNERS)}.")
  module, cls = _LEARNERS[name]
  return vars(importlib.import_module(module))[cls]
