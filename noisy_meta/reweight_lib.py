"""Per-example weights by meta-gradient (Ren et al. 2018, "Learning to
Reweight Examples for Robust Deep Learning"), the one-step form.

Ren et al. perturb each example's loss by eps_i, take one SGD step and ask
how the loss of a small clean (trusted) set changes with eps; at eps = 0
that derivative is minus the dot product of the example's gradient with
the trusted set's mean gradient. So

  w_i ∝ max(0, ∇ℓ_i(θ) · ∇ℓ_trusted(θ)),  normalised to sum 1 over the
  batch's real rows; all zero when none aligns (the step then does nothing).

An example whose gradient points against the clean data's (a flipped label,
typically) gets weight 0. The weights are constants of the step
(`stop_gradient`): the training loss is Σ_i w_i ℓ_i(θ).

`alignments` computes the dot products two ways that give the same numbers:
`by="vmap"`, per-example gradients by `jax.vmap(jax.grad(...))` over the
batch's rows (each row a batch of one), then their dot products;
`by="double"`, double backward as Ren et al. compute it: with J the
Jacobian of the batch's per-example losses, u -> (Jᵀu)·v is linear in u
and its gradient is J v, the K dot products with v = ∇ℓ_trusted. It never
holds K gradients (cheaper where the parameters are large: the
Transformer) and needs reverse mode only (PA-LSTM's fused recurrence has
no forward mode).
"""
import jax
import jax.numpy as jnp

BY = ("vmap", "double")


def _dot(a, b):
  return sum(jnp.vdot(x, y) for x, y in zip(jax.tree_util.tree_leaves(a),
                                            jax.tree_util.tree_leaves(b)))


def alignments(example_losses, params, batch, trusted_loss, by="vmap"):
  """[K]: ∇ℓ_i(params) · ∇ℓ_trusted(params) for every row i of `batch`.

  example_losses(params, batch) -> [K] per-example losses (any value on
  padding rows); trusted_loss(params) -> the trusted set's mean loss.
  """
  g_trusted = jax.grad(trusted_loss)(params)
  if by == "double":
    losses, pullback = jax.vjp(lambda p: example_losses(p, batch), params)
    return jax.grad(lambda u: _dot(pullback(u)[0], g_trusted))(jnp.zeros_like(losses))
  if by != "vmap":
    raise ValueError(f"reweighting by {by!r}: use one of {BY}.")

  def one(p, row):  # One example as a batch of one row.
    return example_losses(p, jax.tree_util.tree_map(lambda x: x[None], row))[0]

  per_example = jax.vmap(jax.grad(one), in_axes=(None, 0))(params, batch)
  return jax.vmap(lambda g: _dot(g, g_trusted))(per_example)


def normalise(dots_K, mask_K):
  """Weights [K] from alignments: max(0, ·) on real rows, divided by their
  sum; all zero when the sum is zero."""
  raw = jnp.maximum(dots_K, 0.0) * mask_K.astype(jnp.float32)
  total = raw.sum()
  return jnp.where(total > 0, raw / jnp.where(total > 0, total, 1.0), 0.0)


def weights(example_losses, params, batch, trusted_loss, by="vmap"):
  """The normalised, clipped weights [K] of `batch`'s rows (constants)."""
  dots = alignments(example_losses, params, batch, trusted_loss, by)
  return jax.lax.stop_gradient(normalise(dots, batch["_mask"]))


def weighted_batch(batch, w_K):
  """`batch` with a `weight` field such that a masked mean (objectives.masked_mean:
  Σ mask·weight·ℓ / Σ mask) equals Σ_i w_i ℓ_i."""
  n = jnp.maximum(batch["_mask"].astype(jnp.float32).sum(), 1.0)
  return dict(batch, weight=w_K * n)
