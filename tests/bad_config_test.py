"""Bad configs and command lines: one `error:` line and exit 2 before any training.

In-process: `validate.check` on the real `:runlocal` configs with one field
changed, the data fingerprint and the workdir lock. Through
`python -m noisy_meta.main`: config-file and flag typos (with suggestions),
--help, a second process on a busy workdir, Ctrl-C, and a training file
changed under a workdir.
"""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from configs import aum_cola
from configs import finetune_tsv
from configs import mlrc_semeval
from configs import re_semeval
from noisy_meta import cli
from noisy_meta.core import errors
from noisy_meta.core import guards
from noisy_meta import validate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# main with Ctrl-C raising KeyboardInterrupt, as in a terminal (a parent
# started in the background may pass SIGINT on ignored).
_WITH_SIGINT = ("import runpy, signal, sys; signal.signal(signal.SIGINT, "
                "signal.default_int_handler); sys.argv[0] = 'noisy_meta.main'; "
                "runpy.run_module('noisy_meta.main', run_name='__main__')")


def FT():  # pylint: disable=invalid-name
  return finetune_tsv.get_config("runlocal")


def AUM():  # pylint: disable=invalid-name
  return aum_cola.get_config("runlocal")


def RE():  # pylint: disable=invalid-name
  return re_semeval.get_config("runlocal")


def GCN():  # pylint: disable=invalid-name
  return re_semeval.get_config("runlocal,model=cgcn")


def ML():  # pylint: disable=invalid-name
  return mlrc_semeval.get_config("runlocal")


def AUM_FULL():  # pylint: disable=invalid-name
  return aum_cola.get_config(None)


def ML_FULL():  # pylint: disable=invalid-name
  return mlrc_semeval.get_config(None)


POSITIVE = "must be an integer in [1, "


def _set(config, key, value):
  *parents, last = key.split(".")
  node = config
  for p in parents:
    node = node[p]
  node[last] = value
  return config


@pytest.mark.parametrize("make", [FT, AUM, RE, GCN, ML, AUM_FULL, ML_FULL])
def test_the_real_configs_pass(make):
  validate.check(make())


