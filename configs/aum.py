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
from configs import rules

RELATION_DATASETS = relation.DATASETS
# Arguments whose value no field keeps as typed (seeds=-1 would be no seeds).
ARG_RULES = {"seeds": rules.integer(0, 1000), "folds": rules.integer(-1, 1000)}


def get_config(arg=None, task="cola", **task_defaults):
  """The AUM config of `task`; `task_defaults` change argument defaults."""
  relation_task = task in RELATION_DATASETS
  # folds=-1: 2 fold models, none for :runlocal (an explicit folds=K is kept).
  defaults = dict(relation.ARGS if relation_task else finetune.ARGS, noise=0.0,
                  noise_kind="uniform", noise_seed=100, seeds=3, folds=-1)
  defaults.update(task_defaults)
  a = common.parse_arg(arg, **defaults)
  common.check_args(a, ARG_RULES)

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
  # What the job retrains with (noisy_meta/trainers/repair.py): `method` by
  # clean.detector's cut or `method:detector` (e.g. sieve:cleanlab, confident
  # learning's prune and retrain). sieve: drop flagged; flip: relabel them to
  # the AUM run's best other class; relabel: to the out-of-fold models' best
  # other class; relabel_soft: flagged rows learn a mix of the given label and
  # the out-of-fold probabilities; reweight: every row's loss weighted by the
  # probability its label is right; coteach: two networks teaching each other
  # (Han et al. 2018), forgetting the detector's estimated noise share; gce:
  # generalized cross-entropy (no detector). sieve and flip are also retrained
  # at every clean.percentiles of AUM (the paper's sweep).
  c.clean.methods = ("sieve", "flip")
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
  # With noise injected, retrain on the original labels too: the ceiling the
  # report measures each repair's recovered share against.
  c.clean.ceiling = True
  c.clean.gce_q = 0.7  # GCE's q (Zhang & Sabuncu 2018; 1: MAE, -> 0: cross-entropy).
  # Co-teaching's forget rate rises to the detector's noise estimate over
  # this many epochs (Han et al. 2018: T_k).
  c.clean.coteach_ramp_epochs = 1

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
  # How the ensemble weighs its parts: equal, or label_free (each part by its
  # separation of wrong labels estimated from the parts' rank covariances,
  # no noise mask needed: noisy_meta/detectors.label_free_weights).
  c.detect.ensemble_weights = "equal"
  # Parts whose label-free separation is under this share of the best part's
  # leave the ensemble first (0: keep every part; detectors.keep_strong).
  c.detect.ensemble_keep = 0.0
  # How many the ensemble flags: count (confident learning's count of label
  # issues on its parts' out-of-fold probabilities) or min (the smallest of
  # that, AUM's own cut's count and the threshold samples' mixture estimate,
  # aum_bbe's).
  c.detect.ensemble_cut = "count"
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
    # Arguments typed on the same line win (common.given).
    if not common.given(a, "train_size"):
      # Relations: 19 classes, 800 // 20 // 19 = 2 threshold samples per class.
      c.input.train_size = 800 if relation_task else 128
    if not common.given(a, "epochs"):
      c.num_epochs = 2  # Two margin measurements per example.
    c.aum.percentiles = (10, 50, 99)
    c.clean.percentiles = (50,)
    if not common.given(a, "seeds"):
      c.clean.seeds = (0,)
  return c


def _noise_kind(v):
  """One kind of noisy_meta/data/noise.py, or a mix of kind=rate pairs."""
  if isinstance(v, str) and "=" in v:
    return rules.accepted_by(
        "noisy_meta.data.noise:parse_mix", "give kind=rate pairs, rates in [0, 1)",
        call=lambda f, x: f(x, 0.0)).problem(v) or True
  return rules.choice("noisy_meta.data.noise:KINDS").problem(v) or True


def _repair_entry(v):
  """A clean.methods entry: a repair method, optionally `:detector` with a cut."""
  if not isinstance(v, str):
    return False
  method, _, detector = v.partition(":")
  # `oracle` (repair_lib.ORACLE): the injected mask, checked by the job.
  return (rules.choice("noisy_meta.repair_lib:METHODS").problem(method)
          or (detector and detector != "oracle"
              and rules.choice("noisy_meta.detectors:CUTS").problem(detector))
          or True)


