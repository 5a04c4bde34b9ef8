"""AUM artifacts: per-example CSV, summary.json, report.md and PNG figures.

Tables and figures follow seed 000: Table 1 (percentile sweep, sieving),
Tables 2-3 (lowest-AUM examples), Table 5 (noise / sieving / flipping),
Fig. 1 (data map coloured by the AUM flag), Fig. 2 (percentile vs dev
accuracy), Fig. 3 (AUM histogram, noisy vs clean).
"""
import csv
import os

import jax
import jax.numpy as jnp
import numpy as np

from noisy_meta import atomic
from noisy_meta import aum_lib
from noisy_meta import writers
from noisy_meta.data import pipeline
from noisy_meta.models import transformer


def embed(config, data, batch_size=128):
  """Mean-pooled hidden states of the pretrained encoder [N, D], L2-normalised."""
  model = transformer.Encoder(data["enc_cfg"])
  params = {"params": data["enc_params"]}

  @jax.jit
  def pooled(batch):
    h = model.apply(params, batch["input_ids"], batch["attention_mask"])
    m = batch["attention_mask"][..., None].astype(h.dtype)
    v = (h * m).sum(1) / jnp.maximum(m.sum(1), 1.0)
    return v / jnp.linalg.norm(v, axis=-1, keepdims=True)

  ids, lengths = data["train_ids"], data["train_len"]
  out = np.zeros((len(lengths), data["enc_cfg"].hidden_size), np.float32)
  dummy = np.zeros(len(lengths), np.int32)
  for idx, length in pipeline.epoch_batches(lengths, batch_size, 0, 0,
                                            config.input.buckets, shuffle=False):
    batch = pipeline.make_batch(ids, lengths, dummy, idx, batch_size, length)
    out[idx] = np.asarray(pooled(batch))[:len(idx)]
  return out


def neighbour_agreement(config, data, labels, k):
  """For every example: share of its k nearest neighbours (cosine, in the
  pretrained encoder's space) carrying the majority label among them, and
  whether its own label is that majority label."""
  emb = embed(config, data)
  n = len(labels)
  majority_share = np.zeros(n, np.float32)
  agrees = np.zeros(n, bool)
  num_classes = int(labels.max()) + 1
  for s in range(0, n, 1024):
    sim = emb[s:s + 1024] @ emb.T
    sim[np.arange(len(sim)), np.arange(s, s + len(sim))] = -np.inf  # Not itself.
    nn_idx = np.argpartition(-sim, k, axis=1)[:, :k]
    counts = np.stack([(labels[nn_idx] == c).sum(1) for c in range(num_classes)], 1)
    majority = counts.argmax(1)
    majority_share[s:s + 1024] = counts.max(1) / k
    agrees[s:s + 1024] = majority == labels[s:s + 1024]
  return {"majority_share": majority_share, "agrees": agrees}


def _mean_std(values):
  """(mean, sample std); (nan, nan) when there are no runs."""
  v = np.asarray(values, np.float64)
  if not len(v):
    return float("nan"), float("nan")
  return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def summarize(config, given, noisy, used, thr_1, thr_2, flags, thresholds, results,
              neighbours):
  """Numbers of every table, as a JSON-able dict."""
  metric = "mcc" if config.input.task == "cola" else "accuracy"
  out = {"task": config.input.task, "noise_rate": config.noise.rate,
         "examples": int(len(given)), "threshold_samples": [len(thr_1), len(thr_2)],
         "metric": metric, "percentiles": {}, "dev": {}}
  base = [r["dev"] for r in results["none"].values()]
  out["dev"]["none"] = {m: _mean_std([d[m] for d in base]) for m in ("accuracy", "mcc")}
  for p in config.aum.percentiles:
    row = {"threshold": list(thresholds[p]), "flagged": int(flags[p].sum()),
           "flagged_share": float(flags[p].mean())}
    if noisy is not None:
      row["detection"] = aum_lib.detection_scores(flags[p], noisy, -used)
      refined = flags[p] & ~neighbours["agrees"]
      row["detection_with_neighbours"] = aum_lib.detection_scores(refined, noisy)
    for method in config.clean.methods:
      runs = [r["dev"] for (q, _), r in results.get(method, {}).items()
              if q == p and r is not None]
      if runs:
        row[method] = {m: _mean_std([d[m] for d in runs]) for m in ("accuracy", "mcc")}
    out["percentiles"][str(p)] = row
  flagged_any = flags[max(config.aum.percentiles)]
  out["neighbours"] = {
      "k": config.neighbors.k,
      "flagged_agree_share": float(neighbours["agrees"][flagged_any].mean())
      if flagged_any.any() else None,
      "unflagged_agree_share": float(neighbours["agrees"][~flagged_any].mean())
      if (~flagged_any).any() else None}
  return out


