r"""Every side-by-side speed bench in one command; rewrites docs/benchmarks.md.

Runs, one after another (never two at once: they would share the cores),
each bench as its own process (`python -m bench.speed.<name> --out=<file>`),
collects the markdown each writes, and writes docs/benchmarks.md with the
machine, the versions and the date on top. Each bench times ours and the
PyTorch reference alternately in one process and reports medians of its
rounds; nothing here is a timed assertion.

  python -m bench.tools.run_all [--only=step,aum,relation,mlrc,lstm,parity,precision,encoders,profile] \
      [--out=docs/benchmarks.md] [--quick]

--quick: fewer rounds and steps (a smoke run, not figures to publish).
Where the GPU machine of the device tool is lent, run it there with
--out=<another file>: the page's numbers are per machine.
"""
import datetime
import os
import subprocess
import sys
import tempfile
import time

from absl import flags

import bench
from bench import cli
from bench import output

# (key, title, command (after python), what it measures, full/quick extra args).
BENCHES = [
    ("step", "Transformer train step (MiniLM, batch 32), float32 and bfloat16",
     ["-m", "bench.speed.step_speed"],
     "Our jitted Flax step in float32 and in bfloat16 mixed precision (model.dtype) vs "
     "PyTorch + transformers in float32 and under bfloat16 autocast, same model, AdamW + "
     "clipping, dropout on; steady state, compilation excluded; medians of alternating rounds.",
     ["--lengths=16,32,64", "--steps=20", "--rounds=3"],
     ["--steps=3", "--rounds=1", "--lengths=16"]),
    ("aum", "AUM run end to end, and the bookkeeping's cost (SST-2, 2000 examples, 1 epoch)",
     ["-m", "bench.speed.aum_speed", "--config=configs/aum_sst2.py:train_size=2000,epochs=1"],
     "One AUM training run (c + 1 classes, margins and data-map statistics in the step, "
     "dev each epoch, compilation included) vs PyTorch + transformers + `aum.AUMCalculator`, "
     "padded to the maximum length as usually done and on our length buckets.",
     [], ["--config=configs/aum_sst2.py:train_size=200,epochs=1", "--steps=3",
          "--rounds=2"]),
    ("relation", "PA-LSTM train step (batch 50)",
     ["-m", "bench.speed.relation_speed"],
     "Our jitted step vs the original implementation's way (nn.LSTM over packed "
     "sequences, SGD with clipping), same batches.",
     [], ["--steps=3", "--rounds=1"]),
    ("mlrc", "MLRC meta-iteration (Reptile, PA-LSTM, B 8, S 3, K 10, SemEval at 1 %)",
     ["-m", "bench.speed.mlrc_speed"],
     "One meta-iteration, the trainer's task sizing: vmapped, lax.map-ed and looped tasks "
     "vs the PyTorch Reptile loop (real rows only, each batch cut to its longest sentence).",
     [], ["--rounds=1", "--iters=1"]),
    ("lstm", "LSTM scan variants (what the meta-iteration's inner loop could change)",
     ["-m", "bench.speed.lstm_scan_variants"],
     "Skipping all-padding time steps with lax.cond, unrolling the scan, remat of the cell.",
     [], ["--variant=0,1,0", "--variant=1,1,0"]),
    ("parity", "Encoder parity with transformers (every registered architecture)",
     ["-m", "bench.parity.encoder_parity"],
     "Not a speed: tiny random models of each architecture, our hidden states, gradients "
     "and bfloat16 hidden states against PyTorch's float32.",
     [], ["--only=bert,roberta"]),
    ("precision", "float32 vs bfloat16: do results move? (dev scores, detection)",
     ["-m", "bench.research.precision_scores", "--out=runs/bench/precision",
      "--reuse_fp32=runs/bench/repair_cpu/cells"],
     "Not a speed: plain fine-tuning dev scores over seeds and the detectors' AUROC on the "
     "repair benchmark's cells, model.dtype float32 against bfloat16 (jobs resume).",
     [], ["--out=runs/bench/precision_quick", "--tasks=sst2", "--seeds=0", "--cells="]),
    ("encoders", "How much of detection's ceiling is the encoder (MiniLM vs MPNet, frozen)",
     ["-m", "bench.research.encoder_ceiling", "--out=runs/bench/encoder_ceiling"],
     "Not a speed: the scan's frozen-encoder detectors on the detector benchmark's SST-2 "
     "and TREC cells with all-MiniLM-L6-v2 and all-mpnet-base-v2 (bench/tools/mpnet_offline "
     "first; jobs resume).",
     ["--noise_seeds=100,101,102"], ["--datasets=trec"]),
    ("profile", "Where the step's time goes (jax.profiler, per op class)",
     ["-m", "bench.speed.profile_step"],
     "XLA's per-op events of a traced run, classed by the compiled HLO.",
     [], ["--steps=1"]),
]


