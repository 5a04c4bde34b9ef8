"""Faults and bad input across jobs: NaN losses, preemption (SIGKILL), determinism,
atomic artifacts, a workdir reused with another config, foreign checkpoints,
unwritable workdirs and full disks.

Subprocess runs go through `noisy_meta.main` under `_HARNESS`, which records
(with a Python audit hook) every file opened for writing and every rename in
the workdir, and can inject a fault: SIGKILL the process when a given file is
renamed into place (an orbax checkpoint committed), or make opening a file
for writing fail with ENOSPC or EACCES.
"""
import csv
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from configs import finetune_tsv
from configs import finetune_cola
from noisy_meta.core import atomic
from noisy_meta.core import checkpoint
from noisy_meta.core import errors
from noisy_meta.core import guards
from noisy_meta.core import writers
from noisy_meta.trainers import supervised

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_HARNESS = r"""
import errno, os, re, runpy, signal, sys
log_path, workdir, fault = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3]
kind, _, pattern = fault.partition(":")
log = open(log_path, "w")
def hook(event, args):
  if event == "open" and isinstance(args[0], str) and args[1] and any(
      c in str(args[1]) for c in "wax+"):
    what, path = "open", args[0]
  elif event in ("os.rename", "os.replace") and isinstance(args[1], (str, os.PathLike)):
    what, path = "rename", os.fspath(args[1])
  else:
    return
  path = os.path.realpath(path)
  if not path.startswith(workdir + os.sep):
    return
  rel = os.path.relpath(path, workdir)
  log.write(f"{what}\t{rel}\n")
  log.flush()
  if kind == "kill" and what == "rename" and re.fullmatch(pattern, rel):
    os.kill(os.getpid(), signal.SIGKILL)
  if kind in ("enospc", "eacces") and what == "open" and re.fullmatch(pattern, rel):
    code = errno.ENOSPC if kind == "enospc" else errno.EACCES
    raise OSError(code, os.strerror(code), path)
sys.addaudithook(hook)
sys.argv = ["noisy_meta.main"] + sys.argv[4:]
runpy.run_module("noisy_meta.main", run_name="__main__")
"""


def _main(workdir, args, tmp_path, fault="", name="run"):
  """Runs main under the harness; returns (returncode, output, audit rows)."""
  log = str(tmp_path / f"{name}.audit")
  env = dict(os.environ, JAX_PLATFORMS="cpu",
             XLA_FLAGS="--xla_force_host_platform_device_count=1")
  r = subprocess.run([sys.executable, "-c", _HARNESS, log, str(workdir), fault,
                      f"--workdir={workdir}", *args], cwd=ROOT, env=env,
                     capture_output=True, text=True, timeout=900)
  rows = [l.rstrip("\n").split("\t") for l in open(log)] if os.path.exists(log) else []
  return r.returncode, r.stdout + r.stderr, rows


def _toy_tsv(folder):
  """A tiny separable task in two TSV files (16 train, 4 dev)."""
  train = "sentence\tlabel\n" + "".join(
      f"{w} {w} {w}\t{lab}\n" for _ in range(4)
      for w, lab in (("good", "pos"), ("great", "pos"), ("bad", "neg"), ("awful", "neg")))
  (folder / "train.tsv").write_text(train)
  (folder / "dev.tsv").write_text("sentence\tlabel\ngood great\tpos\nbad awful\tneg\n"
                                  "great good\tpos\nawful bad\tneg\n")


