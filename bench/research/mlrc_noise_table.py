r"""MLRC under label noise (issue 36): F1 by noise per variant and learner,
from finished MLRC jobs (each a workdir with config.json and results.json).

  python -m bench.research.mlrc_noise_table --out=docs/figures/mlrc_noise.png \
      --jobs='runs/mlrc_noise/pa_lstm/*,runs/mlrc_noise/minilm/*' --control_epochs=300

Each workdir is one (learner, variant, noise) job of the grid (docs/mlrc.md,
"Under label noise"); its variant and noise setting are read from its
config.json (`mlrc_report.variant`, `mlrc_report.noise_setting`). The table
(printed, and beside --out as .md) has one row per (learner, fraction,
variant) and one column per noise setting, each cell baseline / MLRC
mean ± std (n); with --control_epochs=E a row per variant for the
step-matched longer baseline (bench/research/mlrc_control.py's
`baseline_e<E>/` of each run) too, and a table of what cleaning did to the
noisy rows. The figure: F1 against the uniform noise rate, one panel per
(learner, fraction), MLRC solid and baseline dashed per variant.
"""
import collections
import glob
import json
import os

from absl import flags
import ml_collections
import numpy as np

from bench import cli
from bench import output
from noisy_meta.core import errors
from noisy_meta.reports import mlrc_report


def define_flags(fv):
  flags.DEFINE_list("jobs", [], "MLRC job workdirs or glob patterns (comma-separated).",
                    flag_values=fv)
  flags.DEFINE_integer("control_epochs", 0, "Also the longer baseline of "
                       "bench/research/mlrc_control.py with this many epochs (0: none).",
                       flag_values=fv)
  flags.DEFINE_string("out", "", "The figure (.png); the table goes beside it as .md.",
                      flag_values=fv)


def load(workdir, control_epochs=0):
  """(config, results) of a finished job; with `control_epochs`, each run
  gains `control` (the longer baseline's test F1) where it was trained."""
  files = [os.path.join(workdir, n) for n in ("config.json", "results.json")]
  for f in files:
    if not os.path.exists(f):
      raise errors.InputError(f"{f}: no such file (is {workdir} a finished MLRC job?).")
  with open(files[0]) as fh:
    config = ml_collections.ConfigDict(json.load(fh))
  with open(files[1]) as fh:
    results = json.load(fh)["runs"]
  for r in results:
    path = os.path.join(workdir, f"frac{r['fraction']:g}", f"run{r['run']}",
                        f"baseline_e{control_epochs}", "metrics.json")
    if control_epochs and os.path.exists(path):
      with open(path) as fh:
        r["control"] = json.load(fh)["test_f1"]
  return config, results


def control_lines(jobs, epochs):
  """The longer baseline by variant and noise: mean ± std (n)."""
  cells, settings = collections.defaultdict(dict), []
  for config, results in jobs:
    setting = mlrc_report.noise_setting(config)
    settings += [setting] if setting not in settings else []
    by = collections.defaultdict(list)
    for r in results:
      if "control" in r:
        by[r["fraction"]].append(100 * r["control"])
    for f, v in by.items():
      std = f" ± {np.std(v, ddof=1):.2f}" if len(v) > 1 else ""
      cells[(config.model.name, f, mlrc_report.variant(config))][setting] = (
          f"{np.mean(v):.2f}{std} (n={len(v)})")
  settings.sort(key=lambda x: (x != "0", x))
  lines = [f"| learner | fraction | variant (its loss/reweight) | " + " | ".join(
      f"noise {x}: baseline x{epochs} epochs" for x in settings) + " |",
           "|---|---:|---|" + "---:|" * len(settings)]
  for (model, f, name), row in sorted(cells.items()):
    lines.append(f"| {model} | {f:g} | {name} | " + " | ".join(
        row.get(x, "—") for x in settings) + " |")
  return lines


def cleaning_lines(jobs):
  """Per noisy job: the share of flipped / clean rows removed or weighted 0."""
  lines = ["| learner | fraction | variant | noise | flipped removed | clean removed | "
           "flipped weighted 0 | clean weighted 0 |", "|---|---:|---|---|---:|---:|---:|---:|"]
  for config, results in jobs:
    if not config.mlrc.get("noise"):
      continue
    for f in sorted({r["fraction"] for r in results}):
      rows = [r for r in results if r["fraction"] == f and r.get("noise")]
      cell = lambda k: (f"{100 * np.mean(v):.1f}%" if (v := [
          r["noise"][k] for r in rows if r["noise"].get(k) is not None]) else "—")
      lines.append(f"| {config.model.name} | {f:g} | {mlrc_report.variant(config)} | "
                   f"{mlrc_report.noise_setting(config)} | {cell('removed_noisy')} | "
                   f"{cell('removed_clean')} | {cell('downweighted_noisy')} | "
                   f"{cell('downweighted_clean')} |")
  return lines


def plot(jobs, out):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  series = collections.defaultdict(list)  # (model, f, variant) -> [(rate, b, m)].
  for config, results in jobs:
    kind = config.mlrc.get("noise_type", "uniform")
    rate = config.mlrc.get("noise", 0.0)
    if rate and kind != "uniform":
      continue
    for f, s in mlrc_report.summarize(results).items():
      series[(config.model.name, f, mlrc_report.variant(config))].append(
          (100 * rate, s["baseline"], s["mlrc"]))
  panels = sorted({k[:2] for k in series})
  if not panels:
    return None
  fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
  for ax, (model, f) in zip(axes[0], panels):
    for i, ((_, _, name), pts) in enumerate(sorted(
        (k, v) for k, v in series.items() if k[:2] == (model, f))):
      pts = sorted(pts)
      x = [p[0] for p in pts]
      line, = ax.plot(x, [p[2] for p in pts], "o-", label=name, color=f"C{i}")
      ax.plot(x, [p[1] for p in pts], "s--", color=line.get_color(), alpha=0.6,
              label=f"baseline ({name})")
    ax.set(title=f"{model}, {100 * f:g} % of SemEval", xlabel="uniform noise (%)",
           ylabel="test F1")
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(out, dpi=120)
  plt.close(fig)
  return out


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("jobs",))
  dirs = [d for pattern in args.jobs for d in (sorted(glob.glob(pattern)) or [pattern])
          if os.path.isdir(d) or not glob.has_magic(d)]
  if not dirs:
    raise SystemExit(f"error: --jobs={','.join(args.jobs)}: no workdirs.")
  jobs = [load(w, args.control_epochs) for w in dirs]
  lines = ["## F1 by noise (baseline / MLRC, test F1 x100)", ""]
  lines += mlrc_report.noise_grid_lines(jobs)
  if args.control_epochs:
    lines += ["", f"## The step-matched longer baseline ({args.control_epochs} epochs, "
              "the job's loss and reweight switches)", ""]
    lines += control_lines(jobs, args.control_epochs)
  lines += ["", "## What cleaning did to the noisy rows", ""] + cleaning_lines(jobs)
  text = f"{output.stamp('jax')}\n\n" + "\n".join(lines) + "\n"
  print(text)
  if args.out:
    output.write(os.path.splitext(args.out)[0] + ".md", text)
    written = plot(jobs, args.out)
    output.done(*([args.out] if written else []))
  return 0


if __name__ == "__main__":
  cli.run(main)
