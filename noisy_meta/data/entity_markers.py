"""Entity-marker inputs for a pretrained Transformer relation learner.

Each relation example (TACRED schema, noisy_meta/data/tacred.py) becomes
one subword sequence with its two arguments marked, and the positions of
the two start markers (entity-start pooling, Baldini Soares et al. 2019):

  [CLS] ... <s> subject subwords </s> ... <o> object subwords </o> ... [SEP]

The subject is SemEval's <e1> and TACRED's subj. Marker kinds (`markers`):

- `entity`: four marker tokens. A BERT vocabulary's unused slots
  ([unused0] [unused1] around the subject, [unused2] [unused3] around the
  object), as BERT's authors reserved them for: their embeddings start from
  the checkpoint's (untrained) rows. A vocabulary without them (RoBERTa,
  XLM-R, DeBERTa-v3, ModernBERT) gets four new special
  tokens [E1] [/E1] [E2] [/E2] (`add_marker_tokens`) and the encoder four
  new embedding rows (relation_transformer.grow_vocab). Learned in
  fine-tuning either way.
- `punct`: existing punctuation, `@ subject @` and `# object #` (Zhou & Chen
  2021, "entity marker (punct)"): no new embeddings.
- `typed_punct`: `@ * type * subject @` and `# ^ type ^ object #` with the
  entity types as words (Zhou & Chen 2021's best for TACRED), e.g. PERSON ->
  "person", STATE_OR_PROVINCE -> "state or province". Any type string is
  tokenised as words, so a type never seen in training still has an input:
  nothing is refused or mapped to a catch-all.

Words are tokenised with the fast tokenizer (`is_split_into_words`) and
the markers inserted between whole words' subwords, so marker positions are
exact; a word the tokenizer turns into nothing (e.g. a zero-width space)
becomes [UNK], so an entity is never empty between its markers.

Too long: a sequence longer than `max_len` is cut around the entities: the
window from the first entity's start marker to the last entity's end marker
is always kept, and the rest of the budget is shared by the context on both
sides (what one side cannot use goes to the other). When the window alone
does not fit, the example is refused with its source (file and line or
index): raise `max_len`. Overlapping or nested spans (TACRED has a few) are
kept: markers nest, the longer span's start marker first, the inner span's
end marker first.

Encodings are cached on disk, keyed by the examples, tokenizer, kind and
max_len, like the text classifier's tokenisation (pipeline.tokenize).
"""
import dataclasses
import hashlib
import os

from absl import logging
import numpy as np

from noisy_meta.core import atomic
from noisy_meta.core import errors
from noisy_meta.data import pipeline

KINDS = ("entity", "punct", "typed_punct")
UNUSED = ("[unused0]", "[unused1]", "[unused2]", "[unused3]")
# The markers added to a vocabulary without UNUSED (subject open/close, object open/close).
ADDED = ("[E1]", "[/E1]", "[E2]", "[/E2]")


@dataclasses.dataclass
class Encoded:
  """Subword ids [N, max_len] (pad-filled), lengths [N], the two start
  markers' positions e1, e2 [N], and which rows were cut (truncated [N])."""
  ids: np.ndarray
  lengths: np.ndarray
  e1: np.ndarray
  e2: np.ndarray
  truncated: np.ndarray


def type_words(entity_type):
  """An entity type as the words of a typed marker: STATE_OR_PROVINCE ->
  "state or province"."""
  return entity_type.replace("_", " ").replace("-", " ").lower().split() or ["entity"]


def marker_tokens(tokenizer):
  """The four `entity` marker tokens of a vocabulary: UNUSED where it has all
  four unused slots (BERT's), else ADDED."""
  vocab = tokenizer.get_vocab()
  return UNUSED if all(m in vocab for m in UNUSED) else ADDED