def _toy_args(folder, tiny_bert_dir, *extra):
  """main flags: the toy task, tiny BERT, 4 steps an epoch, 2 epochs."""
  return ["--config=configs/finetune_tsv.py:runlocal", f"--config.model.path={tiny_bert_dir}",
          f"--config.input.train_file={folder}/train.tsv",
          f"--config.input.dev_file={folder}/dev.tsv", f"--config.input.cache_dir={folder}/cache",
          "--config.input.train_size=0", "--config.input.dev_size=0",
          "--config.input.batch_size=4", "--config.input.buckets=(16,)",
          "--config.input.max_len=16",
          "--config.num_epochs=2", "--config.log_every=3", "--config.checkpoint_every=2",
          "--config.optim.lr=0.001", *extra]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory, tiny_bert_dir):
  """A finished toy fine-tuning run made by main: (folder, workdir, args)."""
  folder = tmp_path_factory.mktemp("toy")
  _toy_tsv(folder)
  args = _toy_args(folder, tiny_bert_dir)
  rc, out, _ = _main(folder / "w", args, folder)
  assert rc == 0, out[-3000:]
  return folder, folder / "w", args


def _snapshot(workdir):
  """{relative path: bytes} of every file under workdir but ckpt/ and tb/."""
  out = {}
  for d, _, files in os.walk(workdir):
    rel = os.path.relpath(d, workdir)
    if rel.split(os.sep)[0] in ("ckpt", "tb"):
      continue
    for f in files:
      out[os.path.normpath(os.path.join(rel, f))] = open(os.path.join(d, f), "rb").read()
  return out


# NaN / Inf loss.

def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(toy_run, tmp_path):
  folder, _, args = toy_run
  w = tmp_path / "w"
  rc, out, _ = _main(w, args + ["--config.debug.nan_at_step=5"], tmp_path)
  assert rc == 3, out[-3000:]
  assert "Traceback" not in out
  line = [l for l in out.splitlines() if l.startswith("error:")]
  assert line and "Loss is nan at step 5." in line[0], out[-3000:]
  assert f"the last good checkpoint (step 4) is kept in {w}/ckpt" in line[0]
  assert sorted(os.listdir(w / "ckpt")) == ["2", "4"]  # Nothing saved at or after 5.
  assert not os.path.exists(w / "metrics.json")
  # The same command without the fault resumes from step 4 and ends like the
  # uninterrupted run.
  rc, out, _ = _main(w, args, tmp_path)
  assert rc == 0, out[-3000:]
  assert "Resuming from checkpoint at step 4" in out
  got = json.load(open(w / "metrics.json"))
  want = json.load(open(toy_run[1] / "metrics.json"))
  assert got["steps"] == want["steps"] == 8
  assert got["dev_history"] == want["dev_history"]


def test_nan_check_names_the_first_bad_step_between_log_steps():
  pending = [{"loss": np.float32(1.0)}, {"loss": np.float32(np.inf)},
             {"loss": np.float32(np.nan)}]
  with pytest.raises(FloatingPointError, match=r"Loss is inf at step 8\."):
    writers.check_finite(pending, 9)
  writers.check_finite(pending[:1], 7)
  writers.check_finite([], 7)


def test_inject_nan_is_the_identity_when_off():
  step = lambda s, b, r: (s, {"loss": 1.0})
  assert guards.inject_nan(step, -1) is step


# Atomic writes.

def test_ctrl_c_waits_for_a_save_and_sticks_when_python_swallows_it():
  """Ctrl-C inside `uninterrupted` (an orbax save) is raised after the block;
  one swallowed elsewhere (JAX's garbage-collector callback swallows
  exceptions) is raised again by `raise_if_interrupted`."""
  import signal  # pylint: disable=g-import-not-at-top
  before = signal.getsignal(signal.SIGINT)
  try:
    guards.catch_ctrl_c()
    guards.raise_if_interrupted()  # Nothing pressed yet.
    finished = []
    with pytest.raises(KeyboardInterrupt):
      with guards.uninterrupted():
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # The handler runs between bytecodes.
          pass
        finished.append(True)
    assert finished
    guards.catch_ctrl_c()
    try:
      os.kill(os.getpid(), signal.SIGINT)
      for _ in range(1000):
        pass
    except KeyboardInterrupt:
      pass  # Swallowed, as in a gc callback.
    with pytest.raises(KeyboardInterrupt):
      guards.raise_if_interrupted()
  finally:
    signal.signal(signal.SIGINT, before)
    guards._CTRL_C.clear()  # pylint: disable=protected-access