def write_csv(path, rows, header):
  with atomic.path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(header)
    w.writerows(rows)


def write_all(workdir, config, train, original, given, noisy, used, judged_in,
              thr_1, thr_2, flags, stats, neighbours, summary):
  """examples.csv, summary.json, report.md and the figures."""
  names = train.label_names
  pcts = list(config.aum.percentiles)
  is_thr = np.zeros((2, len(given)), bool)
  is_thr[0, thr_1] = True
  is_thr[1, thr_2] = True
  header = (["id", "source", "text", "label", "original_label", "noisy", "aum",
             "judged_in_run", "threshold_sample_run1", "threshold_sample_run2",
             "confidence", "variability", "correctness", "neighbour_majority_share",
             "neighbour_agrees"] + [f"flagged_p{p}" for p in pcts])
  rows = []
  for i in range(len(given)):
    rows.append([i, train.sources[i], train.texts[i], names[given[i]], names[original[i]],
                 int(noisy[i]) if noisy is not None else 0, f"{used[i]:.6f}",
                 int(judged_in[i]), int(is_thr[0, i]), int(is_thr[1, i]),
                 f"{stats['confidence'][i]:.6f}", f"{stats['variability'][i]:.6f}",
                 f"{stats['correctness'][i]:.4f}",
                 f"{neighbours['majority_share'][i]:.3f}", int(neighbours["agrees"][i])]
                + [int(flags[p][i]) for p in pcts])
  write_csv(os.path.join(workdir, "examples.csv"), rows, header)
  writers.write_json(os.path.join(workdir, "summary.json"), summary)
  figures = plot_all(workdir, config, used, noisy, flags, stats, summary)
  write_report(workdir, config, train, given, used, flags, summary, figures)


def _fmt(ms, scale=100):
  if not np.isfinite(ms[0]):
    return "not run"
  return f"{scale * ms[0]:.2f} ± {scale * ms[1]:.2f}"


