"""Meta-tasks for MLRC (Obamuyide and Vlachos 2019): the data side.

`sample_fraction` (the limited-supervision subset), `trusted_rows` and
`charge` (a clean trusted set drawn outside it and charged to its budget),
`noisy_labels` (label noise injected into the subset after sampling, with
its own seed), `TaskSampler` (the
labels and rows of each meta-iteration, a pure function of seed and
iteration, so a resumed run draws the same tasks) and `task_batch` (stacked
arrays [B, S, K, L] from any learner's `make_batch`).
"""
import numpy as np

from noisy_meta.core import errors
from noisy_meta.data import noise as noise_lib


def check_fraction(fraction):
  if not isinstance(fraction, (int, float)) or not 0.0 < float(fraction) <= 1.0:
    raise errors.InputError(
        f"fraction={fraction!r}: use a value in (0, 1] (0.01 keeps 1% of the training "
        f"set, 1 keeps all of it).")


def sample_fraction(labels, fraction, seed, stratified=False):
  """Sorted rows keeping `fraction` of the training set.

  Uniform (default): round(fraction * N) rows, at least one, drawn without
  replacement. Stratified: round(fraction * N_r) rows of every label r, at
  least one each. A pure function of (labels, fraction, seed, stratified):
  the baseline and MLRC of one run train on exactly these rows.
  """
  check_fraction(fraction)
  labels = np.asarray(labels)
  rng = np.random.default_rng([int(seed), 1009])
  if not stratified:
    k = max(1, int(round(fraction * len(labels))))
    return np.sort(rng.choice(len(labels), k, replace=False))
  parts = []
  for r in np.unique(labels):
    rows = np.flatnonzero(labels == r)
    parts.append(rng.choice(rows, max(1, int(round(fraction * len(rows)))), replace=False))
  return np.sort(np.concatenate(parts))


def trusted_rows(labels, exclude, per_class, seed):
  """Sorted rows: `per_class` rows of every label (all it has when fewer),
  drawn outside the rows `exclude` (the sampled fraction). A pure function
  of its arguments; clean labels (no noise is ever injected into them)."""
  labels = np.asarray(labels)
  if per_class <= 0:
    return np.zeros(0, np.int64)
  rng = np.random.default_rng([int(seed), 2027])
  free = np.ones(len(labels), bool)
  free[np.asarray(exclude, np.int64)] = False
  parts = []
  for r in np.unique(labels):
    pool = np.flatnonzero(free & (labels == r))
    parts.append(rng.choice(pool, min(per_class, len(pool)), replace=False))
  return np.sort(np.concatenate(parts)).astype(np.int64)


def charge(rows, count, seed):
  """`rows` less `count` of them, seeded (the trusted set's share of the
  supervision budget); refused when nothing would be left."""
  rows = np.asarray(rows, np.int64)
  if count >= len(rows):
    raise errors.InputError(
        f"the trusted set ({count} rows) takes the whole sampled fraction ({len(rows)} "
        "rows): lower mlrc.trusted_per_class or raise the fraction.")
  rng = np.random.default_rng([int(seed), 3001])
  return np.sort(rng.choice(rows, len(rows) - count, replace=False))


def noisy_labels(labels, rows, kind, rate, seed, label_names, pairing=""):
  """(labels [N] with noise `kind` at `rate` injected into `rows` only,
  flipped mask [len(rows)]), noise_lib's models on the rows' labels: a pure
  function of its arguments, so every method of a run sees the same flips."""
  labels = np.asarray(labels)
  out = labels.copy()
  if rate <= 0:
    return out, np.zeros(len(rows), bool)
  try:
    given, flipped = noise_lib.inject(kind, labels[rows], len(label_names), rate, seed,
                                      label_names=list(label_names), pairing=pairing)
  except ValueError as e:  # A bad noise setting or pairing file: one line.
    raise errors.InputError(f"mlrc.noise_type={kind!r}, noise={rate}: {e}") from None
  out[rows] = given
  return out, flipped


class TaskSampler:
  """The relations and rows of each meta-iteration.

  labels: label id of each available training row (the subset). Relations
  with no row are never drawn (`missing` lists them): a fraction that leaves
  a relation without examples gives it no task; it is still scored. B
  relations are drawn without replacement, uniformly (`sampling="uniform"`)
  or in proportion to their counts ("proportional"); for each, `steps`
  batches of `batch` rows: without replacement within a batch, all rows
  (then padded) when the relation has fewer.
  """

  def __init__(self, labels, num_tasks, steps, batch, seed, num_classes, names=None,
               sampling="uniform"):
    labels = np.asarray(labels)
    self.present = np.unique(labels)
    names = names or [str(i) for i in range(num_classes)]
    self.missing = [names[i] for i in range(num_classes) if i not in set(self.present)]
    if num_tasks > len(self.present):
      raise errors.InputError(
          f"meta.tasks={num_tasks} relations per meta-iteration, but only "
          f"{len(self.present)} relations have training examples in this subset "
          f"(none for: {', '.join(self.missing) or '-'}); lower meta.tasks to at most "
          f"{len(self.present)}.")
    if num_tasks < 1 or steps < 1 or batch < 1:
      raise errors.InputError(f"meta.tasks, inner_steps and inner_batch must be >= 1 "
                              f"(got {num_tasks}, {steps}, {batch}).")
    if sampling not in ("uniform", "proportional"):
      raise errors.InputError(f"meta.sampling={sampling!r}: use uniform or proportional.")
    self.rows = {int(r): np.flatnonzero(labels == r) for r in self.present}
    counts = np.array([len(self.rows[int(r)]) for r in self.present], np.float64)
    self.p = None if sampling == "uniform" else counts / counts.sum()
    self.num_tasks, self.steps, self.batch, self.seed = num_tasks, steps, batch, seed

  def sample(self, iteration):
    """(relations [B], rows [B, steps, batch] with -1 padding)."""
    rng = np.random.default_rng([int(self.seed), int(iteration), 4099])
    rels = rng.choice(self.present, self.num_tasks, replace=False, p=self.p)
    rows = np.full((self.num_tasks, self.steps, self.batch), -1, np.int64)
    for b, r in enumerate(rels):
      pool = self.rows[int(r)]
      for s in range(self.steps):
        pick = (rng.choice(pool, self.batch, replace=False) if len(pool) > self.batch
                else rng.permutation(pool))
        rows[b, s, :len(pick)] = pick
    return rels, rows


def trim_rows(rows):
  """rows [B, S, K] cut to K' columns: the most rows any task-step has,
  rounded up to a power of two (at most K), so padding rows cost less and
  few shapes compile. Real rows come first in each row of `rows`, so the cut
  drops padding only."""
  k = rows.shape[-1]
  need = max(1, int((rows >= 0).sum(-1).max()))
  return rows[..., :min(k, 1 << (need - 1).bit_length())]


def task_batch(make_batch, rows):
  """Stacked model batches [B, S, K, ...] for `rows` [B, S, K] (-1: padding).

  make_batch(idx, k): one padded batch of k rows (fixed length).
  """
  b, s, k = rows.shape
  out = [[make_batch(r[r >= 0], k) for r in task] for task in rows]
  return {key: np.stack([np.stack([x[key] for x in task]) for task in out])
          for key in out[0][0]}
