r"""Supervised relation classification on SemEval-2010 Task 8 (PA-LSTM, C-GCN).

  python -m noisy_meta.main --config=configs/re_semeval.py:model=pa_lstm --workdir=runs/re_pa
  python -m noisy_meta.main --config=configs/re_semeval.py:model=cgcn,seed=1 --workdir=runs/re_gcn
  python -m noisy_meta.main --config=configs/re_semeval.py:model=cgcn,runlocal --workdir=/tmp/re
"""
from configs import relation


def get_config(arg=None):
  return relation.get_config(arg, dataset="semeval")
