"""MLRC under label noise (issue 36): Ren et al.'s weights by hand, the
reweighted meta step's single compile, noisy rows shared by every method,
the GCE switch, and a tiny job with every switch on."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from noisy_meta import meta_learning
from noisy_meta import reweight_lib
from noisy_meta.core import errors
from noisy_meta.core import objectives
from noisy_meta.data import meta_tasks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D, C = 3, 2


def _ce(params, batch):
  """Per-example CE of softmax regression [K]; reads nothing but x and label."""
  logits = batch["x"] @ params["w"] + params["b"]
  return -jnp.take_along_axis(jax.nn.log_softmax(logits), batch["label"][:, None], 1)[:, 0]


def _hand_grad(params, x, y):
  """d CE / d (w, b) of one example, by hand: x (p - e_y)^T and p - e_y."""
  z = x @ params["w"] + params["b"]
  p = np.exp(z - z.max())
  p /= p.sum()
  p[y] -= 1.0
  return np.outer(x, p), p


@pytest.mark.parametrize("by", reweight_lib.BY)
def test_weights_equal_a_hand_computation_and_the_flipped_label_gets_less(by):
  rng = np.random.default_rng(0)
  params = {"w": rng.normal(size=(D, C)).astype(np.float32) * 0.3,
            "b": np.zeros(C, np.float32)}
  # Class 0 lives near +mu, class 1 near -mu. Example 0 is right, example 1
  # (a class-0 sentence) carries the flipped label 1.
  mu = np.array([1.0, 0.5, -0.5], np.float32)
  batch = {"x": np.stack([mu + 0.1, mu - 0.1]).astype(np.float32),
           "label": np.array([0, 1], np.int32), "_mask": np.ones(2, bool)}
  trusted = {"x": np.stack([mu, -mu, 0.8 * mu]).astype(np.float32),
             "label": np.array([0, 1, 0], np.int32), "_mask": np.ones(3, bool)}
  trusted_loss = lambda p: _ce(p, trusted).mean()
  w = np.asarray(jax.jit(lambda p, b: reweight_lib.weights(_ce, p, b, trusted_loss, by))(
      params, batch))

  gt = [_hand_grad(params, x, y) for x, y in zip(trusted["x"], trusted["label"])]
  g_trusted = (np.mean([g[0] for g in gt], 0), np.mean([g[1] for g in gt], 0))
  dots = []
  for x, y in zip(batch["x"], batch["label"]):
    gw, gb = _hand_grad(params, x, y)
    dots.append((gw * g_trusted[0]).sum() + (gb * g_trusted[1]).sum())
  raw = np.maximum(dots, 0.0)
  want = raw / raw.sum()
  np.testing.assert_allclose(w, want, rtol=1e-4, atol=1e-6)
  assert w[1] < w[0] and w.sum() == pytest.approx(1.0)
  assert dots[1] < 0 and w[1] == 0.0  # Against the clean gradient: weight 0.


def test_weights_ignore_padding_and_are_zero_when_nothing_aligns():
  dots = jnp.array([-1.0, -2.0, 3.0])
  np.testing.assert_allclose(reweight_lib.normalise(dots, jnp.array([1, 1, 0])), 0.0)
  np.testing.assert_allclose(reweight_lib.normalise(jnp.array([1.0, 3.0, 5.0]),
                                                    jnp.array([1, 1, 0])), [0.25, 0.75, 0])
  with pytest.raises(ValueError, match="reweighting by"):
    reweight_lib.alignments(_ce, {"w": jnp.zeros((D, C)), "b": jnp.zeros(C)},
                            {"x": jnp.zeros((1, D)), "label": jnp.zeros(1, jnp.int32)},
                            lambda p: 0.0, by="hessian")


def _meta_loss(params, constants, batch, rng, trace_log=None):
  """Mean CE with the batch's optional weights (objectives.masked_mean)."""
  del constants, rng
  if trace_log is not None:
    trace_log.append(1)
  return objectives.masked_mean(_ce(params, batch), batch), None


def _tasks(b, s, k, seed):
  rng = np.random.default_rng(seed)
  return {"x": rng.normal(size=(b, s, k, D)).astype(np.float32),
          "label": rng.integers(0, C, size=(b, s, k)).astype(np.int32),
          "_mask": np.ones((b, s, k), bool)}


def _weigh(trusted, by="vmap"):
  return lambda p, constants, batch, rng: reweight_lib.weights(
      _ce, p, batch, lambda q: _ce(q, trusted).mean(), by)


