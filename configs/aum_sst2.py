r"""AUM on SST-2 (Talukdar et al.), on a seeded train subset sized for the machine.

  python -m noisy_meta.main --config=configs/aum_sst2.py:train_size=10000,noise=0.2 --workdir=runs/aum_sst2_n20
  python -m noisy_meta.main --config=configs/aum_sst2.py:runlocal --workdir=/tmp/aum_sst2
"""
from configs import aum

# Talukdar et al.'s grid: SST-2, Table 1's percentiles, Table 5's uniform
# noise rates, mean +- std over 3 retraining seeds. launch/sweep.py reads it.
PAPER_GRID = dict(datasets=("sst2",), noise=(0.0, 0.2, 0.4),
                  percentiles=(1, 10, 50, 90, 99), seeds=(0, 1, 2))


def get_config(arg=None):
  return aum.get_config(arg, task="sst2", train_size=10000)
