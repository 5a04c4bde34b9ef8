"""MLRC (Obamuyide & Vlachos 2019): Reptile meta-learning over relations.

Algorithm 1 of Obamuyide and Vlachos 2019 ("Model-agnostic meta-learning for
relation classification with limited supervision"): each meta-iteration
samples B relations; for each,
S batches of K of its training instances; S inner optimiser steps from the
meta-parameters theta give theta'_i; then theta <- theta + eps * mean_i
(theta'_i - theta). (The paper prints `theta - eps ...`, a sign slip: with
a minus, theta would move away from every adapted solution; Nichol et al.
2018, whose algorithm it follows, add.) Line 11, fine-tuning from the
meta-learned theta on the same data, is `trainers.supervised.fit`.

In JAX the S inner steps are a `lax.scan` and the B tasks are `jax.vmap`-ed
inside one jitted meta step whose shapes never change (tasks are padded to K
rows and to one sentence length per run), so it compiles once. First-order
MAML (`fomaml`: the gradient of a held-out batch of the task at theta'_i) and
full MAML (`maml`: differentiated through the scan) are options; both use
S + 1 batches per task, the last one as the query.

Under label noise (issue 36) `weigh` reweights every inner step's examples
(Ren et al. 2018's weights against a trusted set, noisy_meta/reweight_lib.py),
computed inside the same jitted step at that step's parameters.

Pieces: `make_meta_step` (vmapped) and `make_looped_meta_step` (the same
tasks looped in Python: the reference it is tested against and benchmarked
with). The data side (the limited-supervision subset, the meta-task sampler,
stacked task batches) is noisy_meta/data/meta_tasks.py.
"""
import functools
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P
import optax

from noisy_meta.core import errors
from noisy_meta.core import parallel
from noisy_meta import reweight_lib

ALGORITHMS = ("reptile", "fomaml", "maml")


@flax.struct.dataclass
class MetaState:
  step: Any
  params: Any
  constants: Any
  apply_fn: Callable = flax.struct.field(pytree_node=False)


def inner_optimizer(name, lr, grad_clip):
  """The inner loop's update: clipping, then SGD, Adagrad (PyTorch's 0.1 start)
  or Adam without momentum (b1 = 0, as Nichol et al. 2018 run Reptile's inner
  loop; fresh per task, so each step is a per-parameter normalised gradient),
  then -lr."""
  parts = [optax.clip_by_global_norm(grad_clip)] if grad_clip > 0 else []
  if name == "adagrad":
    parts.append(optax.scale_by_rss(initial_accumulator_value=0.1, eps=1e-10))
  elif name == "adam":
    parts.append(optax.scale_by_adam(b1=0.0, b2=0.999, eps=1e-8))
  elif name != "sgd":
    raise errors.InputError(f"meta.inner_optim={name!r}: use sgd, adagrad or adam.")
  parts.append(optax.scale(-lr))
  return optax.chain(*parts)


def adapt(loss_fn, tx, params, batches, rng, weigh=None):
  """S inner steps (a lax.scan over the leading axis of `batches`).

  loss_fn(params, batch, rng) -> (loss, aux). Returns (theta', losses [S]).
  weigh(params, batch, rng) -> per-example weights [K] (summing to 1 or all
  0; constants of the step): each inner step's loss is then Σ_i w_i ℓ_i, the
  weights computed at that step's parameters (reweight_lib: Ren et al. 2018).
  """
  def body(carry, xs):
    p, opt_state = carry
    batch, i = xs
    r = jax.random.fold_in(rng, i)
    if weigh is not None:
      batch = reweight_lib.weighted_batch(batch, weigh(p, batch, jax.random.fold_in(r, 7)))
    (loss, _), g = jax.value_and_grad(loss_fn, has_aux=True)(p, batch, r)
    updates, opt_state = tx.update(g, opt_state, p)
    return (optax.apply_updates(p, updates), opt_state), loss

  steps = jax.tree_util.tree_leaves(batches)[0].shape[0]
  (p, _), losses = jax.lax.scan(body, (params, tx.init(params)), (batches, jnp.arange(steps)))
  return p, losses


