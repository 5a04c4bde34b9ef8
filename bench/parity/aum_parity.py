r"""Our AUM-run training vs PyTorch + transformers, step by step, same init.

The question (issue 14): bench.speed.aum_speed's one-epoch AUM run (c + 1
classes) reached dev accuracy 0.526 on our side and 0.71 on PyTorch's. This
trains both on the same batches and labels (fake class included) and, with
--copy_init, from the same initial classifier (our seeded head copied into
the torch model), prints the per-step losses of both and the dev accuracy
and prediction counts at the end. With --dropout=false both are
deterministic, so equal per-step losses mean equal models, schedules and
optimisers; the remaining difference is then the seeds (head init, dropout).

  python -m bench.parity.aum_parity --config=configs/aum_sst2.py:train_size=2000,epochs=1 --dropout=false --copy_init
  python -m bench.parity.aum_parity --config=configs/aum_sst2.py:train_size=2000,epochs=1,seed=1
"""
import functools
import json
import math
import time

from absl import flags
import jax
import numpy as np
import torch
import transformers

from bench import cli
from bench import output
from bench.parity import torch_models
from noisy_meta.core import loop
from noisy_meta.core import parallel
from noisy_meta.data import pipeline
from noisy_meta.learners import text_classifier as text
from noisy_meta.models import hf_import


def define_flags(fv):
  flags.DEFINE_bool("dropout", True, "False: every dropout rate 0, both sides.", flag_values=fv)
  flags.DEFINE_bool("copy_init", False, "Start torch from our initial head.", flag_values=fv)
  flags.DEFINE_integer("steps", 0, "Stop after this many steps (0: all).", flag_values=fv)
  flags.DEFINE_string("sides", "ours,torch", "Which sides to run.", flag_values=fv)
  flags.DEFINE_bool("fake", True, "Relabel every (c+1)-th example to class c.", flag_values=fv)
  flags.DEFINE_integer("print_every", 1, "Print every this many steps.", flag_values=fv)
  flags.DEFINE_string("out", "", "JSON file for the losses and results.", flag_values=fv)


