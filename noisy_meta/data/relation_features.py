"""Inputs of PA-LSTM and C-GCN from TACRED-schema examples.

As in the original models (Zhang et al. 2017; Zhang, Qi and Manning 2018):
subject and object tokens are masked as SUBJ-<type> / OBJ-<type>; the word
vocabulary comes from training tokens; POS and NER tags get their own small
vocabularies; every token has its position relative to the subject and to
the object (0 inside the span, negative before, positive after); C-GCN
gets the dependency tree pruned to distance K of the shortest path between
the entities. Everything is computed once here; batches only slice arrays.
"""
import collections
import dataclasses

import numpy as np

from noisy_meta.core import errors

PAD, UNK = "<PAD>", "<UNK>"  # Ids 0 and 1 in every vocabulary.


@dataclasses.dataclass
class Vocab:
  """Strings <-> ids; 0 is padding, 1 unknown."""
  items: list

  def __post_init__(self):
    self.index = {w: i for i, w in enumerate(self.items)}

  @classmethod
  def build(cls, sequences, min_count=1, extra=()):
    counts = collections.Counter(w for seq in sequences for w in seq)
    words = sorted((w for w, c in counts.items() if c >= min_count and w not in extra),
                   key=lambda w: (-counts[w], w))
    return cls([PAD, UNK] + sorted(extra) + words)

  def ids(self, seq):
    return [self.index.get(w, 1) for w in seq]

  def __len__(self):
    return len(self.items)


def masked_tokens(ex, lower=False, mask=True):
  """Tokens with the subject and object spans replaced by SUBJ-/OBJ-<type>."""
  toks = [t.lower() if lower else t for t in ex["token"]]
  if not mask:
    return toks
  for i in range(ex["subj_start"], ex["subj_end"] + 1):
    toks[i] = "SUBJ-" + ex["subj_type"]
  for i in range(ex["obj_start"], ex["obj_end"] + 1):
    toks[i] = "OBJ-" + ex["obj_type"]
  return toks


def relative_positions(start, end, length):
  """Position of each token relative to the span [start, end] (0 inside)."""
  i = np.arange(length)
  return np.where(i < start, i - start, np.where(i > end, i - end, 0))


def _path_to_root(heads, i):
  path = [i]
  seen = {i}
  while heads[path[-1]] > 0:
    nxt = heads[path[-1]] - 1
    if nxt in seen:  # A cycle: not a tree.
      raise ValueError("dependency heads form a cycle")
    seen.add(nxt)
    path.append(nxt)
  return path


def pruned_heads(ex, k):
  """(heads, kept): heads (0-based, -1 for none) of the tree pruned to
  distance k of the shortest dependency path between subject and object,
  and which tokens stay in it; k < 0 keeps the whole tree.

  The semantics of C-GCN's `head_to_tree` (Zhang, Qi and Manning 2018, in the
  authors' code): the path joins every subject and object token through
  their lowest common ancestor (LCA); a token's distance to the path is the
  number of edges from it *up* to the first path token, so only the LCA's
  subtree can be kept: the LCA's own head and everything hanging off it are
  dropped at any k, and the LCA is the root of the pruned tree. Tokens
  within k edges stay; the others lose their edges and are left out of the
  sentence pooling. A token whose way up never meets the path (the LCA's
  head and everything hanging off it) is infinitely far, as in the
  original, so no k keeps it: k at or above the sentence's length keeps
  the LCA's subtree, not the whole tree.
  """
  heads = [int(h) for h in ex["stanford_head"]]
  n = len(heads)
  out = np.array([h - 1 for h in heads], np.int32)
  if k < 0:
    return out, np.ones(n, bool)
  ents = list(range(ex["subj_start"], ex["subj_end"] + 1)) + list(
      range(ex["obj_start"], ex["obj_end"] + 1))
  paths = [_path_to_root(heads, i) for i in ents]
  common = set(paths[0])
  for p in paths[1:]:
    common &= set(p)
  if not common:
    raise ValueError("subject and object are in different dependency trees")
  on_path = set()
  for p in paths:  # Each entity token up to the lowest common ancestor.
    for node in p:
      on_path.add(node)
      if node in common:
        lca = node
        break
  # Distance up to the first path token; none on the way to the root:
  # unreachable, infinitely far (the original's 1e4), out at every k.
  dist = np.full(n, np.inf)
  for i in range(n):
    up = _path_to_root(heads, i)
    for d, node in enumerate(up):
      if node in on_path:
        dist[i] = d
        break
  keep = dist <= k
  out[lca] = -1  # The LCA roots the pruned tree.
  return (np.where(keep & (out >= 0) & keep[np.maximum(out, 0)], out, -1).astype(np.int32),
          keep)


@dataclasses.dataclass
class Encoded:
  """Padded id arrays [N, L] of one split and its labels [N]."""
  words: np.ndarray
  pos: np.ndarray
  ner: np.ndarray
  subj_pos: np.ndarray
  obj_pos: np.ndarray
  heads: np.ndarray  # Pruned, 0-based, -1: no edge.
  kept: np.ndarray  # Token in the pruned tree (C-GCN pools over these).
  lengths: np.ndarray
  labels: np.ndarray
  ids: list


