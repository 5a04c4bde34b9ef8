r"""Our Flax fine-tuning vs the PyTorch + transformers reference, several seeds.

Runs `python -m noisy_meta.main` and `python -m bench.parity.torch_finetune` on the same
config for each seed (one after the other, so each has the whole machine),
then prints dev metrics as mean ± std and the mean wall times. Finished runs
are reused, so the command resumes where it stopped.

  python -m bench.parity.finetune_vs_torch --config=configs/finetune_cola.py --seeds=0,1,2
  python -m bench.parity.finetune_vs_torch --config=configs/finetune_sst2.py:train_size=5000 --seeds=0,1,2

Writes <out>/summary.md and <out>/summary.json (default out: runs/bench/<name>).
"""
import json
import os
import subprocess
import sys

from absl import flags
import numpy as np

import bench
from bench import cli
from bench import output


def _run(cmd, log):
  print("+", " ".join(cmd), flush=True)
  with open(log, "w") as f:
    r = subprocess.run(cmd, cwd=bench.ROOT, stdout=f, stderr=subprocess.STDOUT)
  if r.returncode:
    sys.exit(f"failed ({r.returncode}): see {log}")


def define_flags(fv):
  flags.DEFINE_string("config", None, "A fine-tuning config file[:arg] (each seed is "
                      "appended to its arg).", flag_values=fv)
  flags.DEFINE_string("seeds", "0,1,2", "Seeds, comma-separated.", flag_values=fv)
  flags.DEFINE_string("out", "", "Runs and summaries (default: runs/bench/<config name>).",
                      flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("config",))
  name = os.path.basename(args.config).replace(".py", "").replace(":", "_").replace(",", "_").replace("=", "")
  out = args.out or os.path.join(bench.ROOT, "runs", "bench", name)
  os.makedirs(out, exist_ok=True)
  sep = "," if ":" in args.config else ":"
  rows = {"flax": [], "torch": []}
  for seed in [int(s) for s in args.seeds.split(",")]:
    config = f"{args.config}{sep}seed={seed}"
    wd = os.path.join(out, f"flax_s{seed}")
    if not os.path.exists(os.path.join(wd, "metrics.json")):
      _run([sys.executable, "-m", "noisy_meta.main", f"--config={config}",
            f"--workdir={wd}"], wd + ".log")
    rows["flax"].append(json.load(open(os.path.join(wd, "metrics.json"))))
    tj = os.path.join(out, f"torch_s{seed}.json")
    if not os.path.exists(tj):
      _run([sys.executable, "-m", "bench.parity.torch_finetune", f"--config={config}",
            f"--out={tj}"], tj.replace(".json", ".log"))
    rows["torch"].append(json.load(open(tj)))

  def stat(fw, key):
    v = np.array([r["dev"][key] for r in rows[fw]])
    return f"{100 * v.mean():.2f} ± {100 * v.std(ddof=1) if len(v) > 1 else 0:.2f}"

  t = {fw: np.mean([r["train_seconds"] for r in rows[fw]]) for fw in rows}
  n = rows["flax"][0]
  lines = [
      f"# {args.config}: Flax (ours) vs PyTorch reference",
      "", output.stamp("jax", "torch"), "",
      f"Seeds {args.seeds}; {n['train_examples']} train / {n['dev_examples']} dev "
      f"examples; {n['steps']} steps.",
      "",
      "| implementation | dev accuracy (%) | dev MCC (×100) | train wall time (s) |",
      "|---|---|---|---|",
  ]
  for fw, label in (("flax", "noisy_meta (JAX/Flax)"), ("torch", "PyTorch + transformers")):
    lines.append(f"| {label} | {stat(fw, 'accuracy')} | {stat(fw, 'mcc')} | {t[fw]:.0f} |")
  lines += ["", "Wall times are indicative only (ours includes jit compilation of each "
            "bucket shape; runs share the machine with whatever else ran then): "
            "bench.speed.step_speed measures speed."]
  text = "\n".join(lines) + "\n"
  print(text)
  output.done(output.write(os.path.join(out, "summary.md"), text),
              output.write(os.path.join(out, "summary.json"), rows))


if __name__ == "__main__":
  cli.run(main)
