"""corrections.csv: a person's review decisions, applied to the training labels.

The explorer (noisy_meta/reports/explorer.py) exports them; the format is in
docs/explorer.md ("Review and corrections.csv"): a header naming the columns
`id,where,given,decision,new_label` (and, for the record only,
`score_aum,score_flagged,detector`), then one row per reviewed example:
`id` the training row (examples.csv's `id`), `where` its file:line
(examples.csv's `source`), `given` its label's name, `decision` relabel |
drop | keep, `new_label` the new label's name for relabel.

`read` parses and checks the file alone; `check` checks it against the
training data (ids, file:line, given labels, label names); `apply` gives
the corrected labels: relabel -> the new label, drop -> the row left out of
training, keep -> unchanged but reviewed. `load` does the three. Every
refusal is one line naming the file and line. Pure: no JAX, no config.
"""
import csv
import dataclasses
import io
import re

from absl import logging
import numpy as np

from noisy_meta.core import errors
from noisy_meta.data import label_checks
from noisy_meta.data import text_files

REQUIRED = ("id", "where", "given", "decision", "new_label")
OPTIONAL = ("score_aum", "score_flagged", "detector")  # What the explorer adds.
DECISIONS = ("relabel", "drop", "keep")
WRONG = ("relabel", "drop")  # A reviewed label judged wrong.
_MAX_ID_DIGITS = 18


@dataclasses.dataclass(frozen=True)
class Row:
  """One decision of corrections.csv; `line` is its 1-based line in the file."""
  line: int
  id: int
  where: str
  given: str
  decision: str
  new_label: str


@dataclasses.dataclass
class Corrected:
  """The training labels after a corrections file (`apply`)."""
  path: str
  keep: np.ndarray  # bool [N]: False for dropped rows.
  labels: np.ndarray  # int32 [N]: relabelled rows changed.
  reviewed: np.ndarray  # object [N]: the decision, "" for rows not reviewed.

  def counts(self):
    """{reviewed, relabelled, dropped, kept}: rows of each decision."""
    return {"reviewed": int(np.sum(self.reviewed != "")),
            "relabelled": int(np.sum(self.reviewed == "relabel")),
            "dropped": int(np.sum(self.reviewed == "drop")),
            "kept": int(np.sum(self.reviewed == "keep"))}

  def wrong(self):
    """bool [N]: rows a person judged wrong (relabel or drop)."""
    return np.isin(self.reviewed, WRONG)


def _decode(path):
  with open(path, "rb") as f:
    data = f.read()
  try:
    return data.decode("utf-8-sig")
  except UnicodeDecodeError:
    raise text_files.utf8_error(path) from None


def _header(path, line, fields):
  """{column name: index} of the header (on `line`), refused when a
  required column is missing, a column is unknown or named twice."""
  names = [f.strip() for f in fields]
  twice = sorted({n for n in names if names.count(n) > 1})
  if twice:
    raise errors.at(path, line, f"header names column {label_checks.shown(twice[0])} twice.")
  missing = [n for n in REQUIRED if n not in names]
  extra = [n for n in names if n not in REQUIRED + OPTIONAL]
  if missing or extra:
    problem = "; ".join(
        ([f"lacks column{'s' * (len(missing) > 1)} {', '.join(missing)}"] if missing else [])
        + ([f"has unknown column {label_checks.shown(extra[0])}"] if extra else []))
    raise errors.at(path, line, f"header {problem}: expected {','.join(REQUIRED)} (and "
                    f"optionally {','.join(OPTIONAL)}), as the explorer exports.")
  return {n: i for i, n in enumerate(names)}


def _row(path, line, fields, col):
  """A `Row` of one line's `fields`, or InputError at `line`."""
  if len(fields) != len(col):
    raise errors.at(path, line, f"{len(fields)} fields, but the header names {len(col)} "
                    "columns (a field with a comma must be in double quotes).")
  get = lambda name: fields[col[name]]
  raw_id = get("id")
  if not re.fullmatch(r"[0-9]{1,%d}" % _MAX_ID_DIGITS, raw_id):
    raise errors.at(path, line, f"id {label_checks.shown(raw_id)!r} is not a row number "
                    "(examples.csv's id: an integer from 0).")
  decision, new = get("decision"), get("new_label")
  if decision not in DECISIONS:
    raise errors.at(path, line, f"unknown decision {label_checks.shown(decision)!r}: use "
                    f"{', '.join(DECISIONS)}.")
  if decision == "relabel" and not new:
    raise errors.at(path, line, f"id {raw_id}: relabel without a new_label.")
  if decision != "relabel" and new:
    raise errors.at(path, line, f"id {raw_id}: new_label {label_checks.shown(new)!r} with "
                    f"decision {decision} (only relabel takes one).")
  for name in ("where", "given"):
    if not get(name):
      raise errors.at(path, line, f"id {raw_id}: empty {name}.")
  return Row(line, int(raw_id), get("where"), get("given"), decision, new)


