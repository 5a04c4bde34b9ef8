"""Fine-tune a pretrained Transformer encoder for text classification.

`train_and_evaluate(config, workdir)` reads the data, tokenises it once
(cached), loads the pretrained encoder, trains with AdamW (linear warmup and
decay, gradient clipping, dropout), evaluates on dev after every epoch, and
resumes from the newest checkpoint in `workdir`. It leaves config.json,
metrics.jsonl, tb/ (TensorBoard), ckpt/ and metrics.json in the workdir.
"""
import dataclasses
import functools
import math
import os
from typing import Optional

from absl import logging
import flax
from flax.training import train_state
import jax
import jax.numpy as jnp
import numpy as np
import optax

from noisy_meta import aum_lib
from noisy_meta import checkpoint
from noisy_meta import errors
from noisy_meta import guards
from noisy_meta import metrics as metrics_lib
from noisy_meta import parallel
from noisy_meta import progress
from noisy_meta import writers
from noisy_meta.data import pipeline
from noisy_meta.data import tasks
from noisy_meta.models import hf_import
from noisy_meta.models import transformer


class TrainState(train_state.TrainState):
  """Params, optimizer state, step, schedule and (AUM runs) per-example dynamics.

  The learning-rate schedule is data in the state, not constants in the
  compiled step: runs of different lengths (sieved subsets, seeds, learning
  rates) then compile to the same program, which the persistent compilation
  cache serves after the first run.
  """
  dynamics: Optional[aum_lib.Dynamics] = None
  schedule: Optional[dict] = None  # peak (f32), warmup and total steps (i32).


def make_schedule(optim, num_steps):
  """Linear warmup over `warmup_frac` of the steps, then linear decay to 0."""
  return {"peak": jnp.float32(optim.lr),
          "warmup": jnp.int32(int(optim.warmup_frac * num_steps)),
          "total": jnp.int32(num_steps)}


def learning_rate(schedule, step):
  """The schedule's learning rate before update `step` (0-based); traceable."""
  step = jnp.asarray(step, jnp.float32)
  warmup = schedule["warmup"].astype(jnp.float32)
  total = schedule["total"].astype(jnp.float32)
  up = schedule["peak"] * step / jnp.maximum(warmup, 1.0)
  down = schedule["peak"] * (total - step) / jnp.maximum(total - warmup, 1.0)
  return jnp.where(step < warmup, up, jnp.maximum(down, 0.0))


def make_optimizer(optim):
  """AdamW without its learning rate (applied in the step), with clipping.

  AdamW = Adam moments, then decoupled weight decay, then -lr scaling
  (optax.adamw's order); the last factor comes from `learning_rate`.
  """
  # No weight decay on biases and LayerNorm scales (as BERT and HF do).
  decay_mask = lambda p: jax.tree_util.tree_map_with_path(
      lambda path, _: path[-1].key not in ("bias", "scale"), p)
  return optax.chain(
      optax.clip_by_global_norm(optim.grad_clip),
      optax.scale_by_adam(b1=optim.b1, b2=optim.b2, eps=optim.eps),
      optax.add_decayed_weights(optim.weight_decay, mask=decay_mask))


