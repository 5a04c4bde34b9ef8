r"""The papers' grids as one `noisy_meta.main` job per grid point, one workdir each.

  python launch/sweep.py --grid=aum --dry-run            # Talukdar et al.: 45 jobs
  python launch/sweep.py --grid=aum --noise=0.2 --seeds=0 --parallel=5 --launcher=gpu
  python launch/sweep.py --grid=mlrc --root=gs://bucket/mlrc --launcher=tpu --parallel=4
  python launch/sweep.py --grid=mlrc --pack=runs --dry-run -- --config.meta.log_every=100

aum (Talukdar et al.): datasets x noise rates x percentiles x seeds. A job runs the
AUM pipeline of configs/aum_<dataset>.py with `noise=N` and one percentile
(`aum.percentiles`, `clean.percentiles`) and one retraining seed
(`clean.seeds`); its two AUM runs keep the config's seed, so every job of a
noise rate flags the same examples and its numbers equal that point of one
big run. mlrc (Obamuyide and Vlachos 2019): models x fractions x runs. Run r is `seed=r,runs=1`,
the run r of a `runs=N` grid (the trainer gives run r the seed config.seed+r).
`--pack=AXIS` keeps a whole axis inside every job (one workdir, one report,
the AUM runs shared) instead of one job per value.

Jobs run from the repository root; relative paths are relative to it. Extra
flags after `--` go to every job. Exits 1, naming them, if any job fails.
"""
import argparse
import concurrent.futures
import dataclasses
import itertools
import os
import shlex
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

sys.path.insert(0, REPO)
from configs import aum_sst2  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs import mlrc_semeval  # pylint: disable=g-import-not-at-top,wrong-import-position


def _csv(values):
  return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


# The papers' grids, defined once in their configs (PAPER_GRID): the AUM
# paper's SST-2 percentiles x noise rates x seeds; MLRC's learners x
# fractions x 10 runs (1000 meta-iterations: the config's).
AUM_DEFAULTS = {k: _csv(v) for k, v in aum_sst2.PAPER_GRID.items()}
MLRC_DEFAULTS = dict(models=_csv(mlrc_semeval.PAPER_GRID["models"]),
                     fractions=_csv(mlrc_semeval.PAPER_GRID["fractions"]),
                     runs=mlrc_semeval.PAPER_GRID["runs"])
PACKABLE = {"aum": ("percentiles", "seeds"), "mlrc": ("fractions", "runs")}


@dataclasses.dataclass
class Job:
  name: str  # Also the workdir under --root.
  config: str  # configs/X.py:arg
  flags: list  # --config.* overrides of this job.
  workdir: str


def _values(text, kind=float):
  """'0,0.2,0.4' -> [0.0, 0.2, 0.4]."""
  return [kind(v) for v in text.split(",") if v.strip()]


def _groups(values, packed):
  """One group per value, or all values in one group when the axis is packed."""
  return [list(values)] if packed else [[v] for v in values]


def _tuple(values):
  """A Python tuple literal for a --config override: [10] -> '(10,)'."""
  return "(" + "".join(f"{v:g}," for v in values) + ")"


def _join(root, name):  # Not os.path.join: the root may be gs://.
  return f"{root.rstrip('/')}/{name}"


def aum_jobs(args):
  """datasets x noise x percentiles x seeds."""
  pack = set(args.pack)
  jobs = []
  for dataset, noise, pcts, seeds in itertools.product(
      _values(args.datasets, str), _values(args.noise),
      _groups(_values(args.percentiles), "percentiles" in pack),
      _groups(_values(args.seeds, int), "seeds" in pack)):
    arg = f"noise={noise:g}"
    if args.train_size is not None:
      arg += f",train_size={args.train_size}"
    flags = [f"--config.aum.percentiles={_tuple(pcts)}",
             f"--config.clean.percentiles={_tuple(pcts)}",
             f"--config.clean.seeds={_tuple(seeds)}"]
    name = f"{dataset}_noise{noise:g}"
    if "percentiles" not in pack:
      name += f"_p{pcts[0]:g}"
    if "seeds" not in pack:
      name += f"_seed{seeds[0]}"
    jobs.append(Job(name, f"configs/aum_{dataset}.py:{arg}", flags, _join(args.root, name)))
  return jobs


