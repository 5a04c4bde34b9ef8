"""Noisy-label detectors: every training example gets a score (higher = more
likely mislabelled), and some detectors an automatic cut that needs no
noise rate.

The inputs are what an AUM job already has (`Evidence`): the two AUM runs'
training dynamics (disjoint threshold-sample sets, so every example is
judged in a run where it carried its given label) and their final models'
features, the frozen encoder's embeddings, and optionally out-of-fold
probabilities (and features) of K fine-tuned models.

Detectors (`score_all`):
  aum           -AUM of the judging run (Pleiss et al. 2020; the reference).
  aum_early     -mean margin of the first `early_epochs` epochs only (before
                memorisation).
  aum_eval      -mean margin of dropout-off passes (aum.margins=both).
  aum_two_runs  -mean margin over both runs (a run where the example was a
                threshold sample does not count).
  loss          mean -log p(given label) over epochs.
  confidence    -data-map confidence (Swayamdipta et al. 2020).
  variability   data-map variability.
  forgetting    forgetting events (Toneva et al. 2019): correct -> wrong
                transitions between epochs; never learned counts as the most.
  cleanlab      1 - the out-of-fold probability of the given label
                (confident learning's self-confidence label quality).
  knn           share of the k nearest neighbours (cosine, frozen encoder)
                not carrying the given label (Bahri et al. 2020).
  simifeat      the soft vote of Zhu et al. 2022 (SimiFeat): similarity-
                weighted kNN votes averaged over rounds of random feature
                subspaces.
  probe         1 - the out-of-fold probability of the given label under
                linear probes of the frozen encoder's features
                (noisy_meta/linear_probe.py), averaged over feature views.
  knn_tuned     deep kNN in the AUM runs' fine-tuned feature spaces.
  knn_oof       deep kNN out of fold, in each fold model's feature space.
  prior         the trivial ranking: 1 - the share of the given label (rarer
                labels first); what a detector must beat to have learned.
  ensemble      the rank average of `detect.ensemble` (default aum,
                cleanlab, probe): training dynamics, fine-tuned models out
                of fold and a frozen-feature probe, three views that err
                differently (docs/detectors.md: chosen on the benchmark's
                development datasets).

Automatic cuts (`flag_all`): aum (threshold samples' percentile), aum_bbe
(a mixture-proportion estimate from the threshold samples, best-bin
estimation, Garg et al. 2021), knn (the neighbours' majority is another
class), simifeat (per-class counts from the HOC estimate of the noise
transition matrix, Zhu et al. 2021), cleanlab (`find_label_issues`, or
without the package the top `label_issue_count`), probe and ensemble (the
top m, m confident learning's count of label issues from the out-of-fold
probabilities, Northcutt et al. 2021).
"""
import dataclasses
import time
from typing import Optional

import numpy as np

from noisy_meta import aum_lib
from noisy_meta import linear_probe
from noisy_meta import neighbour_votes

DETECTORS = ("aum", "aum_early", "aum_eval", "aum_two_runs", "loss", "confidence",
             "variability", "forgetting", "cleanlab", "knn", "simifeat", "probe",
             "knn_tuned", "knn_oof", "prior", "ensemble")
# Detectors with an automatic cut (cleanlab's and the ensemble's need
# out-of-fold probabilities, the probe's embeddings).
CUTS = ("aum", "aum_bbe", "knn", "simifeat", "cleanlab", "probe", "ensemble")


@dataclasses.dataclass
class Evidence:
  """What the detectors read. runs: the two AUM runs' dynamics dicts (keys of
  trainers/aum.aum_run: aum, margin_EN, prob_EN, correct_EN, threshold_idx,
  optionally eval_margin_EN); given [N] labels; num_classes real classes;
  emb [N, D] L2-normalised embeddings (None: no neighbourhood detectors);
  oof_probs [N, C] out-of-fold probabilities (None: no cleanlab); fold_of [N]
  each example's fold; fold_features, per fold, its model's features [N, D]
  of every example (None: no out-of-fold deep kNN). A run's `features` [N, D]
  (its final model's) feed the in-sample deep kNN. probe_views: feature
  arrays [N, D_i] for the linear probes (None: `emb` alone)."""
  runs: list
  given: np.ndarray
  num_classes: int
  emb: Optional[np.ndarray] = None
  oof_probs: Optional[np.ndarray] = None
  fold_of: Optional[np.ndarray] = None
  fold_features: Optional[list] = None
  probe_views: Optional[list] = None


