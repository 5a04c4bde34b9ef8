r"""Fine-tune on your own delimited text-classification files.

  python -m noisy_meta.main --config=configs/finetune_tsv.py --workdir=runs/mine \
    --config.input.train_file=train.tsv --config.input.dev_file=dev.tsv \
    --config.input.text_column=sentence --config.input.label_column=label

Columns are header names, or 0-based indices with --config.input.has_header=False.
Use --config.input.delimiter=, for CSV (quoted fields are handled).
"""
from configs import finetune


def get_config(arg=None):
  return finetune.get_config(arg, task="tsv")
