"""Training dynamics: margins / AUM (Pleiss et al. 2020) and data maps
(Swayamdipta et al. 2020), threshold samples, and noise-detection scores.

Per-example maths is written for one example and `jax.vmap`-ed. The
accumulators (`Dynamics`) live in the train state, indexed by the global
example id, so checkpoints and sharding cover them.
"""
import dataclasses
from typing import Optional

import flax
from absl import logging
import jax
import jax.numpy as jnp
import numpy as np


def margin(logits_C, label):
  """Assigned-class logit minus the largest other logit (Pleiss et al. eq. 1)."""
  assigned = logits_C[label]
  others = jnp.where(jnp.arange(logits_C.shape[0]) == label, -jnp.inf, logits_C)
  return assigned - others.max()


def example_dynamics(logits_C, label, num_real):
  """(margin, gold-label probability, predicted correctly, best other real
  class) of one example; classes >= num_real (the fake class) are never
  proposed as the other class."""
  classes = jnp.arange(logits_C.shape[0])
  other = jnp.where((classes == label) | (classes >= num_real), -jnp.inf, logits_C)
  return (margin(logits_C, label), jax.nn.softmax(logits_C)[label],
          (logits_C.argmax() == label).astype(jnp.float32), other.argmax())


batch_dynamics = jax.vmap(example_dynamics, in_axes=(0, 0, None))


@flax.struct.dataclass
class Dynamics:
  """Per-example accumulators, indexed by global example id.

  margin_sum, count: [N] running AUM numerator and number of measurements.
  margin_EN, prob_EN, correct_EN: [epochs, N] per-epoch values (for data
  maps and plots); an example is seen once per epoch.
  other_EN: [epochs, N] best real class other than the assigned one (what
  flipping relabels a multi-class example to).
  num_real: classes below this are real; above, the fake class.
  eval_margin_EN: [epochs, N] margins of a dropout-off pass with the same
  pre-update parameters (`aum.margins=both`), else None.
  logits_ENC: [epochs, N, C] the logits the margins were measured on (fake
  class included; `aum.save_logits`), else None: what other tools (the
  `aum` package, cleanlab) and `noisy_meta.analyze` read back.
  """
  margin_sum: jax.Array
  count: jax.Array
  margin_EN: jax.Array
  prob_EN: jax.Array
  correct_EN: jax.Array
  other_EN: jax.Array
  num_real: int = flax.struct.field(pytree_node=False, default=2)
  eval_margin_EN: Optional[jax.Array] = None
  logits_ENC: Optional[jax.Array] = None

  @classmethod
  def zeros(cls, num_examples, num_epochs, num_real, eval_margins=False, logits_classes=0):
    """logits_classes: C to record every epoch's logits [epochs, N, C]; 0: not."""
    z = lambda dtype=jnp.float32: jnp.zeros((num_epochs, num_examples), dtype)
    # Distinct buffers: the train state is donated to the step.
    return cls(jnp.zeros(num_examples, jnp.float32), jnp.zeros(num_examples, jnp.int32),
               z(), z(), z(), z(jnp.int32), num_real, z() if eval_margins else None,
               jnp.zeros((num_epochs, num_examples, logits_classes), jnp.float32)
               if logits_classes else None)

  def update(self, logits_BxC, label_B, id_B, mask_B, epoch, eval_logits_BxC=None):
    """Adds one batch's measurements; padding rows (mask False) are ignored.
    `eval_logits_BxC` (with `eval_margin_EN`) are the dropout-off pass's."""
    m_B, p_B, c_B, o_B = batch_dynamics(logits_BxC, label_B, self.num_real)
    n = self.count.shape[0]
    idx_B = jnp.where(mask_B, id_B, n)  # Out of range: dropped by the scatter.
    add = lambda acc, v: acc.at[idx_B].add(v, mode="drop")
    put = lambda acc, v: acc.at[epoch, idx_B].set(v, mode="drop")
    extra = {}
    if self.eval_margin_EN is not None:
      extra["eval_margin_EN"] = put(self.eval_margin_EN,
                                    batch_dynamics(eval_logits_BxC, label_B, self.num_real)[0])
    if self.logits_ENC is not None:
      extra["logits_ENC"] = put(self.logits_ENC, logits_BxC.astype(jnp.float32))
    return self.replace(
        margin_sum=add(self.margin_sum, m_B),
        count=add(self.count, mask_B.astype(jnp.int32)),
        margin_EN=put(self.margin_EN, m_B), prob_EN=put(self.prob_EN, p_B),
        correct_EN=put(self.correct_EN, c_B), other_EN=put(self.other_EN, o_B), **extra)


