"""summary.json of an AUM job: dev statistics, detection scores, neighbours.

`summarize` gathers the numbers every table and figure of the report reads
(aum_markdown, aum_figures); `detector_summary` adds the detector
comparison; `neighbour_agreement` is the neighbour rule's input.
"""
from absl import logging
import numpy as np

from noisy_meta import aum_lib
from noisy_meta import metrics as metrics_lib
from noisy_meta import repair_lib


def task_name(config):
  """The task's name: a text task's `input.task`, a relation dataset's `input.dataset`."""
  return config.input.get("task", config.input.get("dataset"))


def is_relation(config):
  """Whether the job's learner classifies relations (its metric is the official F1)."""
  return config.learner in ("relation", "relation_transformer")


def detector_order(names):
  """Detector names in noisy_meta.detectors' order, then any others."""
  # Imported here: only a job with detectors needs their order, and
  # noisy_meta.detectors pulls in the linear probe (optax).
  from noisy_meta import detectors  # pylint: disable=g-import-not-at-top
  known = list(detectors.DETECTORS) + list(detectors.CUTS)
  return sorted(set(names), key=lambda n: (known.index(n) if n in known else len(known), n))


def neighbour_agreement(emb, labels, k):
  """For every example: share of its k nearest neighbours (cosine over the
  rows of `emb` [N, D], L2-normalised: the learner's `embed`, e.g. the
  pretrained encoder's space) carrying the majority label among them, and
  whether its own label is that majority label."""
  n = len(labels)
  if k > n - 1:  # A tiny training file: every other example is a neighbour.
    logging.warning("neighbors.k=%d but %d training examples: using k=%d.", k, n, n - 1)
    k = n - 1
  majority_share = np.zeros(n, np.float32)
  agrees = np.zeros(n, bool)
  num_classes = int(labels.max()) + 1
  for s in range(0, n, 1024):
    sim = emb[s:s + 1024] @ emb.T
    sim[np.arange(len(sim)), np.arange(s, s + len(sim))] = -np.inf  # Not itself.
    nn_idx = np.argpartition(-sim, k, axis=1)[:, :k]
    counts = np.stack([(labels[nn_idx] == c).sum(1) for c in range(num_classes)], 1)
    majority = counts.argmax(1)
    majority_share[s:s + 1024] = counts.max(1) / k
    agrees[s:s + 1024] = majority == labels[s:s + 1024]
  return {"majority_share": majority_share, "agrees": agrees}


# Scores a relation learner's retrains also have (finetune.fit's score_test):
# the best-dev epoch's dev F1 and that model's test F1 (official scorers).
RESULT_KEYS = ("dev_best_f1", "test_f1")


def _stats(devs, results=()):
  """Dev scores of finished runs: {metric: [mean, sample std], n, collapsed}.

  The std is None for one run (undefined), both are None for none.
  `results`: the runs' metrics.json dicts, for their collapse flags and the
  relation learners' `dev_best_f1` and `test_f1` (kept when every run has them).
  """
  n = len(devs)
  results = list(results)
  out = {"n": n, "collapsed": sum(bool(r.get("collapsed")) for r in results)}
  values = {m: [d[m] for d in devs] for m in ("accuracy", "mcc")}
  if n and len(results) == n:
    values.update({k: [r[k] for r in results] for k in RESULT_KEYS
                   if all(k in r for r in results)})
  for m, v in values.items():
    v = np.asarray(v, np.float64)
    out[m] = [float(v.mean()) if n else None, float(v.std(ddof=1)) if n > 1 else None]
  return out


def _run_row(result, note="not run: every example flagged"):
  """What summary.json keeps of one training run's metrics.json."""
  if result is None:
    return {"finished": False, "note": note}
  dev = result["dev"]
  return {"finished": True, "accuracy": dev["accuracy"], "mcc": dev["mcc"],
          **{k: result[k] for k in RESULT_KEYS if k in result},
          "train_examples": result.get("train_examples"),
          # metrics.json written before the check have no flag: unknown.
          "collapsed": result.get("collapsed"), "collapse_reason": result.get("collapse_reason")}