def test_reweighted_inner_step_by_hand_and_meta_step_compiles_once():
  params = {"w": np.full((D, C), 0.1, np.float32), "b": np.zeros(C, np.float32)}
  state = meta_learning.MetaState(step=jnp.int32(0), params=jax.tree_util.tree_map(
      jnp.asarray, params), constants=None, apply_fn=None)
  trusted = {k: v[0, 0] for k, v in _tasks(1, 1, 4, seed=9).items()}
  alpha = 0.5
  tasks = _tasks(2, 1, 3, seed=1)
  step = jax.jit(meta_learning.make_meta_step(
      _meta_loss, meta_learning.inner_optimizer("sgd", alpha, 0.0), "reptile", meta_lr=1.0,
      weigh=_weigh(trusted)))
  new, _ = step(state, tasks, jax.random.key(0))
  # One inner SGD step per task on Σ w_i ℓ_i; theta <- mean of the adapted.
  adapted = []
  for i in range(2):
    batch = {k: v[i, 0] for k, v in tasks.items()}
    w = np.asarray(reweight_lib.weights(_ce, params, batch,
                                        lambda q: _ce(q, trusted).mean()))
    g = jax.grad(lambda p: (w * _ce(p, batch)).sum())(params)
    adapted.append({k: params[k] - alpha * np.asarray(g[k]) for k in params})
  for k in params:
    np.testing.assert_allclose(np.asarray(new.params[k]),
                               np.mean([a[k] for a in adapted], 0), rtol=1e-5, atol=1e-6)

  traces = []
  loss = lambda p, constants, batch, rng: _meta_loss(p, constants, batch, rng, traces)
  step = jax.jit(meta_learning.make_meta_step(
      loss, meta_learning.inner_optimizer("sgd", 0.1, 5.0), "reptile", meta_lr=1.0,
      anneal_steps=5, weigh=_weigh(trusted)), donate_argnums=(0,))
  looped = meta_learning.make_looped_meta_step(
      _meta_loss, meta_learning.inner_optimizer("sgd", 0.1, 5.0), "reptile", 1.0, 5,
      weigh=_weigh(trusted, "double"))
  ref = jax.tree_util.tree_map(jnp.copy, state)
  for it in range(4):  # New task data every iteration, one shape.
    tasks = _tasks(3, 2, 4, seed=10 + it)
    ref, _ = looped(ref, tasks, jax.random.key(0))
    state, _ = step(state, tasks, jax.random.key(0))
  assert len(traces) == 1 and step._cache_size() == 1  # pylint: disable=protected-access
  for k in params:  # vmap-ed per-example gradients == the double-backward form, looped tasks.
    np.testing.assert_allclose(np.asarray(state.params[k]), np.asarray(ref.params[k]),
                               rtol=1e-4, atol=1e-6)


def _config(arg):
  from configs import mlrc_semeval  # pylint: disable=g-import-not-at-top
  return mlrc_semeval.get_config(arg)


def test_noise_after_sampling_is_shared_by_every_variant():
  from noisy_meta.trainers import mlrc_noise  # pylint: disable=g-import-not-at-top
  names = ["Other", "A(e1,e2)", "A(e2,e1)", "B(e1,e2)", "B(e2,e1)"]
  labels = np.random.default_rng(0).integers(0, len(names), 400)
  runs = {}
  for switches in ("", ",loss=gce", ",reweight=meta", ",clean=aum"):
    c = _config(f"noise=0.2,trusted_per_class=2{switches}")
    runs[switches] = mlrc_noise.prepare(c, labels, names, 0.25, seed=3)
  r = runs[""]
  for other in runs.values():  # The same rows, labels and flips in every variant.
    np.testing.assert_array_equal(other.rows, r.rows)
    np.testing.assert_array_equal(other.given, r.given)
    np.testing.assert_array_equal(other.flipped, r.flipped)
  assert len(r.rows) == 100 and r.trusted.sum() == 10  # Charged to the budget.
  sampled = meta_tasks.sample_fraction(labels, 0.25, 3)
  assert not np.isin(r.rows[r.trusted], sampled).any()  # Outside the fraction.
  assert np.isin(r.rows[~r.trusted], sampled).all()
  changed = r.given[r.rows] != labels[r.rows]
  np.testing.assert_array_equal(changed, r.flipped)  # Flipped == changed, trusted clean.
  assert r.flipped.sum() == 18 and not (r.flipped & r.trusted).any()  # 20 % of 90.
  other = np.setdiff1d(np.arange(400), r.rows)
  np.testing.assert_array_equal(r.given[other], labels[other])  # Only the rows.
  # Its own seed: another noise_seed, other flips on the same rows.
  s = mlrc_noise.prepare(_config("noise=0.2,trusted_per_class=2,noise_seed=5"), labels,
                         names, 0.25, seed=3)
  np.testing.assert_array_equal(s.rows, r.rows)
  assert not np.array_equal(s.flipped, r.flipped)
  d = mlrc_noise.prepare(_config("noise=0.2,noise_type=direction"), labels, names, 0.25, 3)
  flips = d.rows[d.flipped]
  assert all(names[d.given[x]][0] == names[labels[x]][0] for x in flips)  # Swapped args.
  with pytest.raises(errors.InputError, match="trusted set"):
    meta_tasks.charge(np.arange(5), 5, 0)


