r"""MLRC over the classes of a text task: the text classifier, a meta-task per class.

  python -m noisy_meta.main --config=configs/mlrc_text.py:runlocal --workdir=/tmp/mlrc_text
  python -m noisy_meta.main --config=configs/mlrc_text.py:fractions=0.01+0.1,runs=3,tasks=2 \
      --workdir=runs/mlrc_cola

The supervised recipe is the fine-tuning one (configs/finetune_cola.py); a
text task has no labelled test split, so scores are the final dev metric
(MCC on CoLA). CoLA has two classes: meta.tasks is at most 2. Label noise
and its switches as on SemEval (configs/mlrc.py), uniform noise only (the
other models are relations'):

  python -m noisy_meta.main --config=configs/mlrc_text.py:fraction=0.1,runs=3,tasks=2,noise=0.2,trusted_per_class=2,loss=gce \
      --workdir=runs/mlrc_cola_noise
"""
from configs import mlrc


def get_config(arg=None):
  return mlrc.get_config(arg, dataset="cola")
