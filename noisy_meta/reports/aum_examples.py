"""examples.csv of an AUM job: one row per training example, and reading it back.

The columns (CSV_HEADER, then the flags at each percentile and, with
detectors, every detector's score and flag) carry what a paper table or the
explorer needs per example; `read_workdir` turns a finished workdir back
into the arguments of the report's tables and figures (the colab uses it).
"""
import csv
import os

import numpy as np

from noisy_meta.core import atomic
from noisy_meta.reports import aum_summary
from noisy_meta.reports import report_common as common

# examples.csv: `label` / `original_label` are class indices, `*_name` their
# names; `original_label*` and `noisy` are empty cells when no noise was injected.
CSV_HEADER = ("id", "source", "text", "label", "label_name", "original_label",
              "original_label_name", "noisy", "aum", "judged_in_run",
              "threshold_sample_run1", "threshold_sample_run2", "confidence", "variability",
              "correctness", "neighbour_majority_share", "neighbour_agrees")


def write_csv(path, rows, header):
  """`rows` under `header` as a CSV file, written atomically."""
  with atomic.path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(header)
    w.writerows(rows)


def write_examples(workdir, config, train, original, given, noisy, used, judged_in,
                   thr_1, thr_2, flags, stats, neighbours, det=None):
  """`<workdir>/examples.csv`. `det`: the detectors' scores and flags
  (trainers/aum.detect), as columns after the percentiles' flags; with a
  person's corrections (`det["corrections"]`, input.corrections) a last
  column `reviewed`: the decision (relabel, drop, keep), empty if not reviewed."""
  names = train.label_names
  pcts = list(config.aum.percentiles)
  is_thr = np.zeros((2, len(given)), bool)
  is_thr[0, thr_1] = True
  is_thr[1, thr_2] = True
  header = list(CSV_HEADER) + [f"flagged_p{p}" for p in pcts]
  score_names = aum_summary.detector_order(det["scores"]) if det else []
  flag_names = aum_summary.detector_order(det["flags"]) if det else []
  if det:
    header += ["flagged"] + [f"score_{n}" for n in score_names] + [
        f"flag_{n}" for n in flag_names]
  cor = (det or {}).get("corrections")
  if cor is not None:
    header.append("reviewed")
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
    if cor is not None:
      rows[-1].append(cor.reviewed[i])
  write_csv(os.path.join(workdir, "examples.csv"), rows, header)


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
