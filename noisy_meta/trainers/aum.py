"""The AUM pipeline of Talukdar et al. ("Training dynamic based data filtering
may not work for NLP datasets"): find mislabelled examples, clean, retrain.

1. Optional synthetic noise: uniform flips on train (mask saved).
2. Two AUM runs with disjoint threshold-sample sets (relabelled to a fake
   class c); margins and data-map statistics are recorded inside the train
   step from the training forward pass.
3. Flags at every percentile of `aum.percentiles`, from the two runs
   (`aum_lib.combine_runs`), without retraining the AUM runs.
4. Retrains from the pretrained encoder: unfiltered, sieved, flipped, for
   every percentile in `clean.percentiles` and seed in `clean.seeds`.
5. Artifacts: examples.csv, summary.json, report.md and PNG plots.

Every stage lives in its own sub-workdir with its own checkpoints, and a
finished stage is reused, so rerunning the command resumes the pipeline.
"""
import os
import time
import zipfile

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from noisy_meta import aum_lib
from noisy_meta import detectors
from noisy_meta import linear_probe
from noisy_meta.core import atomic
from noisy_meta.core import errors
from noisy_meta.core import guards
from noisy_meta.core import loop
from noisy_meta.core import parallel
from noisy_meta.core import progress
from noisy_meta.data import noise as noise_lib
from noisy_meta import learners
from noisy_meta.learners import base
from noisy_meta.reports import aum_report
from noisy_meta.reports import aum_summary
from noisy_meta.reports import explorer
from noisy_meta.trainers import corrected
from noisy_meta.trainers import repair
from noisy_meta.trainers import stages
from noisy_meta.trainers import supervised

# Config fields that extend this method's grid (more retrain seeds, methods,
# percentiles, neighbours): finished stages are reused, new ones added.
EXTENDABLE = ("clean.seeds", "clean.methods", "clean.percentiles", "clean.keep_checkpoints",
              "clean.ceiling", "aum.percentiles", "neighbors.k")
SWEPT = ("sieve", "flip")  # The methods retrained at every AUM percentile (the paper's).


def _fit(config, path, learner, train, **kwargs):
  """The supervised method in stage `path`, resuming under this method's rules."""
  return supervised.fit(config, path, learner, train, extendable=EXTENDABLE, **kwargs)


def _drop_checkpoints(config, path):
  """A finished stage is read from metrics.json / dynamics.npz, not ckpt/."""
  if not config.clean.keep_checkpoints:
    stages.drop_checkpoints(path)


def dynamics_spec(config):
  """What the AUM runs record per example (config.aum), for the loop."""
  return aum_lib.DynamicsSpec(margins=config.aum.margins,
                              save_logits=config.aum.save_logits)


def read_arrays(path, rows, required):
  """A finished stage's saved arrays (dynamics.npz, outputs.npz), checked
  before they are trusted: readable, the `required` names, `rows` examples
  along their first axis (dynamics: every epoch's arrays along the second).
  Damage is one line naming the file and how to retrain the stage."""
  stage = os.path.dirname(path)
  try:
    with np.load(path) as z:
      arrays = dict(z)
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    problem = f"not readable ({type(e).__name__}: {e})"
  else:
    missing = [k for k in required if k not in arrays]
    lengths = {k: (v.shape[1] if k.endswith("_EN") or k == "logits_ENC" else v.shape[0])
               for k, v in arrays.items() if k != "threshold_idx" and v.ndim}
    wrong = {k: n for k, n in lengths.items() if n != rows}
    if not missing and not wrong:
      return arrays
    problem = (f"lacks {', '.join(missing)}" if missing else
               "holds " + ", ".join(f"{k} of {n} rows" for k, n in sorted(wrong.items()))
               + f" for {rows} training examples")
  raise errors.InputError(f"{path}: a finished stage's arrays, but {problem}; delete "
                          f"{stage} to train this stage again.")


