"""report.md of an AUM job: the paper's tables rebuilt from summary.json.

Talukdar et al.'s Table 1 (percentile sweep, sieving), Tables 2-3
(lowest-AUM examples) and Table 5 (noise / sieving / flipping), then what
goes beyond the paper: the dev-chosen percentile, every run, relations,
neighbours, detectors. Each section is a function of its own returning its
Markdown lines (the colab shows them one by one); `write_report` joins them.
"""
import os

import numpy as np

from noisy_meta.core import atomic
from noisy_meta.reports import aum_summary
from noisy_meta.reports import report_common as common
from noisy_meta.reports import why


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
    row = (f"| {label_names[c]} | {int(m.sum())} | {int((f & m).sum())} | "
           f"{(f & m).sum() / m.sum():.3f} |")
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
  lines = [f"# AUM report: {aum_summary.task_name(config)}", "",
           f"{summary['examples']} training examples; {noise}; threshold samples per run "
           f"{summary['threshold_samples']}; retrain seeds {list(config.clean.seeds)}. "
           f"Dev {common.NAMES[m]} (the task's metric) and {common.NAMES[metrics[1]]} ×100, "
           "mean ± sample std over seeds with n the number of seeds (one seed: its value, "
           "n=1).", ""]
  lines += common.smoke_lines(config)
  lines += common.warning_lines(summary.get("data_warnings"))
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
                           top=30 if aum_summary.is_relation(config) else 15)
  if extra:
    lines += [""] + list(extra)
  lines += [""] + table5_lines(config, summary)
  lines += [""] + neighbour_lines(summary)
  lines += corrections_lines(summary)
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
           "benchmark is `bench/research/detectors.py`, docs/detectors.md); `examples.csv` has every "
           "detector's score (`score_*`, higher = more suspect) and automatic flags "
           "(`flag_*`). Estimated share of wrong labels: "
           + ", ".join(f"{k.replace('_share', '')} {v:.3f}" for k, v in notes.items()
                       if k.endswith("_share") and v is not None)
           + "; estimated number (confident learning on out-of-fold probabilities): "
           + (", ".join(f"{k.replace('_count', '')} {v}" for k, v in notes.items()
                        if k.endswith("_count")) or "none (no out-of-fold probabilities)")
           + "."]
  # What the flagging detector is made of, and the runner-up's cut (reports/why.py).
  counts = {k: r["flagged"] for k, r in d["table"].items() if isinstance(r.get("flagged"), int)}
  lines += ["", why.explain(summary, {}, counts, d.get("chosen"))["text"]]
  noisy = summary.get("noisy")
  head = ("| detector | AUROC | AP | F1, automatic cut | best F1 | flagged | seconds |"
          if noisy else "| detector | flagged (no noise injected) | seconds |")
  lines += ["", head, "|---" * (7 if noisy else 3) + "|"]
  for name in aum_summary.detector_order(d["table"]):
    r = d["table"][name]
    flagged = r.get("flagged", "—")
    sec = "—" if seconds.get(name) is None else f"{seconds[name]:.0f}"
    if noisy:
      lines.append(f"| {name} | {num(r.get('auroc'))} | {num(r.get('ap'))} | "
                   f"{num(r.get('auto_f1'))} | {num(r.get('best_f1'))} | {flagged} | {sec} |")
    else:
      lines.append(f"| {name} | {flagged} | {sec} |")
  return lines + repair_lines(summary)


def _label(summary, j):
  names = summary.get("label_names") or []
  return names[j] if j < len(names) else str(j)