def mlrc_jobs(args):
  """models x fractions x runs (run r: seed r)."""
  pack = set(args.pack)
  jobs = []
  for model, fracs, runs in itertools.product(
      _values(args.models, str), _groups(_values(args.fractions), "fractions" in pack),
      _groups(range(args.runs), "runs" in pack)):
    arg = f"model={model},fractions={'+'.join(f'{f:g}' for f in fracs)}"
    arg += f",runs={args.runs},seed=0" if "runs" in pack else f",runs=1,seed={runs[0]}"
    if args.iterations is not None:
      arg += f",iterations={args.iterations}"
    if args.task_axis is not None:
      arg += f",task_axis={args.task_axis}"
    name = model
    if "fractions" not in pack:
      name += f"_f{fracs[0]:g}"
    if "runs" not in pack:
      name += f"_run{runs[0]}"
    jobs.append(Job(name, f"configs/mlrc_semeval.py:{arg}", [], _join(args.root, name)))
  return jobs


def command(job, args, index, extra):
  """(environment additions, argv) that run `job` with the chosen launcher."""
  if args.launcher == "local":
    return {}, [args.python, "-m", "noisy_meta.main", f"--config={job.config}",
                f"--workdir={job.workdir}", *job.flags, *extra]
  if args.launcher == "gpu":
    return {}, ["bash", "launch/gpu.sh", job.config, job.workdir, *job.flags, *extra]
  # tpu: a VM per job, named <prefix>-<index>, created and deleted by the script.
  env = {"NAME": f"{args.tpu_prefix}-{index:03d}", "WORKDIR": job.workdir}
  return env, ["bash", "launch/tpu_pod.sh", job.config, *job.flags, *extra]


def shown(env, argv):
  """The command as a shell line: `NAME=x WORKDIR=y bash ...`."""
  return " ".join([f"{k}={shlex.quote(v)}" for k, v in env.items()] + [shlex.join(argv)])


def run_all(jobs, commands, args):
  """Runs the jobs, `args.parallel` at a time; returns [(job, exit code, log)] of failures."""
  env = dict(os.environ)
  if args.parallel > 1 and args.launcher != "tpu":
    # N processes on one accelerator: split its memory (JAX takes 75 % by default).
    env.setdefault("XLA_PYTHON_CLIENT_MEM_FRACTION", f"{min(0.75, 0.9 / args.parallel):.2f}")
  log_dir = args.log_dir or (os.path.join(args.root, "logs") if "://" not in args.root
                             else os.path.join("runs", "sweep_logs"))
  lock, failures, done = threading.Lock(), [], [0]
  stop = threading.Event()  # Set by Ctrl-C: jobs not started yet never start.
  start = time.time()

  def one(i):
    if stop.is_set():
      return
    job, (add, argv) = jobs[i], commands[i]
    log = None
    if args.parallel > 1:  # Interleaved output is unreadable: one log per job.
      os.makedirs(log_dir, exist_ok=True)
      log = os.path.join(log_dir, f"{job.name}.log")
    with lock:
      print(f"sweep: start [{i + 1}/{len(jobs)}] {job.name}: {shown(add, argv)}"
            + (f" > {log}" if log else ""), file=sys.stderr, flush=True)
    try:
      if log:
        with open(log, "w") as f:
          rc = subprocess.call(argv, env={**env, **add}, cwd=REPO, stdout=f,
                               stderr=subprocess.STDOUT)
      else:
        rc = subprocess.call(argv, env={**env, **add}, cwd=REPO)
    except OSError as e:  # E.g. the interpreter does not exist.
      rc = f"could not start: {e}"
    with lock:
      done[0] += 1
      state = "ok" if rc == 0 else f"FAILED ({rc})"
      print(f"sweep: {state} {job.name} | {done[0]}/{len(jobs)} done, "
            f"{time.time() - start:.0f} s", file=sys.stderr, flush=True)
      if rc != 0:
        failures.append((job, rc, log))

  pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.parallel)
  try:
    list(pool.map(one, range(len(jobs))))
  except KeyboardInterrupt:  # The running jobs got the SIGINT too (tpu_pod.sh deletes its VM).
    stop.set()
    pool.shutdown(wait=True, cancel_futures=True)
    raise
  pool.shutdown()
  return sorted(failures, key=lambda f: jobs.index(f[0]))


