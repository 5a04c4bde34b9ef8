r"""A fast first scan of your own delimited files: which rows look mislabelled,
before any fine-tuning (configs/scan.py; the full job is configs/aum_tsv.py).

  python -m noisy_meta.main --config=configs/scan_tsv.py --workdir=runs/scan_mine \
    --config.input.train_file=train.tsv --config.input.dev_file=dev.tsv \
    --config.input.text_column=sentence --config.input.label_column=label

The whole training file is scanned (train_size=0) unless `train_size=N` asks
for a seeded subset. The dev file is read (as the AUM job's) but not scored.
examples.csv names each row's file:line.
"""
from configs import scan


def get_config(arg=None):
  c = scan.get_config(arg, task="tsv")
  # Your files; both are required. Read by noisy_meta/data/text_files.py.
  c.input.train_file = ""
  c.input.dev_file = ""  # Its labels must be among the training labels.
  c.input.text_column = "sentence"  # Header name, or 0-based index.
  c.input.label_column = "label"  # Header name, or 0-based index; not the text column.
  c.input.delimiter = "\t"  # One character; "," reads quoted CSV; a typed "\t" is a tab.
  c.input.has_header = True  # False: columns are 0-based indices.
  c.input.labels = ()  # Label strings in class order; empty: sorted training labels.
  return c
