"""MLRC grid artifacts: results.json, report.md and f1_vs_fraction.png.

report.md holds F1 by fraction (mean ± std; the paper's Figures 1-2 as a
table), every run, and per-relation F1 at the smallest fraction (the paper's
Table 1); the figure is F1 against the share of training data. Each section
is a function of its own, which the colab calls too. The job writes the
explorer page after this: explorer.py reads these tables, so this module
never imports it.
"""
import collections
import os

import numpy as np

from noisy_meta import metrics as metrics_lib
from noisy_meta.core import atomic
from noisy_meta.core import writers
from noisy_meta.reports import report_common as common

# Seed 004, Table 1 and Section 5 (SemEval, 1 % of the training set).
PAPER_1PCT = {"pa_lstm": (3.13, 21.05), "cgcn": (3.38, 17.14)}


def paper_1pct(model, dataset):
  """(baseline, MLRC) test F1 of the paper at 1 %, or None where it has none."""
  return PAPER_1PCT.get(model) if dataset == "semeval" else None


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


def _grid_state(total, results):
  """Whether all `total` runs of the grid are among `results`."""
  if len(results) >= total:
    return f"All {total} runs of the grid finished."
  return (f"**Incomplete: {len(results)} of {total} runs finished** (the same command "
          "resumes the grid).")


def fmt_score(s, name):
  """'mean ± std (n=k)', or 'value (n=1)'; collapsed runs counted."""
  if s[f"{name}_std"] is None:
    text = f"{s[name]:.2f} (n=1)"
  else:
    text = f"{s[name]:.2f} ± {s[f'{name}_std']:.2f} (n={s['runs']})"
  k = s.get(f"{name}_collapsed", 0)
  if k:
    text += " collapsed" if k == s["runs"] else f" ({k} of {s['runs']} collapsed)"
  return text


def fmt_delta(s):
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


def _collapsed(results):
  """(run, "baseline" or "mlrc") of every collapsed classifier."""
  return [(r, n) for r in results for n in ("baseline", "mlrc") if r.get(f"{n}_collapsed")]


def fraction_lines(summary):
  """F1 by fraction: mean ± std (n), MLRC - baseline over the runs that count."""
  lines = ["| fraction | train examples | runs | baseline | MLRC | MLRC - baseline |",
           "|---:|---:|---:|---:|---:|---:|"]
  for f, s in summary.items():
    lines.append(f"| {f:g} | {s['n_train']:.0f} | {s['runs']} | {fmt_score(s, 'baseline')} | "
                 f"{fmt_score(s, 'mlrc')} | {fmt_delta(s)} |")
  return lines


def fraction_table(summary, model, dataset):
  """F1 by fraction with n in its own column and collapsed runs counted apart
  (the colab's view of `fraction_lines`), the paper's numbers at 1 %."""
  paper = paper_1pct(model, dataset)
  ms = lambda s, name: (f"{s[name]:.2f} (n=1)" if s[f"{name}_std"] is None
                        else f"{s[name]:.2f} ± {s[f'{name}_std']:.2f}")
  rows = [[f"{f:g}", f"{s['n_train']:.0f}", s["runs"], ms(s, "baseline"), ms(s, "mlrc"),
           fmt_delta(s), f"{paper[0]} -> {paper[1]}" if paper and f == 0.01
           else "—: the paper measured 1 % only",
           f"{s['baseline_collapsed']} / {s['mlrc_collapsed']} of {s['runs']}"]
          for f, s in summary.items()]
  return common.table(["fraction", "train sentences", "runs", f"baseline ({model})", "MLRC",
                       "MLRC - baseline", "paper: baseline -> MLRC",
                       "collapsed runs (one label): baseline / MLRC"], rows)


def per_run_lines(results):
  """Every (fraction, run): its seed, size, both scores and the meta loss."""
  lines = ["## Per run", "",
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
             for r, n in _collapsed(results)]
  if reasons:
    lines += ["", "Collapsed:", ""] + reasons
  return lines


def per_relation_lines(results, fraction):
  """The paper's Table 1: per-relation F1 at `fraction`, fewest examples first."""
  lines = [f"## Per relation at fraction {fraction:g} (the paper's Table 1)", "",
           "| relation | # (mean) | baseline F1 | MLRC F1 |", "|---|---:|---:|---:|"]
  for rel, n, b, m in per_relation_rows(results, fraction):
    lines.append(f"| {rel} | {n:.1f} | {b:.2f} | {m:.2f} |")
  return lines


