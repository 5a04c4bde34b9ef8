"""Linear probes: scikit-learn's logistic regression as the reference, and
the out-of-fold property the probe detector relies on."""
import numpy as np
import pytest

from noisy_meta import linear_probe


def _data(n=300, d=16, c=3, seed=0):
  rng = np.random.default_rng(seed)
  centres = rng.normal(size=(c, d))
  y = rng.integers(0, c, n)
  x = centres[y] + 2.0 * rng.normal(size=(n, d))
  x /= np.linalg.norm(x, axis=1, keepdims=True)
  return (x - x.mean(0)).astype(np.float32), y.astype(np.int32)


@pytest.mark.parametrize("strength", [1.0, 10.0])
def test_fit_is_scikit_learns_multinomial_logistic_regression(strength):
  sklearn = pytest.importorskip("sklearn.linear_model")
  x, y = _data()
  n = len(y)
  ref = sklearn.LogisticRegression(C=1.0 / strength, max_iter=10000, tol=1e-10).fit(x, y)
  params = linear_probe.fit(x, y, np.ones(n, np.float32), strength / n, 3)
  np.testing.assert_allclose(linear_probe.predict(params, x), ref.predict_proba(x), atol=1e-3)
  # Weights: rows outside the training set do not count.
  w = (np.arange(n) < 200).astype(np.float32)
  ref = sklearn.LogisticRegression(C=1.0 / strength, max_iter=10000, tol=1e-10).fit(
      x[:200], y[:200])
  params = linear_probe.fit(x, y, w, strength / 200, 3)
  np.testing.assert_allclose(linear_probe.predict(params, x), ref.predict_proba(x), atol=1e-3)


def test_stratified_folds_deal_every_class_evenly():
  y = np.repeat([0, 1, 2], [50, 31, 7])
  fold_of = linear_probe.stratified_folds(y, 5, seed=0)
  for c in range(3):
    counts = np.bincount(fold_of[y == c], minlength=5)
    assert counts.max() - counts.min() <= 1
  assert np.bincount(fold_of).max() - np.bincount(fold_of).min() <= 1


def test_out_of_fold_rows_do_not_see_their_own_label():
  x, y = _data()
  probs, info = linear_probe.out_of_fold_probs(x, y, 3, folds=5, strengths=(3.0,))
  assert info["strength"] == 3.0
  np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
  fold_of = linear_probe.stratified_folds(y, 5, 0)
  # Relabel the rows of fold 0 (same folds): their own probabilities do not
  # change; the other folds' do.
  y2 = y.copy()
  rows = np.flatnonzero(fold_of == 0)
  y2[rows] = (y[rows] + 1) % 3
  probs2, _ = linear_probe.out_of_fold_probs(x, y2, 3, strengths=(3.0,), fold_of=fold_of)
  np.testing.assert_allclose(probs2[rows], probs[rows], atol=1e-5)
  assert not np.allclose(probs2[fold_of != 0], probs[fold_of != 0], atol=1e-3)
  # Accurate on clean, separable data: out of fold, most rows get their label.
  assert (probs.argmax(1) == y).mean() > 0.8


def test_the_strength_with_the_best_out_of_fold_likelihood_is_chosen():
  x, y = _data(seed=1)
  strengths = (0.3, 3.0, 300.0)
  probs, info = linear_probe.out_of_fold_probs(x, y, 3, folds=4, strengths=strengths)
  losses = info["logloss"]
  assert info["strength"] == float(min(strengths, key=lambda s: losses[f"{s:g}"]))
  got = -np.log(probs[np.arange(len(y)), y]).mean()
  assert got == pytest.approx(min(losses.values()), rel=1e-4)
  assert losses["300"] > min(losses.values())  # Too strong: near the class prior.


def test_principal_components_keep_the_inner_products_of_a_low_rank_view():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(50, 4)) @ rng.normal(size=(4, 30)) + 3.0  # Rank 4 after centring.
  z = linear_probe.principal_components(x, 6)
  assert z.shape == (50, 6)
  xc = x - x.mean(0)
  np.testing.assert_allclose(z @ z.T, xc @ xc.T, atol=1e-6 * np.abs(xc @ xc.T).max())
  # The leading components come first: the first holds the most variance.
  assert z[:, 0].var() >= z[:, 1].var() >= z[:, 3].var()
  assert linear_probe.principal_components(x[:, :5], 6).shape == (50, 5)  # Narrow: as is.
