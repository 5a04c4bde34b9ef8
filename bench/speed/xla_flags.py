r"""Compile time and step time of the AUM train step under XLA flags, one process per setting.

For each setting (an XLA_FLAGS string; "" is the default), a fresh process
compiles the MiniLM AUM train step (SST-2, batch 32, with the per-example
dynamics) at lengths 16 and 32 with no persistent cache, then times 6 steps
of each. Compile times of the same setting vary by a second or more between
processes on a 2-core machine: read differences smaller than that as noise.

  python -m bench.speed.xla_flags [--xla_flags= --xla_flags=--xla_cpu_experimental_ynn_fusion_type= ...] \
      [--out=runs/bench/xla_flags.md]
"""
import functools
import os
import subprocess
import sys
import time

from absl import flags

import bench
from bench import cli
from bench import output

DEFAULT = ["", "--xla_cpu_experimental_ynn_fusion_type=",
           "--xla_cpu_parallel_codegen_split_count=2",
           "--xla_cpu_experimental_onednn_custom_call=true", ""]


def one():
  """In the child: compile and time, print one markdown row."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from configs import aum_sst2  # pylint: disable=g-import-not-at-top
  from noisy_meta.core import loop  # pylint: disable=g-import-not-at-top
  from noisy_meta.learners import text_classifier as text  # pylint: disable=g-import-not-at-top
  jax.jit(lambda x: jnp.tanh(x @ x).sum())(jnp.ones((64, 64))).block_until_ready()  # Warm.
  config = aum_sst2.get_config("train_size=2000,epochs=1")
  learner = text.TextClassifier(config)
  batches = learner.epoch_batches(learner.train, 0, 0)
  state = learner.init_state(jax.random.key(0), 3, 63, None, dynamics_shape=(2000, 1, 2))
  step = jax.jit(functools.partial(loop.train_step, learner=learner, steps_per_epoch=63),
                 donate_argnums=(0,))
  cells = []
  for length in (16, 32):
    idx = [i for i, n in batches if n == length][0]
    batch = learner.make_batch(learner.train, idx, 32, length)
    t = time.perf_counter()
    compiled = step.lower(state, batch, jax.random.key(1)).compile()
    seconds = time.perf_counter() - t
    state, m = compiled(state, batch, jax.random.key(1))
    jax.block_until_ready(m)
    times = []
    for _ in range(6):
      t = time.perf_counter()
      state, m = compiled(state, batch, jax.random.key(1))
      jax.block_until_ready(m)
      times.append(time.perf_counter() - t)
    cells += [f"{seconds:.1f}", f"{1e3 * np.median(times):.0f}"]
  print(f"| `{os.environ.get('XLA_FLAGS') or '(default)'}` | " + " | ".join(cells) + " |")


def define_flags(fv):
  flags.DEFINE_multi_string("xla_flags", [], "One XLA_FLAGS setting per use (empty: the "
                            "default); none given: the settings tried in docs/speed.md.",
                            flag_values=fv)
  flags.DEFINE_string("out", "", "Also write the markdown table here.", flag_values=fv)


def main(argv=None):
  if os.environ.get("_XLA_FLAGS_CHILD"):
    one()
    return
  args = cli.parse(argv, define_flags, __doc__)
  lines = ["# Compile and step time of the AUM train step under XLA flags", "",
           output.stamp("jax"), "",
           "| XLA_FLAGS | compile, length 16 (s) | step (ms) | compile, length 32 (s) | step (ms) |",
           "|---|---:|---:|---:|---:|"]
  for setting in args.xla_flags or DEFAULT:
    env = dict(os.environ, XLA_FLAGS=setting, _XLA_FLAGS_CHILD="1", JAX_COMPILATION_CACHE_DIR="")
    res = subprocess.run([sys.executable, "-m", "bench.speed.xla_flags"], env=env,
                         cwd=bench.ROOT, capture_output=True, text=True)
    rows = [l for l in res.stdout.splitlines() if l.startswith("| `")]
    lines.append(rows[-1] if rows else f"| `{setting}` | failed (exit {res.returncode}) | | | |")
    print(lines[-1], file=sys.stderr, flush=True)
  output.publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