@dataclasses.dataclass(frozen=True)
class DynamicsSpec:
  """What a run records per example inside its train step (the AUM method
  builds it from config.aum; the loop reads nothing else of AUM).

  margins: "train" (the training-mode forward pass of the step), "eval" (an
  extra dropout-off pass with the same pre-update parameters) or "both";
  save_logits: keep every epoch's logits [epochs, N, C] (the logits API).
  """
  margins: str = "train"
  save_logits: bool = True

  def shape(self, num_examples, num_epochs, num_real, num_classes):
    """`Dynamics.zeros`' arguments for a run with `num_classes` outputs."""
    return (num_examples, num_epochs, num_real, self.margins == "both",
            num_classes if self.save_logits else 0)


def from_logits(logits_ENC, labels, num_real, eval_logits_ENC=None):
  """The `Dynamics` of every epoch's logits [epochs, N, C] (classes >= num_real
  are fake) under `labels` [N]: the same arithmetic, in the same order, as
  recording them batch by batch in the train step, one epoch at a time."""
  logits_ENC = jnp.asarray(logits_ENC, jnp.float32)
  num_epochs, n, _ = logits_ENC.shape
  both = eval_logits_ENC is not None
  dyn = Dynamics.zeros(n, num_epochs, num_real, eval_margins=both)
  ids, mask = jnp.arange(n), jnp.ones(n, bool)
  labels = jnp.asarray(labels, jnp.int32)
  update = jax.jit(lambda d, lg, ev, e: d.update(lg, labels, ids, mask, e, ev))
  for e in range(num_epochs):
    dyn = update(dyn, logits_ENC[e], jnp.asarray(eval_logits_ENC[e], jnp.float32)
                 if both else None, e)
  return dyn


def aum(dyn):
  """Area under the margin: mean margin over all measurements [N] (numpy)."""
  count = np.asarray(dyn.count)
  return np.asarray(dyn.margin_sum) / np.maximum(count, 1)


def data_map(dyn):
  """Confidence, variability, correctness per example (Swayamdipta et al. §2).

  Confidence: mean over epochs of the gold-label probability; variability:
  its standard deviation over epochs (population std, ddof=0);
  correctness: fraction of epochs in which the example was predicted right.
  """
  p = np.asarray(dyn.prob_EN)
  return {"confidence": p.mean(0), "variability": p.std(0),
          "correctness": np.asarray(dyn.correct_EN).mean(0)}


def capped_quota(counts, total, share):
  """Threshold samples per class: `total` in all, shared equally, class c
  giving at most counts[c] // share; what a class cannot give is shared by
  the others (water-filling, smallest classes first)."""
  counts = np.asarray(counts, np.int64)
  cap = counts // share
  quota = np.zeros(len(counts), np.int64)
  left, open_ = min(int(total), int(cap.sum())), list(np.argsort(cap, kind="stable"))
  while open_ and left > 0:
    each = left // len(open_)
    c = open_[0]
    if cap[c] - quota[c] <= each:  # The smallest open class fills up.
      left -= cap[c] - quota[c]
      quota[c] = cap[c]
      open_.pop(0)
      continue
    if each == 0:  # One each to the largest open classes for the remainder.
      for c in sorted(open_, key=lambda k: -cap[k])[:left]:
        quota[c] += 1
      break
    quota[open_] += each
    left -= each * len(open_)
  return quota


