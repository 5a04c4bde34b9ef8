r"""MLRC meta-step speed: vmapped tasks vs a Python loop vs PyTorch Reptile, one run.

One Reptile meta-iteration (B relations, S inner SGD steps of K examples
each, theta += eps * mean_i (theta'_i - theta)) timed three ways on the same
tasks, alternately, compilation excluded:

  vmapped  jax.jit(meta_learning.make_meta_step(...)): the B tasks `jax.vmap`-ed in
           one jitted step, each task's S inner steps a `lax.scan` (what
           trainers/meta_learning.py runs by default);
  lax.map  the same step with task_axis="map": the B tasks one after another
           (lax.map) inside the one jitted step (meta.task_axis=map);
  looped   meta_learning.make_looped_meta_step: the same tasks looped in Python, one
           jitted call per task, then a jitted update;
  PyTorch  the learn2learn-free PyTorch way: for each task, copy the
           meta-parameters into the model (in place, as load_state_dict does),
           S steps of torch.optim.SGD with clip_grad_norm_(5) on that task's
           K examples, accumulate theta'_i - theta; then theta += eps * mean.
           The model is bench.speed.relation_speed's TorchPALSTM (same sizes),
           fed the same examples without the padding rows and cut to the
           batch's longest sentence (PyTorch needs no fixed shapes), with
           torch.set_num_threads equal to XLA:CPU's thread count.

Tasks come from the real SemEval training split: the `--fraction` subset of
meta_tasks.sample_fraction, meta_tasks.TaskSampler, and meta_tasks.task_batch with one sentence
length per meta-iteration (and, with --trim, rows trimmed), as meta_train builds them. Batches are built before
timing (the same arrays for all three); their host-side cost is reported in
the breakdown, with one task's jitted inner loop (meta_learning.adapt) alone and the
B tasks vmapped without the outer update. Before timing, the vmapped and the
looped step run two meta-iterations from the same state, tasks and rng, and
the largest parameter difference is printed.

--trainable_embeddings trains the GloVe matrix too. In JAX it moves from the
`constants` collection into params under the key "glove" and a wrapper loss
hands it back to the model as its constant, so the inner loop differentiates
and updates it (a dense [V, D] gradient per task, as nn.Embedding's default
dense gradient in PyTorch, where the weight's requires_grad is switched on).

Threads: XLA:CPU sizes its thread pool by the process's CPU affinity, so
--threads=N (default: all cores) pins the process to N cores before JAX
starts and gives PyTorch N threads: both frameworks get the same number. On a
machine shared with other jobs, PyTorch's OpenMP threads can stall badly when
there are fewer free cores than threads; compare with --threads=1 there.

  python -m bench.speed.mlrc_speed [--fraction=0.01] [--rounds=3] [--iters=3] \
      [--trainable_embeddings] [--out=runs/bench/mlrc_speed.md]
"""
import functools
import math
import os
import sys
import time

from absl import flags
import jax
import jax.numpy as jnp
import numpy as np
import torch
from torch import nn

from bench import cli
from bench import output
from bench.speed.relation_speed import TorchPALSTM
from configs import mlrc_semeval
from noisy_meta import meta_learning
from noisy_meta.data import meta_tasks
from noisy_meta.data import relation_batches
from noisy_meta.learners import relation_classifier as relation

TORCH_KEYS = ("words", "pos", "ner", "subj_pos", "obj_pos", "label")


def define_flags(fv):
  """The command line."""
  flags.DEFINE_float("fraction", 0.01, "Training subset (meta_tasks.sample_fraction of the "
                     "real labels).", flag_values=fv)
  flags.DEFINE_integer("tasks", 8, "B: relations per meta-iteration.", flag_values=fv)
  flags.DEFINE_integer("inner_steps", 3, "S: inner SGD steps per task.", flag_values=fv)
  flags.DEFINE_integer("inner_batch", 10, "K: examples per inner step.", flag_values=fv)
  flags.DEFINE_enum("model", "pa_lstm", ["pa_lstm", "cgcn"],
                    "cgcn: JAX only (no PyTorch column).", flag_values=fv)
  flags.DEFINE_integer("rounds", 3, "Timed rounds, alternating.", flag_values=fv)
  flags.DEFINE_integer("iters", 3, "Meta-iterations per round and method.", flag_values=fv)
  flags.DEFINE_bool("trainable_embeddings", False,
                    "Train the word embeddings too (both implementations).", flag_values=fv)
  flags.DEFINE_integer("threads", 0, "Cores for both frameworks (pins the process; 0: all).",
                       flag_values=fv)
  flags.DEFINE_integer("seed", 0, "Seed of the subset, the tasks and the inits.",
                       flag_values=fv)
  flags.DEFINE_bool("trim", False, "Trim padding rows (meta.trim_rows=True; default: K rows, "
                    "as the trainer).", flag_values=fv)
  flags.DEFINE_bool("fixed_length", False,
                    "Pad every meta-iteration to the subset's longest sentence.", flag_values=fv)
  flags.DEFINE_string("out", "", "Also write the markdown summary here.", flag_values=fv)


