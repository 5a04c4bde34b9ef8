"""`markers=entity` on vocabularies without BERT's unused slots: four marker
tokens added to the tokenizer, the encoder's vocabulary tables grown
(noisy_meta/data/entity_markers.py, relation_transformer.grow_vocab); a BERT
vocabulary keeps its unused slots, its size and its cached encodings."""
import json
import os

import jax
import numpy as np
import pytest

import encoder_checks

from configs import re_tacred
from noisy_meta.core import errors
from noisy_meta.core import parallel
from noisy_meta.data import entity_markers
from noisy_meta.learners import relation_transformer
from noisy_meta.models import encoders
from noisy_meta.models import hf_import
from noisy_meta.trainers import supervised

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=64)


def _roberta_folder(folder, data_dir, max_len=128):
  """A tiny random RoBERTa with a byte-level BPE of 1200 tokens trained on
  the TACRED sample's words and made-up ones (no unused slots)."""
  pytest.importorskip("tokenizers")
  rng = np.random.default_rng(0)
  corpus = []
  for split in ("train", "dev", "test"):
    with open(os.path.join(data_dir, "tacred_sample", f"{split}.json")) as f:
      corpus += [" ".join(e["token"]) for e in json.load(f)]
  corpus += encoder_checks.made_up_sentences(rng)
  tok = encoder_checks.roberta_tokenizer(folder, corpus)
  torch.manual_seed(0)
  cfg = transformers.RobertaConfig(vocab_size=len(tok), max_position_embeddings=max_len + 2,
                                   type_vocab_size=1, layer_norm_eps=1e-5, **SMALL)
  transformers.RobertaModel(cfg).save_pretrained(folder)
  return len(tok)


def _config(data_dir, model_dir, cache):
  config = re_tacred.get_config("model=transformer,runlocal,markers=entity")
  config.input.tacred_dir = os.path.join(data_dir, "tacred_sample")
  config.input.cache_dir = cache
  config.model.path = model_dir
  config.input.buckets = (32, 64, 128)
  return config


@pytest.mark.job
def test_roberta_gets_four_marker_tokens_and_trains(data_dir, tmp_path):
  folder = str(tmp_path / "roberta")
  vocab = _roberta_folder(folder, data_dir)
  plain = hf_import.load_tokenizer(folder)  # Without the markers: refused, saying how.
  ex = dict(token=["Ann", "saw", "Zed"], subj_start=0, subj_end=0, obj_start=2, obj_end=2,
            subj_type="PERSON", obj_type="PERSON")
  with pytest.raises(errors.InputError, match="add_marker_tokens"):
    entity_markers.encode([ex], plain, 16)
  config = _config(data_dir, folder, str(tmp_path / "cache"))
  learner = relation_transformer.RelationTransformer(config)
  d = learner.data
  tok = d["tokenizer"]
  ids = entity_markers.entity_ids(tok)
  assert entity_markers.marker_tokens(tok) == entity_markers.ADDED
  assert len(tok) == vocab + 4 and sorted(ids) == list(range(vocab, vocab + 4))
  # The table: the checkpoint's rows unchanged, four new N(0, 0.02) rows.
  _, _, pretrained, _ = hf_import.load(folder)
  old = pretrained["word_embeddings"]["embedding"]
  table = d["enc_params"]["word_embeddings"]["embedding"]
  assert d["enc_cfg"].vocab_size == vocab + 4 and table.shape == (vocab + 4, 32)
  np.testing.assert_array_equal(table[:vocab], old)
  new = table[vocab:]
  assert 0.01 < new.std() < 0.03 and len({r.tobytes() for r in new}) == 4
  # Every example: e1 / e2 at [E1] / [E2], each entity closed by its end marker.
  s_open, s_close, o_open, o_close = ids
  for split in (learner.train, learner.dev, learner.test):
    for row, n, e1, e2 in zip(split.tokens, split.lengths, split.e1, split.e2):
      row = row[:n].tolist()
      assert row[e1] == s_open and row[e2] == o_open
      assert row.count(s_close) == 1 and row.count(o_close) == 1
  # The encodings' cache key names the added tokens.
  cached = sorted(os.listdir(tmp_path / "cache"))
  assert cached and all(f.startswith("markers-") for f in cached)
  again = relation_transformer.RelationTransformer(config)  # Reads the cache.
  np.testing.assert_array_equal(again.train.tokens, learner.train.tokens)
  assert sorted(os.listdir(tmp_path / "cache")) == cached
  # The new rows are learned: the logits' gradient reaches all four.
  state = learner.init_state(jax.random.key(0), learner.num_classes, 10,
                             parallel.make_mesh())
  idx, length = learner.eval_batches(learner.train)[0]
  batch = learner.make_batch(learner.train, idx, len(idx), length)
  g = jax.grad(lambda p: learner.logits(state, p, batch).sum())(state.params)
  g_rows = np.abs(np.asarray(g["encoder"]["word_embeddings"]["embedding"])[vocab:]).sum(-1)
  assert (g_rows > 0).all(), g_rows
  # Trains a few steps (the grown model merges with the checkpoint and runs).
  config.num_epochs = 2
  config.input.batch_size = 10
  result = supervised.train_and_evaluate(config, str(tmp_path / "w"))
  assert result["steps"] == 4 and 0.0 <= result["test_f1"] <= 1.0


