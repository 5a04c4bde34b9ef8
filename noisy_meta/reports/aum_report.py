"""AUM artifacts: examples.csv, summary.json, report.md and the PNG figures.

`write_all` writes a judged job's files in order; each idea has its module:
aum_summary (summary.json's numbers), aum_examples (the per-example CSV and
reading a workdir back), aum_markdown (report.md's tables), aum_figures (the
PNGs). The job writes the explorer page after this: explorer.py reads these
files, so no AUM report module imports it.
"""
import os

from absl import logging

from noisy_meta.core import writers
from noisy_meta.reports import aum_examples
from noisy_meta.reports import aum_figures
from noisy_meta.reports import aum_markdown
from noisy_meta.reports import aum_summary


def write_all(workdir, config, train, original, given, noisy, used, judged_in,
              thr_1, thr_2, flags, stats, neighbours, summary, det=None, other=None):
  """examples.csv, summary.json, report.md and the figures. `det`: the
  detectors' scores and flags (trainers/aum.detect), as columns; `other`:
  each example's best other real class (relation runs' suggested labels)."""
  aum_examples.write_examples(workdir, config, train, original, given, noisy, used, judged_in,
                              thr_1, thr_2, flags, stats, neighbours, det)
  writers.write_json(os.path.join(workdir, "summary.json"), summary)
  if det:  # Wall-clock seconds of each detector (not in the deterministic summary).
    writers.write_json(os.path.join(workdir, "detector_seconds.json"), det["seconds"])
  if summary.get("collapsed_runs"):
    logging.warning("AUM report: %d of %d runs are collapsed classifiers (one class "
                    "predicted on dev, or the majority-class score): %s.",
                    len(summary["collapsed_runs"]), summary["finished_runs"],
                    ", ".join(summary["collapsed_runs"]))
  figures, skipped = aum_figures.plot_all(workdir, config, used, noisy, flags, stats, summary)
  extra = []
  if aum_summary.is_relation(config) and other is not None:
    p = max(config.aum.percentiles)
    extra = aum_markdown.relation_lines(train.label_names, given, flags[p], p, other, noisy)
  aum_markdown.write_report(workdir, config, train, given, used, flags, summary, figures,
                            skipped, seconds=det["seconds"] if det else None, extra=extra)