def jax_setup(config, p, trainable, seed):
  """(initial MetaState, loss_fn, inner tx, eps, anneal steps) as meta_train builds them.

  With `trainable`, params gain "glove" and the constants are empty; the loss
  passes params["glove"] to the model as its constant, so it is trained.
  """
  m = config.meta
  init_rng, _ = jax.random.split(jax.random.key(seed))
  ts = relation.create_train_state(config, p["vocabs"], p["glove"], len(p["labels"]),
                                   init_rng)
  base = functools.partial(relation.batch_loss, ts.apply_fn,
                           pooling_l2=config.model.pooling_l2)
  params, constants, loss_fn = ts.params, ts.constants, base
  if trainable:
    params = dict(ts.params, glove=ts.constants["embed"]["glove"])
    constants = {}

    def loss_fn(params, constants, batch, rng):
      del constants  # Empty: the word vectors are params["glove"].
      rest = {k: v for k, v in params.items() if k != "glove"}
      return base(rest, {"embed": {"glove": params["glove"]}}, batch, rng)

  state = meta_learning.MetaState(step=jnp.int32(0), params=params, constants=constants,
                         apply_fn=ts.apply_fn)
  tx = meta_learning.inner_optimizer(m.inner_optim, m.inner_lr or config.optim.lr, m.inner_grad_clip)
  anneal = m.iterations if m.anneal else 0
  return state, loss_fn, tx, m.meta_lr, anneal


def torch_tasks(tasks):
  """One meta-iteration's arrays [B, S, K, L] as B lists of S torch batches
  without padding rows, cut to the batch's longest sentence."""
  b, s = tasks["words"].shape[:2]
  out = []
  for i in range(b):
    steps = []
    for j in range(s):
      k = int(tasks["_mask"][i, j].sum())
      lengths = tasks["mask"][i, j, :k].sum(1)
      n = int(lengths.max())
      t = {key: torch.from_numpy(np.ascontiguousarray(tasks[key][i, j, :k, :n]
                                                      if tasks[key].ndim == 4 else
                                                      tasks[key][i, j, :k])).long()
           for key in TORCH_KEYS}
      t["mask"] = torch.from_numpy(np.ascontiguousarray(tasks["mask"][i, j, :k, :n]))
      t["lengths"] = torch.from_numpy(lengths.astype(np.int64))
      steps.append(t)
    out.append(steps)
  return out


class TorchReptile:
  """Reptile the usual PyTorch way: one model, meta-parameters kept aside."""

  def __init__(self, model, inner_lr, grad_clip, meta_lr, anneal_steps):
    self.model = model.train()
    self.params = [q for q in model.parameters() if q.requires_grad]
    self.meta = [q.detach().clone() for q in self.params]
    self.opt = torch.optim.SGD(self.params, lr=inner_lr)
    self.grad_clip, self.meta_lr, self.anneal = grad_clip, meta_lr, anneal_steps
    self.step = 0

  def adapt(self, task):
    """theta'_i: meta-parameters copied in, then S clipped SGD steps."""
    with torch.no_grad():
      for q, m in zip(self.params, self.meta):
        q.copy_(m)
    for t in task:
      logits = self.model(t["words"], t["pos"], t["ner"], t["subj_pos"], t["obj_pos"],
                          t["mask"], t["lengths"])
      loss = nn.functional.cross_entropy(logits, t["label"])
      self.opt.zero_grad()
      loss.backward()
      nn.utils.clip_grad_norm_(self.params, self.grad_clip)
      self.opt.step()

  def meta_step(self, tasks):
    """theta += eps * mean_i (theta'_i - theta) over the B tasks."""
    total = [torch.zeros_like(m) for m in self.meta]
    for task in tasks:
      self.adapt(task)
      with torch.no_grad():
        for a, q, m in zip(total, self.params, self.meta):
          a.add_(q - m)
    eps = self.meta_lr * (max(0.0, 1.0 - self.step / self.anneal) if self.anneal else 1.0)
    with torch.no_grad():
      for m, a in zip(self.meta, total):
        m.add_(a, alpha=eps / len(tasks))
    self.step += 1