def select_percentile(summary, methods):
  """Per cleaning method, the percentile whose retrains score best on dev (the
  summary's metric, mean over seeds; ties: the lower percentile), with its dev
  and, where scored, test statistics: what a user without test labels picks.
  `beats_unfiltered`: whether it also beats the unfiltered retrains on dev
  (False: dev says not to clean; None: no unfiltered retrains)."""
  out = {}
  m = summary["metric"]
  base = (summary.get("dev") or {}).get("none") or {}
  base_dev = base[m][0] if base.get("n") and m in base else None
  for method in methods:
    cands = [(row[method][m][0], -int(p), p) for p, row in summary["percentiles"].items()
             if row.get(method) and row[method]["n"] and m in row[method]]
    if not cands:
      continue
    _, _, p = max(cands)
    st = summary["percentiles"][p][method]
    out[method] = {"percentile": int(p), "dev": st[m], "test": st.get("test_f1"),
                   "n": st["n"], "collapsed": st["collapsed"],
                   "beats_unfiltered": None if base_dev is None else st[m][0] > base_dev}
  return out


def summarize(config, given, noisy, used, thr_1, thr_2, flags, thresholds, results,
              neighbours, aum_runs=None, by_detector=None, detector=None):
  """Numbers of every table, as a JSON-able dict.

  `results`: {"none": {seed: metrics}, method: {(p, seed): metrics or None}};
  `aum_runs`: the two AUM runs' metrics.json dicts (their dev collapse flags);
  `by_detector`: {method: {seed: metrics or None}} of cleaning by `detector`.
  """
  # Relation learners: the official F1 of the best-dev epoch (the model that
  # is scored on test); text tasks: their headline dev metric.
  metric = "dev_best_f1" if is_relation(config) else metrics_lib.headline(task_name(config))
  seeds = list(config.clean.seeds)
  rate = config.noise.rate
  if rate <= 0 and noisy is not None:  # A noise mix: the share it flipped.
    rate = float(noisy.mean())
  out = {"task": task_name(config), "noise_rate": rate,
         "noisy": int(noisy.sum()) if noisy is not None else None,
         "examples": int(len(given)), "threshold_samples": [len(thr_1), len(thr_2)],
         "metric": metric, "seeds": seeds, "percentiles": {}, "dev": {}, "runs": {}}
  for i, r in enumerate(aum_runs or [], 1):
    out["runs"][f"aum_run{i}"] = _run_row(r, "no metrics.json")
  for seed, r in results["none"].items():
    out["runs"][f"clean/none_s{seed}"] = _run_row(r)
  for method in config.clean.methods:
    for (p, seed), r in results.get(method, {}).items():
      out["runs"][f"clean/{method}_p{p}_s{seed}"] = _run_row(r)
  for method, per_seed in (by_detector or {}).items():
    for seed, r in per_seed.items():
      out["runs"][f"clean/{repair_lib.stage_name(method, detector, seed)}"] = _run_row(r)
  for seed, r in results.get("original", {}).items():
    out["runs"][f"clean/original_s{seed}"] = _run_row(r)
  base = [r for r in results["none"].values() if r is not None]
  out["dev"]["none"] = _stats([r["dev"] for r in base], base)
  ceiling = [r for r in results.get("original", {}).values() if r is not None]
  if ceiling:
    out["dev"]["original"] = _stats([r["dev"] for r in ceiling], ceiling)
  if not seeds:
    out["dev"]["none"]["note"] = "not run: seeds=0"
  for p in config.aum.percentiles:
    row = {"threshold": list(thresholds[p]), "flagged": int(flags[p].sum()),
           "flagged_share": float(flags[p].mean())}
    if noisy is not None:
      row["detection"] = aum_lib.detection_scores(flags[p], noisy, -used)
      if neighbours is not None:
        refined = flags[p] & ~neighbours["agrees"]
        row["detection_with_neighbours"] = aum_lib.detection_scores(refined, noisy)
    for method in config.clean.methods:
      runs = [r for (q, _), r in results.get(method, {}).items() if q == p and r is not None]
      if runs:
        row[method] = _stats([r["dev"] for r in runs], runs)
    out["percentiles"][str(p)] = row
  out["selected"] = select_percentile(out, config.clean.methods)
  rs = [r for r in out["runs"].values() if r.get("finished")]
  out["collapsed_runs"] = sorted(k for k, r in out["runs"].items() if r.get("collapsed"))
  out["collapse_unknown"] = sorted(k for k, r in out["runs"].items()
                                   if r.get("finished") and r.get("collapsed") is None)
  out["finished_runs"] = len(rs)
  flagged_any = flags[max(config.aum.percentiles)]
  out["neighbours"] = None if neighbours is None else {
      "k": config.neighbors.k,
      "flagged_agree_share": float(neighbours["agrees"][flagged_any].mean())
      if flagged_any.any() else None,
      "unflagged_agree_share": float(neighbours["agrees"][~flagged_any].mean())
      if (~flagged_any).any() else None}
  return out


