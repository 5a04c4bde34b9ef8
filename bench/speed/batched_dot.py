r"""Why vmapped Reptile tasks are slower than a loop on XLA:CPU: batched dots.

After the first inner step every task has its own weights, so under
`jax.vmap` each recurrence step's product x[K, D] @ W[D, H] becomes a dot with
a task batch dimension, x[B, K, D] @ W[B, D, H]. This script times, in one
jitted call each and compilation excluded:

  forward     the batched dot vs the same B dots unbatched, vs lax.map;
  recurrence  the gradient of a T-step tanh recurrence (lax.scan) through
              such products, vmapped over B weight sets vs lax.map vs B
              separate jitted calls.

Shapes default to the PA-LSTM meta step's (B=8 tasks, K=10 sentences, D=310
inputs, H=800 = 4 x 200 gate units, T=64 tokens).

  python -m bench.speed.batched_dot [--threads=1] [--b=8 --k=10 --d=310 --h=800 --t=64] \
      [--out=runs/bench/batched_dot.md]
"""
import os
import time

from absl import flags

from bench import cli
from bench import output


def define_flags(fv):
  for name, default, what in (("b", 8, "tasks"), ("k", 10, "sentences"), ("d", 310, "inputs"),
                              ("h", 800, "gate units"), ("t", 64, "time steps")):
    flags.DEFINE_integer(name, default, f"{name.upper()}: {what}.", flag_values=fv)
  flags.DEFINE_integer("threads", 1, "XLA:CPU threads (cores pinned).", flag_values=fv)
  flags.DEFINE_integer("rounds", 3, "Timed rounds (medians).", flag_values=fv)
  flags.DEFINE_string("out", "", "Also write the markdown table here.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:args.threads]))
  if args.threads == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false"
                               " intra_op_parallelism_threads=1")
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  b, k, d, h, t = args.b, args.k, args.d, args.h, args.t
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(b, k, d)), jnp.float32)
  w = jnp.asarray(rng.normal(size=(b, d, h)) / np.sqrt(d), jnp.float32)
  xs = jnp.asarray(rng.normal(size=(b, t, k, d)), jnp.float32)

  def timed(fn, *a, n):
    jax.block_until_ready(fn(*a))
    best = []
    for _ in range(args.rounds):
      s = time.perf_counter()
      for _ in range(n):
        out = fn(*a)
      jax.block_until_ready(out)
      best.append((time.perf_counter() - s) / n)
    return float(np.median(best))

  dot1 = jax.jit(lambda x, w: x @ w)
  fwd = {
      "batched dot (what vmap makes)": timed(
          jax.jit(lambda x, w: jnp.einsum("bkd,bdh->bkh", x, w)), x, w, n=200),
      "lax.map over the B dots": timed(
          jax.jit(lambda x, w: jax.lax.map(lambda a: a[0] @ a[1], (x, w))), x, w, n=200),
      "B separate jitted dots": b * timed(dot1, x[0], w[0], n=200),
  }

  def recurrence(w1, xs1):
    def cell(carry, xt):
      y = jnp.tanh(xt @ w1)
      return y[:, :d], None
    return jax.lax.scan(cell, jnp.zeros((k, d)), xs1)[0].sum()

  g = jax.grad(recurrence)
  g1 = jax.jit(g)
  rec = {
      "vmap over B weight sets": timed(jax.jit(jax.vmap(g)), w, xs, n=5),
      "lax.map over B weight sets": timed(
          jax.jit(lambda w, xs: jax.lax.map(lambda a: g(*a), (w, xs))), w, xs, n=5),
      "B separate jitted calls": b * timed(g1, w[0], xs[0], n=5),
  }
  base_f, base_r = fwd["B separate jitted dots"], rec["B separate jitted calls"]
  lines = [f"# Batched dots on {jax.default_backend()} (B={b}, K={k}, D={d}, H={h}, T={t})",
           "", output.stamp("jax"), "", f"{args.threads} thread(s); medians of "
           f"{args.rounds} rounds; compile excluded.", "",
           "| computation | variant | us | separate / this |", "|---|---|---:|---:|"]
  for name, v in fwd.items():
    lines.append(f"| forward x @ W | {name} | {1e6 * v:.0f} | {base_f / v:.2f} |")
  for name, v in rec.items():
    lines.append(f"| grad of a {t}-step recurrence | {name} | {1e6 * v:.0f} | "
                 f"{base_r / v:.2f} |")
  output.publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