def aum_run(config, workdir, learner, labels, num_real, threshold_idx, name):
  """Trains one AUM run; returns its saved dynamics (dict of numpy arrays)."""
  path = os.path.join(workdir, name)
  out = os.path.join(path, "dynamics.npz")
  if os.path.exists(out):
    return read_arrays(out, len(labels), ("aum", "count", "margin_EN", "threshold_idx"))
  labels = labels.copy()
  labels[threshold_idx] = num_real  # The fake class.
  train = learner.relabel(learner.train, labels)
  _, state = _fit(config, path, learner, train, num_classes=num_real + 1,
                  dynamics=dynamics_spec(config), score_test=False)
  dyn = jax.device_get(state.dynamics)
  # The final model's view of every example: its probabilities and the
  # classifier's input features (the tuned-space neighbour detectors).
  final_probs, features = predict_outputs(state, learner, train,
                                          parallel.make_mesh(config.num_devices))
  extra = {"final_probs": final_probs}
  if features is not None:
    extra["features"] = features
  result = dict(run_arrays(dyn, threshold_idx), **extra)
  if parallel.is_lead():
    with atomic.path(out, suffix=".npz") as tmp:
      np.savez(tmp, **result)
  _drop_checkpoints(config, path)
  return result


def run_arrays(dyn, threshold_idx):
  """One AUM run's saved arrays (dynamics.npz) from its `Dynamics`."""
  out = dict(aum=aum_lib.aum(dyn), count=np.asarray(dyn.count),
             margin_EN=np.asarray(dyn.margin_EN), prob_EN=np.asarray(dyn.prob_EN),
             correct_EN=np.asarray(dyn.correct_EN), other_EN=np.asarray(dyn.other_EN),
             threshold_idx=np.asarray(threshold_idx), **aum_lib.data_map(dyn))
  for key in ("eval_margin_EN", "logits_ENC"):
    if getattr(dyn, key) is not None:
      out[key] = np.asarray(getattr(dyn, key))
  return out


def predict_outputs(state, learner, split, mesh):
  """Softmax probabilities [N, C] of `state` for every row of `split`, and
  the classifier's input features [N, D] (None if the learner has none)."""
  has_features = isinstance(learner, base.Features)

  def outputs(s, b):
    if has_features:
      logits, feats = learner.features(s, s.params, b)
    else:
      logits, feats = learner.logits(s, s.params, b), jnp.zeros((len(b["_mask"]), 0))
    return jax.nn.softmax(logits.astype(jnp.float32)), feats.astype(jnp.float32)

  fn = jax.jit(outputs, out_shardings=parallel.replicated(mesh))
  probs, feats = loop.map_split(lambda b: fn(state, b), learner, split, mesh=mesh)
  return probs, (feats if has_features else None)


def out_of_fold(config, workdir, learner, labels, num_classes, folds):
  """K models of the same learner and recipe, each trained on all but one
  fold. Returns a dict: `probs` [N, C], each row from the model that did not
  train on it (confident learning's input); `fold_of` [N]; `features`, per
  fold, its model's features [N, D] of every example (None without); and
  the training `seconds`. Each fold's outputs are saved, so a rerun resumes."""
  n = len(labels)
  fold_of = np.random.default_rng(config.detect.seed).permutation(n) % folds
  given = learner.relabel(learner.train, labels)
  mesh = parallel.make_mesh(config.num_devices)
  probs, feats, seconds = np.zeros((n, num_classes), np.float32), [], 0.0
  for k in range(folds):
    path = os.path.join(workdir, "folds", f"fold{k}")
    out = os.path.join(path, "outputs.npz")
    if not os.path.exists(out):
      train = learner.subset(given, np.flatnonzero(fold_of != k))
      _, state = _fit(config, path, learner, train, num_classes=num_classes,
                      score_test=False)
      p, f = predict_outputs(state, learner, given, mesh)
      if parallel.is_lead():
        with atomic.path(out, suffix=".npz") as tmp:
          np.savez(tmp, probs=p, **({} if f is None else {"features": f}))
      _drop_checkpoints(config, path)
    z = read_arrays(out, n, ("probs",))
    held = fold_of == k
    probs[held] = z["probs"][held]
    feats.append(z.get("features"))
    seconds += stages.finished(path)["train_seconds"]
  return dict(probs=probs, fold_of=fold_of, seconds=seconds,
              features=None if any(f is None for f in feats) else feats)


