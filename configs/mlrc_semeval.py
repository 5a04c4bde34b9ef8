r"""MLRC (Obamuyide and Vlachos 2019) vs the supervised learner on SemEval-2010 Task 8.

  python -m noisy_meta.main --config=configs/mlrc_semeval.py:model=pa_lstm,fraction=0.01 \
      --workdir=runs/mlrc_pa_1pct
  python -m noisy_meta.main --config=configs/mlrc_semeval.py:model=cgcn,fractions=0.01+0.1+1,runs=5
  python -m noisy_meta.main --config=configs/mlrc_semeval.py:runlocal --workdir=/tmp/mlrc
"""
from configs import common


def get_config(arg=None):
  return common.mlrc_config("semeval", arg)
