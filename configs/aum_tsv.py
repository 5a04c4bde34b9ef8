r"""AUM on your own delimited files: find, then sieve or flip, mislabelled rows.

  python -m noisy_meta.main --config=configs/aum_tsv.py --workdir=runs/aum_mine \
    --config.input.train_file=train.tsv --config.input.dev_file=dev.tsv \
    --config.input.text_column=sentence --config.input.label_column=label
  python -m noisy_meta.main --config=configs/aum_tsv.py:runlocal,seeds=1 --workdir=/tmp/aum_mine \
    --config.input.train_file=train.csv --config.input.dev_file=dev.csv \
    --config.input.delimiter=, --config.input.text_column=review \
    --config.input.label_column=stars

The whole training file is used (train_size=0) unless `train_size=N` asks for
a seeded subset. `:runlocal` (two epochs, one retrain seed) draws 256 training
and the first 128 dev rows (a smaller file is used whole). examples.csv names each row's
file:line, so the flagged rows can be found in your file.
"""
from configs import aum


def get_config(arg=None):
  c = aum.get_config(arg, task="tsv")
  # Your files; both are required. Read by noisy_meta/data/text_files.py.
  c.input.train_file = ""
  c.input.dev_file = ""  # Its labels must be among the training labels.
  c.input.text_column = "sentence"  # Header name, or 0-based index.
  c.input.label_column = "label"  # Header name, or 0-based index; not the text column.
  c.input.delimiter = "\t"  # One character; "," reads quoted CSV; a typed "\t" is a tab.
  c.input.has_header = True  # False: columns are 0-based indices.
  c.input.labels = ()  # Label strings in class order; empty: sorted training labels.
  return c
