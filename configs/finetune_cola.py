r"""Fine-tune a pretrained encoder on GLUE CoLA (accuracy and Matthews corr.).

  python -m noisy_meta.main --config=configs/finetune_cola.py --workdir=runs/cola
  python -m noisy_meta.main --config=configs/finetune_cola.py:runlocal --workdir=/tmp/cola
  python -m noisy_meta.main --config=configs/finetune_cola.py:model=distilbert,seed=3 ...
"""
from configs import finetune


def get_config(arg=None):
  return finetune.get_config(arg, task="cola")
