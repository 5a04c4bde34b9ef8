"""Supervised relation classification: PA-LSTM, C-GCN or the Transformer
relation learner (config.learner), official scores.

`train_and_evaluate(config, workdir)` reads SemEval-2010 Task 8 (converted
to the TACRED schema with spaCy, cached) or TACRED, builds vocabularies from
the training split and the fixed GloVe matrix (noisy_meta/learners/relation_classifier.py),
trains through the one loop (noisy_meta/core/loop.py) with the originals'
recipe (SGD, gradient clipping, learning rate decayed when dev F1 stops
improving), keeps the best-dev parameters, and scores them on test with the
official metric. It leaves config.json, metrics.jsonl, tb/, ckpt/,
dev_ids.txt, test_predictions.txt and test_key.txt (official answer format),
report.md (per-relation table) and metrics.json in the workdir; it resumes
from the newest checkpoint.
"""
import os

from absl import logging

from noisy_meta.core import loop
from noisy_meta.core import parallel
from noisy_meta.core import writers
from noisy_meta import learners
from noisy_meta.learners import relation_classifier as relation_learner
from noisy_meta import metrics as metrics_lib
from noisy_meta import relation_metrics
from noisy_meta.reports import relation_report as relation_report


def train_and_evaluate(config, workdir):
  """Trains, keeps the best-dev parameters, scores them on test; resumes."""
  return fit(config, workdir, learners.get(config.get("learner", "relation"))(config))


def fit(config, workdir, learner, train_idx=None, init_params=None):
  """Supervised training of `learner`; returns the result dict.

  train_idx: rows of the learner's training split to train on (all if None).
  init_params: start from these parameters instead of a fresh init (MLRC's
  fine-tuning from the meta-learned ones); batches and dropout still follow
  config.seed, so they are the baseline's.
  """
  train = learner.train if train_idx is None else learner.subset(learner.train, train_idx)
  fitted = loop.fit(config, workdir, learner, train, seed=config.seed,
                    fingerprints=learner.fingerprints(train), init_params=init_params)
  state = fitted.state
  preds, test_f1, details = loop.best_on_test(fitted, learner)
  gold_l, pred_l = learner.names(learner.test.labels), learner.names(preds)
  logging.info("test F1 (best dev model): %.4f", test_f1)
  result = {"dev_best_f1": float(state.best_f1), "test_f1": test_f1, "steps": fitted.steps,
            "train_seconds": fitted.seconds, "dataset": learner.dataset,
            "model": config.model.name, "seed": config.seed,
            "per_relation": details.get("per_relation", {})}
  # A classifier that predicts one label, or scores what always predicting
  # the majority label scores (SemEval: Other, F1 0), is flagged.
  score_fn = lambda g, p: relation_learner.score(learner.dataset, list(g), list(p))[0]
  reason = metrics_lib.collapse(pred_l, gold_l, score_fn=score_fn)
  if reason:
    logging.warning("%s: collapsed classifier on test: %s.", workdir, reason)
  result.update(collapsed=reason is not None, collapse_reason=reason)
  if parallel.is_lead():
    writers.write_text(os.path.join(workdir, "dev_ids.txt"),
                       "\n".join(str(i) for i in learner.data["dev_ids"]) + "\n")
    ids = learner.test.ids
    if learner.dataset == "semeval":
      relation_metrics.write_semeval_answers(
          os.path.join(workdir, "test_predictions.txt"), ids, pred_l)
      relation_metrics.write_semeval_answers(os.path.join(workdir, "test_key.txt"), ids, gold_l)
    writers.write_text(os.path.join(workdir, "report.md"),
                       "\n".join(relation_report.report_lines(config, result)) + "\n")
    writers.write_json(os.path.join(workdir, "metrics.json"), result)
  return result