def test_ctrl_c_in_a_gc_callback_is_remembered_not_printed(monkeypatch):
  """Ctrl-C pressed while a garbage-collector callback runs (JAX's does, at
  any allocation) is swallowed there by Python, which would print "Exception
  ignored" with a traceback: it is not printed, it is pressed again just
  after, and the loop raises it at its next step if that comes first."""
  import gc  # pylint: disable=g-import-not-at-top
  import signal  # pylint: disable=g-import-not-at-top
  unraisable, ran = [], []
  monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

  def callback(phase, info):
    del info
    if phase == "start" and not ran:
      ran.append(True)
      os.kill(os.getpid(), signal.SIGINT)
      for _ in range(1000):  # The handler runs here, between bytecodes.
        pass

  before = signal.getsignal(signal.SIGINT)
  gc.callbacks.append(callback)
  try:
    guards.catch_ctrl_c()
    gc.collect()
    assert ran and not unraisable, [u.exc_type for u in unraisable]
    with pytest.raises(KeyboardInterrupt):  # Pressed again, outside the callback.
      time.sleep(5)
    with pytest.raises(KeyboardInterrupt):  # And remembered.
      guards.raise_if_interrupted()
    # Raised by the loop first: not pressed again.
    ran.clear()
    guards.catch_ctrl_c()
    gc.collect()
    with pytest.raises(KeyboardInterrupt):
      guards.raise_if_interrupted()
    time.sleep(0.3)  # A second press would raise in here.
    # Other swallowed exceptions still reach the hook before ours.
    class Finalized:  # pylint: disable=too-few-public-methods
      def __del__(self):
        raise ValueError("in a finalizer")
    Finalized()
    assert [u.exc_type for u in unraisable] == [ValueError]
  finally:
    gc.callbacks.remove(callback)
    signal.signal(signal.SIGINT, before)
    guards._CTRL_C.clear()  # pylint: disable=protected-access


def test_atomic_path_leaves_the_old_file_when_the_write_fails(tmp_path):
  p = tmp_path / "a.csv"
  atomic.write_text(str(p), "old\n")
  with pytest.raises(OSError):
    with atomic.path(str(p)) as tmp, open(tmp, "w") as f:
      f.write("half")
      raise OSError(errno.ENOSPC, "No space left on device", tmp)
  assert p.read_text() == "old\n" and os.listdir(tmp_path) == ["a.csv"]


def test_metric_log_cut_by_a_kill_is_repaired_on_resume(tmp_path):
  (tmp_path / "metrics.jsonl").write_text('{"step": 2, "x": 1}\n{"step": 4, "x": 2}\n'
                                          '{"step": 6, "x')
  w = writers.MetricWriter(str(tmp_path), resume_step=4)
  w.close()
  assert (tmp_path / "metrics.jsonl").read_text() == '{"step": 2, "x": 1}\n{"step": 4, "x": 2}\n'


# A workdir reused with another config; a checkpoint of another model.

def test_workdir_with_another_config_is_an_error_naming_the_fields(tmp_path):
  config = finetune_cola.get_config("runlocal")
  guards.check_config(str(tmp_path), config)  # Writes config.json.
  guards.check_config(str(tmp_path), config)  # The same: fine.
  with config.unlocked():
    config.num_devices = 1  # Resumable fields may change.
    config.input.cache_dir = "/elsewhere"
    config.debug.nan_at_step = 3
  guards.check_config(str(tmp_path), config)
  config.optim.lr = 0.1
  config.input.train_size = 7
  before = (tmp_path / "config.json").read_bytes()
  with pytest.raises(errors.WorkdirConfigError) as e:
    guards.check_config(str(tmp_path), config)
  msg = str(e.value)
  assert msg.startswith(f"{tmp_path}/config.json: this workdir was made with another config")
  assert "input.train_size: 256 there, 7 now" in msg and "optim.lr: 5e-05 there, 0.1 now" in msg
  assert (tmp_path / "config.json").read_bytes() == before
  config.overwrite_config = True
  guards.check_config(str(tmp_path), config)
  assert (tmp_path / "config.prev1.json").read_bytes() == before
  assert json.load(open(tmp_path / "config.json"))["optim"]["lr"] == 0.1


