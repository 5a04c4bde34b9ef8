"""A finished fine-tuning workdir damaged in each way of issue 33 (item 3) is
repaired or refused with one line; a repaired rerun ends with the undamaged
run's metrics.json (less its wall-clock field) and final parameters.

The runs are the toy learner's (tests/toy_learner.py) through
`supervised.fit`, 24 steps in seconds; the kill is a real SIGKILL of a
subprocess, sent by an audit hook as a checkpoint is renamed into place.
"""
import json
import logging
import os
import re
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import aum as aum_config
from noisy_meta import learners
from noisy_meta.core import checkpoint
from noisy_meta.core import errors
from noisy_meta.trainers import stages
from noisy_meta.trainers import supervised
import toy_learner

learners.register("toy", toy_learner.ToyLearner.__module__, "ToyLearner")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WALL_CLOCK = ("train_seconds",)


def _config():
  """4 epochs of 6 steps; checkpoints every 4 steps and at epoch ends (the
  two newest kept: a finished workdir holds steps 20 and 24)."""
  c = aum_config.get_config("runlocal")
  with c.unlocked():
    c.learner, c.num_epochs, c.precompile = "toy", 4, False
    c.input.train_size, c.input.batch_size, c.optim.lr = 96, 16, 0.5
    c.log_every, c.checkpoint_every = 2, 4
  return c


def _fit(workdir):
  config = _config()
  learner = learners.get("toy")(config)
  result, state = supervised.fit(config, str(workdir), learner, learner.train)
  return result, jax.device_get(state.params)


def _outputs(workdir):
  """metrics.json less its wall-clock fields."""
  m = json.load(open(os.path.join(workdir, "metrics.json")))
  return {k: v for k, v in m.items() if k not in WALL_CLOCK}


def _steps(workdir):
  """The committed checkpoint steps in workdir/ckpt."""
  return sorted(int(n) for n in os.listdir(os.path.join(workdir, "ckpt")) if n.isdigit())


def _assert_same_params(a, b):
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def done(tmp_path_factory):
  """The undamaged finished workdir: (path, its outputs, final parameters)."""
  w = tmp_path_factory.mktemp("damage") / "done"
  _, params = _fit(w)
  assert _steps(w) == [20, 24]
  return w, _outputs(w), params


@pytest.fixture
def copy(done, tmp_path):
  w = tmp_path / "w"
  shutil.copytree(done[0], w)
  return w


def _rerun_equals(done, w):
  result, params = _fit(w)
  assert _outputs(w) == done[1]
  _assert_same_params(params, done[2])
  return result


def _refused(w, pattern):
  """The rerun stops with an InputError of one line matching `pattern`."""
  with pytest.raises(errors.InputError) as e:
    _fit(w)
  assert "\n" not in str(e.value), str(e.value)
  assert re.search(pattern, str(e.value)), str(e.value)
  return str(e.value)


def _cut(path, keep):
  data = open(path, "rb").read()
  open(path, "wb").write(data[:keep] if keep >= 0 else data[:len(data) + keep])


# config.json

@pytest.mark.parametrize("text, why", [
    ("{}", r"it has no seed, trainer, num_epochs: every config.json has had them"),
    ("[]", r"a JSON list, not an object"),
    ('"seed"', r"a JSON str, not an object"),
])
def test_config_json_emptied_or_not_an_object_is_refused(copy, text, why):
  before = {p: open(copy / p, "rb").read() for p in ("metrics.json", "metrics.jsonl")}
  (copy / "config.json").write_text(text)
  msg = _refused(copy, rf"^{copy}/config.json: not this workdir's config file \({why}\); "
                 r"this workdir's config is unknown: restore the file, use a new --workdir, "
                 r"or --config.overwrite_config=True to resume here with this run's config")
  assert (copy / "config.json").read_text() == text, msg  # Nothing touched.
  assert all(open(copy / p, "rb").read() == b for p, b in before.items())


def test_config_json_missing_core_or_most_fields_is_refused(copy):
  full = json.load(open(copy / "config.json"))
  (copy / "config.json").write_text(json.dumps({k: v for k, v in full.items() if k != "seed"}))
  _refused(copy, r"config.json: not this workdir's config file \(it has no seed: ")
  kept = ("seed", "trainer", "num_epochs", "input")
  (copy / "config.json").write_text(json.dumps({k: full[k] for k in kept}))
  _refused(copy, r"config.json: not this workdir's config file \(it lacks \d+ of this "
           r"config's \d+ fields, more than an older version's would\)")


def test_config_json_of_an_older_version_resumes_to_the_same_outputs(done, copy, caplog):
  old = json.load(open(copy / "config.json"))
  del old["debug"], old["overwrite_config"], old["input"]["labels"]  # Added since.
  (copy / "config.json").write_text(json.dumps(old))
  with caplog.at_level(logging.WARNING):
    _rerun_equals(done, copy)
  assert ("config.json has no input.labels (written by an older version); taken as "
          "unchanged.") in caplog.text


