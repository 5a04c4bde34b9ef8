r"""AUM on CoLA (Talukdar et al.): find, then sieve or flip, mislabelled sentences.

  python -m noisy_meta.main --config=configs/aum_cola.py --workdir=runs/aum_cola
  python -m noisy_meta.main --config=configs/aum_cola.py:runlocal --workdir=/tmp/aum_cola
  python -m noisy_meta.main --config=configs/aum_cola.py:noise=0.2,seeds=3 --workdir=runs/aum_cola_n20
"""
from configs import aum


def get_config(arg=None):
  return aum.get_config(arg, task="cola")
