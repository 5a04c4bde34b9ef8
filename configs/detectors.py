r"""The noisy-label detector benchmark (bench/research/detectors.py): datasets x noise.

  python -m bench.research.detectors --grid=configs/detectors.py --out=runs/bench/detectors
  python -m bench.research.detectors --grid=configs/detectors.py:cpu --out=runs/bench/det_cpu

Every cell is one AUM job (configs/aum_<dataset>.py, detection only:
seeds=0) with both margin kinds recorded and confident learning's folds, so
that all detectors of noisy_meta/detectors.py score the same trainings.
Arguments: `cpu` (1000 examples, 2 folds, batch 16, lr 1e-4, 200 dev
examples in detection cells: docs/detectors.md's scale), `size=N` caps every training set at a seeded N-example subset
(0: the issue's sizes below), `noise_seeds=K` the first K noise seeds,
`datasets=a+b` a subset, `folds=K`, `epochs=N`, `clean_seeds=K` the retrain
seeds of the cleaning comparison (0: none), `batch_size`, `lr`, `dev_size`.
"""
import ml_collections

from configs import aum
from configs import common
from configs import finetune
from configs import relation
from configs import rules

# Training-set sizes of the benchmark (0: the whole training split).
SIZES = {"sst2": 10000, "cola": 0, "trec": 0}
# Arguments whose value no field keeps as typed (noise_seeds=-1: no cells).
ARG_RULES = {"noise_seeds": rules.integer(0, 1000), "clean_seeds": rules.integer(0, 1000),
             "size": rules.integer(0, rules.MAX_SIZE)}


def get_config(arg=None):
  a = common.parse_arg(arg, cpu=False, size=0, noise_seeds=3, datasets="sst2+cola+trec",
                       folds=3, epochs=3, clean_seeds=3, batch_size=32, lr=5e-5, dev_size=0)
  common.check_args(a, dict(ARG_RULES, noise_seeds=rules.integer(1, 1000)))
  if a.cpu:  # What a 2-core CPU finishes in hours: 1000 examples, more updates per example.
    # Arguments typed on the same line win (common.given).
    a.size = a.size or 1000
    for key, small in dict(folds=2, batch_size=16, lr=1e-4, dev_size=200).items():
      if not common.given(a, key):
        a[key] = small
  g = ml_collections.ConfigDict()
  g.datasets = tuple(a.datasets.split("+"))
  # Per dataset, its training-set size (a seeded subset; configs/aum.py).
  g.sizes = {d: (min(a.size, SIZES.get(d, 0)) or a.size) if a.size else SIZES.get(d, 0)
             for d in g.datasets}
  g.epochs = a.epochs
  g.batch_size, g.lr = a.batch_size, a.lr  # The fine-tuning recipe (configs/finetune.py).
  # Dev examples scored in the detection cells (0: all): their dev score is
  # only a collapse check there. The cleaning comparison scores the whole dev set.
  g.dev_size = a.dev_size
  g.noise_kinds = ("uniform", "class_conditional")
  g.noise_rates = (0.2, 0.4)
  # Noise seeds: 100 is seed 000's (Table 5); then 101, 102.
  g.noise_seeds = tuple(100 + i for i in range(a.noise_seeds))
  # Each class to one fixed other class is uniform flipping when there are
  # two classes (noisy_meta/data/noise.py): binary datasets run uniform only.
  g.skip_binary_class_conditional = True
  g.clean_cells = True  # The originals too (nothing injected: how many are flagged).
  g.folds = a.folds  # Confident learning's cross-validation folds.
  # The detector the goals are checked for (>= +0.02 mean AUROC over each
  # peer, automatic cut >= 90 % of the best F1 at 20 % noise).
  g.candidate = "ensemble"
  g.margins = "both"  # Train-mode AUM and the eval-mode margins of aum_eval.
  # The cleaning comparison: retrain on SST-2 and TREC (uniform noise, the
  # first noise seed) after sieving by the default detector and by AUM's own cut.
  g.clean_datasets = tuple(d for d in ("sst2", "trec") if d in g.datasets)
  g.clean_rates = (0.2, 0.4)
  g.clean_seeds = tuple(range(a.clean_seeds))
  g.clean_methods = ("sieve",)
  g.clean_kinds = ("uniform",)  # Noise kinds cleaned (relation grids: every kind).
  g.clean_percentiles = ()  # AUM's cuts retrained at; empty: its own (detect.aum_percentile).
  g.clean_detector = ""  # The detector cleaning too; empty: configs/aum.py's clean.detector.
  g.clean_original = False  # Unfiltered retrains on the original data too.
  return g


DATASETS = finetune.TEXT_TASKS + relation.DATASETS  # Each has configs/aum_<dataset>.py.
RATE = rules.number(0, 1, open_hi=True)
# The rule of every field of get_config, in its order (bench/research/detectors.py
# runs the grid; noisy_meta/validate.check checks it).
GRID_RULES = {
    "datasets": rules.sequence(rules.choice(DATASETS)),
    "sizes": rules.custom(
        lambda v: all(d in DATASETS and rules.is_int(n) and 0 <= n <= rules.MAX_SIZE
                      for d, n in v.items()),
        "give {dataset: training examples (0: all)}.", {"x": -1}),
    "epochs": rules.integer(1, rules.MAX_EPOCHS),
    "batch_size": rules.integer(1, rules.MAX_BATCH),
    "lr": rules.number(0, open_lo=True),
    "dev_size": rules.integer(0, rules.MAX_SIZE),
    "noise_kinds": rules.sequence(rules.choice("noisy_meta.data.noise:KINDS")),
    "noise_rates": rules.sequence(RATE),
    "noise_seeds": rules.sequence(rules.seed()),
    "skip_binary_class_conditional": rules.flag(),
    "clean_cells": rules.flag(),
    "folds": aum.AUM_RULES["detect.folds"],
    "candidate": rules.choice("noisy_meta.detectors:DETECTORS"),
    "margins": aum.AUM_RULES["aum.margins"],
    "clean_datasets": rules.sequence(rules.choice(DATASETS), min_len=0),
    "clean_rates": rules.sequence(RATE, min_len=0),
    "clean_seeds": rules.sequence(rules.seed(), min_len=0),
    "clean_methods": aum.AUM_RULES["clean.methods"],
    "clean_kinds": rules.sequence(rules.choice("noisy_meta.data.noise:KINDS"), min_len=0),
    "clean_percentiles": aum.AUM_RULES["clean.percentiles"],
    "clean_detector": rules.choice("noisy_meta.detectors:CUTS", extra=("",)),
    "clean_original": rules.flag(),
}


def rules_of(g):
  """The rule of every field of grid `g`."""
  del g  # The same fields in every grid of this file.
  return GRID_RULES


def cross_rules(g):
  """The rules across fields of grid `g`: cleaned datasets are benchmarked ones."""
  del g
  return (lambda g: None if set(g.clean_datasets) <= set(g.datasets) else (
      "clean_datasets", g.clean_datasets, "clean only datasets of the grid's datasets."),)