def test_config_json_from_an_older_version_without_new_fields_is_accepted(tmp_path):
  config = finetune_cola.get_config("runlocal")
  old = json.loads(json.dumps(config.to_dict(), default=list))
  del old["debug"], old["overwrite_config"], old["input"]["labels"]
  (tmp_path / "config.json").write_text(json.dumps(old))
  guards.check_config(str(tmp_path), config)
  assert "labels" in json.load(open(tmp_path / "config.json"))["input"]
  (tmp_path / "config.json").write_text('{"seed": 0, "inp')  # Cut short.
  with pytest.raises(errors.WorkdirConfigError, match="config.json: not a readable config"):
    guards.check_config(str(tmp_path), config)


def test_config_json_with_a_moved_field_resumes_under_its_new_name(tmp_path):
  """Relation and MLRC workdirs stored `train_size` at the top before it moved
  to `input.train_size`: the same value resumes, another is refused."""
  from configs import re_semeval  # pylint: disable=g-import-not-at-top
  config = re_semeval.get_config("runlocal")
  old = json.loads(json.dumps(config.to_dict(), default=list))
  old["train_size"] = old["input"].pop("train_size")
  (tmp_path / "config.json").write_text(json.dumps(old))
  guards.check_config(str(tmp_path), config)
  old["train_size"] += 1
  (tmp_path / "config.json").write_text(json.dumps(old))
  with pytest.raises(errors.WorkdirConfigError, match=r"input.train_size: 301 there, 300 now"):
    guards.check_config(str(tmp_path), config)


def test_main_refuses_a_workdir_made_with_another_config(toy_run, tmp_path):
  _, done, args = toy_run
  w = tmp_path / "w"
  shutil.copytree(done, w)
  before = _snapshot(w)
  rc, out, rows = _main(w, args + ["--config.optim.lr=0.01", "--config.seed=3"], tmp_path)
  assert rc == 2, out[-3000:]
  line = [l for l in out.splitlines() if l.startswith("error:")][0]
  assert f"{w}/config.json: this workdir was made with another config" in line
  assert "optim.lr: 0.001 there, 0.01 now" in line and "seed: 0 there, 3 now" in line
  assert "This run's config: configs/finetune_tsv.py:runlocal." in line
  assert not rows and _snapshot(w) == before  # Nothing written.


def test_main_verifies_a_damaged_workdir_before_trusting_it(toy_run, tmp_path):
  """Issue 33 through main (tests/damage_test.py has every case): an emptied
  config.json is one error line, nothing written; the newest checkpoint with
  a file missing falls back to the one before, to the same metrics.json."""
  _, done, args = toy_run
  w = tmp_path / "w"
  shutil.copytree(done, w)
  (w / "config.json").write_text("{}")
  rc, out, rows = _main(w, args, tmp_path, name="empty")
  assert rc == 2 and "Traceback" not in out, out[-3000:]
  errs = [l for l in out.splitlines() if l.startswith("error:")]
  assert len(errs) == 1 and errs[0].startswith(
      f"error: {w}/config.json: not this workdir's config file (it has no seed, trainer, "
      "num_epochs: every config.json has had them)"), out[-3000:]
  assert not rows
  shutil.copy(done / "config.json", w / "config.json")
  files = [os.path.join(d, f) for d, _, fs in os.walk(w / "ckpt" / "8") for f in fs]
  os.remove(max(files, key=os.path.getsize))
  rc, out, _ = _main(w, args, tmp_path, name="fallback")
  assert rc == 0 and "Traceback" not in out, out[-3000:]
  assert f"{w}/ckpt/8: checkpoint unreadable" in out and "at step 6." in out, out[-3000:]
  strip = lambda p: {k: v for k, v in json.load(open(p)).items() if k != "train_seconds"}
  assert strip(w / "metrics.json") == strip(done / "metrics.json")


