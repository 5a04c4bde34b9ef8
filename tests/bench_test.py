"""The speed benches' own logic: the profile's op classes, run_all's checks.

The benches themselves are timed runs (bench/run_all.py), never tests.
"""
import os
import sys

import jax
import jax.numpy as jnp
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "bench"))
import profile_step  # pylint: disable=g-import-not-at-top,wrong-import-position
import run_all  # pylint: disable=g-import-not-at-top,wrong-import-position


def test_profile_classes_a_traced_step_by_its_hlo():
  def step(w, x, key):
    keep = jax.random.bernoulli(key, 0.9, x.shape)
    h = jnp.where(keep, x, 0.0) @ w
    return w - 0.1 * (h.sum(0)[None, :] * jax.nn.softmax(h, -1).mean()), h.max()

  w, x = jnp.ones((64, 64)), jnp.ones((32, 64))
  jitted = jax.jit(step)
  instrs, comps = profile_step.parse_hlo(jitted.lower(w, x, jax.random.key(0)).compile()
                                         .as_text())
  classes = {profile_step.op_class(n, instrs, comps) for n in instrs}
  assert {"matmul (dot)", "reductions"} <= classes
  assert profile_step.op_class("no_such_op", instrs, comps) == "other"
  per, count, wall = profile_step.breakdown(jitted, (w, x, jax.random.key(0)), steps=2)
  assert per["matmul (dot)"] > 0 and count["matmul (dot)"] >= 1 and wall > 0
  assert set(per) <= set(profile_step.CLASSES)
  table = profile_step.table("toy", per, count, wall)
  assert "| matmul (dot) |" in table and "ops run" in table


def test_run_all_refuses_an_unknown_bench(capsys):
  with pytest.raises(SystemExit, match="unknown bench nope"):
    run_all.main(["--only=step,nope"])
  assert run_all.markdown("round 1/3: x\n| a |\n(tuple)\n# t") == "| a |\n# t"
