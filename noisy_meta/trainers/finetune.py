"""Supervised fine-tuning of the text classifier (noisy_meta/learners/text_classifier.py).

`train_and_evaluate(config, workdir)` reads the data, tokenises it once
(cached), loads the pretrained encoder and trains it through the one loop
(noisy_meta/core/loop.py), evaluating on dev after every epoch and resuming
from the newest checkpoint in `workdir`. It leaves config.json,
metrics.jsonl, tb/ (TensorBoard), ckpt/ and metrics.json in the workdir.
"""
import os

from absl import logging

from noisy_meta.core import loop
from noisy_meta.core import parallel
from noisy_meta.core import writers
from noisy_meta import learners
from noisy_meta import metrics as metrics_lib


def train_and_evaluate(config, workdir):
  """Trains `config.learner` (default: the text classifier), evaluating on dev
  each epoch; resumes from `workdir`."""
  learner = learners.get(config.get("learner", "text"))(config)
  return fit(config, workdir, learner, learner.train)[0]


def collapse_fields(preds, labels, names, workdir, split):
  """{"collapsed", "collapse_reason"} of the final predictions; warns in the log."""
  names = list(names) + [f"fake class {len(names)}"]  # An AUM run's extra class.
  reason = metrics_lib.collapse(preds, labels, names=names)
  if reason:
    logging.warning("%s: collapsed classifier on %s: %s.", workdir, split, reason)
  return {"collapsed": reason is not None, "collapse_reason": reason}


def fit(config, workdir, learner, train, num_classes=None, dynamics=False, seed=None,
        init_params=None, score_test=False):
  """Trains `learner` on its split `train` in `workdir` (resuming).

  num_classes: e.g. an AUM run's real classes + its fake class; dynamics:
  record per-example margins and data-map statistics in the state; seed:
  defaults to config.seed; init_params: start from these (MLRC's
  fine-tuning); score_test: a learner that keeps its best-dev parameters
  and has a labelled test split (the relation learners) also scores them on
  test with its official scorer (`dev_best_f1`, `test_f1`, as the
  supervised relation job reports). Returns (result dict, final state) and
  writes metrics.json (process 0).
  """
  seed = config.seed if seed is None else seed
  fitted = loop.fit(config, workdir, learner, train, seed=seed,
                    fingerprints=learner.fingerprints(train), dynamics=dynamics,
                    num_classes=num_classes, init_params=init_params)
  result = {"dev": fitted.dev_history[-1], "dev_history": fitted.dev_history,
            "steps": fitted.steps, "train_examples": learner.size(train),
            "dev_examples": learner.size(learner.dev), "train_seconds": fitted.seconds,
            "seed": seed, **learner.info()}
  result.update(collapse_fields(fitted.dev_preds, learner.dev.labels, learner.label_names,
                                workdir, "dev"))
  if (score_test and getattr(fitted.state, "best_params", None) is not None
      and getattr(learner, "test", None) is not None):
    result["dev_best_f1"] = float(fitted.state.best_f1)
    result["test_f1"] = float(loop.best_on_test(fitted, learner)[1])
    logging.info("%s: test F1 (best dev model): %.4f", workdir, result["test_f1"])
  if parallel.is_lead():
    writers.write_json(os.path.join(workdir, "metrics.json"), result)
  return result, fitted.state