def _dev_summary(preds, labels, num_classes):
  counts = np.bincount(preds, minlength=num_classes).tolist()
  return {"accuracy": float(np.mean(preds == labels)), "pred_counts": counts}


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, config="An AUM config.")
  config = args.config
  if not args.dropout:
    config.model.dropout = 0.0
    config.model.classifier_dropout = 0.0
  inp, o = config.input, config.optim
  learner = text.TextClassifier(config)
  data = learner.data
  c = len(data["train"].label_names)
  labels = data["train"].labels.astype(np.int32).copy()
  num_classes = c
  if args.fake:
    labels[::c + 1] = c
    num_classes = c + 1
  ids, lens = data["train_ids"], data["train_len"]
  dev = data["dev"]
  steps_per_epoch = math.ceil(len(lens) / inp.batch_size)
  num_steps = steps_per_epoch * config.num_epochs
  plan = [(e, b) for e in range(config.num_epochs)
          for b in pipeline.epoch_batches(lens, inp.batch_size, config.seed, e, inp.buckets)]
  if args.steps:
    plan = plan[:args.steps]
  sides = args.sides.split(",")
  out = {"config": {"seed": config.seed, "dropout": args.dropout, "copy_init": args.copy_init,
                    "num_classes": num_classes, "num_steps": num_steps,
                    "train": len(lens), "fake": args.fake},
         "machine": output.stamp("jax", "torch")}

  # Ours, as loop.fit builds it (same rng split).
  mesh = parallel.make_mesh()
  init_rng, dropout_rng = jax.random.split(jax.random.key(config.seed))
  state = learner.init_state(init_rng, num_classes, num_steps, mesh)
  head0 = {k: np.asarray(v) for k, v in state.params["classifier"].items()}
  pooler0 = {k: np.asarray(v) for k, v in state.params.get("pooler", {}).items()}

  # Torch, as bench.parity.torch_finetune builds it.
  torch.manual_seed(config.seed)
  folder = hf_import.resolve(config.model.path)
  model = torch_models.hf_classifier(config, folder, num_classes)
  if model.config.model_type == "bert":
    print("pooler equal to ours:", np.allclose(model.bert.pooler.dense.weight.detach().numpy(),
                                               pooler0["kernel"].T), flush=True)
  print("torch head std %.4f, ours %.4f" % (model.classifier.weight.std().item(),
                                            head0["kernel"].std()), flush=True)
  if args.copy_init:
    with torch.no_grad():
      model.classifier.weight.copy_(torch.from_numpy(head0["kernel"].T.copy()))
      model.classifier.bias.copy_(torch.from_numpy(head0["bias"].copy()))

  def torch_batch(all_ids, all_lens, all_labels, idx, length):
    b = pipeline.make_batch(all_ids, all_lens, all_labels, idx, len(idx), length)
    return (torch.from_numpy(b["input_ids"]).long(), torch.from_numpy(b["attention_mask"]).long(),
            torch.from_numpy(b["label"]).long())

  # Same initial logits (eval mode) on one dev batch?
  idx0 = np.arange(8)
  b0 = pipeline.make_batch(data["dev_ids"], data["dev_len"], dev.labels, idx0, 8, 64)
  ours0 = np.asarray(state.apply_fn({"params": state.params}, b0["input_ids"],
                                    b0["attention_mask"], train=False))
  model.eval()
  with torch.no_grad():
    x, m, _ = torch_batch(data["dev_ids"], data["dev_len"], dev.labels, idx0, 64)
    theirs0 = model(input_ids=x, attention_mask=m).logits.numpy()
  print("initial dev logits max |ours - torch|: %.2e" % np.abs(ours0 - theirs0).max(), flush=True)

  losses = {}
  if "ours" in sides:
    step_fn = jax.jit(lambda s, b, r: loop.train_step(s, b, r, learner, steps_per_epoch),
                      donate_argnums=(0,))
    eval_fn = jax.jit(functools.partial(loop.predict_step, learner=learner))
    t = time.perf_counter()
    ls = []
    for i, (_, (idx, length)) in enumerate(plan):
      batch = pipeline.make_batch(ids, lens, labels, idx, inp.batch_size, length)
      state, mt = step_fn(state, batch, dropout_rng)
      ls.append(float(mt["loss"]))
      if (i + 1) % args.print_every == 0:
        print(f"ours  step {i + 1:3d} len {length:3d} loss {ls[-1]:.6f} "
              f"lr {float(learner.learning_rate(state, i)):.3e}", flush=True)
    preds = loop.predict(eval_fn, state, state.params, learner, learner.dev, mesh)
    losses["ours"] = ls
    out["ours"] = dict(_dev_summary(preds, dev.labels, num_classes),
                       seconds=time.perf_counter() - t, mean_loss=float(np.mean(ls)))
    print("ours dev", out["ours"], flush=True)

  if "torch" in sides:
    opt = torch_models.adamw(model, o)
    sched = transformers.get_linear_schedule_with_warmup(
        opt, max(int(o.warmup_frac * num_steps), 1), num_steps)
    t = time.perf_counter()
    ls = []
    for i, (epoch, (idx, length)) in enumerate(plan):
      model.train()
      x, m, y = torch_batch(ids, lens, labels, idx, length)
      lr = sched.get_last_lr()[0]
      loss = torch.nn.functional.cross_entropy(model(input_ids=x, attention_mask=m).logits, y)
      opt.zero_grad()
      loss.backward()
      torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
      opt.step()
      sched.step()
      ls.append(loss.item())
      if (i + 1) % args.print_every == 0:
        print(f"torch step {i + 1:3d} len {length:3d} loss {ls[-1]:.6f} lr {lr:.3e}", flush=True)
    model.eval()
    preds = np.zeros(len(dev), np.int64)
    with torch.no_grad():
      for idx, length in pipeline.epoch_batches(data["dev_len"], inp.eval_batch_size, 0, 0,
                                                inp.buckets, shuffle=False):
        x, m, _ = torch_batch(data["dev_ids"], data["dev_len"], dev.labels, idx, length)
        preds[idx] = model(input_ids=x, attention_mask=m).logits.argmax(-1).numpy()
    losses["torch"] = ls
    out["torch"] = dict(_dev_summary(preds, dev.labels, num_classes),
                        seconds=time.perf_counter() - t, mean_loss=float(np.mean(ls)))
    print("torch dev", out["torch"], flush=True)

  if len(losses) == 2:
    d = np.abs(np.array(losses["ours"]) - np.array(losses["torch"]))
    print("per-step |loss ours - torch|: first 5 %s, max over first 10 %.2e, max %.2e"
          % (np.array2string(d[:5], precision=2), d[:10].max(), d.max()), flush=True)
  out["losses"] = losses
  print(json.dumps({k: v for k, v in out.items() if k != "losses"}))
  if args.out:
    output.done(output.write(args.out, out))


if __name__ == "__main__":
  cli.run(main)
