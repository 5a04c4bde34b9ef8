"""The training loop. Every supervised run of every method goes through `fit`.

A learner (noisy_meta/learners/) says what a model family needs: its state,
its loss and logits, its batches, its learning rate, its dev score and its
recipe at the end of an epoch. This module owns the rest, once:

  check the workdir (config, data) -> make the mesh -> split the seed ->
  init or restore -> compile the step for every batch shape to come, in
  parallel threads (`precompile`) -> for each epoch: the learner's batches (a pure function
  of seed and epoch, so a resumed run recomputes them), the jitted step
  (NaN injection for tests), mean metrics and a progress line with ETA every
  `log_every` steps, checkpoints, the non-finite guard -> dev evaluation and
  the learner's recipe (best-dev selection, learning-rate decay) -> save.

`Session` holds the pieces a loop needs around its steps (checkpoint and
resume, the metrics writer, progress, the divergence guard, finite checks);
`fit` uses it, and so does MLRC's meta-training loop (trainers/mlrc.py).

`train_step` is the one jitted supervised step for every learner. With
per-example dynamics in the state it records, inside the step, each
example's margin, gold-label probability, correctness and best other class
(AUM, Pleiss et al. 2020; data maps, Swayamdipta et al. 2020).
"""
import concurrent.futures
import contextlib
import dataclasses
import functools
import io
import math
import os
import time
from typing import Any, Optional

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

from noisy_meta.core import checkpoint
from noisy_meta.core import errors
from noisy_meta.core import guards
from noisy_meta.core import objectives
from noisy_meta.core import parallel
from noisy_meta.core import progress
from noisy_meta.core import writers


class Session:
  """Checkpoints, metrics, progress and the guards of one training loop.

  Made before anything in `workdir` is touched: the workdir's config is
  checked first (a reused workdir with another config is refused).
  """

  def __init__(self, config, workdir, total, unit="steps", extendable=()):
    """extendable: config fields whose change a method allows on resume
    (they extend its grid; `guards.check_config`)."""
    self.config, self.workdir, self.total, self.unit = config, workdir, total, unit
    self.lead = parallel.is_lead()
    os.makedirs(workdir, exist_ok=True)
    guards.check_config(workdir, config, extendable)
    self.ckpt = self.writer = self.progress = None
    self.pending, self.start, self.seconds = [], 0, 0.0

  def restore(self, state):
    """The newest checkpoint in the workdir, or `state`; starts the clocks."""
    self.ckpt = checkpoint.Checkpointer(self.workdir)
    state = self.ckpt.restore_or(state)
    self.start = int(state.step)
    self.seconds = self.ckpt.seconds  # Training time before this resume.
    self.writer = writers.MetricWriter(self.workdir, enabled=self.lead,
                                       resume_step=self.start)
    # The terminal bar (lead process only) is named after the run's folder.
    self.progress = progress.Progress(
        self.total, self.start, unit=self.unit, desc=os.path.basename(self.workdir.rstrip("/")),
        stream=None if self.lead else io.StringIO())
    return state

  def compile(self, step_fn, mesh):
    """jit with the state donated, outputs replicated, NaN injection (tests)."""
    return jax.jit(guards.inject_nan(step_fn, self.config.debug.nan_at_step),
                   donate_argnums=(0,), out_shardings=parallel.replicated(mesh))

  @contextlib.contextmanager
  def guard(self):
    """A non-finite loss stops the run, keeping the last good checkpoint;
    Ctrl-C waits for the saves in flight, so the checkpoint on disk is whole."""
    try:
      with guards.stop_on_divergence(self.workdir, self.ckpt):
        yield
    except KeyboardInterrupt:
      self.close()
      raise

  def record(self, metrics):
    guards.raise_if_interrupted()  # A Ctrl-C Python swallowed stops here.
    self.pending.append(metrics)

  def flush(self, step):
    """Mean of the metrics since the last flush (raises if a loss is not
    finite) and the progress line; returns (means, line, rate)."""
    means, self.pending = writers.mean_metrics(self.pending, step), []
    line, rate = self.progress.line(step)
    return means, line, rate

  def write(self, step, scalars, prefix):
    self.writer.write(step, scalars, prefix=prefix)

  def elapsed(self):
    """Training seconds of the whole run: before the restored checkpoint
    (saved with it) and since."""
    return self.seconds + self.progress.elapsed()

  def save(self, step, state):
    writers.check_finite(self.pending, step)  # Never save a non-finite state.
    with guards.uninterrupted():
      self.ckpt.save(step, state, seconds=self.elapsed())

  def close(self):
    if self.progress is not None:
      self.progress.close()
    with guards.uninterrupted():
      self.ckpt.close()
      self.writer.close()