def test_overwrite_config_replaces_a_damaged_config_json_keeping_it(done, copy):
  (copy / "config.json").write_text("{}")
  config = _config()
  with config.unlocked():
    config.overwrite_config = True
  learner = learners.get("toy")(config)
  supervised.fit(config, str(copy), learner, learner.train)
  assert (copy / "config.prev1.json").read_text() == "{}"
  assert json.load(open(copy / "config.json"))["seed"] == 0


# data.json

@pytest.mark.parametrize("text, why", [
    ("[]", r"a JSON list, not an object"),
    ("{}", r"it has no fingerprint of train, dev"),
    ('{"train": {"examples": "96", "sha256": "x"}}',
     r'train: expected \{"examples": a count, "sha256": 64 hex digits\}, found '),
    ('{"train": [96]}', r"train: expected "),
])
def test_data_json_of_another_shape_is_refused(copy, text, why):
  (copy / "data.json").write_text(text)
  _refused(copy, rf"^{copy}/data.json: not this workdir's data file \({why}.*\); this "
           r"workdir's data is unknown: restore the file, use a new --workdir, or "
           r"--config.overwrite_config=True")
  assert (copy / "data.json").read_text() == text


# Checkpoints

def _step_files(step_dir):
  """The files of one orbax checkpoint step, largest first."""
  files = [os.path.join(d, f) for d, _, fs in os.walk(step_dir) for f in fs]
  return sorted(files, key=lambda p: (-os.path.getsize(p), p))


def test_damaged_newest_checkpoint_falls_back_to_the_one_before(done, copy, caplog, capfd):
  os.remove(copy / "ckpt" / "24" / "default" / "_METADATA")
  with caplog.at_level(logging.WARNING):
    result = _rerun_equals(done, copy)
  assert (f"{copy}/ckpt/24: checkpoint unreadable (no readable metadata); trying the one "
          "before it.") in caplog.text
  assert (f"{copy}/ckpt/24: set aside as {copy}/ckpt.damaged/24; resuming from an older "
          "checkpoint.") in caplog.text
  assert os.path.isdir(copy / "ckpt.damaged" / "24")  # Kept, not deleted.
  assert _steps(copy) == [20, 24]  # 24 saved again.
  assert "Traceback" not in capfd.readouterr().err
  # train_seconds counts the part before the resumed checkpoint too.
  ckpt = checkpoint.Checkpointer(str(done[0]))
  before = ckpt.mngr.metadata(20).custom_metadata["train_seconds"]
  ckpt.close()
  assert result["train_seconds"] > before > 0


