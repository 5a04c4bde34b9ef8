r"""Supervised relation classification on TACRED (LDC; bring your own copy).

  python -m noisy_meta.main --config=configs/re_tacred.py:model=cgcn --workdir=runs/tacred \
      --config.input.tacred_dir=/path/to/tacred/data/json
  # TACRED-Revisited labels (dev and test relabelled; DFKI-NLP/tacrev):
  #   --config.input.label_patch=/path/to/tacrev/patch
  # Re-TACRED (40 relations, unlisted examples dropped; gstoica27/Re-TACRED):
  #   --config.input.label_patch=/path/to/Re-TACRED/Re-TACRED
"""
from configs import relation


def get_config(arg=None):
  return relation.get_config(arg, dataset="tacred")