@pytest.mark.parametrize("make,key,value,message", [
    (FT, "input.batch_size", 0, "--config.input.batch_size=0: must be an integer in "
     "[1, 1_048_576]."),
    (FT, "input.eval_batch_size", -1, POSITIVE),
    (FT, "checkpoint_every", -1, "--config.checkpoint_every=-1: must be an integer in "
     "[0, 2_147_483_647]."),
    (RE, "eval_every", 0, "--config.eval_every=0: " + POSITIVE),
    (ML, "meta.checkpoint_every", 0, POSITIVE),
    (FT, "log_every", 0, POSITIVE),
    (RE, "log_every", 0, POSITIVE),
    (FT, "num_epochs", 0, POSITIVE),
    (FT, "seed", -1, "--config.seed=-1: must be an integer in [0, 1_073_741_824]."),
    (FT, "input.train_size", -5, "must be an integer in [0, "),
    (RE, "input.train_size", -1, "--config.input.train_size=-1: must be an integer in [0, "),
    (FT, "input.dev_size", -1, "must be an integer in [0, "),
    (FT, "input.buckets", (), "--config.input.buckets=(): give padded lengths as positive, "
     "increasing integers"),
    (FT, "input.buckets", (32, 16), "--config.input.buckets=(32,16):"),
    (FT, "input.buckets", (0,), "--config.input.buckets=(0,):"),
    (FT, "input.max_len", 2, "--config.input.max_len=2: must be an integer in [3, 65536]"),
    (FT, "optim.lr", 0.0, "--config.optim.lr=0.0: must be a finite number > 0."),
    (RE, "optim.lr", -1.0, "must be a finite number > 0."),
    (FT, "model.dropout", 1.0, "--config.model.dropout=1.0: must be a finite number in [0, 1)."),
    (FT, "model.classifier_dropout", -0.1, "must be a finite number in [0, 1)."),
    (RE, "model.word_dropout", 1.5, "--config.model.word_dropout=1.5:"),
    (GCN, "model.gcn_dropout", 1.0, "--config.model.gcn_dropout=1.0:"),
    (AUM, "noise.rate", -0.1, "--config.noise.rate=-0.1: a noise rate must be in [0, 1)"),
    (AUM, "noise.rate", 1.0, "a noise rate must be in [0, 1)"),
    (FT, "trainer", "fintune", "--config.trainer=fintune: did you mean 'finetune'?"),
    (AUM, "aum.threshold_mode", "equl", "did you mean 'equal'? use one of equal, random, capped."),
    (AUM, "noise.kind", "directon", "did you mean 'direction'? use one of uniform, "
     "class_conditional, direction, pair, negative."),
    (AUM, "noise.kind", "direction=0.1,swap=0.1", "Unknown noise kind 'swap'"),
    (AUM, "aum.threshold_divisor", "c-1", "use one of c+1, c."),
    (AUM, "aum.margins", "evl", "--config.aum.margins=evl: did you mean 'eval'?"),
    (AUM, "clean.methods", ("sieve", "flp"), "--config.clean.methods=(sieve,flp): 'flp': did you "
     "mean 'flip'?"),
    (AUM, "aum.percentiles", (10, 150), "--config.aum.percentiles=(10,150): give percentiles "
     "in [0, 100]"),
    (AUM, "clean.percentiles", (1, 50), "--config.clean.percentiles=(1,50): 1 not among "
     "--config.aum.percentiles=(10,50,99)"),
    (AUM, "neighbors.k", 0, POSITIVE),
    (ML, "meta.iterations", 0, POSITIVE),
    (ML, "meta.tasks", 0, POSITIVE),
    (ML, "meta.tasks", 20, "SemEval has 19 relations"),
    (ML, "meta.inner_steps", 0, POSITIVE),
    (ML, "meta.inner_batch", -2, POSITIVE),
    (ML, "meta.algorithm", "reptil", "did you mean 'reptile'?"),
    (ML, "meta.task_axis", "pmap", "use one of auto, vmap, map."),
    (ML, "meta.inner_optim", "rmsprop", "--config.meta.inner_optim=rmsprop: an unknown inner "
     "optimiser: use sgd, adagrad or adam."),
    (ML, "meta.sampling", "uniformly", "did you mean 'uniform'?"),
    (ML, "mlrc.fractions", (0.0,), "--config.mlrc.fractions=(0.0,): give fractions in (0, 1]"),
    (ML, "mlrc.fractions", (0.1, 1.5), "give fractions in (0, 1]"),
])
def test_a_bad_field_is_one_error_naming_the_flag(make, key, value, message):
  with pytest.raises(errors.InputError) as e:
    validate.check(_set(make(), key, value))
  assert message in str(e.value) and "\n" not in str(e.value)


def test_data_fingerprint_names_the_split_that_changed(tmp_path):
  config = FT()
  texts, labels = ["a b", "c d", "e"], np.array([0, 1, 0], np.int32)
  fp = guards.fingerprint(texts, labels)
  assert fp["examples"] == 3
  guards.check_data(tmp_path, config, train=fp)
  guards.check_data(tmp_path, config, train=fp)  # Unchanged: fine.
  with pytest.raises(errors.WorkdirConfigError, match=r"data\.json: this workdir was trained "
                     r"on other data \(train: 3 examples there, 2 now\)\. Use a new --workdir"):
    guards.check_data(tmp_path, config, train=guards.fingerprint(texts[:2], labels[:2]))
  with pytest.raises(errors.WorkdirConfigError, match="train: 3 examples, but other texts"):
    guards.check_data(tmp_path, config, train=guards.fingerprint(texts, 1 - labels))
  config.overwrite_config = True  # Resumes with the new data, stored.
  guards.check_data(tmp_path, config, train=guards.fingerprint(texts[:2], labels[:2]))
  config.overwrite_config = False
  guards.check_data(tmp_path, config, train=guards.fingerprint(texts[:2], labels[:2]))


def test_workdir_lock_refuses_a_second_holder_and_is_removed(tmp_path):
  with guards.workdir_lock(str(tmp_path)):
    with pytest.raises(errors.InputError, match=rf"{tmp_path} is in use by process "
                       rf"{os.getpid()} \(started .*\); wait for it or use another"):
      with guards.workdir_lock(str(tmp_path)):
        pass
  assert not os.path.exists(tmp_path / ".lock")
  with guards.workdir_lock(str(tmp_path)):  # Free again.
    pass


