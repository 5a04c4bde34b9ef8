r"""MLRC (Obamuyide and Vlachos 2019) vs the supervised learner over fractions x runs.

  python -m noisy_meta.main --config=configs/mlrc.py:runlocal --workdir=/tmp/mlrc

The family of configs/mlrc_semeval.py and configs/mlrc_text.py, which are
the entry points (run as a config file itself, it is SemEval's): a relation
dataset (semeval, tacred) with PA-LSTM or C-GCN (configs/relation.py), or a
text task (cola, sst2, tsv) with the text classifier (configs/finetune.py),
where a meta-task is one class.
"""
import ml_collections

from configs import common
from configs import finetune
from configs import relation
from configs import rules

TEXT_TASKS = finetune.TEXT_TASKS


def get_config(arg=None, dataset="semeval"):
  """The MLRC config of `dataset` (a relation dataset or a text task)."""
  text = dataset in TEXT_TASKS
  a = common.parse_arg(arg, runlocal=False, seed=0,
                       model="minilm" if text else "pa_lstm", fraction=0.0,
                       fractions="0.01+0.1", runs="5", iterations=1000, tasks=8, inner_steps=3,
                       inner_batch=10, inner_lr=0.0, meta_lr=1.0, algorithm="reptile",
                       stratified=False, epochs=0,
                       task_axis="auto", trim_rows=False, markers="", noise=0.0,
                       noise_type="uniform", noise_seed=0, trusted_per_class=0, loss="ce",
                       reweight="none", clean="none")

  # The learner: the supervised config, its other arguments at their defaults.
  # Both set c.learner; input.train_size (0: all; :runlocal shrinks it) is
  # the training split that the fractions draw from.
  if text:  # Its own :runlocal shrink applies (a typed epochs=N wins).
    c = finetune.build(dataset, ml_collections.ConfigDict(dict(
        finetune.ARGS, runlocal=a.runlocal, seed=a.seed, model=a.model,
        epochs=a.epochs or 3, given=("epochs",) if a.epochs else ())))
  else:  # Shrunk for :runlocal below.
    c = relation.build(dataset, ml_collections.ConfigDict(dict(
        relation.ARGS, seed=a.seed, model=a.model, epochs=a.epochs,
        markers=a.markers)))
  c.trainer = "mlrc"
  c.runlocal = a.runlocal

  c.mlrc = ml_collections.ConfigDict()
  # fraction=F runs that one fraction (fraction=0 is refused, not read as
  # "unset"); else the '+'-separated grid.
  c.mlrc.fractions = ((a.fraction,) if common.given(a, "fraction") else
                      tuple(float(f) for f in a.fractions.split("+") if f))
  # runs=N: N runs at every fraction; runs=5+2+1: per fraction, in order.
  # Run r uses seed + r: its subset, init and batches.
  runs = [int(r) for r in str(a.runs).split("+") if r]
  if len(runs) not in (1, len(c.mlrc.fractions)):
    raise ValueError(f"runs={a.runs!r}: give one count or one per fraction "
                     f"({len(c.mlrc.fractions)}: {c.mlrc.fractions}).")
  c.mlrc.runs = max(runs)
  c.mlrc.runs_by_fraction = tuple(runs) if len(runs) > 1 else ()
  c.mlrc.stratified = a.stratified  # Per-relation sampling (at least one each).
  c.mlrc.delete_checkpoints = True  # Finished sub-runs keep metrics.json only.
  # Label noise (issue 36, docs/mlrc.md "Under label noise"): injected into
  # the sampled rows after sampling, so every variant of a run trains on the
  # same noisy rows; run r's flips are seeded by noise_seed + 1000 * (seed + r).
  c.mlrc.noise = a.noise  # Rate: the share of the sampled rows flipped.
  # uniform | direction | pair | negative (noisy_meta/data/noise.py) or a mix.
  c.mlrc.noise_type = a.noise_type
  c.mlrc.noise_seed = a.noise_seed
  c.mlrc.noise_pairing = ""  # pair noise: a {label: label} JSON; empty: a seeded map.
  # Clean rows per relation drawn outside the sampled rows and charged to its
  # budget (the sampled rows shrink by as many); every method trains on them,
  # reweight=meta also weighs against them. Give every variant of a grid the
  # same value, so all train on the same rows.
  c.mlrc.trusted_per_class = a.trusted_per_class
  c.mlrc.loss = a.loss  # ce | gce (baseline, inner loop and fine-tuning alike).
  c.mlrc.gce_q = 0.7  # GCE's q (Zhang & Sabuncu 2018).
  # none | meta: Ren et al. 2018's per-example weights against the trusted
  # set in MLRC's inner steps and fine-tuning (noisy_meta/reweight_lib.py).
  c.mlrc.reweight = a.reweight
  # vmap: per-example gradients, jax.vmap(jax.grad); double: the same dot
  # products by double backward (no per-example gradients; reweight_lib).
  c.mlrc.reweight_grads = "vmap"
  c.mlrc.clean = a.clean  # none | aum: AUM-flagged rows sieved before both.
  c.mlrc.clean_percentile = 99  # AUM threshold: this percentile of threshold samples.

  # Algorithm 1. The paper gives only the iterations (1000 on SemEval, 150 on
  # TACRED) and the learners' own hyperparameters; B, S, K and eps are ours
  # (README, "MLRC"): eps 1 annealed linearly to 0 as in Nichol et al. 2018.
  c.meta = ml_collections.ConfigDict()
  c.meta.algorithm = a.algorithm  # reptile | fomaml | maml.
  c.meta.iterations = a.iterations
  c.meta.tasks = a.tasks  # B: relations per meta-iteration.
  c.meta.inner_steps = a.inner_steps  # S: inner optimiser steps per task.
  c.meta.inner_batch = a.inner_batch  # K: instances of the relation per step.
  # sgd | adagrad | adam: PA-LSTM's and C-GCN's own; the text classifier's
  # AdamW has no inner-loop form here: SGD at 1e-3 (not tuned). The
  # Transformer relation learner: Adam without momentum at its fine-tuning
  # lr (Reptile's inner loop in Nichol et al. 2018; docs/relation.md).
  transformer = c.learner == "relation_transformer"
  c.meta.inner_optim = "sgd" if text else "adam" if transformer else c.optim.name
  c.meta.inner_lr = a.inner_lr or (1e-3 if text else 0.0)  # 0: the learner's lr.
  c.meta.inner_grad_clip = c.optim.grad_clip
  c.meta.meta_lr = a.meta_lr  # eps.
  c.meta.anneal = True
  c.meta.sampling = "uniform"  # p(R): uniform | proportional over present relations.
  # True: every meta-iteration padded to the subset's longest sentence (one
  # compile); False: to its own longest (one compile per length bucket).
  c.meta.fixed_length = False
  # vmap: the B tasks batched in one program (GPU/TPU); map: lax.map, one task
  # after another in the same jitted step (faster on XLA:CPU, same update);
  # auto: map on CPU, vmap elsewhere.
  c.meta.task_axis = a.task_axis
  # True: each meta-iteration's batches have as many rows as its most
  # populated task-step needs (a power of two, at most inner_batch): at 1 %
  # most relations have fewer than K rows. One compile per (rows, length):
  # on CPU the op count, not the rows, sets the time (docs/speed.md), so
  # off by default.
  c.meta.trim_rows = a.trim_rows
  c.meta.log_every = 50
  c.meta.checkpoint_every = 200

  if a.runlocal:  # Arguments typed on the same line win (common.given).
    if not text:
      c.input.train_size = 300
      c.num_epochs = a.epochs or 2
    if not (common.given(a, "fraction") or common.given(a, "fractions")):
      c.mlrc.fractions = (0.2, 0.5)
    if not common.given(a, "runs"):
      c.mlrc.runs = 2
      c.mlrc.runs_by_fraction = ()
    if not common.given(a, "iterations"):
      c.meta.iterations = 4
    if not common.given(a, "tasks"):
      c.meta.tasks = min(a.tasks, 2 if dataset in ("cola", "sst2") else 4)
    c.meta.log_every = 2
    c.meta.checkpoint_every = 2
  return c