def detect(config, workdir, learner, given, num_classes, runs, noisy):
  """Every detector's scores and automatic flags (noisy_meta.detectors),
  with what each cost; the frozen encoder's embeddings are kept for the
  neighbour table. Returns a dict: scores, flags, notes, seconds, emb, table
  (the detectors against the injected noise, when there is some)."""
  t = time.perf_counter()
  # detect.frozen=False: no frozen-encoder detectors and no neighbours (what a
  # logits-only analysis, noisy_meta.analyze, has).
  emb = views = None
  frozen = config.detect.frozen
  if frozen and isinstance(learner, base.LayerEmbeddings):
    layers = learner.embed_layers(learner.train)  # One pass: the last layer and all.
    emb = layers[:, -1]
    every = layers.reshape(len(layers), -1)  # Each layer's unit vectors side by side.
    views = [emb, linear_probe.principal_components(every, emb.shape[1])
             / np.sqrt(layers.shape[1])]  # As long as one layer's vectors.
  elif frozen and isinstance(learner, base.FrozenEmbeddings):
    emb = learner.embed(learner.train)
  embed_seconds = time.perf_counter() - t
  folds = {}
  if config.detect.folds:
    folds = out_of_fold(config, workdir, learner, given, num_classes, config.detect.folds)
  return score_detectors(config, workdir, given, num_classes, runs, noisy, emb, views, folds,
                         embed_seconds)


def score_detectors(config, workdir, given, num_classes, runs, noisy, emb=None, views=None,
                    folds=None, embed_seconds=0.0):
  """`detect`'s result from what it read: the AUM runs' arrays, the frozen
  embeddings (emb [N, D], probe views; None: none) and the out-of-fold
  models (`out_of_fold`'s dict; empty: none)."""
  folds = folds or {}
  ev = detectors.Evidence(runs=runs, given=given, num_classes=num_classes, emb=emb,
                          oof_probs=folds.get("probs"), fold_of=folds.get("fold_of"),
                          fold_features=folds.get("features"), probe_views=views)
  scoring, probs = {}, {}
  scores, flags, notes = detectors.score_all(ev, config.detect, seconds=scoring,
                                             probs_out=probs)
  aum_runs = [stages.finished(os.path.join(workdir, n)) for n in ("aum_run1", "aum_run2")]
  aum_seconds = sum(r["train_seconds"] for r in aum_runs if r is not None)
  # What each detector costs: the trainings and embeddings it reads, and its
  # own scoring time (arithmetic on saved arrays counts as nothing).
  inputs = {"dynamics": aum_seconds, "folds": folds.get("seconds", 0.0),
            "frozen": embed_seconds}
  needs = {"cleanlab": ("folds",), "knn_oof": ("folds",), "knn": ("frozen",),
           "simifeat": ("frozen",), "probe": ("frozen",), "prior": ()}
  parts = notes.get("ensemble_parts", ())
  needs["ensemble"] = {p for part in parts for p in needs.get(part, ("dynamics",))}
  scoring["ensemble"] = sum(scoring.get(part, 0.0) for part in parts)
  seconds = {name: sum(inputs[p] for p in needs.get(name, ("dynamics",)))
             + scoring.get(name, 0.0) for name in list(scores) + list(flags)}
  # Wall-clock costs stay out of the table (summary.json is deterministic);
  # they go to detector_seconds.json and report.md.
  table = detectors.evaluate(scores, flags, noisy if noisy is not None
                             else np.zeros(len(given), bool))
  if config.clean.detector not in flags:
    raise errors.InputError(
        f"clean.detector={config.clean.detector!r} has no automatic cut in this job (it "
        f"needs out-of-fold probabilities: --config.detect.folds=K, or embeddings); "
        f"choose one of {sorted(flags)}.")
  return dict(scores=scores, flags=flags, notes=notes, seconds=seconds, emb=emb, table=table,
              probs=probs)


def clean_labels(method, given, flags, other, num_classes):
  """(keep mask, labels) after sieving or flipping the flagged examples."""
  p = repair.plan(method, given, flags, other, None, num_classes)
  return p["keep"], p["labels"]


def retrain(config, workdir, learner, keep, labels, seed, name):
  return repair.retrain(config, workdir, learner, seed, name, keep, labels,
                        extendable=EXTENDABLE)


def swept(config):
  """The methods retrained at every AUM percentile (clean.percentiles)."""
  return [m for m in config.clean.methods if m in SWEPT]


def repaired(config):
  """The clean.methods entries retrained once per seed by a detector's cut:
  all of them, but plain sieve and flip when clean.detector=aum (the sweep)."""
  return tuple(m for m in config.clean.methods
               if config.clean.detector != "aum" or m not in SWEPT)