def test_checkpoint_of_another_model_is_an_input_error_naming_it(toy_run, tmp_path,
                                                                 tiny_bert_dir):
  folder, done, _ = toy_run
  # Three classes instead of two: the head's shape differs from the checkpoint's.
  (tmp_path / "train.tsv").write_text("sentence\tlabel\na b\tx\nc d\ty\ne f\tz\n")
  config = finetune_tsv.get_config("runlocal")
  config.input.train_file = str(tmp_path / "train.tsv")
  config.input.dev_file = str(tmp_path / "train.tsv")
  config.input.train_size = config.input.dev_size = 0
  config.input.cache_dir = str(folder / "cache")
  config.model.path = tiny_bert_dir
  w = tmp_path / "w"
  shutil.copytree(done / "ckpt", w / "ckpt")
  with pytest.raises(errors.InputError) as e:
    supervised.train_and_evaluate(config, str(w))
  msg = str(e.value)
  assert msg.startswith(f"{w}/ckpt/8: this checkpoint does not fit the model and config")
  assert re.search(r"params/classifier/kernel: checkpoint \(32, 2\) != model \(32, 3\)", msg), msg


# Unwritable workdir, full disk.

def test_unwritable_workdir_is_an_error_naming_it(toy_run, tmp_path):
  _, _, args = toy_run
  (tmp_path / "file").write_text("not a folder")
  rc, out, _ = _main(tmp_path / "file" / "w", args, tmp_path)
  assert rc == 2 and "Traceback" not in out, out[-3000:]
  assert f"error: [Errno 20] Not a directory: '{tmp_path}/file/w'" in out
  # Permission denied (simulated: the tests run as root) on the first file.
  rc, out, _ = _main(tmp_path / "w", args, tmp_path, fault="eacces:.*config.json.*")
  assert rc == 2 and "Traceback" not in out, out[-3000:]
  assert re.search(rf"error: \[Errno 13\] Permission denied: '{tmp_path}/w/\.config\.json\.tmp",
                   out), out[-3000:]
  assert not os.listdir(tmp_path / "w")


def test_full_disk_keeps_earlier_results_intact(toy_run, tmp_path):
  _, done, args = toy_run
  w = tmp_path / "w"
  shutil.copytree(done, w)
  before = _snapshot(w)
  # Rerunning the finished run rewrites metrics.json: the disk is full then.
  rc, out, rows = _main(w, args, tmp_path, fault=r"enospc:\.metrics\.json\.tmp.*")
  assert rc == 2 and "Traceback" not in out, out[-3000:]
  assert re.search(rf"error: \[Errno 28\] No space left on device: '{w}/\.metrics\.json\.tmp",
                   out), out[-3000:]
  after = _snapshot(w)
  assert after["metrics.json"] == before["metrics.json"]
  assert after["config.json"] == before["config.json"]
  assert not [f for f in after if ".tmp" in f]


# Preemption, determinism and atomic artifacts, on the :runlocal job configs.

def _aum_args(data_dir, tiny_bert_dir, cache, *extra):
  """The AUM job (detection: both AUM runs, no retrains) on 96 CoLA sentences,
  6 steps an epoch, 2 epochs, a checkpoint every 2 steps."""
  return ["--config=configs/aum_cola.py:runlocal", f"--config.model.path={tiny_bert_dir}",
          f"--config.input.data_dir={data_dir}", f"--config.input.cache_dir={cache}",
          "--config.input.train_size=96", "--config.input.dev_size=32",
          "--config.input.batch_size=16", "--config.input.eval_batch_size=32",
          "--config.input.buckets=(32, 64)", "--config.input.max_len=64", "--config.optim.lr=0.001",
          "--config.checkpoint_every=2", "--config.clean.seeds=()",
          "--config.clean.methods=()", *extra]


def _read(path):
  with open(path, "rb") as f:
    return f.read()


