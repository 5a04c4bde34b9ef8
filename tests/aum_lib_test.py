"""AUM, data maps, threshold samples and detection scores: hand computations
and the reference `aum` package (Pleiss et al.'s AUMCalculator)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from noisy_meta import aum_lib


def test_margin_hand_computed():
  # Assigned 2.0, largest other 1.5 -> 0.5; assigned 0.1, largest other 3 -> -2.9.
  logits = jnp.array([[1.5, -1.0, 2.0], [3.0, 0.1, 0.0]])
  m = jax.vmap(aum_lib.margin)(logits, jnp.array([2, 1]))
  np.testing.assert_allclose(m, [0.5, -2.9], atol=1e-6)


def _feed(epochs_logits, labels, ids_per_epoch, batch=3):
  n = len(labels)
  dyn = aum_lib.Dynamics.zeros(n, len(epochs_logits), epochs_logits[0].shape[1])
  update = jax.jit(lambda d, l, y, i, m, e: d.update(l, y, i, m, e))
  for e, (logits, ids) in enumerate(zip(epochs_logits, ids_per_epoch)):
    for s in range(0, n, batch):
      idx = ids[s:s + batch]
      k = len(idx)
      pad = batch - k  # Pad the last batch, as the pipeline does.
      lg = np.concatenate([logits[idx], np.zeros((pad, logits.shape[1]))]).astype(np.float32)
      y = np.concatenate([labels[idx], np.zeros(pad, int)])
      i = np.concatenate([idx, -np.ones(pad, int)])
      m = np.arange(batch) < k
      dyn = update(dyn, lg, y, i, m, e)
  return dyn


def test_aum_and_data_map_hand_computed():
  labels = np.array([0, 1])
  # Epoch 1: ex0 margin 1 (p0 = sigmoid(1)); ex1 margin -2. Epoch 2: 3 and 0.
  e1 = np.array([[1.0, 0.0], [2.0, 0.0]])
  e2 = np.array([[3.0, 0.0], [0.0, 0.0]])
  dyn = _feed([e1, e2], labels, [np.array([0, 1]), np.array([1, 0])], batch=3)
  np.testing.assert_allclose(aum_lib.aum(dyn), [2.0, -1.0], atol=1e-6)
  sig = lambda x: 1 / (1 + np.exp(-x))
  dm = aum_lib.data_map(dyn)
  np.testing.assert_allclose(dm["confidence"], [(sig(1) + sig(3)) / 2, (sig(-2) + 0.5) / 2],
                             atol=1e-6)
  np.testing.assert_allclose(dm["variability"], [abs(sig(1) - sig(3)) / 2,
                                                 abs(sig(-2) - 0.5) / 2], atol=1e-6)
  # ex1 in epoch 2: tie 0/0, argmax picks class 0 -> wrong.
  np.testing.assert_allclose(dm["correctness"], [1.0, 0.0])
  assert list(np.asarray(dyn.count)) == [2, 2]
  assert np.asarray(dyn.other_EN).tolist() == [[1, 0], [1, 0]]


def test_other_class_skips_the_fake_class():
  # Three real classes + fake class 3, which has the largest other logit.
  logits = jnp.array([[0.0, 2.0, 1.0, 5.0]])
  _, _, _, other = aum_lib.batch_dynamics(logits, jnp.array([0]), 3)
  assert int(other[0]) == 1


def test_aum_equals_reference_aum_package(tmp_path):
  torch = pytest.importorskip("torch")
  aum_pkg = pytest.importorskip("aum")
  rng = np.random.default_rng(0)
  n, c, epochs = 50, 4, 5
  labels = rng.integers(0, c, n)
  logits = [rng.normal(size=(n, c)).astype(np.float32) * 3 for _ in range(epochs)]
  orders = [rng.permutation(n) for _ in range(epochs)]
  dyn = _feed(logits, labels, orders, batch=8)
  calc = aum_pkg.AUMCalculator(str(tmp_path), compressed=True)
  for lg, order in zip(logits, orders):
    for s in range(0, n, 8):
      idx = order[s:s + 8]
      calc.update(torch.tensor(lg[idx]), torch.tensor(labels[idx]), idx.tolist())
  ref = np.array([calc.sums[i] / calc.counts[i] for i in range(n)])
  np.testing.assert_allclose(aum_lib.aum(dyn), ref, atol=1e-5)


def test_threshold_samples_equal_and_disjoint():
  labels = np.array([0] * 60 + [1] * 30)
  rng = np.random.default_rng(0)
  first = aum_lib.assign_threshold_samples(labels, 2, rng)  # 90 // 3 = 30, 15 per class.
  assert len(first) == 30 and (labels[first] == 0).sum() == 15
  second = aum_lib.assign_threshold_samples(labels, 2, rng, exclude=first)
  assert len(second) == 30 and not set(first) & set(second)
  rnd = aum_lib.assign_threshold_samples(labels, 2, rng, mode="random")
  assert len(rnd) == 30
  # N//c: 90 // 2 = 45, 22 per class; class 1 (30 examples) gives at most 15.
  by_c = aum_lib.assign_threshold_samples(labels, 2, rng, divisor="c")
  assert (labels[by_c] == 0).sum() == 22 and (labels[by_c] == 1).sum() == 15


def test_equal_threshold_samples_cap_a_small_class_at_half():
  # CoLA-like imbalance: 90 // 3 // 2 = 15 per class asked; class 1 has 20,
  # so each run gets 10 of it and the two sets are still disjoint.
  labels = np.array([0] * 70 + [1] * 20)
  rng = np.random.default_rng(0)
  first = aum_lib.assign_threshold_samples(labels, 2, rng)
  second = aum_lib.assign_threshold_samples(labels, 2, rng, exclude=first)
  for chosen in (first, second):
    assert (labels[chosen] == 0).sum() == 15 and (labels[chosen] == 1).sum() == 10
  assert not set(first) & set(second)


def test_threshold_flags_and_two_run_combination_hand_computed():
  # Six examples; run 1 threshold samples {4, 5}, run 2 threshold samples {0, 1}.
  aum_1 = np.array([0.5, -1.0, 2.0, -0.2, -0.4, 0.0])
  aum_2 = np.array([-0.3, -0.1, 1.0, 1.0, 0.2, -5.0])
  thr_1, thr_2 = np.array([4, 5]), np.array([0, 1])
  # Percentile 50 of {-0.4, 0.0} = -0.2; of {-0.3, -0.1} = -0.2.
  assert aum_lib.threshold(aum_1, thr_1, 50) == pytest.approx(-0.2)
  flags1 = aum_lib.flag(aum_1, thr_1, 50)
  assert list(flags1) == [False, True, False, False, False, False]
  flags, used, run, (t1, t2) = aum_lib.combine_runs(aum_1, thr_1, aum_2, thr_2, 50)
  assert (t1, t2) == (pytest.approx(-0.2), pytest.approx(-0.2))
  # Examples 4 and 5 are judged in run 2: 0.2 (kept) and -5.0 (flagged).
  assert list(run) == [1, 1, 1, 1, 2, 2]
  np.testing.assert_allclose(used, [0.5, -1.0, 2.0, -0.2, 0.2, -5.0])
  assert list(flags) == [False, True, False, False, False, True]
  with pytest.raises(ValueError, match="disjoint"):
    aum_lib.combine_runs(aum_1, thr_1, aum_2, thr_1, 50)


def test_detection_scores_hand_computed():
  noisy = np.array([1, 1, 0, 0, 0], bool)
  flags = np.array([1, 0, 1, 0, 0], bool)
  scores = np.array([0.9, 0.3, 0.8, 0.1, 0.3])
  r = aum_lib.detection_scores(flags, noisy, scores)
  assert r["precision"] == 0.5 and r["recall"] == 0.5 and r["f1"] == 0.5
  # Pairs (pos, neg): 0.9 beats all 3; 0.3 beats 0.1, ties 0.3, loses to 0.8 -> 1.5.
  assert r["auroc"] == pytest.approx(4.5 / 6)
  # Ranked: 0.9 (pos), 0.8 (neg), then 0.3 tie (pos, neg), 0.1.
  # AP = 0.5 * 1/1 + 0.5 * 2/4.
  assert r["auprc"] == pytest.approx(0.75)


def test_uniform_flips_rate_and_classes():
  from noisy_meta.data import noise  # pylint: disable=g-import-not-at-top
  labels = np.random.default_rng(0).integers(0, 3, 1000)
  noisy, mask = noise.uniform_flips(labels, 3, 0.2, seed=100)
  assert mask.sum() == 200 and (noisy[mask] != labels[mask]).all()
  assert (noisy[~mask] == labels[~mask]).all()
  again, mask2 = noise.uniform_flips(labels, 3, 0.2, seed=100)
  assert (again == noisy).all() and (mask2 == mask).all()
  binary, bmask = noise.uniform_flips(labels % 2, 2, 0.4, seed=1)
  assert (binary[bmask] == 1 - (labels % 2)[bmask]).all()


def test_capped_threshold_samples_keep_every_class_mostly_real():
  # Caps: counts // 5 = 200, 20, 2, 0; 222 asked: every class gives its cap.
  assert aum_lib.capped_quota([1000, 100, 10, 1], 222, 5).tolist() == [200, 20, 2, 0]
  # 50 asked: the two small classes give their caps (2, 0), the 48 left are
  # shared by the larger two, 24 each, but class 1 stops at 20: 28 for class 0.
  assert aum_lib.capped_quota([1000, 100, 10, 1], 50, 5).tolist() == [28, 20, 2, 0]
  assert aum_lib.capped_quota([30, 30, 30], 7, 4).tolist() == [3, 2, 2]
  labels = np.repeat(np.arange(4), [1000, 100, 10, 1])
  rng = np.random.default_rng(0)
  first = aum_lib.assign_threshold_samples(labels, 4, rng, "capped")
  second = aum_lib.assign_threshold_samples(labels, 4, rng, "capped", exclude=first)
  assert len(first) == len(second) == 1111 // 5 and not set(first) & set(second)
  for ids in (first, second):
    assert np.bincount(labels[ids], minlength=4).tolist() == [200, 20, 2, 0]
