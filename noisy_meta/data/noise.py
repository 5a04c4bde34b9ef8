"""Synthetic label noise on the training split, seeded; the flipped mask and
the original labels are saved by the job (noise.npz).

Any labels: `uniform` (to any other class) and `class_conditional` (each
class to one seeded other class). Relations (issue 19), where noise is not
uniform: `direction` (X(e1,e2) <-> X(e2,e1): the arguments swapped),
`pair` (each relation to one fixed confusable relation: the pairing given
as a JSON file {label: label}, or derived from a clean model's confusion
matrix, i.e. a supervised workdir's test predictions), `negative`
(positives to Other / no_relation at the rate, and negatives to a uniformly
drawn positive at `back_rate`). A mix: `kind="direction=0.1,pair=0.1"`,
each part flipping its share of all examples among those not flipped yet.
"""
import json
import os
import re

import numpy as np

KINDS = ("uniform", "class_conditional", "direction", "pair", "negative")
NEGATIVE_LABELS = ("Other", "no_relation")


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


def direction_partners(label_names):
  """[C]: the index of each label's reversed direction, X(e1,e2) <-> X(e2,e1),
  or -1 (undirected labels, e.g. Other, and every TACRED label)."""
  pattern = re.compile(r"^(.*)\((e1),(e2)\)$|^(.*)\((e2),(e1)\)$")
  index = {n: i for i, n in enumerate(label_names)}
  out = np.full(len(label_names), -1, np.int64)
  for i, name in enumerate(label_names):
    m = pattern.match(name)
    if m:
      base = m.group(1) if m.group(1) is not None else m.group(4)
      other = f"{base}(e2,e1)" if m.group(1) is not None else f"{base}(e1,e2)"
      out[i] = index.get(other, -1)
  return out


def _choose(rng, eligible, count, what):
  pool = np.flatnonzero(eligible)
  if count > len(pool):
    raise ValueError(f"{what}: {count} examples to flip but only {len(pool)} can be.")
  flipped = np.zeros(len(eligible), bool)
  flipped[rng.choice(pool, count, replace=False)] = True
  return flipped


def direction_flips(labels, label_names, rate, seed, exclude=None):
  """round(rate * N) examples with a directed label get the reversed one."""
  _check_rate(rate)
  labels = np.asarray(labels)
  partner = direction_partners(label_names)
  if not (partner >= 0).any():
    raise ValueError("direction noise needs directed labels X(e1,e2) / X(e2,e1) (SemEval's); "
                     "these labels have none.")
  eligible = partner[labels] >= 0
  if exclude is not None:
    eligible &= ~exclude
  flipped = _choose(np.random.default_rng(seed), eligible, int(round(rate * len(labels))),
                    "direction noise")
  noisy = labels.copy()
  noisy[flipped] = partner[labels[flipped]]
  return noisy.astype(labels.dtype), flipped


def pairing_from_confusion(confusion):
  """Each class's most confused other class: argmax over d != c of
  confusion[c, d] (gold c predicted d), ties to the lower index; a class
  never confused goes to the class most often predicted for others."""
  conf = np.asarray(confusion, np.float64)
  c = len(conf)
  off = conf * (1 - np.eye(c))
  target = off.argmax(1)
  predicted = off.sum(0)
  for k in range(c):
    if off[k].sum() == 0:
      col = predicted.copy()
      col[k] = -1
      target[k] = int(col.argmax())
  return target