def judged_in(runs, n):
  """[N] in {1, 2}: run 1 unless the example was one of its threshold samples."""
  run = np.ones(n, np.int32)
  run[runs[0]["threshold_idx"]] = 2
  return run


def _per_run(run, key, early_epochs):
  """One run's per-example statistic `key` (a score: higher = more suspect)."""
  if key == "aum":
    return -np.asarray(run["aum"])
  if key == "aum_early":
    return -np.asarray(run["margin_EN"])[:early_epochs].mean(0)
  if key == "aum_eval":
    return -np.asarray(run["eval_margin_EN"]).mean(0)
  prob = np.asarray(run["prob_EN"])
  if key == "loss":
    return -np.log(np.clip(prob, 1e-12, 1.0)).mean(0)
  if key == "confidence":
    return -prob.mean(0)
  if key == "variability":
    return prob.std(0)
  if key == "forgetting":
    return forgetting_events(run["correct_EN"])
  raise KeyError(key)


def forgetting_events(correct_EN):
  """Forgetting events per example (Toneva et al. 2019): epochs where an
  example predicted right before is predicted wrong; an example never
  predicted right counts one more than the most possible (epochs)."""
  c = np.asarray(correct_EN) > 0.5
  events = (c[:-1] & ~c[1:]).sum(0).astype(np.float64)
  return np.where(c.any(0), events, float(len(c)))


def dynamics_scores(runs, key, early_epochs=1):
  """(real [N], fake) scores of a dynamics detector: `real` from the run
  judging each example; `fake` the threshold samples' scores in the run
  where they carried the fake class (run 1's then run 2's)."""
  n = len(runs[0]["aum"])
  per = [_per_run(r, key, early_epochs) for r in runs]
  real = np.where(judged_in(runs, n) == 1, per[0], per[1])
  fake = np.concatenate([per[i][runs[i]["threshold_idx"]] for i in (0, 1)])
  return real, fake


def two_run_score(runs):
  """-mean margin over both runs; a run where the example was a threshold
  sample is left out."""
  n = len(runs[0]["aum"])
  s, w = np.zeros(n), np.zeros(n)
  for r in runs:
    ok = np.ones(n, bool)
    ok[r["threshold_idx"]] = False
    s += np.where(ok, r["aum"], 0.0)
    w += ok
  return -s / np.maximum(w, 1)


def per_class_cut(score, labels, num_classes, wrong_per_class):
  """Flags the `wrong_per_class[c]` highest scores among examples labelled c."""
  flags = np.zeros(len(score), bool)
  for c in range(num_classes):
    members = np.flatnonzero(labels == c)
    m = int(np.clip(round(wrong_per_class[c]), 0, len(members)))
    if m:
      flags[members[np.argsort(-score[members], kind="mergesort")[:m]]] = True
  return flags


def bbe_share(positive, unlabelled, min_positive=0.05, delta=0.1):
  """Best-bin estimate (Garg et al. 2021) of the share of positives in
  `unlabelled`, given scores of known positives: the ratio
  P_U(s >= t) / P_P(s >= t) at the cut t that minimises its upper confidence
  bound (DKW terms at confidence 1 - `delta`), over cuts above which at least
  `min_positive` of the positives lie; clipped to [0, 1]."""
  positive = np.sort(np.asarray(positive, np.float64))
  unlabelled = np.sort(np.asarray(unlabelled, np.float64))
  n_p, n_u = len(positive), len(unlabelled)
  if not n_p or not n_u:
    return float("nan")
  cuts = positive[:max(1, int(round((1.0 - min_positive) * n_p)))]
  frac_p = 1.0 - np.searchsorted(positive, cuts, side="left") / n_p
  frac_u = 1.0 - np.searchsorted(unlabelled, cuts, side="left") / n_u
  eps_p = np.sqrt(np.log(4 / delta) / (2 * n_p))
  eps_u = np.sqrt(np.log(4 / delta) / (2 * n_u))
  ok = frac_p - eps_p > 0
  if not ok.any():
    return float(np.clip(frac_u[0] / frac_p[0], 0.0, 1.0))
  bound = np.where(ok, (frac_u + eps_u) / np.maximum(frac_p - eps_p, 1e-12), np.inf)
  best = int(np.argmin(bound))
  return float(np.clip(frac_u[best] / frac_p[best], 0.0, 1.0))


