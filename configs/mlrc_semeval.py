r"""MLRC (Obamuyide and Vlachos 2019) vs the supervised learner on SemEval-2010 Task 8.

  python -m noisy_meta.main --config=configs/mlrc_semeval.py:model=pa_lstm,fraction=0.01 \
      --workdir=runs/mlrc_pa_1pct
  python -m noisy_meta.main --config=configs/mlrc_semeval.py:model=cgcn,fractions=0.01+0.1+1,runs=5
  python -m noisy_meta.main --config=configs/mlrc_semeval.py:runlocal --workdir=/tmp/mlrc
  python -m noisy_meta.main --config=configs/mlrc_semeval.py:model=pa_lstm,iterations=300,fraction=0.1,runs=3,trusted_per_class=2,noise=0.2,reweight=meta \
      --workdir=runs/mlrc_noise/pa_lstm/f0.1_noise-0.2_reweight-meta

Under label noise (docs/mlrc.md, "Under label noise"): noise=R,
noise_type=uniform|direction|pair|negative, noise_seed, trusted_per_class
and the switches loss=gce, reweight=meta, clean=aum.
"""
from configs import mlrc

# The paper's grid (its Figures 1-2): both learners, these shares of the
# training set, 10 runs each. launch/sweep.py and launch/mlrc_paper.sh read it.
PAPER_GRID = dict(models=("pa_lstm", "cgcn"),
                  fractions=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0), runs=10)


def get_config(arg=None):
  return mlrc.get_config(arg, dataset="semeval")