def test_switch_rules():
  from noisy_meta import validate  # pylint: disable=g-import-not-at-top
  c = _config("reweight=meta")
  with pytest.raises(Exception, match="trusted_per_class"):
    validate.check(c)
  c = _config("noise=0.2,noise_type=dirction")
  with pytest.raises(Exception, match="noise"):
    validate.check(c)
  validate.check(_config("noise=0.4,reweight=meta,trusted_per_class=2,loss=gce,clean=aum"))


def test_gce_switch_reaches_the_loss(monkeypatch):
  from noisy_meta.trainers import mlrc_noise  # pylint: disable=g-import-not-at-top
  seen = []
  real = objectives.by_name
  monkeypatch.setattr(objectives, "by_name", lambda name, q=0.7: seen.append((name, q))
                      or real(name, q))
  f = mlrc_noise.objective(_config("loss=gce"))
  assert seen == [("gce", 0.7)]
  logits = jnp.array([[2.0, 0.0]])
  batch = {"label": jnp.array([1])}
  p1 = float(jax.nn.softmax(logits)[0, 1])
  assert float(f(logits, batch)[0]) == pytest.approx((1 - p1 ** 0.7) / 0.7, rel=1e-5)
  assert mlrc_noise.objective(_config("")) is objectives.cross_entropy


@pytest.mark.job
def test_tiny_noisy_job_with_every_switch(data_dir, tmp_path, monkeypatch):
  """noise=0.2 on 60 runlocal rows; the job with loss=gce, reweight=meta
  (one trusted row per relation) and clean=aum all on, one run: seconds."""
  pytest.importorskip("spacy")
  from noisy_meta.trainers import mlrc as mlrc_trainer  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import mlrc_noise  # pylint: disable=g-import-not-at-top
  used = []
  real = objectives.by_name
  monkeypatch.setattr(objectives, "by_name", lambda name, q=0.7: used.append(name)
                      or real(name, q))
  config = _config("runlocal,fraction=0.2,runs=1,iterations=2,epochs=1,noise=0.2,"
                   "trusted_per_class=1,loss=gce,reweight=meta,clean=aum")
  config.model.hidden = config.model.attn_dim = 16
  config.input.data_dir = data_dir
  out = mlrc_trainer.train_and_evaluate(config, str(tmp_path))
  run = out["runs"][0]
  sub = tmp_path / "frac0.2" / "run0"
  lines = open(sub / "labels.tsv").read().splitlines()
  assert lines[0].split("\t") == ["row", "id", "clean", "given", "flipped", "trusted", "kept"]
  body = [l.split("\t") for l in lines[1:]]
  trusted = sum(b[5] == "1" for b in body)
  assert len(body) == 60 and 10 <= trusted <= 19  # The relations in 300 sentences.
  flipped = [b for b in body if b[4] == "1"]
  assert len(flipped) == round(0.2 * (60 - trusted))
  assert all(b[2] != b[3] for b in flipped)
  assert all(b[2] == b[3] for b in body if b[4] == "0")
  kept = [b for b in body if b[6] == "1"]
  rows = [l for l in open(sub / "train_rows.txt").read().splitlines() if l]
  assert len(rows) == len(kept) == run["n_train"]
  for name in ("baseline", "mlrc"):  # Both on exactly the kept, noisy rows.
    m = json.load(open(sub / name / "metrics.json"))
    assert m["train_examples"] == run["n_train"] and 0.0 <= m["test_f1"] <= 1.0
  data = [json.load(open(sub / n / "data.json"))["train"] for n in ("baseline", "mlrc")]
  assert data[0] == data[1]
  assert os.path.exists(sub / "clean" / "aum_run1" / "dynamics.npz")
  noise = run["noise"]
  assert noise["flipped"] == len(flipped) and noise["trusted"] == trusted
  assert 0.0 <= noise["removed_noisy"] <= 1.0 and 0.0 <= noise["downweighted_noisy"] <= 1.0
  assert used.count("gce") >= 1 and "ce" not in used
  meta_log = [json.loads(l) for l in open(sub / "meta" / "metrics.jsonl")]
  assert meta_log[-1]["step"] == 2
  fine = [json.loads(l) for l in open(sub / "mlrc" / "metrics.jsonl")]
  assert any("train/weight_zero" in l for l in fine)
  report = open(tmp_path / "report.md").read()
  assert "## Label noise" in report and "removed" in report
  assert os.path.getsize(tmp_path / "explorer.html") > 1000  # Reads the new results.
  # Read back: the same result, the weights' summary from noise.json.
  again = mlrc_trainer.train_and_evaluate(config, str(tmp_path))
  assert again["runs"][0]["noise"] == noise and again["runs"][0]["mlrc"] == run["mlrc"]
  # The noise-aware long baseline (bench.research.mlrc_control) with the
  # same switches: the run's noisy kept rows (labels.tsv), reweighted.
  from bench.research import mlrc_control as control  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv("NOISY_META_DATA_DIR", data_dir)
  assert control.main([
      f"--config={ROOT}/configs/mlrc_semeval.py:runlocal,fraction=0.2,noise=0.2,"
      "trusted_per_class=1,loss=gce,reweight=meta,clean=aum",
      f"--workdir={tmp_path}", "--fraction=0.2", "--runs=0", "--epochs=2"]) == 0
  m = json.load(open(sub / "baseline_e2" / "metrics.json"))
  assert m["train_examples"] == run["n_train"]
  fine = [json.loads(l) for l in open(sub / "baseline_e2" / "metrics.jsonl")]
  assert any("train/weight_zero" in l for l in fine)
  # The grid's table: F1 by noise per variant, the control, what cleaning did.
  from bench.research import mlrc_noise_table  # pylint: disable=g-import-not-at-top
  assert mlrc_noise_table.main([f"--jobs={tmp_path}", "--control_epochs=2",
                                f"--out={tmp_path / 'noise.png'}"]) == 0
  table = open(tmp_path / "noise.md").read()
  assert "| pa_lstm | 0.2 | MLRC + loss=gce + reweight=meta + clean=aum |" in table
  assert "noise 20% uniform: baseline / MLRC" in table and "(n=1)" in table
  assert os.path.getsize(tmp_path / "noise.png") > 1000


