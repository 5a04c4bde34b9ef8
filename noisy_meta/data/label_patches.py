"""TACRED label patches: TACRED-Revisited, Re-TACRED or an id -> relation mapping.

`load_tacred(dir, patch)` reads TACRED's three splits (`data/tacred.py`) and
applies a label patch (`read_label_patch`, `apply_label_patch`), a file or a
folder:
- TACRED-Revisited (Alt et al. 2020, DFKI-NLP/tacrev `patch/dev_patch.json`,
  `test_patch.json`): a JSON list of {"id": ..., "relation": ...}; the listed
  examples are relabelled, the others kept; an id not in the data is an error.
  A folder is read as `{split}_patch.json` per split, a file covers all splits.
- Re-TACRED (Stoica et al. 2021, gstoica27/Re-TACRED `Re-TACRED/`): a folder of
  `train_id2label.json`, `dev_id2label.json`, `test_id2label.json`, each a JSON
  object id -> relation (its 40 relations); as its `apply_patch.py`, only the
  listed examples of each split are kept, the others dropped.
- mapping: one JSON object id -> relation for all splits; relabels only.
A relabelled example keeps its old label as `original_relation`; per-split
counts (kept, dropped, changed) are logged and returned.
"""
import json
import os

from absl import logging

from noisy_meta.core import errors
from noisy_meta.data import label_checks
from noisy_meta.data import tacred
from noisy_meta.data import text_files

# Label patches (`load_tacred`): "tacrev" = TACRED-Revisited (DFKI-NLP/tacrev
# patch/*.json: a list of {"id", "relation"}, relabels the listed ids);
# "retacred" = Re-TACRED (gstoica27/Re-TACRED Re-TACRED/*_id2label.json: an
# object id -> relation per split, keeps ONLY the listed ids); "mapping" = one
# object id -> relation for all splits, relabels only; "auto" = from the shape.
PATCH_FORMATS = ("auto", "tacrev", "retacred", "mapping")
PATCH_FILES = {"tacrev": "{split}_patch.json", "retacred": "{split}_id2label.json"}
_NO_PATCH_FILES = ("no label patch files: expected TACRED-Revisited's "
                   "dev_patch.json / test_patch.json or Re-TACRED's "
                   "train_id2label.json, dev_id2label.json, test_id2label.json.")


class _DuplicateKey(Exception):
  pass


def _no_duplicate_keys(pairs):
  out = {}
  for k, v in pairs:
    if k in out:
      raise _DuplicateKey(k)
    out[k] = v
  return out


def _read_patch_json(path):
  try:
    return tacred.read_json(path, "label patch file",
                            object_pairs_hook=_no_duplicate_keys)
  except _DuplicateKey as e:
    raise errors.InputError(f"{path}: key {e.args[0]!r} is given twice in one "
                            "JSON object.") from None


def _nonempty(x):
  return isinstance(x, str) and bool(x.strip())


def read_label_patch_file(path, shape="auto"):
  """id -> relation (in file order) from one patch file, and its shape.

  shape "list": TACRED-Revisited, a JSON list of {"id": ..., "relation": ...};
  "object": Re-TACRED / mapping, a JSON object id -> relation; "auto": either.
  Raises InputError naming the file and entry index on a malformed entry or a
  repeated id.
  """
  data = _read_patch_json(path)
  found = ("list" if isinstance(data, list) else
           "object" if isinstance(data, dict) else type(data).__name__)
  if found not in ("list", "object") or shape not in ("auto", found):
    want = {"list": 'a JSON list of {"id": ..., "relation": ...} objects',
            "object": "a JSON object id -> relation"}
    expected = want.get(shape, " or ".join(want.values()))
    raise errors.InputError(f"{path}: expected {expected}, found a JSON {found}.")
  labels, first = {}, {}
  entries = data if found == "list" else (
      {"id": k, "relation": v} for k, v in data.items())
  for i, entry in enumerate(entries):
    where = f"{path}: entry #{i}"
    if not isinstance(entry, dict):
      raise errors.InputError(f'{where}: expected an object {{"id": ..., "relation": '
                              f"...}}, found {type(entry).__name__}.")
    if set(entry) != {"id", "relation"}:
      raise errors.InputError(
          f'{where}: expected exactly the keys ["id", "relation"], found '
          f"{json.dumps(sorted(entry))[:200]}.")
    ex_id, relation = entry["id"], entry["relation"]
    if not _nonempty(ex_id):
      raise errors.InputError(f"{where}: id must be a non-empty string, found "
                              f"{ex_id!r:.80}.")
    if not _nonempty(relation):
      raise errors.InputError(f"{where} (id {label_checks.shown(ex_id)}): relation must "
                              f"be a non-empty string, found {relation!r:.80}.")
    if ex_id in first:
      raise errors.InputError(f"{where}: duplicate id {label_checks.shown(ex_id)} (first "
                              f"at #{first[ex_id]}).")
    first[ex_id] = i
    labels[ex_id] = relation
  return labels, found