def score_label(config):
  """What the runs are scored by: "test F1" (relation data, the official
  scorer) or a text task's final dev metric ("dev MCC", "dev accuracy")."""
  if config.learner != "text":  # PA-LSTM, C-GCN, the Transformer.
    return "test F1"
  return {"mcc": "dev MCC", "accuracy": "dev accuracy"}[
      metrics_lib.headline(config.input.get("task"))]


def write_report(config, workdir, results, total):
  """report.md, results.json and the figure of `results` (of `total` runs); returns
  the summary."""
  summary = summarize(results)
  model = config.model.name
  dataset = config.input.get("dataset", config.input.get("task"))
  label = score_label(config)
  relation = config.learner != "text"
  score = ("Official test score" if relation else
           f"Final {label} (a text task has no labelled test split)")
  lines = [f"# MLRC vs supervised {model} on {dataset}", "",
           f"{score} (x100), mean ± sample std over runs (n runs; one run: its "
           f"value, n=1); seeds {config.seed}..{config.seed + config.mlrc.runs - 1}; meta: "
           f"{config.meta.algorithm}, {config.meta.iterations} iterations, "
           f"B={config.meta.tasks}, S={config.meta.inner_steps}, K={config.meta.inner_batch}, "
           f"inner lr {config.meta.inner_lr or config.optim.lr}, eps {config.meta.meta_lr}"
           f"{' annealed to 0' if config.meta.anneal else ''}. A meta-task is one "
           + ("directed label present in the subset (SemEval: 19 labels, Other included)."
              if relation else "class present in the subset."), "",
           _grid_state(total, results), ""]
  lines += common.smoke_lines(config)
  collapsed = _collapsed(results)
  if collapsed:
    lines += [f"**Collapsed classifiers: {len(collapsed)} of {2 * len(results)}** predict one "
              f"label, or score what always predicting the majority label scores. "
              f"Their {label} measures which label they chose, not what they learned; an MLRC - "
              "baseline difference between two collapsed classifiers is not a gain and is "
              "left out of the mean difference.", ""]
  lines += fraction_lines(summary)
  paper = paper_1pct(model, dataset)
  if paper:
    at = "" if 0.01 in summary else " (not in this grid)"
    lines += ["", f"Paper at 1 %{at} (10 runs): baseline {paper[0]}, MLRC {paper[1]}."]
  if noisy(config):
    lines += [""] + noise_lines(config, results)
  if results:
    lines += [""] + per_run_lines(results)
  if summary and per_relation_rows(results, min(summary)):
    lines += [""] + per_relation_lines(results, min(summary))
  names = plot(workdir, summary, model, results, dataset, label) if summary else []
  if names:
    lines += ["", "## Figure", "",
              f"{label[0].upper() + label[1:]} against the share of the "
              f"{_training_set_size(summary)} training "
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


def noisy(config):
  """Whether the job ran under label noise or with a noise-aware switch."""
  m = config.mlrc
  return bool(m.get("noise") or m.get("trusted_per_class") or m.get("loss", "ce") != "ce"
              or m.get("reweight", "none") != "none" or m.get("clean", "none") != "none")


def variant(config):
  """The job's variant in the issue-36 grid's words: "MLRC", "MLRC + gce",
  "MLRC + reweight=meta", "MLRC + clean=aum" (combined with " + ")."""
  m = config.mlrc
  parts = [f"loss={m.get('loss', 'ce')}" if m.get("loss", "ce") != "ce" else "",
           "reweight=meta" if m.get("reweight", "none") == "meta" else "",
           "clean=aum" if m.get("clean", "none") == "aum" else ""]
  return " + ".join(["MLRC"] + [p for p in parts if p])


def noise_setting(config):
  """"0" or "<rate>% <type>" of a job's noise."""
  m = config.mlrc
  rate = m.get("noise", 0.0)
  return "0" if not rate else f"{100 * rate:g}% {m.get('noise_type', 'uniform')}"


def _share(rows, key):
  vals = [r["noise"][key] for r in rows if r.get("noise") and r["noise"].get(key) is not None]
  return f"{100 * np.mean(vals):.1f}%" if vals else "—"


def noise_lines(config, results):
  """## Label noise: the setting, the switches and, per fraction, what the
  cleaning variants did to the noisy rows (labels.tsv's mask): the share of
  flipped and of clean rows AUM removed, and the share reweighting gave
  weight 0 at the end (alignment with the trusted set <= 0)."""
  m = config.mlrc
  lines = ["## Label noise", "",
           f"Noise {noise_setting(config)} injected into the sampled rows after sampling "
           f"(noise seed {m.noise_seed} + 1000 · run seed), {m.trusted_per_class} clean "
           f"trusted row(s) per relation charged to the budget; variant: {variant(config)}"
           f" (loss {m.loss}{f', q={m.gce_q}' if m.loss == 'gce' else ''}). The baseline "
           "trains on the same rows (trusted rows as ordinary rows), with the same loss"
           + (", sieved by the same AUM flags" if m.clean == "aum" else "") + ".", "",
           "| fraction | runs | flipped rows | trusted rows | flipped removed | clean removed "
           "| flipped weighted 0 | clean weighted 0 |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
  by = collections.defaultdict(list)
  for r in results:
    by[r["fraction"]].append(r)
  for f, rows in sorted(by.items()):
    count = lambda k: np.mean([r["noise"][k] for r in rows if r.get("noise")] or [0])
    lines.append(f"| {f:g} | {len(rows)} | {count('flipped'):.1f} | {count('trusted'):.1f} | "
                 f"{_share(rows, 'removed_noisy')} | {_share(rows, 'removed_clean')} | "
                 f"{_share(rows, 'downweighted_noisy')} | {_share(rows, 'downweighted_clean')} |")
  return lines


def noise_grid_lines(jobs):
  """F1 by noise per variant over several jobs' results: `jobs` is a list of
  (config, results) (bench/research/mlrc_noise_table.py reads them from the
  workdirs). One row per (learner, fraction, variant), one column per noise
  setting, each cell baseline / MLRC mean ± std (n)."""
  cells, settings = collections.defaultdict(dict), []
  for config, results in jobs:
    setting = noise_setting(config)
    if setting not in settings:
      settings.append(setting)
    for f, s in summarize(results).items():
      key = (config.model.name, f, variant(config))
      cells[key][setting] = f"{_ms(s, 'baseline')} / {_ms(s, 'mlrc')}"
  settings.sort(key=lambda x: (x != "0", x))
  lines = ["| learner | fraction | variant | " + " | ".join(
      f"noise {x}: baseline / MLRC" for x in settings) + " |",
           "|---|---:|---|" + "---:|" * len(settings)]
  for (model, f, name), row in sorted(cells.items()):
    lines.append(f"| {model} | {f:g} | {name} | " + " | ".join(
        row.get(x, "—") for x in settings) + " |")
  return lines


def _ms(s, name):
  return (f"{s[name]:.2f} (n=1)" if s[f"{name}_std"] is None
          else f"{s[name]:.2f} ± {s[f'{name}_std']:.2f} (n={s['runs']})")


def plot(workdir, summary, model, results=(), dataset="semeval", label="test F1"):
  """f1_vs_fraction.png (`figure`; the name is kept for every score); returns
  its file name in a list."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig = figure(plt, summary, model, results, dataset, label)
  name = "f1_vs_fraction.png"
  try:
    with atomic.path(os.path.join(workdir, name), suffix=".png") as tmp:
      fig.savefig(tmp, dpi=120)
  finally:
    plt.close(fig)
  return [name]


def figure(plt, summary, model, results=(), dataset="semeval", label="test F1"):
  """`label` (test F1, or a text task's dev score) vs % of the training set,
  baseline and MLRC (Figures 1-2).

  Mean over runs with min-max bars and n per point, single runs as dots,
  collapsed runs as red crosses, the paper's numbers at 1 % only.
  """
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
  paper = paper_1pct(model, dataset)
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
  ax.set_ylabel(f"{label} ({'x100' if 'MCC' in label else '%'})")
  ax.set_title(f"{dataset}: {model} vs MLRC, {label} by share of training data", fontsize=10)
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  return fig