def repair_lines(summary):
  """The repair retrains (clean.methods by a detector): what each changed,
  its score next to no repair and the clean-label ceiling, and the share of
  the score lost to noise it won back."""
  d = summary["detectors"]
  if not d["cleaning"]:
    return []
  m = aum_summary.scored_metric(summary)
  where = "test" if m == "test_f1" else "dev"
  name = common.NAMES.get(m, m)
  rec = d.get("recovered") or {}
  lines = ["", "## Repair", "",
           f"Retrained with each `clean.methods` entry (`method` by {d['chosen']}'s cut, or "
           f"`method:detector`); {where} {name} ×100, mean ± std over seeds. No repair: "
           f"{_base_cell(summary['dev']['none'], m)}"
           + (f"; clean labels (the ceiling): {_base_cell(summary['dev']['original'], m)}"
              if summary["dev"].get("original") else "") + ".", "",
           "| repair | dropped | relabelled | down-weighted | score | lost score won back |",
           "|---|---:|---:|---:|---|---:|"]
  for entry, st in d["cleaning"].items():
    ch = d.get("changed", {}).get(entry, {})
    won = f"{rec[entry]:.2f}" if entry in rec else "—"
    lines.append(f"| {entry} | {ch.get('dropped', '—')} | {ch.get('relabelled', '—')} | "
                 f"{ch.get('down_weighted', '—')} | {fmt_stat(st, m) or 'not run'} | {won} |")
  notes = []
  for entry, ch in d.get("changed", {}).items():
    ex = ch.get("examples", {})
    parts = [f"dropped rows {ex['dropped']}" if ex.get("dropped") else "",
             "relabelled " + ", ".join(f"row {i} → {_label(summary, j)}" for i, j in ex["relabelled"])
             if ex.get("relabelled") else "",
             f"down-weighted rows {ex['down_weighted']}" if ex.get("down_weighted") else "",
             f"forget rate {ch['forget_rate']:.3f}" if "forget_rate" in ch else ""]
    rows_named = any(ex.get(k) for k in ("dropped", "relabelled", "down_weighted"))
    parts = [p for p in parts if p]
    if parts:
      notes.append(f"- {entry}: " + "; ".join(parts)
                   + (" (rows of examples.csv)." if rows_named else "."))
  if not rec and summary.get("noisy"):
    notes.append("- The share won back needs the clean-label ceiling (`clean.ceiling`).")
  return lines + ([""] + notes if notes else [])


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


def corrections_lines(summary):
  """A person's corrections (input.corrections): how many rows were reviewed,
  relabelled, dropped; the unfiltered retrains before and after them on dev;
  each detector's precision (and AUROC) on the reviewed rows, the person's
  decisions as ground truth."""
  c = summary.get("corrections")
  if not c:
    return []
  m = summary["metric"]
  num = lambda v: "—" if v is None or not np.isfinite(v) else f"{v:.3f}"
  keys = [m] + (["accuracy"] if m != "accuracy" else [])
  scores = " / ".join(common.NAMES.get(k, k) for k in keys)
  cell = lambda st: (" / ".join(fmt_stat(st, k) or "not run" for k in keys)
                     if st else "not run")
  lines = ["", "## Corrections (input.corrections)", "",
           f"`{c['path']}`: **{c['reviewed']} rows reviewed**: {c['relabelled']} relabelled, "
           f"{c['dropped']} dropped from training, {c['kept']} kept as they were. Unfiltered "
           f"retrains, dev {scores} ×100: on the labels before corrections "
           f"(clean/uncorrected_s*) {cell(c['dev']['uncorrected'])}; on the "
           f"corrected labels (clean/none_s*) {cell(c['dev']['corrected'])}.", "",
           f"The detectors against these decisions ({c['judged_wrong']} reviewed rows judged "
           "wrong, relabel or drop, are the positives; rows not reviewed do not count):", "",
           "| detector | flagged among reviewed | of them judged wrong | precision | recall | "
           "AUROC |", "|---|---:|---:|---:|---:|---:|"]
  for name in aum_summary.detector_order(c["detectors"]):
    r = c["detectors"][name]
    lines.append(f"| {name} | {r.get('flagged', '—')} | {r.get('flagged_wrong', '—')} | "
                 f"{num(r.get('precision'))} | {num(r.get('recall'))} | "
                 f"{num(r.get('auroc'))} |")
  if all(r.get("auroc") is None for r in c["detectors"].values()):
    lines.append("- AUROC needs reviewed rows of both kinds (judged wrong and kept).")
  return lines
