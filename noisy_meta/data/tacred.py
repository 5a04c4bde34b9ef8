"""TACRED's JSON schema: the example format every relation reader returns.

An example is a dict:
  id (str), relation (str), token (list of str),
  subj_start, subj_end, obj_start, obj_end (int, 0-based, inclusive),
  subj_type, obj_type (str),
  stanford_pos, stanford_ner, stanford_deprel (list of str, one per token),
  stanford_head (list of int, 1-based, 0 = root),
  source (str: "file:line" for SemEval, "file#index" for JSON files).

`read_tacred` reads the LDC JSON files, fully validated; head strings become
ints. `write_tacred_json` writes examples back in that format (SemEval
converted once, `data/semeval.py`). Label patches and `load_tacred` are in
`data/label_patches.py`.
"""
import json
import os

from noisy_meta.core import atomic
from noisy_meta.core import errors
from noisy_meta.data import label_checks
from noisy_meta.data import text_files

TACRED_SPLITS = ("train", "dev", "test")
TACRED_KEYS = ("id", "relation", "token", "subj_start", "subj_end",
               "obj_start", "obj_end", "subj_type", "obj_type",
               "stanford_pos", "stanford_ner", "stanford_head",
               "stanford_deprel")
# TACRED's 42 relations (Zhang et al. 2017), as in its LDC files. A relation
# of dev or test outside these, the training split's and a label patch's is
# refused (`label_checks.check_held_out_relations`): a typo, not a class.
TACRED_RELATIONS = (
    "no_relation", "org:alternate_names", "org:city_of_headquarters",
    "org:country_of_headquarters", "org:dissolved", "org:founded",
    "org:founded_by", "org:member_of", "org:members",
    "org:number_of_employees/members", "org:parents",
    "org:political/religious_affiliation", "org:shareholders",
    "org:stateorprovince_of_headquarters", "org:subsidiaries",
    "org:top_members/employees", "org:website", "per:age",
    "per:alternate_names", "per:cause_of_death", "per:charges", "per:children",
    "per:cities_of_residence", "per:city_of_birth", "per:city_of_death",
    "per:countries_of_residence", "per:country_of_birth", "per:country_of_death",
    "per:date_of_birth", "per:date_of_death", "per:employee_of", "per:origin",
    "per:other_family", "per:parents", "per:religion", "per:schools_attended",
    "per:siblings", "per:spouse", "per:stateorprovince_of_birth",
    "per:stateorprovince_of_death", "per:stateorprovinces_of_residence",
    "per:title")
_TOKEN_LISTS = ("stanford_pos", "stanford_ner", "stanford_head",
                "stanford_deprel")


def _is_int(x):
  return isinstance(x, int) and not isinstance(x, bool)


def _check_tacred(ex, where):
  """A validated copy of one TACRED example (heads as int); raises InputError."""
  def fail(msg):
    return errors.InputError(f"{where}: {msg}")
  if not isinstance(ex, dict):
    raise fail(f"expected a JSON object, found {type(ex).__name__}.")
  missing = [k for k in TACRED_KEYS if k not in ex]
  if missing:
    raise fail(f"missing keys {missing}.")
  for k in ("id", "relation", "subj_type", "obj_type"):
    if not isinstance(ex[k], str) or not ex[k]:
      raise fail(f"{k} must be a non-empty string, found {ex[k]!r:.80}.")
  tokens = ex["token"]
  if (not isinstance(tokens, list) or not tokens
      or not all(isinstance(t, str) for t in tokens)):
    raise fail("token must be a non-empty list of strings.")
  n = len(tokens)
  for k in _TOKEN_LISTS:
    if not isinstance(ex[k], list) or len(ex[k]) != n:
      found = len(ex[k]) if isinstance(ex[k], list) else type(ex[k]).__name__
      raise fail(f"{k} has {found} entries but there are {n} tokens.")
  for k in ("stanford_pos", "stanford_ner", "stanford_deprel"):
    if not all(isinstance(t, str) for t in ex[k]):
      raise fail(f"{k} must hold strings.")
  heads = []
  for i, h in enumerate(ex["stanford_head"]):
    digits = h.strip() if isinstance(h, str) else ""
    if digits.isascii() and digits.isdigit() and len(digits) < 19:  # Not "²".
      h = int(digits)
    if not _is_int(h) or not 0 <= h <= n:
      raise fail(f"stanford_head[{i}] = {h!r:.40} is not an integer in [0, {n}].")
    heads.append(h)
  for who in ("subj", "obj"):
    s, e = ex[f"{who}_start"], ex[f"{who}_end"]
    if not (_is_int(s) and _is_int(e)):
      raise fail(f"{who}_start/{who}_end must be integers, found {s!r:.40}, {e!r:.40}.")
    if not 0 <= s <= e < n:
      raise fail(f"{who} span [{s}, {e}] is not inside the sentence of {n} "
                 "tokens (need 0 <= start <= end < length).")
  span = (ex["subj_start"], ex["subj_end"])
  if span == (ex["obj_start"], ex["obj_end"]):
    raise fail(f"subject and object are the same span {list(span)} "
               f"({' '.join(tokens[span[0]:span[1] + 1])!r:.80}): a relation needs two "
               "entities.")
  out = dict(ex)
  out["stanford_head"] = heads
  return out


