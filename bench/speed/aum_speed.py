r"""What AUM bookkeeping costs, and an AUM run vs the PyTorch way, one run.

1. Step overhead: our jitted train step with and without the per-example
   AUM / data-map accumulators, same batches, timed alternately.
2. End to end: one AUM training run (c + 1 classes, margins and data-map
   statistics recorded in the step, dev evaluated each epoch, compilation
   included) vs PyTorch + transformers recording margins with the `aum`
   package's AUMCalculator, the way it is usually done: every batch padded to
   the maximum length. Also PyTorch on our length-bucketed batches (equal
   padding), to separate framework from padding. Ours runs twice: with an
   empty persistent compilation cache, then from it in a fresh workdir.

  python -m bench.speed.aum_speed --config=configs/aum_sst2.py:train_size=2000,epochs=1
  python -m bench.speed.aum_speed --config=... --precompile_ab=2   # loop.precompile on/off
"""
import math
import shutil
import sys
import tempfile
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
from noisy_meta.data import pipeline
from noisy_meta.learners import text_classifier as text
from noisy_meta.models import hf_import
from noisy_meta.trainers import aum as aum_method
from noisy_meta.trainers import supervised


def define_flags(fv):
  flags.DEFINE_integer("steps", 20, "Steps per timed round (overhead).", flag_values=fv)
  flags.DEFINE_integer("rounds", 6, "Timed rounds (overhead), alternating.", flag_values=fv)
  flags.DEFINE_integer("length", 64, "Padded length of the overhead batches.", flag_values=fv)
  flags.DEFINE_string("out", "", "Markdown file for the tables.", flag_values=fv)
  flags.DEFINE_integer(
      "precompile_ab", 0, "Instead: this many pairs of our run with and without "
      "loop.precompile, alternating, compilation caches empty (in-memory ones cleared).",
      flag_values=fv)


def precompile_ab(config, learner, labels, num_classes, pairs):
  """Markdown: our run's wall seconds with and without precompiling the shapes."""
  times = {True: [], False: []}
  for i in range(2 * pairs):
    on = i % 2 == 0
    with config.unlocked():
      config.precompile = on
    jax.clear_caches()
    times[on].append(ours_end_to_end(config, learner, labels, num_classes)[0])
    print(f"precompile={on}: {times[on][-1]:.1f} s", file=sys.stderr, flush=True)
  fmt = lambda v: ", ".join(f"{x:.1f}" for x in v)
  return "\n".join([
      f"| our AUM run, cache empty ({pairs} alternating pairs) | wall s | median |",
      "|---|---|---:|",
      f"| shapes precompiled in parallel threads (default) | {fmt(times[True])} | "
      f"{np.median(times[True]):.1f} |",
      f"| compiled at their first step | {fmt(times[False])} | {np.median(times[False]):.1f} |",
  ]) + "\n"


def step_overhead(config, learner, num_classes, args):
  """(examples/s without, with dynamics) of the jitted step; `args`: the flags."""
  d, inp = learner.data, config.input
  n = len(d["train_len"])
  rng = np.random.default_rng(0)
  idx = rng.choice(n, inp.batch_size, replace=False)
  batch = pipeline.make_batch(d["train_ids"], np.minimum(d["train_len"], args.length),
                              rng.integers(0, num_classes, n).astype(np.int32), idx,
                              inp.batch_size, args.length)
  states, steps = [], []
  for shape in (None, (n, config.num_epochs, num_classes - 1)):
    states.append(text.create_train_state(
        config, d["enc_cfg"], d["enc_params"], d["head_params"], num_classes, 10_000,
        jax.random.key(0), dynamics_shape=shape))
    steps.append(jax.jit(lambda s, b, r: loop.train_step(s, b, r, learner,
                                                         steps_per_epoch=1000),
                         donate_argnums=(0,)))
  key = jax.random.key(1)
  rates = [[], []]
  for i in (0, 1):  # Compile.
    states[i], m = steps[i](states[i], batch, key)
    jax.block_until_ready(m)
  for r in range(args.rounds):
    for i in ((0, 1) if r % 2 == 0 else (1, 0)):  # Alternating order.
      t = time.perf_counter()
      for _ in range(args.steps):
        states[i], m = steps[i](states[i], batch, key)
      jax.block_until_ready((m, states[i].params))
      rates[i].append(args.steps * inp.batch_size / (time.perf_counter() - t))
  return float(np.median(rates[0])), float(np.median(rates[1]))


def ours_end_to_end(config, learner, labels, num_classes):
  workdir = tempfile.mkdtemp(prefix="aum_speed_")
  train = learner.relabel(learner.train, labels)
  t = time.perf_counter()
  result, state = supervised.fit(config, workdir, learner, train, num_classes=num_classes,
                                 dynamics=aum_method.dynamics_spec(config))
  jax.block_until_ready(state.dynamics.margin_sum)
  seconds = time.perf_counter() - t
  shutil.rmtree(workdir, ignore_errors=True)
  return seconds, result["dev"]["accuracy"]


