r"""A fast first scan of SST-2: no fine-tuning, every row scored (configs/scan.py).

  python -m noisy_meta.main --config=configs/scan_sst2.py:train_size=50000 --workdir=runs/scan_sst2
  python -m noisy_meta.main --config=configs/scan_sst2.py:train_size=1000,noise=0.2 --workdir=runs/scan_sst2_n20
  python -m noisy_meta.main --config=configs/scan_sst2.py:runlocal --workdir=/tmp/scan_sst2

train_size=0 scans all 67,349 training phrases.
"""
from configs import scan


def get_config(arg=None):
  return scan.get_config(arg, task="sst2")