PERCENTILE = rules.number(0, 100)
# The rule of every field that get_config adds, in its order (noisy_meta/validate.py).
AUM_RULES = {
    "noise.rate": rules.custom(
        lambda v: rules.is_number(v) and 0 <= v < 1,
        "a noise rate must be in [0, 1) (0: the labels as given).", 1.0),
    "noise.kind": rules.custom(_noise_kind, "must be a noise kind.", "swap"),
    "noise.pairing": rules.text(),
    "noise.back_rate": rules.number(0, 1, open_hi=True),
    "noise.from_patch": rules.flag(),
    "noise.seed": rules.seed(),
    "aum.threshold_mode": rules.choice(("equal", "random", "capped")),  # aum_lib's modes.
    "aum.threshold_divisor": rules.choice(("c+1", "c")),
    "aum.threshold_seed": rules.seed(),
    "aum.percentiles": rules.sequence(
        PERCENTILE, says="give percentiles in [0, 100], e.g. (1,10,50,90,99)."),
    "aum.margins": rules.choice(("train", "eval", "both")),
    "aum.save_logits": rules.flag(),
    "clean.methods": rules.sequence(rules.custom(
        _repair_entry, "give method or method:detector, a method of "
        "noisy_meta/repair_lib.py:METHODS and a detector with an automatic cut.", "x"),
        min_len=0),
    "clean.detector": rules.choice("noisy_meta.detectors:CUTS"),
    "clean.percentiles": rules.sequence(PERCENTILE, min_len=0),
    "clean.seeds": rules.sequence(rules.seed(), min_len=0),  # Empty: detection only.
    "clean.keep_checkpoints": rules.flag(),
    "clean.ceiling": rules.flag(),
    "clean.gce_q": rules.number(0, 1, open_lo=True),
    "clean.coteach_ramp_epochs": rules.integer(0, rules.MAX_EPOCHS),
    "neighbors.k": rules.integer(1, 10**4),
    "detect.k": rules.integer(1, 10**4),
    "detect.early_epochs": rules.integer(1, rules.MAX_EPOCHS),
    "detect.simifeat_rounds": rules.integer(1, 10**4),
    "detect.probe_folds": rules.integer(2, 1000),
    "detect.seed": rules.seed(),
    "detect.ensemble": rules.sequence(rules.choice(lambda: tuple(
        d for d in rules.names("noisy_meta.detectors:DETECTORS") if d != "ensemble"))),
    "detect.ensemble_weights": rules.choice(("equal", "label_free")),
    "detect.ensemble_cut": rules.choice(("count", "min")),
    "detect.ensemble_keep": rules.number(0, 1),
    "detect.aum_percentile": PERCENTILE,
    "detect.min_positive": rules.number(0, 1, open_lo=True, open_hi=True),
    "detect.frozen": rules.flag(),
    "detect.folds": rules.custom(
        lambda v: rules.is_int(v) and (v == 0 or 2 <= v <= 1000),
        "must be 0 (no confident learning) or 2 to 1000 folds.", 1),
}


def _base(c):
  """The family of the learner: configs/relation.py or configs/finetune.py."""
  return relation if "dataset" in c.input else finetune


def rules_of(c):
  """The rule of every field of AUM config `c`: its learner's family's, then AUM's."""
  return {**_base(c).rules_of(c), **AUM_RULES}


def _cleaned_at_swept(c):
  extra = [p for p in c.clean.percentiles if p not in tuple(c.aum.percentiles)]
  if extra:
    return ("clean.percentiles", c.clean.percentiles, f"{', '.join(map(str, extra))} not "
            f"among --config.aum.percentiles=({','.join(map(str, c.aum.percentiles))}) "
            "(flags exist only at those).")
  return None


def _early_epochs_are_early(c):
  if c.detect.early_epochs > c.num_epochs:  # aum_early would equal aum's score.
    return ("detect.early_epochs", c.detect.early_epochs, f"more than the "
            f"{c.num_epochs} epochs of --config.num_epochs: aum_early would be aum.")
  return None


def _detectors_have_inputs(c):
  if c.clean.detector == "cleanlab" and not c.detect.folds:
    return ("clean.detector", "cleanlab", "confident learning needs out-of-fold "
            "probabilities: set --config.detect.folds=K (K >= 2).")
  if "aum_eval" in c.detect.ensemble and c.aum.margins != "both":
    return ("detect.ensemble", c.detect.ensemble, "aum_eval needs --config.aum.margins=both.")
  return None


TRAINERS = ("aum",)  # The trainers its configs run (noisy_meta/validate.py).


def cross_rules(c):
  """Rules across fields: the learner family's, then AUM's."""
  return _base(c).CROSS_RULES + (_cleaned_at_swept, _detectors_have_inputs,
                                  _early_epochs_are_early)
