"""The fine-tuning trainer end to end, resume, and main's handling of bad input."""
import json
import os
import shutil
import subprocess
import sys

import jax
import numpy as np
import optax
import pytest

import encoder_checks

from configs import finetune_cola
from noisy_meta.core import loop
from noisy_meta.learners import text_classifier as text
from noisy_meta.models import hf_import
from noisy_meta.trainers import supervised

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read_jsonl(path):
  with open(path) as f:
    return [json.loads(l) for l in f]


@pytest.mark.job
def test_runlocal_cola_with_real_minilm(tmp_path, data_dir, minilm_dir):
  """The real config shrunk by :runlocal: real data, real pretrained weights."""
  del minilm_dir
  config = finetune_cola.get_config("runlocal")
  config.input.data_dir = data_dir
  config.input.cache_dir = str(tmp_path / "cache")
  result = supervised.train_and_evaluate(config, str(tmp_path / "w"))
  w = tmp_path / "w"
  for name in ("config.json", "metrics.json", "metrics.jsonl", "tb", "ckpt"):
    assert (w / name).exists(), name
  assert result["steps"] == 16 and result["dev"]["n"] == 128
  assert 0.0 <= result["dev"]["accuracy"] <= 1.0
  rows = _read_jsonl(w / "metrics.jsonl")
  assert [r["step"] for r in rows if "train/loss" in r] == list(range(2, 17, 2))
  assert any("dev/mcc" in r for r in rows)
  assert json.load(open(w / "config.json"))["input"]["task"] == "cola"


def _tiny_config(data_dir, tiny_bert_dir, tmp_path):
  config = finetune_cola.get_config("runlocal")
  config.input.data_dir = data_dir
  config.input.cache_dir = str(tmp_path / "cache")
  config.input.train_size = 64
  config.input.dev_size = 32
  config.input.batch_size = 8
  config.input.buckets = (16, 32, 64)
  config.model.path = tiny_bert_dir
  config.optim.lr = 1e-3
  config.log_every = 1
  config.checkpoint_every = 2
  return config


@pytest.mark.job
def test_resume_from_checkpoint_recomputes_identical_steps(tmp_path, data_dir, tiny_bert_dir):
  config = _tiny_config(data_dir, tiny_bert_dir, tmp_path)
  w = tmp_path / "w"
  first = supervised.train_and_evaluate(config, str(w))
  full_log = _read_jsonl(w / "metrics.jsonl")
  assert first["steps"] == 8
  # Lose the last checkpoint, as if the job died after step 6 was saved.
  shutil.rmtree(w / "ckpt" / "8")
  second = supervised.train_and_evaluate(config, str(w))
  assert second["dev"] == first["dev"]
  resumed_log = _read_jsonl(w / "metrics.jsonl")
  strip = lambda rows: [{k: v for k, v in r.items() if "per_sec" not in k} for r in rows]
  assert strip(resumed_log) == strip(full_log)


def test_training_learns_a_separable_task(tmp_path, tiny_bert_dir):
  """A tiny random BERT must fit a trivially separable toy task."""
  config = encoder_checks.toy_task_config(tmp_path, tiny_bert_dir, num_epochs=8)
  result = supervised.train_and_evaluate(config, str(tmp_path / "w"))
  assert result["dev"]["accuracy"] == 1.0


def _main(args, env_extra=None):
  env = dict(os.environ, JAX_PLATFORMS="cpu", **(env_extra or {}))
  return subprocess.run([sys.executable, "-m", "noisy_meta.main", *args], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=300)


def test_main_config_typo_fails_loudly(tmp_path):
  r = _main(["--config=configs/finetune_cola.py:runlocal", f"--workdir={tmp_path}",
             "--config.optim.lrr=0.1"])
  assert r.returncode != 0 and "lrr" in r.stderr
  r = _main(["--config=configs/finetune_cola.py:sed=3", f"--workdir={tmp_path}"])
  assert r.returncode != 0 and "Unknown config argument 'sed'" in r.stderr


def test_main_missing_data_dir_and_model_folder(tmp_path, minilm_dir):
  del minilm_dir
  r = _main(["--config=configs/finetune_cola.py:runlocal", f"--workdir={tmp_path}/a"],
            {"NOISY_META_DATA_DIR": str(tmp_path / "nowhere")})
  assert r.returncode == 2 and "nowhere' does not exist" in r.stderr
  r = _main(["--config=configs/finetune_cola.py:runlocal", f"--workdir={tmp_path}/b",
             f"--config.model.path={tmp_path}/no_model"],
            {"NOISY_META_DATA_DIR": os.path.join(ROOT, "..", "shared", "data")})
  if r.returncode == 2 and "does not exist" in r.stderr and "no_model" in r.stderr:
    return
  pytest.fail(r.stderr[-2000:])


def test_main_malformed_tsv_names_file_and_line(tmp_path):
  (tmp_path / "train.tsv").write_text("sentence\tlabel\nfine\t1\nbroken row\n")
  (tmp_path / "dev.tsv").write_text("sentence\tlabel\nfine\t1\n")
  r = _main(["--config=configs/finetune_tsv.py:runlocal", f"--workdir={tmp_path}/w",
             f"--config.input.train_file={tmp_path}/train.tsv",
             f"--config.input.dev_file={tmp_path}/dev.tsv"])
  assert r.returncode == 2
  assert f"{tmp_path}/train.tsv:3: expected 2 fields" in r.stderr


def test_schedule_matches_optax_warmup_then_linear_decay():
  optim = finetune_cola.get_config("").optim
  for num_steps in (1, 7, 30, 801):
    warmup = int(optim.warmup_frac * num_steps)
    want = optax.join_schedules(
        [optax.linear_schedule(0.0, optim.lr, max(warmup, 1)),
         optax.linear_schedule(optim.lr, 0.0, max(num_steps - warmup, 1))], [warmup])
    sched = text.make_schedule(optim, num_steps)
    for step in range(num_steps + 1):
      np.testing.assert_allclose(text.learning_rate(sched, step), want(step),
                                 rtol=2e-5, atol=1e-12)  # float32 arithmetic.


def test_runs_of_any_length_share_one_compiled_step(tiny_bert_dir):
  """The schedule lives in the state: sieved retrains reuse the program."""
  config = finetune_cola.get_config("runlocal")
  _, cfg, enc, head = hf_import.load(tiny_bert_dir)
  batch = dict(input_ids=np.full((2, 8), 101, np.int32),
               attention_mask=np.ones((2, 8), np.int32), label=np.zeros(2, np.int32),
               _id=np.arange(2, dtype=np.int32), _mask=np.ones(2, bool))
  texts = []
  for num_steps in (10, 999):
    state = text.create_train_state(config, cfg, enc, head, 2, num_steps, jax.random.key(0))
    learner = text.TextClassifier(config, text.pretrained(tiny_bert_dir))
    step = jax.jit(lambda s, b, r: loop.train_step(s, b, r, learner))
    texts.append(step.lower(state, batch, jax.random.key(1)).as_text())
  assert texts[0] == texts[1]
