"""Neighbour evidence for the noisy-label detectors (noisy_meta/detectors.py):
cosine k nearest neighbours, their label votes (kNN, Bahri et al. 2020;
SimiFeat's soft votes over random feature subspaces, Zhu et al. 2022; deep
kNN in fine-tuned feature spaces) and HOC's estimate of the noise
transition matrix from neighbour consensus (Zhu et al. 2021)."""
import numpy as np


def neighbours(emb, k, block=1024, base=None):
  """Indices [N, k] and cosine similarities [N, k] of each row's k nearest
  other rows (`emb` L2-normalised), or, given `base` [M, D], its k nearest
  rows of `base`."""
  same = base is None
  base = emb if same else base
  k = min(k, len(base) - same)
  idx = np.zeros((len(emb), k), np.int64)
  sim = np.zeros((len(emb), k), np.float32)
  for s in range(0, len(emb), block):
    m = emb[s:s + block] @ base.T
    if same:
      m[np.arange(len(m)), np.arange(s, s + len(m))] = -np.inf  # Not itself.
    part = np.argpartition(-m, k - 1, axis=1)[:, :k]
    idx[s:s + block] = part
    sim[s:s + block] = np.take_along_axis(m, part, 1)
  return idx, sim


def normalise(x):
  """Rows scaled to unit L2 norm (centred first: features of a fine-tuned
  head share a large common component)."""
  x = np.asarray(x, np.float32)
  x = x - x.mean(0, keepdims=True)
  return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def tuned_knn_in_sample(runs, given, num_classes, k):
  """Deep kNN (Bahri et al. 2020) in each AUM run's fine-tuned feature space:
  the share of an example's k nearest examples with another label (the
  run's labels: threshold samples carry the fake class), averaged over the
  runs where it carried its given label [N]."""
  n = len(given)
  s, w = np.zeros(n), np.zeros(n)
  for r in runs:
    labels = np.asarray(given).copy()
    labels[np.asarray(r["threshold_idx"])] = num_classes
    idx, _ = neighbours(normalise(r["features"]), k)
    real = labels < num_classes
    s += np.where(real, (labels[idx] != labels[:, None]).mean(1), 0.0)
    w += real
  return s / np.maximum(w, 1)


def tuned_knn_out_of_fold(fold_features, fold_of, given, k):
  """Deep kNN out of fold: each example's k nearest among the examples its
  fold's model trained on, in that model's feature space; the share with
  another label [N]."""
  n = len(given)
  out = np.zeros(n)
  for f, feats in enumerate(fold_features):
    feats = normalise(feats)
    held, base = np.flatnonzero(fold_of == f), np.flatnonzero(fold_of != f)
    idx, _ = neighbours(feats[held], k, base=feats[base])
    out[held] = (given[base][idx] != given[held][:, None]).mean(1)
  return out


def vote_counts(nn_idx, labels, num_classes, weights=None):
  """[N, C] (weighted) share of each example's neighbours in each class."""
  w = np.ones(nn_idx.shape, np.float64) if weights is None else weights
  out = np.zeros((len(nn_idx), num_classes))
  lab = labels[nn_idx]
  for c in range(num_classes):
    out[:, c] = (w * (lab == c)).sum(1)
  return out / np.maximum(out.sum(1, keepdims=True), 1e-12)


def simifeat_votes(emb, labels, num_classes, k, rounds, seed, keep=0.5):
  """SimiFeat's soft votes [N, C] (Zhu et al. 2022): in each round a random
  half of the feature dimensions (our text analogue of their image
  augmentations) gives k nearest neighbours, whose labels vote weighted by
  their similarity; the votes are averaged over rounds."""
  rng = np.random.default_rng(seed)
  d = emb.shape[1]
  total = np.zeros((len(emb), num_classes))
  for _ in range(rounds):
    dims = rng.choice(d, max(1, int(keep * d)), replace=False)
    sub = emb[:, dims]
    sub = sub / np.maximum(np.linalg.norm(sub, axis=1, keepdims=True), 1e-12)
    idx, sim = neighbours(sub, k)
    total += vote_counts(idx, labels, num_classes, np.maximum(sim, 0.0))
  return total / rounds


def hoc_transition(emb, labels, num_classes, seed=0, steps=1500):
  """The noise transition matrix T [C, C] (T[i, j] = P(given j | true i)) and
  the true-class prior p [C], by HOC (Zhu et al. 2021): an example and its two
  nearest neighbours are taken to share a true class, so the frequencies of
  their noisy-label triples are sum_k p_k T_ki T_kj T_kl; fit by gradient
  descent on the first-, second- and third-order consensus, from near the
  identity."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  import optax  # pylint: disable=g-import-not-at-top
  c = num_classes
  idx, _ = neighbours(emb, 2)
  y = np.stack([labels, labels[idx[:, 0]], labels[idx[:, 1]]], 1)
  rng = np.random.default_rng(seed)
  y = y[:, rng.permutation(3)]  # The three roles are exchangeable.
  e1 = np.bincount(y[:, 0], minlength=c) / len(y)
  e2 = np.zeros((c, c))
  np.add.at(e2, (y[:, 0], y[:, 1]), 1.0)
  e3 = np.zeros((c, c, c))
  np.add.at(e3, (y[:, 0], y[:, 1], y[:, 2]), 1.0)
  e2, e3 = e2 / len(y), e3 / len(y)

  def unpack(theta):
    return jax.nn.softmax(theta["t"], axis=1), jax.nn.softmax(theta["p"])

  def loss(theta):
    t, p = unpack(theta)
    c1 = p @ t
    c2 = jnp.einsum("k,ki,kj->ij", p, t, t)
    c3 = jnp.einsum("k,ki,kj,kl->ijl", p, t, t, t)
    return (jnp.sum((c1 - e1) ** 2) + jnp.sum((c2 - e2) ** 2) + jnp.sum((c3 - e3) ** 2))

  theta = {"t": jnp.asarray(np.log(np.eye(c) * 0.9 + 0.1 / c)),
           "p": jnp.asarray(np.log(np.maximum(e1, 1e-6)))}
  opt = optax.adam(0.05)
  state = opt.init(theta)

  @jax.jit
  def step(theta, state):
    g = jax.grad(loss)(theta)
    upd, state = opt.update(g, state)
    return optax.apply_updates(theta, upd), state

  for _ in range(steps):
    theta, state = step(theta, state)
  t, p = unpack(theta)
  return np.asarray(t, np.float64), np.asarray(p, np.float64)


def hoc_wrong_per_class(t, p, labels, num_classes):
  """Expected number of wrong labels among the examples given each class:
  N_c (1 - P(true c | given c)), P(true c | given c) = p_c T_cc / P(given c)."""
  given = np.bincount(labels, minlength=num_classes).astype(np.float64)
  prior_given = p @ t
  clean_share = np.clip(p * np.diag(t) / np.maximum(prior_given, 1e-12), 0.0, 1.0)
  return given * (1.0 - clean_share)