def top_share(score, share):
  """Flags the round(share * N) highest scores."""
  flags = np.zeros(len(score), bool)
  m = int(round(share * len(score)))
  if m:
    flags[np.argsort(-score, kind="mergesort")[:m]] = True
  return flags


def ranks(x):
  """Ranks in [0, 1] (ties averaged)."""
  x = np.asarray(x, np.float64)
  order = np.argsort(x, kind="mergesort")
  r = np.empty(len(x))
  _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
  r[order] = np.repeat(first + (counts - 1) / 2.0, counts)
  return r / max(len(x) - 1, 1)


def label_issue_count(labels, probs):
  """Confident learning's count of label issues (Northcutt et al. 2021,
  eq. 2; cleanlab's `num_label_issues`): examples whose confidently
  predicted class (probability at least its class's mean self-confidence;
  the likeliest if several) is not the given label, and whose likeliest
  class is not the given label either."""
  labels = np.asarray(labels)
  probs = np.asarray(probs, np.float64)
  n, c = probs.shape
  rows = np.arange(n)
  thresholds = np.array([probs[labels == k, k].mean() if (labels == k).any() else 1.0
                         for k in range(c)])
  confident = probs >= thresholds - 1e-6
  count = confident.sum(1)
  guess = np.where(count > 1, probs.argmax(1), confident.argmax(1))
  issue = (count > 0) & (guess != labels)
  tilted = probs.copy()
  tilted[rows, labels] += 1e-6  # A tie with the given label is no issue.
  return int((issue & (tilted.argmax(1) != labels)).sum())


def top_count(score, m):
  """Flags the m highest scores."""
  return top_share(score, m / max(len(score), 1))


def rank_average(parts, weights=None):
  """The mean of the components' ranks in [0, 1] ({name: score [N]}),
  weighted by `weights` ({name: w >= 0}, not all 0) when given."""
  if weights is None:
    return np.mean([ranks(v) for v in parts.values()], axis=0)
  w = np.array([weights[k] for k in parts], np.float64)
  return np.tensordot(w / w.sum(), [ranks(v) for v in parts.values()], axes=1)


def label_free_separations(parts, iterations=200):
  """Each part's separation of wrong from right labels, estimated without
  labels ({name: s}, s ~ AUROC - 1/2 up to one common factor).

  If parts' scores are independent given whether a label is wrong, the
  covariance of two parts' ranks R_i, R_j in [0, 1] is
  rho (1 - rho)(AUC_i - 1/2)(AUC_j - 1/2) (rho the noise rate; E[R | wrong]
  - E[R | right] = AUC - 1/2): rank one off the diagonal, the idea of
  SUMMA (Ahsen, Vogel and Stolovitzky, JMLR 2019). s is the least-squares
  rank-one fit s_i s_j ~ C_ij over the pairs i != j (alternating updates,
  s >= 0; with three parts s_0^2 = C_01 C_02 / C_12 exactly), so a part
  that sees nothing gets about 0 without spoiling the others. Needs three
  parts or more (with fewer, every part gets 1). Parts that err together
  (two fine-tuned models of one encoder) inflate each other's estimates:
  the ratios are what `label_free_weights` uses."""
  names = list(parts)
  m = len(names)
  if m < 3:
    return {k: 1.0 for k in names}
  cov = np.cov(np.stack([ranks(parts[k]) for k in names]))
  off = cov - np.diag(np.diag(cov))
  s = np.sqrt(np.maximum(off.max(1), 0.0))  # A start on the right scale.
  for _ in range(iterations):
    for i in range(m):
      others = np.arange(m) != i
      denom = (s[others] ** 2).sum()
      s[i] = max(off[i, others] @ s[others] / denom, 0.0) if denom > 0 else 0.0
  return {k: float(v) for k, v in zip(names, s)}


def keep_strong(parts, keep):
  """The parts whose label-free separation is at least `keep` times the
  largest ({name: score}), and every part's separation over the largest.
  keep 0 keeps all."""
  sep = label_free_separations(parts)
  top = max(sep.values())
  share = {k: (v / top if top > 0 else 1.0) for k, v in sep.items()}
  return {k: v for k, v in parts.items() if share[k] >= keep - 1e-12}, share


