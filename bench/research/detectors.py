r"""The noisy-label detector benchmark: every detector x dataset x noise, one command.

  python -m bench.research.detectors --grid=configs/detectors.py --out=runs/bench/detectors
  python -m bench.research.detectors --grid=configs/detectors.py:cpu --out=runs/bench/det_cpu \
      --write_docs   # what docs/detectors.md holds (2-core CPU scale)

Each cell of the grid (configs/detectors.py) is one AUM job run as a user
runs it (`python -m noisy_meta.main --config=configs/aum_<dataset>.py:...`,
detection only, margins of both kinds, confident learning's folds), in
`<out>/cells/<cell>`; a finished cell is reused and an interrupted one
resumes (the AUM pipeline's stages), `--rescore` reruns every finished job
over its saved trainings with the current detector code and config (the
job's config.json is replaced, the old one kept as config.prev<N>.json). Then the cleaning
comparison reruns the SST-2 and TREC cells with retrains: sieving by the
default detector (configs/aum.py's clean.detector) and by AUM's own cut.
Relation grids (configs/detectors_relation.py) clean every noise kind:
sieve and flip at candidate percentiles, the one best on dev scored on test
with the official scorer, against retrains on the original data.

Writes `<out>/summary.json` and `<out>/detectors.md` (per dataset x noise:
AUROC, AP, F1 at the automatic cut and at the best cut, seconds, mean ± std
over noise seeds; a ranking; the clean originals' flag counts; the goal
checks; the cleaning tables), and with --write_docs the generated part of
docs/detectors.md. Last line: where the results are.
"""
import json
import os
import subprocess
import sys
import time

from absl import flags
import numpy as np

import bench
from bench import cli
from bench import output
from configs import aum as aum_config
from noisy_meta import detectors
from noisy_meta import validate
from noisy_meta.core import errors
from noisy_meta.core import progress

ROOT = str(bench.ROOT)
PEERS = ("aum", "loss", "confidence", "cleanlab")  # The single peers.
DOCS = os.path.join(ROOT, "docs", "detectors.md")
BEGIN, END = ("<!-- bench/research/detectors.py: begin -->",
              "<!-- bench/research/detectors.py: end -->")


def define_flags(fv):
  flags.DEFINE_string("grid", "configs/detectors.py", "The grid: a config file[:args].",
                      flag_values=fv)
  flags.DEFINE_string("out", "runs/bench/detectors", "Cells and results go here.",
                      flag_values=fv)
  flags.DEFINE_bool("rescore", False, "Rerun finished cells' jobs (reusing their "
                    "trainings) to score them with the current detectors.", flag_values=fv)
  flags.DEFINE_bool("write_docs", False, "Rewrite docs/detectors.md's tables.", flag_values=fv)
  flags.DEFINE_list("only", [], "Run only jobs whose name contains one of these.",
                    flag_values=fv)
  flags.DEFINE_list("skip", [], "Skip jobs whose name contains one of these "
                    "(--only and --skip split the grid over processes sharing --out).",
                    flag_values=fv)


def load_grid(spec):
  path, _, arg = spec.partition(":")
  import importlib.util  # pylint: disable=g-import-not-at-top
  s = importlib.util.spec_from_file_location("grid", os.path.join(ROOT, path)
                                             if not os.path.isabs(path) else path)
  module = importlib.util.module_from_spec(s)
  s.loader.exec_module(module)
  grid = module.get_config(arg or None)
  try:
    validate.check(grid)  # A bad grid value: one line before any job starts.
  except errors.InputError as e:
    sys.exit(f"error: {e}")
  return grid


