r"""A fast first scan: every training row scored by the detectors that need no
fine-tuning (noisy_meta/trainers/scan.py), from one pass of the frozen encoder.

  python -m noisy_meta.main --config=configs/scan_sst2.py:train_size=50000 --workdir=runs/scan_sst2
  python -m noisy_meta.main --config=configs/scan.py:runlocal,noise=0.2 --workdir=/tmp/scan_cola

The family of configs/scan_{tsv,sst2,trec,semeval}.py, which are the entry
points (run as a config file itself, it scans CoLA). A text task builds on
configs/finetune.py, a relation dataset on configs/relation.py (default
model=transformer: its pretrained encoder's entity-start vectors), and
takes that family's arguments; noise=, noise_kind=, noise_seed= inject
noise as configs/aum.py does, so the scan is scored against it. Nothing is
trained: the optimiser and epoch fields of the family are unused.
"""
import ml_collections

from configs import aum
from configs import common
from configs import finetune
from configs import relation
from configs import rules

RELATION_DATASETS = relation.DATASETS


def get_config(arg=None, task="cola", **task_defaults):
  """The scan config of `task`; `task_defaults` change argument defaults."""
  relation_task = task in RELATION_DATASETS
  family = relation.ARGS if relation_task else finetune.ARGS
  defaults = dict(family, noise=0.0, noise_kind="uniform", noise_seed=100)
  if relation_task:
    defaults["model"] = "transformer"  # A pretrained encoder: a frozen view worth probing.
  defaults.update(task_defaults)
  a = common.parse_arg(arg, **defaults)
  c = relation.build(task, a) if relation_task else finetune.build(task, a)
  c.trainer = "scan"
  if not relation_task:
    # Finer padded lengths than fine-tuning's: encoding is the scan's cost,
    # and each bucket compiles once (the persistent cache keeps it).
    c.input.buckets = (8, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128)
    c.input.eval_batch_size = 128  # Rows per encoder pass.

  # Synthetic noise, as configs/aum.py's block (noisy_meta/data/noise.py).
  c.noise = ml_collections.ConfigDict()
  c.noise.rate = a.noise  # Share of train labels flipped (0: the data as given).
  c.noise.kind = a.noise_kind.replace("+", ",")  # uniform | class_conditional | a mix.
  c.noise.pairing = ""  # Pair noise's map (configs/aum.py).
  c.noise.back_rate = 0.0  # Negative noise: share of negatives made positive.
  c.noise.from_patch = False  # TACRED: the labels before input.label_patch.
  c.noise.seed = a.noise_seed  # 100: seed 000's, as the detector benchmark.

  # The detectors (noisy_meta/detectors.py's, on the frozen view only).
  c.detect = ml_collections.ConfigDict()
  c.detect.k = 10  # Neighbours of knn and simifeat.
  c.detect.simifeat_rounds = 5  # SimiFeat's rounds of random feature subspaces.
  c.detect.probe_folds = 10  # Out-of-fold linear probes: this many folds.
  c.detect.seed = 0  # Feature subspaces, folds, samples.
  # The ensemble: the rank average of these scan detectors. probe + simifeat
  # beat probe + knn + simifeat at every size measured, and the probe alone
  # on SST-2 at 10,000 and 50,000 rows, not below (docs/scan.md).
  c.detect.ensemble = ("probe", "simifeat")

  c.scan = ml_collections.ConfigDict()
  # Whose automatic flags are examples.csv's `flagged`: probe and ensemble
  # cut at confident learning's count on the probes' out-of-fold
  # probabilities; knn at the neighbours' majority; simifeat at HOC's counts.
  # The probe: the best scan detector at 1000 rows and on all of TREC and
  # CoLA; the ensemble overtakes it on SST-2 at 10,000+ rows (docs/scan.md).
  c.scan.detector = "probe"
  # Probe every layer too (their principal components, as the AUM job's
  # probe does); False: the last layer only (half the probe's cost).
  c.scan.layers = True
  # Above this many rows, the probe's regularisation strength is chosen on a
  # seeded sample of this size (then one strength is fitted on all rows),
  # and HOC's noise transition matrix is estimated on such a sample; at or
  # below it, both are exactly the AUM job's.
  c.scan.sample_rows = 10000

  if a.runlocal and not common.given(a, "train_size"):  # A smoke run: seconds.
    c.input.train_size = 300 if relation_task else 256
  return c


SCAN_RULES = {
    **{k: v for k, v in aum.AUM_RULES.items() if k.startswith("noise.")},
    "detect.k": aum.AUM_RULES["detect.k"],
    "detect.simifeat_rounds": aum.AUM_RULES["detect.simifeat_rounds"],
    "detect.probe_folds": aum.AUM_RULES["detect.probe_folds"],
    "detect.seed": aum.AUM_RULES["detect.seed"],
    "detect.ensemble": rules.sequence(rules.choice("noisy_meta.trainers.scan:PARTS")),
    "scan.detector": rules.choice("noisy_meta.trainers.scan:CUTS"),
    "scan.layers": rules.flag(),
    "scan.sample_rows": rules.integer(100, rules.MAX_SIZE),
}


def _base(c):
  """The family of the learner: configs/relation.py or configs/finetune.py."""
  return relation if "dataset" in c.input else finetune


def rules_of(c):
  """The rule of every field of scan config `c`: its learner's family's, then the scan's."""
  return {**_base(c).rules_of(c), **SCAN_RULES}


TRAINERS = ("scan",)  # The trainers its configs run (noisy_meta/validate.py).


def cross_rules(c):
  """Rules across fields: the learner family's (the scan adds none)."""
  return _base(c).CROSS_RULES
