"""What the relation learners (PA-LSTM / C-GCN and the Transformer) share:
label names, the dataset's official score on dev and test, best-dev
selection, the collapse check and the test artifacts of a supervised run
(SemEval answer files, report.md)."""
import os
from typing import Any

import jax
import jax.numpy as jnp

from noisy_meta.core import writers
from noisy_meta import metrics as metrics_lib
from noisy_meta import relation_metrics
from noisy_meta.reports import relation_report


def official_score(dataset, gold, pred):
  """The official score of the dataset (F1 in [0, 1]) and its details, of
  label strings."""
  if dataset == "semeval":
    r = relation_metrics.semeval_official(gold, pred)
    return r["macro_f1"], r
  r = relation_metrics.tacred_micro(gold, pred)
  return r["f1"], r


def keep_best(state, f1):
  """`state` with the best dev F1 and, when `f1` improves on it, a copy of the
  current parameters as the best ones; and whether it improved."""
  improved = f1 > float(state.best_f1)
  state = state.replace(
      best_f1=jnp.float32(max(f1, float(state.best_f1))),
      # A copy, not an alias: the next step donates `state.params`.
      best_params=(jax.tree_util.tree_map(jnp.copy, state.params) if improved
                   else state.best_params))
  return state, improved


class RelationScoring:
  """The scoring half of a relation learner (the `TestScored` capability)."""
  config: Any
  dataset: str
  label_names: list
  num_classes: int
  dev: Any
  test: Any
  data: dict

  def names(self, ids):
    """Label strings; an AUM run's fake class (index num_classes) reads as the
    dataset's negative label (SemEval's Other, TACRED's no_relation): it
    claims no relation."""
    negative = "Other" if self.dataset == "semeval" else "no_relation"
    return [self.label_names[i] if i < self.num_classes else negative for i in ids]

  def score(self, gold, preds):
    """The official score (F1 in [0, 1]) and its details, of class ids."""
    return official_score(self.dataset, self.names(gold), self.names(preds))

  def dev_metrics(self, preds, num_classes):
    """The official F1, and accuracy and MCC (what AUM's reports compare)."""
    out = metrics_lib.classification_metrics(self.dev.labels, preds, num_classes)
    return dict(out, f1=self.score(self.dev.labels, preds)[0])

  def dev_line(self, dev):
    return f"F1 {dev['f1']:.4f} (best {dev['best_f1']:.4f})"

  def collapse_reason(self, preds, labels):
    """One predicted label, or the score of always predicting the majority
    label (SemEval: Other, F1 0), by the official scorer on label strings."""
    score_fn = lambda g, p: official_score(self.dataset, list(g), list(p))[0]
    return metrics_lib.collapse(self.names(preds), self.names(labels), score_fn=score_fn)

  def write_test_artifacts(self, workdir, config, test_preds, result):
    """dev_ids.txt, the SemEval answer files of test and report.md."""
    writers.write_text(os.path.join(workdir, "dev_ids.txt"),
                       "\n".join(str(i) for i in self.data["dev_ids"]) + "\n")
    if self.dataset == "semeval":
      ids = self.test.ids
      relation_metrics.write_semeval_answers(
          os.path.join(workdir, "test_predictions.txt"), ids, self.names(test_preds))
      relation_metrics.write_semeval_answers(
          os.path.join(workdir, "test_key.txt"), ids, self.names(self.test.labels))
    writers.write_text(os.path.join(workdir, "report.md"),
                       "\n".join(relation_report.report_lines(config, result)) + "\n")

  def data_warnings(self):
    """The readers' warnings (a dev or test split repeating train, relations
    outside the dataset's)."""
    return list(self.data.get("warnings", []))

  def result_fields(self, details):
    """What a supervised run's metrics.json adds for a relation learner."""
    return {"dataset": self.dataset, "per_relation": details.get("per_relation", {})}

