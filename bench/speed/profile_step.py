r"""Where a jitted step's time goes on this backend, per op class.

Traces a few steps with `jax.profiler`, reads the trace (XLA's per-thunk
events, each tagged with its HLO instruction) and the compiled HLO (what each
instruction is: a dot, a fusion of which ops), and sums the op time per
class: matmuls, PRNG (dropout masks), reductions (softmax, LayerNorm, loss,
norms), gathers/scatters (embeddings), copies/transposes, other elementwise
fusions. Op time is summed over XLA's threads, so it can exceed the wall
time; the table gives both.

Two steps: the MiniLM train step (batch 32 x 64, AdamW, dropout) and one
MLRC meta-iteration (PA-LSTM, B 8, S 3, K 10, SemEval at 1 %, the trainer's
task axis; with every task-step padded to K rows (the trainer's default),
then with meta.trim_rows). Prints markdown; bench.tools.run_all puts it in
docs/benchmarks.md.

  python -m bench.speed.profile_step [--what=transformer,mlrc_untrimmed,mlrc] [--steps=5] \
      [--out=runs/bench/profile.md]
"""
import collections
import functools
import glob
import math
import os
import re
import sys
import tempfile
import time

from absl import flags
import jax
import numpy as np

from bench import cli
from bench import output
from configs import finetune_cola
from configs import mlrc_semeval
from noisy_meta import meta_learning
from noisy_meta.core import loop
from noisy_meta.data import meta_tasks
from noisy_meta.data import relation_batches
from noisy_meta.learners import relation_classifier as relation
from noisy_meta.learners import text_classifier as text
from noisy_meta.models import hf_import

CLASSES = ("matmul (dot)", "PRNG (dropout masks)", "reductions", "gather / scatter",
           "copy / transpose", "elementwise", "other")
_OPCODE = re.compile(r"([a-z][a-z0-9\-]*)\(")
_CALLS = re.compile(r"(?:calls|to_apply|body|condition)=%?([\w.\-]+)")
_PRNG = {"shift-right-logical", "shift-left", "xor", "or"}


def parse_hlo(hlo_text):
  """({instruction: (opcode, [called computations])}, {computation: [opcodes]})."""
  instrs, comps, current = {}, collections.defaultdict(list), None
  for line in hlo_text.splitlines():
    s = line.strip()
    if s.endswith("{") and "=" not in s.split("(")[0]:
      current = s.split()[1] if s.startswith("ENTRY") else s.split()[0]
      current = current.lstrip("%")
      continue
    if " = " not in s or current is None:
      continue
    name, rhs = s.split(" = ", 1)
    name = name.replace("ROOT", "").strip().lstrip("%")
    m = _OPCODE.search(rhs)
    if not m:
      continue
    instrs[name] = (m.group(1), _CALLS.findall(rhs))
    comps[current].append((m.group(1), _CALLS.findall(rhs)))
  return instrs, comps


def op_class(name, instrs, comps):
  """The class of HLO instruction `name` (None: a control op whose inner ops are traced)."""
  if name not in instrs:
    return "other"
  opcode, calls = instrs[name]
  if opcode in ("while", "conditional", "call"):
    return None
  ops, todo, seen = {opcode}, list(calls), set()
  while todo:  # The ops of the fused computations, recursively.
    c = todo.pop()
    if c in seen:
      continue
    seen.add(c)
    for op, sub in comps.get(c, ()):
      ops.add(op)
      todo.extend(sub)
  if ops & {"dot", "convolution"} or (opcode == "custom-call" and "matmul" in name):
    return "matmul (dot)"
  if "rng-bit-generator" in ops or len(ops & _PRNG) >= 2 or "threefry" in name:
    return "PRNG (dropout masks)"
  if ops & {"reduce", "reduce-window", "all-reduce"}:
    return "reductions"
  if ops & {"gather", "scatter", "dynamic-slice", "dynamic-update-slice"}:
    return "gather / scatter"
  if ops <= {"copy", "transpose", "bitcast", "reshape", "parameter", "tuple",
             "get-tuple-element", "fusion", "broadcast", "slice", "concatenate"}:
    return "copy / transpose"
  return "elementwise"


def breakdown(step, args, steps):
  """{class: seconds per step of op time (summed over threads)}, wall s per step."""
  hlo = step.lower(*args).compile().as_text()
  instrs, comps = parse_hlo(hlo)
  out = step(*args)
  jax.block_until_ready(out)
  args = (out[0],) + tuple(args[1:])
  folder = tempfile.mkdtemp(prefix="profile_")
  t = time.perf_counter()
  with jax.profiler.trace(folder):
    for _ in range(steps):
      out = step(*args)
      args = (out[0],) + tuple(args[1:])
    jax.block_until_ready(out)
  wall = (time.perf_counter() - t) / steps
  path = sorted(glob.glob(os.path.join(folder, "**", "*.xplane.pb"), recursive=True))[-1]
  data = jax.profiler.ProfileData.from_file(path)
  per, count = collections.Counter(), collections.Counter()
  for plane in data.planes:
    for line in plane.lines:
      for e in line.events:
        stats = dict(e.stats)
        if "hlo_op" not in stats:
          continue
        c = op_class(stats["hlo_op"], instrs, comps)
        if c is not None:
          per[c] += e.duration_ns * 1e-9 / steps
          count[c] += 1 / steps
  return per, count, wall


