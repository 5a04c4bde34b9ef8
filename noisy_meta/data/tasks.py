"""Text-classification splits selected by `config.input` (local files or TFDS).

`load_splits` also names what is odd but usable: its warnings are logged and
kept in the training split's `TextData.warnings` (the job's report repeats
them).
"""

from absl import logging
import numpy as np

from noisy_meta.core import errors
from noisy_meta.data import corrections
from noisy_meta.data import label_checks
from noisy_meta.data import text_files


def _glue_splits(inp):
  configured = text_files.configured_data_dir(inp.data_dir)
  if inp.source in ("local", "auto") and configured:
    directory = text_files.data_dir(configured)  # Raises if it does not exist.
    if not text_files.has_local_glue(inp.task, directory):
      if inp.source == "local":
        spec = text_files.GLUE_FILES[inp.task]
        raise errors.InputError(
            f"Data directory {directory!r} lacks GLUE {inp.task} files "
            f"{spec['train'] + spec['validation']}.")
    else:
      logging.info("Reading GLUE %s from local files in %s.", inp.task, directory)
      return (text_files.read_local_glue(inp.task, "train", directory),
              text_files.read_local_glue(inp.task, "validation", directory))
  if inp.source == "local":
    text_files.data_dir(configured)  # Raises with the reason.
  logging.info("Reading GLUE %s through tensorflow-datasets.", inp.task)
  try:
    return (text_files.read_tfds_glue(inp.task, "train"),
            text_files.read_tfds_glue(inp.task, "validation"))
  except Exception as e:  # pylint: disable=broad-except
    raise errors.InputError(
        f"Could not load glue/{inp.task} through tensorflow-datasets "
        f"({type(e).__name__}: {str(e)[:300]}). Offline, point "
        "NOISY_META_DATA_DIR (or config.input.data_dir) at a folder with "
        f"{text_files.GLUE_FILES[inp.task]['train']}.") from e


def load_splits(inp):
  """(train, dev) `TextData` for `config.input`, subsets and corrections applied."""
  if inp.task in text_files.GLUE_FILES:
    train, dev = _glue_splits(inp)
  elif inp.task == "tsv":
    missing = [f"--config.input.{k}" for k in ("train_file", "dev_file") if not inp[k]]
    if missing:
      raise errors.InputError(f"task=tsv reads your own files: give {' and '.join(missing)} "
                              "(a TSV or CSV file each).")
    kw = dict(text_column=inp.text_column, label_column=inp.label_column,
              delimiter=inp.delimiter, has_header=inp.has_header)
    train = text_files.read_delimited(inp.train_file, label_names=inp.labels or None, **kw)
    dev = text_files.read_delimited(inp.dev_file, label_names=train.label_names, **kw)
  elif inp.task == "trec":  # Local files only (TFDS has no TREC); test = the dev split.
    directory = text_files.data_dir(inp.data_dir)
    train, dev = text_files.read_trec("train", directory), text_files.read_trec("test", directory)
  else:
    raise errors.InputError(f"Unknown task {inp.task!r} (cola, sst2, trec, tsv).")
  where = {"tsv": inp.train_file, "trec": "TREC train"}.get(inp.task, f"GLUE {inp.task} train")
  dev_where = {"tsv": inp.dev_file, "trec": "TREC test"}.get(inp.task, f"GLUE {inp.task} dev")
  same = label_checks.held_out_warning(
      dev_where, list(zip(dev.texts, dev.labels.tolist())),
      zip(train.texts, train.labels.tolist()))
  warnings = [same] if same else []
  if inp.train_size and inp.train_size >= len(train):
    warnings.append(f"train_size={inp.train_size} but {where} has {len(train)} "
                    "examples: using all of them.")
  elif inp.train_size:
    # The subset depends on subset_seed only, so runs with other training
    # seeds see the same examples.
    rng = np.random.default_rng(inp.subset_seed)
    train = train.subset(np.sort(rng.choice(len(train), inp.train_size, replace=False)))
  if inp.get("corrections"):  # A person's decisions on these rows (ids: after train_size).
    train = corrections.correct_text(train, inp.corrections)
  present = np.unique(train.labels)
  if len(present) < 2:
    raise errors.InputError(
        f"{where}: all {len(train)} training examples (after train_size) have the label "
        f"{train.label_names[present[0]]!r}; a classifier needs two classes at least.")
  if inp.dev_size:
    dev = dev.subset(np.arange(min(inp.dev_size, len(dev))))
  warnings += label_checks.absent_classes(train, where)
  for line in warnings:
    logging.warning("%s", line)
  train.warnings = train.warnings + dev.warnings + warnings
  return train, dev
