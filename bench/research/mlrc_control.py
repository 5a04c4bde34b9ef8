r"""Control for MLRC: the supervised baseline trained longer on the same rows.

MLRC adds B x S inner steps per meta-iteration (7200 at B=8, S=3, 300
iterations) to the baseline's recipe; at 1 % of SemEval the baseline's own
recipe is only 60 SGD steps. This trains the baseline again, on each run's
saved rows (`frac<F>/run<r>/train_rows.txt` of a finished MLRC grid), for
--epochs epochs (same seed, init, batches order rule and dev-based model
selection), into `frac<F>/run<r>/baseline_e<epochs>/`, and prints it beside
the grid's baseline and MLRC:

  python -m bench.research.mlrc_control --config=configs/mlrc_semeval.py:model=pa_lstm \
      --workdir=runs/mlrc/pa_lstm --fraction=0.01 --runs=0,1 --epochs=300

Any relation learner of the grid (config.learner: PA-LSTM, C-GCN, the
Transformer). --eval_every=N scores dev every N epochs and after the last
(the best-dev choice among those), for a learner whose dev pass costs more
than its epoch (the Transformer at 1 %: 75 training rows, 500 dev rows);
its runs go to `baseline_e<epochs>_v<N>/`.

Under label noise (issue 36) the grid's config line carries the same
switches (:noise=...,trusted_per_class=...,loss=gce,reweight=meta,clean=aum):
the control trains on the run's labels as given (labels.tsv: noisy, the
trusted rows clean; train_rows.txt: the rows AUM kept), with mlrc.loss's
objective and, with reweight=meta, Ren et al.'s weights against the run's
trusted rows in every step: the noise-aware long baseline.
"""
import importlib.util
import json
import os

from absl import flags
import numpy as np

from bench import cli
from bench import output
from noisy_meta import learners
from noisy_meta.trainers import mlrc_noise
from noisy_meta.trainers import supervised


def define_flags(fv):
  flags.DEFINE_string("config", None, "The grid's config file[:arg], e.g. "
                      "configs/mlrc_semeval.py:model=pa_lstm", flag_values=fv)
  flags.DEFINE_string("workdir", None, "A finished MLRC grid's workdir.", flag_values=fv)
  flags.DEFINE_float("fraction", 0.01, "The grid's fraction whose runs to retrain.",
                     flag_values=fv)
  flags.DEFINE_string("runs", "0,1,2,3,4", "Runs (comma-separated).", flag_values=fv)
  flags.DEFINE_integer("epochs", 300, "Epochs of the longer baseline.", flag_values=fv)
  flags.DEFINE_integer("eval_every", 1, "Score dev (best-dev selection) every N epochs and "
                       "after the last.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("config", "workdir"))

  path, _, arg = args.config.partition(":")
  spec = importlib.util.spec_from_file_location("grid_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config(arg or None)
  learner_cls = learners.get(config.get("learner", "relation"))
  learner = learner_cls(config)  # Reads the data once; each run shares it.
  with open(os.path.join(args.workdir, "results.json")) as f:
    grid = {(r["fraction"], r["run"]): r for r in json.load(f)["runs"]}
  rows_out, written = [], []
  for run in [int(r) for r in args.runs.split(",") if r]:
    key = (args.fraction, run)
    if key not in grid:
      raise SystemExit(f"{args.workdir}/results.json has no run {run} at fraction "
                       f"{args.fraction:g}: finish the grid first.")
    sub = os.path.join(args.workdir, f"frac{args.fraction:g}", f"run{run}")
    rows_file = os.path.join(sub, "train_rows.txt")
    with open(rows_file) as f:
      rows = np.array([int(line.split("\t")[0]) for line in f if line.strip()], np.int64)
    cfg = config.copy_and_resolve_references()
    with cfg.unlocked():
      cfg.seed = config.seed + run
      cfg.num_epochs = args.epochs
      cfg.eval_every = args.eval_every
    name = f"baseline_e{args.epochs}" + (f"_v{args.eval_every}" if args.eval_every > 1 else "")
    written.append(os.path.join(sub, name))
    run_learner = learner_cls(cfg, learner.data)
    split, step = run_learner.train, None
    labels_file = os.path.join(sub, mlrc_noise.LABELS_FILE)
    if os.path.exists(labels_file):  # The run's labels as given, its trusted rows.
      listed, given, _, trusted, _ = mlrc_noise.read_labels(labels_file,
                                                            run_learner.label_names)
      labels = np.asarray(split.labels).copy()
      labels[listed] = given
      split = run_learner.relabel(split, labels)
      if cfg.mlrc.reweight == "meta":
        step = mlrc_noise.train_fn(cfg, run_learner, split, listed[trusted])
    res = supervised.fit(cfg, written[-1], run_learner, run_learner.subset(split, rows),
                         objective=mlrc_noise.objective(cfg), train_fn=step)[0]
    g = grid[key]
    rows_out.append((run, 100 * g["baseline"], 100 * res["test_f1"], 100 * g["mlrc"]))
    print(f"run {run}: baseline {rows_out[-1][1]:.2f}, baseline x{args.epochs} epochs "
          f"{rows_out[-1][2]:.2f}, MLRC {rows_out[-1][3]:.2f}", flush=True)
  a = np.array([r[1:] for r in rows_out])
  std = lambda v: float(v.std(ddof=1)) if len(v) > 1 else 0.0
  print(f"\n{output.stamp('jax')}\n")
  print(f"| {config.model.name}, fraction {args.fraction:g} | runs | baseline "
        f"({config.num_epochs} epochs) | baseline ({args.epochs} epochs) | MLRC |")
  print("|---|---:|---:|---:|---:|")
  print(f"| mean ± std | {len(a)} | " + " | ".join(
      f"{a[:, i].mean():.2f} ± {std(a[:, i]):.2f}" for i in range(3)) + " |")
  output.done(*written)
  return 0


if __name__ == "__main__":
  cli.run(main)
