"""The fast scan's artifacts (noisy_meta/trainers/scan.py): summary.json,
examples.csv and report.md, in the AUM job's formats (the job then writes
explorer.html: reports never import the explorer).

examples.csv has the AUM job's columns (aum_examples.CSV_HEADER) with the
AUM-specific ones absent: `aum`, `confidence`, `variability`, `correctness`
are nan, `judged_in_run` and the threshold-sample columns empty; then
`flagged` (scan.detector's cut), every detector's `score_*` and `flag_*`,
and the probes' suggested label. The explorer page is the AUM page
(explorer.page) fed by the job's `explorer_data` from the scan's arrays: its data map
and AUM histogram are empty, its flag control has one level, the scan's
chosen detector's flags.
"""
import os

import numpy as np

from noisy_meta.core import writers
from noisy_meta.reports import aum_examples
from noisy_meta.reports import aum_summary
from noisy_meta.reports import report_common as common

NO_AUM = ("no AUM in a scan (nothing fine-tuned): the control's one level is the scan's "
          "flags; data map and histogram are empty")


def summarize(config, train, given, noisy, det):
  """summary.json: the task, the noise, every detector's table and notes."""
  rate = config.noise.rate
  if rate <= 0 and noisy is not None:  # A noise mix: the share it flipped.
    rate = float(noisy.mean())
  out = {"kind": "scan", "task": aum_summary.task_name(config), "noise_rate": rate,
         "noisy": int(noisy.sum()) if noisy is not None else None,
         "examples": int(len(given)), "label_names": list(train.label_names),
         "flagged": int(det["flags"][config.scan.detector].sum()),
         "detectors": {"chosen": config.scan.detector, "table": det["table"],
                       "notes": det["notes"]}}
  if train.warnings:
    out["data_warnings"] = list(train.warnings)
  return out


def suggested(probs, given):
  """The probes' likeliest class other than the given one [N]."""
  p = np.array(probs, np.float64)
  p[np.arange(len(given)), given] = -1.0
  return p.argmax(1)


def write_examples(path, config, train, original, given, noisy, det):
  """examples.csv (the module docstring says which columns)."""
  names = train.label_names
  order = aum_summary.detector_order(det["scores"])
  cuts = aum_summary.detector_order(det["flags"])
  header = list(aum_examples.CSV_HEADER) + ["flagged"] + [f"score_{n}" for n in order] + [
      f"flag_{n}" for n in cuts] + ["suggested_label", "suggested_label_name"]
  votes, chosen = det["votes"], det["flags"][config.scan.detector]
  share, agrees = votes.max(1), votes.argmax(1) == given
  other = suggested(det["probs"], given)
  rows = []
  for i in range(len(given)):
    truth = ([int(original[i]), names[original[i]], int(noisy[i])] if noisy is not None
             else ["", "", ""])
    rows.append([i, train.sources[i], train.texts[i], int(given[i]), names[given[i]]] + truth
                + ["nan", "", "", "", "nan", "nan", "nan", f"{share[i]:.3f}", int(agrees[i]),
                   int(chosen[i])]
                + [f"{det['scores'][n][i]:.6g}" for n in order]
                + [int(det["flags"][n][i]) for n in cuts]
                + [int(other[i]), names[other[i]]])
  aum_examples.write_csv(path, rows, header)


def report_lines(config, summary, seconds):
  """report.md: what was flagged, the detectors against the noise, the cost."""
  d, noisy = summary["detectors"], summary["noisy"]
  num = lambda v: "—" if v is None or not np.isfinite(v) else f"{v:.3f}"
  notes = d["notes"]
  lines = [f"# Fast scan: {summary['task']}", ""] + common.smoke_lines(config) + [
      f"{summary['flagged']} of {summary['examples']} training examples flagged by "
      f"**{d['chosen']}** (`scan.detector`; examples.csv's `flagged`), from the frozen "
      "encoder alone: nothing was fine-tuned. The ensemble averages the ranks of "
      + ", ".join(notes["ensemble_parts"]) + f"; it and the probe flag the top "
      f"{notes['probe_count']} (confident learning's count on the probes' out-of-fold "
      f"probabilities); HOC estimates a noise share of {notes['hoc_noise_share']:.3f}.", ""]
  if noisy:
    lines += [f"Injected noise: {noisy} labels ({summary['noise_rate']:g}, "
              f"`{config.noise.kind}`, seed {config.noise.seed}).", ""]
  head = (["detector", "AUROC", "AP", "F1, automatic cut", "best F1", "flagged", "seconds"]
          if noisy else ["detector", "flagged (no noise injected)", "seconds"])
  rows = []
  for name in aum_summary.detector_order(d["table"]):
    r, sec = d["table"][name], seconds.get(name)
    cells = [r.get("flagged", "—"), "—" if sec is None else f"{sec:.0f}"]
    rows.append([name] + ([num(r.get("auroc")), num(r.get("ap")), num(r.get("auto_f1")),
                           num(r.get("best_f1"))] if noisy else []) + cells)
  lines += common.table(head, rows) + ["",
            f"Seconds: loading {seconds['load']:.0f}, encoding {seconds['encoding']:.0f}, "
            f"scoring {seconds['scoring']:.0f} (a detector's column: its own scoring; "
            "the ensemble's: its parts').", ""]
  lines += common.warning_lines(summary.get("data_warnings", []))
  lines += ["The full job (configs/aum_*.py: two AUM fine-tunings and fold models) adds "
            "AUM, confident learning and the ensemble that won the detector benchmark "
            "(docs/detectors.md); docs/scan.md compares the two."]
  return lines


def write_all(workdir, config, train, original, given, noisy, det, summary, seconds):
  """examples.csv, summary.json and report.md (the job then writes explorer.html)."""
  write_examples(os.path.join(workdir, "examples.csv"), config, train, original, given,
                 noisy, det)
  writers.write_json(os.path.join(workdir, "summary.json"), summary)
  writers.write_text(os.path.join(workdir, "report.md"),
                     "\n".join(report_lines(config, summary, seconds)) + "\n")