def _final_files(workdir):
  """Artifacts a reader takes as results: all but checkpoints and append-only logs."""
  out = []
  for d, _, files in os.walk(workdir):
    rel = os.path.relpath(d, workdir)
    if "ckpt" in rel.split(os.sep) or "tb" in rel.split(os.sep):
      continue
    out += [os.path.normpath(os.path.join(rel, f)) for f in files if f != "metrics.jsonl"]
  return sorted(out)


def _assert_only_renamed_into_place(workdir, rows):
  """Every artifact was written under a temporary name and renamed into place;
  nothing but the append-only logs was opened for writing under its final name."""
  finals = _final_files(workdir)
  opened = {p for what, p in rows if what == "open"}
  renamed = {p for what, p in rows if what == "rename"}
  assert finals
  for f in finals:
    assert f not in opened, f"{f} was opened for writing under its final name"
    assert f in renamed, f"{f} was not renamed into place"
  for p in opened:
    name = os.path.basename(p)
    assert (".tmp" in name or name == "metrics.jsonl" or p.split(os.sep)[0] in ("tb",)
            or "tb" in p.split(os.sep) or "ckpt" in p.split(os.sep)), p
  assert not [f for f in finals if ".tmp" in f]


@pytest.mark.job
def test_aum_job_killed_mid_epoch_resumes_to_the_same_csv_deterministic_and_atomic(
    tmp_path, data_dir, tiny_bert_dir):
  cache = tmp_path / "cache"
  args = _aum_args(data_dir, tiny_bert_dir, cache)
  # Uninterrupted, audited.
  a = tmp_path / "a"
  rc, out, rows = _main(a, args, tmp_path, name="a")
  assert rc == 0, out[-3000:]
  _assert_only_renamed_into_place(a, rows)
  # SIGKILL as the checkpoint of step 10 is about to be committed in the
  # first AUM run (the hook runs before the rename): the newest checkpoint is
  # step 8, epoch 2 of 2, step 2 of 6. The same command then resumes.
  b = tmp_path / "b"
  rc, out, rows = _main(b, args, tmp_path, fault=r"kill:aum_run1/ckpt/10", name="b")
  assert rc == -9, out[-3000:]
  assert not os.path.exists(b / "aum_run1" / "dynamics.npz")
  assert not os.path.exists(b / "examples.csv")
  rc, out, _ = _main(b, args, tmp_path, name="b2")
  assert rc == 0, out[-3000:]
  assert "Resuming from checkpoint at step 8" in out
  # Determinism: the killed and resumed job gives the uninterrupted one's
  # bytes, margins included; another seed gives other margins.
  for name in ("examples.csv", "summary.json", "aum_run1/dynamics.npz",
               "aum_run2/dynamics.npz", "noise.npz"):
    assert _read(b / name) == _read(a / name), name
  d = tmp_path / "d"
  rc, out, _ = _main(d, args + ["--config.seed=1"], tmp_path, name="d")
  assert rc == 0, out[-3000:]
  aum_of = lambda w: [float(r["aum"]) for r in csv.DictReader(open(w / "examples.csv"))]
  assert len(aum_of(d)) == len(aum_of(a)) == 96
  assert aum_of(d) != aum_of(a)


def _mlrc_args(*extra):
  """The MLRC job at one fraction, one run: baseline, 4 meta-iterations
  (a checkpoint every 2), fine-tuning."""
  return ["--config=configs/mlrc_semeval.py:runlocal,fraction=0.2", "--config.mlrc.runs=1",
          "--config.model.hidden=32", "--config.model.attn_dim=32", *extra]


