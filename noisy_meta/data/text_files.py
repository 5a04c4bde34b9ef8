"""Readers for text-classification data: GLUE CoLA / SST-2 files and any TSV/CSV.

Every reader returns a `TextData`: texts, integer labels, the label names and,
per row, where it came from (file and 1-based line) so that later stages can
name the exact input line of any example. Malformed input raises
`errors.InputError` with file and line; nothing is dropped silently (a blank
line is no row). Labels that look wrong are refused with their line (a
missing-value marker such as `nan`, one number or one word written two ways);
what is odd but usable is kept in `TextData.warnings` for the job's report.
"""
import csv
import dataclasses
import errno
import itertools
import os
import stat
import sys

import numpy as np

from noisy_meta.core import errors
from noisy_meta.data import label_checks


@dataclasses.dataclass
class TextData:
  """One split of a text-classification dataset."""
  texts: list
  labels: np.ndarray  # int32 [N], indices into label_names.
  label_names: tuple
  sources: list  # "file:line" per example.

  def __post_init__(self):
    # One line per oddity the reader let through (e.g. dev equal to train),
    # for the job's report. Not a field: fingerprints (guards.fingerprint)
    # and equality see the data only.
    self.warnings = []

  def __len__(self):
    return len(self.texts)

  def subset(self, idx):
    idx = np.asarray(idx)
    out = TextData([self.texts[i] for i in idx], self.labels[idx],
                   self.label_names, [self.sources[i] for i in idx])
    out.warnings = list(self.warnings)
    return out


def configured_data_dir(configured=""):
  """The config value, else $NOISY_META_DATA_DIR, else "": the one place that
  reads the variable."""
  return configured or os.environ.get("NOISY_META_DATA_DIR", "")


def data_dir(configured=""):
  """The data directory (`configured_data_dir`), which must exist."""
  path = configured_data_dir(configured)
  if not path:
    raise errors.InputError(
        "No data directory: set config.input.data_dir or NOISY_META_DATA_DIR "
        "(e.g. export NOISY_META_DATA_DIR=../shared/data).")
  if not os.path.isdir(path):
    raise errors.InputError(f"Data directory {path!r} does not exist.")
  return path


# csv's default field limit (131072 characters) would refuse a long document
# with a bare `_csv.Error`; long texts are cut by the tokenizer anyway, so
# fields up to 2**31 - 1 characters are read (the most a 32-bit C long, the
# limit's type on Windows, holds; sys.maxsize would overflow there).
_FIELD_SIZE_LIMIT = min(sys.maxsize, 2**31 - 1)
# Delimiters typed as escapes: `--config.input.delimiter='\t'` passes a
# backslash and a "t", not a tab.
_DELIMITER_ESCAPES = {"\\t": "\t"}


def _delimiter(value, path):
  """The one-character field separator for `value` (`\\t` read as a tab)."""
  delimiter = _DELIMITER_ESCAPES.get(value, value)
  if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
    raise errors.InputError(
        f"{path}: delimiter {value!r} cannot separate fields: use one character "
        "other than a quote or a newline, e.g. --config.input.delimiter=, (a "
        "typed '\\t' is read as a tab).")
  return delimiter


def check_file(path, what="file"):
  """Raises InputError unless `path` is a regular file, saying what it is
  instead (missing, a folder, a symbolic link loop or a dangling link)."""
  try:
    mode = os.stat(path).st_mode
  except ValueError:  # "embedded null byte"
    raise errors.InputError(f"{path!r}: not a usable path (it holds a NUL "
                            "character).") from None
  except OSError as e:
    if e.errno == errno.ELOOP:
      raise errors.InputError(f"{path}: a symbolic link loop (too many levels of "
                              f"symbolic links), not a {what}.") from None
    if os.path.islink(path):
      raise errors.InputError(f"{path}: a symbolic link to {os.readlink(path)!r}, "
                              "which does not exist.") from None
    if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):
      raise errors.InputError(f"{path}: {what} not found.") from None
    raise errors.InputError(f"{path}: cannot read it: {e.strerror}.") from None
  if stat.S_ISDIR(mode):
    raise errors.InputError(f"{path}: a folder, not a {what}.")
  if not stat.S_ISREG(mode):
    raise errors.InputError(f"{path}: a device, pipe or socket, not a {what}.")