def add_rows(batch, rows):
  """`batch` with each per-row array of `rows` ({name: [N, ...]}, aligned
  with the split) gathered by the batch's `_id` (zeros on padding rows)."""
  if not rows:
    return batch
  ids = np.asarray(batch["_id"])
  real = ids >= 0
  for name, arr in rows.items():
    taken = arr[np.where(real, ids, 0)]
    batch[name] = np.where(real.reshape((-1,) + (1,) * (taken.ndim - 1)), taken,
                           0).astype(arr.dtype)
  return batch


def train_step(state, batch, rng, learner, steps_per_epoch=1, eval_margins=False,
               objective=None):
  """One update of any learner; returns the new state and scalar metrics.

  The loss is `objective` (default cross-entropy; noisy_meta/core/objectives.py)
  of the learner's training logits, averaged over the batch's real rows with
  their `weight`s if the batch has them. The learner's optimiser gives the
  direction, its `learning_rate(state)` the step size (data in the state, not
  constants in the program: runs of different lengths or schedules compile
  to the same step). With dynamics in the state (AUM runs), this step's
  training-mode logits are recorded for every example of the batch: no
  second forward pass. `eval_margins` records those of an extra
  deterministic pass with the same pre-update parameters instead; dynamics
  made with `eval_margins` (aum.margins=both) record both.
  """
  rng = jax.random.fold_in(rng, state.step)
  loss_fn = lambda params: objectives.loss(learner, state, params, batch, rng, objective)
  (loss, logits_BxC), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  dyn = state.dynamics
  if dyn is not None:
    both = dyn.eval_margin_EN is not None  # aum.margins=both: train and eval margins.
    det = learner.logits(state, state.params, batch) if eval_margins or both else None
    state = state.replace(dynamics=dyn.update(
        det if eval_margins else logits_BxC, batch["label"], batch["_id"], batch["_mask"],
        state.step // steps_per_epoch, eval_logits_BxC=det if both else None))
  updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
  lr = learner.learning_rate(state)
  updates = jax.tree_util.tree_map(lambda u: -lr * u, updates)
  state = state.replace(step=state.step + 1, opt_state=opt_state,
                        params=optax.apply_updates(state.params, updates))
  w_B = batch["_mask"].astype(jnp.float32)
  correct = ((logits_BxC.argmax(-1) == batch["label"]) * w_B).sum()
  return state, {"loss": loss, "accuracy": correct / jnp.maximum(w_B.sum(), 1.0),
                 "grad_norm": optax.tree.norm(grads)}


def predict_step(state, params, batch, learner):
  """Predicted classes [B] of `params` (deterministic forward pass)."""
  return learner.logits(state, params, batch).argmax(-1)


def map_split(fn, learner, split, *, batch_size=None, batches=None, mesh=None):
  """`fn(batch)` over every row of `split` once, gathered in row order.

  fn returns an array or a tuple of arrays, each with a leading batch axis;
  the result has the same form with N rows (None for an empty split).
  batch_size: rows per padded batch (default the learner's eval batch;
  with `mesh`, rounded up to shard over it, and batches are sharded);
  batches: [(rows, padded length)] (default `learner.eval_batches(split)`).
  """
  batch_size = batch_size or learner.eval_batch_size
  if mesh is not None:
    batch_size = parallel.padded_size(batch_size, mesh)
  batches = learner.eval_batches(split) if batches is None else batches
  n, out, single = learner.size(split), None, True
  for idx, length in batches:
    guards.raise_if_interrupted()
    batch = learner.make_batch(split, idx, batch_size, length)
    res = fn(batch if mesh is None else parallel.shard(batch, mesh))
    single = not isinstance(res, tuple)
    parts = [np.asarray(r)[:len(idx)] for r in ((res,) if single else res)]
    if out is None:
      out = [np.zeros((n,) + p.shape[1:], p.dtype) for p in parts]
    for o, p in zip(out, parts):
      o[idx] = p
  if out is None:
    return None
  return out[0] if single else tuple(out)


def predict(pred_fn, state, params, learner, split, mesh):
  """Predictions [N] (int32) for every row of `split`, in row order."""
  preds = map_split(lambda b: pred_fn(state, params, b), learner, split, mesh=mesh)
  return np.zeros(0, np.int32) if preds is None else preds.astype(np.int32)


def best_on_test(fitted, learner):
  """(predictions, score, details) of a fit's best-dev parameters on the
  learner's test split, by its scorer (relation learners: the official F1)."""
  state = fitted.state
  preds = predict(fitted.predict, state, state.best_params, learner, learner.test, fitted.mesh)
  score, details = learner.score(learner.test.labels, preds)
  return preds, score, details


def precompile(step_fn, pred_fn, state, rng, learner, train, seed, epochs, batch_size, mesh,
               rows=None):
  """Compiles the train step for every batch shape of `epochs` and the eval
  step for every dev shape, in parallel threads (XLA compiles one program per
  thread) before training; the steps' own calls then find them compiled.
  Returns (train shapes, eval shapes, seconds)."""
  t0 = time.perf_counter()

  def firsts(split, batches):  # {padded length: the first batch's rows}.
    out = {}
    for idx, length in batches:
      out.setdefault(length or learner.padded_length(split, idx), idx)
    return out

  train_shapes = {}
  for epoch in epochs:
    for key, idx in firsts(train, learner.epoch_batches(train, seed, epoch)).items():
      train_shapes.setdefault(key, idx)
  eval_shapes = firsts(learner.dev, learner.eval_batches(learner.dev))
  eval_size = parallel.padded_size(learner.eval_batch_size, mesh)
  jobs = [(step_fn, lambda i=idx, n=n: (state, parallel.shard(
      add_rows(learner.make_batch(train, i, batch_size, n), rows), mesh), rng))
          for n, idx in train_shapes.items()]
  jobs += [(pred_fn, lambda i=idx, n=n: (state, state.params, parallel.shard(
      learner.make_batch(learner.dev, i, eval_size, n), mesh)))
           for n, idx in eval_shapes.items()]
  workers = max(1, min(len(jobs), os.cpu_count() or 1))
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    for f in [pool.submit(lambda fn=fn, a=args: fn.lower(*a()).compile()) for fn, args in jobs]:
      f.result()
  return sorted(train_shapes), sorted(eval_shapes), time.perf_counter() - t0


@dataclasses.dataclass
class Fitted:
  """What `fit` hands back: the final state and how the run went."""
  state: Any
  steps: int
  seconds: float  # Training time of the whole run, resumes included.
  dev_history: list  # One dict per epoch (logged ones from before a resume too).
  dev_preds: Optional[np.ndarray]  # Of the final state.
  predict: Any  # The jitted (state, params, batch) -> classes, for test scoring.
  mesh: Any


def fit(config, workdir, learner, train, *, seed, fingerprints, dynamics=None,
        init_params=None, num_classes=None, extendable=(), rows=None, objective=None,
        train_fn=None):
  """Trains `learner` on its split `train` in `workdir`, resuming; evaluates
  on dev after every epoch. Returns `Fitted`.

  fingerprints: {split: digest} checked against the workdir's (guards).
  dynamics: an `aum_lib.DynamicsSpec`: record per-example training dynamics
    (AUM, data maps) as it says; None: none.
  init_params: start from these parameters (MLRC's fine-tuning); batches
    and dropout still follow `seed`.
  num_classes: output classes (default: the learner's), e.g. an AUM run's
    extra fake class.
  extendable: config fields the calling method lets change on resume.
  rows: {name: [N, ...] array aligned with `train`}: per-row data every
    training batch carries under `name` (`add_rows`; e.g. a repair method's
    loss `weight` or soft `target`).
  objective: per-example loss of (logits, batch) (noisy_meta/core/objectives.py;
    default cross-entropy).
  train_fn: the training step (default `train_step`; a method with its own, e.g.
    co-teaching's two networks, gives one with its keyword arguments).
  """
  num_classes = num_classes or learner.num_classes
  n = learner.size(train)
  if n == 0:
    raise errors.InputError(f"{workdir}: no training examples.")
  steps_per_epoch = math.ceil(n / learner.batch_size)
  num_epochs = config.num_epochs
  num_steps = steps_per_epoch * num_epochs
  session = Session(config, workdir, num_steps, extendable=extendable)
  guards.check_data(workdir, config, **fingerprints)
  learner.describe(workdir, n, num_classes, num_steps)

  mesh = parallel.make_mesh(config.num_devices)
  init_rng, dropout_rng = jax.random.split(jax.random.key(seed))
  dyn_shape = (dynamics.shape(n, num_epochs, learner.num_classes, num_classes)
               if dynamics else None)
  state = learner.init_state(init_rng, num_classes, num_steps, mesh, dynamics_shape=dyn_shape,
                             init_params=init_params)
  dropout_rng = parallel.replicate(dropout_rng, mesh)
  state = session.restore(state)
  start = step = session.start
  eval_margins = dynamics is not None and dynamics.margins == "eval"
  step_fn = session.compile(functools.partial(
      train_fn or train_step, learner=learner, steps_per_epoch=steps_per_epoch,
      eval_margins=eval_margins, objective=objective), mesh)
  pred_fn = jax.jit(functools.partial(predict_step, learner=learner),
                    out_shardings=parallel.replicated(mesh))
  batch_size = parallel.padded_size(learner.batch_size, mesh)
  checkpoint_every = config.checkpoint_every
  if config.precompile and start < num_steps:
    shapes, eval_shapes, seconds = precompile(
        step_fn, pred_fn, state, dropout_rng, learner, train, seed,
        range(start // steps_per_epoch, num_epochs), batch_size, mesh, rows)
    logging.info("Compiled the train step for %d batch shapes %s and the eval step for %d "
                 "(%.1f s, in parallel).", len(shapes), shapes, len(eval_shapes), seconds)

  def evaluate(state):
    preds = predict(pred_fn, state, state.params, learner, learner.dev, mesh)
    return learner.dev_metrics(preds, num_classes), preds

  # eval_every_epoch=False: dev is scored after the last epoch only, for
  # learners whose training does not read it (`dev_free_epochs`).
  every_epoch = config.eval_every_epoch or not learner.dev_free_epochs
  # eval_every=N: dev is scored (and the best-dev parameters may change) after
  # every N-th epoch and the last; 1 (default): every epoch.
  eval_every = config.eval_every
  dev_history, dev_preds = [], None
  with session.guard():
    for epoch in range(start // steps_per_epoch, num_epochs):
      batches = learner.epoch_batches(train, seed, epoch)
      for idx, length in batches[step - epoch * steps_per_epoch:]:
        batch = add_rows(learner.make_batch(train, idx, batch_size, length), rows)
        state, m = step_fn(state, parallel.shard(batch, mesh), dropout_rng)
        session.record(m)
        step += 1
        session.progress.advance(step)
        if step % config.log_every == 0 or step == num_steps:
          m, line, rate = session.flush(step)
          lr = float(learner.learning_rate(state, step - 1))
          logging.info("epoch %d | %s | loss %.4f acc %.3f lr %.3g", epoch + 1, line,
                       m["loss"], m["accuracy"], lr)
          m.update(steps_per_sec=rate, examples_per_sec=rate * learner.batch_size, lr=lr)
          session.write(step, m, prefix="train/")
        if checkpoint_every and step % checkpoint_every == 0:
          session.save(step, state)
      writers.check_finite(session.pending, step)  # Never evaluate a non-finite state.
      last = epoch == num_epochs - 1
      if not ((every_epoch and (epoch + 1) % eval_every == 0) or last):
        session.save(step, state)
        continue
      dev, dev_preds = evaluate(state)
      state, dev, note = learner.end_epoch(state, dev, epoch)
      state = parallel.replicate(state, mesh)  # Host-made scalars too.
      dev["epoch"] = epoch + 1
      dev_history.append(dev)
      logging.info("epoch %d dev: %s%s", epoch + 1, learner.dev_line(dev), note)
      session.write(step, dev, prefix="dev/")
      session.save(step, state)

  if dev_preds is None:  # Resumed a finished run: evaluate the final state.
    dev, dev_preds = evaluate(state)
    dev_history.append(dict(dev, epoch=num_epochs))
  # The epochs evaluated before an interruption, from the log.
  by_epoch = {h["epoch"]: h for h in writers.logged(workdir, "dev/", start) if "epoch" in h}
  by_epoch.update({h["epoch"]: h for h in dev_history})
  session.close()
  return Fitted(state=state, steps=step, seconds=session.elapsed(),
                dev_history=[by_epoch[e] for e in sorted(by_epoch)], dev_preds=dev_preds,
                predict=pred_fn, mesh=mesh)
