"""Label repair (noisy_meta/repair_lib.py, trainers/repair.py, trainers/coteach.py)
and the objectives (noisy_meta/core/objectives.py) against hand computations,
on the toy learner (tests/toy_learner.py), in seconds."""
import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import aum as aum_config
from noisy_meta import learners
from noisy_meta import repair_lib
from noisy_meta import trainers
from noisy_meta import validate
from noisy_meta.core import errors
from noisy_meta.core import loop
from noisy_meta.core import objectives
from noisy_meta.core import parallel
from noisy_meta.trainers import coteach
from noisy_meta.trainers import supervised
import toy_learner

learners.register("toy", toy_learner.ToyLearner.__module__, "ToyLearner")


def _config(epochs=3, **kw):
  return toy_learner.config(epochs, **kw)


# Two examples, three classes; the second's label (0) is wrong: its
# out-of-fold probabilities favour class 2.
GIVEN = np.array([1, 0])
PROBS = np.array([[0.1, 0.8, 0.1], [0.2, 0.1, 0.7]])


def test_weights_soft_targets_and_relabels_by_hand():
  # Weight ∝ p(given label): 0.8 and 0.2, mean 0.5 -> 1.6 and 0.4.
  np.testing.assert_allclose(repair_lib.weights(GIVEN, PROBS), [1.6, 0.4], rtol=1e-6)
  # Soft target of the flagged row: r = 0.2, 0.2·e_0 + 0.8·(0.2, 0.1, 0.7).
  t = repair_lib.soft_targets(GIVEN, np.array([False, True]), PROBS)
  np.testing.assert_allclose(t, [[0, 1, 0], [0.36, 0.08, 0.56]], rtol=1e-6)
  np.testing.assert_allclose(t.sum(1), 1.0, rtol=1e-6)
  # Hard relabel: the best class other than the given one, flagged rows only.
  np.testing.assert_array_equal(repair_lib.relabel_hard(GIVEN, np.array([False, True]), PROBS),
                                [1, 2])
  np.testing.assert_array_equal(repair_lib.relabel_hard(GIVEN, np.array([True, True]), PROBS),
                                [0, 2])  # Row 0's best other class: 0 (tie with 2, first).


def test_objectives_by_hand():
  logits = jnp.log(jnp.array([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3]]))
  batch = {"label": jnp.array([0, 2]), "_mask": jnp.array([True, True])}
  np.testing.assert_allclose(objectives.cross_entropy(logits, batch),
                             [-np.log(0.5), -np.log(0.3)], rtol=1e-5)
  gce = objectives.generalized_cross_entropy(0.7)(logits, batch)
  np.testing.assert_allclose(gce, [(1 - 0.5 ** 0.7) / 0.7, (1 - 0.3 ** 0.7) / 0.7], rtol=1e-5)
  # q = 1: the mean absolute error's form 1 - p_y.
  np.testing.assert_allclose(objectives.generalized_cross_entropy(1.0)(logits, batch),
                             [0.5, 0.7], rtol=1e-5)
  soft = dict(batch, target=jnp.array([[1.0, 0, 0], [0, 0.5, 0.5]]))
  np.testing.assert_allclose(objectives.cross_entropy(logits, soft),
                             [-np.log(0.5), -(np.log(0.6) + np.log(0.3)) / 2], rtol=1e-5)
  # Weighted mean over real rows: (1·a + 3·b) / 2 real rows; padding ignored.
  loss_B = jnp.array([1.0, 2.0, 100.0])
  b = {"_mask": jnp.array([True, True, False]), "weight": jnp.array([1.0, 3.0, 5.0])}
  assert float(objectives.masked_mean(loss_B, b)) == pytest.approx(3.5)
  with pytest.raises(ValueError, match="q must be in"):
    objectives.generalized_cross_entropy(0.0)


def test_co_teaching_selection_by_hand():
  # R(t) ramps from 1 to 1 - forget over ramp_steps, then stays.
  assert [float(repair_lib.keep_fraction(t, 0.4, 10)) for t in (0, 5, 10, 20)] == \
      pytest.approx([1.0, 0.8, 0.6, 0.6])
  loss = jnp.array([0.3, 0.1, 5.0, 0.2, 9.0, 0.0])
  mask = jnp.array([True, True, True, True, True, False])  # The last row is padding.
  # keep 0.6 of 5 real rows: ceil(3) smallest = rows 1, 3, 0.
  chosen = repair_lib.small_loss_rows(loss, mask, 0.6)
  np.testing.assert_array_equal(np.asarray(chosen), [True, True, False, True, False, False])
  assert np.asarray(repair_lib.small_loss_rows(loss, mask, 1.0)).sum() == 5


