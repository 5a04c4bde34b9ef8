"""One mesh ('data',): 8 simulated CPU devices and 2 processes vs one device.

The suite runs on one CPU device; `test_on_eight_simulated_devices` reruns
this module in a pytest subprocess whose conftest.py asks XLA for 8
(NOISY_META_TEST_DEVICES=8: --xla_force_host_platform_device_count=8), where
the other tests run and `num_devices=1` runs the same job on the first
device. Tolerances: the sharded runs sum gradients and
task updates in another order (a reduction across devices), so float32
results agree to ~1e-6 relative per step; a few training steps of a tiny
model stay within the atol used here.
"""
import csv
import json
import os
import socket
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import aum_cola
from noisy_meta.core import parallel
from noisy_meta.learners import text_classifier as text
from noisy_meta import meta_learning
from noisy_meta.trainers import aum

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D, C = 4, 3
EIGHT = jax.device_count() == 8
# In the one-device suite, only the test that reruns this module with 8.
eight_only = pytest.mark.skipif(not EIGHT, reason="runs in the 8-device subprocess")


@pytest.mark.job
@pytest.mark.skipif(EIGHT, reason="this is the 8-device run")
def test_on_eight_simulated_devices():
  """Every other test of this module, in pytest with 8 simulated CPU devices."""
  env = dict(os.environ, NOISY_META_TEST_DEVICES="8")
  env.pop("XLA_FLAGS", None)
  proc = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
                         os.path.abspath(__file__)], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=3000)
  assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
  # The child did run on 8 devices (this test needs no data, so never skips).
  assert "test_eight_simulated_devices PASSED" in proc.stdout, proc.stdout[-3000:]


@eight_only
def test_eight_simulated_devices():
  assert jax.device_count() == 8, "conftest.py asks XLA for 8 CPU devices"
  assert parallel.make_mesh().size == 8
  assert parallel.make_mesh(2).size == 2
  assert parallel.make_mesh(0, divides=12).size == 6  # Shrinks to a divisor of B.
  assert parallel.padded_size(50, parallel.make_mesh()) == 56


@eight_only
def test_shard_puts_rows_on_their_devices():
  mesh = parallel.make_mesh()
  x = parallel.shard({"a": np.arange(32).reshape(16, 2)}, mesh)["a"]
  assert x.sharding.spec == jax.sharding.PartitionSpec("data")
  rows = sorted((s.index[0].start, s.data[0, 0].item()) for s in x.addressable_shards)
  assert rows == [(2 * i, 4 * i) for i in range(8)]
  r = parallel.replicate({"k": jax.random.key(3), "w": np.ones(3)}, mesh)
  assert r["w"].sharding.is_fully_replicated
  assert jax.random.key_data(r["k"]).tolist() == jax.random.key_data(jax.random.key(3)).tolist()


def _noisy_loss(params, constants, batch, rng):
  """Softmax regression on inputs with rng noise (checks per-task streams)."""
  x = batch["x"] * constants["scale"] + 0.1 * jax.random.normal(rng, batch["x"].shape)
  logits = x @ params["w"] + params["b"]
  w = batch["_mask"].astype(jnp.float32)
  ce = -jnp.take_along_axis(jax.nn.log_softmax(logits), batch["label"][:, None], 1)[:, 0]
  return (ce * w).sum() / jnp.maximum(w.sum(), 1.0), logits


@eight_only
@pytest.mark.parametrize("algorithm", meta_learning.ALGORITHMS)
@pytest.mark.parametrize("task_axis", meta_learning.TASK_AXES)
def test_meta_step_on_eight_devices_equals_one(algorithm, task_axis):
  rng = np.random.default_rng(7)
  b, s, k = 8, 3, 5
  params = {"w": rng.normal(size=(D, C)).astype(np.float32),
            "b": rng.normal(size=C).astype(np.float32)}
  tasks = {"x": rng.normal(size=(b, s, k, D)).astype(np.float32),
           "label": rng.integers(0, C, size=(b, s, k)).astype(np.int32),
           "_mask": rng.random((b, s, k)) < 0.8}
  tx = meta_learning.inner_optimizer("sgd", 0.4, 1.0)
  out = {}
  for n in (1, 8):
    mesh = parallel.make_mesh(n)
    state = parallel.replicate(meta_learning.MetaState(
        step=jnp.int32(0), params=params, constants={"scale": np.float32(1.5)},
        apply_fn=None), mesh)
    step = jax.jit(meta_learning.make_meta_step(_noisy_loss, tx, algorithm, 0.8, anneal_steps=10,
                                       task_axis=task_axis, mesh=mesh),
                   out_shardings=parallel.replicated(mesh))
    key = parallel.replicate(jax.random.key(1), mesh)
    for _ in range(3):
      state, m = step(state, parallel.shard(tasks, mesh), key)
    out[n] = (jax.device_get(state.params), jax.device_get(m))
    assert state.params["w"].sharding.is_fully_replicated
  for name in params:
    np.testing.assert_allclose(out[8][0][name], out[1][0][name], rtol=1e-5, atol=1e-6)
  assert out[8][1]["loss"] == pytest.approx(out[1][1]["loss"], rel=1e-5)
  assert not np.allclose(out[1][0]["w"], params["w"])  # It moved.


def _tiny_aum_config(data_dir, tiny_bert_dir, cache):
  config = aum_cola.get_config("runlocal")
  config.input.data_dir = data_dir
  config.input.cache_dir = cache
  config.model.path = tiny_bert_dir
  config.input.train_size = 64
  config.input.dev_size = 32
  config.input.batch_size = 16  # A multiple of 8: the same padded batches.
  config.input.eval_batch_size = 32
  config.input.buckets = (64,)  # One batch shape: one compile of each step.
  config.input.max_len = 64  # The largest bucket (the schema refuses less).
  config.optim.lr = 1e-3
  return config


