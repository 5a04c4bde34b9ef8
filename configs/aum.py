r"""The AUM pipeline of Talukdar et al.: two AUM runs, percentile sweep, cleaning.

  python -m noisy_meta.main --config=configs/aum.py:runlocal --workdir=/tmp/aum_cola

The family of configs/aum_{cola,sst2,tsv,semeval}.py, which are the entry
points (run as a config file itself, it is CoLA's). A text task (cola, sst2,
tsv) builds on configs/finetune.py, a relation dataset (semeval, tacred) on
configs/relation.py, and takes that family's arguments too.
"""
import ml_collections

from configs import common
from configs import finetune
from configs import relation

RELATION_DATASETS = ("semeval", "tacred")


def get_config(arg=None, task="cola", **task_defaults):
  """The AUM config of `task`; `task_defaults` change argument defaults."""
  relation_task = task in RELATION_DATASETS
  defaults = dict(relation.ARGS if relation_task else finetune.ARGS, train_size=0, noise=0.0,
                  seeds=3)
  defaults.update(task_defaults)
  a = common.parse_arg(arg, **defaults)

  # The learner: the supervised config of the same arguments.
  if relation_task:  # PA-LSTM / C-GCN (issue 19 measures them); train_size: first N.
    c = relation.build(task, a)
    c.learner = "relation"
    if a.train_size:
      c.train_size = a.train_size
  else:
    c = finetune.build(task, a)
  c.trainer = "aum"

  c.noise = ml_collections.ConfigDict()
  c.noise.rate = a.noise  # Uniform label flips on train (0: the data as given).
  c.noise.seed = 100  # Seed 000, Table 5.

  c.aum = ml_collections.ConfigDict()
  # equal: N/(c+1) threshold samples, equally from each class (Talukdar et al. §3.1);
  # random: N//(c+1) drawn uniformly (the AUM authors' code).
  c.aum.threshold_mode = "equal"
  # How many per run: N//(c+1) ("c+1", Talukdar et al. and the AUM authors' code)
  # or N//c ("c").
  c.aum.threshold_divisor = "c+1"
  c.aum.threshold_seed = 0  # Which examples become threshold samples.
  c.aum.percentiles = (1, 10, 50, 90, 99)  # Threshold = this percentile of threshold samples' AUM.
  # Margins from the training forward pass ("train": dropout on, no extra
  # cost, as the AUM authors do) or from an extra dropout-off pass with the
  # same parameters ("eval": about one more forward pass per step).
  c.aum.margins = "train"

  c.clean = ml_collections.ConfigDict()
  c.clean.methods = ("sieve", "flip")  # sieve: drop flagged; flip: relabel them.
  c.clean.percentiles = (1, 10, 50, 90, 99)  # Retrain at these (subset of aum.percentiles).
  c.clean.seeds = tuple(range(a.seeds))  # Training seeds of every retrain.
  # Checkpoints serve resume only: a finished run is read from its
  # metrics.json (dynamics.npz), so its ckpt/ is deleted unless kept here.
  c.clean.keep_checkpoints = False

  c.neighbors = ml_collections.ConfigDict()
  c.neighbors.k = 10  # Nearest neighbours in the encoder's embedding space.

  if a.runlocal:  # A smoke run of 1-2 minutes on a 2-core CPU (5 trainings).
    if relation_task:  # 19 classes: 800 // 20 // 19 = 2 threshold samples per class.
      c.train_size = min(a.train_size, 800) if a.train_size else 800
    else:
      c.input.train_size = min(a.train_size, 128) if a.train_size else 128
    c.num_epochs = 2  # Two margin measurements per example.
    c.aum.percentiles = (10, 50, 99)
    c.clean.percentiles = (50,)
    c.clean.seeds = (0,)
  return c