def utf8_error(path):
  """An InputError naming the first line of `path` that is not UTF-8."""
  with open(path, "rb") as f:
    head = f.read(4)
  for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                    (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
    if head.startswith(bom):
      return errors.at(path, 1, f"{name} text (it starts with a {name} byte-order "
                       "mark), not UTF-8; save the file as UTF-8.")
  with open(path, "rb") as f:
    for line, raw in enumerate(f, 1):
      try:
        raw.decode("utf-8")
      except UnicodeDecodeError as e:
        return errors.at(path, line, f"not valid UTF-8 text (byte {e.start + 1} of "
                         f"the line, {raw[e.start:e.start + 1]!r}): {e.reason}; "
                         "save the file as UTF-8.")
  return errors.InputError(f"{path}: not valid UTF-8 text.")


def _read_rows(path, delimiter, quoting):
  """Yields (line_number, fields) of a delimited UTF-8 file, BOM stripped."""
  check_file(path)
  csv.field_size_limit(max(csv.field_size_limit(), _FIELD_SIZE_LIMIT))
  line = 1
  try:
    # utf-8-sig: a byte-order mark (Excel, Notepad) is not part of the header.
    with open(path, encoding="utf-8-sig", newline="") as f:
      reader = csv.reader(f, delimiter=delimiter, quoting=quoting)
      for fields in reader:
        if fields:  # A blank line is no row.
          yield line, fields
        line = reader.line_num + 1
  except UnicodeDecodeError:
    raise utf8_error(path) from None
  except OSError as e:
    raise errors.InputError(f"{path}: cannot read it: {e.strerror}.") from None
  except csv.Error as e:
    raise errors.at(path, line, f"{e}.") from None


def _column_index(column, what, header, width, path, line):
  """The 0-based index of `column` (a header name, or an index)."""
  name = str(column).strip()
  # ASCII digits only ("²".isdigit() holds, int("²") fails), of a sane length.
  is_index = name.isascii() and name.isdigit() and len(name) < 10
  if header is not None and not is_index:
    positions = [i for i, h in enumerate(header) if h.strip() == name]
    if not positions:
      raise errors.at(path, line, f"no {what} column {name!r}; header has {header!r:.300}.")
    if len(positions) > 1:
      raise errors.at(path, line, f"the header names the {what} column {name!r} "
                      f"{len(positions)} times, at columns {positions[0]} and "
                      f"{positions[1]} (0-based); rename one.")
    return positions[0]
  if not is_index:
    raise errors.at(path, line, f"{what}_column={column!r} is not a 0-based index, "
                    "and without a header (has_header=False) columns have no names.")
  if int(name) >= width:
    raise errors.at(path, line, f"{what}_column={int(name)} is out of range: the "
                    f"{'header' if header is not None else 'row'} has {width} "
                    f"field(s), 0-based indices 0..{width - 1}.")
  return int(name)


def read_delimited(path, text_column, label_column, label_names=None,
                   delimiter="\t", has_header=True):
  """Reads a delimited text-classification file.

  Args:
    path: the file (UTF-8, a leading byte-order mark is ignored).
    text_column, label_column: header names, or 0-based indices (int or
      digit strings); the two must differ.
    label_names: the allowed labels in class order, each once; None takes
      the sorted set of labels found in this file, which must hold two at
      least (a training file: a classifier needs two classes) and none that
      looks wrong (`label_checks.check_found_labels`).
    delimiter: one-character field separator ("\\t" typed as two characters
      is a tab); "," reads CSV with quoting.
    has_header: whether the first line names the columns.
  """
  delimiter = _delimiter(delimiter, path)
  if label_names is not None:
    label_names = label_checks.check_label_names(label_names, path)
  quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
  rows = _read_rows(path, delimiter, quoting)
  try:
    first_line, first = next(rows)
  except StopIteration:
    raise errors.InputError(
        f"{path}: empty file ({'no header line' if has_header else 'no rows'}).") from None
  header = first if has_header else None
  width = len(first)
  t_col = _column_index(text_column, "text", header, width, path, first_line)
  l_col = _column_index(label_column, "label", header, width, path, first_line)
  if t_col == l_col:
    raise errors.at(path, first_line, f"text_column={text_column!r} and label_column="
                    f"{label_column!r} are the same column ({t_col}): the text "
                    "would contain its own label.")
  if not has_header:
    rows = itertools.chain([(first_line, first)], rows)
  texts, raw_labels, sources = [], [], []
  for line, fields in rows:
    if len(fields) != width:
      hint = ""
      if quoting != csv.QUOTE_NONE and any("\n" in x for x in fields):
        hint = " (an unclosed '\"' may have joined the lines that follow)"
      raise errors.at(path, line, f"expected {width} fields separated by "
                      f"{delimiter!r}, found {len(fields)}{hint}: {fields!r:.200}")
    text = fields[t_col].strip()
    if not text:
      raise errors.at(path, line, "empty text.")
    label = fields[l_col].strip()
    if not label:
      raise errors.at(path, line, f"empty label (column {l_col}).")
    texts.append(text)
    raw_labels.append(label)
    sources.append(f"{path}:{line}")
  if not texts:
    raise errors.InputError(f"{path}: no examples.")
  if label_names is None:
    label_checks.check_found_labels(raw_labels, sources)
    label_names = tuple(sorted(set(raw_labels)))
    label_checks.check_label_count(label_names, len(texts), path, label_column)
    if len(label_names) < 2:
      raise errors.InputError(
          f"{path}: all {len(texts)} examples have the label {label_names[0]!r}; "
          "a classifier needs two classes at least.")
  index = {name: i for i, name in enumerate(label_names)}
  labels = np.empty(len(texts), np.int32)
  for i, (raw, src) in enumerate(zip(raw_labels, sources)):
    if raw not in index:
      raise label_checks.unknown_label(raw, src, label_names)
    labels[i] = index[raw]
  return TextData(texts, labels, label_names, sources)


def concat(parts):
  """Concatenates splits that share one label set."""
  names = parts[0].label_names
  for p in parts[1:]:
    if p.label_names != names:
      raise errors.InputError(f"label sets differ: {names} vs {p.label_names}.")
  out = TextData(sum((p.texts for p in parts), []),
                 np.concatenate([p.labels for p in parts]), names,
                 sum((p.sources for p in parts), []))
  out.warnings = sum((p.warnings for p in parts), [])
  return out


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


# TREC question classification (Li and Roth 2002), 6 coarse classes. The
# release has a train file and a test file, no dev split: the test file is
# the evaluation split. Read from UTF-8 TSVs (`text`, `label` columns) when
# present, else from the original `COARSE:fine question` files (ISO-8859-1)
# as published by the UIUC Cognitive Computation Group.
TREC_LABELS = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
TREC_FILES = {"train": ("trec/train.tsv", "trec/train_5500.label"),
              "test": ("trec/test.tsv", "trec/TREC_10.label")}


def read_trec_original(path):
  """Reads an original TREC file: one `COARSE:fine question` per line."""
  texts, labels, sources = [], [], []
  index = {name: i for i, name in enumerate(TREC_LABELS)}
  with open(path, encoding="iso-8859-1") as f:
    for line_no, line in enumerate(f, 1):
      if not line.strip():
        continue
      tag, _, text = line.rstrip("\r\n").partition(" ")
      coarse = tag.split(":", 1)[0]
      if coarse not in index or ":" not in tag or not text.strip():
        raise errors.at(path, line_no, f"expected 'COARSE:fine question' with COARSE in "
                        f"{list(TREC_LABELS)}, found {line.strip()!r:.200}.")
      texts.append(text.strip())
      labels.append(index[coarse])
      sources.append(f"{path}:{line_no}")
  if not texts:
    raise errors.InputError(f"{path}: no examples.")
  return TextData(texts, np.asarray(labels, np.int32), TREC_LABELS, sources)


def read_trec(split, directory):
  """TREC `split` ("train" or "test") from `directory` (TSV, else original)."""
  tsv, original = (os.path.join(directory, f) for f in TREC_FILES[split])
  if os.path.isfile(tsv):
    return read_delimited(tsv, text_column="text", label_column="label",
                          label_names=TREC_LABELS)
  if os.path.isfile(original):
    return read_trec_original(original)
  raise errors.InputError(
      f"Data directory {directory!r} lacks TREC {split} ({TREC_FILES[split][0]} or "
      f"{TREC_FILES[split][1]}; the originals are at "
      "https://cogcomp.seas.upenn.edu/Data/QA/QC/).")
