"""MLRC experiments (seed 004): baseline vs meta-learning with limited supervision.

For every fraction in `config.mlrc.fractions` and run r < `config.mlrc.runs`
(seed = config.seed + r), `train_and_evaluate` keeps that fraction of the
SemEval/TACRED training split (`mlrc.sample_fraction`, rows saved in
`frac<f>/run<r>/train_rows.txt`), then on exactly those rows trains

  baseline/  the supervised learner (`trainers.relation.fit`), and
  meta/      Algorithm 1 (`config.meta.iterations` meta-iterations) from the
             same initial parameters, then
  mlrc/      supervised fine-tuning from the meta-learned parameters with the
             baseline's recipe, batches and dropout stream (line 11).

Finished sub-runs are read back from their metrics.json, unfinished ones
resume from their checkpoints, so rerunning the command resumes the grid.
It writes results.json, report.md (F1 by fraction, mean +- std; per-relation
F1 at the smallest fraction, as the paper's Table 1) and f1_vs_fraction.png
(the paper's Figures 1-2, for this learner).
"""
import collections
import functools
import json
import os
import shutil

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from noisy_meta import atomic
from noisy_meta import checkpoint
from noisy_meta import errors
from noisy_meta import guards
from noisy_meta import mlrc
from noisy_meta import parallel
from noisy_meta import progress
from noisy_meta import reports
from noisy_meta import writers
from noisy_meta.trainers import relation

# Seed 004, Table 1 and Section 5 (SemEval, 1 % of the training set).
PAPER_1PCT = {"pa_lstm": (3.13, 21.05), "cgcn": (3.38, 17.14)}


def _relation_of(label):
  return label.split("(")[0]


def meta_train(config, workdir, p, rows):
  """Algorithm 1, lines 1-10, on training rows `rows`; returns theta.

  theta starts from the baseline's initial parameters (same seed). Resumes
  from workdir/ckpt; the tasks of iteration t depend only on (seed, t).
  """
  m, inp = config.meta, config.input
  lead = jax.process_index() == 0
  os.makedirs(workdir, exist_ok=True)
  guards.check_config(workdir, config)
  enc = relation.subset(p["enc"]["train"], rows)
  labels = p["labels"]
  extra = 0 if m.algorithm == "reptile" else 1  # The query batch.
  sampler = mlrc.TaskSampler(enc.labels, m.tasks, m.inner_steps + extra, m.inner_batch,
                             seed=config.seed, num_classes=len(labels), names=labels,
                             sampling=m.sampling)
  if sampler.missing:
    logging.warning("No training example (so no meta-task) for %d relations: %s.",
                    len(sampler.missing), ", ".join(sampler.missing))
  bucket = inp.length_bucket
  round_up = lambda n: relation.bucket_length(n, bucket)
  # meta.fixed_length: one sentence length for the run, one compiled step.
  # Else each meta-iteration is padded to its longest sampled sentence (a
  # multiple of length_bucket): one compile per bucket, reused through the
  # persistent cache, and on CPU about half the padded work at 1 %.
  longest = round_up(int(enc.lengths.max()))

  # The B tasks of a meta-iteration are split over the mesh.
  mesh = parallel.make_mesh(config.get("num_devices", 0), divides=m.tasks)
  init_rng, dropout_rng = jax.random.split(jax.random.key(config.seed))
  ts = relation.create_train_state(config, p["vocabs"], p["glove"], len(labels), init_rng,
                                   mesh)
  state = parallel.replicate(mlrc.MetaState(step=jnp.int32(0), params=ts.params,
                                            constants=ts.constants, apply_fn=ts.apply_fn),
                             mesh)
  ckpt = checkpoint.Checkpointer(workdir)
  state = ckpt.restore_or(state)
  start = int(state.step)
  loss_fn = functools.partial(relation.batch_loss, ts.apply_fn,
                              pooling_l2=config.model.pooling_l2)
  tx = mlrc.inner_optimizer(m.inner_optim, m.inner_lr or config.optim.lr, m.inner_grad_clip)
  step_fn = jax.jit(guards.inject_nan(
      mlrc.make_meta_step(loss_fn, tx, m.algorithm, m.meta_lr,
                          m.iterations if m.anneal else 0, m.task_axis, mesh=mesh),
      config.debug.nan_at_step), donate_argnums=(0,), out_shardings=parallel.replicated(mesh))
  # Not the fine-tuning's dropout stream.
  rng = parallel.replicate(jax.random.fold_in(dropout_rng, 1), mesh)
  def tasks_of(it):
    _, rows = sampler.sample(it)
    length = longest if m.fixed_length else round_up(int(enc.lengths[rows[rows >= 0]].max()))
    return parallel.shard(mlrc.task_batch(
        lambda idx, k: relation.make_batch(enc, idx, k, bucket, length=length), rows), mesh)

  writer = writers.MetricWriter(workdir, enabled=lead, resume_step=start)
  prog = progress.Progress(m.iterations, start, unit="meta-its")
  pending = []
  with guards.stop_on_divergence(workdir, ckpt):
    for it in range(start, m.iterations):
      state, metrics = step_fn(state, tasks_of(it), rng)
      pending.append(metrics)
      done = it + 1
      if done % m.log_every == 0 or done == m.iterations:
        metrics, pending = writers.mean_metrics(pending, done), []
        line, _ = prog.line(done)
        logging.info("meta %s | inner loss %.4f -> %.4f | eps %.3f", line,
                     metrics["inner_loss_first"], metrics["inner_loss_last"],
                     metrics["meta_lr"])
        writer.write(done, metrics, prefix="meta/")
      if done % m.checkpoint_every == 0 or done == m.iterations:
        writers.check_finite(pending, done)  # Never save a non-finite state.
        ckpt.save(done, state)
  ckpt.close()
  writer.close()
  return state.params