def torch_end_to_end(config, data, labels, num_classes, pad_to_max):
  """PyTorch + transformers + aum.AUMCalculator; returns (seconds, dev acc)."""
  import aum as aum_pkg  # pylint: disable=g-import-not-at-top
  inp, o = config.input, config.optim
  torch.manual_seed(config.seed)
  folder = hf_import.resolve(config.model.path)
  # Dropout rates from the config, as bench.parity.torch_finetune does.
  model = torch_models.hf_classifier(config, folder, num_classes)
  opt = torch_models.adamw(model, o)
  ids, lens = data["train_ids"], data["train_len"]
  steps = math.ceil(len(lens) / inp.batch_size) * config.num_epochs
  sched = transformers.get_linear_schedule_with_warmup(
      opt, max(int(o.warmup_frac * steps), 1), steps)
  save_dir = tempfile.mkdtemp(prefix="aum_torch_")
  calc = aum_pkg.AUMCalculator(save_dir, compressed=True)
  dev = data["dev"]
  buckets = (inp.max_len,) if pad_to_max else inp.buckets

  def tensors(all_ids, all_lens, all_labels, idx, bsz, length):
    b = pipeline.make_batch(all_ids, all_lens, all_labels, idx, bsz, length)
    k = len(idx)
    return (torch.from_numpy(b["input_ids"][:k]).long(),
            torch.from_numpy(b["attention_mask"][:k]).long(),
            torch.from_numpy(b["label"][:k]).long(), torch.from_numpy(idx).long())

  t = time.perf_counter()
  for epoch in range(config.num_epochs):
    model.train()
    for idx, length in pipeline.epoch_batches(lens, inp.batch_size, config.seed, epoch,
                                              buckets):
      x, m, y, i = tensors(ids, lens, labels, idx, inp.batch_size, length)
      logits = model(input_ids=x, attention_mask=m).logits
      calc.update(logits.detach(), y, i.tolist())
      loss = torch.nn.functional.cross_entropy(logits, y)
      opt.zero_grad()
      loss.backward()
      torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
      opt.step()
      sched.step()
    model.eval()
    preds = np.zeros(len(dev), np.int64)
    with torch.no_grad():
      for idx, length in pipeline.epoch_batches(data["dev_len"], inp.eval_batch_size, 0, 0,
                                                buckets, shuffle=False):
        x, m, _, _ = tensors(data["dev_ids"], data["dev_len"], dev.labels, idx,
                             inp.eval_batch_size, length)
        preds[idx] = model(input_ids=x, attention_mask=m).logits.argmax(-1).numpy()
  calc.finalize()
  seconds = time.perf_counter() - t
  shutil.rmtree(save_dir, ignore_errors=True)
  return seconds, float(np.mean(preds == dev.labels))


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, config="An AUM config.")
  config = args.config
  config.checkpoint_every = 10**9  # Epoch-end checkpoints only.
  learner = text.TextClassifier(config)
  data = learner.data
  c = len(data["train"].label_names)
  labels = data["train"].labels.astype(np.int32)
  # As in an AUM run: c + 1 classes, every (c+1)-th example a threshold sample.
  labels = labels.copy()
  labels[::c + 1] = c
  num_classes = c + 1

  lines = [f"# AUM bookkeeping and end-to-end speed: {config.input.task}, "
           f"{len(labels)} examples, {config.num_epochs} epoch(s), batch "
           f"{config.input.batch_size}", "", output.stamp("jax", "torch"), ""]
  if args.precompile_ab:
    output.publish("\n".join(lines) + "\n" + precompile_ab(
        config, learner, labels, num_classes, args.precompile_ab), args.out)
    return
  # A fresh persistent compilation cache (as jobs keep one, main.py): the
  # first run compiles (cold); the second, in a fresh workdir with the
  # in-memory caches cleared, reads its compiled steps back (a rerun, the
  # next seed, an AUM job's retrains of the same shapes).
  jax.config.update("jax_compilation_cache_dir", tempfile.mkdtemp(prefix="aum_speed_cache_"))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
  rows = [("ours (JAX, length buckets), compilation cache empty",
           *ours_end_to_end(config, learner, labels, num_classes))]
  print(rows[-1], file=sys.stderr, flush=True)
  jax.clear_caches()
  rows.append(("ours, compiled steps from the persistent cache",
               *ours_end_to_end(config, learner, labels, num_classes)))
  print(rows[-1], file=sys.stderr, flush=True)
  without, with_dyn = step_overhead(config, learner, num_classes, args)
  lines += ["| step (length %d) | examples/s |" % args.length, "|---|---|",
            f"| without AUM / data-map bookkeeping | {without:.1f} |",
            f"| with it | {with_dyn:.1f} |",
            f"| cost of the bookkeeping | {100 * (without / with_dyn - 1):.1f} % of step time "
            f"(medians of {args.rounds} alternating rounds; within ±3 % is noise here) |",
            ""]
  print("\n".join(lines), file=sys.stderr, flush=True)
  rows.append(("PyTorch + AUMCalculator, padded to max length",
               *torch_end_to_end(config, data, labels, num_classes, pad_to_max=True)))
  print(rows[-1], file=sys.stderr, flush=True)
  rows.append(("PyTorch + AUMCalculator, our length buckets",
               *torch_end_to_end(config, data, labels, num_classes, pad_to_max=False)))
  print(rows[-1], file=sys.stderr, flush=True)
  lines += ["| AUM training run | wall s | dev acc (one seed) | ours (cache empty) faster by "
            "| ours (cache warm) faster by |", "|---|---|---|---|---|"]
  for name, seconds, acc in rows:
    lines.append(f"| {name} | {seconds:.1f} | {acc:.3f} | {seconds / rows[0][1]:.2f}× | "
                 f"{seconds / rows[1][1]:.2f}× |")
  lines += ["", "Dev accuracy is a sanity column, not a parity check: after one epoch with "
            "the fake class it varies with the seed by more than the gap between the "
            "frameworks (each side has its own head init and dropout masks). "
            "bench.parity.aum_parity compares the two step by step from the same init."]
  output.publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
