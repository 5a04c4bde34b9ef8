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

Finished sub-runs are read back from their metrics.json, unfinished ones
resume from their checkpoints, so rerunning the command resumes the grid.
Through `reports.mlrc` it writes results.json, report.md (F1 by fraction,
mean +- std; per-relation F1 at the smallest fraction, as the paper's Table 1)
and f1_vs_fraction.png (the paper's Figures 1-2, for this learner).
"""
import collections
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
from noisy_meta.trainers import stages
from noisy_meta.trainers import supervised

# Config fields that extend this method's grid or change only its cadence:
# finished runs are reused, new ones added.
EXTENDABLE = ("mlrc.fractions", "mlrc.runs", "mlrc.runs_by_fraction",
              "mlrc.delete_checkpoints", "meta.log_every", "meta.checkpoint_every")


def _relation_of(label):
  return label.split("(")[0]


def meta_train(config, workdir, learner, rows):
  """Algorithm 1, lines 1-10, on training rows `rows` of any learner; returns theta.

  theta starts from the baseline's initial parameters (same seed). Resumes
  from workdir/ckpt; the tasks of iteration t depend only on (seed, t). The
  loop's pieces (checkpoints, metrics, progress, guards) are `loop.Session`'s.
  """
  m = config.meta
  session = loop.Session(config, workdir, m.iterations, unit="meta-its",
                         extendable=EXTENDABLE)
  train = learner.subset(learner.train, rows)
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
    return objectives.loss(learner, like, params, batch, rng)

  tx = meta_learning.inner_optimizer(m.inner_optim, m.inner_lr or config.optim.lr,
                                     m.inner_grad_clip)
  task_axis = meta_learning.resolve_task_axis(m.task_axis)
  logging.info("Meta step: %d tasks %s-ed (meta.task_axis=%s on %s)%s.", m.tasks, task_axis,
               m.task_axis, jax.default_backend(),
               ", rows trimmed per meta-iteration" if m.trim_rows else "")
  step_fn = session.compile(meta_learning.make_meta_step(
      loss_fn, tx, m.algorithm, m.meta_lr, m.iterations if m.anneal else 0, task_axis,
      mesh=mesh), mesh)
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


def _supervised(config, workdir, learner, rows, init_params):
  """The supervised method on training rows `rows` (metrics.json)."""
  return supervised.fit(config, workdir, learner, learner.subset(learner.train, rows),
                        init_params=init_params, extendable=EXTENDABLE)[0]


def _scores(learner, res):
  """(score, dev score, split scored) of a supervised result: a learner with
  a labelled test split its official test F1 of the best-dev model; a text
  classifier its final dev metric (MCC for CoLA, else accuracy)."""
  if isinstance(learner, base.TestScored):
    return res["test_f1"], res["dev_best_f1"], "test"
  metric = metrics_lib.headline(res.get("task"))
  return res["dev"][metric], res["dev"][metric], "dev"


def run_one(config, workdir, learner, fraction, run):
  """Baseline and MLRC of one (fraction, run); returns a result row."""
  cfg = config.copy_and_resolve_references()
  with cfg.unlocked():
    cfg.seed = config.seed + run
  train_labels = learner.train.labels
  rows = meta_tasks.sample_fraction(train_labels, fraction, cfg.seed, config.mlrc.stratified)
  os.makedirs(workdir, exist_ok=True)
  ids = learner.example_ids(learner.train)
  if parallel.is_lead():
    writers.write_text(os.path.join(workdir, "train_rows.txt"),
                       "".join(f"{r}\t{ids[r]}\n" for r in rows))
  counts = collections.Counter(_relation_of(learner.label_names[train_labels[r]])
                               for r in rows)
  out = {"fraction": fraction, "run": run, "seed": cfg.seed, "n_train": len(rows),
         "counts": dict(counts)}
  for name in ("baseline", "mlrc"):
    sub = os.path.join(workdir, name)
    res = stages.finished(sub)
    if res is None:
      init = None
      if name == "mlrc":
        init = meta_train(cfg, os.path.join(workdir, "meta"), learner, rows)
      res = _supervised(cfg, sub, learner, rows, init)
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
  if config.mlrc.delete_checkpoints:
    stages.drop_checkpoints(os.path.join(workdir, "meta"))
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
