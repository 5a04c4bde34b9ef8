"""Supervised relation classification: PA-LSTM or C-GCN, official scores.

`train_and_evaluate(config, workdir)` reads SemEval-2010 Task 8 (converted
to the TACRED schema with spaCy, cached) or TACRED, builds vocabularies from
the training split and the fixed GloVe matrix, trains with the originals'
recipe (SGD, gradient clipping, learning rate decayed when dev F1 stops
improving), keeps the best-dev parameters, and scores them on test with the
official metric. It leaves config.json, metrics.jsonl, tb/, ckpt/,
dev_ids.txt, test_predictions.txt and test_key.txt (official answer format),
report.md (per-relation table) and metrics.json in the workdir; it resumes
from the newest checkpoint.
"""
import dataclasses
import functools
import math
import os
from typing import Any

from absl import logging
import flax
from flax.training import train_state
import jax
import jax.numpy as jnp
import numpy as np
import optax

from noisy_meta import checkpoint
from noisy_meta import errors
from noisy_meta import guards
from noisy_meta import metrics as metrics_lib
from noisy_meta import parallel
from noisy_meta import progress
from noisy_meta import relation_metrics
from noisy_meta import reports
from noisy_meta import writers
from noisy_meta.data import relation_features as rf
from noisy_meta.data import relations
from noisy_meta.models import relation as relation_models


class TrainState(train_state.TrainState):
  """Params, optimizer state, fixed word vectors and the dev-driven schedule."""
  constants: Any = None  # {"embed": {"glove": [V, D]}}: fixed, not optimised.
  lr: Any = None  # Current learning rate (decays on dev plateaus).
  best_f1: Any = None  # Best dev score so far, and its parameters.
  best_params: Any = None
  last_f1: Any = None  # Previous epoch's dev score (the decay rule).
  evals: Any = None  # Dev evaluations so far.


def make_optimizer(optim):
  """Clipping and the update direction; the learning rate is applied in the step."""
  if optim.name == "sgd":
    direction = optax.identity()
  elif optim.name == "adagrad":  # PyTorch's Adagrad with the originals' 0.1 start.
    direction = optax.scale_by_rss(initial_accumulator_value=0.1, eps=1e-10)
  elif optim.name == "adam":
    direction = optax.scale_by_adam()
  else:
    raise errors.InputError(f"optim.name={optim.name!r}: use sgd, adagrad or adam.")
  return optax.chain(optax.clip_by_global_norm(optim.grad_clip), direction)


def _logits(state, params, batch, train, rng=None):
  out = state.apply_fn({"params": params, "constants": state.constants}, batch, train=train,
                       rngs={"dropout": rng} if train else None)
  return out if isinstance(out, tuple) else (out, None)


def batch_loss(apply_fn, params, constants, batch, rng, pooling_l2=0.0):
  """Mean cross-entropy over the real rows (`_mask`) with dropout on, plus
  C-GCN's L2 penalty on the pooled sentence vector; returns (loss, logits)."""
  out = apply_fn({"params": params, "constants": constants}, batch, train=True,
                 rngs={"dropout": rng})
  logits, pooled = out if isinstance(out, tuple) else (out, None)
  w = batch["_mask"].astype(jnp.float32)
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"])
  loss = (ce * w).sum() / jnp.maximum(w.sum(), 1.0)
  if pooled is not None and pooling_l2:
    loss += pooling_l2 * ((pooled ** 2).sum(-1) * w).sum() / jnp.maximum(w.sum(), 1.0)
  return loss, logits


