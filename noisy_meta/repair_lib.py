"""Label repair from a detector's output: what each repair method trains on.

Pure functions of the given labels, a detector's automatic flags and
out-of-fold class probabilities (models that never saw the row's label:
confident learning's fold models and the frozen-encoder probes,
noisy_meta/detectors.py). noisy_meta/trainers/repair.py runs them.

- sieve: drop the flagged rows.
- flip: relabel flagged rows to the AUM run's best other class (binary:
  the other class).
- relabel: relabel flagged rows to the out-of-fold models' likeliest class
  other than the given one.
- relabel_soft: flagged rows train on a target distribution r·e_y + (1 − r)·p,
  p the out-of-fold probabilities and r = p_y the estimated probability that
  the given label y is right; other rows keep their one-hot label.
- reweight: every row's loss weighted by r = p_y, normalised to mean 1.
- coteach: two networks, each updated on the rows the other finds small-loss
  (Han et al. 2018), forgetting the detector's estimated noise share
  (`keep_fraction`, `small_loss_rows`; noisy_meta/trainers/coteach.py).
- gce: generalized cross-entropy on every row (noisy_meta/core/objectives.py).
"""
import jax.numpy as jnp
import numpy as np

METHODS = ("sieve", "flip", "relabel", "relabel_soft", "reweight", "coteach", "gce")
# The injected noise itself as the detector (`sieve:oracle`, `flip:oracle`):
# what a perfect detector's repair would win back; only where the job
# injected the noise (it knows the mask), for benchmarks, never a default.
ORACLE = "oracle"
# Methods that need out-of-fold probabilities (confident learning's folds or probes).
NEED_PROBS = ("relabel", "relabel_soft", "reweight")


def parse_entry(entry, default_detector):
  """(method, detector) of a `clean.methods` entry, `method` or
  `method:detector`; gce uses no detector. ValueError for an unknown method."""
  method, _, detector = entry.partition(":")
  if method not in METHODS:
    raise ValueError(f"{entry!r}: unknown method {method!r} (one of {', '.join(METHODS)}).")
  return method, (None if method == "gce" else detector or default_detector)


def stage_name(entry, default_detector, seed):
  """A retrain's folder under clean/: `<method>_<detector>_s<seed>`."""
  method, detector = parse_entry(entry, default_detector)
  return f"{method}_{detector}_s{seed}" if detector else f"{method}_s{seed}"


def prob_right(probs, given):
  """[N] the out-of-fold probability of each given label."""
  probs = np.asarray(probs, np.float64)
  probs = probs / probs.sum(1, keepdims=True)
  return probs[np.arange(len(given)), given]


def best_other(probs, given):
  """[N] each row's likeliest class other than its given one."""
  p = np.array(probs, np.float64)
  p[np.arange(len(given)), given] = -np.inf
  return p.argmax(1).astype(np.int32)


def relabel_hard(given, flags, probs):
  """Labels with flagged rows moved to `best_other` of the probabilities."""
  labels = np.asarray(given, np.int32).copy()
  labels[flags] = best_other(probs, given)[flags]
  return labels


def soft_targets(given, flags, probs):
  """[N, C] float32: one-hot given labels; flagged rows r·e_y + (1 − r)·p."""
  probs = np.asarray(probs, np.float64)
  probs = probs / probs.sum(1, keepdims=True)
  n, c = probs.shape
  onehot = np.eye(c)[given]
  r = prob_right(probs, given)[:, None]
  mixed = r * onehot + (1.0 - r) * probs
  return np.where(np.asarray(flags)[:, None], mixed, onehot).astype(np.float32)


def weights(given, probs, floor=1e-3):
  """[N] float32 loss weights ∝ the probability that the label is right
  (at least `floor` before normalising), mean 1."""
  w = np.maximum(prob_right(probs, given), floor)
  return (w / w.mean()).astype(np.float32)


def keep_fraction(step, forget, ramp_steps):
  """Co-teaching's R(t) = 1 − forget · min(t / ramp_steps, 1): the share of a
  batch each network passes on, falling from 1 to 1 − forget; traceable."""
  ramp = jnp.minimum(jnp.asarray(step, jnp.float32) / max(float(ramp_steps), 1.0), 1.0)
  return 1.0 - forget * ramp


def small_loss_rows(loss_B, mask_B, keep):
  """[B] bool: the ceil(keep · real rows) real rows of smallest loss (ties by
  position), nothing of the padding; traceable."""
  real = mask_B.astype(bool)
  n = real.sum()
  k = jnp.ceil(keep * n).astype(jnp.int32)
  key = jnp.where(real, loss_B, jnp.inf)
  rank = jnp.argsort(jnp.argsort(key, stable=True), stable=True)
  return real & (rank < k)
