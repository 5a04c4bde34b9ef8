"""MLRC experiments (Obamuyide and Vlachos 2019): baseline vs meta-learning
with limited supervision.

For every fraction in `config.mlrc.fractions` and run r < `config.mlrc.runs`
(seed = config.seed + r), `train_and_evaluate` keeps that fraction of the
SemEval/TACRED training split (`meta_tasks.sample_fraction`, rows saved in
`frac<f>/run<r>/train_rows.txt`), then on exactly those rows trains

  baseline/  the supervised method (`trainers.supervised.fit`), and
  meta/      Algorithm 1 (`config.meta.iterations` meta-iterations) from the
             same initial parameters, then
  mlrc/      supervised fine-tuning from the meta-learned parameters with the
             baseline's recipe, batches and dropout stream (line 11).

Under label noise (issue 36; trainers/mlrc_noise.py): `mlrc.noise` and
`mlrc.noise_type` inject noise into the sampled rows after sampling (its own
`mlrc.noise_seed`), `mlrc.trusted_per_class` charges a clean trusted set to
the budget, and the switches `mlrc.loss=gce`, `mlrc.reweight=meta` and
`mlrc.clean=aum` make the variants, all on the same rows; labels.tsv keeps
every row's clean and given label, noise.json what cleaning did to them.

Finished sub-runs are read back from their metrics.json, unfinished ones
resume from their checkpoints, so rerunning the command resumes the grid.
Through `reports.mlrc` it writes results.json, report.md (F1 by fraction,
mean +- std; per-relation F1 at the smallest fraction, as the paper's Table 1)
and f1_vs_fraction.png (the paper's Figures 1-2, for this learner).
"""
import collections
import json
import os
import time

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from noisy_meta.core import errors
from noisy_meta.core import guards
from noisy_meta.core import loop
from noisy_meta.core import objectives
from noisy_meta.core import parallel
from noisy_meta.core import progress
from noisy_meta.core import writers
from noisy_meta.data import meta_tasks
from noisy_meta import learners
from noisy_meta.learners import base
from noisy_meta import metrics as metrics_lib
from noisy_meta import meta_learning
from noisy_meta.reports import explorer
from noisy_meta.reports import mlrc_report as mlrc_report
from noisy_meta.trainers import mlrc_noise
from noisy_meta.trainers import stages
from noisy_meta.trainers import supervised

# Config fields that extend this method's grid or change only its cadence:
# finished runs are reused, new ones added.
EXTENDABLE = ("mlrc.fractions", "mlrc.runs", "mlrc.runs_by_fraction",
              "mlrc.delete_checkpoints", "meta.log_every", "meta.checkpoint_every")


def _relation_of(label):
  return label.split("(")[0]