# The rule of every field that get_config adds, in its order (noisy_meta/validate.py).
MLRC_RULES = {
    "mlrc.fractions": rules.sequence(
        rules.number(0, 1, open_lo=True),
        says="give fractions in (0, 1] (0.01 keeps 1% of the training set, 1 keeps all "
             "of it)."),
    "mlrc.runs": rules.integer(1, 1000),
    "mlrc.runs_by_fraction": rules.sequence(rules.integer(1, 1000), min_len=0),
    "mlrc.stratified": rules.flag(),
    "mlrc.delete_checkpoints": rules.flag(),
    "mlrc.noise": rules.number(0, 1, open_hi=True),
    "mlrc.noise_type": rules.accepted_by(
        "noisy_meta.data.noise:parse_mix", "an unknown noise model or mix",
        call=lambda f, v: f(v, 0.1)),
    "mlrc.noise_seed": rules.seed(),
    "mlrc.noise_pairing": rules.text(),
    "mlrc.trusted_per_class": rules.integer(0, 10**4),
    "mlrc.loss": rules.choice(("ce", "gce")),
    "mlrc.gce_q": rules.number(0, 1, open_lo=True),
    "mlrc.reweight": rules.choice(("none", "meta")),
    "mlrc.reweight_grads": rules.choice("noisy_meta.reweight_lib:BY"),
    "mlrc.clean": rules.choice(("none", "aum")),
    "mlrc.clean_percentile": rules.number(0, 100),
    "meta.algorithm": rules.choice("noisy_meta.meta_learning:ALGORITHMS"),
    "meta.iterations": rules.integer(1, rules.MAX_STEPS),
    "meta.tasks": rules.integer(1, 10**4),
    "meta.inner_steps": rules.integer(1, 10**4),
    "meta.inner_batch": rules.integer(1, rules.MAX_BATCH),
    "meta.inner_optim": rules.accepted_by(  # The meta-learner's own inner optimisers.
        "noisy_meta.meta_learning:inner_optimizer", "an unknown inner optimiser",
        call=lambda f, v: f(v, 1.0, 1.0)),
    "meta.inner_lr": rules.number(0),  # 0: the learner's lr.
    "meta.inner_grad_clip": rules.number(0, open_lo=True),
    "meta.meta_lr": rules.number(0, open_lo=True),
    "meta.anneal": rules.flag(),
    "meta.sampling": rules.choice(("uniform", "proportional")),
    "meta.fixed_length": rules.flag(),
    "meta.task_axis": rules.choice("noisy_meta.meta_learning:TASK_AXES", extra=("auto",)),
    "meta.trim_rows": rules.flag(),
    "meta.log_every": rules.integer(1, rules.MAX_STEPS),
    "meta.checkpoint_every": rules.integer(1, rules.MAX_STEPS),
}


