"""Noisy-label detectors: hand computations, synthetic truths and cleanlab."""
import itertools

import ml_collections
import numpy as np
import pytest

from configs import aum as aum_config
from noisy_meta import aum_lib
from noisy_meta import detectors
from noisy_meta import neighbour_votes
from noisy_meta.data import noise


def test_forgetting_events_hand_computed():
  correct = np.array([[1, 0, 1, 0],
                      [0, 0, 1, 1],
                      [1, 0, 0, 1]])  # [epochs, examples]
  # 0: right, wrong, right -> 1 event; 1: never right -> 3 (epochs);
  # 2: right, right, wrong -> 1; 3: wrong, right, right -> 0.
  np.testing.assert_array_equal(detectors.forgetting_events(correct), [1, 3, 1, 0])


def _runs():
  """Two runs of 6 examples, 2 epochs, disjoint threshold samples {0, 1}, {2}."""
  m1 = np.array([[1.0, 2, 3, 4, 5, 6], [3.0, 4, 5, 6, 7, 8]])
  m2 = -m1
  runs = []
  for m, thr in ((m1, [0, 1]), (m2, [2])):
    p = 1 / (1 + np.exp(-m))
    runs.append(dict(aum=m.mean(0), margin_EN=m, eval_margin_EN=m / 2, prob_EN=p,
                     correct_EN=(m > 0).astype(np.float32), threshold_idx=np.array(thr)))
  return runs


def test_dynamics_scores_judge_each_example_in_a_run_where_it_was_real():
  runs = _runs()
  real, fake = detectors.dynamics_scores(runs, "aum")
  # Examples 0, 1 were run 1's threshold samples: judged in run 2 (AUM -2, -3).
  np.testing.assert_allclose(real, [2, 3, -4, -5, -6, -7])
  np.testing.assert_allclose(fake, [-2, -3, 4])  # Run 1's {0, 1}, then run 2's {2}.
  early, _ = detectors.dynamics_scores(runs, "aum_early", early_epochs=1)
  np.testing.assert_allclose(early, [1, 2, -3, -4, -5, -6])
  ev, _ = detectors.dynamics_scores(runs, "aum_eval")
  np.testing.assert_allclose(ev, real / 2)
  loss, _ = detectors.dynamics_scores(runs, "loss")
  p = runs[1]["prob_EN"][:, 0]
  assert loss[0] == pytest.approx(-np.log(p).mean())
  # Both runs: a run where the example was a threshold sample is left out.
  two = detectors.two_run_score(runs)
  np.testing.assert_allclose(two, [2, 3, -4, 0, 0, 0])


def test_best_f1_is_the_best_top_m_cut():
  rng = np.random.default_rng(0)
  for _ in range(20):
    y = rng.random(30) < 0.3
    s = rng.integers(0, 8, 30).astype(float)  # Ties.
    want = 0.0
    for t in np.unique(s):
      f = s >= t
      want = max(want, aum_lib.detection_scores(f, y)["f1"])
    assert detectors.best_f1(s, y) == pytest.approx(want)


def test_ranks_average_ties():
  np.testing.assert_allclose(detectors.ranks([3.0, 1.0, 3.0, 2.0]), [2.5 / 3, 0, 2.5 / 3, 1 / 3])


def _independent_detectors(aurocs, n=40000, rate=0.2, seed=0):
  """Scores independent given the label being wrong: a normal shifted by
  d = sqrt(2) Phi^-1(AUROC) for wrong labels (AUROC of N(d, 1) vs N(0, 1))."""
  from scipy import stats  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  wrong = rng.random(n) < rate
  parts = {f"d{i}": rng.normal(size=n) + np.sqrt(2) * stats.norm.ppf(a) * wrong
           for i, a in enumerate(aurocs)}
  return parts, wrong


