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


def classification_metrics(labels, preds, num_classes):
  labels, preds = np.asarray(labels), np.asarray(preds)
  return {"accuracy": float((labels == preds).mean()),
          "mcc": matthews_corrcoef(labels, preds, num_classes),
          "n": int(len(labels))}
