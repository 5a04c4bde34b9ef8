"""Readers for text-classification data: GLUE CoLA / SST-2 files and any TSV/CSV.

Every reader returns a `TextData`: texts, integer labels, the label names and,
per row, where it came from (file and 1-based line) so that later stages can
name the exact input line of any example. Malformed input raises
`errors.InputError` with file and line; nothing is dropped silently.
"""
import csv
import dataclasses
import os

import numpy as np

from noisy_meta import errors


@dataclasses.dataclass
class TextData:
  """One split of a text-classification dataset."""
  texts: list
  labels: np.ndarray  # int32 [N], indices into label_names.
  label_names: tuple
  sources: list  # "file:line" per example.

  def __len__(self):
    return len(self.texts)

  def subset(self, idx):
    idx = np.asarray(idx)
    return TextData([self.texts[i] for i in idx], self.labels[idx],
                    self.label_names, [self.sources[i] for i in idx])


def data_dir(configured=""):
  """The data directory: the config value, else $NOISY_META_DATA_DIR."""
  path = configured or os.environ.get("NOISY_META_DATA_DIR", "")
  if not path:
    raise errors.InputError(
        "No data directory: set config.input.data_dir or NOISY_META_DATA_DIR "
        "(e.g. export NOISY_META_DATA_DIR=../shared/data).")
  if not os.path.isdir(path):
    raise errors.InputError(f"Data directory {path!r} does not exist.")
  return path


def _read_rows(path, delimiter, quoting):
  """Yields (line_number, fields) of a delimited UTF-8 file."""
  if not os.path.isfile(path):
    raise errors.InputError(f"{path}: file not found.")
  try:
    with open(path, encoding="utf-8", newline="") as f:
      reader = csv.reader(f, delimiter=delimiter, quoting=quoting)
      line = 1
      for fields in reader:
        yield line, fields
        line = reader.line_num + 1
  except UnicodeDecodeError as e:
    raise errors.InputError(
        f"{path}: not valid UTF-8 text (byte {e.start}): {e.reason}.") from e


def read_delimited(path, text_column, label_column, label_names=None,
                   delimiter="\t", has_header=True):
  """Reads a delimited text-classification file.

  Args:
    path: the file.
    text_column, label_column: header names, or 0-based indices (int or
      digit strings) when the file has no header.
    label_names: the allowed labels in class order; None takes the sorted
      set of labels found in this file.
    delimiter: field separator; "," reads CSV with quoting.
    has_header: whether the first line names the columns.
  """
  quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
  rows = _read_rows(path, delimiter, quoting)
  header = None
  if has_header:
    try:
      _, header = next(rows)
    except StopIteration:
      raise errors.InputError(f"{path}: empty file (no header line).") from None

  def column_index(column, what):
    if header is not None and not str(column).isdigit():
      if column not in header:
        raise errors.at(path, 1, f"no {what} column {column!r}; header has {header}.")
      return header.index(column)
    return int(column)

  t_col = column_index(text_column, "text")
  l_col = column_index(label_column, "label")
  width = len(header) if header is not None else None
  texts, raw_labels, sources = [], [], []
  for line, fields in rows:
    if width is None:
      width = len(fields)
    if len(fields) != width or max(t_col, l_col) >= len(fields):
      raise errors.at(path, line, f"expected {width} fields separated by "
                      f"{delimiter!r}, found {len(fields)}: {fields!r:.200}")
    text = fields[t_col].strip()
    if not text:
      raise errors.at(path, line, "empty text.")
    texts.append(text)
    raw_labels.append(fields[l_col].strip())
    sources.append(f"{path}:{line}")
  if not texts:
    raise errors.InputError(f"{path}: no examples.")
  if label_names is None:
    label_names = tuple(sorted(set(raw_labels)))
  label_names = tuple(str(x) for x in label_names)
  index = {name: i for i, name in enumerate(label_names)}
  labels = np.empty(len(texts), np.int32)
  for i, (raw, src) in enumerate(zip(raw_labels, sources)):
    if raw not in index:
      raise errors.InputError(
          f"{src}: unknown label {raw!r}; expected one of {list(label_names)}.")
    labels[i] = index[raw]
  return TextData(texts, labels, label_names, sources)


def concat(parts):
  """Concatenates splits that share one label set."""
  names = parts[0].label_names
  for p in parts[1:]:
    if p.label_names != names:
      raise errors.InputError(f"label sets differ: {names} vs {p.label_names}.")
  return TextData(sum((p.texts for p in parts), []),
                  np.concatenate([p.labels for p in parts]), names,
                  sum((p.sources for p in parts), []))


# GLUE tasks as local files under the data directory. CoLA: the v1.0 raw
# release (no header; source, label, original mark, sentence). GLUE's CoLA
# dev set is in-domain dev + out-of-domain dev (1043 sentences).
GLUE_FILES = {
    "cola": dict(
        train=["cola/in_domain_train.tsv"],
        validation=["cola/in_domain_dev.tsv", "cola/out_of_domain_dev.tsv"],
        kwargs=dict(text_column=3, label_column=1, has_header=False),
        label_names=("0", "1")),
    "sst2": dict(
        train=["sst2/train.tsv"],
        validation=["sst2/dev.tsv"],
        kwargs=dict(text_column="sentence", label_column="label", has_header=True),
        label_names=("0", "1")),
}


def has_local_glue(task, directory):
  """Whether all files of a GLUE task are in the directory."""
  spec = GLUE_FILES[task]
  return all(os.path.isfile(os.path.join(directory, f))
             for f in spec["train"] + spec["validation"])


def read_local_glue(task, split, directory):
  """Reads GLUE `task` ("cola" or "sst2") split ("train"/"validation")."""
  if task not in GLUE_FILES:
    raise errors.InputError(f"Unknown GLUE task {task!r}; known: {sorted(GLUE_FILES)}.")
  spec = GLUE_FILES[task]
  parts = [read_delimited(os.path.join(directory, f), delimiter="\t",
                          label_names=spec["label_names"], **spec["kwargs"])
           for f in spec[split]]
  return concat(parts)


def read_tfds_glue(task, split, data_dir=None):
  """Reads GLUE through tensorflow-datasets (online), without TensorFlow.

  `tfds.load` needs TensorFlow; `tfds.data_source` over the array_record
  format does not, so that is the path used here. Downloads and prepares
  the dataset on first use.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  # Registers the GLUE builder: without TensorFlow it is not auto-imported.
  import tensorflow_datasets.text.glue  # pylint: disable=g-import-not-at-top,unused-import
  source = tfds.data_source(f"glue/{task}", split=split, data_dir=data_dir or None,
                            builder_kwargs=dict(file_format="array_record"))
  texts, labels, sources = [], [], []
  for i in range(len(source)):
    ex = source[i]
    text = ex["sentence"]
    text = text.decode("utf-8") if isinstance(text, bytes) else str(text)
    texts.append(text.strip())
    labels.append(int(ex["label"]))
    sources.append(f"tfds:glue/{task}/{split}[{i}]")
  return TextData(texts, np.asarray(labels, np.int32), ("0", "1"), sources)