def test_label_free_separations_recover_each_parts_auroc():
  """Under conditional independence the rank covariances are rank one:
  C_ij = rho (1 - rho)(AUC_i - 1/2)(AUC_j - 1/2); the estimate over
  sqrt(rho (1 - rho)) is each part's AUROC - 1/2, and a part that sees
  nothing gets (about) nothing."""
  from sklearn import metrics  # pylint: disable=g-import-not-at-top
  aurocs = (0.95, 0.85, 0.7, 0.5)
  parts, wrong = _independent_detectors(aurocs)
  sep = detectors.label_free_separations(parts)
  scale = np.sqrt(wrong.mean() * (1 - wrong.mean()))
  for name, a in zip(parts, aurocs):
    got = metrics.roc_auc_score(wrong, parts[name]) - 0.5  # This sample's own AUROC.
    assert sep[name] / scale == pytest.approx(got, abs=0.02), (name, a)
  w = detectors.label_free_weights(parts)
  assert sum(w.values()) == pytest.approx(1.0)
  assert w["d0"] > w["d1"] > w["d2"] > 3 * w["d3"]
  # By hand, three parts: s_0^2 = C_01 C_02 / C_12 from the rank covariance
  # (the rank-one fit is exact there).
  three = {k: parts[k] for k in ("d0", "d1", "d2")}
  c = np.cov(np.stack([detectors.ranks(v) for v in three.values()]))
  assert detectors.label_free_separations(three)["d0"] == pytest.approx(
      np.sqrt(c[0, 1] * c[0, 2] / c[1, 2]), rel=1e-6)
  # Fewer than three parts: nothing to estimate, equal weights.
  assert detectors.label_free_weights({"a": parts["d0"], "b": parts["d3"]}) == {
      "a": 0.5, "b": 0.5}


def test_weighted_rank_average_and_a_weak_part_that_no_longer_pulls():
  """The weighted average by hand; with one strong, two middling and one
  useless part, equal weights fall below the best part, the label-free
  weights do not."""
  from sklearn import metrics  # pylint: disable=g-import-not-at-top
  x = {"a": np.array([3.0, 1.0, 2.0]), "b": np.array([1.0, 2.0, 3.0])}
  np.testing.assert_allclose(detectors.rank_average(x, {"a": 3.0, "b": 1.0}),
                             [0.75 * 1 + 0.25 * 0, 0.75 * 0 + 0.25 * 0.5,
                              0.75 * 0.5 + 0.25 * 1])
  np.testing.assert_allclose(detectors.rank_average(x), detectors.rank_average(
      x, {"a": 1.0, "b": 1.0}))
  parts, wrong = _independent_detectors((0.97, 0.75, 0.75, 0.5), seed=1)
  auc = lambda s: metrics.roc_auc_score(wrong, s)
  equal = auc(detectors.rank_average(parts))
  weighted = auc(detectors.rank_average(parts, detectors.label_free_weights(parts)))
  assert equal < auc(parts["d0"]) - 0.01 < weighted


def test_keep_strong_drops_the_parts_far_below_the_best():
  parts, wrong = _independent_detectors((0.95, 0.9, 0.7), seed=2)
  kept, share = detectors.keep_strong(parts, 0.85)
  assert list(kept) == ["d0", "d1"] and share["d0"] == 1.0 and share["d2"] < 0.5
  assert list(detectors.keep_strong(parts, 0.0)[0]) == ["d0", "d1", "d2"]
  ev, _ = _synthetic_evidence()
  _, _, notes = detectors.score_all(ev, _detect_config(ensemble_keep=1.0))
  # keep 1: only the part with the largest separation stays.
  assert len(notes["ensemble_parts"]) == 1
  best = max(notes["ensemble_separation_shares"], key=notes["ensemble_separation_shares"].get)
  assert notes["ensemble_parts"] == [best]
  # The report names the parts left out, with every candidate's share.
  from noisy_meta.reports import why  # pylint: disable=g-import-not-at-top
  text = why.explain({"detectors": {"chosen": "ensemble", "notes": notes}}, {}, {})["text"]
  left = sorted(set(notes["ensemble_separation_shares"]) - {best})
  assert f"({', '.join(left)} left out by detect.ensemble_keep)" in text