def read_pairing(path, label_names):
  """The pair-noise map [C] from a JSON file {label: label} (every label that
  appears must be known; a label left out is not flipped: -1) or from a
  supervised workdir's test_key.txt and test_predictions.txt (its confusion
  matrix, `pairing_from_confusion`)."""
  index = {n: i for i, n in enumerate(label_names)}
  if os.path.isdir(path):
    files = [os.path.join(path, f) for f in ("test_key.txt", "test_predictions.txt")]
    if not all(os.path.exists(f) for f in files):
      raise ValueError(f"{path}: a pairing folder needs test_key.txt and test_predictions.txt "
                       "(a finished supervised relation workdir).")
    cols = []
    for f in files:
      with open(f, encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
      cols.append({r[0]: r[-1] for r in rows})
    conf = np.zeros((len(label_names), len(label_names)))
    for key, gold in cols[0].items():
      pred = cols[1].get(key)
      if gold in index and pred in index:
        conf[index[gold], index[pred]] += 1
    return pairing_from_confusion(conf)
  try:
    with open(path, encoding="utf-8") as fh:
      mapping = json.load(fh)
  except (OSError, ValueError) as e:
    raise ValueError(f"{path}: not a readable JSON pairing ({e}).") from None
  if not isinstance(mapping, dict):
    raise ValueError(f"{path}: expected a JSON object {{label: label}}.")
  target = np.full(len(label_names), -1, np.int64)
  for a, b in mapping.items():
    for name in (a, b):
      if name not in index:
        raise ValueError(f"{path}: unknown label {name!r} (labels: {', '.join(label_names)}).")
    if a == b:
      raise ValueError(f"{path}: {a!r} is paired with itself.")
    target[index[a]] = index[b]
  return target


def pair_flips(labels, target, rate, seed, exclude=None):
  """Each class c with a target loses round(rate * N_c) of its examples to
  target[c] (-1: never flipped)."""
  _check_rate(rate)
  labels, target = np.asarray(labels), np.asarray(target)
  rng = np.random.default_rng(seed)
  flipped = np.zeros(len(labels), bool)
  for c in range(len(target)):
    if target[c] < 0:
      continue
    members = labels == c
    if exclude is not None:
      members &= ~exclude
    flipped |= _choose(rng, members, int(round(rate * np.sum(labels == c))),
                       f"pair noise, class {c}")
  noisy = labels.copy()
  noisy[flipped] = target[labels[flipped]]
  return noisy.astype(labels.dtype), flipped


def negative_flips(labels, label_names, rate, seed, back_rate=0.0, exclude=None):
  """round(rate * N_positive) positives to the negative label (Other /
  no_relation), and round(back_rate * N_negative) negatives to a uniformly
  drawn positive label."""
  _check_rate(rate)
  _check_rate(back_rate)
  labels = np.asarray(labels)
  negative = [i for i, n in enumerate(label_names) if n in NEGATIVE_LABELS]
  if not negative:
    raise ValueError(f"negative noise needs a negative label ({' or '.join(NEGATIVE_LABELS)}).")
  neg = negative[0]
  rng = np.random.default_rng(seed)
  free = np.ones(len(labels), bool) if exclude is None else ~exclude
  pos = labels != neg
  down = _choose(rng, pos & free, int(round(rate * pos.sum())), "negative noise")
  up = _choose(rng, ~pos & free, int(round(back_rate * (~pos).sum())), "negative noise back")
  noisy = labels.copy()
  noisy[down] = neg
  positives = np.array([i for i in range(len(label_names)) if i != neg])
  noisy[up] = positives[rng.integers(0, len(positives), int(up.sum()))]
  return noisy.astype(labels.dtype), down | up


def parse_mix(kind, rate):
  """[(kind, rate)] of a noise spec: one kind at `rate`, or a mix
  "direction=0.1,pair=0.05" (its own rates)."""
  if "=" not in kind:
    parts = [(kind, rate)]
  else:
    parts = []
    for item in kind.split(","):
      name, _, value = item.partition("=")
      try:
        parts.append((name.strip(), float(value)))
      except ValueError:
        raise ValueError(f"noise kind {kind!r}: expected kind=rate pairs, e.g. "
                         "direction=0.1,pair=0.1.") from None
  for name, r in parts:
    if name not in KINDS:
      raise ValueError(f"Unknown noise kind {name!r} ({', '.join(KINDS)}).")
    _check_rate(r)
  return parts


def inject(kind, labels, num_classes, rate, seed, label_names=None, pairing="", back_rate=0.0):
  """(noisy labels, flipped mask) of noise `kind` (KINDS, or a mix: parse_mix).
  label_names: needed by direction, pair (file labels) and negative;
  pairing: pair noise's JSON file or supervised workdir ("": class_conditional's
  seeded map); back_rate: negative noise's negatives-to-positives rate."""
  labels = np.asarray(labels)
  noisy, flipped = labels.copy(), np.zeros(len(labels), bool)
  for i, (name, r) in enumerate(parse_mix(kind, rate)):
    part_seed = seed if i == 0 else seed * 1000 + i
    if name in ("direction", "negative") and label_names is None:
      raise ValueError(f"{name} noise needs the label names.")
    if name == "uniform":
      part = uniform_flips(labels, num_classes, r, part_seed) if not flipped.any() else (
          _uniform_among(labels, num_classes, r, part_seed, flipped))
    elif name == "class_conditional":
      target = pair_map(num_classes, np.random.default_rng(part_seed).integers(2**31))
      part = (class_conditional_flips(labels, num_classes, r, part_seed) if not flipped.any()
              else pair_flips(labels, target, r, part_seed, exclude=flipped))
    elif name == "direction":
      part = direction_flips(labels, label_names, r, part_seed, exclude=flipped)
    elif name == "pair":
      target = (read_pairing(pairing, label_names) if pairing else
                pair_map(num_classes, np.random.default_rng(part_seed).integers(2**31)))
      part = pair_flips(labels, target, r, part_seed, exclude=flipped)
    else:
      part = negative_flips(labels, label_names, r, part_seed, back_rate, exclude=flipped)
    noisy = np.where(part[1], part[0], noisy)
    flipped |= part[1]
  return noisy.astype(labels.dtype), flipped


def _uniform_among(labels, num_classes, rate, seed, exclude):
  rng = np.random.default_rng(seed)
  flipped = _choose(rng, ~exclude, int(round(rate * len(labels))), "uniform noise")
  noisy = labels.copy()
  shift = rng.integers(1, num_classes, size=len(labels))
  noisy[flipped] = (labels[flipped] + shift[flipped]) % num_classes
  return noisy, flipped
