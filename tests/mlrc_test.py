"""MLRC: Reptile update by hand, no retrace, samplers and their bad inputs."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from noisy_meta.core import errors
from noisy_meta.data import meta_tasks
from noisy_meta import meta_learning
from noisy_meta.reports import mlrc_report as mlrc_report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

D, C = 4, 3


def _loss(params, constants, batch, rng, trace_log=None):
  """Softmax regression, mean CE over real rows; `constants` scales inputs."""
  if trace_log is not None:
    trace_log.append(1)  # Runs once per trace, not per call.
  del rng
  logits = (batch["x"] * constants["scale"]) @ params["w"] + params["b"]
  w = batch["_mask"].astype(jnp.float32)
  ce = -jnp.take_along_axis(jax.nn.log_softmax(logits), batch["label"][:, None], 1)[:, 0]
  return (ce * w).sum() / jnp.maximum(w.sum(), 1.0), logits


def _np_grad(params, x, y):
  """d mean CE / d (w, b) of softmax regression, by hand."""
  z = x @ params["w"] + params["b"]
  p = np.exp(z - z.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  p[np.arange(len(y)), y] -= 1.0
  return {"w": x.T @ p / len(y), "b": p.mean(0)}


def _setup(b=3, s=1, k=5, seed=0):
  rng = np.random.default_rng(seed)
  params = {"w": rng.normal(size=(D, C)).astype(np.float32),
            "b": rng.normal(size=C).astype(np.float32)}
  tasks = {"x": rng.normal(size=(b, s, k, D)).astype(np.float32),
           "label": np.repeat(np.arange(b) % C, s * k).reshape(b, s, k).astype(np.int32),
           "_mask": np.ones((b, s, k), bool)}
  state = meta_learning.MetaState(step=jnp.int32(0), params=jax.tree_util.tree_map(jnp.asarray, params),
                         constants={"scale": jnp.float32(1.0)}, apply_fn=None)
  return params, tasks, state


def test_reptile_one_inner_sgd_step_matches_hand_formula():
  # theta'_i = theta - a g_i(theta); theta <- theta + eps mean_i(theta'_i - theta).
  alpha, eps = 0.3, 0.7
  params, tasks, state = _setup(b=3, s=1, k=5)
  step = jax.jit(meta_learning.make_meta_step(_loss, meta_learning.inner_optimizer("sgd", alpha, 0.0),
                                     "reptile", meta_lr=eps))
  new, metrics = step(state, tasks, jax.random.key(0))
  grads = [_np_grad(params, tasks["x"][i, 0], tasks["label"][i, 0]) for i in range(3)]
  for name in ("w", "b"):
    adapted = [params[name] - alpha * g[name] for g in grads]
    want = params[name] + eps * np.mean([a - params[name] for a in adapted], 0)
    np.testing.assert_allclose(np.asarray(new.params[name]), want, rtol=1e-5, atol=1e-6)
  assert int(new.step) == 1
  assert float(metrics["meta_lr"]) == pytest.approx(eps)


def test_reptile_two_inner_steps_and_adagrad_by_hand():
  alpha, eps = 0.2, 1.0
  params, tasks, state = _setup(b=2, s=2, k=4, seed=1)
  step = jax.jit(meta_learning.make_meta_step(_loss, meta_learning.inner_optimizer("adagrad", alpha, 0.0),
                                     "reptile", meta_lr=eps))
  new, _ = step(state, tasks, jax.random.key(0))
  deltas = []
  for i in range(2):
    p = {k: v.astype(np.float64) for k, v in params.items()}
    acc = {k: np.full_like(v, 0.1) for k, v in p.items()}  # PyTorch's Adagrad start.
    for s in range(2):
      g = _np_grad(p, tasks["x"][i, s].astype(np.float64), tasks["label"][i, s])
      for k in p:
        acc[k] = acc[k] + g[k] ** 2
        p[k] = p[k] - alpha * g[k] / (np.sqrt(acc[k]) + 1e-10)
    deltas.append({k: p[k] - params[k] for k in p})
  for k in params:
    want = params[k] + eps * np.mean([d[k] for d in deltas], 0)
    np.testing.assert_allclose(np.asarray(new.params[k]), want, rtol=1e-4, atol=1e-5)


def test_fomaml_one_step_by_hand():
  # S=1 inner + 1 query batch: theta <- theta - eps mean_i grad L_q(theta'_i).
  alpha, eps = 0.5, 0.1
  params, tasks, state = _setup(b=2, s=2, k=3, seed=2)
  step = jax.jit(meta_learning.make_meta_step(_loss, meta_learning.inner_optimizer("sgd", alpha, 0.0),
                                     "fomaml", meta_lr=eps))
  new, _ = step(state, tasks, jax.random.key(0))
  gs = []
  for i in range(2):
    g = _np_grad(params, tasks["x"][i, 0], tasks["label"][i, 0])
    adapted = {k: params[k] - alpha * g[k] for k in params}
    gs.append(_np_grad(adapted, tasks["x"][i, 1], tasks["label"][i, 1]))
  for k in params:
    np.testing.assert_allclose(np.asarray(new.params[k]),
                               params[k] - eps * np.mean([g[k] for g in gs], 0),
                               rtol=1e-5, atol=1e-6)


def test_maml_differs_from_fomaml_and_matches_finite_differences():
  alpha = 0.5
  params, tasks, state = _setup(b=1, s=2, k=3, seed=3)
  tx = meta_learning.inner_optimizer("sgd", alpha, 0.0)
  new, _ = jax.jit(meta_learning.make_meta_step(_loss, tx, "maml", meta_lr=1.0))(
      state, tasks, jax.random.key(0))
  g_maml = {k: params[k] - np.asarray(new.params[k]) for k in params}

  def query_loss(p):  # One inner SGD step, then the query loss, in float64.
    g = _np_grad(p, tasks["x"][0, 0].astype(np.float64), tasks["label"][0, 0])
    a = {k: p[k] - alpha * g[k] for k in p}
    z = tasks["x"][0, 1] @ a["w"] + a["b"]
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -logp[np.arange(3), tasks["label"][0, 1]].mean()

  p64 = {k: v.astype(np.float64) for k, v in params.items()}
  h = 1e-6
  for idx in [(0, 0), (2, 1), (3, 2)]:
    up = {k: v.copy() for k, v in p64.items()}
    dn = {k: v.copy() for k, v in p64.items()}
    up["w"][idx] += h
    dn["w"][idx] -= h
    fd = (query_loss(up) - query_loss(dn)) / (2 * h)
    assert g_maml["w"][idx] == pytest.approx(fd, rel=1e-3, abs=1e-5)
  new_fo, _ = jax.jit(meta_learning.make_meta_step(_loss, tx, "fomaml", meta_lr=1.0))(
      state, tasks, jax.random.key(0))
  assert not np.allclose(np.asarray(new_fo.params["w"]), np.asarray(new.params["w"]))


@pytest.mark.parametrize("algorithm", meta_learning.ALGORITHMS)
def test_vmapped_step_equals_python_loop(algorithm):
  params, tasks, state = _setup(b=4, s=3, k=5, seed=4)
  tx = meta_learning.inner_optimizer("sgd", 0.4, 1.0)
  a, ma = jax.jit(meta_learning.make_meta_step(_loss, tx, algorithm, 0.8, anneal_steps=10))(
      state, tasks, jax.random.key(1))
  b, mb = meta_learning.make_looped_meta_step(_loss, tx, algorithm, 0.8, anneal_steps=10)(
      state, tasks, jax.random.key(1))
  for k in params:
    np.testing.assert_allclose(np.asarray(a.params[k]), np.asarray(b.params[k]),
                               rtol=1e-5, atol=1e-6)
  assert float(ma["loss"]) == pytest.approx(float(mb["loss"]), rel=1e-5)
  # lax.map over the tasks inside the jitted step: the same update.
  c, mc = jax.jit(meta_learning.make_meta_step(_loss, tx, algorithm, 0.8, anneal_steps=10,
                                      task_axis="map"))(state, tasks, jax.random.key(1))
  for k in params:
    np.testing.assert_allclose(np.asarray(c.params[k]), np.asarray(b.params[k]),
                               rtol=1e-5, atol=1e-6)
  assert float(mc["loss"]) == pytest.approx(float(mb["loss"]), rel=1e-5)
  with pytest.raises(errors.InputError, match="task_axis"):
    meta_learning.make_meta_step(_loss, tx, algorithm, task_axis="pmap")


def test_meta_step_compiles_once_across_iterations():
  traces = []
  loss = lambda p, constants, batch, rng: _loss(p, constants, batch, rng, traces)
  _, tasks, state = _setup(b=3, s=2, k=4)
  step = jax.jit(meta_learning.make_meta_step(loss, meta_learning.inner_optimizer("sgd", 0.1, 5.0), "reptile",
                                     meta_lr=1.0, anneal_steps=5), donate_argnums=(0,))
  rng = np.random.default_rng(0)
  for _ in range(4):  # New task data (and a new eps) every iteration.
    tasks = dict(tasks, x=rng.normal(size=tasks["x"].shape).astype(np.float32))
    state, m = step(state, tasks, jax.random.key(0))
  assert int(state.step) == 4
  assert float(m["meta_lr"]) == pytest.approx(1.0 - 3 / 5)
  assert len(traces) == 1  # The loss was traced once: one compiled meta step.
  assert step._cache_size() == 1  # pylint: disable=protected-access


def test_meta_lr_anneals_linearly_to_zero():
  assert float(meta_learning.meta_lr_at(0, 1.0, 100)) == 1.0
  assert float(meta_learning.meta_lr_at(50, 1.0, 100)) == pytest.approx(0.5)
  assert float(meta_learning.meta_lr_at(150, 1.0, 100)) == 0.0
  assert float(meta_learning.meta_lr_at(150, 0.3, 0)) == pytest.approx(0.3)


# Samplers.

def test_sample_fraction_sizes_determinism_and_stratified():
  labels = np.array([0] * 50 + [1] * 30 + [2] * 15 + [3] * 5)
  a = meta_tasks.sample_fraction(labels, 0.1, seed=3)
  assert len(a) == 10 and len(set(a)) == 10 and np.all(np.diff(a) > 0)
  np.testing.assert_array_equal(a, meta_tasks.sample_fraction(labels, 0.1, seed=3))
  assert not np.array_equal(a, meta_tasks.sample_fraction(labels, 0.1, seed=4))
  assert len(meta_tasks.sample_fraction(labels, 1.0, seed=0)) == 100
  assert len(meta_tasks.sample_fraction(labels, 0.001, seed=0)) == 1  # At least one row.
  s = meta_tasks.sample_fraction(labels, 0.1, seed=3, stratified=True)
  counts = np.bincount(labels[s], minlength=4)
  np.testing.assert_array_equal(counts, [5, 3, 2, 1])  # round(0.1 n), at least 1.


@pytest.mark.parametrize("fraction", [0, 0.0, -0.1, 1.5, float("nan"), "0.1"])
def test_fraction_outside_unit_interval_is_an_error(fraction):
  with pytest.raises(errors.InputError, match=r"fraction=.*\(0, 1\]"):
    meta_tasks.sample_fraction(np.zeros(10, int), fraction, seed=0)


def test_task_sampler_rows_padding_and_determinism():
  labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
  s = meta_tasks.TaskSampler(labels, num_tasks=2, steps=3, batch=4, seed=0, num_classes=4,
                       names=["Other", "A", "B", "C"])
  assert s.missing == ["C"]  # No example of C: never a task.
  for it in range(20):
    rels, rows = s.sample(it)
    assert len(set(rels.tolist())) == 2 and 3 not in rels
    for r, task in zip(rels, rows):
      for batch in task:
        real = batch[batch >= 0]
        assert np.all(labels[real] == r) and len(set(real)) == len(real)
        assert len(real) == min(4, np.sum(labels == r))  # Padded when fewer than K.
  r1, w1 = s.sample(7)
  r2, w2 = s.sample(7)
  np.testing.assert_array_equal(w1, w2)  # A pure function of (seed, iteration).
  np.testing.assert_array_equal(r1, r2)


def test_more_tasks_than_relations_present_is_an_error():
  labels = np.array([0, 0, 1, 2])
  with pytest.raises(errors.InputError, match=r"meta.tasks=5 .* only 3 relations .*"
                                              r"none for: D.*at most 3"):
    meta_tasks.TaskSampler(labels, num_tasks=5, steps=1, batch=2, seed=0, num_classes=4,
                     names=["Other", "B", "C", "D"])


def test_task_batch_stacks_padded_batches():
  def make(idx, k):
    out = np.zeros((k, 2), np.int32)
    out[:len(idx), 0] = idx
    return {"x": out, "_mask": np.arange(k) < len(idx)}
  rows = np.array([[[3, 4, -1], [5, -1, -1]]])
  t = meta_tasks.task_batch(make, rows)
  assert t["x"].shape == (1, 2, 3, 2)
  np.testing.assert_array_equal(t["_mask"][0], [[1, 1, 0], [1, 0, 0]])
  np.testing.assert_array_equal(t["x"][0, :, :, 0], [[3, 4, 0], [5, 0, 0]])


def test_trim_rows_keeps_every_real_row_in_few_shapes():
  rows = np.full((2, 3, 10), -1)
  rows[0, 0, :3] = [5, 6, 7]
  rows[1, 2, :2] = [8, 9]
  cut = meta_tasks.trim_rows(rows)
  assert cut.shape == (2, 3, 4)  # 3 rows needed -> a power of two.
  np.testing.assert_array_equal(np.sort(cut[cut >= 0]), [5, 6, 7, 8, 9])
  rows[1, 1, :9] = np.arange(9)
  assert meta_tasks.trim_rows(rows).shape == (2, 3, 10)  # Never more than K.
  assert meta_tasks.trim_rows(np.full((1, 1, 10), -1)).shape == (1, 1, 1)
  assert meta_learning.resolve_task_axis("auto", "cpu") == "map"
  assert meta_learning.resolve_task_axis("auto", "gpu") == "vmap"
  assert meta_learning.resolve_task_axis("vmap", "cpu") == "vmap"


def test_unknown_algorithm_and_inner_optimizer():
  with pytest.raises(errors.InputError, match="meta.algorithm"):
    meta_learning.make_meta_step(_loss, None, "reptil")
  with pytest.raises(errors.InputError, match="meta.inner_optim"):
    meta_learning.inner_optimizer("rmsprop", 0.1, 1.0)


# The job on real data.

@pytest.mark.job
def test_mlrc_runlocal_on_semeval(data_dir, tmp_path, caplog, capsys, monkeypatch):
  pytest.importorskip("spacy")
  caplog.set_level("INFO")
  from configs import mlrc_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import mlrc as mlrc_trainer  # pylint: disable=g-import-not-at-top
  config = mlrc_semeval.get_config("runlocal,fraction=0.2")
  config.mlrc.runs = 1
  config.model.hidden = config.model.attn_dim = 32  # Small and quick.
  config.input.data_dir = data_dir
  out = mlrc_trainer.train_and_evaluate(config, str(tmp_path))
  run = out["runs"][0]
  assert run["n_train"] == 60  # 20 % of the 300 runlocal sentences.
  rows = open(tmp_path / "frac0.2" / "run0" / "train_rows.txt").read().split("\n")
  assert len([r for r in rows if r]) == 60
  for name in ("baseline", "mlrc"):
    m = json.load(open(tmp_path / "frac0.2" / "run0" / name / "metrics.json"))
    assert m["test_f1"] == run[name] and 0.0 <= m["test_f1"] <= 1.0
    assert m["collapsed"] == run[f"{name}_collapsed"] in (True, False)
  meta_log = [json.loads(l) for l in open(tmp_path / "frac0.2" / "run0" / "meta" /
                                          "metrics.jsonl")]
  assert meta_log[-1]["step"] == config.meta.iterations
  # Progress before the first metrics line: the first meta-iteration's time.
  assert "the first meta-iteration, compiling included" in caplog.text
  report = open(tmp_path / "report.md").read()
  assert "| 0.2 | 60 | 1 |" in report and "Table 1" in report
  assert "**Smoke run (`:runlocal`)**" in report
  assert "## Per run" in report and run["meta_loss"]["logged"] >= 1
  assert os.path.getsize(tmp_path / "f1_vs_fraction.png") > 1000
  # Rerunning reads the finished runs back (no training): the same results.
  again = mlrc_trainer.train_and_evaluate(config, str(tmp_path))
  assert again["runs"][0]["mlrc"] == run["mlrc"]
  assert not os.path.exists(tmp_path / "frac0.2" / "run0" / "meta" / "ckpt")
  # The control (bench.research.mlrc_control) trains the baseline longer on
  # the run's saved rows, scoring dev every 2nd epoch and after the last.
  from bench.research import mlrc_control as control  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv("NOISY_META_DATA_DIR", data_dir)
  assert control.main([
      f"--config={ROOT}/configs/mlrc_semeval.py:runlocal,fraction=0.2",
      f"--workdir={tmp_path}", "--fraction=0.2", "--runs=0", "--epochs=3",
      "--eval_every=2"]) == 0
  out = tmp_path / "frac0.2" / "run0" / "baseline_e3_v2"
  lines = [json.loads(l) for l in open(out / "metrics.jsonl")]
  assert [l["dev/epoch"] for l in lines if "dev/epoch" in l] == [2, 3]
  assert f"{100 * run['baseline']:.2f}, baseline x3 epochs" in capsys.readouterr().out


def test_mlrc_config_bad_tasks_on_semeval(data_dir, tmp_path):
  pytest.importorskip("spacy")
  from configs import mlrc_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import mlrc as mlrc_trainer  # pylint: disable=g-import-not-at-top
  config = mlrc_semeval.get_config("runlocal,fraction=0.02")  # 6 sentences.
  config.mlrc.runs = 1
  config.meta.tasks = 19
  config.input.data_dir = data_dir
  with pytest.raises(errors.InputError, match="meta.tasks=19"):
    mlrc_trainer.train_and_evaluate(config, str(tmp_path))


def test_mlrc_config_runs_per_fraction():
  from configs import mlrc_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import mlrc as mlrc_trainer  # pylint: disable=g-import-not-at-top
  c = mlrc_semeval.get_config("fractions=0.01+0.1+1,runs=5+2+1")
  assert mlrc_trainer.runs_per_fraction(c) == (5, 2, 1) and c.mlrc.runs == 5
  c = mlrc_semeval.get_config("fractions=0.01+0.1,runs=3")
  assert mlrc_trainer.runs_per_fraction(c) == (3, 3)
  with pytest.raises(ValueError, match="one per fraction"):
    mlrc_semeval.get_config("fractions=0.01+0.1+1,runs=5+2")
  c.mlrc.runs_by_fraction = (2, 0)
  with pytest.raises(errors.InputError, match="one run per fraction"):
    mlrc_trainer.train_and_evaluate(c, "/tmp/unused")


# The report on fabricated results (no training).

def _result(fraction, run, baseline, mlrc_f1, b_collapsed=False, m_collapsed=False):
  reason = "predicts one class ('Other') for all 100 examples"
  return {"fraction": fraction, "run": run, "seed": run, "n_train": int(7500 * fraction),
          "counts": {"Cause-Effect": 2, "Other": 5}, "baseline": baseline, "mlrc": mlrc_f1,
          "baseline_dev": baseline, "mlrc_dev": mlrc_f1,
          "baseline_per_relation": {"Cause-Effect": baseline, "Other": 0.0},
          "mlrc_per_relation": {"Cause-Effect": mlrc_f1, "Other": 0.0},
          "baseline_collapsed": b_collapsed, "mlrc_collapsed": m_collapsed,
          "baseline_collapse_reason": reason if b_collapsed else None,
          "mlrc_collapse_reason": reason if m_collapsed else None,
          "meta_loss": {"first": 2.9, "last": 1.1, "at_theta_first": 2.95,
                        "at_theta_last": 1.5, "logged": 3}}


def test_mlrc_report_collapsed_runs_and_single_run(tmp_path):
  from configs import mlrc_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import mlrc as mlrc_trainer  # pylint: disable=g-import-not-at-top
  config = mlrc_semeval.get_config("fractions=0.01+0.1,runs=2+1")
  results = [_result(0.01, 0, 0.0300, 0.0445, True, True),  # Two one-label classifiers.
             _result(0.01, 1, 0.0500, 0.2500, True, False),
             _result(0.1, 0, 0.5500, 0.6000)]
  summary = mlrc_report.write_report(config, str(tmp_path), results,
                                     sum(mlrc_trainer.runs_per_fraction(config)))
  s1, s10 = summary[0.01], summary[0.1]
  assert s1["both_collapsed"] == 1 and s1["delta_runs"] == 1
  assert s1["delta"] == pytest.approx(20.0)  # Run 1 only: +1.45 of run 0 is no gain.
  assert s1["baseline_min"] == pytest.approx(3.0) and s1["mlrc_max"] == pytest.approx(25.0)
  assert s10["baseline_std"] is None and s10["runs"] == 1
  report = open(tmp_path / "report.md").read()
  assert "| 0.01 | 75 | 2 | 4.00 ± 1.41 (n=2) collapsed | 14.72 ± 14.53 (n=2) (1 of 2 " \
         "collapsed) | +20.00 (over 1 run; 1 with both collapsed left out) |" in report
  assert "| 0.1 | 750 | 1 | 55.00 (n=1) | 60.00 (n=1) | +5.00 |" in report
  assert "± 0.00" not in report and "+1.45" not in report
  assert "| 0.01 | 0 | 0 | 75 | 3.00 collapsed | 4.45 collapsed | —: both collapsed | " \
         "2.9000 → 1.1000" in report
  assert "**Collapsed classifiers: 3 of 6**" in report
  assert "Paper at 1 % (10 runs): baseline 3.13, MLRC 21.05." in report
  assert "min to max" in report and os.path.getsize(tmp_path / "f1_vs_fraction.png") > 1000
  text = open(tmp_path / "results.json").read()
  assert "NaN" not in text
  saved = json.loads(text)
  assert saved["summary"]["0.1"]["baseline_std"] is None


def test_mlrc_report_all_collapsed_has_no_delta(tmp_path):
  from configs import mlrc_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import mlrc as mlrc_trainer  # pylint: disable=g-import-not-at-top
  config = mlrc_semeval.get_config("fraction=0.01,runs=1")
  summary = mlrc_report.write_report(config, str(tmp_path),
                                     [_result(0.01, 0, 0.03, 0.0445, True, True)], 1)
  assert summary[0.01]["delta"] is None
  report = open(tmp_path / "report.md").read()
  assert "—: both classifiers collapsed in every run" in report
  assert json.load(open(tmp_path / "results.json"))["summary"]["0.01"]["delta"] is None


def test_meta_loss_reads_first_and_last_logged_rows(tmp_path):
  assert mlrc_report.meta_loss(str(tmp_path)) is None
  rows = [{"step": 5, "meta/loss": 3.0, "meta/inner_loss_first": 3.2},
          {"step": 10, "meta/loss": 2.0, "meta/inner_loss_first": 2.5}]
  (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
  got = mlrc_report.meta_loss(str(tmp_path))
  assert got == {"first": 3.0, "last": 2.0, "at_theta_first": 3.2, "at_theta_last": 2.5,
                 "logged": 2}
