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

from configs import common

# Training-set sizes of the benchmark (0: the whole training split).
SIZES = {"sst2": 10000, "cola": 0, "trec": 0}


def get_config(arg=None):
  a = common.parse_arg(arg, cpu=False, size=0, noise_seeds=3, datasets="sst2+cola+trec",
                       folds=3, epochs=3, clean_seeds=3, batch_size=32, lr=5e-5, dev_size=0)
  if a.cpu:  # What a 2-core CPU finishes in hours: 1000 examples, more updates per example.
    a.size, a.folds, a.batch_size, a.lr, a.dev_size = a.size or 1000, 2, 16, 1e-4, 200
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