def _finished(workdir):
  path = os.path.join(workdir, "metrics.json")
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  return None


def run_one(config, workdir, p, fraction, run):
  """Baseline and MLRC of one (fraction, run); returns a result row."""
  cfg = config.copy_and_resolve_references()
  with cfg.unlocked():
    cfg.seed = config.seed + run
  train_labels = p["enc"]["train"].labels
  rows = mlrc.sample_fraction(train_labels, fraction, cfg.seed, config.mlrc.stratified)
  os.makedirs(workdir, exist_ok=True)
  ids = p["enc"]["train"].ids
  if parallel.is_lead():
    writers.write_text(os.path.join(workdir, "train_rows.txt"),
                       "".join(f"{r}\t{ids[r]}\n" for r in rows))
  counts = collections.Counter(_relation_of(p["labels"][train_labels[r]]) for r in rows)
  out = {"fraction": fraction, "run": run, "seed": cfg.seed, "n_train": len(rows),
         "counts": dict(counts)}
  for name in ("baseline", "mlrc"):
    sub = os.path.join(workdir, name)
    res = _finished(sub)
    if res is None:
      init = None
      if name == "mlrc":
        init = meta_train(cfg, os.path.join(workdir, "meta"), p, rows)
      res = relation.fit(cfg, sub, p, train_idx=rows, init_params=init)
      if config.mlrc.delete_checkpoints:
        _delete_ckpt(sub)
    out[name] = res["test_f1"]
    out[f"{name}_dev"] = res["dev_best_f1"]
    out[f"{name}_per_relation"] = {r: v["f1"] for r, v in res.get("per_relation", {}).items()}
    # None: a metrics.json written before collapse was recorded.
    out[f"{name}_collapsed"] = res.get("collapsed")
    out[f"{name}_collapse_reason"] = res.get("collapse_reason")
  out["meta_loss"] = meta_loss(os.path.join(workdir, "meta"))
  if config.mlrc.delete_checkpoints:
    _delete_ckpt(os.path.join(workdir, "meta"))
  return out


