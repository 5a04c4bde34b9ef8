"""The AUM job's PNG figures (matplotlib), after Talukdar et al.

Fig. 1: data map (variability x confidence) coloured by the AUM flag; Fig. 2:
threshold percentile vs the task's dev metric; Fig. 3: AUM histogram, noisy
vs clean. Each figure is a function of `plt` (the colab draws them inline);
`plot_all` saves them into the workdir.
"""
import os

import numpy as np

from noisy_meta.core import atomic
from noisy_meta.reports import aum_summary
from noisy_meta.reports import report_common as common


def _collapse_note(summary, names):
  """A figure's line about collapsed runs among `names`, or ''."""
  bad = [n for n in names if summary.get("runs", {}).get(n, {}).get("collapsed")]
  return f"collapsed (one class predicted on dev): {', '.join(bad)}" if bad else ""


def _aum_note(summary):
  """'\\n' and the AUM runs' collapse note for a figure title, or ''."""
  note = _collapse_note(summary, ["aum_run1", "aum_run2"])
  return f"\n{note}" if note else ""


def retrained(summary):
  """Whether any retrain (clean/*) finished: Fig. 2 has something to draw."""
  return any(r.get("finished") for n, r in summary.get("runs", {}).items()
             if n.startswith("clean/"))


def plot_all(workdir, config, used, noisy, flags, stats, summary):
  """The figures as PNGs; returns (file names, [(name, why not drawn)])."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  def save(fig, name):
    try:
      with atomic.path(os.path.join(workdir, name), suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
      plt.close(fig)
    return name

  names, skipped = [], []
  p = max(config.aum.percentiles)
  names.append(save(data_map_figure(plt, config, stats, flags, summary, p),
                    "fig1_data_map.png"))
  if not retrained(summary):
    skipped.append(("fig2_percentile_vs_accuracy.png",
                    "no retrains in this run (seeds=0)" if not config.clean.seeds
                    else "no retrain finished"))
  else:
    names.append(save(percentile_figure(plt, config, summary, summary["metric"]),
                      "fig2_percentile_vs_accuracy.png"))
  names.append(save(histogram_figure(plt, config, used, noisy, flags, summary, p),
                    "fig3_aum_histogram.png"))
  return names, skipped


def data_map_figure(plt, config, stats, flags, summary, p):
  """Fig. 1: confidence vs variability, examples flagged at percentile `p` in red."""
  aum_note = _aum_note(summary)
  fig, ax = plt.subplots(figsize=(5, 4.5))
  f = flags[p]
  ax.scatter(stats["variability"][~f], stats["confidence"][~f], s=3, alpha=0.4, label="kept")
  ax.scatter(stats["variability"][f], stats["confidence"][f], s=3, alpha=0.6, c="C3",
             label=f"flagged (AUM < p{p} threshold)")
  ax.set_xlabel("variability")
  ax.set_ylabel("confidence")
  ax.set_title(f"Data map, {aum_summary.task_name(config)}" + aum_note,
               fontsize=9 if aum_note else None, color="C3" if aum_note else "k")
  ax.legend(markerscale=4)
  return fig


def histogram_figure(plt, config, used, noisy, flags, summary, p):
  """Fig. 3: AUM of noisy vs clean examples (or flagged vs kept), p's thresholds."""
  aum_note = _aum_note(summary)
  fig, ax = plt.subplots(figsize=(5, 3.5))
  if noisy is not None:
    groups = ((~noisy, "unaltered"), (noisy, "synthetic noise"))
  else:
    groups = ((~flags[p], "kept"), (flags[p], f"flagged at p{p}"))
  bins = np.linspace(used.min(), used.max(), 50)
  for mask, label in groups:
    ax.hist(used[mask], bins=bins, alpha=0.6, label=label)
  thr = summary["percentiles"][str(p)]["threshold"]
  for run, (t, ls) in enumerate(zip(thr, ("-", "--")), 1):
    ax.axvline(t, color="k", ls=ls, lw=1, label=f"p{p} threshold, run {run}: {t:.3f}")
  ax.set_xlabel("AUM (judging run)")
  ax.set_ylabel("examples")
  ax.set_title(f"AUM histogram, {aum_summary.task_name(config)}: flagged = AUM below the "
               f"p{p} threshold" + aum_note, fontsize=9, color="C3" if aum_note else "k")
  ax.legend(fontsize=7)
  return fig


def percentile_figure(plt, config, summary, metric):
  """Fig. 2: threshold percentile vs the task's dev metric, collapsed runs marked."""
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  base = summary["dev"]["none"]
  if base["n"] and metric in base:
    mean, std = base[metric]
    bad = ", collapsed" if base.get("collapsed") else ""
    ax.axhline(100 * mean, color="C3" if bad else "k", ls="--",
               label=f"unfiltered (n={base['n']}{bad})")
    if std is not None:
      ax.axhspan(100 * (mean - std), 100 * (mean + std), color="k", alpha=0.08)
  pcs = [int(q) for q in summary["percentiles"]]
  any_collapsed = bool(base.get("collapsed"))
  for k, method in enumerate(config.clean.methods):
    pts = [(q, summary["percentiles"][str(q)][method]) for q in pcs
           if metric in summary["percentiles"][str(q)].get(method, {})]
    if not pts:
      continue
    x = [q for q, _ in pts]
    y = [100 * s[metric][0] for _, s in pts]
    err = [100 * s[metric][1] if s[metric][1] is not None else 0.0 for _, s in pts]
    ns = sorted({s["n"] for _, s in pts})
    ax.errorbar(x, y, yerr=err, marker="o", capsize=3, color=f"C{k}",
                label=f"{method} (n={'/'.join(map(str, ns))})")
    bad = [(q, v) for (q, s), v in zip(pts, y) if s.get("collapsed")]
    if bad:
      any_collapsed = True
      ax.scatter([q for q, _ in bad], [v for _, v in bad], s=90, marker="x", color="C3",
                 zorder=3)
  if any_collapsed:
    ax.scatter([], [], s=90, marker="x", color="C3", label="collapsed (one class predicted)")
  ax.set_xlim(0, 100)
  ax.set_xticks(pcs)
  ax.set_xlabel("threshold percentile")
  ax.set_ylabel(f"dev {common.NAMES[metric]} (×100)")
  bars = "mean ± sample std over seeds" if any(
      s["n"] > 1 for row in summary["percentiles"].values()
      for s in [row.get(m) for m in config.clean.methods] if s) else "one seed: no error bar"
  title = f"Cleaning by AUM, {aum_summary.task_name(config)}: dev {common.NAMES[metric]}, {bars}"
  k = len(summary.get("collapsed_runs", []))
  if k:
    title += f"\n{k} of {summary['finished_runs']} runs collapsed"
  ax.set_title(title, fontsize=8, color="C3" if k else "k")
  ax.legend(fontsize=7)
  return fig
