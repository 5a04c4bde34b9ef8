r"""Every side-by-side speed bench in one command; rewrites docs/benchmarks.md.

Runs, one after another (never two at once: they would share the cores),
each bench as its own process, collects the markdown each prints, and writes
docs/benchmarks.md with the machine, the versions and the date on top. Each
bench times ours and the PyTorch reference alternately in one process and
reports medians of its rounds; nothing here is a timed assertion.

  python bench/run_all.py [--only=step,aum,relation,mlrc,lstm,profile] \
      [--out=docs/benchmarks.md] [--quick]

--quick: fewer rounds and steps (a smoke run, not figures to publish).
Where the GPU machine of the device tool is lent, run it there with
--out=<another file>: the page's numbers are per machine.
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)

# (key, title, command (after python), what it measures, full/quick extra args).
BENCHES = [
    ("step", "Transformer train step (MiniLM, batch 32)",
     ["bench/step_speed.py"],
     "Our jitted Flax step vs PyTorch + transformers, same model, AdamW + clipping, "
     "dropout on; steady state, compilation excluded; medians of alternating rounds.",
     ["--lengths=16,32,64", "--steps=20", "--rounds=3"],
     ["--steps=3", "--rounds=1", "--lengths=16"]),
    ("aum", "AUM run end to end, and the bookkeeping's cost (SST-2, 2000 examples, 1 epoch)",
     ["bench/aum_speed.py", "--config=configs/aum_sst2.py:train_size=2000,epochs=1"],
     "One AUM training run (c + 1 classes, margins and data-map statistics in the step, "
     "dev each epoch, compilation included) vs PyTorch + transformers + `aum.AUMCalculator`, "
     "padded to the maximum length as usually done and on our length buckets.",
     [], ["--config=configs/aum_sst2.py:train_size=200,epochs=1", "--steps=3",
          "--rounds=2"]),
    ("relation", "PA-LSTM train step (batch 50)",
     ["bench/relation_speed.py"],
     "Our jitted step vs the original implementation's way (nn.LSTM over packed "
     "sequences, SGD with clipping), same batches.",
     [], ["--steps=3", "--rounds=1"]),
    ("mlrc", "MLRC meta-iteration (Reptile, PA-LSTM, B 8, S 3, K 10, SemEval at 1 %)",
     ["bench/mlrc_speed.py"],
     "One meta-iteration, the trainer's task sizing: vmapped, lax.map-ed and looped tasks "
     "vs the PyTorch Reptile loop (real rows only, each batch cut to its longest sentence).",
     [], ["--rounds=1", "--iters=1"]),
    ("lstm", "LSTM scan variants (what the meta-iteration's inner loop could change)",
     ["bench/lstm_scan_variants.py"],
     "Skipping all-padding time steps with lax.cond, unrolling the scan, remat of the cell.",
     [], ["0,1,0", "1,1,0"]),
    ("profile", "Where the step's time goes (jax.profiler, per op class)",
     ["bench/profile_step.py"],
     "XLA's per-op events of a traced run, classed by the compiled HLO.",
     [], ["--steps=1"]),
]


def versions():
  code = ("import jax, torch, transformers, flax, optax; print(f'jax {jax.__version__} "
          "({jax.default_backend()}), flax {flax.__version__}, optax {optax.__version__}, "
          "torch {torch.__version__}, transformers {transformers.__version__}')")
  return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        cwd=ROOT).stdout.strip()


def cpu_name():
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


WRITES_OUT = ("aum", "mlrc")  # Benches with an --out file for their markdown.


def old_sections(path):
  """[(title, section text)] of an existing page (for --only)."""
  if not os.path.exists(path):
    return []
  with open(path) as f:
    parts = f.read().split("\n## ")[1:]
  return [(p.split("\n", 1)[0], "## " + p.rstrip("\n") + "\n") for p in parts]


def markdown(stdout):
  """The bench's markdown: its table and text lines, without progress lines."""
  keep = [l for l in stdout.splitlines()
          if not l.startswith(("round ", "(", "Loading weights"))]
  return "\n".join(keep).strip()


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--only", default=",".join(b[0] for b in BENCHES))
  p.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
  p.add_argument("--quick", action="store_true")
  args = p.parse_args(argv)
  wanted = args.only.split(",")
  unknown = set(wanted) - {b[0] for b in BENCHES}
  if unknown:
    sys.exit(f"error: --only: unknown bench {', '.join(sorted(unknown))}; use "
             f"{', '.join(b[0] for b in BENCHES)}.")
  started = datetime.datetime.now(datetime.timezone.utc)
  load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
  sections = []
  for key, title, cmd, what, full, quick in BENCHES:
    if key not in wanted:
      continue
    extra = quick if args.quick else full
    if args.quick and key == "aum":
      cmd = cmd[:1]
    command = ["python"] + cmd + extra
    print(f"[{key}] {' '.join(command)}", file=sys.stderr, flush=True)
    report = None
    if key in WRITES_OUT:  # Its markdown from its --out file (stdout has progress).
      fd, report = tempfile.mkstemp(suffix=".md")
      os.close(fd)
    t = time.perf_counter()
    when = datetime.datetime.now(datetime.timezone.utc)
    res = subprocess.run([sys.executable] + command[1:] + ([f"--out={report}"] if report
                                                          else []),
                         cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if res.returncode:
      tail = "\n".join(res.stderr.strip().splitlines()[-5:])
      body = f"Failed (exit {res.returncode}):\n\n```\n{tail}\n```"
    elif report:
      with open(report) as f:
        body = f.read().strip()
    else:
      body = markdown(res.stdout)
    if report:
      os.remove(report)
    print(f"[{key}] {seconds:.0f} s", file=sys.stderr, flush=True)
    sections.append((title, f"## {title}\n\n{what}\n\n`{' '.join(command)}` "
                            f"({when:%Y-%m-%d %H:%M} UTC, {seconds:.0f} s)\n\n{body}\n"))
  # With --only, the page keeps the other benches' sections from its last run.
  kept = dict(old_sections(args.out)) if set(wanted) != {b[0] for b in BENCHES} else {}
  kept.update(sections)
  head = [
      "# Benchmarks", "",
      "Written by `python bench/run_all.py` (do not edit by hand: rerun it). Ratios are "
      "ours / PyTorch (above 1: ours faster), each from one process timing both sides "
      "alternately; figures are per machine.", "",
      f"- Machine: {cpu_name()}, {platform.machine()}, {os.cpu_count()} cores "
      f"(load average before the run {load})",
      f"- Versions: {versions()}, Python {platform.python_version()}",
      f"- Date: {started:%Y-%m-%d %H:%M} UTC" + (" (--quick: smoke figures, not results)"
                                                 if args.quick else "")
      + ("" if set(wanted) == {b[0] for b in BENCHES} else
         f" for {', '.join(wanted)}; the other sections keep their own dates"),
      "- What the figures mean and what was tried: docs/speed.md", ""]
  order = [b[1] for b in BENCHES]
  body = [kept[t] for t in order if t in kept]
  text = "\n".join(head) + "\n" + "\n".join(body)
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  with open(args.out, "w") as f:
    f.write(text)
  print(f"Wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
  main()