def _split(tasks, algorithm):
  """(inner batches [B, S], query batches [B] or None)."""
  if algorithm == "reptile":
    return tasks, None
  return (jax.tree_util.tree_map(lambda x: x[:, :-1], tasks),
          jax.tree_util.tree_map(lambda x: x[:, -1], tasks))


def meta_lr_at(step, meta_lr, anneal_steps):
  """eps, linearly annealed to 0 over `anneal_steps` when > 0 (Nichol et al.)."""
  if not anneal_steps:
    return jnp.float32(meta_lr)
  return meta_lr * jnp.maximum(0.0, 1.0 - step / anneal_steps)


def _task_update(loss_fn, tx, algorithm, params, inner, query, rng, weigh=None):
  """One task's contribution: theta'_i - theta (reptile) or a meta-gradient.
  weigh: per-example weights of the inner steps (`adapt`); the query is unweighted."""
  inner_loop = functools.partial(adapt, weigh=weigh)
  if algorithm == "reptile":
    adapted, losses = inner_loop(loss_fn, tx, params, inner, rng)
    return jax.tree_util.tree_map(jnp.subtract, adapted, params), losses
  qrng = jax.random.fold_in(rng, 1 << 20)
  if algorithm == "fomaml":
    adapted, losses = inner_loop(loss_fn, tx, params, inner, rng)
    g = jax.grad(lambda p: loss_fn(p, query, qrng)[0])(adapted)
    return g, losses

  def query_loss(p):
    adapted, losses = inner_loop(loss_fn, tx, p, inner, rng)
    return loss_fn(adapted, query, qrng)[0], losses

  g, losses = jax.grad(query_loss, has_aux=True)(params)
  return g, losses


def _apply(state, mean_update, algorithm, eps):
  sign = 1.0 if algorithm == "reptile" else -1.0  # Toward theta'; down the meta-gradient.
  params = jax.tree_util.tree_map(lambda p, u: p + sign * eps * u, state.params, mean_update)
  return state.replace(step=state.step + 1, params=params)


def _metrics(mean_update, losses, eps):
  return {"loss": losses.mean(), "inner_loss_first": losses[..., 0].mean(),
          "inner_loss_last": losses[..., -1].mean(),
          "update_norm": optax.tree.norm(mean_update), "meta_lr": eps}


TASK_AXES = ("vmap", "map")


def resolve_task_axis(task_axis, backend=None):
  """"auto" -> "map" on CPU (XLA:CPU's dots with a task batch dimension are
  slow), "vmap" on accelerators; other values unchanged."""
  if task_axis != "auto":
    return task_axis
  return "map" if (backend or jax.default_backend()) == "cpu" else "vmap"


