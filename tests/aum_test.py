"""The AUM trainer: margins from the step's own forward pass, the pipeline."""
import csv
import functools
import json
import os

import jax
import numpy as np
import pytest

from configs import aum_cola
from noisy_meta import aum_lib
from noisy_meta.core import loop
from noisy_meta.learners import text_classifier as text
from noisy_meta.models import hf_import
from noisy_meta.trainers import aum


def test_step_records_margins_of_its_own_forward_pass(tiny_bert_dir):
  config = aum_cola.get_config("runlocal")
  config.model.path = tiny_bert_dir
  _, cfg, enc, head = hf_import.load(tiny_bert_dir)
  state = text.create_train_state(config, cfg, enc, head, 3, 10, jax.random.key(0),
                                  dynamics_shape=(20, 2, 2))
  rng = np.random.default_rng(0)
  batch = dict(input_ids=rng.integers(100, 2000, (4, 8)).astype(np.int32),
               attention_mask=np.ones((4, 8), np.int32),
               label=np.array([0, 1, 2, 0], np.int32), _id=np.array([3, 7, 11, -1], np.int32),
               _mask=np.array([True, True, True, False]))
  key = jax.random.key(5)
  # The logits the step sees: same params, same dropout key.
  logits = state.apply_fn({"params": state.params}, batch["input_ids"],
                          batch["attention_mask"], train=True,
                          rngs={"dropout": jax.random.fold_in(key, 0)})
  want = jax.vmap(aum_lib.margin)(logits, batch["label"])
  learner = text.TextClassifier(config, text.pretrained(tiny_bert_dir))
  step = jax.jit(functools.partial(loop.train_step, learner=learner, steps_per_epoch=5))
  new, _ = step(state, batch, key)  # Jitted: op by op, a backward pass takes ~30 s.
  dyn = new.dynamics
  np.testing.assert_allclose(np.asarray(dyn.margin_EN)[0, [3, 7, 11]], want[:3], atol=1e-5)
  np.testing.assert_allclose(np.asarray(dyn.margin_sum)[[3, 7, 11]], want[:3], atol=1e-5)
  assert np.asarray(dyn.count).sum() == 3  # The padding row is not counted.
  assert np.asarray(dyn.margin_EN)[1].sum() == 0  # Epoch 0 only.



def test_eval_margins_come_from_a_deterministic_pass(tiny_bert_dir):
  config = aum_cola.get_config("runlocal")
  _, cfg, enc, head = hf_import.load(tiny_bert_dir)
  state = text.create_train_state(config, cfg, enc, head, 3, 10, jax.random.key(0),
                                  dynamics_shape=(20, 2, 2))
  batch = dict(input_ids=np.arange(100, 116, dtype=np.int32).reshape(2, 8),
               attention_mask=np.ones((2, 8), np.int32), label=np.array([0, 2], np.int32),
               _id=np.array([4, 9], np.int32), _mask=np.array([True, True]))
  logits = state.apply_fn({"params": state.params}, batch["input_ids"],
                          batch["attention_mask"], train=False)
  want = jax.vmap(aum_lib.margin)(logits, batch["label"])
  learner = text.TextClassifier(config, text.pretrained(tiny_bert_dir))
  step = jax.jit(functools.partial(loop.train_step, learner=learner, steps_per_epoch=5,
                                   eval_margins=True))
  new, _ = step(state, batch, jax.random.key(1))
  np.testing.assert_allclose(np.asarray(new.dynamics.margin_sum)[[4, 9]], want, atol=1e-5)
  assert new.dynamics.eval_margin_EN is None

  # aum.margins=both: AUM from the training pass, eval margins beside it.
  state = text.create_train_state(config, cfg, enc, head, 3, 10, jax.random.key(0),
                                  dynamics_shape=(20, 2, 2, True))
  key = jax.random.key(1)
  train_logits = state.apply_fn({"params": state.params}, batch["input_ids"],
                                batch["attention_mask"], train=True,
                                rngs={"dropout": jax.random.fold_in(key, 0)})
  step = jax.jit(functools.partial(loop.train_step, learner=learner, steps_per_epoch=5))
  new, _ = step(state, batch, key)
  np.testing.assert_allclose(np.asarray(new.dynamics.eval_margin_EN)[0, [4, 9]], want,
                             atol=1e-5)
  np.testing.assert_allclose(np.asarray(new.dynamics.margin_sum)[[4, 9]],
                             jax.vmap(aum_lib.margin)(train_logits, batch["label"]), atol=1e-5)
  assert not np.allclose(np.asarray(new.dynamics.margin_sum)[[4, 9]], want, atol=1e-4)

