"""AUM artifacts: per-example CSV, summary.json, report.md and PNG figures.

Tables and figures follow Talukdar et al.: Table 1 (percentile sweep, sieving),
Tables 2-3 (lowest-AUM examples), Table 5 (noise / sieving / flipping),
Fig. 1 (data map coloured by the AUM flag), Fig. 2 (percentile vs dev
accuracy), Fig. 3 (AUM histogram, noisy vs clean). `write_all` writes them
all; each table and figure is also a function of its own, and `read_workdir`
reads a finished workdir back into their arguments (the colab uses both).
The job writes explorer.html after these files: explorer.py reads them, so
this module never imports it.
"""
import csv
import os

from absl import logging
import numpy as np

from noisy_meta import aum_lib
from noisy_meta import metrics as metrics_lib
from noisy_meta.core import atomic
from noisy_meta.core import writers
from noisy_meta.reports import report_common as common


def _task(config):
  """The task's name: a text task's `input.task`, a relation dataset's `input.dataset`."""
  return config.input.get("task", config.input.get("dataset"))


def neighbour_agreement(emb, labels, k):
  """For every example: share of its k nearest neighbours (cosine over the
  rows of `emb` [N, D], L2-normalised: the learner's `embed`, e.g. the
  pretrained encoder's space) carrying the majority label among them, and
  whether its own label is that majority label."""
  n = len(labels)
  if k > n - 1:  # A tiny training file: every other example is a neighbour.
    logging.warning("neighbors.k=%d but %d training examples: using k=%d.", k, n, n - 1)
    k = n - 1
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


# Scores a relation learner's retrains also have (finetune.fit's score_test):
# the best-dev epoch's dev F1 and that model's test F1 (official scorers).
RESULT_KEYS = ("dev_best_f1", "test_f1")


def _stats(devs, results=()):
  """Dev scores of finished runs: {metric: [mean, sample std], n, collapsed}.

  The std is None for one run (undefined), both are None for none.
  `results`: the runs' metrics.json dicts, for their collapse flags and the
  relation learners' `dev_best_f1` and `test_f1` (kept when every run has them).
  """
  n = len(devs)
  results = list(results)
  out = {"n": n, "collapsed": sum(bool(r.get("collapsed")) for r in results)}
  values = {m: [d[m] for d in devs] for m in ("accuracy", "mcc")}
  if n and len(results) == n:
    values.update({k: [r[k] for r in results] for k in RESULT_KEYS
                   if all(k in r for r in results)})
  for m, v in values.items():
    v = np.asarray(v, np.float64)
    out[m] = [float(v.mean()) if n else None, float(v.std(ddof=1)) if n > 1 else None]
  return out


def _run_row(result, note="not run: every example flagged"):
  """What summary.json keeps of one training run's metrics.json."""
  if result is None:
    return {"finished": False, "note": note}
  dev = result["dev"]
  return {"finished": True, "accuracy": dev["accuracy"], "mcc": dev["mcc"],
          **{k: result[k] for k in RESULT_KEYS if k in result},
          "train_examples": result.get("train_examples"),
          # metrics.json written before the check have no flag: unknown.
          "collapsed": result.get("collapsed"), "collapse_reason": result.get("collapse_reason")}


def select_percentile(summary, methods):
  """Per cleaning method, the percentile whose retrains score best on dev (the
  summary's metric, mean over seeds; ties: the lower percentile), with its dev
  and, where scored, test statistics: what a user without test labels picks.
  `beats_unfiltered`: whether it also beats the unfiltered retrains on dev
  (False: dev says not to clean; None: no unfiltered retrains)."""
  out = {}
  m = summary["metric"]
  base = (summary.get("dev") or {}).get("none") or {}
  base_dev = base[m][0] if base.get("n") and m in base else None
  for method in methods:
    cands = [(row[method][m][0], -int(p), p) for p, row in summary["percentiles"].items()
             if row.get(method) and row[method]["n"] and m in row[method]]
    if not cands:
      continue
    _, _, p = max(cands)
    st = summary["percentiles"][p][method]
    out[method] = {"percentile": int(p), "dev": st[m], "test": st.get("test_f1"),
                   "n": st["n"], "collapsed": st["collapsed"],
                   "beats_unfiltered": None if base_dev is None else st[m][0] > base_dev}
  return out


