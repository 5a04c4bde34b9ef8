r"""MLRC over the classes of a text task: the text classifier, a meta-task per class.

  python -m noisy_meta.main --config=configs/mlrc_text.py:runlocal --workdir=/tmp/mlrc_text
  python -m noisy_meta.main --config=configs/mlrc_text.py:fractions=0.01+0.1,runs=3,tasks=2 \
      --workdir=runs/mlrc_cola

The supervised recipe is the fine-tuning one (configs/finetune_cola.py); a
text task has no labelled test split, so scores are the final dev metric
(MCC on CoLA). CoLA has two classes: meta.tasks is at most 2.
"""
from configs import mlrc


def get_config(arg=None):
  return mlrc.get_config(arg, dataset="cola")
