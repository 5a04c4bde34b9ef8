r"""A fast first scan of SemEval-2010 Task 8 (configs/scan.py): the Transformer
relation learner's frozen encoder, each layer's entity-start vectors.

  python -m noisy_meta.main --config=configs/scan_semeval.py --workdir=runs/scan_semeval
  python -m noisy_meta.main --config=configs/scan_semeval.py:noise=0.2,noise_kind=direction \
      --workdir=runs/scan_semeval_dir20

model=pa_lstm or model=cgcn scan mean GloVe vectors instead (their frozen view).
"""
from configs import scan


def get_config(arg=None):
  return scan.get_config(arg, task="semeval")