def create_train_state(config, enc_cfg, enc_params, head_params, num_classes,
                       num_steps, rng, dynamics_shape=None, mesh=None):
  """A TrainState whose encoder (and pooler, if saved) is pretrained.

  `dynamics_shape` = (examples, epochs, real classes) adds AUM / data-map
  accumulators. Made replicated over `mesh` (default: all devices) from the
  start: the fresh head by a jit with replicated outputs, the pretrained
  weights put by each process on its own devices.
  """
  mesh = mesh or parallel.make_mesh()
  rep = parallel.replicated(mesh)
  model = transformer.Classifier(enc_cfg, num_classes, config.model.dropout,
                                 config.model.classifier_dropout)
  dummy = jnp.zeros((1, 8), jnp.int32)
  init = jax.jit(lambda r: model.init(r, dummy, jnp.ones_like(dummy))["params"],
                 out_shardings=rep)
  params = flax.core.unfreeze(init(parallel.replicate(rng, mesh)))
  params["encoder"] = hf_import.merge(params["encoder"], enc_params, "encoder", full=True)
  params = parallel.replicate(hf_import.merge(params, head_params, "head"), mesh)

  def create(params):
    dynamics = aum_lib.Dynamics.zeros(*dynamics_shape) if dynamics_shape else None
    return TrainState.create(apply_fn=model.apply, params=params,
                             tx=make_optimizer(config.optim), dynamics=dynamics,
                             schedule=make_schedule(config.optim, num_steps))
  return jax.jit(create, out_shardings=rep)(params)


def classification_loss(logits_BxC, label_B, mask_B):
  """Mean cross-entropy over the real (unpadded) examples."""
  ce_B = optax.softmax_cross_entropy_with_integer_labels(logits_BxC, label_B)
  w_B = mask_B.astype(jnp.float32)
  return (ce_B * w_B).sum() / jnp.maximum(w_B.sum(), 1.0)