def test_score_all_weighs_the_ensemble_without_labels_when_asked():
  ev, noisy = _synthetic_evidence()
  cfg = _detect_config(ensemble_weights="label_free")
  scores, _, notes = detectors.score_all(ev, cfg)
  w = notes["ensemble_weights"]
  assert set(w) == {"aum", "cleanlab", "probe"} and sum(w.values()) == pytest.approx(1, abs=1e-3)
  want = detectors.rank_average({k: scores[k] for k in w}, w)
  np.testing.assert_allclose(scores["ensemble"], want, atol=1e-3)
  table = detectors.evaluate(scores, {}, noisy)
  assert table["ensemble"]["auroc"] > 0.8
  # report.md names the weights.
  from noisy_meta.reports import aum_markdown  # pylint: disable=g-import-not-at-top
  summary = {"metric": "accuracy", "noisy": 0,
             "detectors": {"notes": notes, "table": {}, "chosen": "ensemble", "cleaning": {}}}
  line = [l for l in aum_markdown.detector_lines(summary) if "averages the ranks" in l]
  assert line and f"aum (weight {w['aum']:.2f})" in line[0] and "label_free" in line[0]
  # ensemble_cut=min: the smallest of confident learning's count, AUM's cut's
  # and the mixture estimate's.
  _, flags, notes = detectors.score_all(ev, _detect_config(ensemble_cut="min"))
  assert notes["ensemble_count"] == min(notes["ensemble_count_cl"], flags["aum"].sum(),
                                        flags["aum_bbe"].sum())
  # A stricter AUM cut (its 50th percentile) flags fewer than the others: it wins.
  _, flags, notes = detectors.score_all(ev, _detect_config(ensemble_cut="min",
                                                           aum_percentile=50))
  assert notes["ensemble_count"] == flags["aum"].sum() < min(notes["ensemble_count_cl"],
                                                             flags["aum_bbe"].sum())
  assert flags["ensemble"].sum() == notes["ensemble_count"]
  summary["detectors"]["notes"] = notes
  assert any(f"confident learning's count ({notes['ensemble_count_cl']}), AUM's" in l
             for l in aum_markdown.detector_lines(summary))


def test_best_bin_estimate_recovers_the_mixture_share():
  rng = np.random.default_rng(0)
  for share in (0.1, 0.3):
    n = 20000
    pos = rng.normal(3.0, 1.0, 3000)
    unl = np.r_[rng.normal(3.0, 1.0, int(share * n)), rng.normal(-3.0, 1.0, int((1 - share) * n))]
    assert detectors.bbe_share(pos, unl) == pytest.approx(share, abs=0.03)


def _clusters(num_classes, per_class, dim=16, seed=0, spread=0.15):
  rng = np.random.default_rng(seed)
  centres = rng.normal(size=(num_classes, dim))
  centres /= np.linalg.norm(centres, axis=1, keepdims=True)
  labels = np.repeat(np.arange(num_classes), per_class)
  emb = centres[labels] + spread * rng.normal(size=(len(labels), dim)) / np.sqrt(dim)
  return emb / np.linalg.norm(emb, axis=1, keepdims=True), labels


def test_class_conditional_flips_move_each_class_to_one_other():
  labels = np.repeat(np.arange(4), [50, 30, 20, 100])
  noisy, flipped = noise.class_conditional_flips(labels, 4, 0.2, seed=3)
  target = {}
  for c, n in zip(range(4), (50, 30, 20, 100)):
    assert flipped[labels == c].sum() == round(0.2 * n)
    moved = set(noisy[flipped & (labels == c)])
    assert len(moved) == 1 and c not in moved
    target[c] = moved.pop()
  assert (noisy[~flipped] == labels[~flipped]).all()
  binary, f2 = noise.class_conditional_flips(labels % 2, 2, 0.3, seed=1)
  assert (binary[f2] == 1 - (labels % 2)[f2]).all()
  with pytest.raises(ValueError, match="noise kind"):
    noise.inject("pairs", labels, 4, 0.2, 0)


