r"""Fine-tune a pretrained encoder on GLUE SST-2 (accuracy).

  python -m noisy_meta.main --config=configs/finetune_sst2.py:train_size=10000 --workdir=runs/sst2
  python -m noisy_meta.main --config=configs/finetune_sst2.py:runlocal --workdir=/tmp/sst2

`train_size=N` trains on a seeded subset of N phrases (0: all 67,349).
"""
from configs import finetune


def get_config(arg=None):
  return finetune.get_config(arg, task="sst2")