@pytest.mark.job
def test_reweighting_on_the_transformer_learner(data_dir, tiny_bert_dir, tmp_path):
  """The learner interface carries the weights: on a tiny BERT (TACRED
  sample, dropout off) both gradient forms give the same weights of a real
  batch, and a reweighted meta-training runs."""
  from configs import mlrc as mlrc_configs  # pylint: disable=g-import-not-at-top
  from noisy_meta.core import parallel  # pylint: disable=g-import-not-at-top
  from noisy_meta.learners import relation_transformer  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import mlrc as mlrc_trainer  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import mlrc_noise  # pylint: disable=g-import-not-at-top
  config = mlrc_configs.get_config(
      "model=transformer,runlocal,iterations=2,tasks=2,inner_steps=1,inner_batch=4,"
      "noise=0.2,trusted_per_class=1,reweight=meta", dataset="tacred")
  config.input.tacred_dir = os.path.join(data_dir, "tacred_sample")
  config.model.path = tiny_bert_dir
  config.model.dropout = config.model.classifier_dropout = 0.0
  config.input.buckets = (32, 64, 128)
  learner = relation_transformer.RelationTransformer(config)
  r = mlrc_noise.prepare(config, learner.train.labels, learner.label_names, 0.5, 0)
  split = learner.relabel(learner.train, r.given)
  rows, trusted = r.rows, r.rows[r.trusted]
  state = learner.init_state(jax.random.key(0), learner.num_classes, 0, parallel.make_mesh())
  batch = learner.make_batch(split, rows[:6], 8, learner.padded_length(split, rows[:6]))
  tb = mlrc_noise.trusted_batch(learner, split, trusted)
  w = {by: np.asarray(jax.jit(lambda p, b, by=by: mlrc_noise._weights(  # pylint: disable=protected-access
      learner, state, p, b, jax.random.key(1), tb, by, objectives.cross_entropy))(
          state.params, batch)) for by in reweight_lib.BY}
  np.testing.assert_allclose(w["vmap"], w["double"], rtol=1e-3, atol=1e-5)
  assert w["vmap"][6:].sum() == 0 and w["vmap"].sum() == pytest.approx(1.0, abs=1e-5)
  mlrc_trainer.meta_train(config, str(tmp_path / "meta"), learner, rows, split, trusted)
  log = [json.loads(l) for l in open(tmp_path / "meta" / "metrics.jsonl")]
  assert log[-1]["step"] == 2 and np.isfinite(log[-1]["meta/inner_loss_last"])