def meta_train(config, workdir, learner, rows, split=None, trusted_rows=()):
  """Algorithm 1, lines 1-10, on training rows `rows` of any learner; returns theta.

  split: the training split the rows index (default the learner's; a noisy
  run's relabelled one); trusted_rows (rows of `split`): with
  mlrc.reweight=meta, every inner step weights its examples against them
  (mlrc_noise.meta_weigher). The inner loss is mlrc.loss's.

  theta starts from the baseline's initial parameters (same seed). Resumes
  from workdir/ckpt; the tasks of iteration t depend only on (seed, t). The
  loop's pieces (checkpoints, metrics, progress, guards) are `loop.Session`'s.
  """
  m = config.meta
  session = loop.Session(config, workdir, m.iterations, unit="meta-its",
                         extendable=EXTENDABLE)
  split = learner.train if split is None else split
  train = learner.subset(split, rows)
  labels = learner.label_names
  extra = 0 if m.algorithm == "reptile" else 1  # The query batch.
  sampler = meta_tasks.TaskSampler(train.labels, m.tasks, m.inner_steps + extra,
                                   m.inner_batch, seed=config.seed, num_classes=len(labels),
                                   names=labels, sampling=m.sampling)
  if sampler.missing:
    logging.warning("No training example (so no meta-task) for %d labels: %s.",
                    len(sampler.missing), ", ".join(sampler.missing))
  # meta.fixed_length: one sentence length for the run, one compiled step.
  # Else each meta-iteration is padded to its longest sampled sentence (the
  # learner's bucketing): one compile per bucket, reused through the
  # persistent cache, and on CPU about half the padded work at 1 %.
  longest = learner.padded_length(train, np.arange(learner.size(train)))

  # The B tasks of a meta-iteration are split over the mesh.
  mesh = parallel.make_mesh(config.num_devices, divides=m.tasks)
  init_rng, dropout_rng = jax.random.split(jax.random.key(config.seed))
  ts = learner.init_state(init_rng, learner.num_classes, 0, mesh)
  state = parallel.replicate(meta_learning.MetaState(
      step=jnp.int32(0), params=ts.params, constants=getattr(ts, "constants", None),
      apply_fn=ts.apply_fn), mesh)
  state = session.restore(state)

  def loss_fn(params, constants, batch, rng):
    like = meta_learning.MetaState(step=None, params=None, constants=constants,
                                   apply_fn=ts.apply_fn)
    return objectives.loss(learner, like, params, batch, rng, objective)

  objective = mlrc_noise.objective(config)
  weigh = None
  if config.mlrc.reweight == "meta":
    weigh = mlrc_noise.meta_weigher(learner, ts.apply_fn,
                                    mlrc_noise.trusted_batch(learner, split, trusted_rows),
                                    config.mlrc.reweight_grads, objective)

  tx = meta_learning.inner_optimizer(m.inner_optim, m.inner_lr or config.optim.lr,
                                     m.inner_grad_clip)
  task_axis = meta_learning.resolve_task_axis(m.task_axis)
  logging.info("Meta step: %d tasks %s-ed (meta.task_axis=%s on %s)%s.", m.tasks, task_axis,
               m.task_axis, jax.default_backend(),
               ", rows trimmed per meta-iteration" if m.trim_rows else "")
  step_fn = session.compile(meta_learning.make_meta_step(
      loss_fn, tx, m.algorithm, m.meta_lr, m.iterations if m.anneal else 0, task_axis,
      mesh=mesh, weigh=weigh), mesh)
  # Not the fine-tuning's dropout stream.
  rng = parallel.replicate(jax.random.fold_in(dropout_rng, 1), mesh)

  def tasks_of(it):
    _, rows = sampler.sample(it)
    if m.trim_rows:
      rows = meta_tasks.trim_rows(rows)
    length = longest if m.fixed_length else learner.padded_length(train, rows[rows >= 0])
    return parallel.shard(meta_tasks.task_batch(
        lambda idx, k: learner.make_batch(train, idx, k, length), rows), mesh)

  # Progress between the metric lines (a slow learner on CPU takes minutes per
  # log_every): the first meta-iteration (its time includes compiling) and
  # then at most every 60 s; log lines only, the metrics files do not depend
  # on timing. At most one meta-iteration is in flight: the host builds the
  # next tasks while it runs, and the clock sees real progress (asynchronous
  # dispatch would otherwise queue every iteration at once).
  shown, running = time.perf_counter(), None
  with session.guard():
    for it in range(session.start, m.iterations):
      tasks = tasks_of(it)
      if running is not None:
        jax.block_until_ready(running)
      state, metrics = step_fn(state, tasks, rng)
      running = metrics
      session.record(metrics)
      done = it + 1
      session.progress.advance(done)
      now = time.perf_counter()
      logged = done % m.log_every == 0 or done == m.iterations
      if not logged and (it == session.start or now - shown >= 60):
        jax.block_until_ready(metrics)
        now = time.perf_counter()
        logging.info("meta %s%s", session.progress.line(done)[0],
                     " (the first meta-iteration, compiling included)"
                     if it == session.start else "")
        shown = now
      if logged:
        shown = now
        metrics, line, _ = session.flush(done)
        logging.info("meta %s | inner loss %.4f -> %.4f | eps %.3f", line,
                     metrics["inner_loss_first"], metrics["inner_loss_last"],
                     metrics["meta_lr"])
        session.write(done, metrics, prefix="meta/")
      if done % m.checkpoint_every == 0 or done == m.iterations:
        session.save(done, state)
  session.close()
  return state.params


