"""The repair stage of the AUM job: retrain on data a detector has repaired.

`clean.methods` lists what to retrain with, each `method` (by the job's
`clean.detector`) or `method:detector` (by another detector with an
automatic cut, e.g. `sieve:cleanlab`, confident learning's prune and
retrain). The methods (noisy_meta/repair_lib.py): sieve, flip, relabel,
relabel_soft, reweight, coteach, gce. Every method trains the same learner
with the same recipe through the supervised method; the repair lives in its
data (kept rows, labels), in per-row batch fields its objective reads (loss
`weight`, soft `target`), in its objective (GCE) or in its step (co-teaching's
two networks, noisy_meta/trainers/coteach.py). With noise injected,
`clean.ceiling` also retrains on the original labels: the ceiling a repair
is measured against.
"""
import functools
import os

from absl import logging
import numpy as np

from noisy_meta import repair_lib
from noisy_meta.core import errors
from noisy_meta.core import objectives
from noisy_meta.trainers import coteach
from noisy_meta.trainers import stages
from noisy_meta.trainers import supervised


def parse(entry, default_detector):
  """(method, detector) of a `clean.methods` entry; gce uses no detector."""
  try:
    return repair_lib.parse_entry(entry, default_detector)
  except ValueError as e:
    raise errors.InputError(f"clean.methods: {e}") from None


def stage(entry, default_detector, seed):
  """The retrain's folder under clean/ (repair_lib.stage_name)."""
  parse(entry, default_detector)
  return repair_lib.stage_name(entry, default_detector, seed)


def plan(method, given, flags, other, probs, num_classes):
  """What `method` trains on: dict of keep [N] bool, labels [N], rows (per-row
  batch fields), objective name, and co-teaching's forget rate. `flags`: the
  detector's automatic cut; `other`: the AUM runs' best other class (flip);
  `probs`: out-of-fold probabilities (None: the detector has none)."""
  n = len(given)
  out = dict(keep=np.ones(n, bool), labels=np.asarray(given, np.int32).copy(), rows=None,
             objective="ce", forget=0.0)
  if method in repair_lib.NEED_PROBS and probs is None:
    raise errors.InputError(
        f"clean.methods: {method} needs out-of-fold probabilities (--config.detect.folds=K "
        "or the frozen-encoder probe); this job has none.")
  if method == "sieve":
    out["keep"] = ~flags
  elif method == "flip":
    out["labels"][flags] = (1 - given[flags]) if num_classes == 2 else other[flags]
  elif method == "relabel":
    out["labels"] = repair_lib.relabel_hard(given, flags, probs)
  elif method == "relabel_soft":
    out["rows"] = {"target": repair_lib.soft_targets(given, flags, probs)}
  elif method == "reweight":
    out["rows"] = {"weight": repair_lib.weights(given, probs)}
  elif method == "coteach":
    out["forget"] = float(np.mean(flags))
  elif method == "gce":
    out["objective"] = "gce"
  return out


def retrain(config, workdir, learner, seed, name, keep, labels, rows=None, objective="ce",
            forget=None, extendable=()):
  """One retrain in clean/<name> (reused when finished); None when nothing is kept."""
  path = os.path.join(workdir, "clean", name)
  done = stages.finished(path)
  if done is not None:
    return done
  if not keep.any():
    logging.warning("%s: every example is flagged; nothing left to train on.", name)
    return None
  idx = np.flatnonzero(keep)
  train = learner.subset(learner.relabel(learner.train, labels), idx)
  rows = {k: v[idx] for k, v in (rows or {}).items()}
  kwargs = dict(objective=objectives.by_name(objective, config.clean.gce_q))
  fit_learner = learner
  if forget is not None:  # Co-teaching: two networks, its own step.
    steps_per_epoch = -(-len(idx) // learner.batch_size)
    fit_learner = coteach.Pair(learner)
    kwargs["train_fn"] = functools.partial(
        coteach.step, forget=forget,
        ramp_steps=config.clean.coteach_ramp_epochs * steps_per_epoch)
  result = supervised.fit(config, path, fit_learner, train, seed=seed, rows=rows,
                          extendable=extendable, **kwargs)[0]
  if not config.clean.keep_checkpoints:
    stages.drop_checkpoints(path)
  return result


def run(config, workdir, learner, entries, given, det, other, num_classes, tick,
        extendable=(), noisy=None):
  """Every entry of `entries` (of clean.methods) x `clean.seeds` retrain. Returns
  {entry: {seed: metrics or None}} and {entry: what it changed}. `noisy`: the
  injected noise's mask (None: none injected), the `oracle` detector's flags."""
  results, changed = {}, {}
  for entry in entries:
    method, detector = parse(entry, config.clean.detector)
    if detector == repair_lib.ORACLE:
      if noisy is None:
        raise errors.InputError(
            f"clean.methods: {entry!r}: the oracle is the injected noise's mask, and this job "
            "injected none (--config.noise.rate or a noise mix).")
      det = dict(det, flags=dict(det["flags"], oracle=np.asarray(noisy, bool)))
    if detector is not None and detector not in det["flags"]:
      raise errors.InputError(
          f"clean.methods: {entry!r}: {detector} has no automatic cut in this job (one of "
          f"{', '.join(sorted(det['flags']))}).")
    flags = det["flags"][detector] if detector else np.zeros(len(given), bool)
    probs = det["probs"].get(detector, det["probs"].get("ensemble")) if detector else None
    p = plan(method, given, flags, other, probs, num_classes)
    changed[entry] = describe(method, given, p, flags)
    for seed in config.clean.seeds:
      name = stage(entry, config.clean.detector, seed)
      results.setdefault(entry, {})[seed] = retrain(
          config, workdir, learner, seed, name, p["keep"], p["labels"], rows=p["rows"],
          objective=p["objective"], forget=p["forget"] if method == "coteach" else None,
          extendable=extendable)
      tick(f"clean/{name}")
  return results, changed


def describe(method, given, p, flags):
  """What a repair changed: rows dropped, relabelled, down-weighted (weight
  under 0.5, or a soft target putting under half on the given label), the
  forget rate; and up to 5 example rows of each."""
  rows = p["rows"] or {}
  dropped = np.flatnonzero(~p["keep"])
  relabelled = np.flatnonzero(p["labels"] != given)
  if "weight" in rows:
    softened = np.flatnonzero(rows["weight"] < 0.5)
  elif "target" in rows:
    softened = np.flatnonzero(rows["target"][np.arange(len(given)), given] < 0.5)
  else:
    softened = np.zeros(0, np.int64)
  out = {"method": method, "flagged": int(np.sum(flags)), "dropped": len(dropped),
         "relabelled": len(relabelled), "down_weighted": len(softened),
         "examples": {"dropped": dropped[:5].tolist(),
                      "relabelled": [[int(i), int(p["labels"][i])] for i in relabelled[:5]],
                      "down_weighted": softened[:5].tolist()}}
  if method == "coteach":
    out["forget_rate"] = p["forget"]
  return out
