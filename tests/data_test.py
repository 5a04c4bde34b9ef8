"""Readers (real data and bad input), tokenisation cache and batching."""
import os

import numpy as np
import pytest

from noisy_meta.core import errors
from noisy_meta.data import pipeline
from noisy_meta.data import tasks
from noisy_meta.data import text_files
from configs import finetune_cola


def test_real_glue_sizes(data_dir):
  cola_train = text_files.read_local_glue("cola", "train", data_dir)
  cola_dev = text_files.read_local_glue("cola", "validation", data_dir)
  sst_train = text_files.read_local_glue("sst2", "train", data_dir)
  sst_dev = text_files.read_local_glue("sst2", "validation", data_dir)
  assert (len(cola_train), len(cola_dev), len(sst_train), len(sst_dev)) == (
      8551, 1043, 67349, 872)
  # First CoLA training row (gj04, label 1) and its provenance.
  assert cola_train.texts[0].startswith("Our friends won't buy this analysis")
  assert cola_train.labels[0] == 1
  assert cola_train.sources[0].endswith("in_domain_train.tsv:1")
  assert sst_train.sources[0].endswith("train.tsv:2")  # After the header.
  assert set(np.unique(cola_train.labels)) == {0, 1}


def _write(tmp_path, text, name="f.tsv"):
  path = tmp_path / name
  path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
  return str(path)


