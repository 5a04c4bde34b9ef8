r"""AUM on SST-2 (Talukdar et al.), on a seeded train subset sized for the machine.

  python -m noisy_meta.main --config=configs/aum_sst2.py:train_size=10000,noise=0.2 --workdir=runs/aum_sst2_n20
  python -m noisy_meta.main --config=configs/aum_sst2.py:runlocal --workdir=/tmp/aum_sst2
"""
from configs import common


def get_config(arg=None):
  return common.aum_config("sst2", arg, train_size=10000)