def assign_threshold_samples(labels, num_classes, rng, mode="equal", exclude=None,
                             divisor="c+1"):
  """Indices of threshold samples (to be relabelled to the fake class c).

  mode "equal": N/(c+1) samples drawn equally from each original class
  (Talukdar et al. §3.1); "random": N//(c+1) drawn uniformly from all examples,
  whatever their class (what the AUM authors' code does); "capped" (many,
  imbalanced classes: relations): N//(c+1) in all, equal shares but no class
  gives more than 1/(c+1) of its examples, what small classes cannot give
  going to the larger ones (water-filling), so every class keeps at least
  c/(c+1) of its real examples in each run. `exclude` marks
  examples that must not be chosen (the first run's threshold samples, so
  that a second run's set is disjoint). `divisor="c"` asks for N//c
  instead of N//(c+1).
  """
  labels = np.asarray(labels)
  n = len(labels)
  allowed = np.ones(n, bool)
  if exclude is not None:
    allowed[np.asarray(exclude)] = False
  if divisor not in ("c+1", "c"):
    raise ValueError(f"Unknown threshold-sample divisor {divisor!r} (c+1, c).")
  total = n // (num_classes + 1 if divisor == "c+1" else num_classes)
  if mode == "random":
    pool = np.flatnonzero(allowed)
    if total > len(pool):
      raise ValueError(f"{total} threshold samples asked, {len(pool)} available.")
    return np.sort(rng.choice(pool, total, replace=False))
  if mode == "capped":
    counts = np.bincount(labels, minlength=num_classes)
    quota = capped_quota(counts, total, num_classes + 1)
    return np.sort(np.concatenate([
        rng.choice(np.flatnonzero(allowed & (labels == c)), quota[c], replace=False)
        for c in range(num_classes)]).astype(np.int64))
  if mode != "equal":
    raise ValueError(f"Unknown threshold-sample mode {mode!r} (equal, random, capped).")
  per_class = total // num_classes
  chosen = []
  for c in range(num_classes):
    pool = np.flatnonzero(allowed & (labels == c))
    # Two disjoint runs need two sets: a small class gives at most half of
    # its examples to each (CoLA: 8551 // 3 // 2 = 1425 asked, 2528 exist).
    take = min(per_class, int(np.sum(labels == c)) // 2)
    if take < per_class:
      logging.warning("class %d: %d threshold samples instead of %d (half of its %d "
                      "examples, so that two runs have disjoint sets).", c, take,
                      per_class, int(np.sum(labels == c)))
    if take > len(pool):
      raise ValueError(f"class {c}: {take} threshold samples asked, "
                       f"{len(pool)} available.")
    chosen.append(rng.choice(pool, take, replace=False))
  return np.sort(np.concatenate(chosen))


def threshold(aum_values, threshold_idx, percentile):
  """The AUM threshold: the `percentile`-th percentile of threshold samples' AUM."""
  return float(np.percentile(np.asarray(aum_values)[threshold_idx], percentile))


def flag(aum_values, threshold_idx, percentile):
  """Mislabelled flags [N]: AUM below the threshold, threshold samples excluded."""
  t = threshold(aum_values, threshold_idx, percentile)
  flags = np.asarray(aum_values) < t
  flags[threshold_idx] = False
  return flags


def combine_runs(aum_1, thr_1, aum_2, thr_2, percentile):
  """Flags and the judging AUM from two runs with disjoint threshold sets.

  Each example is judged in a run where it was not a threshold sample:
  run 1 (against run 1's threshold) unless it was one of run 1's threshold
  samples, then run 2 (against run 2's threshold). Returns (flags [N],
  aum used [N], run used [N] in {1, 2}, (threshold_1, threshold_2)).
  """
  aum_1, aum_2 = np.asarray(aum_1), np.asarray(aum_2)
  if len(np.intersect1d(thr_1, thr_2)):
    raise ValueError("the two runs' threshold samples must be disjoint.")
  t1, t2 = threshold(aum_1, thr_1, percentile), threshold(aum_2, thr_2, percentile)
  run = np.ones(len(aum_1), np.int32)
  run[thr_1] = 2
  used = np.where(run == 1, aum_1, aum_2)
  flags = np.where(run == 1, aum_1 < t1, aum_2 < t2)
  return flags, used, run, (t1, t2)


def detection_scores(flags, noisy, scores=None):
  """Precision, recall, F1 of `flags` against the injected-noise mask.

  With `scores` (higher = more likely mislabelled, e.g. -AUM), also AUROC
  (Mann-Whitney, ties counted half) and AUPRC (average precision).
  """
  flags, noisy = np.asarray(flags, bool), np.asarray(noisy, bool)
  tp = np.sum(flags & noisy)
  precision = tp / max(flags.sum(), 1)
  recall = tp / max(noisy.sum(), 1)
  f1 = 2 * precision * recall / max(precision + recall, 1e-12)
  out = {"precision": float(precision), "recall": float(recall), "f1": float(f1),
         "flagged": int(flags.sum()), "noisy": int(noisy.sum())}
  if scores is not None:
    out["auroc"] = auroc(scores, noisy)
    out["auprc"] = average_precision(scores, noisy)
  return out


def auroc(scores, positive):
  """Area under the ROC curve: P(score of a positive > score of a negative)."""
  scores, positive = np.asarray(scores, np.float64), np.asarray(positive, bool)
  order = np.argsort(scores, kind="mergesort")
  ranks = np.empty(len(scores))
  sorted_scores = scores[order]
  # Average ranks over ties.
  _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
  avg = first + (counts - 1) / 2.0 + 1
  ranks[order] = np.repeat(avg, counts)
  n_pos, n_neg = positive.sum(), (~positive).sum()
  if n_pos == 0 or n_neg == 0:
    return float("nan")
  return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(scores, positive):
  """Area under the precision-recall curve as average precision."""
  scores, positive = np.asarray(scores, np.float64), np.asarray(positive, bool)
  if positive.sum() == 0:
    return float("nan")
  order = np.argsort(-scores, kind="mergesort")
  s, y = scores[order], positive[order]
  tp = np.cumsum(y)
  # Evaluate at the last index of each distinct score (ties share a threshold).
  last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
  precision = tp[last] / (last + 1)
  recall = tp[last] / y.sum()
  return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