def test_the_vocabulary_table_of_every_architecture():
  """grow_vocab finds each registered architecture's word-embedding table by
  its shape following vocab_size (no per-architecture names)."""
  configs = {
      "bert": (transformers.BertConfig(vocab_size=100, **SMALL), "word_embeddings"),
      "distilbert": (transformers.DistilBertConfig(vocab_size=100, dim=32, n_layers=2,
                                                   n_heads=4, hidden_dim=64),
                     "word_embeddings"),
      "roberta": (transformers.RobertaConfig(vocab_size=100, **SMALL), "word_embeddings"),
      "electra": (transformers.ElectraConfig(vocab_size=100, embedding_size=16, **SMALL),
                  "word_embeddings"),
      "mpnet": (transformers.MPNetConfig(vocab_size=100, **SMALL), "word_embeddings"),
      "deberta-v2": (transformers.DebertaV2Config(vocab_size=100, relative_attention=True,
                                                  pos_att_type=["c2p", "p2c"],
                                                  position_biased_input=False, **SMALL),
                     "word_embeddings"),
      "modernbert": (transformers.ModernBertConfig(vocab_size=100, **SMALL), "tok_embeddings"),
  }
  for kind, (hf, name) in configs.items():
    cfg = encoders.config_from_hf(hf.to_dict())
    assert cfg.kind == kind
    assert relation_transformer.vocab_tables(cfg) == [(name, "embedding")], kind


def test_a_padded_table_keeps_its_size(tmp_path):
  """ModernBERT's (and DeBERTa-v3's) table has rows past the tokenizer's
  ids: the added markers take four of them, redrawn, and nothing grows."""
  torch.manual_seed(0)
  cfg = transformers.ModernBertConfig(vocab_size=1208, max_position_embeddings=64,
                                      pad_token_id=0, bos_token_id=None, eos_token_id=None,
                                      cls_token_id=None, sep_token_id=None, **SMALL)
  transformers.ModernBertModel(cfg).save_pretrained(tmp_path)
  _, enc_cfg, params, _ = hf_import.load(str(tmp_path))
  fresh = [1200, 1201, 1202, 1203]  # The ids a 1200-token tokenizer gives the markers.
  new_cfg, grown = relation_transformer.grow_vocab(enc_cfg, params, 1204, fresh)
  assert new_cfg == enc_cfg
  old, new = params["tok_embeddings"]["embedding"], grown["tok_embeddings"]["embedding"]
  assert new.shape == old.shape == (1208, 32)
  keep = np.setdiff1d(np.arange(1208), fresh)
  np.testing.assert_array_equal(new[keep], old[keep])
  assert not np.isclose(new[fresh], old[fresh]).any()


def test_bert_vocabulary_keeps_its_unused_slots(data_dir, tiny_bert_dir, tmp_path):
  """A BERT vocabulary: [unused0..3], nothing added, the table and the
  encodings' cache key exactly as before new markers existed."""
  tok = hf_import.load_tokenizer(tiny_bert_dir)
  assert entity_markers.add_marker_tokens(tok) == [] and len(tok) == 30522
  vocab = tok.get_vocab()
  assert entity_markers.entity_ids(tok) == tuple(vocab[m] for m in entity_markers.UNUSED)
  exs = [dict(token=["Alice", "met", "Bob", "in", "Paris", "."], subj_start=0, subj_end=0,
              obj_start=4, obj_end=4, subj_type="PERSON", obj_type="CITY")]
  # The key computed before this change (MiniLM's vocabulary), so caches stay valid.
  assert entity_markers._key(exs, tok, "entity", 16) == (  # pylint: disable=protected-access
      "73c0a8bf0d4a960e21a4edb8f2e3a9d0c0ec9948")
  enc = entity_markers.encode(exs, tok, 16)
  assert enc.ids[0, :12].tolist() == [101, 1, 5650, 2, 2777, 3960, 1999, 3, 3000, 4, 1012, 102]
  config = _config(data_dir, tiny_bert_dir, str(tmp_path / "cache"))
  d = relation_transformer.RelationTransformer(config).data
  _, _, pretrained, _ = hf_import.load(tiny_bert_dir)
  assert d["enc_cfg"].vocab_size == 30522 and len(d["tokenizer"]) == 30522
  np.testing.assert_array_equal(d["enc_params"]["word_embeddings"]["embedding"],
                                pretrained["word_embeddings"]["embedding"])
  for split in (d["splits"]["train"], d["splits"]["test"]):
    rows = np.arange(len(split.e1))
    assert (split.tokens[rows, split.e1] == vocab["[unused0]"]).all()
    assert (split.tokens[rows, split.e2] == vocab["[unused2]"]).all()