def _base(c):
  """The family of the learner: configs/relation.py or configs/finetune.py."""
  return relation if "dataset" in c.input else finetune


def rules_of(c):
  """The rule of every field of MLRC config `c`: its learner's family's, then MLRC's."""
  return {**_base(c).rules_of(c), **MLRC_RULES}


def _runs_per_fraction(c):
  by = c.mlrc.runs_by_fraction
  if by and len(by) != len(c.mlrc.fractions):
    return ("mlrc.runs_by_fraction", by, f"give a run count >= 1 for each of the "
            f"{len(c.mlrc.fractions)} fractions.")
  return None


def _tasks_fit_semeval(c):
  relations = len(rules.names("noisy_meta.relation_metrics:SEMEVAL_LABELS"))
  if c.input.get("dataset") == "semeval" and c.meta.tasks > relations:
    return ("meta.tasks", c.meta.tasks, f"SemEval has {relations} relations; use at most "
            f"{relations} per meta-iteration.")
  return None


def _reweight_has_trusted(c):
  if c.mlrc.reweight == "meta" and c.mlrc.trusted_per_class < 1:
    return ("mlrc.reweight", c.mlrc.reweight, "weighs against a trusted set: give "
            "trusted_per_class >= 1 (e.g. :reweight=meta,trusted_per_class=2).")
  return None


TRAINERS = ("mlrc",)  # The trainers its configs run (noisy_meta/validate.py).


def cross_rules(c):
  """Rules across fields: the learner family's, then MLRC's."""
  return _base(c).CROSS_RULES + (_runs_per_fraction, _tasks_fit_semeval,
                                 _reweight_has_trusted)