@dataclasses.dataclass
class Vocabs:
  words: Vocab
  pos: Vocab
  ner: Vocab
  labels: list


def build_vocabs(train, labels=None, lower=False, min_count=1, mask=True):
  """Vocabularies from the training split; `labels` fixes the label order."""
  words = Vocab.build([masked_tokens(e, lower, mask) for e in train], min_count)
  pos = Vocab.build([e["stanford_pos"] for e in train])
  ner = Vocab.build([e["stanford_ner"] for e in train])
  if labels is None:
    labels = sorted({e["relation"] for e in train})
  return Vocabs(words, pos, ner, list(labels))


def encode(examples, vocabs, prune_k=1, lower=False, max_len=0, mask=True):
  """`Encoded` arrays; rows padded to the longest sentence (or max_len)."""
  n = len(examples)
  length = max_len or max(len(e["token"]) for e in examples)
  arr = lambda fill=0: np.full((n, length), fill, np.int32)
  words, pos, ner, sp, op, heads = arr(), arr(), arr(), arr(), arr(), arr(-1)
  kept = np.zeros((n, length), bool)
  lengths = np.zeros(n, np.int32)
  label_index = {r: i for i, r in enumerate(vocabs.labels)}
  labels = np.zeros(n, np.int32)
  for r, e in enumerate(examples):
    m = len(e["token"])
    if m > length:
      raise errors.InputError(f"{e.get('source', e['id'])}: {m} tokens > max_len {length}.")
    if e["relation"] not in label_index:
      raise errors.InputError(f"{e.get('source', e['id'])}: relation {e['relation']!r} "
                              f"not among the training labels.")
    labels[r] = label_index[e["relation"]]
    lengths[r] = m
    words[r, :m] = vocabs.words.ids(masked_tokens(e, lower, mask))
    pos[r, :m] = vocabs.pos.ids(e["stanford_pos"])
    ner[r, :m] = vocabs.ner.ids(e["stanford_ner"])
    sp[r, :m] = relative_positions(e["subj_start"], e["subj_end"], m)
    op[r, :m] = relative_positions(e["obj_start"], e["obj_end"], m)
    try:
      heads[r, :m], kept[r, :m] = pruned_heads(e, prune_k)
    except ValueError as err:
      raise errors.InputError(f"{e.get('source', e['id'])}: {err}.") from None
  return Encoded(words, pos, ner, sp, op, heads, kept, lengths, labels,
                 [e["id"] for e in examples])


def read_glove(path, vocab, dim=0, seed=0, lower_fallback=True):
  """Embedding matrix [V, D] for `vocab` from a GloVe text file.

  Words not in the file get U(-1, 1) vectors (as the original models);
  padding is zero. Returns (matrix, number of vocabulary words found).
  A malformed line of a vocabulary word raises InputError with file:line.
  """
  try:
    f = open(path, "rb")  # Decoded line by line, so a bad byte has its line.
  except OSError as e:
    raise errors.InputError(f"GloVe file {path!r}: {e.strerror}.") from None
  wanted = set(vocab.items)
  if lower_fallback:  # GloVe 6B is lower-cased: "The" takes the vector of "the".
    wanted |= {w.lower() for w in vocab.items}
  found = {}
  with f:
    for line_no, raw in enumerate(f, 1):
      try:
        line = raw.decode("utf-8")
      except UnicodeDecodeError as e:
        raise errors.at(path, line_no, f"not valid UTF-8 text: {e.reason}.") from None
      word, _, rest = line.rstrip("\r\n").partition(" ")
      if not rest.strip():
        raise errors.at(path, line_no, "expected a word and its vector.")
      if word not in wanted:
        continue
      try:
        vec = np.array(rest.split(), np.float32)
      except ValueError as e:  # "could not convert string to float: 'x'"
        raise errors.at(path, line_no, f"a value of {word!r} is not a number ({e}).") from None
      if not np.isfinite(vec).all():
        raise errors.at(path, line_no, f"the vector of {word!r} is not finite.")
      if dim and len(vec) != dim:
        raise errors.at(path, line_no, f"{len(vec)} values, expected {dim}.")
      dim = dim or len(vec)
      found.setdefault(word, vec)
  if not dim:
    raise errors.InputError(f"GloVe file {path!r}: no vector for any vocabulary word.")
  rng = np.random.default_rng(seed)
  mat = rng.uniform(-1.0, 1.0, (len(vocab), dim)).astype(np.float32)
  mat[0] = 0.0
  hits = 0
  for i, w in enumerate(vocab.items):
    vec = found.get(w)
    if vec is None and lower_fallback:
      vec = found.get(w.lower())
    if vec is not None:
      mat[i] = vec
      hits += 1
  return mat, hits
