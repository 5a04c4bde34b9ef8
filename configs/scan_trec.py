r"""A fast first scan of TREC's 5452 training questions (configs/scan.py).

  python -m noisy_meta.main --config=configs/scan_trec.py --workdir=runs/scan_trec
  python -m noisy_meta.main --config=configs/scan_trec.py:noise=0.2,noise_kind=class_conditional \
      --workdir=runs/scan_trec_cc20
"""
from configs import scan


def get_config(arg=None):
  return scan.get_config(arg, task="trec")