def test_hoc_recovers_a_known_transition_matrix():
  emb, clean = _clusters(3, 400, seed=1)
  noisy, flipped = noise.class_conditional_flips(clean, 3, 0.3, seed=2)
  t, p = neighbour_votes.hoc_transition(emb, noisy, 3, seed=0)
  want = np.zeros((3, 3))
  for i, j in itertools.product(range(3), range(3)):
    want[i, j] = np.mean(noisy[clean == i] == j)
  np.testing.assert_allclose(t, want, atol=0.06)
  np.testing.assert_allclose(p, [1 / 3] * 3, atol=0.05)
  wrong = neighbour_votes.hoc_wrong_per_class(t, p, noisy, 3)
  assert wrong.sum() == pytest.approx(flipped.sum(), rel=0.15)


def _detect_config(**kw):
  c = ml_collections.ConfigDict(aum_config.get_config().detect.to_dict())
  c.update(kw)
  return c


def _synthetic_evidence(seed=0, n_per_class=150, with_probs=True):
  """Clustered embeddings, uniform noise, and AUM-like dynamics where noisy
  and threshold-sample labels get low margins."""
  rng = np.random.default_rng(seed)
  emb, clean = _clusters(3, n_per_class, seed=seed)
  given, noisy = noise.uniform_flips(clean, 3, 0.25, seed)
  n = len(given)
  thr_1 = aum_lib.assign_threshold_samples(given, 3, rng, "equal")
  thr_2 = aum_lib.assign_threshold_samples(given, 3, rng, "equal", exclude=thr_1)
  runs = []
  for thr in (thr_1, thr_2):
    wrong = noisy.copy()
    wrong[thr] = True
    m = np.where(wrong, -1.0, 1.0)[None] + rng.normal(0, 1.0, (3, n))
    p = 1 / (1 + np.exp(-m))
    runs.append(dict(aum=m.mean(0), margin_EN=m, prob_EN=p, correct_EN=(m > 0) * 1.0,
                     threshold_idx=thr, features=emb + rng.normal(0, 0.05, emb.shape)))
  probs = None
  if with_probs:
    probs = np.full((n, 3), 0.1)
    probs[np.arange(n), clean] = 0.8
    probs = 0.7 * probs + 0.3 * rng.dirichlet(np.ones(3), n)
  fold_of = np.arange(n) % 2
  fold_features = [emb + rng.normal(0, 0.05, emb.shape) for _ in range(2)]
  return detectors.Evidence(runs=runs, given=given, num_classes=3, emb=emb,
                            oof_probs=probs, fold_of=fold_of,
                            fold_features=fold_features), noisy


