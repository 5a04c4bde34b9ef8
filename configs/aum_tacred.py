r"""AUM on TACRED (LDC-licensed: your copy) with PA-LSTM, C-GCN or the Transformer.

  python -m noisy_meta.main --config=configs/aum_tacred.py:model=pa_lstm --workdir=runs/aum_tacred \
      --config.input.tacred_dir=/data/tacred
  # A published correction as the ground truth of which labels are wrong:
  python -m noisy_meta.main --config=configs/aum_tacred.py:model=pa_lstm --workdir=runs/aum_retacred \
      --config.input.tacred_dir=/data/tacred --config.input.label_patch=/data/re-tacred \
      --config.noise.from_patch=True

The pipeline of configs/aum_semeval.py (docs/relation.md, "Finding
mislabelled relation examples").
"""
from configs import aum


def get_config(arg=None):
  return aum.get_config(arg, task="tacred")