def label_free_weights(parts):
  """Weights of the parts of a rank average, from `label_free_separations`:
  proportional to each part's estimated separation (a part with none gets
  0); equal when no part has any."""
  sep = label_free_separations(parts)
  total = sum(sep.values())
  if total <= 0:
    return {k: 1.0 / len(sep) for k in sep}
  return {k: v / total for k, v in sep.items()}


def score_all(ev, cfg, seconds=None, probs_out=None):
  """{detector: score [N]}, {detector: automatic flags [N]} and notes (dict:
  the estimated noise shares and counts, the probe's strength, the
  ensemble's parts).

  cfg: the config's `detect` block (k, early_epochs, simifeat_rounds,
  probe_folds, seed, ensemble, aum_percentile, min_positive). `seconds`, a
  dict, receives the scoring time of the detectors that take more than
  arithmetic (knn, simifeat, probe, knn_tuned, knn_oof). `probs_out`, a
  dict, receives the out-of-fold class probabilities [N, C] behind the
  detectors that have them (cleanlab, probe, and the ensemble: its parts'
  mean), what label repair relabels and weights by (noisy_meta/repair_lib.py)."""
  seconds = {} if seconds is None else seconds
  clock = time.perf_counter
  n, c, given = len(ev.given), ev.num_classes, np.asarray(ev.given)
  rows = np.arange(n)
  runs = ev.runs
  scores, flags, notes, fakes, oof = {}, {}, {}, {}, {}
  for key in ("aum", "aum_early", "aum_eval", "loss", "confidence", "variability",
              "forgetting"):
    if key == "aum_eval" and "eval_margin_EN" not in runs[0]:
      continue
    scores[key], fakes[key] = dynamics_scores(runs, key, cfg.early_epochs)
  scores["aum_two_runs"] = two_run_score(runs)
  # AUM's own cut: below the `aum_percentile`-th percentile of the threshold
  # samples' AUM, in the judging run.
  f, _, _, t = aum_lib.combine_runs(runs[0]["aum"], runs[0]["threshold_idx"],
                                    runs[1]["aum"], runs[1]["threshold_idx"],
                                    cfg.aum_percentile)
  flags["aum"] = f
  notes["aum_thresholds"] = list(t)
  share = bbe_share(fakes["aum"], scores["aum"], cfg.min_positive)
  notes["aum_bbe_share"] = share
  flags["aum_bbe"] = top_share(scores["aum"], share)

  if ev.oof_probs is not None:
    probs = np.asarray(ev.oof_probs, np.float64)
    oof["cleanlab"] = probs = probs / probs.sum(1, keepdims=True)
    scores["cleanlab"] = 1.0 - probs[rows, given]  # Self-confidence label quality.
    try:
      import cleanlab  # pylint: disable=g-import-not-at-top
      flags["cleanlab"] = cleanlab.filter.find_label_issues(given, probs, n_jobs=1)
    except ImportError:  # The same count by our confident learning.
      flags["cleanlab"] = top_count(scores["cleanlab"], label_issue_count(given, probs))

  if ev.emb is not None:
    t0 = clock()
    idx, _ = neighbour_votes.neighbours(ev.emb, cfg.k)
    counts = neighbour_votes.vote_counts(idx, given, c)
    scores["knn"] = 1.0 - counts[rows, given]
    flags["knn"] = counts.argmax(1) != given
    t1 = clock()
    votes = neighbour_votes.simifeat_votes(ev.emb, given, c, cfg.k, cfg.simifeat_rounds,
                                           cfg.seed)
    scores["simifeat"] = 1.0 - votes[rows, given]
    t, p = neighbour_votes.hoc_transition(ev.emb, given, c, seed=cfg.seed)
    wrong = neighbour_votes.hoc_wrong_per_class(t, p, given, c)
    notes["hoc_noise_share"] = float(wrong.sum() / n)
    flags["simifeat"] = per_class_cut(scores["simifeat"], given, c, wrong)
    t2 = clock()
    seconds.update(knn=t1 - t0, simifeat=t2 - t1)
    views = ev.probe_views or [ev.emb]
    fits = [linear_probe.out_of_fold_probs(v, given, c, cfg.probe_folds, cfg.seed)
            for v in views]
    oof["probe"] = probs = np.mean([p for p, _ in fits], axis=0)
    scores["probe"] = 1.0 - probs[rows, given]
    notes["probe_strengths"] = [info["strength"] for _, info in fits]
    notes["probe_count"] = m = label_issue_count(given, probs)
    flags["probe"] = top_count(scores["probe"], m)
    seconds["probe"] = clock() - t2

  if all("features" in r for r in runs):
    t0 = clock()
    scores["knn_tuned"] = neighbour_votes.tuned_knn_in_sample(runs, given, c, cfg.k)
    seconds["knn_tuned"] = clock() - t0
  if ev.fold_features is not None:
    t0 = clock()
    scores["knn_oof"] = neighbour_votes.tuned_knn_out_of_fold(ev.fold_features, ev.fold_of,
                                                              given, cfg.k)
    seconds["knn_oof"] = clock() - t0

  scores["prior"] = 1.0 - (np.bincount(given, minlength=c) / n)[given]

  parts = {name: scores[name] for name in cfg.ensemble if name in scores}
  keep = cfg.get("ensemble_keep", 0.0)
  if parts and keep > 0:
    parts, share = keep_strong(parts, keep)
    notes["ensemble_separation_shares"] = {k: round(v, 4) for k, v in share.items()}
  if parts:
    weights = None
    if cfg.get("ensemble_weights", "equal") == "label_free":
      weights = label_free_weights(parts)
      notes["ensemble_weights"] = {k: round(v, 4) for k, v in weights.items()}
    scores["ensemble"] = rank_average(parts, weights)
    notes["ensemble_parts"] = list(parts)
    # How many to flag: confident learning on the mean out-of-fold
    # probabilities of its parts (of every model, when no part has them),
    # weighted as the ranks are.
    have = [k for k in parts if k in oof]
    probs = [oof[k] for k in have] or list(oof.values())
    if probs:
      w = [weights[k] for k in have] if weights and have and sum(
          weights[k] for k in have) > 0 else None
      oof["ensemble"] = np.average(probs, axis=0, weights=w)
      notes["ensemble_count"] = m = label_issue_count(given, oof["ensemble"])
      if cfg.get("ensemble_cut", "count") == "min":
        # Every estimate counts clean rows a weak model has not fitted as
        # wrong (they over-flag, not under-): the smallest is the best.
        notes["ensemble_count_cl"] = m
        notes["ensemble_count"] = m = min(m, int(flags["aum"].sum()),
                                          int(flags["aum_bbe"].sum()))
      flags["ensemble"] = top_count(scores["ensemble"], m)
  if probs_out is not None:
    probs_out.update(oof)
  return scores, flags, notes


