r"""AUM and the noisy-label detectors on TREC question classification (6 classes).

  python -m noisy_meta.main --config=configs/aum_trec.py:noise=0.2 --workdir=runs/aum_trec_n20
  python -m noisy_meta.main --config=configs/aum_trec.py:runlocal --workdir=/tmp/aum_trec

Reads `trec/train.tsv` and `trec/test.tsv` (or the original `train_5500.label`
and `TREC_10.label`) from the data directory; TREC has no dev split, so the
test file is the evaluation split (no detector is chosen on it).
"""
from configs import aum


def get_config(arg=None):
  return aum.get_config(arg, task="trec")
