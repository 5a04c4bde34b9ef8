r"""The repair benchmark: every repair method and its peers, on the same detection.

  python -m bench.research.repair --grid=configs/repair.py --out=runs/bench/repair
  python -m bench.research.repair --grid=configs/repair.py:cpu --out=runs/bench/repair_cpu \
      --write_docs   # docs/repair.md's tables (2-core CPU scale)

Each cell of the grid (configs/repair.py) is one AUM job, run as a user runs
it (`python -m noisy_meta.main --config=configs/aum_<dataset>.py:...`), in
`<out>/cells/<cell>`: detection, then retrains with every `clean.methods`
entry of the grid and the same retrain seeds, unfiltered retrains (no
repair) and, with noise injected, retrains on the clean labels (the
ceiling). A finished cell is reused, an interrupted one resumes;
`--only`/`--skip` split the grid over processes sharing --out;
`--cells_from=DIR` copies a detector-benchmark cell's finished AUM runs and
folds (same data, noise and recipe) into a new cell.

Per cell: the clean ceiling, plain training (last epoch, and best dev epoch:
early stopping), each repair and peer, mean ± std over retrain seeds, and
the share of the lost score won back, (repaired − noisy) / (clean − noisy).
Text cells are scored on dev (TREC: its test questions), relation cells on
test (the official scorer, best-dev epoch); no method has a setting chosen
on the scored split. Writes `<out>/repair.md` and `<out>/summary.json`
(and with --write_docs the generated part of docs/repair.md). Last line:
where the results are.
"""
import json
import os
import sys
import time

from absl import flags
import numpy as np

import bench
from bench import cli
from bench import output
from bench.research import detectors as det_bench
from configs import aum as aum_config
from noisy_meta import repair_lib
from noisy_meta.core import progress

ROOT = str(bench.ROOT)
DOCS = os.path.join(ROOT, "docs", "repair.md")
BEGIN, END = "<!-- bench/research/repair.py: begin -->", "<!-- bench/research/repair.py: end -->"


def define_flags(fv):
  flags.DEFINE_string("grid", "configs/repair.py", "The grid: a config file[:args].",
                      flag_values=fv)
  flags.DEFINE_string("out", "runs/bench/repair", "Cells and results go here.", flag_values=fv)
  flags.DEFINE_string("cells_from", "", "A detector benchmark's --out: reuse its cells' "
                      "trainings.", flag_values=fv)
  flags.DEFINE_bool("write_docs", False, "Rewrite docs/repair.md's tables.", flag_values=fv)
  flags.DEFINE_list("only", [], "Run only cells whose name contains one of these.",
                    flag_values=fv)
  flags.DEFINE_list("skip", [], "Skip cells whose name contains one of these.", flag_values=fv)


def methods_of(grid, name):
  """The retrains of a cell: the grid's methods where noise was injected;
  on an original (rate 0) the AUM job's default repair, whose cost there is
  the question (aum.get_config's clean.methods)."""
  if grid.specs[name][2] == 0:
    return tuple(aum_config.get_config().clean.methods)
  return tuple(grid.methods)


def finished(grid, workdir, methods=()):
  """Whether a cell's job has finished every retrain seed of the grid and
  every one of `methods` (a cell from a run with fewer seeds or methods is
  rerun: the job resumes, adding only the missing retrains)."""
  path = os.path.join(workdir, "summary.json")
  if not os.path.exists(path):
    return False
  with open(path) as f:
    s = json.load(f)
  done = s.get("detectors", {}).get("cleaning", {})
  return set(grid.seeds) <= set(s.get("seeds", ())) and all(m in done for m in methods)


def job_command(grid, name, workdir):
  """The AUM job of one cell, with every repair of the grid."""
  spec = grid.specs[name]
  dataset, kind, rate, size = spec[:4]
  model = spec[4] if len(spec) > 4 else ""
  arg = (f"train_size={size},noise={rate},noise_kind={kind},noise_seed={grid.noise_seed},"
         f"seeds={len(grid.seeds)},folds={grid.folds}")
  if model:  # Relation cells: the learner's own recipe.
    arg += f",model={model}"
  else:
    arg += f",epochs={grid.epochs},batch_size={grid.batch_size},lr={grid.lr}"
  quoted = "".join(f"{m!r}," for m in methods_of(grid, name))
  return [sys.executable, "-m", "noisy_meta.main", f"--config=configs/aum_{dataset}.py:{arg}",
          f"--workdir={workdir}", f"--config.clean.methods=({quoted})",
          "--config.clean.percentiles=()", "--config.aum.percentiles=(99,)"]