def read(path):
  """The decisions of corrections file `path`, in file order (list of `Row`).

  Columns are picked by header name; blank lines are no rows. Raises
  InputError naming `path` and the line: a missing or unknown header
  column, a row with another number of fields, an id that is no row
  number or is given twice, an unknown decision, relabel without a new
  label (or a new label with drop/keep), an empty `where` or `given`.
  """
  text_files.check_file(path, "corrections file")
  text = _decode(path)
  reader = csv.reader(io.StringIO(text, newline=""), strict=True)
  col, rows, first, start = None, [], {}, 1
  try:
    for fields in reader:
      line, start = start, reader.line_num + 1
      if not fields or fields == [""]:
        continue
      if col is None:
        col = _header(path, line, fields)
        continue
      row = _row(path, line, fields, col)
      if row.id in first:
        raise errors.at(path, line, f"id {row.id} is decided twice (first on line "
                        f"{first[row.id]}).")
      first[row.id] = line
      rows.append(row)
  except csv.Error as e:
    raise errors.at(path, reader.line_num or 1, f"not a CSV row ({e}).") from None
  if col is None:
    raise errors.at(path, 1, f"empty: expected the header {','.join(REQUIRED)},... "
                    "and one row per decision.")
  if not rows:
    raise errors.InputError(f"{path}: a header and no decisions (export the explorer's "
                            "review marks first).")
  return rows


def _same_place(where, source):
  """Whether `where` names `source` (file:line): equal, or `source` with
  fewer leading folders (the data read from another folder)."""
  return where == source or source.endswith("/" + where) or where.endswith("/" + source)


def check(rows, path, sources, labels, label_names):
  """Refuses (InputError at the row's line) a row whose id is no training
  example, whose `where` is not that example's file:line (`sources`),
  whose `given` is not its label (`labels` [N] into `label_names`), or
  whose new label is no label name."""
  n = len(labels)
  names = list(label_names)
  for r in rows:
    if r.id >= n:
      raise errors.at(path, r.line, f"id {r.id} is not a training example (the training "
                      f"data has {n}: ids 0 to {n - 1}).")
    source = str(sources[r.id])
    if not _same_place(r.where, source):
      raise errors.at(path, r.line, f"id {r.id}: where {label_checks.shown(r.where)!r} but "
                      f"training example {r.id} is {label_checks.shown(source)!r} (a "
                      "corrections file of other data, or another train_size/subset?).")
    have = names[int(labels[r.id])]
    if r.given != have:
      raise errors.at(path, r.line, f"id {r.id}: given {label_checks.shown(r.given)!r} but "
                      f"its training label is {label_checks.shown(have)!r}.")
    if r.decision == "relabel" and r.new_label not in names:
      raise errors.at(path, r.line, f"id {r.id}: unknown label "
                      f"{label_checks.shown(r.new_label)!r} (labels: "
                      f"{label_checks.shown(', '.join(names), 300)}).")


def apply(rows, path, labels, label_names):
  """The `Corrected` labels of checked `rows`; relabelling to the given
  label counts as keep (as the explorer does)."""
  index = {name: i for i, name in enumerate(label_names)}
  n = len(labels)
  out = Corrected(path=path, keep=np.ones(n, bool),
                  labels=np.asarray(labels, np.int32).copy(),
                  reviewed=np.full(n, "", dtype=object))
  for r in rows:
    decision = r.decision
    if decision == "relabel" and index[r.new_label] == out.labels[r.id]:
      decision = "keep"
    if decision == "relabel":
      out.labels[r.id] = index[r.new_label]
    elif decision == "drop":
      out.keep[r.id] = False
    out.reviewed[r.id] = decision
  return out


def load(path, sources, labels, label_names):
  """`read`, `check` and `apply` of corrections file `path` against the
  training data (`sources` file:line, `labels` [N], `label_names`)."""
  rows = read(path)
  check(rows, path, sources, labels, label_names)
  out = apply(rows, path, labels, label_names)
  c = out.counts()
  if not out.keep.any():
    raise errors.InputError(f"{path}: drops every one of the {len(labels)} training "
                            "examples; nothing is left to train on.")
  logging.info("Corrections %s: %d rows reviewed, %d relabelled, %d dropped, %d kept as "
               "they are.", path, c["reviewed"], c["relabelled"], c["dropped"], c["kept"])
  return out


def correct_text(train, path):
  """`text_files.TextData` `train` with corrections file `path` applied:
  relabelled rows changed, dropped rows left out (a warning says how many)."""
  c = load(path, train.sources, train.labels, train.label_names)
  out = train.subset(np.flatnonzero(c.keep))
  out.labels = c.labels[c.keep]
  counts = c.counts()
  out.warnings = list(train.warnings) + [
      f"Corrections {path}: {counts['reviewed']} rows reviewed, {counts['relabelled']} "
      f"relabelled, {counts['dropped']} dropped from training."]
  return out


def correct_examples(examples, path, label_names):
  """TACRED-schema relation `examples` (dicts with `id`, `relation`) with
  corrections file `path` applied (where = the example's id): relabelled
  examples keep their old relation as `corrected_from`, dropped ones are
  left out."""
  index = {name: i for i, name in enumerate(label_names)}
  unknown = [e for e in examples if e["relation"] not in index]
  if unknown:
    raise errors.InputError(f"{path}: training example {unknown[0]['id']!r} has relation "
                            f"{unknown[0]['relation']!r}, not among the labels.")
  labels = np.array([index[e["relation"]] for e in examples], np.int32)
  c = load(path, [str(e["id"]) for e in examples], labels, label_names)
  out = []
  for i, e in enumerate(examples):
    if not c.keep[i]:
      continue
    if c.labels[i] != labels[i]:
      e = dict(e, relation=label_names[c.labels[i]], corrected_from=e["relation"])
    out.append(e)
  return out