def read_label_patch(path, patch_format="auto"):
  """Reads a label patch: a file or a folder (see `PATCH_FORMATS`).

  Returns dict(format, path, files, labels, keep_only_listed): `files` and
  `labels` are keyed by split, or by "*" for one file that covers all splits;
  `labels[k]` maps id -> relation; `keep_only_listed` (Re-TACRED) drops the
  examples of a split that its file does not list.
  """
  if patch_format not in PATCH_FORMATS:
    raise errors.InputError(f"label_patch_format={patch_format!r}: use one of "
                            f"{list(PATCH_FORMATS)}.")
  fmt = patch_format
  if os.path.isdir(path):
    if fmt == "mapping":
      raise errors.InputError(f"{path}: label_patch_format=mapping needs one JSON "
                              "file, not a folder.")
    found = {}  # format -> {split: file present in the folder}
    for name, pattern in PATCH_FILES.items():
      files = {s: os.path.join(path, pattern.format(split=s))
               for s in tacred.TACRED_SPLITS}
      found[name] = {s: f for s, f in files.items() if os.path.isfile(f)}
    if fmt == "auto":
      kinds = [name for name in PATCH_FILES if found[name]]
      if len(kinds) != 1:
        raise errors.InputError(
            f"{path}: " + ("holds both TACRED-Revisited (*_patch.json) and "
                           "Re-TACRED (*_id2label.json) files: set "
                           "--config.input.label_patch_format."
                           if kinds else _NO_PATCH_FILES))
      fmt = kinds[0]
    files = found[fmt]
    if fmt == "retacred" and len(files) < len(tacred.TACRED_SPLITS):
      missing = [PATCH_FILES[fmt].format(split=s) for s in tacred.TACRED_SPLITS
                 if s not in files]
      raise errors.InputError(
          f"{path}: a Re-TACRED patch needs one file per split (it keeps only "
          f"the listed examples of each split); missing {missing}.")
    if not files:
      raise errors.InputError(f"{path}: {_NO_PATCH_FILES}")
    shape = "list" if fmt == "tacrev" else "object"
    labels = {s: read_label_patch_file(f, shape)[0] for s, f in files.items()}
  elif os.path.isfile(path):
    if fmt == "retacred":
      raise errors.InputError(
          f"{path}: a Re-TACRED patch is one file per split: set "
          "--config.input.label_patch to the folder of train_id2label.json, "
          "dev_id2label.json and test_id2label.json.")
    name = os.path.basename(path)
    if fmt == "auto" and any(name == PATCH_FILES["retacred"].format(split=s)
                             for s in tacred.TACRED_SPLITS):
      raise errors.InputError(
          f"{path}: a Re-TACRED per-split file; Re-TACRED keeps only the listed "
          "examples of each split: set --config.input.label_patch to its folder "
          f"{os.path.dirname(path) or '.'!r}, or label_patch_format=mapping to "
          "relabel without dropping.")
    one, shape = read_label_patch_file(
        path, {"tacrev": "list", "mapping": "object"}.get(fmt, "auto"))
    fmt = "tacrev" if shape == "list" else "mapping"
    files, labels = {"*": path}, {"*": one}
  else:  # Missing, a link loop, a dangling link, a device: say which.
    text_files.check_file(path, "label patch file or folder")
    raise errors.InputError(f"{path}: label patch file or folder not found.")
  return dict(format=fmt, path=path, files=files, labels=labels,
              keep_only_listed=fmt == "retacred")