def _supervised(config, workdir, learner, split, rows, init_params, train_fn=None):
  """The supervised method on rows `rows` of `split` with mlrc.loss's
  objective (and `train_fn`'s step); returns (metrics.json's dict, state)."""
  return supervised.fit(config, workdir, learner, learner.subset(split, rows),
                        init_params=init_params, extendable=EXTENDABLE,
                        objective=mlrc_noise.objective(config), train_fn=train_fn)


def _scores(learner, res):
  """(score, dev score, split scored) of a supervised result: a learner with
  a labelled test split its official test F1 of the best-dev model; a text
  classifier its final dev metric (MCC for CoLA, else accuracy)."""
  if isinstance(learner, base.TestScored):
    return res["test_f1"], res["dev_best_f1"], "test"
  metric = metrics_lib.headline(res.get("task"))
  return res["dev"][metric], res["dev"][metric], "dev"


def _rows(cfg, workdir, learner, fraction):
  """The run's rows (mlrc_noise.prepare: sampled, trusted, noisy), AUM-sieved
  with mlrc.clean=aum (trusted rows are known clean and kept); writes
  train_rows.txt (the rows trained on) and labels.tsv. Returns (Rows, the
  relabelled training split)."""
  clean = learner.train.labels
  r = mlrc_noise.prepare(cfg, clean, learner.label_names, fraction, cfg.seed)
  split = learner.relabel(learner.train, r.given)
  if cfg.mlrc.clean == "aum":
    keep = mlrc_noise.aum_keep(cfg, os.path.join(workdir, "clean"), learner,
                               learner.subset(split, r.rows), cfg.mlrc.clean_percentile)
    r.kept = keep | r.trusted  # aum_run drops its checkpoints.
  os.makedirs(workdir, exist_ok=True)
  ids = learner.example_ids(learner.train)
  if parallel.is_lead():
    writers.write_text(os.path.join(workdir, "train_rows.txt"),
                       "".join(f"{x}\t{ids[x]}\n" for x in r.rows[r.kept]))
    mlrc_noise.write_labels(workdir, r, clean, ids, learner.label_names)
  return r, split


def run_one(config, workdir, learner, fraction, run):
  """Baseline and MLRC of one (fraction, run); returns a result row."""
  cfg = config.copy_and_resolve_references()
  with cfg.unlocked():
    cfg.seed = config.seed + run
  r, split = _rows(cfg, workdir, learner, fraction)
  rows, trusted = r.rows[r.kept], r.rows[r.trusted]
  reweight = config.mlrc.reweight == "meta"
  counts = collections.Counter(_relation_of(learner.label_names[split.labels[x]])
                               for x in rows)
  out = {"fraction": fraction, "run": run, "seed": cfg.seed, "n_train": len(rows),
         "counts": dict(counts)}
  weights_of_rows = None
  for name in ("baseline", "mlrc"):
    sub = os.path.join(workdir, name)
    res = stages.finished(sub)
    if res is None:
      init, step = None, None
      if name == "mlrc":
        init = meta_train(cfg, os.path.join(workdir, "meta"), learner, rows, split, trusted)
        step = mlrc_noise.train_fn(cfg, learner, split, trusted) if reweight else None
      res, state = _supervised(cfg, sub, learner, split, rows, init, step)
      if name == "mlrc" and reweight:  # Where the weights put each row at the end.
        weights_of_rows = np.ones(len(r.rows))
        weights_of_rows[r.kept] = mlrc_noise.row_weights(
            cfg, learner, state, split, rows, trusted)
      if config.mlrc.delete_checkpoints:
        stages.drop_checkpoints(sub)
    out[name], out[f"{name}_dev"], scored_on = _scores(learner, res)
    if scored_on != "test":
      out["scored_on"] = scored_on
    out[f"{name}_per_relation"] = {r: v["f1"] for r, v in res.get("per_relation", {}).items()}
    # None: a metrics.json written before collapse was recorded.
    out[f"{name}_collapsed"] = res.get("collapsed")
    out[f"{name}_collapse_reason"] = res.get("collapse_reason")
  out["meta_loss"] = mlrc_report.meta_loss(os.path.join(workdir, "meta"))
  out["noise"] = _noise_summary(workdir, r, weights_of_rows)
  if config.mlrc.delete_checkpoints:
    stages.drop_checkpoints(os.path.join(workdir, "meta"))
  return out


