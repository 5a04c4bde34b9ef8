"""MLRC under label noise (issue 36): the noisy rows of a run and the
noise-aware variants that trainers/mlrc.py switches on.

`prepare` builds a run's training rows: the sampled fraction
(meta_tasks.sample_fraction), less `mlrc.trusted_per_class` rows per relation
that are drawn clean outside it (the trusted set, charged to the budget),
with noise (`mlrc.noise`, `mlrc.noise_type`, `mlrc.noise_seed`) injected
into the fraction's rows after sampling; the trusted rows stay clean and are
training rows too. `write_labels` saves every row's clean and given label
beside train_rows.txt (labels.tsv), which bench/research/mlrc_control.py reads.

The variants, each a config switch, on those same rows:
  mlrc.loss=gce        generalized cross-entropy (objectives.by_name) for the
                       baseline, the meta inner loop and MLRC's fine-tuning;
  mlrc.reweight=meta   Ren et al. 2018's per-example weights against the
                       trusted set (reweight_lib) in every inner step of
                       meta-training and every step of MLRC's fine-tuning
                       (`reweight_step`); the baseline trains on the trusted
                       rows as ordinary rows;
  mlrc.clean=aum       AUM (trainers/aum.py's pieces) on the rows with the
                       same learner; flagged rows are sieved before the
                       baseline and MLRC.
"""
import copy
import dataclasses
import functools
import os

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from noisy_meta import aum_lib
from noisy_meta import meta_learning
from noisy_meta import reweight_lib
from noisy_meta.core import atomic
from noisy_meta.core import loop
from noisy_meta.core import objectives
from noisy_meta.data import meta_tasks
from noisy_meta.trainers import aum

LABELS_FILE = "labels.tsv"


@dataclasses.dataclass
class Rows:
  """One run's training rows (indices into the learner's training split)."""
  rows: np.ndarray  # Sorted: the fraction's rows (less the trusted share) + trusted.
  given: np.ndarray  # [N] labels of the whole split, noise injected into `rows`.
  flipped: np.ndarray  # [len(rows)] bool: the label was changed by the noise.
  trusted: np.ndarray  # [len(rows)] bool: a trusted (clean, outside-the-fraction) row.
  kept: np.ndarray  # [len(rows)] bool: left by cleaning (all True without).


def prepare(config, labels, label_names, fraction, seed):
  """The rows of run `seed` at `fraction` (a pure function of the config)."""
  m = config.mlrc
  sampled = meta_tasks.sample_fraction(labels, fraction, seed, m.stratified)
  trusted = meta_tasks.trusted_rows(labels, sampled, m.trusted_per_class, seed)
  noisy_part = (meta_tasks.charge(sampled, len(trusted), seed) if len(trusted)
                else sampled)
  given, flipped_part = meta_tasks.noisy_labels(
      labels, noisy_part, m.noise_type, m.noise, m.noise_seed + 1000 * seed, label_names,
      m.noise_pairing)
  rows = np.sort(np.concatenate([noisy_part, trusted])).astype(np.int64)
  flipped = np.isin(rows, noisy_part[flipped_part])
  return Rows(rows=rows, given=given, flipped=flipped, trusted=np.isin(rows, trusted),
              kept=np.ones(len(rows), bool))


def write_labels(workdir, r, clean, ids, names):
  """labels.tsv: row, example id, clean and given label, flipped, trusted, kept."""
  lines = ["row\tid\tclean\tgiven\tflipped\ttrusted\tkept\n"]
  for i, row in enumerate(r.rows):
    lines.append(f"{row}\t{ids[row]}\t{names[clean[row]]}\t{names[r.given[row]]}\t"
                 f"{int(r.flipped[i])}\t{int(r.trusted[i])}\t{int(r.kept[i])}\n")
  with atomic.path(os.path.join(workdir, LABELS_FILE)) as tmp:
    with open(tmp, "w", encoding="utf-8") as f:
      f.write("".join(lines))


def read_labels(path, names):
  """(rows, given label ids, flipped, trusted, kept) of a labels.tsv."""
  index = {n: i for i, n in enumerate(names)}
  with open(path, encoding="utf-8") as f:
    body = [line.rstrip("\n").split("\t") for line in f.readlines()[1:] if line.strip()]
  col = lambda j, fn: np.array([fn(b[j]) for b in body])
  return (col(0, int).astype(np.int64), col(3, index.__getitem__).astype(np.int32),
          col(4, int).astype(bool), col(5, int).astype(bool), col(6, int).astype(bool))


def objective(config):
  """The per-example loss the switches name (mlrc.loss; GCE's q)."""
  return objectives.by_name(config.mlrc.loss, config.mlrc.gce_q)


def trusted_batch(learner, split, rows):
  """One padded batch (numpy) of the trusted rows of `split`."""
  rows = np.asarray(rows, np.int64)
  return learner.make_batch(split, rows, len(rows), learner.padded_length(split, rows))


def _weights(learner, state, params, batch, rng, trusted, by, objective_fn):
  """Ren et al.'s weights [K] of `batch` at `params` against batch `trusted`."""
  ex = lambda p, b: objectives.example_losses(learner, state, p, b, rng, objective_fn)[0]
  trusted_loss = lambda p: objectives.masked_mean(ex(p, trusted), trusted)
  return reweight_lib.weights(ex, params, batch, trusted_loss, by)