def test_done_line_names_the_workdir_and_its_artifacts(tmp_path, capsys):
  for name in ("report.md", "summary.json"):
    (tmp_path / name).write_text("x")
  cli.done(AUM(), str(tmp_path))  # A :runlocal config: the line says it was a smoke run.
  assert capsys.readouterr().err == (
      f"done (smoke run: its numbers are not results): {tmp_path} (report.md, summary.json)\n")
  config = AUM()
  config.runlocal = False
  cli.done(config, str(tmp_path))
  assert capsys.readouterr().err == f"done: {tmp_path} (report.md, summary.json)\n"


def _main(*args, timeout=120):
  env = dict(os.environ, JAX_PLATFORMS="cpu",
             XLA_FLAGS="--xla_force_host_platform_device_count=1")
  return subprocess.run([sys.executable, "-m", "noisy_meta.main", *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=timeout)


def _one_error_line(r, only=True):
  """The one `error:` line of a run that exited 2; `only`: nothing else on stderr."""
  assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
  lines = r.stderr.strip().splitlines()
  errs = [l for l in lines if l.startswith("error: ")]
  assert len(errs) == 1 and errs[0] == lines[-1], r.stderr[-2000:]
  assert len(lines) == 1 or not only, r.stderr[-2000:]
  return errs[0]


def test_config_typos_and_syntax_errors_are_one_line_with_a_suggestion(tmp_path):
  w = f"--workdir={tmp_path}/w"
  line = _one_error_line(_main("--config=configs/aum_cola.py:runlcoal", w))
  assert "Unknown config argument 'runlcoal'" in line and "did you mean 'runlocal'?" in line
  line = _one_error_line(_main("--config=configs/aum_cola.py:runlocal", "--config.num_epoch=3",
                               w))
  assert line == ("error: --config.num_epoch=3: the config has no field 'num_epoch'; "
                  "did you mean '--config.num_epochs'?")
  line = _one_error_line(_main("--config=configs/aum_cola.pi", w))
  assert "no such file; did you mean 'configs/aum_cola.py'?" in line
  bad = tmp_path / "bad.py"
  bad.write_text('"""A config."""\n\ndef get_config(arg=None:\n  return None\n')
  line = _one_error_line(_main(f"--config={bad}", w))
  assert line.startswith(f"error: {bad}:3: syntax error in the config file")
  assert _one_error_line(_main()).startswith("error: --config and --workdir required: ")
  assert _one_error_line(_main("--config=configs/aum_cola.py")).startswith(
      "error: --workdir required: ")


def test_a_bad_value_stops_main_before_the_workdir_is_made(tmp_path):
  line = _one_error_line(_main("--config=configs/aum_cola.py:runlocal",
                               "--config.log_every=0", f"--workdir={tmp_path}/w"))
  assert line == "error: --config.log_every=0: must be an integer in [1, 2_147_483_647]."
  assert not os.path.exists(tmp_path / "w")


def test_help_lists_the_configs_and_their_arguments():
  r = _main("--help")
  assert r.returncode == 0, r.stderr[-2000:]
  for name in ("aum_cola.py", "finetune_tsv.py", "mlrc_semeval.py", "re_semeval.py"):
    assert f"  {name}" in r.stdout
  text = " ".join(r.stdout.split())  # Argument lists are wrapped.
  assert "aum_cola.py AUM on CoLA (Talukdar et al.)" in text
  assert "arguments: runlocal, seed=0, model=minilm" in text
  assert "fraction=0.0, fractions=0.01+0.1, runs=5" in text
  assert "--workdir" in r.stdout
  # Issue 33: a space between a long name and its text, whole first sentences.
  assert "detectors_relation.py The detector benchmark on relation data" in text
  assert ("relation.py Supervised relation classification with PA-LSTM, C-GCN or a pretrained "
          "Transformer over entity markers (semeval | tacred).") in text
  assert not re.search(r"^  \S+\.py\S", r.stdout, re.M)


def test_settings_of_issue_33_stop_main_with_one_line(tmp_path):
  """Seen as tracebacks or accepted; now one line each, before the workdir is made."""
  w = f"--workdir={tmp_path}/w"
  assert _one_error_line(_main("--config=configs/finetune_cola.py:runlocal",
                               "--config.optim.lr=inf", w)) == (
      "error: --config.optim.lr=inf: must be a finite number > 0.")
  assert _one_error_line(_main("--config=configs/aum_cola.py:runlocal,seeds=-1", w)) == (
      "error: --config=configs/aum_cola.py:runlocal,seeds=-1: seeds=-1: must be an integer "
      "in [0, 1000].")
  assert _one_error_line(_main("--config=configs/re_semeval.py:runlocal",
                               "--config.model.name=lstm", w)) == (
      "error: --config.model.name=lstm: did you mean 'pa_lstm'? use one of transformer, pa_lstm, "
      "cgcn.")
  assert not os.path.exists(tmp_path / "w")


def test_a_zero_fraction_a_missing_dev_file_and_a_file_as_workdir_are_one_line(tmp_path):
  """fraction=0 ran the default grid, a missing dev file was named with the
  given train file, and a file as --workdir was 'File exists'."""
  w = f"--workdir={tmp_path}/w"
  assert _one_error_line(_main("--config=configs/mlrc_semeval.py:fraction=0", w)) == (
      "error: --config.mlrc.fractions=(0.0,): give fractions in (0, 1] (0.01 keeps 1% of the "
      "training set, 1 keeps all of it).")
  line = _one_error_line(_main("--config=configs/finetune_tsv.py:runlocal",
                               f"--config.input.train_file={tmp_path}/t.tsv", w), only=False)
  assert line == ("error: task=tsv reads your own files: give --config.input.dev_file (a TSV or "
                  "CSV file each).")
  (tmp_path / "afile").write_text("")
  line = _one_error_line(_main("--config=configs/finetune_cola.py:runlocal",
                               f"--workdir={tmp_path}/afile"), only=False)
  assert line == (f"error: --workdir={tmp_path}/afile: a file, not a folder; give a folder "
                  "(made when missing).")


@pytest.mark.job
def test_busy_workdir_ctrl_c_and_changed_data(tmp_path, tiny_bert_dir):
  """A second process on a busy workdir is refused; Ctrl-C is one line and
  exit 130; rerun after the training file changed: exit 2 naming the change."""
  train = "sentence\tlabel\n" + "".join(f"{w} {w}\t{lab}\n" for _ in range(4)
                                        for w, lab in (("good", "pos"), ("bad", "neg")))
  (tmp_path / "train.tsv").write_text(train)
  (tmp_path / "dev.tsv").write_text("sentence\tlabel\ngood\tpos\nbad\tneg\n")
  w = tmp_path / "w"
  args = ["-m", "noisy_meta.main", "--config=configs/finetune_tsv.py:runlocal",
          f"--config.model.path={tiny_bert_dir}",
          f"--config.input.train_file={tmp_path}/train.tsv",
          f"--config.input.dev_file={tmp_path}/dev.tsv",
          f"--config.input.cache_dir={tmp_path}/cache", "--config.input.train_size=0",
          "--config.input.dev_size=0", "--config.input.batch_size=4",
          "--config.input.buckets=(16,)", "--config.input.max_len=16",
          "--config.num_epochs=500", f"--workdir={w}"]
  env = dict(os.environ, JAX_PLATFORMS="cpu",
             XLA_FLAGS="--xla_force_host_platform_device_count=1")
  job = subprocess.Popen([sys.executable, "-c", _WITH_SIGINT, *args[2:]], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  try:
    deadline = time.time() + 120
    locked = lambda: os.path.exists(w / ".lock") and os.path.getsize(w / ".lock")
    while not locked() and time.time() < deadline and job.poll() is None:
      time.sleep(0.2)
    line = _one_error_line(_main(*args[2:]), only=False)
    assert line.startswith(f"error: {w} is in use by process {job.pid} (started ")
    assert line.endswith("); wait for it or use another --workdir.")
    while not os.path.exists(w / "data.json") and time.time() < deadline and job.poll() is None:
      time.sleep(0.2)
    job.send_signal(signal.SIGINT)
    out, _ = job.communicate(timeout=120)
  finally:
    if job.poll() is None:
      job.kill()
  assert job.returncode == 130 and "Traceback" not in out, out[-3000:]
  assert out.strip().splitlines()[-1] == (
      f"interrupted; rerun the same command to resume (workdir {w}).")
  assert not os.path.exists(w / ".lock")
  (tmp_path / "train.tsv").write_text(train + "good good\tpos\n")
  line = _one_error_line(_main(*args[2:]), only=False)
  assert line.startswith(f"error: {w}/data.json: this workdir was trained on other data "
                         "(train: 8 examples there, 9 now). Use a new --workdir, or "
                         "--config.overwrite_config=True")