def make_meta_step(loss_fn, tx, algorithm="reptile", meta_lr=1.0, anneal_steps=0,
                   task_axis="vmap", mesh=None, weigh=None):
  """meta_step(state, tasks, rng) -> (state, metrics), tasks [B, S(+1), K, ...].

  loss_fn(params, constants, batch, rng) -> (loss, aux). Each task's inner
  loop is a scan; the B tasks are `jax.vmap`-ed (task_axis="vmap": one
  batched program, what accelerators want) or `lax.map`-ed (task_axis="map":
  one after another inside the same jitted step; on XLA:CPU dots with a
  task batch dimension are slow: a recurrence's gradient ran at 0.45x of B
  separate calls in bench/speed/batched_dot.py). Both give the same update. Jit it
  once.

  mesh: a `parallel.make_mesh` over which the task axis is split (B a
  multiple of its size): each device adapts its B / devices tasks (vmap or
  map), the per-task updates are summed locally and then across devices
  (one psum of a parameter-sized tree per meta-iteration), and theta stays
  replicated. Tasks go in with `parallel.shard`.

  weigh(params, constants, batch, rng) -> weights [K]: every inner step
  reweights its examples (`adapt`; reweight_lib for Ren et al.'s weights).
  """
  if algorithm not in ALGORITHMS:
    raise errors.InputError(f"meta.algorithm={algorithm!r}: use one of {ALGORITHMS}.")
  task_axis = resolve_task_axis(task_axis)
  if task_axis not in TASK_AXES:
    raise errors.InputError(f"meta.task_axis={task_axis!r}: use one of {TASK_AXES}.")

  def meta_step(state, tasks, rng):
    rng = jax.random.fold_in(rng, state.step)
    inner, query = _split(tasks, algorithm)
    b = jax.tree_util.tree_leaves(tasks)[0].shape[0]
    rngs = jax.random.split(rng, b)

    def tasks_update(params, constants, inner, query, rngs):
      w = None if weigh is None else (lambda p, x, r: weigh(p, constants, x, r))
      per_task = functools.partial(
          _task_update, lambda p, x, r: loss_fn(p, constants=constants, batch=x, rng=r),
          tx, algorithm, weigh=w)
      if task_axis == "vmap":
        return jax.vmap(per_task, in_axes=(None, 0, 0, 0))(params, inner, query, rngs)
      return jax.lax.map(lambda a: per_task(params, *a), (inner, query, rngs))

    if mesh is None or mesh.size == 1:
      updates, losses = tasks_update(state.params, state.constants, inner, query, rngs)
      mean_update = jax.tree_util.tree_map(lambda u: u.mean(0), updates)
    else:
      def local(params, constants, inner, query, rngs):
        updates, losses = tasks_update(params, constants, inner, query, rngs)
        total = jax.tree_util.tree_map(lambda u: u.sum(0), updates)
        return jax.lax.psum(total, parallel.AXIS), losses

      task = P(parallel.AXIS)
      # check_vma off: the inner scan's carry starts from the replicated
      # theta and becomes per-device after the first step.
      total, losses = jax.shard_map(
          local, mesh=mesh, check_vma=False,
          in_specs=(P(), P(), task, None if query is None else task, task),
          out_specs=(P(), task))(state.params, state.constants, inner, query, rngs)
      mean_update = jax.tree_util.tree_map(lambda u: u / b, total)
    eps = meta_lr_at(state.step, meta_lr, anneal_steps)
    return _apply(state, mean_update, algorithm, eps), _metrics(mean_update, losses, eps)

  return meta_step


def make_looped_meta_step(loss_fn, tx, algorithm="reptile", meta_lr=1.0, anneal_steps=0,
                          weigh=None):
  """The same update with the B tasks looped in Python (one jitted task call
  each); the reference for the vmapped step (tests, bench/speed/mlrc_speed.py)."""
  if algorithm not in ALGORITHMS:
    raise errors.InputError(f"meta.algorithm={algorithm!r}: use one of {ALGORITHMS}.")

  @jax.jit
  def one_task(params, constants, inner, query, rng):
    f = lambda p, x, r: loss_fn(p, constants=constants, batch=x, rng=r)
    w = None if weigh is None else (lambda p, x, r: weigh(p, constants, x, r))
    return _task_update(f, tx, algorithm, params, inner, query, rng, weigh=w)

  @jax.jit
  def finish(state, total, losses):
    mean_update = jax.tree_util.tree_map(lambda u: u / losses.shape[0], total)
    eps = meta_lr_at(state.step, meta_lr, anneal_steps)
    return _apply(state, mean_update, algorithm, eps), _metrics(mean_update, losses, eps)

  def meta_step(state, tasks, rng):
    rng = jax.random.fold_in(rng, state.step)
    inner, query = _split(tasks, algorithm)
    b = jax.tree_util.tree_leaves(tasks)[0].shape[0]
    rngs = jax.random.split(rng, b)
    total, all_losses = None, []
    for i in range(b):
      take = lambda t, i=i: None if t is None else jax.tree_util.tree_map(lambda x: x[i], t)
      u, losses = one_task(state.params, state.constants, take(inner),
                           take(query), rngs[i])
      total = u if total is None else jax.tree_util.tree_map(jnp.add, total, u)
      all_losses.append(losses)
    return finish(state, total, jnp.stack(all_losses))

  return meta_step