@eight_only
def test_aum_run_on_eight_devices_equals_one(tmp_path, data_dir, tiny_bert_dir):
  """Per-example AUM / data-map accumulators and dev metrics, batch split 8 ways."""
  config = _tiny_aum_config(data_dir, tiny_bert_dir, str(tmp_path / "cache"))
  learner = text.TextClassifier(config)
  labels = learner.train.labels.astype(np.int32)
  thr = np.arange(0, 64, 5)  # Any fixed set of threshold samples.
  res = {}
  for n in (1, 8):
    with config.unlocked():
      config.num_devices = n
    res[n] = aum.aum_run(config, str(tmp_path / f"w{n}"), learner, labels, 2, thr, "run")
  assert res[8]["count"].tolist() == res[1]["count"].tolist() == [2] * 64
  for key in ("aum", "margin_EN", "prob_EN", "confidence", "variability"):
    np.testing.assert_allclose(res[8][key], res[1][key], rtol=1e-4, atol=2e-4, err_msg=key)
  np.testing.assert_array_equal(res[8]["correct_EN"], res[1]["correct_EN"])
  dev = [json.load(open(tmp_path / f"w{n}" / "run" / "metrics.json"))["dev"] for n in (1, 8)]
  assert dev[0]["accuracy"] == pytest.approx(dev[1]["accuracy"], abs=1 / 32 + 1e-9)


def _free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


# Runs noisy_meta.main, logging every file it opens for writing (and every
# rename) under the workdir: process 1 must leave no artifact behind.
_AUDITED_MAIN = r"""
import os, runpy, sys
log_path, workdir = sys.argv[1], os.path.realpath(sys.argv[2])
log = open(log_path, "w")
def hook(event, args):
  if event == "open" and isinstance(args[0], str) and args[1] and any(
      c in str(args[1]) for c in "wax+"):
    path = os.path.realpath(args[0])
  elif event in ("os.rename", "os.replace") and isinstance(args[1], str):
    path = os.path.realpath(args[1])
  else:
    return
  if path.startswith(workdir + os.sep):
    log.write(os.path.relpath(path, workdir) + "\n")
    log.flush()
sys.addaudithook(hook)
sys.argv = ["noisy_meta.main"] + sys.argv[3:]
runpy.run_module("noisy_meta.main", run_name="__main__")
"""


def _aum_job(workdir, args, env, audit_log):
  """The job in a subprocess; output to audit_log + '.out' (a file, not a pipe:
  a full pipe would stall one process and with it the other's collectives)."""
  cmd = [sys.executable, "-c", _AUDITED_MAIN, audit_log, workdir,
         "--config=configs/aum_cola.py:runlocal", f"--workdir={workdir}"] + args
  with open(audit_log + ".out", "w") as out:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _aum_csv(workdir):
  with open(os.path.join(workdir, "examples.csv"), encoding="utf-8") as f:
    return {r["id"]: r for r in csv.DictReader(f)}


@eight_only
def test_two_processes_runlocal_aum_job_matches_one(tmp_path, data_dir, tiny_bert_dir):
  """jax.distributed on localhost (gloo CPU collectives), one device each,
  vs the same job on one device in this process."""
  config = _tiny_aum_config(data_dir, tiny_bert_dir, str(tmp_path / "cache"))
  with config.unlocked():
    config.clean.methods = config.clean.seeds = ()  # The two AUM runs only.
    config.num_devices = 1
  one = str(tmp_path / "one")
  aum.train_and_evaluate(config, one)

  args = [f"--config.model.path={tiny_bert_dir}", f"--config.input.data_dir={data_dir}",
          f"--config.input.cache_dir={tmp_path / 'cache'}", "--config.input.train_size=64",
          "--config.input.dev_size=32", "--config.input.batch_size=16",
          "--config.input.eval_batch_size=32", "--config.input.buckets=(64,)",
          "--config.input.max_len=64", "--config.optim.lr=0.001", "--config.clean.methods=()",
          "--config.clean.seeds=()"]
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1",
             JAX_PLATFORMS="cpu", NOISY_META_DISTRIBUTED="1",
             JAX_COORDINATOR_ADDRESS=f"localhost:{_free_port()}",
             NOISY_META_NUM_PROCESSES="2")
  two = str(tmp_path / "two")
  procs = [_aum_job(two, args, dict(env, NOISY_META_PROCESS_ID=str(i)),
                    str(tmp_path / f"audit_{i}.txt")) for i in range(2)]
  for q in procs:
    q.wait(timeout=900)
  outs = [open(str(tmp_path / f"audit_{i}.txt.out")).read() for i in range(2)]
  for q, o in zip(procs, outs):
    assert q.returncode == 0, o[-3000:]
  assert "Process 1 of 2; 1 local / 2 global devices" in outs[1]

  a, b = _aum_csv(one), _aum_csv(two)
  assert a.keys() == b.keys() and len(a) == 64
  for i in a:
    assert float(b[i]["aum"]) == pytest.approx(float(a[i]["aum"]), abs=2e-4), i
    assert (b[i]["label"], b[i]["judged_in_run"]) == (a[i]["label"], a[i]["judged_in_run"])
  # Process 0 wrote the artifacts; process 1 wrote none (checkpoints aside:
  # orbax has every process take part in saving).
  written = [open(str(tmp_path / f"audit_{i}.txt")).read().split() for i in range(2)]
  artifacts = ("examples.csv", "summary.json", "report.md", "config.json")
  assert all(any(w.startswith(name) for w in written[0]) for name in artifacts), written[0]
  assert not [w for w in written[1] if "ckpt" not in w.split(os.sep)], written[1]
