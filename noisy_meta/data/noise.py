"""Synthetic label noise: uniform flips on the training split, seeded."""
import numpy as np


def uniform_flips(labels, num_classes, rate, seed):
  """Flips round(rate * N) labels chosen uniformly to another class.

  Binary tasks get the other class; multi-class tasks a uniformly drawn
  different class. Returns (noisy labels, mask of flipped examples).
  """
  if not 0.0 <= rate < 1.0:
    raise ValueError(f"noise rate must be in [0, 1), got {rate}.")
  labels = np.asarray(labels)
  rng = np.random.default_rng(seed)
  n = len(labels)
  flipped = np.zeros(n, bool)
  flipped[rng.choice(n, int(round(rate * n)), replace=False)] = True
  noisy = labels.copy()
  shift = rng.integers(1, num_classes, size=n)  # Never 0: always another class.
  noisy[flipped] = (labels[flipped] + shift[flipped]) % num_classes
  return noisy.astype(labels.dtype), flipped