def test_clean_labels():
  given = np.array([0, 1, 2, 1])
  flags = np.array([True, False, True, False])
  other = np.array([2, 0, 1, 2])
  keep, labels = aum.clean_labels("sieve", given, flags, other, 3)
  assert list(keep) == [False, True, False, True] and list(labels) == [0, 1, 2, 1]
  keep, labels = aum.clean_labels("flip", given, flags, other, 3)
  assert keep.all() and list(labels) == [2, 1, 1, 1]
  _, labels = aum.clean_labels("flip", given % 2, flags, other, 2)
  assert list(labels) == [1, 1, 1, 1]


@pytest.mark.job
def test_aum_pipeline_runlocal(tmp_path, data_dir, tiny_bert_dir):
  config = aum_cola.get_config("runlocal,noise=0.2")
  config.input.data_dir = data_dir
  config.input.cache_dir = str(tmp_path / "cache")
  config.model.path = tiny_bert_dir
  config.input.train_size = 96
  config.input.dev_size = 32
  config.input.batch_size = 16
  config.input.buckets = (32, 64)
  config.optim.lr = 1e-3
  # Cleaning by the default detector's automatic cut too (the ensemble).
  w = str(tmp_path / "w")
  summary = aum.train_and_evaluate(config, w)
  for name in ("examples.csv", "summary.json", "report.md", "noise.npz",
               "fig1_data_map.png", "fig2_percentile_vs_accuracy.png",
               "fig3_aum_histogram.png", "aum_run1/dynamics.npz", "aum_run2/dynamics.npz",
               "clean/none_s0/metrics.json", "clean/flip_p50_s0/metrics.json"):
    assert os.path.exists(os.path.join(w, name)), name
  rows = list(csv.DictReader(open(os.path.join(w, "examples.csv"), encoding="utf-8")))
  assert len(rows) == 96
  noise = np.load(os.path.join(w, "noise.npz"))
  assert noise["noisy"].sum() == round(0.2 * 96)
  assert sum(int(r["noisy"]) for r in rows) == noise["noisy"].sum()
  r1, r2 = (np.load(os.path.join(w, f"aum_run{i}/dynamics.npz")) for i in (1, 2))
  assert not set(r1["threshold_idx"]) & set(r2["threshold_idx"])
  assert len(r1["threshold_idx"]) == 96 // 3 // 2 * 2
  # The CSV's AUM is the judging run's AUM; flags match the summary.
  for r in rows[:20]:
    i = int(r["id"])
    src = r1 if r["judged_in_run"] == "1" else r2
    assert float(r["aum"]) == pytest.approx(src["aum"][i], abs=1e-5)
  for p in config.aum.percentiles:
    assert sum(int(r[f"flagged_p{p}"]) for r in rows) == summary["percentiles"][str(p)]["flagged"]
  flagged = summary["percentiles"]["50"]["flagged"]
  assert 0 < flagged < 96
  sieved = json.load(open(os.path.join(w, "clean/sieve_p50_s0/metrics.json")))
  assert sieved["train_examples"] == 96 - flagged
  assert "detection" in summary["percentiles"]["50"]
  report = open(os.path.join(w, "report.md")).read()
  assert "Table 1" in report and "Table 5" in report
  assert "**Smoke run (`:runlocal`)**" in report
  # Every run carries a collapse flag; the report lists them with their dev scores.
  assert sieved["collapsed"] in (True, False) and "collapse_reason" in sieved
  assert set(summary["runs"]) >= {"aum_run1", "aum_run2", "clean/none_s0", "clean/sieve_p50_s0"}
  assert summary["collapsed_runs"] == sorted(k for k, r in summary["runs"].items()
                                             if r["collapsed"])
  assert "## Runs" in report and "| clean/sieve_p50_s0 |" in report
  assert all(r["label_name"] in ("0", "1") and r["original_label"] in ("0", "1")
             for r in rows)
  text = open(os.path.join(w, "summary.json")).read()
  assert "NaN" not in text and "Infinity" not in text
  # The detectors: scores and automatic flags as columns; the job cleans with
  # the default detector's flags.
  det = summary["detectors"]
  assert det["chosen"] == config.clean.detector == "ensemble"  # The default (docs/detectors.md).
  for name in ("aum", "loss", "confidence", "knn", "simifeat", "probe", "knn_tuned",
               "ensemble"):
    assert f"score_{name}" in rows[0] and name in det["table"], name
  flagged_default = [int(r["id"]) for r in rows if r["flagged"] == "1"]
  assert flagged_default == [int(r["id"]) for r in rows if r["flag_ensemble"] == "1"]
  assert det["table"]["ensemble"]["flagged"] == len(flagged_default)
  assert det["notes"]["ensemble_parts"] == ["aum", "probe"]  # No folds in this job.
  by_det = json.load(open(os.path.join(w, "clean/sieve_ensemble_s0/metrics.json")))
  assert by_det["train_examples"] == 96 - len(flagged_default)
  assert "## Detectors" in report and "clean/sieve_ensemble_s0" in summary["runs"]
  # The final models' features (the tuned-space neighbours) are saved.
  assert r1["features"].shape == (96, 32) and r1["final_probs"].shape == (96, 3)
  # The CSV's AUM score is minus the judging run's AUM.
  assert all(float(r["score_aum"]) == pytest.approx(-float(r["aum"]), abs=1e-4)
             for r in rows[:20])
  # Rerunning reuses every finished stage and gives the same summary.
  again = aum.train_and_evaluate(config, w)
  assert json.loads(json.dumps(again)) == json.loads(json.dumps(summary))
  assert os.path.exists(os.path.join(w, "detector_seconds.json"))  # Costs: not in summary.