def apply_label_patch(examples, labels, keep_only_listed=False, source="label patch",
                      data_name=""):
  """Relabels `examples` from `labels` (id -> relation): (examples, counts, dropped_ids).

  A changed example gets `original_relation` (its label before the patch);
  the others are unchanged copies. With `keep_only_listed` (Re-TACRED) the
  examples whose id is not in `labels` are dropped and listed ids that are
  not among the examples are counted (`unused`); without it such ids raise
  InputError (naming `source` and `data_name`). counts: dict(listed, changed,
  dropped, kept, unused).
  """
  ids = {e["id"] for e in examples}
  unused = [i for i in labels if i not in ids]
  if unused and not keep_only_listed:
    raise errors.InputError(
        f"{source}: {len(unused)} ids are not in the data"
        f"{f' ({data_name})' if data_name else ''}, e.g. {sorted(unused)[:5]}.")
  out, dropped, changed = [], [], 0
  for e in examples:
    new = labels.get(e["id"])
    if new is None and keep_only_listed:
      dropped.append(e["id"])
      continue
    e = dict(e)
    if new is not None and new != e["relation"]:
      e.setdefault("original_relation", e["relation"])
      e["relation"] = new
      changed += 1
    out.append(e)
  counts = dict(listed=len(labels) - len(unused), changed=changed,
                dropped=len(dropped), kept=len(out), unused=len(unused))
  return out, counts, dropped


def load_tacred(path_dir, patch="", patch_format="auto"):
  """TACRED train/dev/test from `path_dir`/{train,dev,test}.json.

  `patch`: an optional label patch, a file or a folder (`read_label_patch`).
  Returns dict(train, dev, test), and with a patch also
  patch=dict(format, path, files, counts={split: counts}, dropped_ids={split:
  [id, ...]}) (counts as `apply_label_patch`); one line per split is logged.
  """
  if not os.path.isdir(path_dir):
    raise errors.InputError(f"TACRED folder {path_dir!r} does not exist.")
  splits = {s: tacred.read_tacred(os.path.join(path_dir, f"{s}.json"))
            for s in tacred.TACRED_SPLITS}
  if not patch:
    return splits
  p = read_label_patch(patch, patch_format)
  per_split = p["labels"]
  if "*" in per_split:  # One file for all splits: TACRED ids are unique.
    ids = {e["id"] for s in tacred.TACRED_SPLITS for e in splits[s]}
    unknown = [i for i in per_split["*"] if i not in ids]
    if unknown:
      raise errors.InputError(f"{patch}: {len(unknown)} ids are not in the data "
                              f"({path_dir}), e.g. {sorted(unknown)[:5]}.")
    per_split = {s: {e["id"]: per_split["*"][e["id"]] for e in splits[s]
                     if e["id"] in per_split["*"]} for s in tacred.TACRED_SPLITS}
  counts, dropped = {}, {}
  for s in tacred.TACRED_SPLITS:
    source = p["files"].get(s, p["files"].get("*", patch))
    data_file = os.path.join(path_dir, f"{s}.json")
    splits[s], counts[s], dropped[s] = apply_label_patch(
        splits[s], per_split.get(s, {}), p["keep_only_listed"], source, data_file)
    c = counts[s]
    if s not in per_split:  # TACRED-Revisited has no train patch.
      logging.info("Label patch %s (%s): no file for %s, %d examples unchanged.",
                   patch, p["format"], s, c["kept"])
      continue
    logging.info("Label patch %s (%s) on %s: %d kept, %d dropped, %d labels "
                 "changed (%d ids listed, %d listed ids not in %s.json).", patch,
                 p["format"], s, c["kept"], c["dropped"], c["changed"],
                 c["listed"], c["unused"], s)
    if not splits[s]:
      raise errors.InputError(f"{source}: lists none of the {c['dropped']} "
                              f"examples of {data_file}.")
  splits["patch"] = dict(format=p["format"], path=patch, files=p["files"],
                         counts=counts, dropped_ids=dropped)
  return splits