def cells(grid, num_classes):
  """[(name, dataset, kind, rate, noise seed)] of the grid; rate 0 = the original.
  Seed-major: every dataset and noise at the first seed before any second
  seed, so that an interrupted benchmark has covered the grid once."""
  out = []
  for seed in grid.noise_seeds:
    for rate in grid.noise_rates:
      for kind in grid.noise_kinds:
        for d in grid.datasets:
          if kind == "class_conditional" and num_classes[d] == 2 and \
              grid.skip_binary_class_conditional:
            continue
          out.append((f"{d}_{kind}_{rate:g}_s{seed}", d, kind, rate, seed))
  if grid.clean_cells:
    out += [(f"{d}_clean", d, "uniform", 0.0, grid.noise_seeds[0]) for d in grid.datasets]
  return out


def job_command(grid, dataset, kind, rate, seed, workdir, retrain_seeds=0, methods=None):
  """The AUM job of one cell: detection only, or (retrain_seeds) the cleaning
  comparison: whole dev set, cleaning by the default detector (or the grid's
  `clean_detector`) and by AUM at `clean_percentiles` (default: AUM's own
  cut). `methods`: the cleaning methods (default the grid's; () for
  unfiltered retrains only, e.g. on the original data)."""
  arg = (f"train_size={grid.sizes[dataset]},noise={rate},noise_kind={kind},"
         f"noise_seed={seed},seeds={retrain_seeds},folds={grid.folds},"
         f"epochs={grid.epochs},batch_size={grid.batch_size},lr={grid.lr}")
  if grid.get("model"):  # Relation grids: the learner (0s above: its own recipe).
    arg += f",model={grid.model}"
  cmd = [sys.executable, "-m", "noisy_meta.main", f"--config=configs/aum_{dataset}.py:{arg}",
         f"--workdir={workdir}", f"--config.aum.margins={grid.margins}"]
  if not grid.get("model"):  # Text learners read dev only for selection; relation
    cmd.append("--config.eval_every_epoch=False")  # learners decay lr on it.
  if kind == "pair" and grid.get("pairing"):
    cmd.append(f"--config.noise.pairing={grid.pairing}")
  if retrain_seeds:
    pcs = tuple(grid.clean_percentiles) or (aum_config.get_config().detect.aum_percentile,)
    methods = grid.clean_methods if methods is None else methods
    quoted = "".join(f"{m!r}," for m in methods)  # A tuple of strings.
    cmd += [f"--config.clean.methods=({quoted})",
            "--config.clean.percentiles=(" + "".join(f"{p}," for p in pcs) + ")"]
    if grid.clean_detector:
      cmd.append(f"--config.clean.detector={grid.clean_detector}")
  elif grid.dev_size:
    cmd += [f"--config.input.dev_size={grid.dev_size}"]
  return cmd


def clean_jobs(grid, out, cell_dir):
  """The cleaning comparison's jobs [(name, source cell dir, command)]: per
  dataset, noise kind (`clean_kinds`, default uniform) and rate, the first
  noise seed's cell retrained; with `clean_original`, unfiltered retrains on
  the original data (the clean reference), reusing its `<dataset>_clean` cell."""
  if not grid.clean_seeds:
    return []
  jobs = []
  for d in grid.clean_datasets:
    if grid.clean_original:
      jobs.append((f"clean/{d}_original", cell_dir(f"{d}_clean"), job_command(
          grid, d, "uniform", 0.0, grid.noise_seeds[0], os.path.join(out, "clean", f"{d}_original"),
          retrain_seeds=len(grid.clean_seeds), methods=())))
    for kind in grid.clean_kinds:
      for rate in grid.clean_rates:
        name = f"{d}_{kind}_{rate:g}_s{grid.noise_seeds[0]}"
        jobs.append((f"clean/{name}", cell_dir(name), job_command(
            grid, d, kind, rate, grid.noise_seeds[0], os.path.join(out, "clean", name),
            retrain_seeds=len(grid.clean_seeds))))
  return jobs