def minilm_step(dtype="float32"):
  """(checkpoint folder, jitted MiniLM train step, its first state): the
  step bench.speed.step_speed times against PyTorch and this script profiles;
  `dtype` the encoder's computation (model.dtype)."""
  config = finetune_cola.get_config()
  config.model.dtype = dtype
  folder, cfg, enc, head = hf_import.load(config.model.path)
  learner = text.TextClassifier(config, dict(enc_cfg=cfg, enc_params=enc, head_params=head))
  state = text.create_train_state(config, cfg, enc, head, 2, 10_000, jax.random.key(0))
  step = jax.jit(functools.partial(loop.train_step, learner=learner), donate_argnums=(0,))
  return folder, step, state


def minilm_batch(rng, batch_size, length):
  """A batch of random tokens, no padding, random binary labels."""
  return dict(input_ids=rng.integers(1000, 20000, (batch_size, length)).astype(np.int32),
              attention_mask=np.ones((batch_size, length), np.int32),
              label=rng.integers(0, 2, batch_size).astype(np.int32),
              _id=np.arange(batch_size, dtype=np.int32), _mask=np.ones(batch_size, bool))


def transformer_step(batch_size=32, length=64):
  """(jitted MiniLM train step, its args, title)."""
  _, step, state = minilm_step()
  batch = minilm_batch(np.random.default_rng(0), batch_size, length)
  return step, (state, batch, jax.random.key(1)), f"MiniLM train step, batch {batch_size} x {length}"


def mlrc_step(fraction=0.01, trim=True):
  """(jitted MLRC meta-iteration, its args) with the trainer's defaults."""
  config = mlrc_semeval.get_config("model=pa_lstm,tasks=8,inner_steps=3,inner_batch=10")
  m, inp = config.meta, config.input
  p = relation.prepare(config)
  rows = meta_tasks.sample_fraction(p["enc"]["train"].labels, fraction, 0)
  enc = relation_batches.subset(p["enc"]["train"], rows)
  sampler = meta_tasks.TaskSampler(enc.labels, m.tasks, m.inner_steps, m.inner_batch, seed=0,
                                   num_classes=len(p["labels"]), names=p["labels"],
                                   sampling=m.sampling)
  task_rows = sampler.sample(0)[1]
  if trim:
    task_rows = meta_tasks.trim_rows(task_rows)
  k = task_rows.shape[-1]
  length = int(math.ceil(enc.lengths[task_rows[task_rows >= 0]].max() / inp.length_bucket)
               ) * inp.length_bucket
  make = lambda idx, n: relation_batches.make_batch(enc, idx, n, inp.length_bucket,
                                                    length=length)
  tasks = meta_tasks.task_batch(make, task_rows)
  ts = relation.create_train_state(config, p["vocabs"], p["glove"], len(p["labels"]),
                                   jax.random.key(0))
  loss_fn = functools.partial(relation.batch_loss, ts.apply_fn,
                              pooling_l2=config.model.pooling_l2)
  state = meta_learning.MetaState(step=np.int32(0), params=ts.params, constants=ts.constants,
                                  apply_fn=ts.apply_fn)
  tx = meta_learning.inner_optimizer(m.inner_optim, m.inner_lr or config.optim.lr,
                                     m.inner_grad_clip)
  axis = "map" if jax.default_backend() == "cpu" else "vmap"  # The trainer's default.
  step = jax.jit(meta_learning.make_meta_step(loss_fn, tx, m.algorithm, m.meta_lr, 0, axis),
                 donate_argnums=(0,))
  return step, (state, jax.device_put(tasks), jax.random.key(1)), (
      f"MLRC meta-iteration, PA-LSTM, B {m.tasks} x S {m.inner_steps} x K {k} (of "
      f"{m.inner_batch}) x length {length}, task axis {axis}")


def table(title, per, count, wall):
  total = sum(per.values())
  lines = [f"**{title}**: {1e3 * total:.0f} ms of op time per step (summed over threads), "
           f"{sum(count.values()):.0f} ops run; {1e3 * wall:.0f} ms wall while traced",
           "", "| op class | ms / step | share | ops run / step | µs / op |",
           "|---|---:|---:|---:|---:|"]
  for c in CLASSES:
    if per.get(c):
      lines.append(f"| {c} | {1e3 * per[c]:.1f} | {100 * per[c] / total:.0f} % | "
                   f"{count[c]:.0f} | {1e6 * per[c] / count[c]:.1f} |")
  return "\n".join(lines) + "\n"


def define_flags(fv):
  flags.DEFINE_list("what", ["transformer", "mlrc_untrimmed", "mlrc"],
                    "Steps to profile: transformer, mlrc_untrimmed, mlrc.", flag_values=fv)
  flags.DEFINE_integer("steps", 5, "Traced steps.", flag_values=fv)
  flags.DEFINE_string("out", "", "Also write the markdown here.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  builders = {"transformer": transformer_step, "mlrc": mlrc_step,
              "mlrc_untrimmed": functools.partial(mlrc_step, trim=False)}
  unknown = [w for w in args.what if w not in builders]
  if unknown:
    sys.exit(f"error: --what: unknown step {', '.join(unknown)}; use {', '.join(builders)}.")
  out = [output.stamp("jax") + "\n"]
  for what in args.what:
    step, step_args, title = builders[what]()
    per, count, wall = breakdown(step, step_args, args.steps)
    out.append(table(title, per, count, wall))
    print(f"profiled: {title}", file=sys.stderr, flush=True)
  output.publish("\n".join(out), args.out)


if __name__ == "__main__":
  cli.run(main)