def _stat(values):
  v = np.asarray([x for x in values if x is not None], np.float64)
  if not len(v):
    return None
  return [float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else None, len(v)]


def cell_row(workdir):
  """{column: [mean, std, n]} of one finished cell, its metric and what was won back."""
  with open(os.path.join(workdir, "summary.json")) as f:
    s = json.load(f)
  runs = s["runs"]
  metric = "test_f1" if any("test_f1" in r for r in runs.values() if r.get("finished")) \
      else s["metric"]
  seeds = s["seeds"]
  pick = lambda prefix: _stat([runs.get(f"clean/{prefix}_s{k}", {}).get(metric)
                               for k in seeds])
  chosen = s["detectors"]["chosen"]
  stage = lambda entry, k: runs.get(f"clean/{repair_lib.stage_name(entry, chosen, k)}", {})
  row = {"clean": pick("original"), "none": pick("none")}
  # Early stopping: the best dev epoch of the unfiltered runs (text; relation
  # runs are already scored at their best dev epoch).
  best = []
  for k in seeds:
    path = os.path.join(workdir, "clean", f"none_s{k}", "metrics.json")
    if os.path.exists(path) and metric != "test_f1":
      with open(path) as f:
        hist = json.load(f).get("dev_history", [])
      best.append(max((h[metric] for h in hist), default=None))
  row["none_best_epoch"] = _stat(best) if best else row["none"]
  for entry in s["detectors"]["cleaning"]:  # The folders the job named (repair_lib).
    row[entry] = _stat([stage(entry, k).get(metric) for k in seeds])
  won = {}
  if row["clean"] and row["none"] and row["clean"][0] > row["none"][0]:
    gap = row["clean"][0] - row["none"][0]
    won = {k: (v[0] - row["none"][0]) / gap for k, v in row.items()
           if v and k not in ("clean", "none")}
  collapsed = s.get("collapsed_runs", [])
  return {"metric": metric, "cols": row, "won": won, "collapsed": collapsed,
          "noisy": s.get("noisy"), "examples": s["examples"],
          "detection": s["detectors"]["table"].get(chosen, {}), "chosen": chosen,
          "changed": s["detectors"].get("changed", {})}


def pct(v):
  if v is None:
    return "—"
  return f"{100 * v[0]:.2f}" + ("" if v[1] is None else f" ± {100 * v[1]:.2f}")


def choose_default(rows, methods, peers):
  """The repair with the highest mean share won back over the noisy cells,
  and its margin over the best peer in mean score points."""
  noisy = {c: r for c, r in rows.items() if r["won"]}
  if not noisy:
    return None, {}
  mean_won = {m: float(np.mean([r["won"].get(m, np.nan) for r in noisy.values()]))
              for m in methods}
  ours = [m for m in methods if m not in peers and np.isfinite(mean_won[m])
          and not m.endswith(":" + repair_lib.ORACLE)]  # A reference, never a choice.
  if not ours:
    return None, mean_won
  return max(ours, key=lambda m: mean_won[m]), mean_won


def originals_lines(grid, rows):
  """What the default repair does where nothing was injected: its score
  against no repair, and whether it stays within one std of it."""
  cells = [c for c in rows if grid.specs.get(c, [0, 0, 1])[2] == 0]
  if not cells:
    return []
  methods = aum_config.get_config().clean.methods
  cols = ["none"] + list(methods)
  lines = ["", "### On the originals (nothing injected): the default repair "
           f"({', '.join(methods)}) against no repair", "",
           "| cell | metric | " + " | ".join(cols) + " | rows changed |",
           "|---" * (len(cols) + 3) + "|"]
  verdicts = []
  for c in cells:
    r = rows[c]
    changed = "; ".join(
        f"{m}: " + ", ".join(f"{v[k]} {k.replace('_', ' ')}" for k in
                             ("dropped", "relabelled", "down_weighted") if v.get(k))
        for m, v in r["changed"].items() if m in methods) or "—"
    lines.append(f"| {c} | {r['metric']} | "
                 + " | ".join(pct(r["cols"].get(k)) for k in cols) + f" | {changed} |")
    none = r["cols"].get("none")
    for m in methods:
      v = r["cols"].get(m)
      if not (none and v):
        continue
      if none[1] is None:
        verdicts.append(f"- {c}: {m} {100 * (v[0] - none[0]):+.2f} points against no "
                        "repair (one seed: no std to judge by).")
        continue
      ok = v[0] >= none[0] - none[1]
      verdicts.append(f"- {c}: {m} {100 * (v[0] - none[0]):+.2f} points against no repair, "
                      f"whose std is {100 * none[1]:.2f}: "
                      f"{'met' if ok else '**not met**'} (no lower than one std).")
  return lines + [""] + verdicts