def add_marker_tokens(tokenizer):
  """Adds ADDED to a tokenizer whose vocabulary lacks UNUSED, as special
  tokens (never split, never lower-cased); returns the ids it added (none
  for a BERT vocabulary, or when the tokenizer already has them). The
  encoder's embedding table must then cover them (relation_transformer.grow_vocab)."""
  if marker_tokens(tokenizer) == UNUSED:
    return []
  before = set(tokenizer.get_vocab())
  tokenizer.add_tokens(list(ADDED), special_tokens=True)
  vocab = tokenizer.get_vocab()
  return sorted(vocab[m] for m in ADDED if m not in before)


def entity_ids(tokenizer):
  """The four `entity` marker ids (subject open, close, object open, close)."""
  vocab = tokenizer.get_vocab()
  tokens = marker_tokens(tokenizer)
  if any(m not in vocab for m in tokens):
    raise errors.InputError(
        f"markers=entity: this tokenizer lacks {[m for m in UNUSED if m not in vocab]} "
        f"of the unused slots {list(UNUSED)} and {[m for m in ADDED if m not in vocab]} "
        "of the added markers; add those (entity_markers.add_marker_tokens, as the "
        "relation transformer does) or use input.markers=punct or typed_punct.")
  return tuple(vocab[m] for m in tokens)


def _marker_pieces(kind, tokenizer, subj_type, obj_type, word_ids, entity=None):
  """(subject start, subject end, object start, object end) marker ids;
  `entity`: entity_ids(tokenizer), looked up once by the caller."""
  if kind == "entity":
    return tuple([i] for i in (entity or entity_ids(tokenizer)))
  at, hash_ = word_ids("@"), word_ids("#")
  if kind == "punct":
    return at, at, hash_, hash_
  if kind == "typed_punct":
    star, caret = word_ids("*"), word_ids("^")
    return (at + star + word_ids(*type_words(subj_type)) + star, at,
            hash_ + caret + word_ids(*type_words(obj_type)) + caret, hash_)
  raise errors.InputError(f"input.markers={kind!r}: expected one of {KINDS}.")


def _key(examples, tokenizer, kind, max_len):
  h = hashlib.sha1()
  h.update(pipeline._tokenizer_fingerprint(tokenizer).encode())  # pylint: disable=protected-access
  h.update(f"markers-v1|{kind}|{max_len}".encode())
  if kind == "entity" and marker_tokens(tokenizer) == ADDED:  # (BERT's keys unchanged.)
    vocab = tokenizer.get_vocab()
    h.update(repr([(m, vocab.get(m)) for m in ADDED]).encode())
  for ex in examples:
    h.update("\x1f".join(ex["token"]).encode("utf-8"))
    h.update(repr((ex["subj_start"], ex["subj_end"], ex["obj_start"], ex["obj_end"],
                   ex["subj_type"], ex["obj_type"])).encode())
  return h.hexdigest()