@pytest.mark.parametrize("damage", ["removed", "cut in half"])
def test_every_file_of_the_newest_checkpoint_lost_or_cut(done, tmp_path, capfd, damage):
  """Each file of checkpoint 24 in turn: the rerun restores 24 (orbax did
  not need the file) or falls back to 20; either way the same outputs, and
  never a traceback (a failed restore's late reads are kept quiet)."""
  files = [os.path.relpath(f, done[0] / "ckpt" / "24")
           for f in _step_files(done[0] / "ckpt" / "24")]
  assert len(files) >= 8, files
  fell_back = []
  for i, rel in enumerate(sorted(files)):
    w = tmp_path / str(i)
    shutil.copytree(done[0], w)
    f = w / "ckpt" / "24" / rel
    if damage == "removed":
      os.remove(f)
    else:
      _cut(f, os.path.getsize(f) // 2)
    _rerun_equals(done, w)
    if (w / "ckpt.damaged" / "24").exists():
      fell_back.append(rel)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err, (rel, err[-2000:])
  # The files orbax needs: the tree's metadata, the manifest and the data.
  assert "default/_METADATA" in fell_back and "default/manifest.ocdbt" in fell_back
  assert any(r.startswith("default/d/") for r in fell_back), fell_back


def test_no_readable_checkpoint_is_refused_naming_the_folder(copy):
  for step in ("20", "24"):
    os.remove(_step_files(copy / "ckpt" / step)[0])
  msg = _refused(copy, rf"^{copy}/ckpt: no readable checkpoint \(step 24: .*; step 20: .*\)\. "
                 rf"Delete {copy}/ckpt to train from the start, or use a new --workdir\.$")
  assert len(msg) < 1200
  assert _steps(copy) == [20, 24]  # Nothing moved.


# metrics.jsonl

def test_metrics_log_with_a_torn_last_line_is_repaired(done, copy, caplog):
  _cut(copy / "metrics.jsonl", -20)  # The final dev row, cut by a kill.
  with caplog.at_level(logging.WARNING):
    _rerun_equals(done, copy)
  assert "metrics.jsonl" in caplog.text and "the last line was cut" in caplog.text
  assert (copy / "metrics.jsonl").read_bytes().endswith(b"\n")


def test_metrics_log_damaged_in_the_middle_is_refused_naming_the_line(copy):
  lines = (copy / "metrics.jsonl").read_text().splitlines(keepends=True)
  lines[2] = lines[2][:len(lines[2]) // 2] + "\n"
  (copy / "metrics.jsonl").write_text("".join(lines))
  before = (copy / "metrics.jsonl").read_bytes()
  _refused(copy, rf"^{copy}/metrics.jsonl:3: a damaged line in the metrics log \(.*\): "
           r".*; only a cut last line is repaired: restore the line or delete it, then rerun\.$")
  assert (copy / "metrics.jsonl").read_bytes() == before
  lines[2] = '["step", 4]\n'
  (copy / "metrics.jsonl").write_text("".join(lines))
  _refused(copy, r"metrics.jsonl:3: a damaged line in the metrics log \(not a JSON object "
           r"with an integer step\)")


# A finished stage's metrics.json (AUM, MLRC)

@pytest.mark.parametrize("text, why", [
    ("[1, 2]", "a JSON list, not an object"),
    ('{"dev": {"accuracy": 1.0}}', "no valid steps, train_seconds"),
    ('{"dev": {}, "steps": 3, "train_seco', "not readable JSON: "),
])
def test_damaged_stage_results_are_retrained_or_refused(copy, caplog, text, why):
  (copy / "metrics.json").write_text(text)
  with caplog.at_level(logging.WARNING):
    assert stages.finished(str(copy)) is None
  assert f"{copy}/metrics.json: a finished stage's results, but {why}" in caplog.text
  assert "kept as metrics.json.damaged, the stage is trained again" in caplog.text
  assert (copy / "metrics.json.damaged").read_text() == text
  assert not (copy / "metrics.json").exists()
  # With results made from it (an AUM run's dynamics.npz): refused.
  (copy / "metrics.json").write_text(text)
  (copy / "dynamics.npz").write_bytes(b"")
  with pytest.raises(errors.InputError, match=rf"^{copy}/metrics.json: a finished stage's "
                     rf"results, but {why}.*; its dynamics.npz was made by the same run: "
                     rf"restore the file, or delete {copy} to train this stage again\.$"):
    stages.finished(str(copy))


def test_stage_results_read_back(done):
  assert stages.finished(str(done[0]))["steps"] == 24


# Killed mid-training, then the newest checkpoint damaged.

_KILLED = r"""
import os, re, signal, sys
sys.path.insert(0, os.path.join(os.getcwd(), "tests"))
workdir = os.path.realpath(sys.argv[1])
def hook(event, args):
  if event in ("os.rename", "os.replace") and isinstance(args[1], (str, os.PathLike)):
    path = os.path.realpath(os.fspath(args[1]))
    if os.path.relpath(path, workdir) == "ckpt/16":
      os.kill(os.getpid(), signal.SIGKILL)
sys.addaudithook(hook)
import damage_test
damage_test._fit(sys.argv[1])
"""


def test_killed_run_with_its_newest_checkpoint_damaged_ends_like_an_uninterrupted_one(
    done, tmp_path, caplog):
  w = tmp_path / "killed"
  r = subprocess.run([sys.executable, "-c", _KILLED, str(w)], cwd=ROOT, env=dict(os.environ),
                     capture_output=True, text=True, timeout=600)
  assert r.returncode == -9, r.stderr[-3000:]
  assert _steps(w) == [8, 12]
  assert not (w / "metrics.json").exists()
  os.remove(_step_files(w / "ckpt" / "12")[0])
  with caplog.at_level(logging.INFO):
    _rerun_equals(done, w)
  assert f"{w}/ckpt/12: checkpoint unreadable" in caplog.text
  assert "Resuming from checkpoint at step 8." in caplog.text


def test_an_aum_stage_with_damaged_arrays_is_refused_naming_it(tmp_path):
  """A finished AUM run's dynamics.npz cut short, or of another job's size, is
  one line naming the file and the stage to delete; never trusted."""
  from noisy_meta import trainers  # pylint: disable=g-import-not-at-top
  config = _config()
  with config.unlocked():
    config.trainer, config.clean.detector, config.num_epochs = "aum", "aum", 2
    config.clean.methods = ()
  job = trainers.get("aum")
  job.train_and_evaluate(config, str(tmp_path))
  path = tmp_path / "aum_run1" / "dynamics.npz"
  data = path.read_bytes()
  path.write_bytes(data[:len(data) // 2])
  with pytest.raises(errors.InputError, match=re.escape(
      f"{path}: a finished stage's arrays, but not readable")) as e:
    job.train_and_evaluate(config, str(tmp_path))
  assert f"delete {tmp_path / 'aum_run1'} to train this stage again" in str(e.value)
  with np.load(tmp_path / "aum_run2" / "dynamics.npz") as z:
    arrays = dict(z)
  arrays["aum"] = arrays["aum"][:-1]
  np.savez(path, **arrays)
  with pytest.raises(errors.InputError, match=r"holds aum of 95 rows for 96 training"):
    job.train_and_evaluate(config, str(tmp_path))
  shutil.rmtree(tmp_path / "aum_run1")  # As the message says: the stage trains again.
  assert job.train_and_evaluate(config, str(tmp_path))["examples"] == 96
