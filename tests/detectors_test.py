"""Noisy-label detectors: hand computations, synthetic truths and cleanlab."""
import itertools

import ml_collections
import numpy as np
import pytest

from configs import aum as aum_config
from noisy_meta import aum_lib
from noisy_meta import detectors
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
  t, p = detectors.hoc_transition(emb, noisy, 3, seed=0)
  want = np.zeros((3, 3))
  for i, j in itertools.product(range(3), range(3)):
    want[i, j] = np.mean(noisy[clean == i] == j)
  np.testing.assert_allclose(t, want, atol=0.06)
  np.testing.assert_allclose(p, [1 / 3] * 3, atol=0.05)
  wrong = detectors.hoc_wrong_per_class(t, p, noisy, 3)
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
                     threshold_idx=thr))
  probs = None
  if with_probs:
    probs = np.full((n, 3), 0.1)
    probs[np.arange(n), clean] = 0.8
    probs = 0.7 * probs + 0.3 * rng.dirichlet(np.ones(3), n)
  return detectors.Evidence(runs=runs, given=given, num_classes=3, emb=emb,
                            oof_probs=probs), noisy


def test_score_all_gives_every_detector_and_useful_cuts():
  ev, noisy = _synthetic_evidence()
  scores, flags, notes = detectors.score_all(ev, _detect_config())
  assert set(scores) == set(detectors.DETECTORS) - {"aum_eval"}
  assert set(flags) == set(detectors.CUTS) | {"cleanlab"}
  table = detectors.evaluate(scores, flags, noisy)
  for name in ("aum", "knn", "simifeat", "combined", "cleanlab"):
    assert table[name]["auroc"] > 0.8, (name, table[name])
  # Clustered embeddings and a noisy dynamics signal: kNN carries weight, and
  # the combination is at least as good as its better part.
  assert notes["combined_weights"]["knn"] > 0.3
  assert table["combined"]["auroc"] >= max(table["aum"]["auroc"], table["knn"]["auroc"]) - 0.01
  # The automatic cuts find about the injected share without being told it.
  assert notes["combined_bbe_share"] == pytest.approx(noisy.mean(), abs=0.08)
  assert notes["hoc_noise_share"] == pytest.approx(noisy.mean(), abs=0.08)
  assert table["combined"]["auto_f1"] >= 0.85 * table["combined"]["best_f1"]


def test_cleanlab_detector_is_cleanlabs_own_output():
  cleanlab = pytest.importorskip("cleanlab")
  ev, _ = _synthetic_evidence()
  scores, flags, _ = detectors.score_all(ev, _detect_config())
  p = ev.oof_probs / ev.oof_probs.sum(1, keepdims=True)
  np.testing.assert_allclose(scores["cleanlab"],
                             1 - cleanlab.rank.get_label_quality_scores(ev.given, p))
  np.testing.assert_array_equal(flags["cleanlab"],
                                cleanlab.filter.find_label_issues(ev.given, p, n_jobs=1))


def test_a_blind_component_gets_no_weight():
  rng = np.random.default_rng(0)
  good_real = np.r_[rng.normal(0, 1, 900), rng.normal(3, 1, 100)]
  good_fake = rng.normal(3, 1, 200)
  blind_real, blind_fake = rng.normal(0, 1, 1000), rng.normal(0, 1, 200)
  real, _, w = detectors.combine({"good": (good_real, good_fake),
                                  "blind": (blind_real, blind_fake)})
  assert w["good"] > 0.9 and w["blind"] < 0.1
  truth = np.r_[np.zeros(900, bool), np.ones(100, bool)]
  assert aum_lib.auroc(real, truth) > 0.95