def meta_weigher(learner, apply_fn, trusted, by, objective_fn):
  """weigh(params, constants, batch, rng) for meta_learning.make_meta_step."""
  def weigh(params, constants, batch, rng):
    like = _like(constants, apply_fn)
    return _weights(learner, like, params, batch, rng, trusted, by, objective_fn)
  return weigh


def _like(constants, apply_fn):
  return meta_learning.MetaState(step=None, params=None, constants=constants,
                                 apply_fn=apply_fn)


def reweight_step(state, batch, rng, learner, steps_per_epoch=1, eval_margins=False,
                  objective=None, trusted=None, by="vmap"):
  """loop.train_step on the batch reweighted by Ren et al.'s weights
  against `trusted` (computed at the step's parameters, with the step's
  dropout stream); metrics add the share of real rows weighted zero."""
  del steps_per_epoch, eval_margins  # No dynamics in these runs.
  w_rng = jax.random.fold_in(jax.random.fold_in(rng, state.step), 7)
  w_K = _weights(learner, state, state.params, batch, w_rng, trusted, by, objective)
  state, metrics = loop.train_step(state, reweight_lib.weighted_batch(batch, w_K), rng,
                                   learner, objective=objective)
  mask = batch["_mask"].astype(jnp.float32)
  zero = ((w_K <= 0) * mask).sum() / jnp.maximum(mask.sum(), 1.0)
  return state, dict(metrics, weight_zero=zero)


def train_fn(config, learner, split, trusted_rows):
  """The fine-tuning step of mlrc.reweight=meta (trusted rows of `split`)."""
  return functools.partial(reweight_step, trusted=trusted_batch(learner, split, trusted_rows),
                           by=config.mlrc.reweight_grads)


def row_weights(config, learner, state, split, rows, trusted_rows):
  """[len(rows)] alignments of rows `rows` of `split` with its trusted rows
  at the final parameters (with the config seed's dropout): where the
  weights would put each row. > 0: a positive weight; <= 0: weighted zero."""
  trusted = trusted_batch(learner, split, trusted_rows)
  obj = objective(config)
  rng = jax.random.key(config.seed)

  @jax.jit
  def dots(params, batch):
    ex = lambda p, b: objectives.example_losses(learner, state, p, b, rng, obj)[0]
    trusted_loss = lambda p: objectives.masked_mean(ex(p, trusted), trusted)
    return reweight_lib.alignments(ex, params, batch, trusted_loss, "double")

  return loop.map_split(lambda b: dots(state.params, b), learner,
                        learner.subset(split, rows))


def aum_keep(config, workdir, learner, split, percentile):
  """[N] bool: rows of `split` that AUM does not flag (two runs with disjoint
  threshold samples, trainers/aum.py's aum_run and judge; the flag threshold
  is `percentile` of the threshold samples' AUM). Threshold samples as the
  AUM job draws them for relations ("capped"), or uniformly ("random") where
  relations have too few rows for that (SemEval at 1 %). Resumes from workdir."""
  cfg = config.copy_and_resolve_references()
  with cfg.unlocked():  # What aum_run reads of an AUM config.
    cfg.aum = ml_collections.ConfigDict(dict(margins="train", save_logits=False))
    cfg.clean = ml_collections.ConfigDict(dict(keep_checkpoints=False))
  view = copy.copy(learner)  # The same learner, its training split the run's rows.
  view.train = split
  given = np.asarray(split.labels).astype(np.int32)
  c = learner.num_classes
  for mode in ("capped", "random"):  # Capped spares small relations; below
    # c + 1 rows per relation it gives none: then the AUM authors' own mode.
    rng = np.random.default_rng(config.seed)
    thr_1 = aum_lib.assign_threshold_samples(given, c, rng, mode)
    thr_2 = aum_lib.assign_threshold_samples(given, c, rng, mode, exclude=thr_1)
    if len(thr_1) and len(thr_2):
      break
    logging.warning("AUM on %d rows: no %s threshold samples%s.", len(given), mode,
                    "; drawing them at random" if mode == "capped" else ", nothing sieved")
  else:
    return np.ones(len(given), bool)  # Too few rows to judge.
  run_1 = aum.aum_run(cfg, workdir, view, given, c, thr_1, "aum_run1")
  run_2 = aum.aum_run(cfg, workdir, view, given, c, thr_2, "aum_run2")
  return ~np.asarray(aum.judge((percentile,), run_1, run_2)["flags"][percentile], bool)


def noise_summary(r, weights_of_rows=None):
  """What a run's cleaning did to its noisy rows (the saved mask): flipped
  and clean rows removed by AUM and, with reweighting, weighted zero at the
  end (alignment <= 0) among the fraction's rows."""
  noisy, clean = r.flipped, ~r.flipped & ~r.trusted
  share = lambda hit, of: float(hit[of].mean()) if of.any() else None
  out = {"flipped": int(noisy.sum()), "trusted": int(r.trusted.sum()),
         "removed_noisy": share(~r.kept, noisy), "removed_clean": share(~r.kept, clean)}
  if weights_of_rows is not None:
    zero = np.asarray(weights_of_rows) <= 0
    out.update(downweighted_noisy=share(zero, noisy), downweighted_clean=share(zero, clean))
  return out