def test_co_teaching_updates_each_network_on_the_others_small_loss_rows(tmp_path):
  config = _config()
  toy = learners.get("toy")(config)
  pair = coteach.Pair(toy)
  mesh = parallel.make_mesh(1)
  state = pair.init_state(jax.random.key(0), 2, 10, mesh)
  assert jax.tree_util.tree_leaves(state.params)[0].shape[0] == 2
  batch = toy.make_batch(toy.train, np.arange(16), 16, 0)
  state = state.replace(step=jnp.int32(3))  # Past the ramp: R = 1 - forget.
  new, m = coteach.step(state, batch, jax.random.key(1), pair, forget=0.5, ramp_steps=1)
  # By hand (no dropout in the toy): net 0 steps along the gradient of its
  # mean loss over the 8 rows net 1 finds smallest, and back.
  p0, p1 = coteach.first(state.params), jax.tree_util.tree_map(lambda x: x[1], state.params)
  per_row = lambda p: objectives.example_losses(toy, state, p, batch, None)[0]
  for mine, other, k in ((p0, p1, 0), (p1, p0, 1)):
    rows = np.argsort(np.asarray(per_row(other)), kind="stable")[:8]
    mean = lambda p: per_row(p)[rows].mean()
    expect = jax.tree_util.tree_map(lambda w, g: w - 0.5 * g, mine, jax.grad(mean)(mine))
    got = jax.tree_util.tree_map(lambda x: x[k], new.params)
    for a, b in zip(jax.tree_util.tree_leaves(expect), jax.tree_util.tree_leaves(got)):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  assert float(m["kept"]) == pytest.approx(0.5)


def test_co_teaching_fits_and_compiles_once_per_shape(tmp_path):
  config = _config(epochs=3)
  toy = learners.get("toy")(config)
  traces = []

  def counted(*args, **kwargs):
    traces.append(1)  # Runs once per compilation, not per call.
    return coteach.step(*args, **kwargs)

  result, state = supervised.fit(config, str(tmp_path / "co"), coteach.Pair(toy), toy.train,
                                 train_fn=functools.partial(counted, forget=0.2, ramp_steps=6))
  assert len(traces) == 1  # Every batch has one shape: one program for 18 steps.
  assert result["steps"] == 18 and result["dev"]["accuracy"] > 0.85
  assert not result["collapsed"]


def test_rows_reach_the_step_zero_weight_is_dropping(tmp_path):
  config = _config(epochs=2)
  toy = learners.get("toy")(config)
  keep = np.arange(96) % 3 != 0
  labels = toy.train.labels.copy()
  labels[~keep] = 1 - labels[~keep]  # Garbage under weight 0.
  batch = loop.add_rows(toy.make_batch(toy.relabel(toy.train, labels), np.arange(16), 20, 0),
                        {"weight": keep.astype(np.float32)})
  assert batch["weight"].shape == (20,) and batch["weight"][16:].sum() == 0
  state = toy.init_state(jax.random.key(0), 2, 1, parallel.make_mesh(1))
  weighted = jax.grad(lambda p: objectives.loss(toy, state, p, batch, None)[0])(state.params)
  kept = dict(batch, _mask=batch["_mask"] & (batch["weight"] > 0))
  del kept["weight"]
  n_all, n_kept = 16, int(kept["_mask"].sum())
  dropped = jax.grad(lambda p: objectives.loss(toy, state, p, kept, None)[0])(state.params)
  for a, b in zip(jax.tree_util.tree_leaves(weighted), jax.tree_util.tree_leaves(dropped)):
    np.testing.assert_allclose(a * n_all / n_kept, b, rtol=1e-5, atol=1e-7)