def machine_stamp():
  """output.stamp of the benches' packages, from a child process (this one
  stays light while the benches run)."""
  code = ("from bench import output; "
          "print(output.stamp('jax', 'flax', 'optax', 'torch', 'transformers'))")
  res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=bench.ROOT)
  return res.stdout.strip() or f"Machine: (stamp failed: {res.stderr.strip()[-200:]})"


def old_sections(path):
  """[(title, section text)] of an existing page (for --only)."""
  if not os.path.exists(path):
    return []
  with open(path) as f:
    parts = f.read().split("\n## ")[1:]
  return [(p.split("\n", 1)[0], "## " + p.rstrip("\n") + "\n") for p in parts]


def define_flags(fv):
  flags.DEFINE_list("only", [b[0] for b in BENCHES], "Benches to run (the page keeps the "
                    "others' sections).", flag_values=fv)
  flags.DEFINE_string("out", os.path.join(bench.ROOT, "docs", "benchmarks.md"),
                      "The page to write.", flag_values=fv)
  flags.DEFINE_bool("quick", False, "Fewer rounds and steps: a smoke run.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  wanted = args.only
  unknown = set(wanted) - {b[0] for b in BENCHES}
  if unknown:
    sys.exit(f"error: --only: unknown bench {', '.join(sorted(unknown))}; use "
             f"{', '.join(b[0] for b in BENCHES)}.")
  started_stamp = machine_stamp()
  sections = []
  for key, title, cmd, what, full, quick in BENCHES:
    if key not in wanted:
      continue
    extra = quick if args.quick else full
    if args.quick and key == "aum":
      cmd = cmd[:2]  # The quick --config replaces the full one.
    command = ["python"] + cmd + extra
    print(f"[{key}] {' '.join(command)}", file=sys.stderr, flush=True)
    fd, report = tempfile.mkstemp(suffix=".md")  # The bench's markdown (--out).
    os.close(fd)
    t = time.perf_counter()
    when = datetime.datetime.now(datetime.timezone.utc)
    # Speed benches write their table to --out; research benches keep their
    # jobs under their own --out (resumable) and write the table to --table.
    flag = "--table" if cmd[1].startswith("bench.research.") else "--out"
    res = subprocess.run([sys.executable] + command[1:] + [f"{flag}={report}"],
                         cwd=bench.ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if res.returncode:
      tail = "\n".join(res.stderr.strip().splitlines()[-5:])
      body = f"Failed (exit {res.returncode}):\n\n```\n{tail}\n```"
    else:
      with open(report) as f:
        body = f.read().strip()
    os.remove(report)
    print(f"[{key}] {seconds:.0f} s", file=sys.stderr, flush=True)
    sections.append((title, f"## {title}\n\n{what}\n\n`{' '.join(command)}` "
                            f"({when:%Y-%m-%d %H:%M} UTC, {seconds:.0f} s)\n\n{body}\n"))
  # With --only, the page keeps the other benches' sections from its last run.
  everything = set(wanted) == {b[0] for b in BENCHES}
  kept = {} if everything else dict(old_sections(args.out))
  kept.update(sections)
  head = [
      "# Benchmarks", "",
      "Written by `python -m bench.tools.run_all` (do not edit by hand: rerun it). Ratios "
      "are ours / PyTorch (above 1: ours faster), each from one process timing both sides "
      "alternately; figures are per machine.", "",
      f"- {started_stamp}" + (" (--quick: smoke figures, not results)" if args.quick else "")
      + ("" if everything else
         f" For {', '.join(wanted)}; the other sections keep their own dates."),
      "- What the figures mean and what was tried: docs/speed.md", ""]
  order = [b[1] for b in BENCHES]
  body = [kept[t] for t in order if t in kept]
  output.done(output.write(args.out, "\n".join(head) + "\n" + "\n".join(body)))


if __name__ == "__main__":
  cli.run(main)