def _stage_progress(config, workdir):
  """A callback logging 'stage k/K' with the pipeline's ETA after each stage."""
  chosen = config.clean.detector
  names = ["aum_run1", "aum_run2"] + [f"clean/none_s{s}" for s in config.clean.seeds] + [
      f"clean/{repair.stage(m, chosen, s)}" for m in repaired(config)
      for s in config.clean.seeds] + [
      f"clean/{m}_p{p}_s{s}" for m in swept(config)
      for p in config.clean.percentiles for s in config.clean.seeds]
  if config.clean.ceiling and (config.noise.rate > 0 or "=" in config.noise.kind):
    names += [f"clean/original_s{s}" for s in config.clean.seeds]
  finished = lambda n: os.path.exists(os.path.join(
      workdir, n, "dynamics.npz" if n.startswith("aum_run") else "metrics.json"))
  before = {n for n in names if finished(n)}  # Reused stages do not count for the ETA.
  prog = progress.Progress(len(names), start=len(before), unit="stages")
  done = set(before)

  def tick(name):
    if name in done:
      return
    done.add(name)
    logging.info("AUM pipeline: %s finished | %s", name, prog.line(len(done))[0])
  return tick


def train_and_evaluate(config, workdir):
  """Runs the whole pipeline in `workdir`; returns the summary dict."""
  lead = parallel.is_lead()
  os.makedirs(workdir, exist_ok=True)
  # Before anything in the workdir is touched.
  guards.check_config(workdir, config, EXTENDABLE)
  learner = learners.get(config.learner)(corrected.without(config))  # Rows as reviewed.
  train = learner.train_examples()
  guards.check_data(workdir, config, **learner.source_fingerprints())
  c = len(train.label_names)
  original = train.labels.astype(np.int32)
  kind = config.noise.kind
  if config.noise.from_patch:
    # A published correction as ground truth: train on the labels before the
    # patch; the examples it relabels are the known-wrong ones.
    before = (learner.labels_before_patch() if isinstance(learner, base.LabelPatched)
              else None)
    if before is None:
      raise errors.InputError(
          "noise.from_patch: the label patch (input.label_patch) changes no training label "
          "(TACRED-Revisited patches dev and test only; Re-TACRED patches train).")
    given, noisy = before.astype(np.int32), before != original
  elif config.noise.rate > 0 or "=" in kind:  # A mix carries its own rates.
    try:
      given, noisy = noise_lib.inject(kind, original, c, config.noise.rate, config.noise.seed,
                                      label_names=train.label_names,
                                      pairing=config.noise.pairing,
                                      back_rate=config.noise.back_rate)
    except ValueError as e:  # A bad noise setting or pairing file: one line.
      raise errors.InputError(f"noise: {e}") from None
  else:
    given, noisy = original.copy(), None
  cor = corrected.load(config, train, given)  # input.corrections: None without.
  if lead:
    with atomic.path(os.path.join(workdir, "noise.npz"), suffix=".npz") as tmp:
      np.savez(tmp, original=original, given=given,
               noisy=noisy if noisy is not None else np.zeros(len(given), bool))

  rng = np.random.default_rng(config.aum.threshold_seed)
  mode, divisor = config.aum.threshold_mode, config.aum.threshold_divisor
  thr_1 = aum_lib.assign_threshold_samples(given, c, rng, mode, divisor=divisor)
  thr_2 = aum_lib.assign_threshold_samples(given, c, rng, mode, exclude=thr_1,
                                           divisor=divisor)
  logging.info("AUM: %d examples, %d classes, %d + %d threshold samples.",
               len(given), c, len(thr_1), len(thr_2))
  if not len(thr_1) or not len(thr_2):
    raise errors.InputError(
        f"{len(given)} training examples in {c} classes give no threshold samples for two "
        f"disjoint AUM runs (mode {mode!r}, N//({divisor})); use a larger training set.")
  tick = _stage_progress(config, workdir)
  run_1 = aum_run(config, workdir, learner, given, c, thr_1, "aum_run1")
  tick("aum_run1")
  run_2 = aum_run(config, workdir, learner, given, c, thr_2, "aum_run2")
  tick("aum_run2")

  det = detect(config, workdir, learner, given, c, [run_1, run_2], noisy)
  j = judge(config.aum.percentiles, run_1, run_2)
  flags, other = j["flags"], j["other"]

  everything = np.ones(len(given), bool)
  results = {"none": {}}
  keep, labels = corrected.unfiltered(cor, given)  # With corrections: the corrected labels.
  for seed in config.clean.seeds:
    results["none"][seed] = retrain(config, workdir, learner, keep, labels, seed,
                                    f"none_s{seed}")
    tick(f"clean/none_s{seed}")
  corrected.retrain_uncorrected(config, lambda *a: retrain(config, workdir, learner, *a),
                                given, cor, results)
  if noisy is not None and config.clean.ceiling:  # The clean labels: the ceiling.
    results["original"] = {}
    for seed in config.clean.seeds:
      results["original"][seed] = retrain(config, workdir, learner, everything, original,
                                          seed, f"original_s{seed}")
      tick(f"clean/original_s{seed}")
  # Repair by the job's detector (clean.detector) or a named one
  # (trainers/repair.py); with clean.detector=aum, sieve and flip are the sweep below.
  by_detector, changed = repair.run(config, workdir, learner, repaired(config), given, det,
                                    other, c, tick, extendable=EXTENDABLE, noisy=noisy)
  det["changed"], det["corrections"] = changed, cor
  for method in swept(config):
    results[method] = {}
    for p in config.clean.percentiles:
      keep, labels = clean_labels(method, given, flags[p], other, c)
      for seed in config.clean.seeds:
        results[method][(p, seed)] = retrain(config, workdir, learner, keep, labels, seed,
                                             f"{method}_p{p}_s{seed}")
        tick(f"clean/{method}_p{p}_s{seed}")

  aum_runs = [stages.finished(os.path.join(workdir, n)) for n in ("aum_run1", "aum_run2")]
  return write_reports(config, workdir, train, original, given, noisy, j, det, results,
                       by_detector, aum_runs)


