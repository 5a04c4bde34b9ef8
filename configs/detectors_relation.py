r"""The detector benchmark on relation data (issue 19): SemEval with relation noise.

  python -m bench.research.detectors --grid=configs/detectors_relation.py:model=pa_lstm --out=runs/bench/det_re_pa
  python -m bench.research.detectors --grid=configs/detectors_relation.py:model=transformer --out=runs/bench/det_re_tf

Every cell is one AUM job (configs/aum_semeval.py, detection only) with the
learner `model=` (pa_lstm, cgcn, transformer) and confident learning's folds
of the same learner; noise kinds uniform, direction and pair (each relation
to the one a clean model of the same learner confuses it with most:
`pairing=` a finished supervised workdir, e.g. runs/re/pa_s0, or a JSON
file; empty: a seeded map) at 20 %, noise seeds 100-102, and the original
training set. Arguments: model, pairing, noise_seeds (0: 3), folds, epochs (0: the
learner's recipe), size (the first N of the 7500 training sentences; 0:
all), clean_seeds, and `cpu`: a 2-core CPU's scale, 2000 sentences, noise
seed 100 only, 10 epochs (a PA-LSTM cell in well under an hour, a
Transformer cell's two AUM runs about 35 min on one core), unless those are
given. Ten for the Transformer too: with 3 its AUM runs measure margins of a
model still learning (docs/relation.md: AUROC 0.884 -> 0.967 uniform).

With clean_seeds=K the cleaning comparison follows: for each noise kind, the
first noise seed's cell retrained K times unfiltered, sieved and flipped by
AUM at each of `clean_percentiles` (the one scored on test is the one best
on dev), and K retrains on the original data (the clean reference); every
retrain is scored on test with the official scorer. K x (1 + 2 x
percentiles) retrains per kind:

  python -m bench.research.detectors --grid=configs/detectors_relation.py:model=pa_lstm,cpu,clean_seeds=3 --out=runs/bench/det_re_pa_cpu
"""
from configs import common
from configs import detectors
from configs import relation
from configs import rules


def get_config(arg=None):
  a = common.parse_arg(arg, model="pa_lstm", pairing="", noise_seeds=0, folds=2, epochs=0,
                       size=0, clean_seeds=0, cpu=False)
  common.check_args(a, detectors.ARG_RULES)
  a.noise_seeds = a.noise_seeds or (1 if a.cpu else 3)
  if a.cpu:
    a.size = a.size or 2000
    a.epochs = a.epochs or 10
  g = detectors.get_config(f"noise_seeds={a.noise_seeds},datasets=semeval,folds={a.folds},"
                           f"clean_seeds={a.clean_seeds}")
  g.model = a.model
  g.pairing = a.pairing
  g.sizes = {"semeval": a.size}
  g.epochs = a.epochs  # 0: the learner's own (PA-LSTM 30, C-GCN 100, Transformer 5).
  g.batch_size = g.lr = 0  # The learner's recipe.
  g.noise_kinds = ("uniform", "direction", "pair")
  g.noise_rates = (0.2,)
  g.clean_datasets = ("semeval",) if a.clean_seeds else ()
  g.clean_rates = (0.2,)
  g.clean_kinds = g.noise_kinds  # Every noise kind is cleaned (text grids: uniform).
  g.clean_methods = ("sieve", "flip")  # Flip: to the judging run's best other relation.
  # Candidate percentiles, the one best on dev reported on test (cpu: three).
  g.clean_percentiles = (10, 50, 99) if a.cpu else (10, 50, 90, 99)
  g.clean_detector = "aum"  # The sweep only: no extra retrains by another detector.
  g.clean_original = True  # Unfiltered retrains on the original data: the clean reference.
  return g


# detectors.py's rules, with the learner's recipe where 0 (epochs, batch_size, lr).
GRID_RULES = {
    **detectors.GRID_RULES,
    "model": rules.choice(tuple(relation.RELATION_MODELS), extra=("transformer",)),
    "pairing": rules.text(),  # A finished supervised workdir or a JSON file; empty: seeded.
    "epochs": rules.integer(0, rules.MAX_EPOCHS),
    "batch_size": rules.integer(0, rules.MAX_BATCH),
    "lr": rules.number(0),
}


def rules_of(g):
  """The rule of every field of grid `g`."""
  del g  # The same fields in every grid of this file.
  return GRID_RULES


cross_rules = detectors.cross_rules