def test_score_all_gives_every_detector_and_useful_cuts():
  ev, noisy = _synthetic_evidence()
  scores, flags, notes = detectors.score_all(ev, _detect_config())
  assert set(scores) == set(detectors.DETECTORS) - {"aum_eval"}
  assert set(flags) == set(detectors.CUTS)
  table = detectors.evaluate(scores, flags, noisy)
  for name in ("aum", "knn", "simifeat", "ensemble", "cleanlab", "probe", "knn_tuned",
               "knn_oof"):
    assert table[name]["auroc"] > 0.8, (name, table[name])
  # The trivial ranking: rarer given labels first.
  freq = np.bincount(ev.given, minlength=3) / len(ev.given)
  np.testing.assert_allclose(scores["prior"], 1 - freq[ev.given])
  # The ensemble is the mean rank of its parts, and here at least as good as
  # its best part.
  assert notes["ensemble_parts"] == ["aum", "cleanlab", "probe"]
  want = np.mean([detectors.ranks(scores[k]) for k in ("aum", "cleanlab", "probe")], 0)
  np.testing.assert_allclose(scores["ensemble"], want)
  assert table["ensemble"]["auroc"] >= max(table[k]["auroc"]
                                           for k in ("aum", "cleanlab", "probe")) - 0.005
  # The automatic cuts find about the injected number without being told it.
  assert notes["ensemble_count"] == pytest.approx(noisy.sum(), rel=0.25)
  assert notes["hoc_noise_share"] == pytest.approx(noisy.mean(), abs=0.08)
  assert table["ensemble"]["flagged"] == notes["ensemble_count"]
  assert table["ensemble"]["auto_f1"] >= 0.85 * table["ensemble"]["best_f1"]
  # Without folds: the ensemble of what there is, cut by the probe's count.
  ev.oof_probs = ev.fold_of = ev.fold_features = None
  scores, flags, notes = detectors.score_all(ev, _detect_config())
  assert "cleanlab" not in scores and notes["ensemble_parts"] == ["aum", "probe"]
  assert notes["ensemble_count"] == notes["probe_count"] == flags["probe"].sum()


def test_cleanlab_detector_is_cleanlabs_own_output():
  cleanlab = pytest.importorskip("cleanlab")
  ev, _ = _synthetic_evidence()
  scores, flags, _ = detectors.score_all(ev, _detect_config())
  p = ev.oof_probs / ev.oof_probs.sum(1, keepdims=True)
  np.testing.assert_allclose(scores["cleanlab"],
                             1 - cleanlab.rank.get_label_quality_scores(ev.given, p))
  np.testing.assert_array_equal(flags["cleanlab"],
                                cleanlab.filter.find_label_issues(ev.given, p, n_jobs=1))


@pytest.mark.parametrize("num_classes", [2, 5])
def test_label_issue_count_is_cleanlabs(num_classes):
  cleanlab = pytest.importorskip("cleanlab")
  rng = np.random.default_rng(num_classes)
  for trial in range(5):
    n = 400
    labels = rng.integers(0, num_classes, n)
    logits = rng.normal(0, 1.0 + trial, (n, num_classes))
    logits[np.arange(n), labels] += rng.normal(1.0, 1.0, n)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    want = cleanlab.count.num_label_issues(labels, probs)
    assert detectors.label_issue_count(labels, probs) == want


def test_label_issue_count_by_hand():
  # Class thresholds (mean self-confidence): class 0 (rows 0, 1) 0.65, class 1
  # (rows 2, 3) 0.6. Row 1 (given 0) is confident of class 1 (0.6 >= 0.6) and
  # predicts it: an issue. Row 3 (given 1) is confident of class 0 (0.6 < 0.65:
  # no) and of class 1 (0.4 < 0.6: no): not counted. Rows 0, 2: their own.
  labels = np.array([0, 0, 1, 1])
  probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.6, 0.4]])
  assert detectors.label_issue_count(labels, probs) == 1


