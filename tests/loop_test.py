"""The loop and the methods on a toy learner (tests/toy_learner.py), in seconds:
the learner protocol, fit, resume, eval cadence, dynamics, and a new learner
running supervised training and AUM through the registries."""
import json

import jax
import numpy as np
import pytest

from noisy_meta import aum_lib
from noisy_meta import learners
from noisy_meta import trainers
from noisy_meta.core import errors
from noisy_meta.learners import base
from noisy_meta.trainers import supervised
import toy_learner

learners.register("toy", toy_learner.ToyLearner.__module__, "ToyLearner")


def _config(epochs=4, **kw):
  return toy_learner.config(epochs, **kw)


def test_every_registered_learner_implements_the_protocol():
  for name in learners.names():
    cls = learners.get(name)
    assert base.missing(cls, base.Learner) == [], name
    assert cls.name == name  # The registry key is the learner's own name.
  toy = learners.get("toy")(_config())
  assert isinstance(toy, base.Learner)
  assert not any(isinstance(toy, p) for p in base.CAPABILITIES)
  with pytest.raises(errors.InputError, match=r"config.learner='cnn': use one of"):
    learners.get("cnn")


def test_fit_evaluates_on_its_cadence_and_resumes_to_the_same_state(tmp_path):
  config = _config(eval_every=2)
  learner = learners.get("toy")(config)
  result, state = supervised.fit(config, str(tmp_path / "a"), learner, learner.train)
  assert [h["epoch"] for h in result["dev_history"]] == [2, 4]
  assert result["steps"] == 4 * 6 and result["dev"]["accuracy"] > 0.85
  assert not result["collapsed"]
  # Stopped by a NaN at step 10 (the last good checkpoint: epoch 1's, step 6),
  # then resumed: the same parameters and dev history as the straight run.
  with config.unlocked():
    config.debug.nan_at_step = 10
  with pytest.raises(errors.TrainingDiverged):
    supervised.fit(config, str(tmp_path / "b"), learner, learner.train)
  with config.unlocked():
    config.debug.nan_at_step = -1
  again, resumed = supervised.fit(config, str(tmp_path / "b"), learner, learner.train)
  assert again["steps"] == result["steps"] and again["dev_history"] == result["dev_history"]
  for a, b in zip(jax.tree_util.tree_leaves(state.params),
                  jax.tree_util.tree_leaves(resumed.params)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_dynamics_record_every_example_every_epoch(tmp_path):
  config = _config(epochs=3)
  learner = learners.get("toy")(config)
  spec = aum_lib.DynamicsSpec(margins="train", save_logits=True)
  _, state = supervised.fit(config, str(tmp_path), learner, learner.train, dynamics=spec)
  dyn = jax.device_get(state.dynamics)
  assert (np.asarray(dyn.count) == 3).all()
  logits = np.asarray(dyn.logits_ENC)  # [epochs, N, C]
  y = learner.train.labels
  gold = logits[:, np.arange(len(y)), y]
  other = np.where(np.arange(2)[None, None] == y[None, :, None], -np.inf, logits).max(-1)
  np.testing.assert_allclose(np.asarray(dyn.margin_EN), gold - other, rtol=1e-6)
  np.testing.assert_allclose(aum_lib.aum(dyn), (gold - other).mean(0), rtol=1e-6)


def test_a_new_learner_runs_supervised_and_aum_through_the_registries(tmp_path):
  config = _config(epochs=3)
  out = trainers.get("supervised").train_and_evaluate(config, str(tmp_path / "sup"))
  assert out["task"] == "toy" and out["dev"]["accuracy"] > 0.85
  with config.unlocked():
    config.trainer = "aum"
    config.clean.detector = "aum"
    config.noise.rate = 0.2
  summary = trainers.get("aum").train_and_evaluate(config, str(tmp_path / "aum"))
  rows = (tmp_path / "aum" / "examples.csv").read_text().splitlines()
  assert len(rows) == 1 + 96
  noise = np.load(tmp_path / "aum" / "noise.npz")
  assert noise["noisy"].sum() > 0
  # AUM finds the flipped labels of separable blobs.
  assert summary["detectors"]["table"]["aum"]["auroc"] > 0.9
  assert json.load(open(tmp_path / "aum" / "clean" / "none_s0" / "metrics.json"))["task"] == "toy"


class _WarnedToy(toy_learner.ToyLearner):
  name = "toy_warned"

  def data_warnings(self):
    return ["dev.tsv: every one of its 64 dev examples is also a training example."]


learners.register("toy_warned", __name__, "_WarnedToy")


def test_the_readers_warnings_reach_metrics_and_the_aum_report(tmp_path):
  config = _config(epochs=2)
  with config.unlocked():
    config.learner = "toy_warned"
  out = trainers.get("supervised").train_and_evaluate(config, str(tmp_path / "sup"))
  assert out["data_warnings"] == learners.get("toy_warned")(config).data_warnings()
  with config.unlocked():
    config.trainer, config.clean.detector = "aum", "aum"
  summary = trainers.get("aum").train_and_evaluate(config, str(tmp_path / "aum"))
  assert summary["data_warnings"] == out["data_warnings"]
  report = (tmp_path / "aum" / "report.md").read_text()
  assert "## Data warnings\n\n- dev.tsv: every one of its 64 dev examples" in report
  # A learner without warnings adds nothing.
  with config.unlocked():
    config.learner = "toy"
  plain = supervised.fit(config, str(tmp_path / "plain"), learners.get("toy")(config),
                         learners.get("toy")(config).train)[0]
  assert "data_warnings" not in plain
