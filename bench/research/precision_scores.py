r"""Do results move under bfloat16 mixed precision (model.dtype)?

Two measurements, float32 against bfloat16, the same recipe otherwise:
1. dev scores of plain fine-tuning on SST-2 and CoLA (the detector
   benchmark's CPU recipe: 1000 examples, 3 epochs, batch 16, lr 1e-4),
   several seeds;
2. detection: the repair benchmark's 1000-example cells (configs/repair.py,
   20 % uniform noise) run with clean.methods=() (the two AUM runs and the
   fold models only), every detector's AUROC; a float32 cell already run by
   bench/research/repair.py (--reuse_fp32) is read instead of rerun.

Each run is a `python -m noisy_meta.main` job in its own folder; finished
jobs are reused, so the command resumes.

  python -m bench.research.precision_scores --out=runs/bench/precision \
      [--seeds=0,1,2] [--reuse_fp32=runs/bench/repair_cpu/cells]
"""
import json
import os
import sys

from absl import flags
import numpy as np

from bench import cli
from bench import output
from bench.research import detectors as det_bench
from bench.research import repair as repair_bench

DTYPES = ("float32", "bfloat16")
RECIPE = "train_size=1000,epochs=3,batch_size=16,lr=0.0001"
DETECTORS = ("aum", "cleanlab", "probe", "knn", "simifeat", "ensemble")


def define_flags(fv):
  flags.DEFINE_string("table", "", "Also write the markdown table to this file "
                      "(bench/tools/run_all passes it).", flag_values=fv)
  flags.DEFINE_string("out", "runs/bench/precision", "Where the jobs and the table go.",
                      flag_values=fv)
  flags.DEFINE_list("seeds", ["0", "1", "2"], "Fine-tuning seeds.", flag_values=fv)
  flags.DEFINE_list("tasks", ["sst2", "cola"], "Fine-tuning datasets.", flag_values=fv)
  flags.DEFINE_list("cells", ["sst2_uniform_20_n1000", "trec_uniform_20_n1000"],
                    "Detection cells of configs/repair.py (empty: none).", flag_values=fv)
  flags.DEFINE_string("reuse_fp32", "", "A folder of finished float32 repair-bench cells "
                      "(their detection is the float32 side).", flag_values=fv)


def _job(cmd, wd):
  done = os.path.join(wd, "summary.json" if "aum_" in " ".join(cmd) else "metrics.json")
  if not os.path.exists(done):
    os.makedirs(wd, exist_ok=True)
    det_bench.run_job(cmd, os.path.join(wd, "job.log"))
  with open(done) as f:
    return json.load(f)


def finetune_cmd(task, seed, dtype, wd):
  return [sys.executable, "-m", "noisy_meta.main",
          f"--config=configs/finetune_{task}.py:{RECIPE},seed={seed}", f"--workdir={wd}",
          f"--config.model.dtype={dtype}"]


def detection_cmd(grid, cell, dtype, wd):
  """The repair bench's job for `cell`, detection only, in `dtype`."""
  cmd = [a for a in repair_bench.job_command(grid, cell, wd)
         if not a.startswith("--config.clean.methods=")]
  return cmd + ["--config.clean.methods=()", "--config.clean.seeds=()",
                f"--config.model.dtype={dtype}"]


def _stat(v):
  v = np.asarray(v, np.float64)
  return f"{100 * v.mean():.2f} ± {100 * v.std(ddof=1):.2f}" if len(v) > 1 else f"{100 * v[0]:.2f}"


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  out = os.path.abspath(args.out)
  lines = ["# float32 vs bfloat16 mixed precision: do results move?", "",
           output.stamp("jax"), ""]
  if args.tasks:
    lines += [f"Plain fine-tuning of MiniLM ({RECIPE}), dev score ×100, mean ± sample std "
              f"over seeds {', '.join(args.seeds)}.", "",
              "| dataset | metric | float32 | bfloat16 | difference | within one std |",
              "|---|---|---|---|---|---|"]
    for task in args.tasks:
      scores, metric = {}, "mcc" if task == "cola" else "accuracy"
      for dtype in DTYPES:
        scores[dtype] = []
        for seed in args.seeds:
          wd = os.path.join(out, "finetune", f"{task}_{dtype}_s{seed}")
          m = _job(finetune_cmd(task, seed, dtype, wd), wd)
          scores[dtype].append(m["dev"][metric])
          print(f"{task} {dtype} seed {seed}: {metric} {m['dev'][metric]:.4f}", flush=True)
      a, b = (np.asarray(scores[d]) for d in DTYPES)
      diff = 100 * (b.mean() - a.mean())
      std = 100 * a.std(ddof=1) if len(a) > 1 else float("nan")
      lines.append(f"| {task} | {metric} | {_stat(a)} | {_stat(b)} | {diff:+.2f} | "
                   f"{'yes' if abs(diff) <= std else 'no'} |")
  if args.cells:
    grid = det_bench.load_grid("configs/repair.py:cpu,seeds=1")
    lines += ["", "Detection on the repair benchmark's cells (20 % uniform noise, 1000 "
              "examples, the same detection recipe): AUROC of each detector.", "",
              "| cell | dtype | " + " | ".join(DETECTORS) + " |",
              "|---" * (len(DETECTORS) + 2) + "|"]
    for cell in args.cells:
      for dtype in DTYPES:
        wd = os.path.join(out, "detect", f"{cell}_{dtype}")
        if dtype == "float32" and args.reuse_fp32:
          wd = os.path.join(args.reuse_fp32, cell)
          with open(os.path.join(wd, "summary.json")) as f:
            s = json.load(f)
        else:
          s = _job(detection_cmd(grid, cell, dtype, wd), wd)
        table = s["detectors"]["table"]
        lines.append(f"| {cell} | {dtype} | " + " | ".join(
            f"{table[d]['auroc']:.3f}" if d in table and "auroc" in table[d] else "—"
            for d in DETECTORS) + " |")
        print(lines[-1], flush=True)
  text = "\n".join(lines) + "\n"
  print(text)
  written = [output.write(os.path.join(out, "precision.md"), text)]
  if args.table:
    written.append(output.write(args.table, text))
  output.done(*written)


if __name__ == "__main__":
  cli.run(main)