def markdown(grid, rows, seconds, spec):
  cols = ["clean", "none", "none_best_epoch"] + list(grid.methods)
  lines = [output.stamp("jax"), "",
           f"This run {seconds / 60:.0f} min, finished cells reused. Grid `{spec}`: retrain "
           f"seeds {list(grid.seeds)}, noise seed {grid.noise_seed}, text cells {grid.epochs} "
           f"epochs, batch {grid.batch_size}, lr {grid.lr}; detection with {grid.folds} "
           "folds. Scores ×100, mean ± sample std over retrain seeds: text on dev (TREC: its "
           "test questions), relations official test F1.", "",
           "| cell | metric | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
  for c, r in rows.items():
    lines.append(f"| {c} | {r['metric']} | " + " | ".join(pct(r['cols'].get(k)) for k in cols)
                 + " |")
  lines += ["", "### Share of the lost score won back, (repaired − noisy) / (clean − noisy)",
            "", "| cell | " + " | ".join(cols[2:]) + " |", "|---" * (len(cols) - 1) + "|"]
  for c, r in rows.items():
    if r["won"]:
      lines.append(f"| {c} | " + " | ".join(
          f"{r['won'][k]:.2f}" if k in r["won"] else "—" for k in cols[2:]) + " |")
  best, mean_won = choose_default(rows, list(grid.methods), set(grid.peers))
  if mean_won:
    lines += ["", "Mean share won back over the noisy cells: " + ", ".join(
        f"{m} {v:.2f}" for m, v in sorted(mean_won.items(), key=lambda kv: -kv[1])
        if np.isfinite(v)) + "."]
  if best:
    lines.append(f"Best repair by that mean: **{best}**.")
    noisy = [r for r in rows.values() if r["won"]]
    peer_pts = {p: np.mean([r["cols"][p][0] for r in noisy if r["cols"].get(p)])
                for p in grid.peers}
    ours = np.mean([r["cols"][best][0] for r in noisy if r["cols"].get(best)])
    top = max(peer_pts, key=peer_pts.get)
    gain = 100 * (ours - peer_pts[top])
    lines.append(f"- {best} vs the best peer ({top}) on average over the noisy cells: "
                 f"{gain:+.2f} points: {'met' if gain >= 1 else '**not met**'} (>= +1).")
    for c, r in rows.items():
      if best in r["won"]:
        goal = 0.5 if "_20_" in c else 1 / 3
        lines.append(f"- {c}: {best} wins back {r['won'][best]:.2f}: "
                     f"{'met' if r['won'][best] >= goal - 1e-9 else '**not met**'} (>= {goal:.2f}).")
  lines += originals_lines(grid, rows)
  for c, r in rows.items():
    if r["collapsed"]:
      lines.append(f"- {c}: collapsed retrains (in the means above): {', '.join(r['collapsed'])}.")
  return "\n".join(lines) + "\n"


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  grid = det_bench.load_grid(args.grid)
  out = os.path.abspath(args.out)
  names = [c for c in grid.cells if (not args.only or any(o in c for o in args.only))
           and not any(s in c for s in args.skip)]
  t0 = time.perf_counter()
  prog = progress.Progress(len(names), unit="cells")
  for i, name in enumerate(names, 1):
    wd = os.path.join(out, "cells", name)
    if finished(grid, wd, methods_of(grid, name)):
      print(f"[{i}/{len(names)}] {name}: reused", flush=True)
      continue
    os.makedirs(wd, exist_ok=True)
    if args.cells_from:
      det_bench.reuse_trainings(os.path.join(args.cells_from, "cells", name), wd)
    det_bench.run_job(job_command(grid, name, wd), os.path.join(wd, "job.log"))
    print(f"[{i}/{len(names)}] {name}: done | {prog.line(i)[0]}", flush=True)
  rows = {c: cell_row(os.path.join(out, "cells", c)) for c in grid.cells
          if os.path.exists(os.path.join(out, "cells", c, "summary.json"))}
  text = markdown(grid, rows, time.perf_counter() - t0, args.grid)
  written = [output.write(os.path.join(out, "repair.md"), text),
             output.write(os.path.join(out, "summary.json"),
                          {"rows": rows, "grid": grid.to_dict()})]
  print(text)
  if args.write_docs:
    written.append(output.replace_between(DOCS, BEGIN, END, text))
  output.done(*written)


if __name__ == "__main__":
  cli.run(main)
