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
  # folds=-1: 2 fold models, none for :runlocal (an explicit folds=K is kept).
  defaults = dict(relation.ARGS if relation_task else finetune.ARGS, noise=0.0,
                  noise_kind="uniform", noise_seed=100, seeds=3, folds=-1)
  defaults.update(task_defaults)
  a = common.parse_arg(arg, **defaults)

  # The learner: the supervised config of the same arguments (train_size:
  # input.train_size, a seeded subset of text, the first N relation examples).
  if relation_task:  # PA-LSTM, C-GCN or the Transformer (issue 19 measures them).
    c = relation.build(task, a)  # Sets c.learner (relation | relation_transformer).
  else:
    c = finetune.build(task, a)  # Sets c.learner (text).
  c.trainer = "aum"

  c.noise = ml_collections.ConfigDict()
  c.noise.rate = a.noise  # Share of train labels flipped (0: the data as given).
  # uniform: to any other class; class_conditional: each class to one fixed
  # other class (the same model for two classes). Relations: direction
  # (X(e1,e2) <-> X(e2,e1)), pair (to one confusable relation: noise.pairing),
  # negative (positives to Other / no_relation; noise.back_rate the other
  # way). A mix gives its own rates: noise_kind=direction=0.1+pair=0.1 on the
  # command line ("+" for ","), noise.rate then unused. noisy_meta/data/noise.py.
  c.noise.kind = a.noise_kind.replace("+", ",")
  # Pair noise's map: a JSON file {label: label}, or a finished supervised
  # workdir (its test confusion matrix: each relation to its most confused
  # other); empty: a seeded derangement of the labels.
  c.noise.pairing = ""
  c.noise.back_rate = 0.0  # Negative noise: share of negatives made positive.
  # TACRED with input.label_patch (Re-TACRED, TACRED-Revisited): train on the
  # labels before the patch, the examples it relabels as the known-wrong ones
  # (the detection's ground truth); dev and test stay patched. Nothing injected.
  c.noise.from_patch = False
  c.noise.seed = a.noise_seed  # 100: seed 000, Table 5.

  c.aum = ml_collections.ConfigDict()
  # equal: N/(c+1) threshold samples, equally from each class (Talukdar et al. §3.1);
  # random: N//(c+1) drawn uniformly (the AUM authors' code).
  # capped (relations' default: 19 or 42 imbalanced classes): equal shares, no
  # class giving more than 1/(c+1) of its examples (aum_lib.capped_quota).
  c.aum.threshold_mode = "capped" if relation_task else "equal"
  # How many per run: N//(c+1) ("c+1", Talukdar et al. and the AUM authors' code)
  # or N//c ("c").
  c.aum.threshold_divisor = "c+1"
  c.aum.threshold_seed = 0  # Which examples become threshold samples.
  c.aum.percentiles = (1, 10, 50, 90, 99)  # Threshold = this percentile of threshold samples' AUM.
  # Margins from the training forward pass ("train": dropout on, no extra
  # cost, as the AUM authors do) or from an extra dropout-off pass with the
  # same parameters ("eval": about one more forward pass per step); "both"
  # records the two (AUM from the training pass; the eval-mode margins feed
  # the `aum_eval` detector).
  c.aum.margins = "train"
  # Keep every epoch's logits (fake class included) in aum_run*/dynamics.npz
  # as logits_ENC [epochs, N, C]: 4 bytes x epochs x N x C (SST-2 67k x 3
  # epochs x 3: 2.4 MB; TACRED 68k x 30 x 43: 350 MB), for the `aum`
  # package, cleanlab and noisy_meta.analyze (docs/api.md).
  c.aum.save_logits = True

  c.clean = ml_collections.ConfigDict()
  c.clean.methods = ("sieve", "flip")  # sieve: drop flagged; flip: relabel them.
  # Whose automatic flags the job also cleans with (and examples.csv's
  # `flagged`): "aum" (the paper's percentile sweep only, which runs in any
  # case at clean.percentiles), or a detector with an automatic cut
  # (ensemble, probe, cleanlab, aum_bbe, knn, simifeat). The ensemble won
  # the detector benchmark (bench/research/detectors.py, docs/detectors.md).
  c.clean.detector = "ensemble"
  c.clean.percentiles = (1, 10, 50, 90, 99)  # Retrain at these (subset of aum.percentiles).
  c.clean.seeds = tuple(range(a.seeds))  # Training seeds of every retrain.
  # Checkpoints serve resume only: a finished run is read from its
  # metrics.json (dynamics.npz), so its ckpt/ is deleted unless kept here.
  c.clean.keep_checkpoints = False

  c.neighbors = ml_collections.ConfigDict()
  c.neighbors.k = 10  # Nearest neighbours in the encoder's embedding space.

  # Noisy-label detectors (noisy_meta/detectors.py), all from the two AUM
  # runs and the frozen encoder's embeddings; their scores are columns of
  # examples.csv and compared in report.md (docs/detectors.md).
  c.detect = ml_collections.ConfigDict()
  c.detect.k = 10  # Neighbours of the knn and simifeat detectors.
  c.detect.early_epochs = 1  # aum_early: the margins of these first epochs.
  c.detect.simifeat_rounds = 5  # SimiFeat's rounds of random feature subspaces.
  # probe: out-of-fold linear probes on the frozen embeddings, this many folds.
  c.detect.probe_folds = 10
  c.detect.seed = 0  # Feature subspaces, simulated wrong labels, folds.
  # The ensemble detector: the rank average of these detectors' scores
  # (those the job has: cleanlab needs detect.folds), chosen on the
  # benchmark's development datasets (docs/detectors.md).
  c.detect.ensemble = ("aum", "cleanlab", "probe")
  c.detect.aum_percentile = 99  # AUM's own cut (Pleiss et al.: the 99th percentile).
  # The automatic cuts' mixture-proportion estimate uses cut points above
  # which at least this share of threshold samples lie.
  c.detect.min_positive = 0.05
  # False: no frozen-encoder embeddings (knn, simifeat, probe and the
  # neighbour columns stay out), as in a logits-only analysis.
  c.detect.frozen = True
  # Out-of-fold probabilities of this many models of the same learner and
  # recipe, each trained on all but one fold (confident learning, the
  # ensemble, knn_oof); 0: none (the ensemble then averages aum and probe).
  # Costs folds - 1 trainings on the whole data (2: one).
  c.detect.folds = a.folds if a.folds != -1 else (0 if a.runlocal else 2)

  if a.runlocal:  # A smoke run of 1-2 minutes on a 2-core CPU (5 trainings).
    # Relations: 19 classes, 800 // 20 // 19 = 2 threshold samples per class.
    cap = 800 if relation_task else 128
    c.input.train_size = min(a.train_size, cap) if a.train_size else cap
    c.num_epochs = 2  # Two margin measurements per example.
    c.aum.percentiles = (10, 50, 99)
    c.clean.percentiles = (50,)
    c.clean.seeds = (0,)
  return c
