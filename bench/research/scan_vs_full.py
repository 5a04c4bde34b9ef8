r"""The fast scan against the full AUM job, on the detector benchmark's cells.

  python -m bench.research.scan_vs_full --out=runs/bench/scan_vs_full
  python -m bench.research.scan_vs_full --grid=configs/detectors.py:cpu,noise_seeds=1 --out=/tmp/svf

Each noisy cell of the grid (configs/detectors.py:cpu by default: SST-2,
CoLA, TREC at 1000 rows, uniform and class-conditional 20 / 40 %, noise
seeds 100-102) is one scan job (`python -m noisy_meta.main
--config=configs/scan_<dataset>.py:train_size=...,noise=...`) in
`<out>/cells/<cell>`, the same training subset and injected labels as the
full job's cell; a finished cell is reused. The full job's numbers (its
ensemble, probe and AUM, seconds with two jobs sharing the CPU) are read
from docs/detectors.md's tables, where bench/research/detectors.py wrote
them. Also: rank averages of other sets of the scan's detectors, from each
cell's examples.csv (which ensemble the scan should default to).

Writes `<out>/scan_vs_full.md` and `<out>/summary.json`; last line: where.
"""
import csv
import itertools
import os
import re
import sys

from absl import flags
import numpy as np

from bench import cli
from bench import output
from bench.research import detectors as bench_detectors
from noisy_meta import aum_lib
from noisy_meta import detectors
from noisy_meta.core import progress

SCAN = ("ensemble", "probe", "knn", "simifeat", "prior")  # The scan's detectors, as listed.
FULL = ("ensemble", "probe", "aum", "cleanlab")  # The full job's rows quoted from the docs.
PHASES = ("load", "encoding", "scoring", "total")  # detector_seconds.json's non-detectors.


def define_flags(fv):
  flags.DEFINE_string("grid", "configs/detectors.py:cpu", "The detector benchmark's grid.",
                      flag_values=fv)
  flags.DEFINE_string("out", None, "Folder for the cells and the table.", flag_values=fv)
  flags.DEFINE_string("full", bench_detectors.DOCS, "The full job's tables (markdown).",
                      flag_values=fv)


def scan_command(grid, dataset, kind, rate, seed, workdir):
  """The scan job of one cell: the full job's subset and noise (job_command's)."""
  arg = (f"train_size={grid.sizes[dataset]},noise={rate},noise_kind={kind},"
         f"noise_seed={seed}")
  return [sys.executable, "-m", "noisy_meta.main", f"--config=configs/scan_{dataset}.py:{arg}",
          f"--workdir={workdir}"]


def full_tables(path):
  """{group: {detector: (AUROC cell, AP cell, seconds cell)}} of the markdown
  tables under `### <dataset> <kind> <rate>` headings."""
  out, group = {}, None
  with open(path, encoding="utf-8") as f:
    for line in f:
      m = re.match(r"### (\w+ \w+ [0-9.]+)\s*$", line)
      if m:
        group = m.group(1)
        continue
      if line.startswith("#"):
        group = None
      cells = [c.strip() for c in line.strip().strip("|").split("|")]
      if group and line.startswith("| ") and len(cells) == 7 and cells[0] in FULL:
        out.setdefault(group, {})[cells[0]] = (cells[1], cells[2], cells[6])
  return out


def variants(cell_dirs):
  """{detector set: [AUROC, AP] means over cells} of rank averages of the
  scan's scores (examples.csv), every non-empty set of probe, knn, simifeat."""
  found = {}
  for path in cell_dirs:
    with open(os.path.join(path, "examples.csv"), newline="", encoding="utf-8") as f:
      rows = list(csv.DictReader(f))
    noisy = np.array([r["noisy"] == "1" for r in rows])
    score = {d: np.array([float(r[f"score_{d}"]) for r in rows])
             for d in ("probe", "knn", "simifeat")}
    for k in (1, 2, 3):
      for parts in itertools.combinations(score, k):
        s = detectors.rank_average({p: score[p] for p in parts})
        found.setdefault("+".join(parts), []).append(
            (aum_lib.auroc(s, noisy), aum_lib.average_precision(s, noisy)))
  return {k: np.mean(v, axis=0).tolist() for k, v in found.items()}


