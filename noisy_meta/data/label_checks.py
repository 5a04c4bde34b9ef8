"""Labels that look wrong: refused with their line, or named as a warning.

Refused (`errors.InputError` with file and line): a missing-value marker read
as a class (`nan`, `NA`, ...), one number written two ways (`1` and `1.0`),
one word in two letter cases, a repeated or blank name in `input.labels`, a
relation of a held-out split that is no known relation of its dataset.
Named (a warning the job's report repeats): a declared class no training row
has, a held-out split whose every example is a training example.
"""
import decimal
import difflib

import numpy as np

from noisy_meta.core import errors

def shown(value, limit=80):
  """`value` for a one-line message: as is when printable, else its repr
  (an id with a newline stays on the line); at most `limit` characters."""
  text = str(value)
  return (text if text.isprintable() else repr(text))[:limit]


# Cells that pandas and spreadsheets write for a missing value (compared
# lower-cased): read as labels they would make a silent extra class.
MISSING_LABELS = ("nan", "-nan", "na", "n/a", "#n/a", "<na>", "null")


def _as_number(label):
  """The label as an exact finite number, or None when it is not a number."""
  try:
    x = decimal.Decimal(label)
  except (decimal.InvalidOperation, ValueError):
    return None
  return x if x.is_finite() else None


def same_class(a, b):
  """Why two different label strings look like one class ("" if they do not)."""
  x = _as_number(a)
  if x is not None and x == _as_number(b):
    x = x.normalize()  # 1.0 -> 1; 1e999999 stays short.
    shown = f"{x:f}" if abs(x.adjusted()) < 30 else str(x)
    return f"the same number ({shown}) written two ways"
  if a.casefold() == b.casefold():
    return "the same word in another letter case"
  return ""


def check_found_labels(raw_labels, sources):
  """Refuses labels that look wrong in a file whose classes are inferred."""
  first = {}
  for raw, src in zip(raw_labels, sources):
    first.setdefault(raw, src)
  seen = {}  # ("number", value) or ("word", casefolded) -> (label, source)
  for raw, src in first.items():
    if raw.lower() in MISSING_LABELS:
      raise errors.InputError(
          f"{src}: label {raw!r} looks like a missing value (pandas and spreadsheets "
          "write an empty cell so), not a class; fill it in or drop the row, or "
          "list it in input.labels if it is a class.")
    x = _as_number(raw)
    for key in ([("number", x)] if x is not None else []) + [("word", raw.casefold())]:
      if key in seen:
        other, other_src = seen[key]
        raise errors.InputError(
            f"{src}: label {raw!r} and label {other!r} ({other_src}) are "
            f"{same_class(raw, other)}; write each class one way, or list both "
            "in input.labels if they are two classes.")
      seen[key] = (raw, src)


def check_label_count(label_names, n, path, label_column):
  """Refuses inferred labels that are mostly one per row: the label column
  holds text, not classes."""
  if len(label_names) > max(20, n // 2):
    raise errors.InputError(
        f"{path}: {len(label_names)} different labels in {n} rows (e.g. "
        f"{list(label_names[:3])!r:.120}): is label_column={label_column!r} the label "
        "column? List the classes in input.labels if these are classes.")


def check_label_names(label_names, path):
  """The given class names as strings; refuses a repeated or blank name (it
  would leave a class that no row can have)."""
  names = tuple(str(x) for x in label_names)
  first = {}
  for i, name in enumerate(names):
    if not name.strip() or name != name.strip():
      raise errors.InputError(
          f"{path}: the label names (input.labels) hold {name!r}: a label is read "
          "without surrounding spaces, so no row can have it.")
    if name in first:
      raise errors.InputError(
          f"{path}: the label names (input.labels) give {name!r} twice (positions "
          f"{first[name]} and {i}, 0-based); list each class once, in class order.")
    first[name] = i
  return names


def unknown_label(raw, src, label_names):
  """The InputError for a label outside `label_names`, with a hint when it
  looks like one of them or like a missing value."""
  hint = ""
  near = [(n, why) for n in label_names for why in [same_class(raw, n)] if why]
  if near:
    hint = f" ({raw!r} and {near[0][0]!r} are {near[0][1]}: write it as {near[0][0]!r})"
  elif raw.lower() in MISSING_LABELS:
    hint = f" ({raw!r} looks like a missing value: fill it in or drop the row)"
  return errors.InputError(
      f"{src}: unknown label {raw!r}; expected one of {list(label_names)}{hint}.")


def absent_classes(train, where):
  """Warnings for declared classes that no training example has."""
  present = set(np.unique(train.labels).tolist())
  absent = [n for i, n in enumerate(train.label_names) if i not in present]
  if not absent:
    return []
  return [f"{where}: no training example has the label(s) {absent} of the "
          f"{len(train.label_names)} classes: the model never learns them."]


def held_out_warning(where, held_out, train, split="dev"):
  """A warning when every example of a held-out split (keys: e.g. (text,
  label) or ids) is also a training example, else None."""
  train = set(train)
  if held_out and all(k in train for k in held_out):
    return (f"{where}: every one of its {len(held_out)} {split} examples is also a "
            f"training example: {split} scores measure fit to the training data, "
            "not generalisation.")
  return None


def check_held_out_relations(splits, known, dataset, closed=False):
  """Refuses a relation of dev or test (or its label before a patch) that no
  training example has and that is not in `known` (the dataset's relations
  and those a label patch assigns): a typo would become a class of its own.
  `closed`: `known` is the whole label set, checked in train too."""
  if closed:
    names, why, fix = ("train", "dev", "test"), f"is no {dataset} relation", "."
  else:
    known = set(known) | {e["relation"] for e in splits["train"]}
    names, why = ("dev", "test"), f"is in no training example and is no {dataset} relation"
    fix = ", or give it training examples."
  for name in names:
    for e in splits[name]:
      for relation in (e["relation"], e.get("original_relation", e["relation"])):
        if relation not in known:
          close = difflib.get_close_matches(relation, sorted(known), n=1)
          hint = f" (did you mean {close[0]!r}?)" if close else ""
          raise errors.InputError(f"{e.get('source', name)} (id {shown(e['id'])}): relation "
                                  f"{relation!r} {why}{hint}; fix the label{fix}")


def unknown_train_relations(train, known, dataset, where):
  """Warnings for training relations outside `known`: each is a class of its
  own (a dataset of its own in TACRED's format is fine; a typo is not)."""
  extra = sorted({e["relation"] for e in train} - set(known))
  if not extra:
    return []
  return [f"{where}: relation(s) {extra[:10]} ({len(extra)} in all) are no {dataset} "
          "relations: each is a class of its own."]


def held_out_relation_warnings(splits, where):
  """Warnings for dev or test splits whose every example id is a training id."""
  train_ids = [e["id"] for e in splits["train"]]
  out = []
  for name in ("dev", "test"):
    w = held_out_warning(f"{where.get(name, name)}", [e["id"] for e in splits[name]],
                         train_ids, split=name)
    if w:
      out.append(w)
  return out
