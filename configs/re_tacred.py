r"""Supervised relation classification on TACRED (LDC; bring your own copy).

  python -m noisy_meta.main --config=configs/re_tacred.py:model=cgcn --workdir=runs/tacred \
      --config.input.tacred_dir=/path/to/tacred/data/json
  # TACRED-Revisited / Re-TACRED labels: --config.input.label_patch=/path/to/patch.json
"""
from configs import common


def get_config(arg=None):
  return common.relation_config("tacred", arg)
