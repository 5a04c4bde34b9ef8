"""Bad input to the text readers, the GloVe reader and the cache: one clear line each."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from configs import aum_tsv
from noisy_meta.core import errors
from noisy_meta.data import pipeline
from noisy_meta.data import relation_features
from noisy_meta.data import tasks
from noisy_meta.data import text_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write(tmp_path, text, name="f.tsv"):
  path = tmp_path / name
  path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
  return str(path)


def _read(path, text_column="sentence", label_column="label", **kw):
  return text_files.read_delimited(path, text_column, label_column, **kw)


# Columns.

def test_text_column_equal_to_label_column_is_refused(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\na\tpos\nb\tneg\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv:1: text_column='label' and "
                     r"label_column='label' are the same column \(1\)"):
    _read(path, "label", "label")
  # A name and an index of the same column, too.
  with pytest.raises(errors.InputError, match=r"f\.tsv:1: .*same column \(0\)"):
    _read(path, "sentence", "0")
  raw = _write(tmp_path, "a\tpos\nb\tneg\n", "raw.tsv")
  with pytest.raises(errors.InputError, match=r"raw\.tsv:1: .*same column \(1\)"):
    _read(raw, 1, 1, has_header=False)


def test_out_of_range_column_index_names_file_and_line(tmp_path):
  raw = _write(tmp_path, "\na\tpos\nb\tneg\n", "raw.tsv")  # Line 1 is blank.
  with pytest.raises(errors.InputError, match=r"raw\.tsv:2: text_column=5 is out of "
                     r"range: the row has 2 field\(s\), 0-based indices 0\.\.1"):
    _read(raw, "5", "1", has_header=False)
  path = _write(tmp_path, "sentence\tlabel\na\tpos\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv:1: label_column=2 is out of "
                     r"range: the header has 2"):
    _read(path, "sentence", 2)
  with pytest.raises(errors.InputError, match=r"raw\.tsv:2: text_column='sentence' is "
                     r"not a 0-based index, and without a header"):
    _read(raw, "sentence", "1", has_header=False)


def test_duplicate_header_name_names_both_positions(tmp_path):
  path = _write(tmp_path, "label\tsentence\tlabel\npos\ta\tneg\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv:1: the header names the label "
                     r"column 'label' 2 times, at columns 0 and 2 \(0-based\)"):
    _read(path)
  # A repeated name that is not chosen is harmless; indices pick either copy.
  d = _read(path, "sentence", "2", label_names=("neg", "pos"))
  assert d.texts == ["a"] and list(d.labels) == [0]


# Labels.

def test_single_class_training_file_is_refused(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\na\tpos\nb\tpos\nc\tpos\n", "train.tsv")
  with pytest.raises(errors.InputError, match=r"train\.tsv: all 3 examples have the "
                     r"label 'pos'; a classifier needs two classes at least"):
    _read(path)
  # A dev file read against the training labels may hold one class.
  d = _read(path, label_names=("neg", "pos"))
  assert list(d.labels) == [1, 1, 1]


def test_empty_label_names_file_and_line(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\na\tpos\nb\t \nc\tneg\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv:3: empty label \(column 1\)"):
    _read(path)
  csv_path = _write(tmp_path, 'text,label\n"a, b",pos\n"c",\n', "f.csv")
  with pytest.raises(errors.InputError, match=r"f\.csv:3: empty label"):
    _read(csv_path, "text", delimiter=",")


def test_missing_value_label_is_refused_with_its_line(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\na\t0\nb\tnan\nc\t1\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv:3: label 'nan' looks like a "
                     r"missing value \(pandas and spreadsheets write an empty cell "
                     r"so\), not a class; .*list it in input\.labels if it is a class"):
    _read(path)
  # Declared as a class, it is one; against other names, the hint says why.
  assert _read(path, label_names=("0", "1", "nan")).label_names == ("0", "1", "nan")
  with pytest.raises(errors.InputError, match=r"f\.tsv:3: unknown label 'nan'; expected "
                     r"one of \['0', '1'\] \('nan' looks like a missing value"):
    _read(path, label_names=("0", "1"))


def test_one_label_written_two_ways_is_refused(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\na\t1\nb\t0\nc\t1.0\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv:4: label '1\.0' and label '1' "
                     r"\(.*f\.tsv:2\) are the same number \(1\) written two ways; "
                     r"write each class one way"):
    _read(path)
  with pytest.raises(errors.InputError, match=r"f\.tsv:4: unknown label '1\.0'; .*"
                     r"\('1\.0' and '1' are the same number \(1\) written two ways: "
                     r"write it as '1'\)"):
    _read(path, label_names=("0", "1"))
  cased = _write(tmp_path, "sentence\tlabel\na\tpos\nb\tneg\nc\tPos\n", "c.tsv")
  with pytest.raises(errors.InputError, match=r"c\.tsv:4: label 'Pos' and label 'pos' "
                     r"\(.*c\.tsv:2\) are the same word in another letter case"):
    _read(cased)
  assert len(_read(cased, label_names=("neg", "pos", "Pos")).label_names) == 3


def test_a_label_column_of_mostly_one_label_per_row_is_refused(tmp_path):
  rows = "".join(f"{'pos' if i % 2 else 'neg'}\tsentence number {i}\n" for i in range(30))
  path = _write(tmp_path, "label\tsentence\n" + rows)
  with pytest.raises(errors.InputError, match=r"f\.tsv: 30 different labels in 30 rows "
                     r"\(e\.g\. .*\): is label_column='sentence' the label column\? List "
                     r"the classes in input\.labels if these are classes\."):
    _read(path, "label", "sentence")  # The columns swapped.
  assert _read(path).label_names == ("neg", "pos")


def test_repeated_or_blank_label_names_are_refused(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\na\tpos\nb\tneg\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv: the label names \(input\.labels\) "
                     r"give 'neg' twice \(positions 0 and 2, 0-based\); list each "
                     r"class once"):
    _read(path, label_names=("neg", "pos", "neg"))
  with pytest.raises(errors.InputError, match=r"hold ' pos': a label is read without "
                     r"surrounding spaces"):
    _read(path, label_names=("neg", " pos"))


def test_declared_class_without_training_rows_is_a_warning(tmp_path, caplog):
  config = aum_tsv.get_config()
  config.input.train_file = _write(tmp_path, "sentence\tlabel\na\tpos\nb\tneg\n", "t.tsv")
  config.input.dev_file = _write(tmp_path, "sentence\tlabel\nc\tpos\n", "d.tsv")
  config.input.labels = ("neg", "neutral", "pos")
  train, dev = tasks.load_splits(config.input)
  expected = (f"{config.input.train_file}: no training example has the label(s) "
              "['neutral'] of the 3 classes: the model never learns them.")
  assert train.warnings == [expected] and expected in caplog.text
  assert train.label_names == dev.label_names == ("neg", "neutral", "pos")


def test_dev_equal_to_train_is_a_warning(tmp_path):
  config = aum_tsv.get_config()
  config.input.train_file = _write(tmp_path, "sentence\tlabel\na\tpos\nb\tneg\n", "t.tsv")
  for dev_file in (config.input.train_file,
                   _write(tmp_path, "sentence\tlabel\nb\tneg\n", "d.tsv")):
    config.input.dev_file = dev_file
    train, dev = tasks.load_splits(config.input)
    assert train.warnings == [
        f"{dev_file}: every one of its {len(dev)} dev examples is also a training "
        "example: dev scores measure fit to the training data, not generalisation."]
  config.input.dev_file = _write(tmp_path, "sentence\tlabel\nb\tpos\n", "d.tsv")
  assert tasks.load_splits(config.input)[0].warnings == []  # Another label: held out.


def test_a_folder_or_a_link_loop_is_named_as_what_it_is(tmp_path):
  (tmp_path / "dir").mkdir()
  with pytest.raises(errors.InputError, match=r"/dir: a folder, not a file\."):
    _read(str(tmp_path / "dir"))
  loop = tmp_path / "loop.tsv"
  os.symlink(loop, loop)
  with pytest.raises(errors.InputError, match=r"loop\.tsv: a symbolic link loop \(too "
                     r"many levels of symbolic links\), not a file\."):
    _read(str(loop))
  dangling = tmp_path / "dangling.tsv"
  os.symlink(tmp_path / "gone.tsv", dangling)
  with pytest.raises(errors.InputError, match=r"dangling\.tsv: a symbolic link to "
                     r"'.*gone\.tsv', which does not exist\."):
    _read(str(dangling))
  with pytest.raises(errors.InputError, match=r"missing\.tsv: file not found\."):
    _read(str(tmp_path / "missing.tsv"))
  with pytest.raises(errors.InputError, match=r"/dev/null: a device, pipe or socket, not a file\."):
    _read("/dev/null")


def test_utf16_file_is_named_as_utf16(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\na\tpos\n".encode("utf-16"))
  with pytest.raises(errors.InputError, match=r"f\.tsv:1: UTF-16 text \(it starts with "
                     r"a UTF-16 byte-order mark\), not UTF-8; save the file as UTF-8\."):
    _read(path)


# Encoding and the csv module.

def test_utf8_bom_is_accepted(tmp_path):
  bom = "\ufeff"
  tsv = _write(tmp_path, bom + "sentence\tlabel\nné\tpos\nb\tneg\n")
  d = _read(tsv)
  assert d.texts == ["né", "b"] and d.sources[0].endswith("f.tsv:2")
  csv_path = _write(tmp_path, bom + 'review,stars\n"x, y",5\nz,1\n', "f.csv")
  d = _read(csv_path, "review", "stars", delimiter=",")
  assert d.texts == ["x, y", "z"] and d.label_names == ("1", "5")
  raw = _write(tmp_path, bom + "a\tpos\nb\tneg\n", "raw.tsv")
  assert _read(raw, 0, 1, has_header=False).texts == ["a", "b"]


def test_bad_utf8_names_its_line(tmp_path):
  path = _write(tmp_path, b"sentence\tlabel\na\tpos\nb \xff\tneg\n")
  with pytest.raises(errors.InputError, match=r"f\.tsv:3: not valid UTF-8 text \(byte 3 "
                     r"of the line, b'\\xff'\)"):
    _read(path)


def test_field_over_the_csv_size_limit_is_read(tmp_path):
  long_text = "word " * 40000  # 200000 characters > csv's default 131072.
  for delimiter, name in ((",", "long.csv"), ("\t", "long.tsv")):
    sep = delimiter
    path = _write(tmp_path, f"sentence{sep}label\n{long_text}{sep}pos\nb{sep}neg\n", name)
    d = _read(path, delimiter=delimiter)
    assert len(d.texts[0]) == len(long_text.strip()) and d.texts[1] == "b"


def test_other_csv_errors_name_file_and_line(tmp_path, monkeypatch):
  limit = csv.field_size_limit()
  monkeypatch.setattr(text_files, "_FIELD_SIZE_LIMIT", 10)
  try:
    csv.field_size_limit(10)
    path = _write(tmp_path, "sentence,label\nshort,pos\nmuch longer text,neg\n", "f.csv")
    with pytest.raises(errors.InputError, match=r"f\.csv:3: field larger than field limit"):
      _read(path, delimiter=",")
  finally:
    csv.field_size_limit(limit)


def test_unclosed_quote_is_reported_with_a_hint(tmp_path):
  path = _write(tmp_path, 'text,label\n"a,pos\nb,neg\n', "f.csv")
  with pytest.raises(errors.InputError, match=r"f\.csv:2: expected 2 fields separated by "
                     r"',', found 1 \(an unclosed '\"' may have joined"):
    _read(path, "text", delimiter=",")


def test_delimiter_must_be_one_character(tmp_path):
  path = _write(tmp_path, "sentence;;label\na;;pos\n", "f.csv")
  with pytest.raises(errors.InputError, match=r"f\.csv: delimiter ';;' cannot separate "
                     r"fields: use one character"):
    _read(path, delimiter=";;")
  with pytest.raises(errors.InputError, match=r"delimiter '' cannot separate"):
    _read(path, delimiter="")
  # A typed backslash-t (the shell passes two characters) is a tab.
  tsv = _write(tmp_path, "sentence\tlabel\na\tpos\nb\tneg\n")
  assert _read(tsv, delimiter="\\t").texts == ["a", "b"]


def test_blank_lines_are_no_rows(tmp_path):
  path = _write(tmp_path, "sentence\tlabel\na\tpos\n\nb\tneg\n\n")
  d = _read(path)
  assert d.texts == ["a", "b"] and d.sources[1].endswith("f.tsv:4")


# GloVe.

def test_glove_non_numeric_value_names_file_and_line(tmp_path):
  vocab = relation_features.Vocab.build([["cat", "dog"]])
  path = tmp_path / "g.txt"
  path.write_text("cat 1 2\nbird 0 0\ndog 3 x4\n")
  with pytest.raises(errors.InputError, match=r"g\.txt:3: a value of 'dog' is not a number "
                     r"\(could not convert string to float: 'x4'\)"):
    relation_features.read_glove(str(path), vocab)
  path.write_text("cat 1 2\ndog nan 1\n")
  with pytest.raises(errors.InputError, match=r"g\.txt:2: the vector of 'dog' is not finite"):
    relation_features.read_glove(str(path), vocab)
  path.write_bytes(b"cat 1 2\nd\xffg 1 1\n")
  with pytest.raises(errors.InputError, match=r"g\.txt:2: not valid UTF-8"):
    relation_features.read_glove(str(path), vocab)
  path.write_text("cat 1 2 \r\ndog 3 4\r\n")  # Trailing space, CRLF: fine.
  mat, hits = relation_features.read_glove(str(path), vocab)
  assert hits == 2 and list(mat[vocab.index["dog"]]) == [3, 4]


# The cache folder.

def test_unwritable_cache_is_one_line_naming_the_path(tmp_path, monkeypatch):
  regular = tmp_path / "file"
  regular.write_text("x")
  under = str(regular / "cache")
  monkeypatch.setenv("NOISY_META_CACHE", under)
  with pytest.raises(errors.InputError) as e:
    pipeline.cache_dir()
  assert str(e.value).startswith(f"{under}: cannot use it as the cache folder "
                                 "(NOISY_META_CACHE): Not a directory")
  assert "\n" not in str(e.value)
  with pytest.raises(errors.InputError, match=r"config\.input\.cache_dir"):
    pipeline.cache_dir(str(regular))  # A regular file is no folder either.
  assert pipeline.cache_dir(str(tmp_path / "ok")) == str(tmp_path / "ok")


def test_tokenisation_cache_write_failure_names_the_folder(tmp_path):
  class Tokenizer:
    pad_token_id = 0
    def get_vocab(self):
      return {"a": 1}
    def __call__(self, texts, truncation, max_length):
      return {"input_ids": [[1, 2] for _ in texts]}
  gone = str(tmp_path / "file" / "cache")
  (tmp_path / "file").write_text("x")
  with pytest.raises(errors.InputError, match=rf"{gone}: cannot use it as the cache "
                     r"folder \(tokenisation cache\)"):
    pipeline.tokenize(["a b"], Tokenizer(), 4, gone)


# Through main: the whole message is one line, exit 2.

def _main(args, env=None):
  env = dict(os.environ, JAX_PLATFORMS="cpu", **(env or {}))
  r = subprocess.run([sys.executable, "-m", "noisy_meta.main", *args], cwd=ROOT, env=env,
                     capture_output=True, text=True, timeout=300)
  errors_ = [l for l in r.stderr.splitlines() if l.startswith("error: ")]
  return r.returncode, errors_, r.stderr


def test_main_prints_one_line_before_training(tmp_path):
  train = _write(tmp_path, "sentence\tlabel\na\tpos\nb\tneg\n", "train.tsv")
  code, lines, stderr = _main([
      "--config=configs/finetune_tsv.py", f"--workdir={tmp_path / 'w'}",
      f"--config.input.train_file={train}", f"--config.input.dev_file={train}",
      "--config.input.text_column=label", f"--config.input.cache_dir={tmp_path / 'c'}"])
  assert code == 2, stderr
  assert lines == [f"error: {train}:1: text_column='label' and label_column='label' are "
                   "the same column (1): the text would contain its own label."]
  assert "Traceback" not in stderr


def test_main_with_an_unwritable_cache_prints_one_line(tmp_path):
  (tmp_path / "file").write_text("x")
  under = str(tmp_path / "file" / "cache")
  code, lines, stderr = _main(["--config=configs/finetune_tsv.py",
                               f"--workdir={tmp_path / 'w'}"],
                              env={"NOISY_META_CACHE": under})
  assert code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {under}: "), stderr


# AUM on your own data.

def _tsv(tmp_path, n, name):
  """`n` rows, two classes, words that give the class away plus a few flips."""
  rng = np.random.default_rng(len(name) + n)
  rows = ["sentence\tlabel"]
  for i in range(n):
    label = i % 2
    words = rng.choice(["good", "great", "fine"] if label else ["bad", "awful", "poor"], 4)
    rows.append(f"{' '.join(words)} row {i}\t{['neg', 'pos'][label]}")
  return _write(tmp_path, "\n".join(rows) + "\n", name)


def _aum_tsv_config(tmp_path, arg, n_train, n_dev, tiny_bert_dir):
  config = aum_tsv.get_config(arg)
  config.input.train_file = _tsv(tmp_path, n_train, "train.tsv")
  config.input.dev_file = _tsv(tmp_path, n_dev, "dev.tsv")
  config.input.cache_dir = str(tmp_path / "cache")
  config.model.path = tiny_bert_dir
  return config


def test_aum_tsv_runlocal_on_a_60_row_file_uses_all_of_it(tmp_path, caplog):
  config = aum_tsv.get_config("runlocal")
  config.input.train_file = _tsv(tmp_path, 60, "train.tsv")
  config.input.dev_file = _tsv(tmp_path, 20, "dev.tsv")
  # runlocal's train_size=128 on 60 rows: all 60, with a warning; dev_size=128 on 20 rows keeps all 20.
  train, dev = tasks.load_splits(config.input)
  assert (len(train), len(dev)) == (60, 20)
  assert "train_size=128 but" in caplog.text and "using all of them" in caplog.text
  assert aum_tsv.get_config("runlocal,train_size=40").input.train_size == 40


def test_one_class_left_after_train_size_is_refused(tmp_path):
  config = aum_tsv.get_config("")
  config.input.train_file = _tsv(tmp_path, 60, "train.tsv")
  config.input.dev_file = _tsv(tmp_path, 20, "dev.tsv")
  config.input.labels = ("neg", "pos", "zzz")
  config.input.train_size = 1
  with pytest.raises(errors.InputError, match=r"train.tsv: all 1 training examples"):
    tasks.load_splits(config.input)


@pytest.mark.job
def test_aum_tsv_end_to_end_on_a_small_file(tmp_path, tiny_bert_dir):
  from noisy_meta.trainers import aum  # pylint: disable=g-import-not-at-top
  config = _aum_tsv_config(tmp_path, "runlocal,noise=0.1", 60, 20, tiny_bert_dir)
  config.optim.lr = 1e-3
  w = str(tmp_path / "w")
  summary = aum.train_and_evaluate(config, w)
  rows = list(csv.DictReader(open(os.path.join(w, "examples.csv"), encoding="utf-8")))
  assert len(rows) == 60
  # Every row names its line in the user's file.
  assert sorted(r["source"] for r in rows) == sorted(
      f"{config.input.train_file}:{line}" for line in range(2, 62))
  r1, r2 = (np.load(os.path.join(w, f"aum_run{i}/dynamics.npz")) for i in (1, 2))
  assert len(r1["threshold_idx"]) == len(r2["threshold_idx"]) == 60 // 3 // 2 * 2
  for name in ("report.md", "summary.json", "clean/none_s0/metrics.json",
               "clean/sieve_p50_s0/metrics.json", "clean/flip_p50_s0/metrics.json"):
    assert os.path.exists(os.path.join(w, name)), name
  assert json.load(open(os.path.join(w, "summary.json")))["percentiles"].keys() == (
      summary["percentiles"].keys())


def test_too_few_examples_for_threshold_samples_is_one_error(tmp_path, tiny_bert_dir):
  from noisy_meta.trainers import aum  # pylint: disable=g-import-not-at-top
  config = _aum_tsv_config(tmp_path, "runlocal", 4, 4, tiny_bert_dir)
  with pytest.raises(errors.InputError, match=r"4 training examples in 2 classes give no "
                     r"threshold samples"):
    aum.train_and_evaluate(config, str(tmp_path / "w"))


def test_neighbours_of_a_tiny_file_use_every_other_example():
  from noisy_meta.reports import aum_summary as reports  # pylint: disable=g-import-not-at-top
  emb = np.eye(4, dtype=np.float32)
  emb[1] = emb[0]  # 0 and 1 are each other's nearest neighbour.
  out = reports.neighbour_agreement(emb, np.array([0, 0, 1, 1]), k=10)
  assert out["majority_share"].shape == (4,)
  # k=3: every other example; example 0 sees labels 0, 1, 1: the majority is 1.
  np.testing.assert_allclose(out["majority_share"], [2 / 3] * 4)
  assert list(out["agrees"]) == [False, False, False, False]
