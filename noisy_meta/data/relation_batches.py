"""Batches of encoded relation examples (`relation_features.Encoded`).

The batch contract shared with the text pipeline (data/pipeline.py): rows
padded to `batch_size`, tokens to a bucketed length, `label`, `_id` (row in
the split, -1 for padding) and `_mask` (real rows).
"""
import dataclasses

import numpy as np

from noisy_meta.data import pipeline
from noisy_meta.data import relation_features as rf


def make_batch(enc, idx, batch_size, bucket, length=0):
  """Rows `idx` of `enc`, padded to `batch_size` rows and a multiple of
  `bucket` (or to `length` tokens when given)."""
  k = len(idx)
  length = length or pipeline.bucket_length(int(enc.lengths[idx].max()), bucket)
  rows = np.zeros(batch_size, np.int64)
  rows[:k] = idx

  def take(a, fill=0):
    out = np.full((batch_size, length), fill, a.dtype)
    w = min(length, a.shape[1])
    out[:k, :w] = a[idx, :w]
    return out

  mask = np.arange(length)[None] < np.where(np.arange(batch_size) < k,
                                            enc.lengths[rows], 0)[:, None]
  return {"words": take(enc.words), "pos": take(enc.pos), "ner": take(enc.ner),
          "subj_pos": take(enc.subj_pos), "obj_pos": take(enc.obj_pos),
          "heads": take(enc.heads, -1), "kept": take(enc.kept), "mask": mask,
          "label": np.where(np.arange(batch_size) < k, enc.labels[rows], 0).astype(np.int32),
          "_id": np.where(np.arange(batch_size) < k, rows, -1).astype(np.int32),
          "_mask": np.arange(batch_size) < k}


def epoch_order(n, batch_size, seed, epoch):
  """Shuffled row chunks of one epoch: a pure function of (seed, epoch)."""
  perm = np.random.default_rng([seed, epoch]).permutation(n)
  return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def eval_order(lengths, batch_size):
  """Row chunks sorted by length (similar lengths together), for prediction."""
  order = np.argsort(lengths, kind="stable")
  return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def subset(enc, idx):
  """Rows `idx` of an `Encoded` split."""
  idx = np.asarray(idx, np.int64)
  arrays = {f.name: getattr(enc, f.name)[idx] for f in dataclasses.fields(enc)
            if f.name != "ids"}
  return rf.Encoded(ids=[enc.ids[i] for i in idx], **arrays)