def summarize(config, given, noisy, used, thr_1, thr_2, flags, thresholds, results,
              neighbours, aum_runs=None, by_detector=None, detector=None):
  """Numbers of every table, as a JSON-able dict.

  `results`: {"none": {seed: metrics}, method: {(p, seed): metrics or None}};
  `aum_runs`: the two AUM runs' metrics.json dicts (their dev collapse flags);
  `by_detector`: {method: {seed: metrics or None}} of cleaning by `detector`.
  """
  # Relation learners: the official F1 of the best-dev epoch (the model that
  # is scored on test); text tasks: their headline dev metric.
  metric = "dev_best_f1" if is_relation(config) else metrics_lib.headline(_task(config))
  seeds = list(config.clean.seeds)
  rate = config.noise.rate
  if rate <= 0 and noisy is not None:  # A noise mix: the share it flipped.
    rate = float(noisy.mean())
  out = {"task": _task(config), "noise_rate": rate,
         "noisy": int(noisy.sum()) if noisy is not None else None,
         "examples": int(len(given)), "threshold_samples": [len(thr_1), len(thr_2)],
         "metric": metric, "seeds": seeds, "percentiles": {}, "dev": {}, "runs": {}}
  for i, r in enumerate(aum_runs or [], 1):
    out["runs"][f"aum_run{i}"] = _run_row(r, "no metrics.json")
  for seed, r in results["none"].items():
    out["runs"][f"clean/none_s{seed}"] = _run_row(r)
  for method in config.clean.methods:
    for (p, seed), r in results.get(method, {}).items():
      out["runs"][f"clean/{method}_p{p}_s{seed}"] = _run_row(r)
  for method, per_seed in (by_detector or {}).items():
    for seed, r in per_seed.items():
      out["runs"][f"clean/{method}_{detector}_s{seed}"] = _run_row(r)
  base = [r for r in results["none"].values() if r is not None]
  out["dev"]["none"] = _stats([r["dev"] for r in base], base)
  if not seeds:
    out["dev"]["none"]["note"] = "not run: seeds=0"
  for p in config.aum.percentiles:
    row = {"threshold": list(thresholds[p]), "flagged": int(flags[p].sum()),
           "flagged_share": float(flags[p].mean())}
    if noisy is not None:
      row["detection"] = aum_lib.detection_scores(flags[p], noisy, -used)
      if neighbours is not None:
        refined = flags[p] & ~neighbours["agrees"]
        row["detection_with_neighbours"] = aum_lib.detection_scores(refined, noisy)
    for method in config.clean.methods:
      runs = [r for (q, _), r in results.get(method, {}).items() if q == p and r is not None]
      if runs:
        row[method] = _stats([r["dev"] for r in runs], runs)
    out["percentiles"][str(p)] = row
  out["selected"] = select_percentile(out, config.clean.methods)
  rs = [r for r in out["runs"].values() if r.get("finished")]
  out["collapsed_runs"] = sorted(k for k, r in out["runs"].items() if r.get("collapsed"))
  out["collapse_unknown"] = sorted(k for k, r in out["runs"].items()
                                   if r.get("finished") and r.get("collapsed") is None)
  out["finished_runs"] = len(rs)
  flagged_any = flags[max(config.aum.percentiles)]
  out["neighbours"] = None if neighbours is None else {
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


# examples.csv: `label` / `original_label` are class indices, `*_name` their
# names; `original_label*` and `noisy` are empty cells when no noise was injected.
CSV_HEADER = ("id", "source", "text", "label", "label_name", "original_label",
              "original_label_name", "noisy", "aum", "judged_in_run",
              "threshold_sample_run1", "threshold_sample_run2", "confidence", "variability",
              "correctness", "neighbour_majority_share", "neighbour_agrees")


def detector_summary(config, det, by_detector):
  """summary.json's `detectors`: which detector cleans, every detector's
  detection scores and cost, the automatic cuts' notes, and the dev scores
  of cleaning with the chosen detector ({method: stats over seeds})."""
  cleaning = {}
  for method, per_seed in by_detector.items():
    runs = [r for r in per_seed.values() if r is not None]
    cleaning[method] = _stats([r["dev"] for r in runs], runs)
  return {"chosen": config.clean.detector, "table": det["table"],
          "notes": det["notes"], "cleaning": cleaning}


def _ordered(names):
  """Detector names in noisy_meta.detectors' order, then any others."""
  from noisy_meta import detectors  # pylint: disable=g-import-not-at-top
  known = list(detectors.DETECTORS) + list(detectors.CUTS)
  return sorted(set(names), key=lambda n: (known.index(n) if n in known else len(known), n))


def is_relation(config):
  return config.get("learner", "text") in ("relation", "relation_transformer")


def write_all(workdir, config, train, original, given, noisy, used, judged_in,
              thr_1, thr_2, flags, stats, neighbours, summary, det=None, other=None):
  """examples.csv, summary.json, report.md and the figures. `det`: the
  detectors' scores and flags (trainers/aum.detect), as columns; `other`:
  each example's best other real class (relation runs' suggested labels)."""
  names = train.label_names
  pcts = list(config.aum.percentiles)
  is_thr = np.zeros((2, len(given)), bool)
  is_thr[0, thr_1] = True
  is_thr[1, thr_2] = True
  header = list(CSV_HEADER) + [f"flagged_p{p}" for p in pcts]
  score_names = _ordered(det["scores"]) if det else []
  flag_names = _ordered(det["flags"]) if det else []
  if det:
    header += ["flagged"] + [f"score_{n}" for n in score_names] + [
        f"flag_{n}" for n in flag_names]
  rows = []
  for i in range(len(given)):
    truth = ([int(original[i]), names[original[i]], int(noisy[i])] if noisy is not None
             else ["", "", ""])
    rows.append([i, train.sources[i], train.texts[i], int(given[i]), names[given[i]]] + truth
                + [f"{used[i]:.6f}", int(judged_in[i]), int(is_thr[0, i]), int(is_thr[1, i]),
                   f"{stats['confidence'][i]:.6f}", f"{stats['variability'][i]:.6f}",
                   f"{stats['correctness'][i]:.4f}",
                   *((f"{neighbours['majority_share'][i]:.3f}", int(neighbours["agrees"][i]))
                     if neighbours is not None else ("", ""))]
                + [int(flags[p][i]) for p in pcts])
    if det:
      rows[-1] += ([int(det["flags"][config.clean.detector][i])]
                   + [f"{det['scores'][n][i]:.6g}" for n in score_names]
                   + [int(det["flags"][n][i]) for n in flag_names])
  write_csv(os.path.join(workdir, "examples.csv"), rows, header)
  writers.write_json(os.path.join(workdir, "summary.json"), summary)
  if det:  # Wall-clock seconds of each detector (not in the deterministic summary).
    writers.write_json(os.path.join(workdir, "detector_seconds.json"), det["seconds"])
  if summary.get("collapsed_runs"):
    logging.warning("AUM report: %d of %d runs are collapsed classifiers (one class "
                    "predicted on dev, or the majority-class score): %s.",
                    len(summary["collapsed_runs"]), summary["finished_runs"],
                    ", ".join(summary["collapsed_runs"]))
  figures, skipped = plot_all(workdir, config, used, noisy, flags, stats, summary)
  extra = []
  if is_relation(config) and other is not None:
    p = max(pcts)
    extra = relation_lines(names, given, flags[p], p, other, noisy)
  write_report(workdir, config, train, given, used, flags, summary, figures, skipped,
               seconds=det["seconds"] if det else None, extra=extra)


def read_workdir(workdir):
  """A finished AUM workdir read back into the arguments of the tables and figures.

  Returns a dict: config (config.json as a ConfigDict), summary (summary.json)
  and, from examples.csv, texts, label_names, given (class indices), noisy
  (None without injected noise), used (AUM), flags {percentile: mask}, stats
  (confidence, variability, correctness) and neighbours.
  """
  import ml_collections  # pylint: disable=g-import-not-at-top
  config = ml_collections.ConfigDict(common.read_json(workdir, "config.json"))
  summary = common.read_json(workdir, "summary.json")
  with open(os.path.join(workdir, "examples.csv"), newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
  col = lambda name, dtype=float: np.array([dtype(r[name]) for r in rows])
  names = {}
  for r in rows:
    names[int(r["label"])] = r["label_name"]
    if r["original_label"]:
      names[int(r["original_label"])] = r["original_label_name"]
  noisy = col("noisy", int).astype(bool) if rows and rows[0]["noisy"] else None
  return {"config": config, "summary": summary, "texts": [r["text"] for r in rows],
          "label_names": [names.get(c, str(c)) for c in range(max(names, default=-1) + 1)],
          "given": col("label", int), "noisy": noisy, "used": col("aum"),
          "flags": {int(p): col(f"flagged_p{p}", int).astype(bool)
                    for p in config.aum.percentiles},
          "stats": {k: col(k) for k in ("confidence", "variability", "correctness")},
          "neighbours": {"majority_share": col("neighbour_majority_share"),
                         "agrees": col("neighbour_agrees", int).astype(bool)}
                        if rows and rows[0]["neighbour_agrees"] else None}


def fmt_stat(stat, metric, scale=100):
  """'mean ± std (n=k)', 'value (n=1)', or None when nothing ran; collapse noted."""
  if stat is None or not stat["n"] or metric not in stat:
    return None
  mean, std = stat[metric]
  text = (f"{scale * mean:.2f} (n=1)" if std is None
          else f"{scale * mean:.2f} ± {scale * std:.2f} (n={stat['n']})")
  k = stat.get("collapsed", 0)
  if k:
    text += " collapsed" if k == stat["n"] else f" ({k} of {stat['n']} collapsed)"
  return text


def _why_not_run(config, p, method):
  """The words in an empty Table 1 cell."""
  if not config.clean.seeds:
    return "not run: seeds=0"
  if p not in config.clean.percentiles:
    return f"not run: p{p} not in clean.percentiles"
  return "not run: every example flagged" if method != "none" else "not run"


def _metrics(summary):
  """The task's metric first, then the other one (relations: test F1)."""
  m = summary["metric"]
  if m == "dev_best_f1":
    return [m, "test_f1"]
  return [m] + [x for x in ("accuracy", "mcc") if x != m]


def _base_cell(base, metric):
  return fmt_stat(base, metric) or base.get("note", "not run")


def selected_lines(summary):
  """The percentile each cleaning method would use, chosen on dev (never on
  test), with its scores: the cleaning result a user can reproduce."""
  sel = summary.get("selected") or {}
  if not sel:
    return []
  m = summary["metric"]
  base = summary["dev"]["none"]
  names = common.NAMES
  lines = [f"Percentile chosen on dev (dev {names[m]}, mean over seeds), never on test:"]
  for method, r in sel.items():
    st = {"n": r["n"], "collapsed": r["collapsed"], m: r["dev"]}
    text = f"- {method}: p{r['percentile']}, dev {names[m]} {fmt_stat(st, m)}"
    if r.get("test"):
      st["test_f1"] = r["test"]
      text += (f"; {names['test_f1']} {fmt_stat(st, 'test_f1')} (unfiltered "
               f"{_base_cell(base, 'test_f1')})")
    if r.get("beats_unfiltered") is False:
      text += "; below the unfiltered retrains on dev: dev says not to clean"
    lines.append(text + ".")
  return lines + [""]


def table1_lines(config, summary):
  """Table 1: thresholds, flags and dev scores at every percentile."""
  metrics = _metrics(summary)
  base = summary["dev"]["none"]
  methods = list(config.clean.methods)
  lines = ["## Table 1: percentile sweep", "",
           "| percentile | thresholds (run 1, run 2) | flagged | "
           + " | ".join(f"{x} {common.NAMES[k]}" for k in metrics for x in ["unfiltered"] + methods)
           + " |", "|---" * (3 + len(metrics) * (1 + len(methods))) + "|"]
  for p, row in summary["percentiles"].items():
    cells = [p, f"{row['threshold'][0]:.3f}, {row['threshold'][1]:.3f}",
             f"{row['flagged']} ({100 * row['flagged_share']:.1f} %)"]
    for k in metrics:
      cells.append(_base_cell(base, k))
      cells += [fmt_stat(row.get(x), k) or _why_not_run(config, int(p), x)
                for x in methods]
    lines.append("| " + " | ".join(cells) + " |")
  return lines + ["", "Unfiltered: " + ", ".join(
      f"{common.NAMES[k]} {_base_cell(base, k)}" for k in metrics) + ".", ""]


def lowest_aum_lines(texts, label_names, given, used, top=15):
  """Tables 2-3: the `top` examples of lowest AUM, with their given label."""
  lines = ["## Tables 2-3: lowest-AUM examples", "", "| id | text | label | AUM |",
           "|---|---|---|---|"]
  for i in np.argsort(used)[:top]:
    text = texts[i].replace("|", "\\|")
    lines.append(f"| {i} | {text} | {label_names[given[i]]} | {used[i]:.3f} |")
  return lines


def relation_lines(label_names, given, flags, p, other, noisy=None, top=15):
  """Relation runs: per relation, its examples, how many are flagged at the
  percentile `p` (and, with injected noise, how many are noisy and the
  flags' precision and recall there); then the most frequent flagged label
  -> suggested label pairs (what flipping would relabel them to)."""
  n_cls = len(label_names)
  f = np.asarray(flags, bool)
  lines = [f"## Relations: flags at the {p}th percentile", ""]
  head = "| relation | examples | flagged | flagged share |"
  if noisy is not None:
    head += " noisy | precision | recall |"
  lines += [head, "|" + "---|" * (head.count("|") - 1)]
  for c in np.argsort(-np.bincount(given, minlength=n_cls), kind="stable"):
    m = given == c
    if not m.any():
      continue
    row = f"| {label_names[c]} | {int(m.sum())} | {int((f & m).sum())} | {(f & m).sum() / m.sum():.3f} |"
    if noisy is not None:
      tp = int((f & m & noisy).sum())
      prec = f"{tp / (f & m).sum():.3f}" if (f & m).any() else "—"
      rec = f"{tp / (m & noisy).sum():.3f}" if (m & noisy).any() else "—"
      row += f" {int((m & noisy).sum())} | {prec} | {rec} |"
    lines.append(row)
  pairs = {}
  for i in np.flatnonzero(f):
    key = (int(given[i]), int(other[i]))
    pairs[key] = pairs.get(key, 0) + 1
  lines += ["", f"Flagged label → suggested label (the judging run's best other relation "
            f"at the last epoch), the {top} most frequent of {len(pairs)} pairs:", "",
            "| flagged label | suggested label | examples |", "|---|---|---|"]
  for (a, b), k in sorted(pairs.items(), key=lambda x: (-x[1], x[0]))[:top]:
    lines.append(f"| {label_names[a]} | {label_names[b] if b < n_cls else '—'} | {k} |")
  return lines


def table5_lines(config, summary):
  """Table 5: detection of the injected noise and the cleaned retrains' scores."""
  m = summary["metric"]
  base = summary["dev"]["none"]
  methods = list(config.clean.methods)
  lines = ["## Table 5: synthetic noise, detection and cleaning", ""]
  if summary["noise_rate"] <= 0:
    return lines + ["—: no noise injected (noise rate 0), so there is nothing to detect; "
                    "`noise=P` in the config argument injects uniform flips."]
  lines += ["| percentile | precision | recall | F1 | AUROC | AUPRC | precision, neighbour "
            f"rule | recall, neighbour rule | unfiltered {common.NAMES[m]} | "
            + " | ".join(f"{x} {common.NAMES[m]}" for x in methods) + " |",
            "|---" * (9 + len(methods)) + "|"]
  num = lambda v: "undefined" if v is None or not np.isfinite(v) else f"{v:.3f}"
  for p, row in summary["percentiles"].items():
    d = row["detection"]
    r = row.get("detection_with_neighbours") or {"precision": None, "recall": None}
    scores = [fmt_stat(row.get(x), m) or _why_not_run(config, int(p), x)
              for x in methods]
    lines.append(f"| {p} | {num(d['precision'])} | {num(d['recall'])} | {num(d['f1'])} | "
                 f"{num(d['auroc'])} | {num(d['auprc'])} | {num(r['precision'])} | "
                 f"{num(r['recall'])} | {_base_cell(base, m)} | " + " | ".join(scores) + " |")
  return lines


def neighbour_lines(summary):
  """How often a flagged / unflagged example's label is its neighbours' majority."""
  nb = summary["neighbours"]
  if nb is None:
    return ["## Neighbours (beyond the paper)", "",
            "—: no embeddings in this job (`detect.frozen=False`, or logits-only analysis)."]
  share = lambda v: "n/a (no such example)" if v is None else f"{v:.3f}"
  return ["## Neighbours (beyond the paper)", "",
          f"Share of examples whose label is the majority among their {nb['k']} nearest "
          f"neighbours: flagged at the highest percentile {share(nb['flagged_agree_share'])}, "
          f"unflagged {share(nb['unflagged_agree_share'])}. The neighbour rule keeps a flag "
          "only when the example's label disagrees with its neighbours' majority."]


def write_report(workdir, config, train, given, used, flags, summary, figures, skipped=(),
                 seconds=None, extra=()):
  """report.md with the paper's tables, rebuilt from this run's numbers.

  `skipped`: (figure, why) pairs of figures not drawn.
  """
  del flags  # The tables read the flags' counts from the summary.
  m = summary["metric"]
  metrics = _metrics(summary)
  noise = ("no noise injected" if summary["noise_rate"] <= 0 else
           f"noise rate {summary['noise_rate']} ({summary.get('noisy')} labels flipped)")
  lines = [f"# AUM report: {_task(config)}", "",
           f"{summary['examples']} training examples; {noise}; threshold samples per run "
           f"{summary['threshold_samples']}; retrain seeds {list(config.clean.seeds)}. "
           f"Dev {common.NAMES[m]} (the task's metric) and {common.NAMES[metrics[1]]} ×100, "
           "mean ± sample std over seeds with n the number of seeds (one seed: its value, "
           "n=1).", ""]
  lines += common.smoke_lines(config)
  collapsed = summary.get("collapsed_runs", [])
  if collapsed:
    lines += [f"**Collapsed classifiers: {len(collapsed)} of {summary['finished_runs']} runs** "
              "predict one class on dev, or score what always predicting the majority class "
              "scores; their scores (MCC 0.00 for one class) say nothing about cleaning. "
              "Cells marked `collapsed` come from them; each is listed under Runs.", ""]
  lines += table1_lines(config, summary)
  lines += selected_lines(summary)
  lines += runs_lines(summary, m)
  lines += lowest_aum_lines(train.texts, train.label_names, given, used,
                           top=30 if is_relation(config) else 15)
  if extra:
    lines += [""] + list(extra)
  lines += [""] + table5_lines(config, summary)
  lines += [""] + neighbour_lines(summary)
  if "detectors" in summary:
    lines += [""] + detector_lines(summary, seconds)
  lines += ["", "## Figures", ""]
  lines += [f"![{f}]({f})" for f in figures]
  lines += [f"- `{f}` not drawn: {why}." for f, why in skipped]
  atomic.write_text(os.path.join(workdir, "report.md"), "\n".join(lines) + "\n")


def detector_lines(summary, seconds=None):
  """The detector comparison: which detector cleaned, and every detector's
  AUROC, AP and F1 (automatic cut and best cut) against the injected noise,
  with its cost (`seconds`: {detector: wall-clock s})."""
  seconds = seconds or {}
  d = summary["detectors"]
  m = summary["metric"]
  num = lambda v: "—" if v is None or not np.isfinite(v) else f"{v:.3f}"
  notes = d["notes"]
  lines = ["## Detectors (beyond the paper)", "",
           f"The job cleans with **{d['chosen']}**'s flags (`clean.detector`; the "
           "benchmark is `bench/detectors.py`, docs/detectors.md); `examples.csv` has every "
           "detector's score (`score_*`, higher = more suspect) and automatic flags "
           "(`flag_*`). Estimated share of wrong labels: "
           + ", ".join(f"{k.replace('_share', '')} {v:.3f}" for k, v in notes.items()
                       if k.endswith("_share") and v is not None)
           + "; estimated number (confident learning on out-of-fold probabilities): "
           + (", ".join(f"{k.replace('_count', '')} {v}" for k, v in notes.items()
                        if k.endswith("_count")) or "none (no out-of-fold probabilities)")
           + "."]
  if notes.get("ensemble_parts"):
    lines += ["", "The ensemble averages the ranks of: " + ", ".join(notes["ensemble_parts"])
              + "."]
  noisy = summary.get("noisy")
  head = ("| detector | AUROC | AP | F1, automatic cut | best F1 | flagged | seconds |"
          if noisy else "| detector | flagged (no noise injected) | seconds |")
  lines += ["", head, "|---" * (7 if noisy else 3) + "|"]
  for name in _ordered(d["table"]):
    r = d["table"][name]
    flagged = r.get("flagged", "—")
    sec = "—" if seconds.get(name) is None else f"{seconds[name]:.0f}"
    if noisy:
      lines.append(f"| {name} | {num(r.get('auroc'))} | {num(r.get('ap'))} | "
                   f"{num(r.get('auto_f1'))} | {num(r.get('best_f1'))} | {flagged} | {sec} |")
    else:
      lines.append(f"| {name} | {flagged} | {sec} |")
  for method, st in d["cleaning"].items():
    lines += ["", f"Cleaning by {d['chosen']}, {method}: dev {common.NAMES[m]} "
              f"{fmt_stat(st, m) or 'not run'}; unfiltered "
              f"{_base_cell(summary['dev']['none'], m)}."]
  return lines


def runs_lines(summary, metric):
  """Every training run with its dev scores and collapse flag."""
  runs = summary.get("runs", {})
  if not runs:
    return []
  lines = ["## Runs", "",
           f"| run | dev {common.NAMES[metric]} ×100 | dev accuracy ×100 | collapsed |",
           "|---|---:|---:|---|"]
  for name, r in runs.items():
    if not r.get("finished"):
      lines.append(f"| {name} | {r.get('note', 'not run')} | | |")
      continue
    flag = {True: f"**yes**: {r.get('collapse_reason')}", False: "no",
            None: "unknown (metrics.json older than the check)"}[r.get("collapsed")]
    score = "—" if r.get(metric) is None else f"{100 * r[metric]:.2f}"
    lines.append(f"| {name} | {score} | {100 * r['accuracy']:.2f} | {flag} |")
  unknown = summary.get("collapse_unknown", [])
  if unknown:
    lines += ["", f"{len(unknown)} runs were finished before collapse was recorded; rerun "
              "them (delete their folder) to know."]
  return lines + [""]


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
  ax.set_title(f"Data map, {_task(config)}" + aum_note,
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
  ax.set_title(f"AUM histogram, {_task(config)}: flagged = AUM below the p{p} threshold"
               + aum_note, fontsize=9, color="C3" if aum_note else "k")
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
  title = f"Cleaning by AUM, {_task(config)}: dev {common.NAMES[metric]}, {bars}"
  k = len(summary.get("collapsed_runs", []))
  if k:
    title += f"\n{k} of {summary['finished_runs']} runs collapsed"
  ax.set_title(title, fontsize=8, color="C3" if k else "k")
  ax.legend(fontsize=7)
  return fig
