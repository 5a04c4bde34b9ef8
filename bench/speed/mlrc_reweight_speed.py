r"""MLRC meta-step cost of reweighting (issue 36): seconds per meta-iteration
with and without Ren et al.'s per-example weights, same machine, same run.

The meta step of trainers/mlrc.py's meta_train (the learner's own loss,
inner optimiser and task axis; tasks from a noisy, trusted-charged subset of
the real SemEval training split, mlrc_noise.prepare) built three ways:

  plain          meta_learning.make_meta_step without weights;
  reweight vmap  every inner step weighted against the trusted set, the
                 per-example gradients by jax.vmap(jax.grad(...))
                 (mlrc.reweight=meta, the default mlrc.reweight_grads);
  reweight double  the same weights by double backward (reweight_grads=double).

All compiled before timing (one sentence length for every meta-iteration,
so one program each); then --rounds rounds, alternating, of --iters
meta-iterations each on the same tasks; the table gives the median seconds
per meta-iteration and the ratio to plain. On a loaded machine the ratio is
what to read (both share the load); report the load average it prints.

  python -m bench.speed.mlrc_reweight_speed [--model=pa_lstm] [--fraction=0.1] \
      [--trusted_per_class=2] [--rounds=3] [--iters=3] [--out=runs/bench/mlrc_reweight.md]
"""
import statistics
import time

from absl import flags
import jax
import numpy as np

from bench import cli
from bench import output
from configs import mlrc_semeval
from noisy_meta import learners
from noisy_meta import meta_learning
from noisy_meta.core import objectives
from noisy_meta.core import parallel
from noisy_meta.data import meta_tasks
from noisy_meta.trainers import mlrc_noise


def define_flags(fv):
  flags.DEFINE_string("model", "pa_lstm", "The learner (mlrc_semeval's :model=).",
                      flag_values=fv)
  flags.DEFINE_float("fraction", 0.1, "Share of the training split.", flag_values=fv)
  flags.DEFINE_float("noise", 0.2, "Uniform noise rate in the subset.", flag_values=fv)
  flags.DEFINE_integer("trusted_per_class", 2, "Trusted rows per relation.", flag_values=fv)
  flags.DEFINE_integer("tasks", 8, "B: relations per meta-iteration.", flag_values=fv)
  flags.DEFINE_integer("inner_steps", 3, "S.", flag_values=fv)
  flags.DEFINE_integer("inner_batch", 10, "K.", flag_values=fv)
  flags.DEFINE_integer("rounds", 3, "Timed rounds, alternating.", flag_values=fv)
  flags.DEFINE_integer("iters", 3, "Meta-iterations per round and step.", flag_values=fv)
  flags.DEFINE_list("by", ["vmap", "double"], "Reweighted forms to time.", flag_values=fv)
  flags.DEFINE_bool("runlocal", False, "The :runlocal data (300 sentences).", flag_values=fv)
  flags.DEFINE_integer("hidden", 0, "PA-LSTM/C-GCN hidden size (0: the learner's).",
                       flag_values=fv)
  flags.DEFINE_string("out", "", "Also write the markdown summary here.", flag_values=fv)


def setup(args):
  """(config, learner, split, rows, trusted rows) as trainers/mlrc.py's run_one builds them."""
  arg = (f"model={args.model},tasks={args.tasks},inner_steps={args.inner_steps},"
         f"inner_batch={args.inner_batch},noise={args.noise},reweight=meta,"
         f"trusted_per_class={args.trusted_per_class}" + (",runlocal" if args.runlocal else ""))
  config = mlrc_semeval.get_config(arg)
  if args.hidden:
    config.model.hidden = config.model.attn_dim = args.hidden
  learner = learners.get(config.learner)(config)
  r = mlrc_noise.prepare(config, learner.train.labels, learner.label_names, args.fraction,
                         config.seed)
  split = learner.relabel(learner.train, r.given)
  return config, learner, split, r.rows, r.rows[r.trusted]


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  config, learner, split, rows, trusted = setup(args)
  m = config.meta
  train = learner.subset(split, rows)
  sampler = meta_tasks.TaskSampler(train.labels, m.tasks, m.inner_steps, m.inner_batch,
                                   seed=config.seed, num_classes=learner.num_classes,
                                   names=learner.label_names)
  longest = learner.padded_length(train, np.arange(learner.size(train)))
  tasks = [jax.device_put(meta_tasks.task_batch(
      lambda idx, k: learner.make_batch(train, idx, k, longest), sampler.sample(it)[1]))
           for it in range(args.iters)]

  mesh = parallel.make_mesh(1)
  ts = learner.init_state(jax.random.key(config.seed), learner.num_classes, 0, mesh)
  state0 = meta_learning.MetaState(step=np.int32(0), params=ts.params,
                                   constants=ts.constants, apply_fn=ts.apply_fn)
  objective = mlrc_noise.objective(config)

  def loss_fn(params, constants, batch, rng):
    like = meta_learning.MetaState(step=None, params=None, constants=constants,
                                   apply_fn=ts.apply_fn)
    return objectives.loss(learner, like, params, batch, rng, objective)

  tx = meta_learning.inner_optimizer(m.inner_optim, m.inner_lr or config.optim.lr,
                                     m.inner_grad_clip)
  axis = meta_learning.resolve_task_axis(m.task_axis)
  batch = mlrc_noise.trusted_batch(learner, split, trusted)
  steps = {"plain": meta_learning.make_meta_step(loss_fn, tx, "reptile", 1.0, 0, axis)}
  for by in args.by:
    steps[f"reweight {by}"] = meta_learning.make_meta_step(
        loss_fn, tx, "reptile", 1.0, 0, axis,
        weigh=mlrc_noise.meta_weigher(learner, ts.apply_fn, batch, by, objective))
  steps = {k: jax.jit(v) for k, v in steps.items()}
  rng = jax.random.key(1)
  compile_s = {}
  for name, step in steps.items():  # Compile (and run once) before timing.
    t0 = time.perf_counter()
    jax.block_until_ready(step(state0, tasks[0], rng))
    compile_s[name] = time.perf_counter() - t0
  per_it = {k: [] for k in steps}
  for _ in range(args.rounds):
    for name, step in steps.items():
      state = state0
      t0 = time.perf_counter()
      for t in tasks:
        state, metrics = step(state, t, rng)
      jax.block_until_ready(metrics)
      per_it[name].append((time.perf_counter() - t0) / len(tasks))
  plain = statistics.median(per_it["plain"])
  lines = [output.stamp("jax"), "",
           f"{config.model.name}, SemEval {100 * args.fraction:g} % ({len(rows)} rows, "
           f"{len(trusted)} trusted, noise {args.noise:g} uniform); B={m.tasks}, "
           f"S={m.inner_steps}, K={m.inner_batch}, padded length {longest}, task axis "
           f"{axis}; {args.rounds} rounds x {args.iters} meta-iterations.", "",
           "| meta step | s / meta-iteration (median) | x plain | first call (compile) s |",
           "|---|---:|---:|---:|"]
  for name, v in per_it.items():
    med = statistics.median(v)
    lines.append(f"| {name} | {med:.4f} | {med / plain:.2f} | {compile_s[name]:.1f} |")
  output.publish("\n".join(lines) + "\n", args.out)
  return 0


if __name__ == "__main__":
  cli.run(main)
