"""Tokenise once (cached), then length-bucketed batches with `_id` and `_mask`.

Batches are dicts of numpy arrays:
  input_ids [B, L] int32, attention_mask [B, L] int32, label [B] int32,
  _id [B] int32 (row in the split; -1 on padding), _mask [B] bool.
L is one of a few bucket lengths so that jit compiles a bounded set of
shapes; the last batch of an epoch is padded, never dropped.
"""
import hashlib
import os

import numpy as np

from noisy_meta.core import atomic
from noisy_meta.core import errors


def cache_dir(configured=""):
  """The cache folder, created: `configured`, $NOISY_META_CACHE or ~/.cache/noisy_meta."""
  if configured:
    path, origin = configured, "config.input.cache_dir"
  elif os.environ.get("NOISY_META_CACHE"):
    path, origin = os.environ["NOISY_META_CACHE"], "NOISY_META_CACHE"
  else:
    path, origin = os.path.join(os.path.expanduser("~"), ".cache", "noisy_meta"), "default"
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:
    raise _cache_error(path, origin, e) from None
  if not os.access(path, os.W_OK | os.X_OK):
    raise errors.InputError(f"{path}: the cache folder ({origin}) is not writable; "
                            "set NOISY_META_CACHE or config.input.cache_dir to one that is.")
  return path


def _cache_error(path, origin, e):
  """An InputError naming the cache path that could not be made or written."""
  return errors.InputError(
      f"{path}: cannot use it as the cache folder ({origin}): {e.strerror or e}; set "
      "NOISY_META_CACHE or config.input.cache_dir to a writable folder.")


def _tokenizer_fingerprint(tokenizer):
  vocab = sorted(tokenizer.get_vocab().items())
  h = hashlib.sha1(repr(vocab).encode()).hexdigest()
  return f"{type(tokenizer).__name__}-{h}-{getattr(tokenizer, 'do_lower_case', '')}"


def tokenize(texts, tokenizer, max_len, cache=None):
  """Token ids [N, max_len] (0-padded) and lengths [N]; cached on disk.

  The cache key hashes the texts, the tokenizer's vocabulary and max_len,
  so a changed file or tokenizer never reads a stale cache.
  """
  key = hashlib.sha1()
  key.update(_tokenizer_fingerprint(tokenizer).encode())
  key.update(str(max_len).encode())
  for t in texts:
    key.update(t.encode("utf-8"))
    key.update(b"\0")
  path = os.path.join(cache, f"tok-{key.hexdigest()}.npz") if cache else None
  if path and os.path.exists(path):
    with np.load(path) as z:
      return z["ids"], z["lengths"]
  ids = np.full((len(texts), max_len), tokenizer.pad_token_id, np.int32)
  lengths = np.zeros(len(texts), np.int32)
  chunk = 4096
  for start in range(0, len(texts), chunk):
    enc = tokenizer(texts[start:start + chunk], truncation=True,
                    max_length=max_len)["input_ids"]
    for i, row in enumerate(enc):
      ids[start + i, :len(row)] = row
      lengths[start + i] = len(row)
  if path:
    try:
      with atomic.path(path, suffix=".npz") as tmp:
        np.savez(tmp, ids=ids, lengths=lengths)
    except OSError as e:
      raise _cache_error(cache, "tokenisation cache", e) from None
  return ids, lengths


def bucket_length(n, buckets):
  """The padded length of a batch whose longest row has n tokens.

  buckets: the allowed lengths (a tuple; the smallest >= n, else the
  largest: longer rows are cut) or one int, whose multiples are allowed
  (n rounded up, at least one bucket). Every batch maker pads with this.
  """
  if isinstance(buckets, int):
    return max(buckets, -(-n // buckets) * buckets)
  for b in sorted(buckets):
    if n <= b:
      return b
  return max(buckets)


def epoch_batches(lengths, batch_size, seed, epoch, buckets, shuffle=True,
                  window=50):
  """Index batches of one epoch and their padded lengths.

  Shuffles with a (seed, epoch) generator, sorts by length inside windows of
  `window` batches (less padding), then shuffles the batch order. The result
  depends only on its arguments, so a resumed run recomputes the same epoch.
  shuffle=False (evaluation): rows sorted by length, stable, so each batch
  pads to its own bucket (callers scatter results by the indices).
  Returns a list of (indices [<=batch_size], padded_length).
  """
  n = len(lengths)
  if shuffle:
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(n)
    span = batch_size * window
    for s in range(0, n, span):
      chunk = order[s:s + span]
      order[s:s + span] = chunk[np.argsort(lengths[chunk], kind="stable")]
  else:
    order = np.argsort(np.asarray(lengths), kind="stable")
  batches = [order[s:s + batch_size] for s in range(0, n, batch_size)]
  if shuffle:
    batches = [batches[i] for i in rng.permutation(len(batches))]
  return [(b, bucket_length(int(lengths[b].max()), buckets)) for b in batches]


def make_batch(ids, lengths, labels, idx, batch_size, length):
  """Gathers rows `idx` into a padded batch of `batch_size` x `length`."""
  k = len(idx)
  attention_mask = np.zeros((batch_size, length), np.int32)
  attention_mask[:k] = np.arange(length)[None, :] < lengths[idx][:, None]
  input_ids = np.zeros((batch_size, length), np.int32)
  width = min(length, ids.shape[1])
  input_ids[:k, :width] = ids[idx, :width]
  label = np.zeros(batch_size, np.int32)
  label[:k] = labels[idx]
  row = np.full(batch_size, -1, np.int32)
  row[:k] = idx
  mask = np.zeros(batch_size, bool)
  mask[:k] = True
  return dict(input_ids=input_ids,
              attention_mask=attention_mask,
              label=label, _id=row, _mask=mask)
