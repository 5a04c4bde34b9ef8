"""Synthetic label noise on the training split, seeded: uniform flips and
class-conditional (pair) flips."""
import numpy as np

KINDS = ("uniform", "class_conditional")


def _check_rate(rate):
  if not 0.0 <= rate < 1.0:
    raise ValueError(f"noise rate must be in [0, 1), got {rate}.")


def uniform_flips(labels, num_classes, rate, seed):
  """Flips round(rate * N) labels chosen uniformly to another class.

  Binary tasks get the other class; multi-class tasks a uniformly drawn
  different class. Returns (noisy labels, mask of flipped examples).
  """
  _check_rate(rate)
  labels = np.asarray(labels)
  rng = np.random.default_rng(seed)
  n = len(labels)
  flipped = np.zeros(n, bool)
  flipped[rng.choice(n, int(round(rate * n)), replace=False)] = True
  noisy = labels.copy()
  shift = rng.integers(1, num_classes, size=n)  # Never 0: always another class.
  noisy[flipped] = (labels[flipped] + shift[flipped]) % num_classes
  return noisy.astype(labels.dtype), flipped


def pair_map(num_classes, seed):
  """A seeded derangement of the classes: class c is flipped to `map[c]`
  (never itself); for two classes, the other one."""
  rng = np.random.default_rng(seed)
  while True:
    perm = rng.permutation(num_classes)
    if not np.any(perm == np.arange(num_classes)):
      return perm


def class_conditional_flips(labels, num_classes, rate, seed):
  """Each class c loses round(rate * N_c) of its examples, chosen uniformly,
  to one fixed other class (`pair_map`): the confusions a systematic
  annotator makes. For two classes the noise model equals `uniform_flips`
  (per-class counts instead of an overall count). Returns (noisy labels,
  mask of flipped examples)."""
  _check_rate(rate)
  labels = np.asarray(labels)
  rng = np.random.default_rng(seed)
  target = pair_map(num_classes, rng.integers(2**31))
  flipped = np.zeros(len(labels), bool)
  for c in range(num_classes):
    members = np.flatnonzero(labels == c)
    flipped[rng.choice(members, int(round(rate * len(members))), replace=False)] = True
  noisy = labels.copy()
  noisy[flipped] = target[labels[flipped]]
  return noisy.astype(labels.dtype), flipped


def inject(kind, labels, num_classes, rate, seed):
  """(noisy labels, flipped mask) of noise `kind` (KINDS)."""
  if kind == "uniform":
    return uniform_flips(labels, num_classes, rate, seed)
  if kind == "class_conditional":
    return class_conditional_flips(labels, num_classes, rate, seed)
  raise ValueError(f"Unknown noise kind {kind!r} ({', '.join(KINDS)}).")