def markdown(grid, agg, full, best, spec):
  """The tables: per group the scan's detectors and the full job's rows."""
  fmt = bench_detectors.fmt
  lines = ["# The fast scan against the full AUM job", "", output.stamp("jax", "numpy"), "",
           f"Grid `{spec}`: the full job's cells (bench/research/detectors.py), scanned; "
           f"noise seeds {list(grid.noise_seeds)}; mean ± sample std over seeds. Seconds: "
           "the scan's whole job in its cell (reading, encoding, every detector, reports); "
           "the full job's from docs/detectors.md (its detector's inputs: AUM runs, folds, "
           "encoder; two jobs shared the CPU there).", "",
           "## Over every noisy cell", "",
           "| detector | mean AUROC | mean AP | groups |", "|---|---|---|---|"]
  for name in SCAN:
    v = [agg[g][name] for g in agg if name in agg[g] and agg[g][name].get("auroc")]
    if v:
      lines.append(f"| scan {name} | {np.mean([x['auroc'][0] for x in v]):.3f} | "
                   f"{np.mean([x['ap'][0] for x in v]):.3f} | {len(v)} |")
  for name in FULL:
    v = [full[g][name] for g in agg if name in full.get(g, {})]
    if v:
      num = lambda cell: float(cell.split()[0])
      lines.append(f"| full job {name} | {np.mean([num(x[0]) for x in v]):.3f} | "
                   f"{np.mean([num(x[1]) for x in v]):.3f} | {len(v)} |")
  for part, found in best.items():
    if found:
      lines += ["", f"Rank averages of the scan's scores, {part.replace('_', '-')} cells "
                "(mean over cells): " + "; ".join(
                    f"{k} AUROC {a:.3f}, AP {p:.3f}"
                    for k, (a, p) in sorted(found.items(), key=lambda kv: -kv[1][0])) + "."]
  for g, dets in agg.items():
    lines += ["", f"## {g}", "",
              "| detector | AUROC | AP | F1, automatic cut | best F1 | flagged | seconds |",
              "|---|---|---|---|---|---|---|"]
    total = fmt(dets.get("total", {}).get("seconds"), 0)
    for name in SCAN:
      if name in dets:
        r = dets[name]
        lines.append(f"| scan {name} | {fmt(r.get('auroc'))} | {fmt(r.get('ap'))} | "
                     f"{fmt(r.get('auto_f1'))} | {fmt(r.get('best_f1'))} | "
                     f"{fmt(r.get('flagged'), 0)} | {total} |")
    for name in FULL:
      if name in full.get(g, {}):
        auroc, ap, sec = full[g][name]
        lines.append(f"| full job {name} | {auroc} | {ap} | | | | {sec} |")
  return "\n".join(lines) + "\n"


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("out",))
  grid = bench_detectors.load_grid(args.grid)
  out = os.path.abspath(args.out)
  num_classes = {"sst2": 2, "cola": 2, "trec": 6}
  cell_list = [c for c in bench_detectors.cells(grid, num_classes) if c[3] > 0]
  cell_dir = lambda name: os.path.join(out, "cells", name)
  prog = progress.Progress(len(cell_list), unit="cells")
  for i, (name, d, kind, rate, seed) in enumerate(cell_list, 1):
    wd = cell_dir(name)
    if os.path.exists(os.path.join(wd, "summary.json")):
      print(f"[{i}/{len(cell_list)}] {name}: reused", flush=True)
      continue
    os.makedirs(wd, exist_ok=True)
    bench_detectors.run_job(scan_command(grid, d, kind, rate, seed, wd),
                            os.path.join(wd, "job.log"))
    print(f"[{i}/{len(cell_list)}] {name}: done | {prog.line(i)[0]}", flush=True)
  agg, _ = bench_detectors.aggregate(grid, cell_list, out)
  full = full_tables(args.full)
  first = grid.noise_seeds[0]  # Development cells; the other seeds: held-out draws.
  best = {"development": variants([cell_dir(c[0]) for c in cell_list if c[4] == first]),
          "held_out": variants([cell_dir(c[0]) for c in cell_list if c[4] != first])}
  text = markdown(grid, agg, full, best, args.grid)
  written = [output.write(os.path.join(out, "scan_vs_full.md"), text),
             output.write(os.path.join(out, "summary.json"),
                          {"groups": agg, "full": full, "variants": best})]
  print(text)
  output.done(*written)


if __name__ == "__main__":
  cli.run(main)
