r"""MLRC across learners: one F1-vs-fraction figure and one table from
finished MLRC grids (each a workdir with results.json), one per learner.

  python -m bench.research.mlrc_learners --out=docs/figures/mlrc_learners.png \
      --grid=PA-LSTM=runs/mlrc/pa_lstm --grid=C-GCN=runs/mlrc/cgcn \
      --grid=MiniLM=runs/mlrc_tf/f001_i50 --grid=MiniLM=runs/mlrc_tf/f01_i50

A label given twice merges its grids (e.g. one workdir per fraction). Each
learner gets one colour: baseline dashed, MLRC solid, mean over runs with
min-max bars; the table (printed, and written beside the figure as .md) has
baseline and MLRC mean ± std, MLRC - baseline and the runs per fraction.
"""
import collections
import json
import os

from absl import flags

from bench import cli
from bench import output
from noisy_meta.core import errors
from noisy_meta.reports import mlrc_report


def load(grids):
  """{label: [run results]} from `label=workdir` strings."""
  out = collections.OrderedDict()
  for spec in grids:
    label, sep, path = spec.partition("=")
    if not sep or not label or not path:
      raise errors.InputError(f"--grid={spec!r}: expected LABEL=WORKDIR.")
    f = os.path.join(path, "results.json")
    if not os.path.exists(f):
      raise errors.InputError(f"{f}: no such file (is {path} a finished MLRC grid?).")
    with open(f) as fh:
      runs = json.load(fh)["runs"]
    seen = {(r["fraction"], r["run"]) for r in out.get(label, [])}
    out.setdefault(label, []).extend(r for r in runs if (r["fraction"], r["run"]) not in seen)
  return out


def table(by_label):
  """Markdown lines: learner, fraction, runs, baseline, MLRC, MLRC - baseline."""
  std = lambda s: "" if s is None else f" ± {s:.2f}"
  lines = ["| learner | fraction | runs | baseline | MLRC | MLRC − baseline |",
           "|---|---:|---:|---:|---:|---:|"]
  for label, runs in by_label.items():
    for f, row in mlrc_report.summarize(runs).items():
      delta = "—" if row["delta"] is None else f"{row['delta']:+.2f}"
      lines.append(f"| {label} | {100 * f:g} % | {row['runs']} | {row['baseline']:.2f}"
                   f"{std(row['baseline_std'])} | {row['mlrc']:.2f}{std(row['mlrc_std'])} | "
                   f"{delta} |")
  return lines


def plot(by_label, out, dataset="semeval"):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(6.5, 4.2))
  n = len(by_label)
  for k, (label, runs) in enumerate(by_label.items()):
    summary = mlrc_report.summarize(runs)
    fr = sorted(summary)
    for name, style in (("baseline", "--"), ("mlrc", "-")):
      shift = 1.03 ** (2 * k - n + (name == "mlrc"))  # Side by side on the log axis.
      x = [100 * f * shift for f in fr]
      y = [summary[f][name] for f in fr]
      err = [[y[i] - summary[f][f"{name}_min"] for i, f in enumerate(fr)],
             [summary[f][f"{name}_max"] - y[i] for i, f in enumerate(fr)]]
      ax.errorbar(x, y, yerr=err, linestyle=style, marker="o" if name == "mlrc" else "s",
                  capsize=3, color=f"C{k}", markersize=4,
                  label=f"{label} {'+ MLRC' if name == 'mlrc' else 'baseline'}")
  ax.set_xscale("log")
  xs = sorted({100 * r["fraction"] for runs in by_label.values() for r in runs})
  ax.set_xticks(xs, [f"{v:g} %" for v in xs])
  ax.minorticks_off()
  ax.set_xlim(min(xs) / 1.6, max(xs) * 1.6)
  ax.set_xlabel(f"training sentences used (% of {dataset}'s training set)")
  ax.set_ylabel("test F1 (%)")
  ax.set_ylim(bottom=0)
  ax.set_title(f"{dataset}: baseline vs MLRC by learner (mean, min-max over runs)",
               fontsize=10)
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  fig.savefig(out, dpi=120)
  plt.close(fig)


def define_flags(fv):
  flags.DEFINE_multi_string("grid", None, "LABEL=WORKDIR (repeat).", flag_values=fv)
  flags.DEFINE_string("out", None, "The figure (.png); the table goes beside it (.md).",
                      flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("grid", "out"))
  try:
    by_label = load(args.grid)
  except errors.InputError as e:
    raise SystemExit(f"error: {e}") from None
  lines = [output.stamp(), ""] + table(by_label)
  print("\n".join(lines))
  plot(by_label, args.out)
  md = output.write(os.path.splitext(args.out)[0] + ".md", "\n".join(lines) + "\n")
  output.done(args.out, md)
  return 0


if __name__ == "__main__":
  cli.run(main)
