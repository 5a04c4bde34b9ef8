"""Co-teaching (Han et al. 2018) on any learner: two networks in one jitted step.

`Pair(learner)` is the learner with two sets of parameters stacked on a
leading axis (and their optimiser states); everything else (data, batches,
recipe, scorer) is the learner's own. `step` runs both networks `vmap`-ed over
their parameters on the same batch, each with its own dropout; each network
is updated on the rows that the *other* network finds small-loss: the
ceil(R(t)·B) rows of smallest loss, R(t) = 1 − forget · min(t / ramp, 1)
(noisy_meta/repair_lib.py). The forget rate comes from the detector's noise
estimate (the share its automatic cut flags), not from a known noise rate.
Dev and test are scored with the first network.
"""
import jax
import jax.numpy as jnp
import optax

from noisy_meta import repair_lib
from noisy_meta.core import objectives


def first(tree):
  """The first network's parameters of a stacked pair."""
  return jax.tree_util.tree_map(lambda x: x[0], tree)


class Pair:
  """A learner whose state holds two networks (parameters and optimiser
  state stacked on axis 0). Every other member is the inner learner's."""

  def __init__(self, inner):
    self.inner = inner

  def __getattr__(self, name):  # Data, batches, recipe and scorer: the learner's.
    return getattr(self.inner, name)

  def init_state(self, rng, num_classes, num_steps, mesh, dynamics_shape=None,
                 init_params=None):
    """Two initialisations of the inner learner (its pretrained weights, two
    draws of the new ones), stacked; each network its own optimiser state."""
    if dynamics_shape is not None:
      raise ValueError("co-teaching records no training dynamics.")
    r1, r2 = jax.random.split(rng)
    one = self.inner.init_state(r1, num_classes, num_steps, mesh)
    two = self.inner.init_state(r2, num_classes, num_steps, mesh)
    stacked = init_params if init_params is not None else jax.tree_util.tree_map(
        lambda a, b: jnp.stack([a, b]), one.params, two.params)
    state = self.inner.init_state(r1, num_classes, num_steps, mesh, init_params=stacked)
    return state.replace(opt_state=jax.vmap(state.tx.init)(state.params))

  def forward(self, state, params, batch, rng):
    return self.inner.forward(state, first(params), batch, rng)

  def logits(self, state, params, batch):
    return self.inner.logits(state, first(params), batch)


def step(state, batch, rng, learner, steps_per_epoch=1, eval_margins=False, objective=None,
         forget=0.0, ramp_steps=1):
  """One co-teaching update of both networks of `learner` (a `Pair`)."""
  del steps_per_epoch, eval_margins  # No dynamics in co-teaching runs.
  inner = learner.inner
  rngs = jax.random.split(jax.random.fold_in(rng, state.step), 2)
  mask = batch["_mask"]
  keep = repair_lib.keep_fraction(state.step, forget, ramp_steps)

  def total(params):
    losses = lambda p, r: objectives.example_losses(inner, state, p, batch, r, objective)
    loss_2B, logits_2BxC = jax.vmap(losses)(params, rngs)
    seen = jax.lax.stop_gradient(loss_2B)
    # Network 0 learns from the rows network 1 finds small-loss, and back.
    chosen = jnp.stack([repair_lib.small_loss_rows(seen[1], mask, keep),
                        repair_lib.small_loss_rows(seen[0], mask, keep)]).astype(jnp.float32)
    per_net = (loss_2B * chosen).sum(1) / jnp.maximum(chosen.sum(1), 1.0)
    return per_net.sum(), (per_net, logits_2BxC, chosen)

  grads, (per_net, logits_2BxC, chosen) = jax.grad(total, has_aux=True)(state.params)
  updates, opt_state = jax.vmap(state.tx.update)(grads, state.opt_state, state.params)
  lr = inner.learning_rate(state)
  updates = jax.tree_util.tree_map(lambda u: -lr * u, updates)
  state = state.replace(step=state.step + 1, opt_state=opt_state,
                        params=optax.apply_updates(state.params, updates))
  w_B = mask.astype(jnp.float32)
  correct = ((logits_2BxC[0].argmax(-1) == batch["label"]) * w_B).sum()
  return state, {"loss": per_net.mean(), "accuracy": correct / jnp.maximum(w_B.sum(), 1.0),
                 "grad_norm": optax.tree.norm(grads), "kept": chosen.sum(1).mean()
                 / jnp.maximum(w_B.sum(), 1.0)}
