r"""Compile time and step time of the AUM train step under XLA flags, one process per setting.

For each setting (an XLA_FLAGS string; "" is the default), a fresh process
compiles the MiniLM AUM train step (SST-2, batch 32, with the per-example
dynamics) at lengths 16 and 32 with no persistent cache, then times 6 steps
of each. Compile times of the same setting vary by a second or more between
processes on a 2-core machine: read differences smaller than that as noise.

  python bench/xla_flags.py ["" "--xla_cpu_experimental_ynn_fusion_type=" ...]
"""
import functools
import os
import subprocess
import sys
import time

DEFAULT = ["", "--xla_cpu_experimental_ynn_fusion_type=",
           "--xla_cpu_parallel_codegen_split_count=2",
           "--xla_cpu_experimental_onednn_custom_call=true", ""]


def one():
  """In the child: compile and time, print one markdown row."""
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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


def main():
  if os.environ.get("_XLA_FLAGS_CHILD"):
    one()
    return
  settings = sys.argv[1:] or DEFAULT
  print("| XLA_FLAGS | compile, length 16 (s) | step (ms) | compile, length 32 (s) | step (ms) |")
  print("|---|---:|---:|---:|---:|")
  for flags in settings:
    env = dict(os.environ, XLA_FLAGS=flags, _XLA_FLAGS_CHILD="1", JAX_COMPILATION_CACHE_DIR="")
    res = subprocess.run([sys.executable, os.path.abspath(__file__)], env=env,
                         capture_output=True, text=True)
    rows = [l for l in res.stdout.splitlines() if l.startswith("| `")]
    print(rows[-1] if rows else f"| `{flags}` | failed (exit {res.returncode}) | | | |",
          flush=True)


if __name__ == "__main__":
  main()