@pytest.mark.job
def test_mlrc_job_killed_in_meta_training_resumes_to_the_same_results(tmp_path, data_dir):
  pytest.importorskip("spacy")
  del data_dir  # NOISY_META_DATA_DIR holds it.
  args = _mlrc_args()
  a = tmp_path / "a"
  rc, out, rows = _main(a, args, tmp_path, name="a")
  assert rc == 0, out[-3000:]
  _assert_only_renamed_into_place(a, rows)
  b = tmp_path / "b"
  # Killed as meta-iteration 4's checkpoint is committed: iteration 2's is kept.
  rc, out, _ = _main(b, args, tmp_path, fault=r"kill:frac0\.2/run0/meta/ckpt/4", name="b")
  assert rc == -9, out[-3000:]
  assert os.path.exists(b / "frac0.2" / "run0" / "baseline" / "metrics.json")
  assert not os.path.exists(b / "frac0.2" / "run0" / "mlrc" / "metrics.json")
  assert not os.path.exists(b / "results.json")
  rc, out, _ = _main(b, args, tmp_path, name="b2")
  assert rc == 0, out[-3000:]
  assert "Resuming from checkpoint at step 2" in out  # The meta-iteration count.
  ra, rb = (json.load(open(w / "results.json")) for w in (a, b))
  assert ra == rb
  meta_log = lambda w: [{k: v for k, v in r.items() if "per_sec" not in k} for r in map(
      json.loads, open(w / "frac0.2" / "run0" / "meta" / "metrics.jsonl"))]
  assert meta_log(a) == meta_log(b)
  # Determinism: another seed gives other subsets and scores.
  c = tmp_path / "c"
  rc, out, _ = _main(c, args + ["--config.seed=1"], tmp_path, name="c")
  assert rc == 0, out[-3000:]
  rc_ = json.load(open(c / "results.json"))
  assert rc_["runs"][0]["seed"] == 1
  assert (rc_["runs"][0]["baseline"], rc_["runs"][0]["mlrc"]) != (
      ra["runs"][0]["baseline"], ra["runs"][0]["mlrc"])


@pytest.mark.job
def test_nan_in_relation_and_meta_steps_stops_and_keeps_checkpoints(tmp_path, data_dir):
  pytest.importorskip("spacy")
  from configs import mlrc_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import mlrc as mlrc_trainer  # pylint: disable=g-import-not-at-top
  config = mlrc_semeval.get_config("runlocal,fraction=0.2")
  config.mlrc.runs = 1
  config.model.hidden = config.model.attn_dim = 32  # Small and quick.
  config.num_epochs = 1  # The baseline: 2 steps (60 sentences, batches of 50).
  config.num_devices = 1  # Not the test process's 8 simulated devices: faster here.
  config.input.data_dir = data_dir
  w = tmp_path / "w"
  run = w / "frac0.2" / "run0"
  # In the supervised (baseline) step: no checkpoint yet (one per epoch).
  config.debug.nan_at_step = 2
  with pytest.raises(errors.TrainingDiverged, match=r"baseline: Loss is nan at step 2\. .*"
                                                    r"no checkpoint was saved before it"):
    mlrc_trainer.train_and_evaluate(config, str(w))
  assert not os.path.exists(run / "baseline" / "metrics.json")
  assert not os.path.exists(w / "report.md") and not os.path.exists(w / "results.json")
  # In the meta step: the baseline (2 steps) finishes, meta-iteration 3 diverges.
  config.debug.nan_at_step = 3
  with pytest.raises(errors.TrainingDiverged, match=r"meta: Loss is nan at step 3\. .*"
                                                    r"last good checkpoint \(step 2\)"):
    mlrc_trainer.train_and_evaluate(config, str(w))
  assert os.path.exists(run / "baseline" / "metrics.json")
  assert sorted(os.listdir(run / "meta" / "ckpt")) == ["2"]
  assert not os.path.exists(run / "mlrc" / "metrics.json")
  assert not os.path.exists(w / "report.md") and not os.path.exists(w / "results.json")
  # Without the fault the same command resumes meta-training at iteration 2.
  config.debug.nan_at_step = -1
  out = mlrc_trainer.train_and_evaluate(config, str(w))
  assert 0.0 <= out["runs"][0]["mlrc"] <= 1.0
  meta_log = [json.loads(l) for l in (run / "meta" / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in meta_log] == [2, 4]
  assert "All 1 runs of the grid finished." in (w / "report.md").read_text()