def test_features_are_the_classifier_layers_input(tiny_bert_dir):
  """learner.features: the BERT head's tanh(pooler([CLS])), which the last
  linear layer maps to the logits (checked by hand from the parameters)."""
  from noisy_meta.models import transformer  # pylint: disable=g-import-not-at-top
  config = aum_cola.get_config("runlocal")
  _, cfg, enc, head = hf_import.load(tiny_bert_dir)
  state = text.create_train_state(config, cfg, enc, head, 3, 10, jax.random.key(0))
  learner = text.TextClassifier(config, text.pretrained(tiny_bert_dir))
  ids = np.arange(100, 124, dtype=np.int32).reshape(3, 8)
  batch = dict(input_ids=ids, attention_mask=np.ones((3, 8), np.int32))
  logits, feats = learner.features(state, state.params, batch)
  np.testing.assert_allclose(logits, learner.logits(state, state.params, batch), atol=1e-6)
  p = jax.device_get(state.params)
  h = transformer.Encoder(cfg).apply({"params": p["encoder"]}, ids, batch["attention_mask"])
  want = np.tanh(np.asarray(h)[:, 0] @ p["pooler"]["kernel"] + p["pooler"]["bias"])
  np.testing.assert_allclose(feats, want, atol=1e-5)
  np.testing.assert_allclose(feats @ p["classifier"]["kernel"] + p["classifier"]["bias"],
                             logits, atol=1e-5)