def test_tuned_knn_in_sample_counts_other_labels_among_the_runs_neighbours():
  # Six examples on a line (features 1-D plus a constant offset that the
  # centring removes); k=2: each example's two nearest by cosine are on its
  # side of the origin.
  x = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
  feats = np.stack([x, np.full(6, 5.0)], 1)
  given = np.array([0, 0, 1, 1, 1, 1])
  runs = [dict(features=feats, threshold_idx=np.array([0])),
          dict(features=feats, threshold_idx=np.array([5]))]
  real = neighbour_votes.tuned_knn_in_sample(runs, given, 2, k=2)
  # Centred, normalised: the three negatives coincide, as do the positives.
  # Run 1 labels (fake class 2 for row 0): [2, 0, 1, 1, 1, 1]; run 2: [0, 0, 1, 1, 1, 2].
  # Row 2 (label 1) has rows 0 and 1 as neighbours: both other -> 1.0 in both runs.
  assert real[2] == pytest.approx(1.0)
  # Row 1 (label 0): run 1 neighbours {0 (fake), 2 (1)} -> 1.0; run 2 {0 (0), 2 (1)} -> 0.5.
  assert real[1] == pytest.approx(0.75)
  # Row 0 was run 1's threshold sample: judged in run 2 only ({1, 2}: 0.5).
  assert real[0] == pytest.approx(0.5)
  # Row 5 was run 2's threshold sample: run 1 only (rows 3, 4 carry 1): 0.
  assert real[5] == pytest.approx(0.0)


def test_tuned_knn_out_of_fold_searches_only_the_folds_training_rows():
  emb, clean = _clusters(2, 60, seed=3)
  given = clean.copy()
  given[:5] = 1  # Five wrong labels in class 0.
  fold_of = np.arange(len(given)) % 2
  # Fold 1's model maps everything to noise except class structure; fold 0's
  # is the true embedding. Each held-out row is scored in its own fold's
  # space against the other fold's rows.
  feats = [emb, emb]
  s = neighbour_votes.tuned_knn_out_of_fold(feats, fold_of, given, k=5)
  assert (s[:5] >= 0.8).all()  # Wrong labels: neighbours from class 0.
  assert s[5:].mean() < 0.15
  # Held-out rows are compared with the other fold's rows only: relabelling
  # every fold-1 row (two classes) turns each fold-1 row's share into 1 - share
  # (its own label changed, its neighbours' did not) and each fold-0 row's too
  # (its neighbours' labels changed, its own did not).
  given2 = given.copy()
  given2[fold_of == 1] = 1 - given2[fold_of == 1]
  s2 = neighbour_votes.tuned_knn_out_of_fold(feats, fold_of, given2, k=5)
  np.testing.assert_allclose(s2, 1 - s)


def test_why_names_the_parts_their_shares_and_the_runner_up():
  from noisy_meta.reports import why  # pylint: disable=g-import-not-at-top
  parts, _ = _independent_detectors((0.95, 0.85, 0.7), n=4000, seed=3)
  scores = {"aum": parts["d0"], "cleanlab": parts["d1"], "probe": parts["d2"]}
  summary = {"detectors": {"chosen": "ensemble", "notes": {
      "ensemble_parts": ["aum", "cleanlab", "probe"], "ensemble_count": 900}}}
  got = why.explain(summary, scores, {"aum": 700, "probe": 1500, "ensemble": 900})
  # The part of the largest separation (AUM) with a cut of its own is the runner-up.
  assert got["shares"]["aum"] == 1.0 and got["shares"]["probe"] < got["shares"]["cleanlab"] < 1
  assert (got["runner_up"], got["runner_up_flagged"]) == ("aum", 700)
  assert got["text"].startswith("The ensemble averages the ranks of aum, cleanlab, probe; ")
  assert "the top 900, confident learning's count" in got["text"]
  assert got["text"].endswith("Runner-up: aum, whose own cut flags 700 (colour by its flag "
                              "to compare).")
  # Without the scores (report.md): the parts, no shares; another chosen detector.
  assert why.explain(summary, {}, {"aum": 700})["shares"] is None
  # An older summary.json without `chosen`: the caller's (config's clean.detector).
  del summary["detectors"]["chosen"]
  assert why.explain(summary, scores, {}, "probe")["text"] == "The job flags by probe's own cut."
  summary["detectors"]["chosen"] = "cleanlab"
  got = why.explain(summary, scores, {"aum": 700, "ensemble": 900})
  assert got["text"] == ("The job flags by cleanlab's own cut. Runner-up: ensemble, whose own "
                         "cut flags 900 (colour by its flag to compare).")
