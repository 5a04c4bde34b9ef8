"""Metrics against hand computations."""
import numpy as np
import pytest

from noisy_meta import metrics


def test_mcc_binary_hand_computed():
  # TP=2, TN=2, FP=1, FN=1: (2*2 - 1*1) / sqrt(3*3*3*3) = 3/9.
  labels = [1, 1, 1, 0, 0, 0]
  preds = [1, 1, 0, 0, 0, 1]
  assert metrics.matthews_corrcoef(labels, preds, 2) == pytest.approx(1 / 3)


def test_mcc_matches_binary_formula_on_random_data():
  rng = np.random.default_rng(0)
  y, p = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
  tp = np.sum((y == 1) & (p == 1)); tn = np.sum((y == 0) & (p == 0))
  fp = np.sum((y == 0) & (p == 1)); fn = np.sum((y == 1) & (p == 0))
  want = (tp * tn - fp * fn) / np.sqrt(float((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
  assert metrics.matthews_corrcoef(y, p, 2) == pytest.approx(want)


def test_mcc_constant_prediction_is_zero_and_perfect_is_one():
  assert metrics.matthews_corrcoef([0, 1, 1, 0], [1, 1, 1, 1], 2) == 0.0
  assert metrics.matthews_corrcoef([0, 1, 2, 0], [0, 1, 2, 0], 3) == pytest.approx(1.0)


def test_classification_metrics():
  r = metrics.classification_metrics([0, 1, 1, 0], [0, 1, 0, 0], 2)
  assert r["accuracy"] == 0.75 and r["n"] == 4
