"""Supervised training of any learner (noisy_meta/learners/): the one fit
that every method's training runs go through.

`train_and_evaluate(config, workdir)` trains `config.learner` through the one
loop (noisy_meta/core/loop.py), evaluating on dev as the config says and
resuming from the newest checkpoint in `workdir`. A learner with a labelled
test split and an official scorer (`base.TestScored`: PA-LSTM, C-GCN, the
Transformer relation learner) keeps its best-dev parameters and scores them
on test, and leaves its test artifacts (SemEval answer files, report.md).
Every run leaves config.json, metrics.jsonl, tb/, ckpt/ and metrics.json,
which says whether the classifier collapsed.
"""
import os

from absl import logging

from noisy_meta.core import loop
from noisy_meta.core import parallel
from noisy_meta.core import writers
from noisy_meta import learners
from noisy_meta.learners import base


def train_and_evaluate(config, workdir):
  """Trains `config.learner` on its training split in `workdir` (resuming)."""
  learner = learners.get(config.learner)(config)
  return fit(config, workdir, learner, learner.train)[0]


def fit(config, workdir, learner, train, *, num_classes=None, dynamics=None, seed=None,
        init_params=None, score_test=True, extendable=(), rows=None, objective=None,
        train_fn=None):
  """Trains `learner` on its split `train` in `workdir` (resuming).

  num_classes: e.g. an AUM run's real classes + its fake class; dynamics:
  an `aum_lib.DynamicsSpec` (per-example margins and data-map statistics
  in the state); seed: defaults to config.seed; init_params: start from
  these (MLRC's fine-tuning); score_test: a `TestScored` learner scores its
  best-dev parameters on test (off for runs whose test score nobody reads:
  AUM's detection runs); extendable: config fields the calling method lets
  change on resume; rows, objective, train_fn: a repair method's per-row
  batch fields, objective and step (`loop.fit`). Returns (result dict, final state) and writes
  metrics.json (process 0). The collapse check reads the split the run is
  scored on: test when scored there, else dev.
  """
  seed = config.seed if seed is None else seed
  fitted = loop.fit(config, workdir, learner, train, seed=seed,
                    fingerprints=learner.fingerprints(train), dynamics=dynamics,
                    num_classes=num_classes, init_params=init_params, extendable=extendable,
                    rows=rows, objective=objective, train_fn=train_fn)
  result = {"dev": fitted.dev_history[-1], "dev_history": fitted.dev_history,
            "steps": fitted.steps, "train_examples": learner.size(train),
            "dev_examples": learner.size(learner.dev), "train_seconds": fitted.seconds,
            "seed": seed, **learner.info()}
  test_preds = None
  if score_test and isinstance(learner, base.TestScored):
    test_preds, test_f1, details = loop.best_on_test(fitted, learner)
    result.update(dev_best_f1=float(fitted.state.best_f1), test_f1=float(test_f1),
                  **learner.result_fields(details))
    logging.info("%s: test F1 (best dev model): %.4f", workdir, result["test_f1"])
    preds, labels, split = test_preds, learner.test.labels, "test"
  else:
    preds, labels, split = fitted.dev_preds, learner.dev.labels, "dev"
  reason = learner.collapse_reason(preds, labels)
  if reason:
    logging.warning("%s: collapsed classifier on %s: %s.", workdir, split, reason)
  result.update(collapsed=reason is not None, collapse_reason=reason)
  warnings = learner.data_warnings()
  if warnings:  # Only when the readers found something: report.md repeats it.
    result["data_warnings"] = warnings
  if parallel.is_lead():
    if test_preds is not None:
      learner.write_test_artifacts(workdir, config, test_preds, result)
    writers.write_json(os.path.join(workdir, "metrics.json"), result)
  return result, fitted.state