def read_json(path, what="file", **kwargs):
  """The JSON value in `path` (UTF-8, a byte-order mark ignored); any
  problem is an InputError naming the file (and line where JSON has one).
  `kwargs` go to `json.loads`."""
  text_files.check_file(path, what)
  try:
    with open(path, encoding="utf-8-sig") as f:
      return json.loads(f.read(), **kwargs)
  except json.JSONDecodeError as e:
    raise errors.at(path, e.lineno, f"invalid JSON: {e.msg} (column {e.colno}).") from None
  except UnicodeDecodeError:
    raise text_files.utf8_error(path) from None
  except RecursionError:
    raise errors.InputError(f"{path}: JSON nested too deeply to read.") from None
  except ValueError as e:  # An integer of more than 4300 digits.
    raise errors.InputError(f"{path}: unreadable JSON value ({str(e).split(';')[0]}).") from None
  except OSError as e:
    raise errors.InputError(f"{path}: cannot read it: {e.strerror}.") from None


def read_tacred(path):
  """Reads and validates a TACRED JSON file (a list of examples).

  Raises InputError naming the file, example index and id on a missing key,
  per-token lists of unequal length, a span outside the sentence or with
  start > end, a head outside [0, length] or a duplicate id.
  """
  data = read_json(path)
  if not isinstance(data, list):
    raise errors.InputError(f"{path}: expected a JSON list of examples, found "
                            f"{type(data).__name__}.")
  out, seen = [], {}
  for i, ex in enumerate(data):
    ex_id = ex.get("id") if isinstance(ex, dict) else None
    where = f"{path}#{i}" + (
        f" (id {label_checks.shown(ex_id)})" if ex_id is not None else "")
    ex = _check_tacred(ex, where)
    if ex["id"] in seen:
      raise errors.InputError(f"{where}: duplicate id (first at #{seen[ex['id']]}).")
    seen[ex["id"]] = i
    ex["source"] = f"{path}#{i}"
    out.append(ex)
  if not out:
    raise errors.InputError(f"{path}: no examples.")
  return out


def write_json(obj, path, **kwargs):
  """Writes `obj` as JSON to `path` atomically, creating its folder.

  `kwargs` go to `json.dumps` (the SemEval cache passes compact separators).
  """
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  atomic.write_text(path, json.dumps(obj, **kwargs))


def write_tacred_json(examples, path):
  """Writes examples as a TACRED JSON file (heads as strings, as LDC's files).

  Only the TACRED keys are written (not `source`); `read_tacred` reads it back.
  """
  out = []
  for e in examples:
    ex = {k: e[k] for k in TACRED_KEYS}
    ex["stanford_head"] = [str(h) for h in e["stanford_head"]]
    out.append(ex)
  write_json(out, path)