def max_abs_diff(a, b):
  """Largest |a - b| over the leaves of two pytrees."""
  return max(float(jnp.max(jnp.abs(x - y))) for x, y in
             zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def timed(fn):
  """Wall-clock seconds of fn()."""
  t0 = time.perf_counter()
  fn()
  return time.perf_counter() - t0


def main(argv=None):
  """Builds the tasks, checks vmapped == looped, times all three, prints markdown."""
  args = cli.parse(argv, define_flags, __doc__)
  cores = sorted(os.sched_getaffinity(0))
  if args.threads:  # Before JAX's CPU client exists: its pool follows the affinity.
    cores = cores[:args.threads]
    os.sched_setaffinity(0, cores)
  threads = len(cores)
  torch.set_num_threads(threads)
  config = mlrc_semeval.get_config(
      f"model={args.model},tasks={args.tasks},inner_steps={args.inner_steps},"
      f"inner_batch={args.inner_batch},seed={args.seed}")
  m, inp = config.meta, config.input
  b, s, k = m.tasks, m.inner_steps, m.inner_batch

  # Data and tasks, as trainers/mlrc.meta_train builds them.
  p = relation.prepare(config)
  labels = p["labels"]
  rows = meta_tasks.sample_fraction(p["enc"]["train"].labels, args.fraction, args.seed)
  enc = relation_batches.subset(p["enc"]["train"], rows)
  sampler = meta_tasks.TaskSampler(enc.labels, b, s, k, seed=args.seed, num_classes=len(labels),
                             names=labels, sampling=m.sampling)
  bucket = lambda n: int(math.ceil(n / inp.length_bucket)) * inp.length_bucket
  longest = bucket(enc.lengths.max())

  def build(it):  # One meta-iteration's arrays, as trainers/mlrc.py's tasks_of.
    r = sampler.sample(it)[1]
    if args.trim:  # meta.trim_rows.
      r = meta_tasks.trim_rows(r)
    length = longest if args.fixed_length else bucket(enc.lengths[r[r >= 0]].max())
    return meta_tasks.task_batch(lambda idx, n: relation_batches.make_batch(
        enc, idx, n, inp.length_bucket, length=length), r)

  tasks = [build(it) for it in range(args.iters)]
  lengths = sorted({t["words"].shape[-1] for t in tasks})
  ks = sorted({t["words"].shape[2] for t in tasks})
  # Token slots PyTorch computes on (real rows x each batch's longest
  # sentence) as a share of the padded [B, S, K', length] arrays.
  real = sum((t["_mask"].sum(-1) * t["mask"].sum(-1).max(-1)).sum() for t in tasks)
  real_share = real / sum(t["words"].size for t in tasks)
  real_rows = float(np.mean([t["_mask"].mean() for t in tasks]))

  # JAX: the two meta steps and the breakdown's pieces.
  state0, loss_fn, tx, eps, anneal = jax_setup(config, p, args.trainable_embeddings,
                                               args.seed)
  n_params = sum(x.size for x in jax.tree_util.tree_leaves(state0.params))
  vstep = jax.jit(meta_learning.make_meta_step(loss_fn, tx, "reptile", eps, anneal),
                  donate_argnums=(0,))
  lstep = meta_learning.make_looped_meta_step(loss_fn, tx, "reptile", eps, anneal)
  mstep = jax.jit(meta_learning.make_meta_step(loss_fn, tx, "reptile", eps, anneal, task_axis="map"),
                  donate_argnums=(0,))
  rng = jax.random.key(args.seed + 1)
  copy = lambda st: jax.tree_util.tree_map(jnp.copy, st)

  def adapt_one(params, constants, inner, key):
    f = lambda q, x, r: loss_fn(q, constants=constants, batch=x, rng=r)
    return meta_learning.adapt(f, tx, params, inner, key)

  adapt1 = jax.jit(adapt_one)
  adapt_b = jax.jit(jax.vmap(adapt_one, in_axes=(None, None, 0, 0)))
  keys = jax.random.split(rng, b)
  device_tasks = [jax.device_put(t) for t in tasks]
  one_tasks = [[jax.tree_util.tree_map(lambda x, i=i: x[i], t) for i in range(b)]
               for t in device_tasks]

  # Numerical check (also compiles both steps): two meta-iterations each.
  t0 = time.perf_counter()
  sv, sl, sm = copy(state0), copy(state0), copy(state0)
  n_check = len(tasks)  # Every shape compiles here, before timing.
  for t in tasks[:n_check]:
    sv, mv = vstep(sv, t, rng)
    sl, ml = lstep(sl, t, rng)
    sm, _ = mstep(sm, t, rng)
  diff = max_abs_diff(sv.params, sl.params)
  diff_map = max_abs_diff(sm.params, sl.params)
  moved = max_abs_diff(sv.params, state0.params)
  loss_diff = abs(float(mv["loss"]) - float(ml["loss"]))
  same = all(np.allclose(x, y, rtol=1e-4, atol=1e-5) for x, y in
             zip(jax.tree_util.tree_leaves(sv.params), jax.tree_util.tree_leaves(sl.params)))
  jax.block_until_ready((adapt1(sv.params, sv.constants, one_tasks[0][0], keys[0]),
                         adapt_b(sv.params, sv.constants, device_tasks[0], keys)))
  compile_s = time.perf_counter() - t0

  # PyTorch.
  has_torch = args.model == "pa_lstm"
  if has_torch:
    torch.manual_seed(args.seed)
    tm = TorchPALSTM(p["glove"], len(p["vocabs"].pos), len(p["vocabs"].ner), len(labels),
                     hidden=config.model.hidden, layers=config.model.layers,
                     attn_dim=config.model.attn_dim, pe_dim=config.model.pe_dim,
                     dropout=config.model.dropout)
    tm.emb.weight.requires_grad_(args.trainable_embeddings)
    reptile = TorchReptile(tm, m.inner_lr or config.optim.lr, m.inner_grad_clip, eps, anneal)
    ttasks = [torch_tasks(t) for t in tasks]
    n_torch = sum(q.numel() for q in reptile.params)
    for t in ttasks:  # Warm-up: the first pass over new batch shapes is much slower.
      reptile.meta_step(t)

  st = {"v": sv, "l": sl, "m": sm}

  def run_vmapped():
    for t in tasks:
      st["v"], _ = vstep(st["v"], t, rng)
    jax.block_until_ready(st["v"].params)

  def run_looped():
    for t in tasks:
      st["l"], _ = lstep(st["l"], t, rng)
    jax.block_until_ready(st["l"].params)

  def run_mapped():
    for t in tasks:
      st["m"], _ = mstep(st["m"], t, rng)
    jax.block_until_ready(st["m"].params)

  def run_torch():
    for t in ttasks:
      reptile.meta_step(t)

  def run_adapt1():  # Each task's inner loop alone, one jitted call at a time.
    for ts in one_tasks:
      out = [adapt1(st["v"].params, st["v"].constants, t, keys[i]) for i, t in enumerate(ts)]
      jax.block_until_ready(out)

  def run_adapt_b():  # The B inner loops vmapped, no outer update.
    for t in device_tasks:
      jax.block_until_ready(adapt_b(st["v"].params, st["v"].constants, t, keys))

  def run_host():  # Host-side task arrays (sampling, then meta_tasks.task_batch).
    for it in range(args.iters):
      build(it)

  def run_sample():
    for it in range(args.iters):
      sampler.sample(it)

  methods = {"vmapped": run_vmapped, "lax.map": run_mapped, "looped": run_looped}
  if has_torch:
    methods["PyTorch"] = run_torch
  parts = {"adapt1": run_adapt1, "adapt_b": run_adapt_b, "host": run_host,
           "sample": run_sample}
  for fn in list(parts.values()):
    fn()  # Warm-up.
  fns = dict(methods, **parts)
  times = {name: [] for name in fns}
  for r in range(args.rounds):
    order = list(methods) if r % 2 == 0 else list(methods)[::-1]
    for name in order + list(parts):
      times[name].append(timed(fns[name]) / args.iters)  # Seconds per meta-iteration.
    print(f"round {r + 1}/{args.rounds}: " + ", ".join(
        f"{n} {1 / times[n][-1]:.2f} it/s" for n in methods), file=sys.stderr, flush=True)

  med = {n: float(np.median(v)) for n, v in times.items()}
  ratio = lambda a, c: float(np.median([x / y for x, y in zip(times[c], times[a])]))
  emb = "trainable" if args.trainable_embeddings else "frozen"
  lines = [
      f"# MLRC meta step (Reptile, {args.model}, B={b}, S={s}, K={k}, inner SGD lr "
      f"{m.inner_lr or config.optim.lr}, clip {m.inner_grad_clip}, {emb} word embeddings)",
      "", output.stamp("jax", "torch"), "",
      f"SemEval train fraction {args.fraction:g}: {len(rows)} rows, "
      f"{len(sampler.present)} relations with examples; rows per task-step K' "
      f"{'/'.join(map(str, ks))} (of K {k}{', trimmed' if args.trim else ''}), "
      f"sentences padded to {'/'.join(map(str, lengths))}; "
      f"{100 * real_rows:.0f} % of the K' rows are real examples, and real rows x each "
      f"batch's longest sentence fill {100 * real_share:.0f} % of the padded token slots"
      + (" (what the PyTorch loop computes on); " if has_torch else "; ") +
      f"{args.rounds} alternating rounds x {args.iters} meta-iterations (same tasks for "
      f"all), medians; compile excluded ({compile_s:.0f} s). "
      f"{threads} of {os.cpu_count()} cores for each framework (torch threads "
      f"{torch.get_num_threads()}). Trainable parameters: JAX {n_params:,}"
      + (f", PyTorch {n_torch:,}" if has_torch else "") + ".",
      "",
      "| implementation | meta-its/s | ms / meta-it | vmapped speed / this |",
      "|---|---:|---:|---:|"]
  for n in methods:
    lines.append(f"| {n} | {1 / med[n]:.2f} | {1e3 * med[n]:.0f} | "
                 f"{ratio('vmapped', n):.2f} |")
  lines += ["", f"Ratio vmapped / looped (meta-its/s, median of per-round ratios): "
                f"{ratio('vmapped', 'looped'):.2f}"
            + f"; lax.map / looped: {ratio('lax.map', 'looped'):.2f}"
            + (f"; vmapped / PyTorch: {ratio('vmapped', 'PyTorch'):.2f}; lax.map / PyTorch: "
               f"{ratio('lax.map', 'PyTorch'):.2f}." if has_torch else ".")]
  per_task = med["adapt1"] / b
  lines += [
      "", "Where the time goes (ms per meta-iteration, medians):", "",
      "| part | ms |", "|---|---:|",
      f"| one task's inner loop alone (jitted meta_learning.adapt, S={s} steps), per task | "
      f"{1e3 * per_task:.1f} |",
      f"| B={b} such calls one after another | {1e3 * med['adapt1']:.0f} |",
      f"| B={b} inner loops vmapped in one jitted call (no outer update) | "
      f"{1e3 * med['adapt_b']:.0f} |",
      f"| vmapped meta step (inner loops + mean + update) | {1e3 * med['vmapped']:.0f} |",
      f"| looped meta step | {1e3 * med['looped']:.0f} |",
      f"| looped minus B single-task calls (dispatch, slicing, sums, update; "
      f"a difference of two noisy times) | "
      f"{1e3 * (med['looped'] - med['adapt1']):.0f} |",
      f"| host: TaskSampler.sample, trim_rows, meta_tasks.task_batch (not in the times above) | "
      f"{1e3 * med['host']:.1f} |",
      f"| of which TaskSampler.sample | {1e3 * med['sample']:.1f} |"]
  if has_torch:
    lines.append(f"| PyTorch, per task (meta step / B) | {1e3 * med['PyTorch'] / b:.1f} |")
  lines += [
      "", f"vmap speed-up of the inner loops alone (B single calls / vmapped): "
          f"{med['adapt1'] / med['adapt_b']:.2f}.",
      "", f"Check: vmapped vs looped after {n_check} meta-iterations from the same state, tasks "
          f"and rng: max |param difference| {diff:.2e} (params moved up to {moved:.2e}), "
          f"|loss difference| {loss_diff:.1e}; allclose(rtol 1e-4, atol 1e-5): {same}; "
          f"lax.map vs looped: max |param difference| {diff_map:.2e}.",
      "", "Per-round meta-its/s: " + "; ".join(
          f"{n} " + ", ".join(f"{1 / x:.2f}" for x in times[n]) for n in methods) + "."]
  output.publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