def train_step(state, batch, rng, steps_per_epoch=1, eval_margins=False):
  """One AdamW step. Returns the new state and scalar metrics.

  With dynamics in the state, the margins, gold-label probabilities and
  correctness of this step's training-mode logits are recorded for every
  example of the batch: no second forward pass. `eval_margins` records
  those of an extra deterministic (dropout-off) pass with the same
  pre-update parameters instead.
  """
  rng = jax.random.fold_in(rng, state.step)

  def loss_fn(params):
    logits = state.apply_fn({"params": params}, batch["input_ids"],
                            batch["attention_mask"], train=True,
                            rngs={"dropout": rng})
    return classification_loss(logits, batch["label"], batch["_mask"]), logits

  (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  if state.dynamics is not None:
    epoch = state.step // steps_per_epoch
    seen = logits
    if eval_margins:
      seen = state.apply_fn({"params": state.params}, batch["input_ids"],
                            batch["attention_mask"], train=False)
    state = state.replace(dynamics=state.dynamics.update(
        seen, batch["label"], batch["_id"], batch["_mask"], epoch))
  updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
  lr = learning_rate(state.schedule, state.step)
  updates = jax.tree_util.tree_map(lambda u: -lr * u, updates)
  state = state.replace(step=state.step + 1, opt_state=opt_state,
                        params=optax.apply_updates(state.params, updates))
  w = batch["_mask"].astype(jnp.float32)
  correct = ((logits.argmax(-1) == batch["label"]) * w).sum()
  return state, {"loss": loss, "accuracy": correct / jnp.maximum(w.sum(), 1.0),
                 "grad_norm": optax.tree.norm(grads)}


def eval_step(state, batch):
  """Predicted classes [B]."""
  logits = state.apply_fn({"params": state.params}, batch["input_ids"],
                          batch["attention_mask"], train=False)
  return logits.argmax(-1)


def evaluate(eval_fn, state, ids, lengths, labels, inp, num_classes, mesh=None):
  """Dev metrics (accuracy, MCC) and the predictions in row order."""
  preds = np.zeros(len(labels), np.int32)
  mesh = mesh or parallel.make_mesh()
  size = parallel.padded_size(inp.eval_batch_size, mesh)
  for idx, length in pipeline.epoch_batches(lengths, inp.eval_batch_size, 0, 0,
                                            inp.buckets, shuffle=False):
    batch = pipeline.make_batch(ids, lengths, labels, idx, size, length)
    preds[idx] = np.asarray(eval_fn(state, parallel.shard(batch, mesh)))[:len(idx)]
  return metrics_lib.classification_metrics(labels, preds, num_classes), preds


def prepare(config):
  """Data (tokenised) and the pretrained model for a fine-tuning config."""
  inp = config.input
  train, dev = tasks.load_splits(inp)
  folder, enc_cfg, enc_params, head_params = hf_import.load(config.model.path)
  tokenizer = hf_import.load_tokenizer(folder)
  if inp.max_len > enc_cfg.max_position:
    raise errors.InputError(f"input.max_len={inp.max_len} exceeds the model's "
                            f"{enc_cfg.max_position} positions.")
  cache = pipeline.cache_dir(inp.cache_dir)
  train_ids, train_len = pipeline.tokenize(train.texts, tokenizer, inp.max_len, cache)
  dev_ids, dev_len = pipeline.tokenize(dev.texts, tokenizer, inp.max_len, cache)
  return dict(train=train, dev=dev, train_ids=train_ids, train_len=train_len,
              dev_ids=dev_ids, dev_len=dev_len, enc_cfg=enc_cfg,
              enc_params=enc_params, head_params=head_params)


def train_and_evaluate(config, workdir):
  """Fine-tunes, evaluating each epoch; resumes from `workdir`."""
  d = prepare(config)
  train = d["train"]
  run = Run(d, train_ids=d["train_ids"], train_len=d["train_len"],
            train_labels=train.labels, num_classes=len(train.label_names))
  return fit(config, workdir, run)[0]


def collapse_fields(preds, labels, names, workdir, split):
  """{"collapsed", "collapse_reason"} of the final predictions; warns in the log."""
  names = list(names) + [f"fake class {len(names)}"]  # An AUM run's extra class.
  reason = metrics_lib.collapse(preds, labels, names=names)
  if reason:
    logging.warning("%s: collapsed classifier on %s: %s.", workdir, split, reason)
  return {"collapsed": reason is not None, "collapse_reason": reason}


@dataclasses.dataclass
class Run:
  """What one training run sees: its examples, labels and class count.

  The AUM trainer makes runs whose labels include a fake class, or whose
  examples are a sieved subset; `track_dynamics` adds per-example margins
  and data-map statistics to the train state.
  """
  data: dict  # From prepare(): dev split, model.
  train_ids: np.ndarray
  train_len: np.ndarray
  train_labels: np.ndarray
  num_classes: int
  track_dynamics: bool = False
  seed: Optional[int] = None  # Defaults to config.seed.


def fit(config, workdir, run):
  """Trains `run` in `workdir` (resuming), evaluating on dev every epoch.

  Returns (result dict, final state). Writes config.json, metrics.jsonl,
  tb/, ckpt/ and metrics.json (on process 0).
  """
  inp = config.input
  lead = jax.process_index() == 0
  os.makedirs(workdir, exist_ok=True)
  guards.check_config(workdir, config)  # Before anything in the workdir is touched.
  d, dev = run.data, run.data["dev"]
  guards.check_data(workdir, config, dev=guards.fingerprint(d["dev_ids"], dev.labels),
                    train=guards.fingerprint(run.train_ids, run.train_len, run.train_labels))
  seed = config.seed if run.seed is None else run.seed
  n = len(run.train_labels)
  if n == 0:
    raise errors.InputError(f"{workdir}: no training examples.")
  steps_per_epoch = math.ceil(n / inp.batch_size)
  num_steps = steps_per_epoch * config.num_epochs
  logging.info("%s: %d train / %d dev examples, %d classes, %d steps (%s).",
               inp.task, n, len(dev), run.num_classes, num_steps, workdir)

  mesh = parallel.make_mesh(config.get("num_devices", 0))
  init_rng, dropout_rng = jax.random.split(jax.random.key(seed))
  state = create_train_state(config, d["enc_cfg"], d["enc_params"], d["head_params"],
                             run.num_classes, num_steps, init_rng,
                             dynamics_shape=((n, config.num_epochs, len(dev.label_names))
                                             if run.track_dynamics else None), mesh=mesh)
  dropout_rng = parallel.replicate(dropout_rng, mesh)
  ckpt = checkpoint.Checkpointer(workdir)
  state = ckpt.restore_or(state)
  start = int(state.step)
  writer = writers.MetricWriter(workdir, enabled=lead, resume_step=start)

  eval_margins = config.get("aum", {}).get("margins", "train") == "eval"
  # Batches split over the mesh, everything else replicated (outputs too,
  # so the per-example accumulators stay whole on every device).
  rep = parallel.replicated(mesh)
  step_fn = jax.jit(guards.inject_nan(
      functools.partial(train_step, steps_per_epoch=steps_per_epoch,
                        eval_margins=eval_margins), config.debug.nan_at_step),
                    donate_argnums=(0,), out_shardings=rep)
  eval_fn = jax.jit(eval_step, out_shardings=rep)
  batch_size = parallel.padded_size(inp.batch_size, mesh)
  dev_labels = dev.labels
  # An AUM run may predict its fake class on dev: count it as a class.
  evaluate_dev = lambda s: evaluate(eval_fn, s, d["dev_ids"], d["dev_len"], dev_labels,
                                    inp, run.num_classes, mesh)
  prog = progress.Progress(num_steps, start)
  pending = []
  dev_history = []
  step = start
  with guards.stop_on_divergence(workdir, ckpt):
    for epoch in range(start // steps_per_epoch, config.num_epochs):
      batches = pipeline.epoch_batches(run.train_len, inp.batch_size, seed, epoch,
                                       inp.buckets)
      for idx, length in batches[step - epoch * steps_per_epoch:]:
        batch = pipeline.make_batch(run.train_ids, run.train_len, run.train_labels, idx,
                                    batch_size, length)
        state, m = step_fn(state, parallel.shard(batch, mesh), dropout_rng)
        pending.append(m)
        step += 1
        if step % config.log_every == 0 or step == num_steps:
          m, pending = writers.mean_metrics(pending, step), []
          line, rate = prog.line(step)
          logging.info("epoch %d | %s | loss %.4f acc %.3f", epoch + 1, line,
                       m["loss"], m["accuracy"])
          m.update(steps_per_sec=rate, examples_per_sec=rate * inp.batch_size,
                   lr=float(learning_rate(state.schedule, step - 1)))
          writer.write(step, m, prefix="train/")
        if step % config.checkpoint_every == 0:
          writers.check_finite(pending, step)  # Never save a non-finite state.
          ckpt.save(step, state)
      writers.check_finite(pending, step)
      dev_metrics, dev_preds = evaluate_dev(state)
      dev_metrics["epoch"] = epoch + 1
      dev_history.append(dev_metrics)
      logging.info("epoch %d dev: accuracy %.4f mcc %.4f", epoch + 1,
                   dev_metrics["accuracy"], dev_metrics["mcc"])
      writer.write(step, dev_metrics, prefix="dev/")
      ckpt.save(step, state)

  if not dev_history:  # Resumed a finished run: evaluate the final state.
    dev_metrics, dev_preds = evaluate_dev(state)
    dev_history.append(dict(dev_metrics, epoch=config.num_epochs))
  # The epochs evaluated before an interruption, from the log.
  by_epoch = {h["epoch"]: h for h in writers.logged(workdir, "dev/", start)}
  by_epoch.update({h["epoch"]: h for h in dev_history})
  dev_history = [by_epoch[e] for e in sorted(by_epoch)]
  ckpt.close()
  writer.close()
  result = {"dev": dev_history[-1], "dev_history": dev_history, "steps": step,
            "train_examples": n, "dev_examples": len(dev),
            "train_seconds": prog.elapsed(), "task": inp.task,
            "model": config.model.path, "seed": seed}
  result.update(collapse_fields(dev_preds, dev_labels, dev.label_names, workdir, "dev"))
  if lead:
    writers.write_json(os.path.join(workdir, "metrics.json"), result)
  return result, state