def detector_summary(config, det, by_detector):
  """summary.json's `detectors`: which detector cleans, every detector's
  detection scores and cost, the automatic cuts' notes, and the dev scores
  of cleaning with the chosen detector ({method: stats over seeds})."""
  cleaning = {}
  for method, per_seed in by_detector.items():
    runs = [r for r in per_seed.values() if r is not None]
    cleaning[method] = _stats([r["dev"] for r in runs], runs)
  return {"chosen": config.clean.detector, "table": det["table"],
          "notes": det["notes"], "cleaning": cleaning, "changed": det.get("changed", {})}


def scored_metric(summary):
  """The score repairs are compared on: test F1 where the runs are scored on
  test (relation learners), else the summary's dev metric."""
  none = summary["dev"].get("none") or {}
  return "test_f1" if "test_f1" in none else summary["metric"]


def recovered(summary):
  """{entry: share of the score lost to noise that the repair won back,
  (repaired − noisy) / (clean − noisy)}, means over seeds; {} without the
  clean-label ceiling or when noise cost nothing."""
  m = scored_metric(summary)
  clean = (summary["dev"].get("original") or {}).get(m)
  noisy = (summary["dev"].get("none") or {}).get(m)
  if not clean or not noisy or clean[0] is None or noisy[0] is None or clean[0] <= noisy[0]:
    return {}
  out = {}
  for entry, st in summary["detectors"]["cleaning"].items():
    if st.get(m) and st[m][0] is not None:
      out[entry] = (st[m][0] - noisy[0]) / (clean[0] - noisy[0])
  return out


def add_corrections(summary, cor, det, results):
  """summary.json's `corrections` (input.corrections; nothing without): rows
  reviewed, relabelled, dropped and kept; each detector against the
  person's decisions (a reviewed row judged wrong, relabel or drop, is a
  positive): among the reviewed rows, its automatic flags' precision and
  recall, its score's AUROC where both kinds were reviewed; dev scores of
  the unfiltered retrains before (clean/uncorrected_s*) and after
  (clean/none_s*) the corrections, whose runs join `runs`."""
  if cor is None:
    return
  reviewed = cor.reviewed != ""
  wrong = cor.wrong()[reviewed]
  both = bool(wrong.any() and (~wrong).any())
  table = {}
  for name in detector_order(set(det["scores"]) | set(det["flags"])):
    row = {}
    if name in det["flags"]:
      f = np.asarray(det["flags"][name], bool)[reviewed]
      hit = int(np.sum(f & wrong))
      row.update(flagged=int(f.sum()), flagged_wrong=hit,
                 precision=hit / int(f.sum()) if f.any() else None,
                 recall=hit / int(wrong.sum()) if wrong.any() else None)
    if name in det["scores"]:
      row["auroc"] = (float(aum_lib.auroc(np.asarray(det["scores"][name])[reviewed], wrong))
                      if both else None)
    table[name] = row
  before = results.get("uncorrected", {})
  for seed, r in before.items():
    summary["runs"][f"clean/uncorrected_s{seed}"] = _run_row(r)
    if r is not None and r.get("collapsed"):
      summary["collapsed_runs"] = sorted(summary["collapsed_runs"]
                                         + [f"clean/uncorrected_s{seed}"])
  done = [r for r in before.values() if r is not None]
  summary["finished_runs"] += len(done)
  summary["corrections"] = dict(
      path=cor.path, **cor.counts(), judged_wrong=int(wrong.sum()), detectors=table,
      dev={"uncorrected": _stats([r["dev"] for r in done], done),
           "corrected": summary["dev"]["none"]})