def judge(percentiles, run_1, run_2):
  """Every example judged in the run where it kept its label: flags at each
  percentile, the judging run's AUM (`used`), which run (`judged_in`), the
  thresholds, its data-map statistics and the best other real class at the
  last epoch (`other`, what flipping relabels a multi-class example to)."""
  thr_1, thr_2 = run_1["threshold_idx"], run_2["threshold_idx"]
  flags, thresholds = {}, {}
  # `used` (the judging run's AUM) and `judged_in` do not depend on p.
  for p in percentiles:
    flags[p], used, judged_in, thresholds[p] = aum_lib.combine_runs(
        run_1["aum"], thr_1, run_2["aum"], thr_2, p)
  pick = lambda key: np.where(judged_in == 1, run_1[key], run_2[key])
  return dict(flags=flags, thresholds=thresholds, used=used, judged_in=judged_in,
              threshold_idx=(thr_1, thr_2),
              other=np.where(judged_in == 1, run_1["other_EN"][-1], run_2["other_EN"][-1]),
              stats={k: pick(k) for k in ("confidence", "variability", "correctness")})


def write_reports(config, workdir, train, original, given, noisy, j, det, results,
                  by_detector, aum_runs):
  """Neighbours, summary.json, examples.csv, report.md, the figures and
  explorer.html of a judged job (`judge`'s `j`, `detect`'s `det`); returns
  the summary."""
  thr_1, thr_2 = j["threshold_idx"]
  neighbours = (aum_summary.neighbour_agreement(det["emb"], given, k=config.neighbors.k)
                if det["emb"] is not None else None)
  summary = aum_summary.summarize(config, given, noisy, j["used"], thr_1, thr_2, j["flags"],
                                  j["thresholds"], results, neighbours, aum_runs=aum_runs,
                                  by_detector=by_detector, detector=config.clean.detector)
  summary["detectors"] = aum_summary.detector_summary(config, det, by_detector)
  summary["detectors"]["recovered"] = aum_summary.recovered(summary)
  summary["label_names"] = list(train.label_names)
  aum_summary.add_corrections(summary, det.get("corrections"), det, results)
  if train.warnings:  # What the readers found odd (report.md repeats it).
    summary["data_warnings"] = list(train.warnings)
  if parallel.is_lead():
    aum_report.write_all(workdir, config, train, original, given, noisy, j["used"],
                         j["judged_in"], thr_1, thr_2, j["flags"], j["stats"], neighbours,
                         summary, det, other=j["other"])
    explorer.write_aum_explorer_or_warn(workdir)  # From the files just written.
  return summary