def train_step(state, batch, rng, pooling_l2=0.0):
  """One update; returns the new state and scalar metrics."""
  rng = jax.random.fold_in(rng, state.step)
  w = batch["_mask"].astype(jnp.float32)
  loss_fn = functools.partial(batch_loss, state.apply_fn, constants=state.constants,
                              batch=batch, rng=rng, pooling_l2=pooling_l2)
  (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
  updates = jax.tree_util.tree_map(lambda u: -state.lr * u, updates)
  state = state.replace(step=state.step + 1, opt_state=opt_state,
                        params=optax.apply_updates(state.params, updates))
  correct = ((logits.argmax(-1) == batch["label"]) * w).sum()
  return state, {"loss": loss, "accuracy": correct / jnp.maximum(w.sum(), 1.0),
                 "grad_norm": optax.tree.norm(grads)}


def predict_step(state, params, batch):
  return _logits(state, params, batch, False)[0].argmax(-1)


def bucket_length(n, bucket):
  """n tokens rounded up to a multiple of `bucket` (at least one bucket)."""
  return max(bucket, int(math.ceil(n / bucket)) * bucket)


def make_batch(enc, idx, batch_size, bucket, length=0):
  """Rows `idx` of `enc`, padded to `batch_size` rows and a multiple of
  `bucket` (or to `length` tokens when given)."""
  k = len(idx)
  length = length or bucket_length(int(enc.lengths[idx].max()), bucket)
  rows = np.zeros(batch_size, np.int64)
  rows[:k] = idx

  def take(a, fill=0):
    out = np.full((batch_size, length), fill, a.dtype)
    w = min(length, a.shape[1])
    out[:k, :w] = a[idx, :w]
    return out

  mask = np.arange(length)[None] < np.where(np.arange(batch_size) < k,
                                            enc.lengths[rows], 0)[:, None]
  return {"words": take(enc.words), "pos": take(enc.pos), "ner": take(enc.ner),
          "subj_pos": take(enc.subj_pos), "obj_pos": take(enc.obj_pos),
          "heads": take(enc.heads, -1), "kept": take(enc.kept), "mask": mask,
          "label": np.where(np.arange(batch_size) < k, enc.labels[rows], 0).astype(np.int32),
          "_id": np.where(np.arange(batch_size) < k, rows, -1).astype(np.int32),
          "_mask": np.arange(batch_size) < k}


def epoch_order(n, batch_size, seed, epoch):
  """Shuffled row chunks of one epoch: a pure function of (seed, epoch)."""
  perm = np.random.default_rng([seed, epoch]).permutation(n)
  return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def predict(pred_fn, state, params, enc, inp, mesh=None):
  preds = np.zeros(len(enc.labels), np.int32)
  mesh = mesh or parallel.make_mesh()
  size = parallel.padded_size(inp.eval_batch_size, mesh)
  order = np.argsort(enc.lengths, kind="stable")  # Similar lengths together.
  for i in range(0, len(order), inp.eval_batch_size):
    idx = order[i:i + inp.eval_batch_size]
    batch = parallel.shard(make_batch(enc, idx, size, inp.length_bucket), mesh)
    preds[idx] = np.asarray(pred_fn(state, params, batch))[:len(idx)]
  return preds


def score(dataset, gold, pred):
  """The official score of the dataset (F1 in [0, 1]) and its details."""
  if dataset == "semeval":
    r = relation_metrics.semeval_official(gold, pred)
    return r["macro_f1"], r
  r = relation_metrics.tacred_micro(gold, pred)
  return r["f1"], r


def load_examples(config):
  """{train, dev, test} lists of TACRED-schema examples, and the label order."""
  inp = config.input
  if inp.dataset == "semeval" and inp.converted_dir:  # No spaCy needed.
    d = {k: relations.read_tacred(os.path.join(inp.converted_dir, f"{k}.json"))
         for k in ("train", "dev", "test")}
    d["dev_ids"] = [e["id"] for e in d["dev"]]
    return d, list(relation_metrics.SEMEVAL_LABELS)
  if inp.dataset == "semeval":
    data_dir = inp.data_dir or os.environ.get("NOISY_META_DATA_DIR", "")
    if not data_dir:
      raise errors.InputError("No data directory: set config.input.data_dir or "
                              "NOISY_META_DATA_DIR.")
    d = relations.load_semeval(data_dir, inp.cache_dir, dev_size=inp.dev_size,
                               seed=inp.split_seed)
    return d, list(relation_metrics.SEMEVAL_LABELS)
  if inp.dataset == "tacred":
    if not inp.tacred_dir:
      raise errors.InputError("TACRED is LDC-licensed and not shipped: set "
                              "--config.input.tacred_dir to the folder of its JSON files.")
    d = relations.load_tacred(inp.tacred_dir, patch=inp.label_patch,
                             patch_format=inp.label_patch_format)
    # The output space: every relation in any split (TACRED, TACRED-Revisited
    # and Re-TACRED differ), no_relation first.
    labels = sorted({e["relation"] for k in ("train", "dev", "test") for e in d[k]}
                    - {"no_relation"})
    return d, ["no_relation"] + labels
  raise errors.InputError(f"input.dataset={inp.dataset!r}: use semeval or tacred.")


def glove_path(config):
  inp = config.input
  if inp.glove:
    return inp.glove
  folder = os.path.join(inp.data_dir or os.environ.get("NOISY_META_DATA_DIR", ""), "glove")
  files = sorted(f for f in os.listdir(folder) if f.startswith("glove")) if os.path.isdir(
      folder) else []
  if not files:
    raise errors.InputError(f"No GloVe file: set --config.input.glove (none in {folder!r}).")
  return os.path.join(folder, files[0])


def prepare(config):
  """Encoded splits, vocabularies and the GloVe matrix."""
  inp = config.input
  d, labels = load_examples(config)
  train = d["train"][:config.train_size] if config.train_size else d["train"]
  vocabs = rf.build_vocabs(train, labels=labels, lower=inp.lower, mask=inp.entity_mask)
  glove, hits = rf.read_glove(glove_path(config), vocabs.words, seed=0)
  logging.info("Vocabulary: %d words (%d with GloVe vectors, dim %d), %d POS, %d NER, "
               "%d labels.", len(vocabs.words), hits, glove.shape[1], len(vocabs.pos),
               len(vocabs.ner), len(labels))
  enc = {name: rf.encode(split, vocabs, inp.prune_k, inp.lower, mask=inp.entity_mask)
         for name, split in (("train", train), ("dev", d["dev"]), ("test", d["test"]))}
  return dict(enc=enc, vocabs=vocabs, glove=glove, labels=labels,
              dev_ids=d.get("dev_ids", enc["dev"].ids))


def create_train_state(config, vocabs, glove, num_classes, rng, mesh=None):
  """The fresh state, replicated over `mesh` (default: all devices) from the start."""
  mesh = mesh or parallel.make_mesh()
  kwargs = {k: v for k, v in config.model.items() if k not in ("name", "pooling_l2")}
  model = relation_models.make(config.model.name, len(vocabs.words), glove.shape[1],
                               len(vocabs.pos), len(vocabs.ner), num_classes, **kwargs)
  dummy = {k: jnp.zeros((2, 8), jnp.int32) for k in ("words", "pos", "ner", "subj_pos",
                                                     "obj_pos")}
  dummy.update(heads=-jnp.ones((2, 8), jnp.int32), kept=jnp.ones((2, 8), bool),
               mask=jnp.ones((2, 8), bool))

  def create(rng, glove):
    variables = model.init({"params": rng, "dropout": rng}, dummy, train=False)
    params = flax.core.unfreeze(variables["params"])
    return TrainState.create(apply_fn=model.apply, params=params,
                             tx=make_optimizer(config.optim),
                             constants={"embed": {"glove": glove}},
                             lr=jnp.float32(config.optim.lr), best_f1=jnp.float32(-1.0),
                             best_params=jax.tree_util.tree_map(jnp.copy, params),
                             last_f1=jnp.float32(-1.0), evals=jnp.int32(0))
  return jax.jit(create, out_shardings=parallel.replicated(mesh))(
      *parallel.replicate((rng, np.asarray(glove, np.float32)), mesh))


def subset(enc, idx):
  """Rows `idx` of an `Encoded` split."""
  idx = np.asarray(idx, np.int64)
  arrays = {f.name: getattr(enc, f.name)[idx] for f in dataclasses.fields(enc)
            if f.name != "ids"}
  return rf.Encoded(ids=[enc.ids[i] for i in idx], **arrays)


def train_and_evaluate(config, workdir):
  """Trains, keeps the best-dev parameters, scores them on test; resumes."""
  return fit(config, workdir, prepare(config))


def fit(config, workdir, p, train_idx=None, init_params=None):
  """Supervised training on `p` (from `prepare`); returns the result dict.

  train_idx: rows of p["enc"]["train"] to train on (all if None).
  init_params: start from these parameters instead of a fresh init (MLRC's
  fine-tuning from the meta-learned ones); batches and dropout still follow
  config.seed, so they are the baseline's.
  """
  inp = config.input
  lead = jax.process_index() == 0
  os.makedirs(workdir, exist_ok=True)
  guards.check_config(workdir, config)  # Before anything in the workdir is touched.
  enc, labels = dict(p["enc"]), p["labels"]
  if train_idx is not None:
    enc["train"] = subset(enc["train"], train_idx)
  guards.check_data(workdir, config, **{k: guards.fingerprint(v) for k, v in enc.items()})
  if lead:
    writers.write_text(os.path.join(workdir, "dev_ids.txt"),
                       "\n".join(str(i) for i in p["dev_ids"]) + "\n")

  n = len(enc["train"].labels)
  steps_per_epoch = math.ceil(n / inp.batch_size)
  num_steps = steps_per_epoch * config.num_epochs
  mesh = parallel.make_mesh(config.get("num_devices", 0))
  rep = parallel.replicated(mesh)
  init_rng, dropout_rng = jax.random.split(jax.random.key(config.seed))
  state = create_train_state(config, p["vocabs"], p["glove"], len(labels), init_rng, mesh)
  dropout_rng = parallel.replicate(dropout_rng, mesh)
  if init_params is not None:
    init_params = parallel.replicate(init_params, mesh)
    state = state.replace(params=init_params,
                          best_params=jax.tree_util.tree_map(jnp.copy, init_params))
  ckpt = checkpoint.Checkpointer(workdir)
  state = ckpt.restore_or(state)
  start = int(state.step)
  writer = writers.MetricWriter(workdir, enabled=lead, resume_step=start)
  step_fn = jax.jit(guards.inject_nan(
      functools.partial(train_step, pooling_l2=config.model.pooling_l2),
      config.debug.nan_at_step), donate_argnums=(0,), out_shardings=rep)
  pred_fn = jax.jit(predict_step, out_shardings=rep)
  batch_size = parallel.padded_size(inp.batch_size, mesh)
  logging.info("%s / %s: %d train, %d dev, %d test, %d steps (%s).", inp.dataset,
               config.model.name, n, len(enc["dev"].labels), len(enc["test"].labels),
               num_steps, workdir)
  prog = progress.Progress(num_steps, start)
  pending, step = [], start
  with guards.stop_on_divergence(workdir, ckpt):
    for epoch in range(start // steps_per_epoch, config.num_epochs):
      order = epoch_order(n, inp.batch_size, config.seed, epoch)
      for idx in order[step - epoch * steps_per_epoch:]:
        batch = make_batch(enc["train"], idx, batch_size, inp.length_bucket)
        state, m = step_fn(state, parallel.shard(batch, mesh), dropout_rng)
        pending.append(m)
        step += 1
        if step % config.log_every == 0 or step == num_steps:
          m, pending = writers.mean_metrics(pending, step), []
          line, _ = prog.line(step)
          logging.info("epoch %d | %s | loss %.4f acc %.3f lr %.4f", epoch + 1, line,
                       m["loss"], m["accuracy"], float(state.lr))
          writer.write(step, m, prefix="train/")
      writers.check_finite(pending, step)  # Never evaluate or save a non-finite state.
      preds = predict(pred_fn, state, state.params, enc["dev"], inp, mesh)
      f1, _ = score(inp.dataset, [labels[i] for i in enc["dev"].labels],
                    [labels[i] for i in preds])
      improved = f1 > float(state.best_f1)
      # The originals' rule: decay when dev F1 does not improve on the
      # previous epoch, once more than decay_epoch epochs were evaluated.
      decay = (int(state.evals) > config.optim.decay_epoch and f1 <= float(state.last_f1)
               and config.optim.name in ("sgd", "adagrad"))
      state = state.replace(
          best_f1=jnp.float32(max(f1, float(state.best_f1))),
          # A copy, not an alias: the next step donates `state.params`.
          best_params=(jax.tree_util.tree_map(jnp.copy, state.params) if improved
                       else state.best_params),
          last_f1=jnp.float32(f1), evals=state.evals + 1,
          lr=state.lr * (config.optim.lr_decay if decay else 1.0))
      state = parallel.replicate(state, mesh)  # The host-made scalars too.
      logging.info("epoch %d dev F1 %.4f (best %.4f)%s", epoch + 1, f1, float(state.best_f1),
                   f", lr -> {float(state.lr):.4f}" if decay else "")
      writer.write(step, {"f1": f1, "best_f1": float(state.best_f1), "lr": float(state.lr)},
                   prefix="dev/")
      ckpt.save(step, state)
  ckpt.close()
  writer.close()

  preds = predict(pred_fn, state, state.best_params, enc["test"], inp, mesh)
  gold_l, pred_l = [labels[i] for i in enc["test"].labels], [labels[i] for i in preds]
  test_f1, details = score(inp.dataset, gold_l, pred_l)
  logging.info("test F1 (best dev model): %.4f", test_f1)
  result = {"dev_best_f1": float(state.best_f1), "test_f1": test_f1, "steps": step,
            "train_seconds": prog.elapsed(), "dataset": inp.dataset,
            "model": config.model.name, "seed": config.seed,
            "per_relation": details.get("per_relation", {})}
  # A classifier that predicts one label, or scores what always predicting
  # the majority label scores (SemEval: Other, F1 0), is flagged.
  reason = metrics_lib.collapse(pred_l, gold_l,
                                score_fn=lambda g, p: score(inp.dataset, list(g), list(p))[0])
  if reason:
    logging.warning("%s: collapsed classifier on test: %s.", workdir, reason)
  result.update(collapsed=reason is not None, collapse_reason=reason)
  if lead:
    ids = enc["test"].ids
    if inp.dataset == "semeval":
      relation_metrics.write_semeval_answers(
          os.path.join(workdir, "test_predictions.txt"), ids, pred_l)
      relation_metrics.write_semeval_answers(os.path.join(workdir, "test_key.txt"), ids, gold_l)
    report = [f"# {config.model.name} on {inp.dataset}", "",
              f"Test F1 of the best-dev model (official score): {100 * test_f1:.2f}; "
              f"best dev F1 {100 * float(state.best_f1):.2f}; seed {config.seed}.", ""]
    if config.get("runlocal"):
      report += [reports.SMOKE_RUN, ""]
    if reason:
      report += [f"**Collapsed classifier** (test): {reason}.", ""]
    report.append(relation_metrics.per_relation_table(result["per_relation"]))
    writers.write_text(os.path.join(workdir, "report.md"), "\n".join(report) + "\n")
    writers.write_json(os.path.join(workdir, "metrics.json"), result)
  return result
