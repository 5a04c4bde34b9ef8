"""Training objectives: per-example losses from a learner's training logits.

A learner's `forward(state, params, batch, rng)` gives its training-mode
logits [B, C] and its own per-example penalty [B] (C-GCN's pooling L2; None
for most). An objective turns logits and the batch into per-example losses
[B]; `loss` averages them over the real rows, each weighted by the batch's
optional `weight` [B] (repair by reweighting, noisy_meta/repair_lib.py).

Objectives read the batch's optional fields: `target` [B, C], a soft target
distribution that replaces the integer `label` (soft relabelling). A method
puts such per-row fields in the batches through `loop.fit(rows=...)`.
"""
import jax
import jax.numpy as jnp
import optax


def cross_entropy(logits_BxC, batch):
  """−log p(label), or the cross-entropy with `batch["target"]` when given."""
  logits_BxC = logits_BxC.astype(jnp.float32)
  if "target" in batch:
    return optax.softmax_cross_entropy(logits_BxC, batch["target"])
  return optax.softmax_cross_entropy_with_integer_labels(logits_BxC, batch["label"])


def generalized_cross_entropy(q):
  """Generalized cross-entropy (Zhang & Sabuncu 2018): (1 − p_y^q) / q.

  q -> 0 is cross-entropy, q = 1 the mean absolute error (robust to uniform
  noise but slow to fit); 0.7 is the paper's choice. With a soft `target`,
  the expectation over it."""
  if not 0.0 < q <= 1.0:
    raise ValueError(f"GCE's q must be in (0, 1], got {q}.")

  def objective(logits_BxC, batch):
    logp = jax.nn.log_softmax(logits_BxC.astype(jnp.float32))
    per_class = (1.0 - jnp.exp(q * logp)) / q
    if "target" in batch:
      return (per_class * batch["target"]).sum(-1)
    return jnp.take_along_axis(per_class, batch["label"][:, None], -1)[:, 0]
  return objective


def by_name(name, gce_q=0.7):
  """The objective a config names: "ce" or "gce"."""
  if name == "ce":
    return cross_entropy
  if name == "gce":
    return generalized_cross_entropy(gce_q)
  raise ValueError(f"unknown objective {name!r} (ce, gce).")


def example_losses(learner, state, params, batch, rng, objective=None):
  """(per-example losses [B] with the learner's penalty, logits [B, C])."""
  logits_BxC, penalty_B = learner.forward(state, params, batch, rng)
  loss_B = (objective or cross_entropy)(logits_BxC, batch)
  if penalty_B is not None:
    loss_B = loss_B + penalty_B
  return loss_B, logits_BxC


def masked_mean(loss_B, batch):
  """Mean over the real rows (`_mask`), each times its `weight` if given."""
  w_B = batch["_mask"].astype(jnp.float32)
  denom = jnp.maximum(w_B.sum(), 1.0)
  if "weight" in batch:
    w_B = w_B * batch["weight"]
  return (loss_B * w_B).sum() / denom


def loss(learner, state, params, batch, rng, objective=None):
  """(mean loss, logits [B, C]) of one batch with dropout on; traceable."""
  loss_B, logits_BxC = example_losses(learner, state, params, batch, rng, objective)
  return masked_mean(loss_B, batch), logits_BxC