def parse(argv):
  """Flags before `--` are the sweep's; everything after goes to every job."""
  extra = []
  if "--" in argv:
    argv, extra = argv[:argv.index("--")], argv[argv.index("--") + 1:]
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--grid", choices=("aum", "mlrc"), required=True)
  p.add_argument("--root", help="Where the job workdirs go (default runs/sweep_<grid>).")
  p.add_argument("--dry-run", action="store_true", help="Print one command per job, run none.")
  p.add_argument("--parallel", type=int, default=1, help="Jobs running at once.")
  p.add_argument("--launcher", choices=("local", "gpu", "tpu"), default="local",
                 help="local: python -m noisy_meta.main; gpu: launch/gpu.sh; "
                 "tpu: launch/tpu_pod.sh, one TPU VM per job.")
  p.add_argument("--pack", default="", help="Comma-separated axes kept whole inside each "
                 "job: aum: percentiles, seeds; mlrc: fractions, runs.")
  p.add_argument("--python", default=sys.executable, help="Interpreter of local jobs.")
  p.add_argument("--log-dir", help="Per-job logs when --parallel > 1 (default ROOT/logs).")
  p.add_argument("--tpu-prefix", default=os.environ.get("NAME") or
                 time.strftime("nm-sweep-%m%d-%H%M"), help="TPU VM names: PREFIX-000, ...")
  a = p.add_argument_group("aum grid (Talukdar et al.)")
  a.add_argument("--datasets", default=AUM_DEFAULTS["datasets"], help="cola, sst2.")
  a.add_argument("--noise", default=AUM_DEFAULTS["noise"], help="Uniform flip rates.")
  a.add_argument("--percentiles", default=AUM_DEFAULTS["percentiles"])
  a.add_argument("--seeds", default=AUM_DEFAULTS["seeds"], help="Retraining seeds.")
  a.add_argument("--train-size", type=int,
                 help="Training subset (config default: SST-2 10000; 0: all, as the paper).")
  m = p.add_argument_group("mlrc grid (Obamuyide and Vlachos 2019)")
  m.add_argument("--models", default=MLRC_DEFAULTS["models"], help="pa_lstm, cgcn.")
  m.add_argument("--fractions", default=MLRC_DEFAULTS["fractions"])
  m.add_argument("--runs", type=int, default=MLRC_DEFAULTS["runs"], help="Runs 0..N-1.")
  m.add_argument("--iterations", type=int, help="Meta-iterations (config default: 1000).")
  m.add_argument("--task-axis", choices=("vmap", "map"), help="meta.task_axis.")
  args = p.parse_args(argv)
  args.root = args.root or f"runs/sweep_{args.grid}"
  args.pack = [x for x in args.pack.split(",") if x]
  bad = [x for x in args.pack if x not in PACKABLE[args.grid]]
  if bad:
    p.error(f"--pack={','.join(bad)}: the {args.grid} grid packs {PACKABLE[args.grid]}.")
  if args.parallel < 1:
    p.error("--parallel must be at least 1.")
  if "://" in args.root and args.launcher != "tpu":
    p.error(f"--root={args.root}: noisy_meta writes plain files; a bucket is for "
            "--launcher=tpu (tpu_pod.sh mounts it on the workers).")
  return args, extra


def main(argv):
  """Builds the grid, then prints or runs its jobs; returns the exit status."""
  args, extra = parse(argv)
  os.chdir(REPO)  # Like launch/*.sh: configs, --root and logs are relative to the repository.
  jobs = aum_jobs(args) if args.grid == "aum" else mlrc_jobs(args)
  missing = sorted({j.config.split(":")[0] for j in jobs
                    if not os.path.exists(j.config.split(":")[0])})
  if missing or not jobs:
    print(f"sweep: error: {'no config ' + ', '.join(missing) if missing else 'empty grid'}.",
          file=sys.stderr)
    return 2
  workdirs = [j.workdir for j in jobs]
  if len(set(workdirs)) < len(workdirs):
    print("sweep: error: two jobs would share a workdir (a value given twice?).",
          file=sys.stderr)
    return 2
  commands = [command(j, args, i, extra) for i, j in enumerate(jobs)]
  print(f"sweep: {args.grid} grid, {len(jobs)} jobs under {args.root}, launcher "
        f"{args.launcher}", file=sys.stderr)
  if args.dry_run:
    for add, argv_ in commands:
      print(shown(add, argv_))
    return 0
  failures = run_all(jobs, commands, args)
  if failures:
    print(f"sweep: {len(failures)} of {len(jobs)} jobs FAILED:", file=sys.stderr)
    for job, rc, log in failures:
      print(f"  {job.name} (exit {rc}, workdir {job.workdir}"
            + (f", log {log})" if log else ")"), file=sys.stderr)
    return 1
  print(f"sweep: all {len(jobs)} jobs finished.", file=sys.stderr)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