def test_malformed_row_names_file_and_line(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\ngood one\t1\nno label here\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv:3: expected 2 fields"):
    text_files.read_delimited(path, "sentence", "label")


def test_unknown_label_names_file_and_line(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\na\t1\nb\t7\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv:3: unknown label '7'"):
    text_files.read_delimited(path, "sentence", "label", label_names=("0", "1"))


def test_empty_sentence_names_file_and_line(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\na\t1\n  \t0\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv:3: empty text"):
    text_files.read_delimited(path, "sentence", "label")


def test_bad_encoding_and_empty_file(tmp_path):
  with pytest.raises(errors.InputError, match="not valid UTF-8"):
    text_files.read_delimited(_write(tmp_path, b"sentence\tlabel\n\xff\xfe\t1\n"),
                              "sentence", "label")
  with pytest.raises(errors.InputError, match="empty file"):
    text_files.read_delimited(_write(tmp_path, "", "e.tsv"), "sentence", "label")


def test_missing_data_dir(monkeypatch):
  config = finetune_cola.get_config()
  config.input.data_dir = "/nonexistent/noisy_meta_data"
  with pytest.raises(errors.InputError, match="does not exist"):
    tasks.load_splits(config.input)
  monkeypatch.delenv("NOISY_META_DATA_DIR", raising=False)
  config.input.data_dir = ""
  config.input.source = "local"
  with pytest.raises(errors.InputError, match="No data directory"):
    tasks.load_splits(config.input)


def test_csv_with_quotes_and_index_columns(tmp_path):
  path = _write(tmp_path, 'x,"a, quoted, text",pos\ny,plain,neg\n', "f.csv")
  d = text_files.read_delimited(path, 1, 2, delimiter=",", has_header=False)
  assert d.texts == ["a, quoted, text", "plain"]
  assert d.label_names == ("neg", "pos") and list(d.labels) == [1, 0]


def test_tsv_task_dev_labels_must_match_train(tmp_path):
  config = finetune_cola.get_config()
  config.input.task = "tsv"
  config.input.train_file = _write(tmp_path, "sentence\tlabel\na\tpos\nb\tneg\n", "t.tsv")
  config.input.dev_file = _write(tmp_path, "sentence\tlabel\nc\tneutral\n", "d.tsv")
  with pytest.raises(errors.InputError, match=r"d\.tsv:2: unknown label 'neutral'"):
    tasks.load_splits(config.input)


def test_train_subset_is_seeded(data_dir):
  config = finetune_cola.get_config("train_size=100")
  config.input.data_dir = data_dir
  a, _ = tasks.load_splits(config.input)
  b, _ = tasks.load_splits(config.input)
  config.input.subset_seed = 1
  c, _ = tasks.load_splits(config.input)
  assert len(a) == 100 and a.texts == b.texts and a.texts != c.texts
  config.input.train_size = 0
  full, _ = tasks.load_splits(config.input)
  assert set(a.sources) <= set(full.sources)


def test_epoch_batches_cover_every_example_once_and_pad_last():
  lengths = np.random.default_rng(0).integers(3, 100, size=103)
  batches = pipeline.epoch_batches(lengths, 16, seed=1, epoch=2, buckets=(16, 32, 64, 128))
  idx = np.concatenate([b for b, _ in batches])
  assert sorted(idx) == list(range(103)) and len(batches) == 7
  for b, length in batches:
    assert length in (16, 32, 64, 128) and lengths[b].max() <= length
  again = pipeline.epoch_batches(lengths, 16, seed=1, epoch=2, buckets=(16, 32, 64, 128))
  assert all((x == y).all() for (x, _), (y, _) in zip(batches, again))
  other = pipeline.epoch_batches(lengths, 16, seed=1, epoch=3, buckets=(16, 32, 64, 128))
  assert any(len(x) != len(y) or (x != y).any() for (x, _), (y, _) in zip(batches, other))
  ids = np.arange(103 * 100).reshape(103, 100).astype(np.int32)
  short = next(b for b, _ in batches if len(b) < 16)
  batch = pipeline.make_batch(ids, lengths, np.zeros(103, np.int32), short, 16,
                              pipeline.bucket_length(lengths[short].max(), (16, 32, 64, 128)))
  assert batch["_mask"].sum() == len(short) and (batch["_id"][len(short):] == -1).all()
  assert (batch["attention_mask"].sum(1)[:len(short)] == lengths[short]).all()


def test_eval_batches_sorted_by_length_pad_less_than_row_order():
  """Evaluation order: every row once, shortest first, each batch padded to
  its own bucket; less padding than batches in row order."""
  buckets = (16, 32, 64, 128)
  lengths = np.random.default_rng(1).integers(3, 120, size=300)
  batches = pipeline.epoch_batches(lengths, 32, 0, 0, buckets, shuffle=False)
  idx = np.concatenate([b for b, _ in batches])
  assert sorted(idx) == list(range(300)) and (np.diff(lengths[idx]) >= 0).all()
  padded = sum(n * len(b) for b, n in batches)
  in_order = sum(pipeline.bucket_length(int(lengths[s:s + 32].max()), buckets) *
                 len(lengths[s:s + 32]) for s in range(0, 300, 32))
  assert padded < 0.8 * in_order


def test_tokenize_is_cached_and_exact(tmp_path, minilm_dir):
  from noisy_meta.models import hf_import  # pylint: disable=g-import-not-at-top
  tok = hf_import.load_tokenizer(minilm_dir)
  texts = ["The cat sat.", "A much longer sentence " * 20]
  ids, lengths = pipeline.tokenize(texts, tok, 16, str(tmp_path))
  assert len(os.listdir(tmp_path)) == 1
  assert list(ids[0, :lengths[0]]) == tok("The cat sat.")["input_ids"]
  assert lengths[1] == 16 and ids[1, 15] == tok.sep_token_id
  ids2, lengths2 = pipeline.tokenize(texts, tok, 16, str(tmp_path))
  assert (ids2 == ids).all() and (lengths2 == lengths).all()


def test_one_bucket_length_for_both_batch_makers():
  """Tuple buckets (text) and a multiple (relations): one function."""
  assert [pipeline.bucket_length(n, (16, 32)) for n in (1, 16, 17, 32, 99)] == [16, 16, 32,
                                                                                32, 32]
  assert [pipeline.bucket_length(n, 16) for n in (1, 16, 17, 32, 33, 99)] == [16, 16, 32, 32,
                                                                              48, 112]


def test_trec_reads_the_tsv_and_the_original_files_alike(data_dir, tmp_path):
  if not os.path.isdir(os.path.join(data_dir, "trec")):
    pytest.skip(f"TREC not found in {data_dir}")
  tsv = text_files.read_trec("train", data_dir)
  assert len(tsv) == 5452 and tsv.label_names == text_files.TREC_LABELS
  counts = dict(zip(tsv.label_names, np.bincount(tsv.labels, minlength=6)))
  assert counts["ENTY"] == 1250 and counts["ABBR"] == 86  # ../shared/data/trec/SOURCE.md.
  original = text_files.read_trec_original(os.path.join(data_dir, "trec", "train_5500.label"))
  np.testing.assert_array_equal(original.labels, tsv.labels)
  # Only the test file is there: it is TREC's evaluation split.
  inp = finetune_cola.get_config().input
  inp.task, inp.data_dir = "trec", data_dir
  train, dev = tasks.load_splits(inp)
  assert len(train) == 5452 and len(dev) == 500


def test_trec_original_bad_line_names_file_and_line(tmp_path):
  path = tmp_path / "t.label"
  path.write_text("DESC:def What is an atom ?\nWHAT:x Who ?\n", encoding="iso-8859-1")
  with pytest.raises(errors.InputError, match=r"t\.label:2"):
    text_files.read_trec_original(str(path))
  os.makedirs(tmp_path / "d")
  with pytest.raises(errors.InputError, match="lacks TREC train"):
    text_files.read_trec("train", str(tmp_path / "d"))