def reuse_trainings(source, workdir):
  """Copies a detection cell's finished AUM runs and fold models' outputs
  (same data, noise and recipe) into a cleaning job's workdir: the pipeline
  reuses them."""
  import shutil  # pylint: disable=g-import-not-at-top
  for name in ("aum_run1", "aum_run2", "folds"):
    src, dst = os.path.join(source, name), os.path.join(workdir, name)
    if os.path.isdir(src) and not os.path.exists(dst):
      shutil.copytree(src, dst)


def select(jobs, only, skip):
  """The jobs whose name contains one of `only` (all if empty) and none of `skip`."""
  return [j for j in jobs if (not only or any(o in j[0] for o in only))
          and not any(s in j[0] for s in skip)]


def run_job(cmd, log_path):
  """Runs one job; its log goes to `log_path`. Raises on failure with the log's tail."""
  with open(log_path, "a") as log:
    log.write(" ".join(cmd) + "\n")
    log.flush()
    rc = subprocess.call(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
  if rc:
    with open(log_path) as f:
      tail = f.read()[-2000:]
    raise SystemExit(f"job failed (exit {rc}): {' '.join(cmd)}\n{tail}")


def mean_std(values):
  v = np.asarray([x for x in values if x is not None and np.isfinite(x)], np.float64)
  if not len(v):
    return None
  return [float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else None, len(v)]


def aggregate(grid, cell_list, out):
  """{group: {detector: {metric: [mean, std, n]}}} over noise seeds, plus the
  clean cells' flag counts."""
  groups, clean = {}, {}
  for name, d, kind, rate, _ in cell_list:
    path = os.path.join(out, "cells", name, "summary.json")
    if not os.path.exists(path):
      continue
    with open(path) as f:
      s = json.load(f)
    table = s["detectors"]["table"]
    secs = os.path.join(out, "cells", name, "detector_seconds.json")
    if os.path.exists(secs):
      with open(secs) as f:
        for det, v in json.load(f).items():
          table.setdefault(det, {})["seconds"] = v
    if rate == 0:
      clean[d] = {k: {"flagged": r.get("flagged"), "examples": s["examples"]}
                  for k, r in table.items() if "flagged" in r}
      continue
    g = groups.setdefault(f"{d} {kind} {rate:g}", {})
    for det, r in table.items():
      for m in ("auroc", "ap", "auto_f1", "best_f1", "seconds", "flagged"):
        g.setdefault(det, {}).setdefault(m, []).append(r.get(m))
    g.setdefault("_notes", []).append(s["detectors"]["notes"])
  agg = {}
  for g, dets in groups.items():
    notes = dets.pop("_notes")
    agg[g] = {det: {m: mean_std(v) for m, v in ms.items()} for det, ms in dets.items()}
    parts = [n.get("ensemble_parts") for n in notes if n.get("ensemble_parts")]
    if parts:
      agg[g]["_parts"] = parts[0]
  return agg, clean


def ranking(agg):
  """[(detector, mean AUROC, mean AP, groups)] over all groups, best AUROC first."""
  per = {}
  for g, dets in agg.items():
    for det, ms in dets.items():
      if det.startswith("_") or not ms.get("auroc"):
        continue
      per.setdefault(det, []).append((ms["auroc"][0], ms["ap"][0]))
  rows = [(d, float(np.mean([a for a, _ in v])), float(np.mean([p for _, p in v])), len(v))
          for d, v in per.items()]
  return sorted(rows, key=lambda r: -r[1])


def goal_checks(agg, default):
  """The issue's goals: the default beats each peer by >= 0.02 mean AUROC and
  in mean AP; its automatic cut reaches >= 90 % of the best F1 on every
  dataset at 20 % noise."""
  rank = {d: (a, p, n) for d, a, p, n in ranking(agg)}
  out = {"default": default, "peers": {}, "auto_vs_best_20": {}}
  if default not in rank:
    return out
  a0, p0, _ = rank[default]
  for peer in PEERS:
    if peer in rank:
      a, p, _ = rank[peer]
      out["peers"][peer] = {"auroc_gain": a0 - a, "ap_gain": p0 - p,
                            "met": a0 - a >= 0.02 and p0 > p}
  for g, dets in agg.items():
    if not g.endswith(" 0.2") or default not in dets:
      continue
    ms = dets[default]
    if ms.get("auto_f1") and ms.get("best_f1"):
      ratio = ms["auto_f1"][0] / max(ms["best_f1"][0], 1e-12)
      out["auto_vs_best_20"][g] = {"ratio": ratio, "met": ratio >= 0.9}
  return out


def _clean_summary(out, name):
  path = os.path.join(out, "clean", name, "summary.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def clean_table(grid, out):
  """{dataset kind rate: {unfiltered, <method> by <detector>, <method> by aum pP:
  [mean, std, n]}} of dev scores (the summary's metric)."""
  rows = {}
  for d in grid.clean_datasets:
    for kind in grid.clean_kinds:
      for rate in grid.clean_rates:
        s = _clean_summary(out, f"{d}_{kind}_{rate:g}_s{grid.noise_seeds[0]}")
        if s is None:
          continue
        m = s["metric"]
        row = {"metric": m, "detector": s["detectors"]["chosen"],
               "unfiltered": s["dev"]["none"].get(m)}
        for method, st in s["detectors"]["cleaning"].items():
          row[f"{method} by {s['detectors']['chosen']}"] = st.get(m)
        for p, prow in s["percentiles"].items():
          for method in grid.clean_methods:
            if method in prow:
              row[f"{method} by aum p{p}"] = prow[method].get(m)
        rows[f"{d} {kind} {rate:g}"] = row
  return rows


def test_table(grid, out):
  """Relation grids' cleaning on test: {dataset kind rate: {clean, noisy,
  <method>: {percentile (chosen on dev), dev, test}, recovered: {method:
  share of the test F1 lost to noise that cleaning won back}}}."""
  rows = {}
  for d in grid.clean_datasets:
    orig = _clean_summary(out, f"{d}_original")
    clean = orig["dev"]["none"].get("test_f1") if orig else None
    clean_collapsed = orig["dev"]["none"].get("collapsed", 0) if orig else 0
    for kind in grid.clean_kinds:
      for rate in grid.clean_rates:
        s = _clean_summary(out, f"{d}_{kind}_{rate:g}_s{grid.noise_seeds[0]}")
        if s is None or "test_f1" not in s["dev"]["none"]:
          continue
        noisy = s["dev"]["none"]["test_f1"]
        row = {"clean": clean, "noisy": noisy, "methods": s.get("selected", {}),
               "recovered": {}}
        # Collapsed retrains (one class predicted on dev) among the row's numbers.
        row["collapsed"] = clean_collapsed + s["dev"]["none"].get("collapsed", 0) + sum(
            sel.get("collapsed", 0) for sel in row["methods"].values())
        for method, sel in row["methods"].items():
          if clean and sel.get("test") and clean[0] > noisy[0]:
            row["recovered"][method] = (sel["test"][0] - noisy[0]) / (clean[0] - noisy[0])
        rows[f"{d} {kind} {rate:g}"] = row
  return rows


def test_lines(grid, rows):
  """The relation cleaning table (test F1 ×100) and the issue's goal check."""
  if not rows:
    return []
  pct = lambda v: "—" if v is None or v[0] is None else (
      f"{100 * v[0]:.2f}" + ("" if v[1] is None else f" ± {100 * v[1]:.2f}"))
  methods = list(grid.clean_methods)
  lines = ["", "### Cleaning on test: official F1 ×100 of the best-dev epoch, mean ± std "
           f"over retrain seeds {list(grid.clean_seeds)}", "",
           "Each method's percentile is the one whose retrains score best on dev (never "
           "test). Recovered: (cleaned − noisy) / (clean − noisy) test F1.", "",
           "| dataset, noise | clean data | noisy, unfiltered | "
           + " | ".join(f"{m} (p chosen on dev)" for m in methods)
           + " | recovered " + " / ".join(methods) + " |", "|---" * (4 + len(methods)) + "|"]
  for g, r in rows.items():
    cells_ = [pct(r["clean"]), pct(r["noisy"])]
    for m in methods:
      sel = r["methods"].get(m)
      cells_.append("—" if not sel else f"{pct(sel.get('test'))} (p{sel['percentile']})")
    rec = [f"{r['recovered'][m]:.2f}" if m in r["recovered"] else "—" for m in methods]
    lines.append(f"| {g} | " + " | ".join(cells_) + " | " + " / ".join(rec) + " |")
  for g, r in rows.items():
    if r.get("collapsed"):
      lines.append(f"- {g}: **{r['collapsed']} of its retrains collapsed** (one class "
                   "predicted on dev); their scores are in the means above.")
    if r["recovered"]:
      best = max(r["recovered"].values())
      lines.append(f"- {g}: the better method recovers {best:.2f} of the F1 lost to noise: "
                   f"{'met' if best >= 0.5 else '**not met**'} (>= 0.50).")
  return lines


def fmt(v, digits=3):
  if v is None:
    return "—"
  mean, std = v[0], v[1]
  return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def markdown(grid, agg, clean, checks, cleaning, seconds, spec="", tested=None):
  default = checks["default"]
  sizes = ", ".join(f"{d} {n or 'all'}" for d, n in grid.sizes.items())
  lines = [output.stamp("jax"), "",
           f"This run {seconds / 60:.0f} min, finished cells reused. Grid `{spec}`: training sets {sizes}; "
           f"{grid.epochs} epochs; noise seeds {list(grid.noise_seeds)}; cleanlab on "
           f"{grid.folds}-fold out-of-fold probabilities. Mean ± sample std over noise seeds.",
           "", "### Ranking over every noisy cell", "",
           "| detector | mean AUROC | mean AP | cells |", "|---|---|---|---|"]
  for d, a, p, n in ranking(agg):
    mark = " (candidate)" if d == default else ""
    lines.append(f"| {d}{mark} | {a:.3f} | {p:.3f} | {n} |")
  lines += ["", "### Goals", ""]
  for peer, r in checks["peers"].items():
    lines.append(f"- {default} vs {peer}: AUROC {r['auroc_gain']:+.3f}, AP "
                 f"{r['ap_gain']:+.3f}: {'met' if r['met'] else '**not met**'} "
                 "(>= +0.02 AUROC and higher AP).")
  for g, r in checks["auto_vs_best_20"].items():
    lines.append(f"- {g}: {default}'s automatic-cut F1 / best F1 = {r['ratio']:.2f}: "
                 f"{'met' if r['met'] else '**not met**'} (>= 0.90).")
  for g, dets in agg.items():
    lines += ["", f"### {g}", "",
              "| detector | AUROC | AP | F1, automatic cut | best F1 | flagged | seconds |",
              "|---|---|---|---|---|---|---|"]
    for det in sorted((k for k in dets if not k.startswith("_")),
                      key=lambda k: -(dets[k]["auroc"][0] if dets[k].get("auroc") else -1)):
      ms = dets[det]
      lines.append(f"| {det} | {fmt(ms.get('auroc'))} | {fmt(ms.get('ap'))} | "
                   f"{fmt(ms.get('auto_f1'))} | {fmt(ms.get('best_f1'))} | "
                   f"{fmt(ms.get('flagged'), 0)} | {fmt(ms.get('seconds'), 0)} |")
    if dets.get("_parts"):
      lines += ["", "The ensemble averages the ranks of: " + ", ".join(dets["_parts"]) + "."]
  if clean:
    lines += ["", "### The originals (nothing injected): examples flagged", "",
              "| dataset | examples | " + " | ".join(detectors.CUTS) + " |",
              "|---" * (len(detectors.CUTS) + 2) + "|"]
    for d, r in clean.items():
      n = next(iter(r.values()))["examples"]
      lines.append(f"| {d} | {n} | " + " | ".join(
          str(r.get(k, {}).get("flagged", "—")) for k in detectors.CUTS) + " |")
  if cleaning:
    cols = sorted({k for r in cleaning.values() for k in r if k not in ("metric", "detector")},
                  key=lambda k: (k != "unfiltered", k))
    lines += ["", "### Cleaning: retrained dev score ×100 (mean ± std over retrain seeds)",
              "", "| dataset, noise | metric | " + " | ".join(cols) + " |",
              "|---" * (len(cols) + 2) + "|"]
    for g, r in cleaning.items():
      cells_ = []
      for k in cols:
        v = r.get(k)
        cells_.append("—" if v is None or v[0] is None else (
            f"{100 * v[0]:.2f}" + ("" if v[1] is None else f" ± {100 * v[1]:.2f}")))
      lines.append(f"| {g} | {r['metric']} | " + " | ".join(cells_) + " |")
  lines += test_lines(grid, tested or {})
  return "\n".join(lines) + "\n"


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  grid = load_grid(args.grid)
  out = os.path.abspath(args.out)
  os.makedirs(os.path.join(out, "cells"), exist_ok=True)
  num_classes = {"sst2": 2, "cola": 2, "trec": 6, "semeval": 19}
  cell_list = cells(grid, num_classes)
  cell_dir = lambda name: os.path.join(out, "cells", name)
  first = [c for c in cell_list if c[4] == grid.noise_seeds[0] and c[3] > 0]
  rest = [c for c in cell_list if c not in first]
  jobs = [(name, None, job_command(grid, d, kind, rate, seed, cell_dir(name)))
          for name, d, kind, rate, seed in first]
  # The cleaning comparison (after the first seed's cells, whose AUM runs it
  # reuses): retrains added.
  jobs += clean_jobs(grid, out, cell_dir)
  jobs += [(name, None, job_command(grid, d, kind, rate, seed, cell_dir(name)))
           for name, d, kind, rate, seed in rest]
  jobs = select(jobs, args.only, args.skip)
  t0 = time.perf_counter()
  prog = progress.Progress(len(jobs), unit="jobs")
  for i, (name, source, cmd) in enumerate(jobs, 1):
    wd = cmd[4].split("=", 1)[1]
    if os.path.exists(os.path.join(wd, "summary.json")) and not args.rescore:
      print(f"[{i}/{len(jobs)}] {name}: reused", flush=True)
      continue
    if os.path.exists(os.path.join(wd, "summary.json")):  # --rescore: the trainings stay,
      cmd = cmd + ["--config.overwrite_config=True"]     # the detector config may be new.
    os.makedirs(wd, exist_ok=True)
    if source:  # A cleaning job: the detection cell's trainings serve it.
      reuse_trainings(source, wd)
    run_job(cmd, os.path.join(wd, "job.log"))
    print(f"[{i}/{len(jobs)}] {name}: done | {prog.line(i)[0]}", flush=True)
  agg, clean = aggregate(grid, cell_list, out)
  checks = goal_checks(agg, grid.candidate)
  cleaning, tested = clean_table(grid, out), test_table(grid, out)
  text = markdown(grid, agg, clean, checks, cleaning, time.perf_counter() - t0, args.grid,
                  tested)
  written = [output.write(os.path.join(out, "detectors.md"), text),
             output.write(os.path.join(out, "summary.json"),
                          {"groups": agg, "clean": clean, "checks": checks, "cleaning": cleaning,
                           "cleaning_test": tested, "ranking": ranking(agg),
                           "grid": grid.to_dict()})]
  print(text)
  if args.write_docs:
    written.append(output.replace_between(DOCS, BEGIN, END, text))
  output.done(*written)


if __name__ == "__main__":
  cli.run(main)