@pytest.mark.job
def test_every_repair_runs_in_the_aum_job_and_reports_what_it_won_back(tmp_path):
  config = _config(epochs=3)
  with config.unlocked():
    config.trainer, config.noise.rate, config.detect.folds = "aum", 0.3, 2
    config.clean.detector = "cleanlab"
    config.clean.methods = ("sieve", "relabel", "relabel_soft", "reweight", "coteach", "gce",
                            "sieve:aum", "sieve:oracle", "flip:oracle")
    config.clean.percentiles = ()
  text = aum_config.get_config("runlocal")  # The same repair fields on a real config.
  with text.unlocked():
    text.clean.methods, text.detect.folds = config.clean.methods, 2
  validate.check(text)
  summary = trainers.get("aum").train_and_evaluate(config, str(tmp_path))
  d = summary["detectors"]
  assert set(d["cleaning"]) == set(config.clean.methods)
  assert d["changed"]["sieve"]["dropped"] == d["table"]["cleanlab"]["flagged"]
  assert d["changed"]["relabel"]["relabelled"] == d["table"]["cleanlab"]["flagged"]
  assert d["changed"]["reweight"]["down_weighted"] > 0
  assert 0 < d["changed"]["coteach"]["forget_rate"] < 1
  # The oracle drops (flips) exactly the rows whose labels were injected noise.
  with np.load(tmp_path / "noise.npz") as z:
    noisy = np.flatnonzero(z["noisy"])
  assert d["changed"]["sieve:oracle"]["dropped"] == len(noisy) > 0
  assert d["changed"]["sieve:oracle"]["examples"]["dropped"] == noisy[:5].tolist()
  assert d["changed"]["flip:oracle"]["relabelled"] == len(noisy)
  assert "original" in summary["dev"] and set(d["recovered"]) <= set(config.clean.methods)
  for name in ("sieve_cleanlab_s0", "gce_s0", "sieve_aum_s0", "coteach_cleanlab_s0",
               "original_s0"):
    assert json.load(open(tmp_path / "clean" / name / "metrics.json"))["task"] == "toy"
  report = (tmp_path / "report.md").read_text()
  assert "## Repair" in report and "| relabel_soft |" in report
  # A method that needs out-of-fold probabilities, in a job without them: one line.
  with config.unlocked():
    config.detect.folds, config.clean.detector = 0, "aum"
    config.clean.methods = ("relabel",)
  with pytest.raises(errors.InputError, match="needs out-of-fold probabilities"):
    trainers.get("aum").train_and_evaluate(config, str(tmp_path / "none"))
  # The oracle in a job without injected noise: one line.
  with config.unlocked():
    config.noise.rate, config.clean.methods = 0.0, ("sieve:oracle",)
  with pytest.raises(errors.InputError, match="injected none"):
    trainers.get("aum").train_and_evaluate(config, str(tmp_path / "clean_job"))


def test_a_bad_repair_entry_is_one_line():
  config = aum_config.get_config("runlocal")
  with config.unlocked():
    config.clean.methods = ("sieve:nothing",)
  with pytest.raises(errors.InputError, match="clean.methods"):
    validate.check(config)


@pytest.mark.job
@pytest.mark.parametrize("model", ["pa_lstm", "transformer"])
def test_repairs_run_on_the_relation_learners(data_dir, tiny_bert_dir, tmp_path, model):
  """Co-teaching's two networks and soft targets through the relation
  learners (best-dev selection, official test score), on the 20-sentence
  TACRED sample."""
  from configs import aum_tacred  # pylint: disable=g-import-not-at-top
  import os  # pylint: disable=g-import-not-at-top
  config = aum_tacred.get_config(f"runlocal,model={model},seeds=1,noise=0.3,epochs=2,folds=2")
  config.precompile = False  # A handful of steps: compiling ahead would cost more.
  config.input.tacred_dir = os.path.join(data_dir, "tacred_sample")
  config.input.glove = os.path.join(data_dir, "glove",
                                    "glove.6B.50d.filtered_cola_sst2_semeval.txt")
  config.aum.threshold_mode = "random"  # 20 sentences, 10 labels: one per run.
  if model == "pa_lstm":
    config.model.hidden = config.model.attn_dim = 16
  else:  # A tiny BERT (tests/conftest.py): the learner's code, in seconds.
    config.model.path, config.input.buckets = tiny_bert_dir, (32, 64, 128)
  config.detect.frozen = False
  config.clean.detector, config.clean.percentiles = "cleanlab", ()
  # The two kinds of seam: co-teaching's own step and per-row soft targets
  # (weights and GCE take the same paths: the toy job above runs them).
  config.clean.methods, config.clean.ceiling = ("coteach", "relabel_soft"), False
  if model == "transformer":  # The slow learner: co-teaching's two networks only.
    config.detect.folds, config.clean.detector = 0, "aum"
    config.clean.methods = ("coteach",)
  summary = trainers.get("aum").train_and_evaluate(config, str(tmp_path))
  for entry in config.clean.methods:
    name = repair_lib.stage_name(entry, config.clean.detector, 0)
    result = json.load(open(tmp_path / "clean" / name / "metrics.json"))
    assert 0.0 <= result["test_f1"] <= 1.0, name
  assert set(summary["detectors"]["cleaning"]) == set(config.clean.methods)