def evaluate(scores, flags, noisy, seconds=None):
  """{detector: AUROC, AP, F1 at its automatic cut (if any), best F1 over
  all cuts, flagged count, seconds} against the injected-noise mask; with no
  noise (`noisy` all False) only the flagged counts mean anything."""
  noisy = np.asarray(noisy, bool)
  out = {}
  for name, s in scores.items():
    row = {"auroc": aum_lib.auroc(s, noisy) if noisy.any() else None,
           "ap": aum_lib.average_precision(s, noisy) if noisy.any() else None,
           "best_f1": best_f1(s, noisy) if noisy.any() else None}
    if seconds is not None:
      row["seconds"] = seconds.get(name)
    out[name] = row
  for name, f in flags.items():
    row = out.setdefault(name, {})
    d = aum_lib.detection_scores(f, noisy)
    row.update(auto_f1=d["f1"] if noisy.any() else None, auto_precision=d["precision"],
               auto_recall=d["recall"], flagged=d["flagged"])
  return out


def best_f1(score, positive):
  """The highest F1 of flagging the top m scores, over every m (ties kept
  together)."""
  score, positive = np.asarray(score, np.float64), np.asarray(positive, bool)
  order = np.argsort(-score, kind="mergesort")
  s, y = score[order], positive[order]
  tp = np.cumsum(y)
  last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
  flagged = last + 1
  f1 = 2 * tp[last] / (flagged + y.sum())
  return float(f1.max()) if len(f1) else float("nan")
