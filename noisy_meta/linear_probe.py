"""Out-of-fold linear probes: L2-regularised multinomial logistic regression on
fixed features (a frozen encoder's sentence embeddings), for every fold and
regularisation strength at once.

The `probe` detector (noisy_meta/detectors.py) reads the out-of-fold
probability of each example's given label: a model of another family than
the fine-tuned one (nothing of the encoder moves), nearly free to train,
strong where fine-tuning on few examples is weak. The strength is chosen
without clean labels: the one whose out-of-fold probabilities give the
given (noisy) labels the highest likelihood.

Objective of one fit (weights w_N in {0, 1} select the training rows):
  sum_i w_i CE(x_i W + b, y_i) / sum_i w_i + l2 / 2 * ||W||^2,
the bias unpenalised (scikit-learn's multinomial LogisticRegression with
C = 1 / (l2 n)). Minimised by Nesterov's accelerated gradient from zero;
folds x strengths are one vmapped, jitted program.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

# Regularisation strengths tried, as l2 * n (scikit-learn's 1 / C).
STRENGTHS = (0.3, 1.0, 3.0, 10.0, 30.0)


def objective(params, x_NxD, y_N, w_N, l2):
  """Weighted mean cross-entropy plus l2 / 2 ||W||^2."""
  logits = x_NxD @ params["w"] + params["b"]
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, y_N)
  return (w_N * ce).sum() / jnp.maximum(w_N.sum(), 1.0) + 0.5 * l2 * jnp.sum(params["w"] ** 2)


def lipschitz(x_NxD, w_N, l2):
  """A bound on the curvature of `objective`: the softmax cross-entropy's
  Hessian in the logits is at most 1/2 (times the identity), so with the
  bias as a column of ones, L = 1/2 lambda_max(X'^T diag(w) X' / sum w) + l2."""
  xb = jnp.concatenate([x_NxD, jnp.ones((x_NxD.shape[0], 1), x_NxD.dtype)], 1)
  gram = (xb * w_N[:, None]).T @ xb / jnp.maximum(w_N.sum(), 1.0)
  return 0.5 * jnp.linalg.eigvalsh(gram)[-1] + l2


def fit(x_NxD, y_N, w_N, l2, num_classes, iters=500):
  """Parameters {w [D, C], b [C]} minimising `objective`: Nesterov's
  accelerated gradient for a strongly convex function (step 1/L, momentum
  (sqrt(L) - sqrt(l2)) / (sqrt(L) + sqrt(l2))), `iters` steps from zero;
  pure and fixed-length, so folds and strengths vmap."""
  params = {"w": jnp.zeros((x_NxD.shape[1], num_classes), x_NxD.dtype),
            "b": jnp.zeros(num_classes, x_NxD.dtype)}
  grad = jax.grad(lambda p: objective(p, x_NxD, y_N, w_N, l2))
  lip = lipschitz(x_NxD, w_N, l2)
  momentum = (jnp.sqrt(lip) - jnp.sqrt(l2)) / (jnp.sqrt(lip) + jnp.sqrt(l2))

  def step(_, carry):
    p, prev = carry
    look = jax.tree_util.tree_map(lambda a, b: a + momentum * (a - b), p, prev)
    new = jax.tree_util.tree_map(lambda a, g: a - g / lip, look, grad(look))
    return new, p

  return jax.lax.fori_loop(0, iters, step, (params, params))[0]


def predict(params, x_NxD):
  return jax.nn.softmax(x_NxD @ params["w"] + params["b"], axis=-1)


def principal_components(x_NxD, dims, block=4096):
  """`x` centred and projected on its `dims` leading principal components
  [N, min(dims, D)] (a wide view, such as every layer's embedding side by
  side, made as cheap to probe as one layer). Blockwise: memory is the
  D x D covariance, not a float64 copy of `x`."""
  n, d = x_NxD.shape
  mean = np.asarray(x_NxD, np.float64).mean(0) if n <= block else sum(
      np.asarray(x_NxD[s:s + block], np.float64).sum(0) for s in range(0, n, block)) / n
  if d <= dims:
    return (np.asarray(x_NxD, np.float64) - mean).astype(np.float32)
  cov = np.zeros((d, d))
  for s in range(0, n, block):
    xb = np.asarray(x_NxD[s:s + block], np.float64) - mean
    cov += xb.T @ xb
  _, vecs = np.linalg.eigh(cov)  # Ascending eigenvalues.
  top = vecs[:, ::-1][:, :dims]
  out = np.zeros((n, dims), np.float32)
  for s in range(0, n, block):
    out[s:s + block] = (np.asarray(x_NxD[s:s + block], np.float64) - mean) @ top
  return out


def stratified_folds(labels, folds, seed):
  """Fold [N] of each example: every class dealt round-robin over the folds
  in a seeded random order."""
  labels = np.asarray(labels)
  rng = np.random.default_rng(seed)
  fold_of = np.zeros(len(labels), np.int64)
  start = 0
  for c in np.unique(labels):
    members = rng.permutation(np.flatnonzero(labels == c))
    fold_of[members] = (start + np.arange(len(members))) % folds
    start += len(members)  # The next class starts where this one ended.
  return fold_of


@functools.partial(jax.jit, static_argnames=("num_classes",))
def _all_fits(x_NxD, y_N, train_KxN, l2_S, num_classes):
  """Probabilities [S, K, N, C] of every (strength, fold) fit on all rows."""
  one = lambda w, l2: predict(fit(x_NxD, y_N, w, l2, num_classes), x_NxD)
  per_fold = jax.vmap(one, in_axes=(0, None))
  return jax.vmap(per_fold, in_axes=(None, 0))(train_KxN, l2_S)


def out_of_fold_probs(x_NxD, labels, num_classes, folds=10, seed=0, strengths=STRENGTHS,
                      fold_of=None):
  """Out-of-fold probabilities [N, C] of the strength whose out-of-fold
  probabilities give the given labels the highest mean log-likelihood, and
  a dict: chosen strength (l2 * n), the mean log-loss of each. Folds are
  `stratified_folds(labels, folds, seed)` unless `fold_of` [N] is given."""
  x = np.asarray(x_NxD, np.float32)
  x = x - x.mean(0, keepdims=True)
  y = np.asarray(labels, np.int32)
  n = len(y)
  if fold_of is None:
    fold_of = stratified_folds(y, max(2, min(folds, n)), seed)
  folds = int(fold_of.max()) + 1
  train = np.stack([fold_of != k for k in range(folds)]).astype(np.float32)
  l2 = np.asarray(strengths, np.float32) / np.maximum(train.sum(1).mean(), 1.0)
  probs = np.asarray(_all_fits(jnp.asarray(x), jnp.asarray(y), jnp.asarray(train),
                               jnp.asarray(l2), num_classes))
  oof = probs[:, fold_of, np.arange(n)]  # [S, N, C]: each row from the fit without it.
  logloss = -np.log(np.clip(oof[:, np.arange(n), y], 1e-12, 1.0)).mean(1)
  best = int(np.argmin(logloss))
  return oof[best], {"strength": float(strengths[best]),
                     "logloss": {f"{s:g}": float(v) for s, v in zip(strengths, logloss)}}