def _noise_summary(workdir, r, weights_of_rows):
  """mlrc_noise.noise_summary, kept in noise.json (a read-back run has no
  final state to weigh the rows with)."""
  path = os.path.join(workdir, "noise.json")
  if weights_of_rows is None and os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  out = mlrc_noise.noise_summary(r, weights_of_rows)
  if parallel.is_lead():
    writers.write_json(path, out)
  return out


def runs_per_fraction(config):
  """Runs at each of config.mlrc.fractions (mlrc.runs_by_fraction or mlrc.runs)."""
  by = tuple(config.mlrc.runs_by_fraction)
  if by and len(by) != len(config.mlrc.fractions):
    raise errors.InputError(f"mlrc.runs_by_fraction={by} does not match "
                            f"mlrc.fractions={tuple(config.mlrc.fractions)}.")
  return by or (config.mlrc.runs,) * len(config.mlrc.fractions)


def train_and_evaluate(config, workdir):
  """The grid of fractions x runs; writes report.md, results.json and the plot."""
  for f in config.mlrc.fractions:
    meta_tasks.check_fraction(f)
  runs = runs_per_fraction(config)
  if min(runs) < 1:
    raise errors.InputError(f"mlrc.runs={config.mlrc.runs} (by fraction: "
                            f"{config.mlrc.runs_by_fraction}): need at least "
                            "one run per fraction.")
  lead = parallel.is_lead()
  os.makedirs(workdir, exist_ok=True)
  guards.check_config(workdir, config, EXTENDABLE)
  learner = learners.get(config.learner)(config)
  guards.check_data(workdir, config, **learner.fingerprints(learner.train))
  jobs = [(f, r) for f, n in zip(config.mlrc.fractions, runs) for r in range(n)]
  sub = lambda f, r: os.path.join(workdir, f"frac{f:g}", f"run{r}")
  finished = lambda f, r: all(stages.finished(os.path.join(sub(f, r), n))
                              for n in ("baseline", "mlrc"))
  done = sum(finished(f, r) for f, r in jobs)
  prog = progress.Progress(len(jobs), start=done, unit="runs")
  results = []
  for f, r in jobs:
    read_back = finished(f, r)
    results.append(run_one(config, sub(f, r), learner, f, r))
    res = results[-1]
    if read_back:  # Finished earlier: no rate or ETA to update.
      line = "(read back)"
    else:
      done += 1
      line, _ = prog.line(done)
    logging.info("MLRC grid %s | fraction %g run %d: baseline %.2f, MLRC %.2f", line, f, r,
                 100 * res["baseline"], 100 * res["mlrc"])
    if lead:
      mlrc_report.write_report(config, workdir, results, len(jobs))
      explorer.write_mlrc_explorer_or_warn(workdir)  # From results.json.
  summary = mlrc_report.summarize(results)
  for f, s in summary.items():
    logging.info("fraction %g (%d runs): baseline %s, MLRC %s, MLRC - baseline %s", f,
                 s["runs"], mlrc_report.fmt_score(s, "baseline"),
                 mlrc_report.fmt_score(s, "mlrc"), mlrc_report.fmt_delta(s))
  return {"summary": summary, "runs": results}
