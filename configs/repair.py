r"""The repair benchmark (bench/research/repair.py): which repair wins back what noise took.

  python -m bench.research.repair --grid=configs/repair.py --out=runs/bench/repair
  python -m bench.research.repair --grid=configs/repair.py:cpu --out=runs/bench/repair_cpu

Every cell is one AUM job (configs/aum_<dataset>.py) run as a user runs it,
with every repair method and peer retrained on the same detection, the same
learner, recipe and retrain seeds, and the clean-label ceiling
(clean.ceiling). A cell: dataset, noise kind, rate and training-set size.
Arguments: `cpu` (docs/repair.md's scale: 1000 examples, batch 16,
lr 1e-4, 2 folds), `seeds=K` retrain seeds, `cells=a+b` a subset of the
cells by name, `epochs=N`, `folds=K`.
"""
import ml_collections

from configs import aum
from configs import common
from configs import detectors
from configs import rules

# The text cells: (dataset, noise kind, rate, training examples). Binary
# datasets have one noise model (class-conditional is uniform for two classes).
TEXT_CELLS = (
    ("sst2", "uniform", 0.2, 1000), ("sst2", "uniform", 0.4, 1000),
    ("sst2", "uniform", 0.2, 4000),
    ("trec", "uniform", 0.2, 1000), ("trec", "class_conditional", 0.2, 1000),
    ("trec", "uniform", 0.4, 1000), ("trec", "class_conditional", 0.4, 1000),
    ("cola", "uniform", 0.2, 1000), ("cola", "uniform", 0.4, 1000),
)
# The relation cells (learner in the name): SemEval, 20 % uniform and direction noise.
RELATION_CELLS = (
    ("semeval", "uniform", 0.2, 0, "pa_lstm"), ("semeval", "direction", 0.2, 0, "pa_lstm"),
    ("semeval", "uniform", 0.2, 2000, "transformer"),
    ("semeval", "direction", 0.2, 2000, "transformer"),
)
# The originals (nothing injected): does the default repair cost anything?
ORIGINAL_CELLS = (("sst2", "uniform", 0.0, 1000), ("trec", "uniform", 0.0, 1000))


def cell_name(dataset, kind, rate, size, model=""):
  name = f"{dataset}_{kind}_{round(100 * rate)}_n{size or 'all'}"
  return f"{name}_{model}" if model else name


def get_config(arg=None):
  a = common.parse_arg(arg, cpu=False, seeds=3, cells="", epochs=3, folds=2, batch_size=32,
                       lr=5e-5)
  common.check_args(a, {"seeds": rules.integer(1, 1000), "folds": rules.integer(2, 1000)})
  if a.cpu:  # What a 2-core CPU finishes: the detector benchmark's recipe (docs/detectors.md).
    for key, small in dict(batch_size=16, lr=1e-4).items():
      if not common.given(a, key):
        a[key] = small
  g = ml_collections.ConfigDict()
  cells = [c + ("",) for c in TEXT_CELLS + ORIGINAL_CELLS] + list(RELATION_CELLS)
  g.cells = tuple(cell_name(*c) for c in cells)
  g.specs = {cell_name(*c): list(c) for c in cells}
  if a.cells:
    wanted = a.cells.split("+")
    unknown = [w for w in wanted if w not in g.specs]
    if unknown:
      raise ValueError(f"cells={a.cells}: unknown {', '.join(unknown)} (one of "
                       f"{', '.join(g.cells)}).")
    g.cells = tuple(wanted)
  g.epochs, g.folds, g.batch_size, g.lr = a.epochs, a.folds, a.batch_size, a.lr
  g.noise_seed = 100  # Seed 000's noise seed, the detector benchmark's first.
  g.seeds = tuple(range(a.seeds))  # Retrain seeds, the same for every method.
  # Repairs by the job's default detector (clean.detector), and the peers a
  # user would pick instead: confident learning's prune and retrain
  # (sieve:cleanlab) and GCE; plain training (no repair, `none`) is scored
  # at its last epoch and at its best dev epoch (early stopping).
  # sieve:oracle drops exactly the injected rows: what sieving could win back
  # with a perfect detector (a reference column, never chosen as the default).
  g.methods = ("sieve", "relabel", "relabel_soft", "reweight", "coteach", "gce",
               "sieve:cleanlab", "sieve:oracle")
  g.peers = ("none_best_epoch", "sieve:cleanlab", "gce")


  return g


GRID_RULES = {
    "cells": rules.sequence(rules.text()),
    "specs": rules.custom(lambda v: len(v) > 0, "give cell specs.", {}),
    "epochs": rules.integer(1, rules.MAX_EPOCHS),
    "folds": aum.AUM_RULES["detect.folds"],
    "batch_size": rules.integer(1, rules.MAX_BATCH),
    "lr": rules.number(0, open_lo=True),
    "noise_seed": rules.seed(),
    "seeds": rules.sequence(rules.seed()),
    "methods": aum.AUM_RULES["clean.methods"],
    "peers": rules.sequence(rules.text()),
}
DATASETS = detectors.DATASETS


def rules_of(g):
  del g
  return GRID_RULES


def cross_rules(g):
  del g
  return ()
