r"""A fast first scan of CoLA's 8551 in-domain training sentences (configs/scan.py).

  python -m noisy_meta.main --config=configs/scan_cola.py --workdir=runs/scan_cola
  python -m noisy_meta.main --config=configs/scan_cola.py:train_size=1000,noise=0.2 --workdir=runs/scan_cola_n20
"""
from configs import scan


def get_config(arg=None):
  return scan.get_config(arg, task="cola")