def write_report(workdir, config, train, given, used, flags, summary, figures):
  """report.md with the paper's tables, rebuilt from this run's numbers."""
  m = summary["metric"]
  base = summary["dev"]["none"]
  methods = [x for x in config.clean.methods]
  lines = [f"# AUM report: {config.input.task}", "",
           f"{summary['examples']} training examples; noise rate {summary['noise_rate']}; "
           f"threshold samples per run {summary['threshold_samples']}; "
           f"retrain seeds {list(config.clean.seeds)}. Dev accuracy and MCC ×100, mean ± "
           f"std over seeds (the paper reports {m} for {config.input.task}).",
           "", "## Table 1: percentile sweep", "",
           "| percentile | thresholds (run 1, run 2) | flagged | unfiltered acc | "
           + " | ".join(f"{x} acc | {x} MCC" for x in methods) + " |",
           "|---" * (4 + 2 * len(methods)) + "|"]
  for p, row in summary["percentiles"].items():
    cells = [p, f"{row['threshold'][0]:.3f}, {row['threshold'][1]:.3f}",
             f"{row['flagged']} ({100 * row['flagged_share']:.1f} %)", _fmt(base["accuracy"])]
    for x in methods:
      cells += [_fmt(row[x]["accuracy"]), _fmt(row[x]["mcc"])] if x in row else ["", ""]
    lines.append("| " + " | ".join(cells) + " |")
  lines += ["", f"Unfiltered: accuracy {_fmt(base['accuracy'])}, MCC {_fmt(base['mcc'])}.", ""]
  order = np.argsort(used)
  lines += ["## Tables 2-3: lowest-AUM examples", "", "| id | text | label | AUM |", "|---|---|---|---|"]
  for i in order[:15]:
    text = train.texts[i].replace("|", "\\|")
    lines.append(f"| {i} | {text} | {train.label_names[given[i]]} | {used[i]:.3f} |")
  if summary["noise_rate"] > 0:
    lines += ["", "## Table 5: synthetic noise, detection and cleaning", "",
              "| percentile | precision | recall | F1 | AUROC | AUPRC | precision, neighbour "
              "rule | recall, neighbour rule | unfiltered acc | "
              + " | ".join(f"{x} acc" for x in methods) + " |",
              "|---" * (9 + len(methods)) + "|"]
    for p, row in summary["percentiles"].items():
      d, r = row["detection"], row["detection_with_neighbours"]
      accs = [_fmt(row[x]["accuracy"]) if x in row else "" for x in methods]
      lines.append(f"| {p} | {d['precision']:.3f} | {d['recall']:.3f} | {d['f1']:.3f} | "
                   f"{d['auroc']:.3f} | {d['auprc']:.3f} | {r['precision']:.3f} | "
                   f"{r['recall']:.3f} | {_fmt(base['accuracy'])} | " + " | ".join(accs) + " |")
  nb = summary["neighbours"]
  share = lambda v: "n/a" if v is None else f"{v:.3f}"
  lines += ["", "## Neighbours (beyond the paper)", "",
            f"Share of examples whose label is the majority among their {nb['k']} nearest "
            f"neighbours: flagged at the highest percentile {share(nb['flagged_agree_share'])}, "
            f"unflagged {share(nb['unflagged_agree_share'])}. The neighbour rule keeps a flag "
            "only when the example's label disagrees with its neighbours' majority.", ""]
  lines += [f"![{f}]({f})" for f in figures]
  text = "\n".join(lines) + "\n"
  atomic.write_text(os.path.join(workdir, "report.md"), text)


def plot_all(workdir, config, used, noisy, flags, stats, summary):
  """The three figures as PNGs; returns their file names."""
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

  names = []
  p = max(config.aum.percentiles)
  fig, ax = plt.subplots(figsize=(5, 4.5))
  f = flags[p]
  ax.scatter(stats["variability"][~f], stats["confidence"][~f], s=3, alpha=0.4, label="kept")
  ax.scatter(stats["variability"][f], stats["confidence"][f], s=3, alpha=0.6, c="C3",
             label=f"flagged (AUM < p{p} threshold)")
  ax.set_xlabel("variability")
  ax.set_ylabel("confidence")
  ax.set_title(f"Data map, {config.input.task}")
  ax.legend(markerscale=4)
  names.append(save(fig, "fig1_data_map.png"))

  fig, ax = plt.subplots(figsize=(5, 3.5))
  pc = [int(q) for q in summary["percentiles"]]
  base = summary["dev"]["none"]["accuracy"]
  if np.isfinite(base[0]):
    ax.axhline(100 * base[0], color="k", ls="--", label="unfiltered")
  for method in config.clean.methods:
    pts = [(q, summary["percentiles"][str(q)][method]["accuracy"]) for q in pc
           if method in summary["percentiles"][str(q)]]
    if pts:
      ax.errorbar([q for q, _ in pts], [100 * v[0] for _, v in pts],
                  yerr=[100 * v[1] for _, v in pts], marker="o", capsize=3, label=method)
  ax.set_xlabel("threshold percentile")
  ax.set_ylabel("dev accuracy (%)")
  if ax.get_legend_handles_labels()[0]:
    ax.legend()
  else:
    ax.set_title("no retrains in this run (seeds=0)")
  names.append(save(fig, "fig2_percentile_vs_accuracy.png"))

  fig, ax = plt.subplots(figsize=(5, 3.5))
  if noisy is not None:
    groups = ((~noisy, "unaltered"), (noisy, "synthetic noise"))
  else:
    groups = ((~flags[p], "kept"), (flags[p], "flagged"))
  bins = np.linspace(used.min(), used.max(), 50)
  for mask, label in groups:
    ax.hist(used[mask], bins=bins, alpha=0.6, label=label)
  ax.set_xlabel("AUM")
  ax.set_ylabel("examples")
  ax.legend()
  names.append(save(fig, "fig3_aum_histogram.png"))
  return names