def _delete_ckpt(workdir):
  if parallel.is_lead():
    shutil.rmtree(os.path.join(workdir, "ckpt"), ignore_errors=True)


def meta_loss(workdir):
  """First and last logged mean meta loss of a meta-training run (meta/metrics.jsonl).

  `loss`: the mean inner-loop loss over the B tasks and S steps of the logged
  iterations; `at_theta`: the tasks' loss at θ before adapting (the first
  inner step), the number meta-learning should lower. None without a log.
  """
  rows = writers.logged(workdir, "meta/", float("inf"))
  rows = [r for r in rows if "loss" in r]
  if not rows:
    return None
  return {"first": rows[0]["loss"], "last": rows[-1]["loss"],
          "at_theta_first": rows[0].get("inner_loss_first"),
          "at_theta_last": rows[-1].get("inner_loss_first"),
          "logged": len(rows)}


def _both_collapsed(r):
  return bool(r.get("baseline_collapsed")) and bool(r.get("mlrc_collapsed"))


def summarize(results):
  """{fraction: row} with, for baseline and MLRC (x100): mean, sample std (None
  for one run), min and max over runs, and the number of collapsed runs.

  `delta` (MLRC - baseline) averages the runs where not both classifiers
  collapsed: a difference between two one-label classifiers is no gain. It is
  None, with `delta_note`, when every run has both collapsed.
  """
  by = collections.defaultdict(list)
  for r in results:
    by[r["fraction"]].append(r)
  out = {}
  for f in sorted(by):
    rs = by[f]
    row = {"runs": len(rs), "n_train": float(np.mean([r["n_train"] for r in rs]))}
    for name in ("baseline", "mlrc"):
      v = 100 * np.array([r[name] for r in rs])
      row[name] = float(v.mean())
      row[f"{name}_std"] = float(v.std(ddof=1)) if len(v) > 1 else None
      row[f"{name}_min"], row[f"{name}_max"] = float(v.min()), float(v.max())
      row[f"{name}_collapsed"] = sum(bool(r.get(f"{name}_collapsed")) for r in rs)
    ok = [r for r in rs if not _both_collapsed(r)]
    row["both_collapsed"] = len(rs) - len(ok)
    row["delta_runs"] = len(ok)
    if ok:
      row["delta"] = float(100 * np.mean([r["mlrc"] - r["baseline"] for r in ok]))
    else:
      row["delta"] = None
      row["delta_note"] = "both classifiers collapsed in every run: no gain to report"
    out[f] = row
  return out


def per_relation_rows(results, fraction):
  """Table 1: relation, mean training count, baseline and MLRC F1 (x100)."""
  rs = [r for r in results if r["fraction"] == fraction]
  rows = []
  for rel in (rs[0]["baseline_per_relation"] if rs else {}):
    rows.append((rel, float(np.mean([r["counts"].get(rel, 0) for r in rs])),
                 100 * float(np.mean([r["baseline_per_relation"].get(rel, 0.0) for r in rs])),
                 100 * float(np.mean([r["mlrc_per_relation"].get(rel, 0.0) for r in rs]))))
  rows.sort(key=lambda x: x[1])
  return rows


def _grid_state(config, results):
  total = sum(runs_per_fraction(config))
  if len(results) >= total:
    return f"All {total} runs of the grid finished."
  return (f"**Incomplete: {len(results)} of {total} runs finished** (the same command "
          "resumes the grid).")


def _fmt(s, name):
  """'mean ± std (n=k)', or 'value (n=1)'; collapsed runs counted."""
  if s[f"{name}_std"] is None:
    text = f"{s[name]:.2f} (n=1)"
  else:
    text = f"{s[name]:.2f} ± {s[f'{name}_std']:.2f} (n={s['runs']})"
  k = s.get(f"{name}_collapsed", 0)
  if k:
    text += " collapsed" if k == s["runs"] else f" ({k} of {s['runs']} collapsed)"
  return text