def window(length, keep_start, keep_end, max_len):
  """[start, end) of a `max_len` window over `length` items that contains
  [keep_start, keep_end): the context budget split evenly, the side that
  runs out giving its rest to the other."""
  if length <= max_len:
    return 0, length
  budget = max_len - (keep_end - keep_start)
  left = min(keep_start, budget // 2)
  right = min(length - keep_end, budget - left)
  left = min(keep_start, budget - right)
  return keep_start - left, keep_end + right


def encode_one(words_pieces, ex, markers, cls_id, sep_id, max_len):
  """One example: (ids, e1 position, e2 position, truncated) or raises.

  words_pieces: each word's subword ids (none empty); markers: the four
  marker id lists of `_marker_pieces`.
  """
  s_open, s_close, o_open, o_close = markers
  spans = {"subj": (ex["subj_start"], ex["subj_end"]), "obj": (ex["obj_start"], ex["obj_end"])}
  opens = {"subj": s_open, "obj": o_open}
  closes = {"subj": s_close, "obj": o_close}
  # Longer span opens first and closes last, so that nested spans nest.
  order = sorted(spans, key=lambda k: (spans[k][0], -spans[k][1]))
  body, start_pos, end_pos = [], {}, {}
  for i, pieces in enumerate(words_pieces):
    for who in order:
      if spans[who][0] == i:
        start_pos[who] = len(body)
        body += opens[who]
    body += pieces
    for who in reversed(order):
      if spans[who][1] == i:
        body += closes[who]
        end_pos[who] = len(body)
  keep_start = min(start_pos.values())
  keep_end = max(end_pos.values())
  room = max_len - 2
  if keep_end - keep_start > room:
    raise errors.InputError(
        f"{ex.get('source', ex.get('id', '?'))}: the two entities with their markers "
        f"span {keep_end - keep_start} subword tokens, more than input.max_len={max_len} "
        "leaves (2 go to [CLS] and [SEP]); raise input.max_len.")
  a, b = window(len(body), keep_start, keep_end, room)
  ids = [cls_id] + body[a:b] + [sep_id]
  return ids, start_pos["subj"] - a + 1, start_pos["obj"] - a + 1, b - a < len(body)


def encode(examples, tokenizer, max_len, kind="entity", cache=None):
  """`Encoded` for a list of TACRED-schema examples (cached on disk)."""
  if kind not in KINDS:
    raise errors.InputError(f"input.markers={kind!r}: expected one of {KINDS}.")
  path = (os.path.join(cache, f"markers-{_key(examples, tokenizer, kind, max_len)}.npz")
          if cache else None)
  if path and os.path.exists(path):
    with np.load(path) as z:
      return Encoded(**{k: z[k] for k in ("ids", "lengths", "e1", "e2", "truncated")})
  entity = entity_ids(tokenizer) if kind == "entity" else None
  unk = tokenizer.unk_token_id
  memo = {}

  def word_ids(*words):  # Marker words' subword ids, tokenised once per run.
    if words not in memo:
      memo[words] = [i for p in _pieces(tokenizer, list(words), unk) for i in p]
    return list(memo[words])
  n = len(examples)
  pad = tokenizer.pad_token_id or 0
  out = Encoded(ids=np.full((n, max_len), pad, np.int32), lengths=np.zeros(n, np.int32),
                e1=np.zeros(n, np.int32), e2=np.zeros(n, np.int32),
                truncated=np.zeros(n, bool))
  chunk = 2048
  for start in range(0, n, chunk):
    part = examples[start:start + chunk]
    pieces = _pieces_batch(tokenizer, [ex["token"] for ex in part], unk)
    for j, (ex, wp) in enumerate(zip(part, pieces)):
      markers = _marker_pieces(kind, tokenizer, ex["subj_type"], ex["obj_type"], word_ids,
                               entity)
      ids, e1, e2, cut = encode_one(wp, ex, markers, tokenizer.cls_token_id,
                                    tokenizer.sep_token_id, max_len)
      i = start + j
      out.ids[i, :len(ids)] = ids
      out.lengths[i], out.e1[i], out.e2[i], out.truncated[i] = len(ids), e1, e2, cut
  if out.truncated.any():
    logging.info("entity markers: %d of %d examples longer than max_len=%d were cut "
                 "around their entities.", int(out.truncated.sum()), n, max_len)
  if path:
    with atomic.path(path, suffix=".npz") as tmp:
      np.savez(tmp, **dataclasses.asdict(out))
  return out


def _pieces_batch(tokenizer, sentences, unk):
  """Per sentence, per word, its subword ids ([UNK] for a word with none)."""
  enc = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
  out = []
  for b, words in enumerate(sentences):
    per_word = [[] for _ in words]
    for tok, w in zip(enc["input_ids"][b], enc.word_ids(b)):
      if w is not None:
        per_word[w].append(tok)
    out.append([p or [unk] for p in per_word])
  return out


def _pieces(tokenizer, words, unk):
  return _pieces_batch(tokenizer, [words], unk)[0]
