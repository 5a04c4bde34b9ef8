"""Classification metrics computed on the host from predictions."""
import numpy as np


def confusion(labels, preds, num_classes):
  """Counts [true, predicted]."""
  m = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(m, (np.asarray(labels), np.asarray(preds)), 1)
  return m


def matthews_corrcoef(labels, preds, num_classes=None):
  """Matthews correlation (multi-class form of Gorodkin 2004; binary MCC for 2).

  MCC = (c*s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2)(s^2 - sum_k t_k^2)),
  with c correct, s samples, p_k predicted and t_k true counts of class k.
  Returns 0 when a denominator term is 0 (as scikit-learn does).
  """
  labels, preds = np.asarray(labels), np.asarray(preds)
  k = num_classes or int(max(labels.max(), preds.max())) + 1
  m = confusion(labels, preds, k).astype(np.float64)
  t, p = m.sum(1), m.sum(0)
  c, s = np.trace(m), m.sum()
  den = np.sqrt((s * s - p @ p) * (s * s - t @ t))
  return float((c * s - p @ t) / den) if den > 0 else 0.0


def headline(task):
  """A text task's headline dev metric: "mcc" for CoLA (GLUE's), else "accuracy"."""
  return "mcc" if task == "cola" else "accuracy"


def classification_metrics(labels, preds, num_classes):
  labels, preds = np.asarray(labels), np.asarray(preds)
  return {"accuracy": float((labels == preds).mean()),
          "mcc": matthews_corrcoef(labels, preds, num_classes),
          "n": int(len(labels))}


def collapse(preds, labels, names=None, score_fn=None):
  """Why a classifier's predictions are degenerate, or None when they are not.

  Collapsed: every prediction is one class, or (with `score_fn(labels, preds)`,
  higher is better; default accuracy) the score is that of always predicting
  the majority class of `labels`. `names` maps class ids to names for the
  message. Works on ids or label strings.
  """
  preds, labels = np.asarray(preds), np.asarray(labels)
  if not len(preds):
    return None
  name = lambda c: str(names[c]) if names is not None else str(c)
  classes, counts = np.unique(preds, return_counts=True)
  if len(classes) == 1:
    return f"predicts one class ({name(classes[0])!r}) for all {len(preds)} examples"
  gold, gold_counts = np.unique(labels, return_counts=True)
  majority = gold[gold_counts.argmax()]
  score_fn = score_fn or (lambda y, p: float((np.asarray(y) == np.asarray(p)).mean()))
  score = float(score_fn(labels, preds))
  base = float(score_fn(labels, np.full(len(labels), majority, dtype=labels.dtype)))
  if np.isclose(score, base, rtol=0.0, atol=1e-9):
    top = classes[counts.argmax()]
    return (f"scores {score:.4f}, the majority-class score (always {name(majority)!r}); "
            f"{100 * counts.max() / len(preds):.1f} % of predictions are {name(top)!r}")
  return None