def _fmt_delta(s):
  if s["delta"] is None:
    return "—: " + s["delta_note"]
  text = f"{s['delta']:+.2f}"
  if s["both_collapsed"]:
    text += (f" (over {s['delta_runs']} run{'s' * (s['delta_runs'] > 1)}; "
             f"{s['both_collapsed']} with both collapsed left out)")
  return text


def _run_cell(r, name):
  mark = {True: " collapsed", None: " (collapse unknown)"}.get(r.get(f"{name}_collapsed"), "")
  return f"{100 * r[name]:.2f}{mark}"


def _loss_cell(loss):
  if not loss:
    return "no meta log"
  return (f"{loss['first']:.4f} → {loss['last']:.4f}" +
          (f" (at θ: {loss['at_theta_first']:.4f} → {loss['at_theta_last']:.4f})"
           if loss.get("at_theta_first") is not None else ""))


def _training_set_size(summary):
  """Sentences in the training split the fractions are taken of (rounded)."""
  return int(round(np.median([s["n_train"] / f for f, s in summary.items()])))


def write_report(config, workdir, results):
  summary = summarize(results)
  model = config.model.name
  lines = [f"# MLRC vs supervised {model} on {config.input.dataset}", "",
           f"Official test score (x100), mean ± sample std over runs (n runs; one run: its "
           f"value, n=1); seeds {config.seed}..{config.seed + config.mlrc.runs - 1}; meta: "
           f"{config.meta.algorithm}, {config.meta.iterations} iterations, "
           f"B={config.meta.tasks}, S={config.meta.inner_steps}, K={config.meta.inner_batch}, "
           f"inner lr {config.meta.inner_lr or config.optim.lr}, eps {config.meta.meta_lr}"
           f"{' annealed to 0' if config.meta.anneal else ''}. A meta-task is one directed "
           "label present in the subset (SemEval: 19 labels, Other included).", "",
           _grid_state(config, results), ""]
  if config.get("runlocal"):
    lines += [reports.SMOKE_RUN, ""]
  collapsed = [(r, n) for r in results for n in ("baseline", "mlrc") if r.get(f"{n}_collapsed")]
  if collapsed:
    lines += [f"**Collapsed classifiers: {len(collapsed)} of {2 * len(results)}** predict one "
              "label on test, or score what always predicting the majority label scores. "
              "Their F1 measures which label they chose, not what they learned; an MLRC - "
              "baseline difference between two collapsed classifiers is not a gain and is "
              "left out of the mean difference.", ""]
  lines += ["| fraction | train examples | runs | baseline | MLRC | MLRC - baseline |",
            "|---:|---:|---:|---:|---:|---:|"]
  for f, s in summary.items():
    lines.append(f"| {f:g} | {s['n_train']:.0f} | {s['runs']} | {_fmt(s, 'baseline')} | "
                 f"{_fmt(s, 'mlrc')} | {_fmt_delta(s)} |")
  paper = PAPER_1PCT.get(model) if config.input.dataset == "semeval" else None
  if paper:
    at = "" if 0.01 in summary else " (not in this grid)"
    lines += ["", f"Paper at 1 %{at} (10 runs): baseline {paper[0]}, MLRC {paper[1]}."]
  if results:
    lines += ["", "## Per run", "",
              "Run r uses seed + r: its subset, initialisation and batches. Meta loss: the "
              "first and last logged mean inner-loop loss of the meta-training (in "
              "parentheses the tasks' loss at θ before adapting).", "",
              "| fraction | run | seed | train examples | baseline | MLRC | MLRC - baseline "
              "| meta loss first → last |", "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in sorted(results, key=lambda r: (r["fraction"], r["run"])):
      delta = ("—: both collapsed" if _both_collapsed(r)
               else f"{100 * (r['mlrc'] - r['baseline']):+.2f}")
      lines.append(f"| {r['fraction']:g} | {r['run']} | {r['seed']} | {r['n_train']} | "
                   f"{_run_cell(r, 'baseline')} | {_run_cell(r, 'mlrc')} | {delta} | "
                   f"{_loss_cell(r.get('meta_loss'))} |")
    reasons = [f"- fraction {r['fraction']:g} run {r['run']} {n}: {r[f'{n}_collapse_reason']}"
               for r, n in collapsed]
    if reasons:
      lines += ["", "Collapsed:", ""] + reasons
  if summary:
    smallest = min(summary)
    lines += ["", f"## Per relation at fraction {smallest:g} (the paper's Table 1)", "",
              "| relation | # (mean) | baseline F1 | MLRC F1 |", "|---|---:|---:|---:|"]
    for rel, n, b, m in per_relation_rows(results, smallest):
      lines.append(f"| {rel} | {n:.1f} | {b:.2f} | {m:.2f} |")
  names = plot(workdir, summary, model, results, config.input.dataset) if summary else []
  if names:
    lines += ["", "## Figure", "",
              f"Test F1 against the share of the {_training_set_size(summary)} training "
              "sentences used. Points: mean over runs; bars: min to max over the runs (never "
              "below 0, unlike mean ± std); n beside each point; dots: single runs; red "
              "crosses: collapsed runs"
              + ("; hollow squares: the paper's numbers, at 1 % only (where it measured "
                 "them)." if paper and 0.01 in summary
                 else "."), ""]
  lines += [f"![{n}]({n})" for n in names]
  writers.write_text(os.path.join(workdir, "report.md"), "\n".join(lines) + "\n")
  writers.write_json(os.path.join(workdir, "results.json"),
                     {"summary": {f"{k:g}": v for k, v in summary.items()}, "runs": results})
  return summary


def plot(workdir, summary, model, results=(), dataset="semeval"):
  """F1 vs % of the training set, baseline and MLRC (Figures 1-2).

  Mean over runs with min-max bars and n per point, single runs as dots,
  collapsed runs as red crosses, the paper's numbers at 1 % only.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fr = sorted(summary)
  x = np.array([100 * f for f in fr])
  fig, ax = plt.subplots(figsize=(6, 4))
  for k, (name, label) in enumerate((("baseline", model), ("mlrc", f"MLRC ({model})"))):
    y = np.array([summary[f][name] for f in fr])
    lo = y - np.array([summary[f][f"{name}_min"] for f in fr])
    hi = np.array([summary[f][f"{name}_max"] for f in fr]) - y
    shift = 1.04 if k else 1 / 1.04  # Side by side on the log axis.
    ax.errorbar(x * shift, y, yerr=[lo, hi], marker="o", capsize=3, color=f"C{k}",
                label=f"{label}: mean, min-max")
    for xi, yi, f in zip(x * shift, y, fr):
      ax.annotate(f"n={summary[f]['runs']}", (xi, yi), textcoords="offset points",
                  xytext=(5, -10 if k == 0 else 5), fontsize=7, color=f"C{k}")
    runs = list(results)
    ax.scatter([100 * r["fraction"] * shift for r in runs], [100 * r[name] for r in runs],
               s=10, color=f"C{k}", alpha=0.4)
    bad = [r for r in runs if r.get(f"{name}_collapsed")]
    if bad:
      ax.scatter([100 * r["fraction"] * shift for r in bad], [100 * r[name] for r in bad],
                 s=60, marker="x", color="C3", zorder=3)
  if any(r.get(f"{n}_collapsed") for r in results for n in ("baseline", "mlrc")):
    ax.scatter([], [], s=60, marker="x", color="C3", label="collapsed run (one label)")
  paper = PAPER_1PCT.get(model) if dataset == "semeval" else None
  if paper and 0.01 in fr:  # Measured at 1 % only: drawn there only.
    for k, (v, label) in enumerate(zip(paper, (model, "MLRC"))):
      ax.scatter([1.04 if k else 1 / 1.04], [v], marker="s", s=45, facecolors="none",
                 edgecolors=f"C{k}", linewidths=1.5, zorder=4,
                 label=f"paper at 1 %, {label}: {v}")
  ax.set_xscale("log")
  total = _training_set_size(summary)
  ax.set_xticks(x, [f"{v:g} %\n({summary[f]['n_train']:.0f})" for v, f in zip(x, fr)])
  ax.minorticks_off()
  ax.set_xlim(x.min() / 1.6, x.max() * 1.6)
  ax.margins(y=0.12)
  ax.set_ylim(bottom=0)
  ax.set_xlabel(f"training sentences used (% of {dataset}'s {total} training sentences)")
  ax.set_ylabel("test F1 (%)")
  ax.set_title(f"{dataset}: {model} vs MLRC, test F1 by share of training data", fontsize=10)
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  name = "f1_vs_fraction.png"
  try:
    with atomic.path(os.path.join(workdir, name), suffix=".png") as tmp:
      fig.savefig(tmp, dpi=120)
  finally:
    plt.close(fig)
  return [name]


def runs_per_fraction(config):
  """Runs at each of config.mlrc.fractions (mlrc.runs_by_fraction or mlrc.runs)."""
  by = tuple(config.mlrc.get("runs_by_fraction", ()))
  if by and len(by) != len(config.mlrc.fractions):
    raise errors.InputError(f"mlrc.runs_by_fraction={by} does not match "
                            f"mlrc.fractions={tuple(config.mlrc.fractions)}.")
  return by or (config.mlrc.runs,) * len(config.mlrc.fractions)


def train_and_evaluate(config, workdir):
  """The grid of fractions x runs; writes report.md, results.json and the plot."""
  for f in config.mlrc.fractions:
    mlrc.check_fraction(f)
  runs = runs_per_fraction(config)
  if min(runs) < 1:
    raise errors.InputError(f"mlrc.runs={config.mlrc.runs} (by fraction: "
                            f"{config.mlrc.get('runs_by_fraction', ())}): need at least "
                            "one run per fraction.")
  lead = jax.process_index() == 0
  os.makedirs(workdir, exist_ok=True)
  guards.check_config(workdir, config)
  p = relation.prepare(config)
  guards.check_data(workdir, config,
                    **{k: guards.fingerprint(v) for k, v in p["enc"].items()})
  jobs = [(f, r) for f, n in zip(config.mlrc.fractions, runs) for r in range(n)]
  sub = lambda f, r: os.path.join(workdir, f"frac{f:g}", f"run{r}")
  finished = lambda f, r: all(_finished(os.path.join(sub(f, r), n))
                              for n in ("baseline", "mlrc"))
  done = sum(finished(f, r) for f, r in jobs)
  prog = progress.Progress(len(jobs), start=done, unit="runs")
  results = []
  for f, r in jobs:
    read_back = finished(f, r)
    results.append(run_one(config, sub(f, r), p, f, r))
    res = results[-1]
    if read_back:  # Finished earlier: no rate or ETA to update.
      line = "(read back)"
    else:
      done += 1
      line, _ = prog.line(done)
    logging.info("MLRC grid %s | fraction %g run %d: baseline %.2f, MLRC %.2f", line, f, r,
                 100 * res["baseline"], 100 * res["mlrc"])
    if lead:
      write_report(config, workdir, results)
  summary = summarize(results)
  for f, s in summary.items():
    logging.info("fraction %g (%d runs): baseline %s, MLRC %s, MLRC - baseline %s", f,
                 s["runs"], _fmt(s, "baseline"), _fmt(s, "mlrc"), _fmt_delta(s))
  return {"summary": summary, "runs": results}
