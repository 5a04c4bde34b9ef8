"""Fuzzed readers: any input gives a result or an InputError; valid files round-trip.

The TSV/CSV reader, SemEval's raw-file parser (no spaCy), TACRED's JSON
reader and the label patches get random bytes, truncated valid files, other
encodings (latin-1, cp1252, UTF-16/32, byte-order marks), wrong JSON types
and extreme numbers: each must give a result or `errors.InputError`, never
another exception. A generated valid file must read back as written: the
same rows, labels and provenance (`file:line`, `file#index`).
hypothesis's profile is in tests/conftest.py: 60 derandomized examples per
test (NOISY_META_FUZZ_EXAMPLES raises it), no example database.
"""
import csv
import io
import json
import os
import re
import tempfile

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import strategies as st  # pylint: disable=g-import-not-at-top

from noisy_meta.core import errors  # pylint: disable=g-import-not-at-top
from noisy_meta.data import label_patches  # pylint: disable=g-import-not-at-top
from noisy_meta.data import semeval  # pylint: disable=g-import-not-at-top
from noisy_meta.data import tacred  # pylint: disable=g-import-not-at-top
from noisy_meta.data import text_files  # pylint: disable=g-import-not-at-top

given = hypothesis.given
ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-16-be",
             "utf-32")
# Text that is its own strip(), without control characters or surrogates.
WORDS = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
                min_size=1, max_size=12).filter(lambda t: t == t.strip())
# JSON values of any type, extreme numbers included.
NUMBERS = st.one_of(st.integers(), st.sampled_from([10**30, -10**30, 2**63, -1]),
                    st.floats(allow_nan=True, allow_infinity=True))
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _file(tmp_path, data, name="f.txt"):
  """`data` (bytes) in a fresh folder under tmp_path; returns the path."""
  path = os.path.join(tempfile.mkdtemp(dir=tmp_path), name)
  with open(path, "wb") as f:
    f.write(data)
  return path


def _result_or_input_error(fn, *args, **kwargs):
  """fn's result, or None when it raised InputError; any other error fails."""
  try:
    return fn(*args, **kwargs)
  except errors.InputError as e:
    assert str(e).strip() and "\n" not in str(e), repr(str(e))
    return None


# ------------------------------------------------------------ TSV / CSV.


def _check_text_data(d, path):
  assert len(d.texts) == len(d.labels) == len(d.sources) > 0
  assert 0 <= d.labels.min() and d.labels.max() < len(d.label_names)
  assert all(re.fullmatch(re.escape(path) + r":\d+", s) for s in d.sources)


TSV_PIECES = st.lists(st.sampled_from(
    ["sentence", "label", "\t", ",", "\n", "\r\n", "\r", '"', "pos", "neg", "nan",
     "1", "1.0", "Pos", " ", "é", "\ufeff", "\x00", "a b"]), max_size=40).map("".join)


@given(data=st.one_of(st.binary(max_size=300), TSV_PIECES.map(str.encode)),
       delimiter=st.sampled_from(["\t", ","]), has_header=st.booleans(),
       label_names=st.sampled_from([None, ("neg", "pos"), ("0", "1")]))
def test_tsv_any_bytes_give_rows_or_input_error(tmp_path, data, delimiter, has_header,
                                                label_names):
  path = _file(tmp_path, data, "f.tsv")
  columns = ("sentence", "label") if has_header else (0, 1)
  d = _result_or_input_error(text_files.read_delimited, path, *columns,
                             label_names=label_names, delimiter=delimiter,
                             has_header=has_header)
  if d is not None:
    _check_text_data(d, path)


@given(text_column=st.one_of(st.integers(-3, 10**12), st.text(max_size=4)),
       label_column=st.one_of(st.integers(-3, 10**12), st.text(max_size=4)),
       delimiter=st.text(max_size=2), has_header=st.booleans(),
       label_names=st.one_of(st.none(), st.lists(st.text(max_size=3), max_size=4)))
def test_tsv_any_arguments_give_rows_or_input_error(tmp_path, text_column, label_column,
                                                    delimiter, has_header, label_names):
  path = _file(tmp_path, b"sentence\tlabel\nthe cat\tpos\na dog\tneg\n", "f.tsv")
  d = _result_or_input_error(text_files.read_delimited, path, text_column, label_column,
                             label_names=label_names, delimiter=delimiter,
                             has_header=has_header)
  if d is not None:
    _check_text_data(d, path)


@st.composite
def tsv_files(draw):
  """(file text, delimiter, rows [(text, label)], first line of each row)."""
  delimiter = draw(st.sampled_from(["\t", ","]))
  if delimiter == ",":  # Quoted fields may hold commas, quotes and newlines.
    texts = st.one_of(WORDS, st.tuples(WORDS, st.sampled_from([", ", '"', "\n", ' " ,']),
                                       WORDS).map("".join))
  else:
    texts = WORDS.filter(lambda t: not set(t) & set("\t\n\r"))
  rows = draw(st.lists(st.tuples(texts, st.sampled_from(["pos", "neg", "0", "1", "x y"])),
                       min_size=2, max_size=8))
  hypothesis.assume(len({label for _, label in rows}) >= 2)
  end = draw(st.sampled_from(["\n", "\r\n"]))
  out = io.StringIO()
  write = (csv.writer(out, lineterminator=end).writerow if delimiter == "," else
           lambda row: out.write("\t".join(row) + end))
  write(["sentence", "label"])
  lines = []
  for text, label in rows:
    if draw(st.booleans()):
      out.write(end)  # A blank line is no row; it moves the line numbers on.
    lines.append(out.getvalue().count("\n") + 1)
    write([text, label])
  return out.getvalue(), delimiter, rows, lines


@given(tsv=tsv_files(), bom=st.booleans())
def test_tsv_round_trip_keeps_rows_labels_and_lines(tmp_path, tsv, bom):
  text, delimiter, rows, lines = tsv
  path = _file(tmp_path, (("\ufeff" if bom else "") + text).encode("utf-8"), "f.tsv")
  d = text_files.read_delimited(path, "sentence", "label", delimiter=delimiter)
  assert d.texts == [t for t, _ in rows]
  assert [d.label_names[i] for i in d.labels] == [label for _, label in rows]
  assert d.label_names == tuple(sorted({label for _, label in rows}))
  assert d.sources == [f"{path}:{line}" for line in lines]


@given(tsv=tsv_files(), encoding=st.sampled_from(ENCODINGS), cut=st.floats(0, 1))
def test_tsv_other_encodings_and_truncations(tmp_path, tsv, encoding, cut):
  text, delimiter, _, _ = tsv
  data = text.encode(encoding, errors="replace")
  for name, blob in (("enc.tsv", data), ("cut.tsv", data[:int(cut * len(data))])):
    path = _file(tmp_path, blob, name)
    d = _result_or_input_error(text_files.read_delimited, path, "sentence", "label",
                               delimiter=delimiter)
    if d is not None:
      _check_text_data(d, path)
  if encoding in ("utf-16", "utf-32"):  # A byte-order mark: refused, named.
    with pytest.raises(errors.InputError, match="UTF-8"):
      text_files.read_delimited(_file(tmp_path, data), "sentence", "label",
                                delimiter=delimiter)


# ------------------------------------------------------------ SemEval.


SEMEVAL_PIECES = st.lists(st.sampled_from(
    ['1\t"', '12\t"', '"', "<e1>", "</e1>", "<e2>", "</e2>", "<e3>", "< e1>", "word",
     " ", "\r\n", "\n", "Other", "Cause-Effect(e1,e2)", "Comment: x", "\t", "é",
     "\x00", "\ufeff", "e1>"]), max_size=40).map("".join)


def _check_semeval(records, path):
  for r in records:
    for name in ("e1", "e2"):
      s, e = r[name]
      assert 0 <= s < e <= len(r["text"])
    assert r["relation"] in semeval.SEMEVAL_LABELS
    assert re.fullmatch(re.escape(path) + r":\d+", r["source"])


@given(data=st.one_of(st.binary(max_size=300), SEMEVAL_PIECES.map(str.encode)))
def test_semeval_any_bytes_give_records_or_input_error(tmp_path, data):
  path = _file(tmp_path, data, "TRAIN_FILE.TXT")
  records = _result_or_input_error(semeval.read_semeval, path)
  if records is not None:
    _check_semeval(records, path)


LETTERS = st.text(alphabet="jkqvxz", min_size=1, max_size=5)  # In no label.


@st.composite
def semeval_files(draw):
  """(file text, the records read_semeval should return, relative sources)."""
  end = draw(st.sampled_from(["\r\n", "\n"]))
  ids = draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=6, unique=True))
  out, records, line = [], [], 1
  for ex_id in ids:
    clean, tagged, spans = "", "", {}
    order = draw(st.sampled_from([("e1", "e2"), ("e2", "e1")]))
    pieces = [draw(st.lists(LETTERS, max_size=3)) for _ in range(3)]
    for k, words in enumerate(pieces):
      if words:
        chunk = " ".join(words) + " "
        clean, tagged = clean + chunk, tagged + chunk
      if k < 2:
        name, entity = order[k], " ".join(draw(st.lists(LETTERS, min_size=1, max_size=3)))
        spans[name] = (len(clean), len(clean) + len(entity))
        clean, tagged = clean + entity + " ", tagged + f"<{name}>{entity}</{name}> "
    relation = draw(st.sampled_from(semeval.SEMEVAL_LABELS))
    comment = draw(st.booleans())
    out += [f'{ex_id}\t"{tagged.rstrip()}"', relation] + (["Comment:"] if comment else []) + [""]
    records.append(dict(id=str(ex_id), text=clean.rstrip(), e1=spans["e1"],
                        e2=spans["e2"], relation=relation, line=line))
    line += 4 if comment else 3
  return end.join(out) + end, records


@given(semeval_file=semeval_files(), bom=st.booleans())
def test_semeval_round_trip_keeps_records_and_lines(tmp_path, semeval_file, bom):
  text, expected = semeval_file
  path = _file(tmp_path, (("\ufeff" if bom else "") + text).encode("utf-8"),
               "TRAIN_FILE.TXT")
  got = semeval.read_semeval(path)
  assert got == [dict({k: v for k, v in r.items() if k != "line"},
                      source=f"{path}:{r['line']}") for r in expected]


@given(semeval_file=semeval_files(), encoding=st.sampled_from(ENCODINGS),
       cut=st.floats(0, 1))
def test_semeval_other_encodings_and_truncations(tmp_path, semeval_file, encoding, cut):
  text = semeval_file[0].replace("k", "é")
  data = text.encode(encoding, errors="replace")
  for blob in (data, data[:int(cut * len(data))]):
    path = _file(tmp_path, blob, "TEST_FILE_FULL.TXT")
    records = _result_or_input_error(semeval.read_semeval, path)
    if records is not None:
      _check_semeval(records, path)
  if "é" in text and encoding not in ("utf-8", "utf-8-sig"):  # Its line named.
    with pytest.raises(errors.InputError, match=r"TEST_FILE_FULL\.TXT:\d+: .*UTF"):
      semeval.read_semeval(_file(tmp_path, data, "TEST_FILE_FULL.TXT"))


# ------------------------------------------------------------ TACRED JSON.


@st.composite
def tacred_examples(draw):
  """A valid TACRED example (heads as strings, as LDC's files)."""
  n = draw(st.integers(2, 6))
  tokens = draw(st.lists(WORDS, min_size=n, max_size=n))
  s0 = draw(st.integers(0, n - 1))
  s1 = draw(st.integers(s0, n - 1))
  o0 = draw(st.integers(0, n - 1))
  o1 = draw(st.integers(o0, n - 1))
  if (o0, o1) == (s0, s1):  # One span for both entities is refused.
    o0 = o1 = s0 if s0 != s1 else (s0 + 1) % n
  tags = lambda: draw(st.lists(st.sampled_from(["NN", "O", "PERSON", "x"]),
                               min_size=n, max_size=n))
  return dict(id=draw(WORDS), relation=draw(st.sampled_from(tacred.TACRED_RELATIONS)),
              token=tokens, subj_start=s0, subj_end=s1, obj_start=o0, obj_end=o1,
              subj_type=draw(st.sampled_from(["PERSON", "ORGANIZATION"])),
              obj_type=draw(WORDS), stanford_pos=tags(), stanford_ner=tags(),
              stanford_deprel=tags(),
              stanford_head=[str(h) for h in draw(st.lists(st.integers(0, n),
                                                           min_size=n, max_size=n))])


TACRED_FILES = st.lists(tacred_examples(), min_size=1, max_size=4,
                        unique_by=lambda e: e["id"])


def _check_tacred(examples, path):
  for i, e in enumerate(examples):
    assert e["source"] == f"{path}#{i}"
    assert all(isinstance(h, int) for h in e["stanford_head"])
    assert (e["subj_start"], e["subj_end"]) != (e["obj_start"], e["obj_end"])


@given(data=st.one_of(st.binary(max_size=200), JSON.map(lambda v: json.dumps(v).encode())))
def test_tacred_any_bytes_or_json_give_examples_or_input_error(tmp_path, data):
  path = _file(tmp_path, data, "train.json")
  out = _result_or_input_error(tacred.read_tacred, path)
  if out is not None:
    _check_tacred(out, path)


@given(examples=TACRED_FILES, key=st.sampled_from(tacred.TACRED_KEYS + ("extra",)),
       value=st.one_of(JSON, st.just("DELETE")), raw=st.sampled_from(
           ["", "1" * 5000, "-1e999", "NaN", "[" * 5000, '"\\ud800"']))
def test_tacred_wrong_types_and_extreme_numbers(tmp_path, examples, key, value, raw):
  bad = dict(examples[0])
  if value == "DELETE":
    bad.pop(key, None)
  else:
    bad[key] = value if not raw else "RAW"
  text = json.dumps([bad] + examples[1:]).replace('"RAW"', raw or '"RAW"')
  path = _file(tmp_path, text.encode(), "dev.json")
  out = _result_or_input_error(tacred.read_tacred, path)
  if out is not None:
    _check_tacred(out, path)


@given(examples=TACRED_FILES, encoding=st.sampled_from(ENCODINGS), cut=st.floats(0, 1))
def test_tacred_round_trip_encodings_and_truncations(tmp_path, examples, encoding, cut):
  path = os.path.join(tempfile.mkdtemp(dir=tmp_path), "test.json")
  tacred.write_tacred_json(examples, path)
  got = tacred.read_tacred(path)
  assert got == [dict(e, stanford_head=[int(h) for h in e["stanford_head"]],
                      source=f"{path}#{i}") for i, e in enumerate(examples)]
  with open(path, encoding="utf-8") as f:
    data = f.read().encode(encoding, errors="replace")
  for blob in (data, data[:int(cut * len(data))]):
    out = _result_or_input_error(tacred.read_tacred, _file(tmp_path, blob, "test.json"))
    if out is not None:
      assert len(out) == len(examples)


# ------------------------------------------------------------ Label patches.


@given(data=st.one_of(st.binary(max_size=200), JSON.map(lambda v: json.dumps(v).encode())),
       shape=st.sampled_from(["auto", "list", "object"]))
def test_label_patch_any_bytes_or_json_give_labels_or_input_error(tmp_path, data, shape):
  path = _file(tmp_path, data, "p.json")
  out = _result_or_input_error(label_patches.read_label_patch_file, path, shape)
  if out is not None:
    labels, found = out
    assert found in ("list", "object") and shape in ("auto", found)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())


@given(files=st.dictionaries(st.sampled_from(
    ["dev_patch.json", "test_patch.json", "train_id2label.json", "dev_id2label.json",
     "test_id2label.json", "other.json"]), JSON, max_size=4),
       fmt=st.sampled_from(label_patches.PATCH_FORMATS))
def test_label_patch_folders_give_a_patch_or_input_error(tmp_path, files, fmt):
  folder = tempfile.mkdtemp(dir=tmp_path)
  for name, value in files.items():
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
      json.dump(value, f)
  out = _result_or_input_error(label_patches.read_label_patch, folder, fmt)
  if out is not None:
    assert out["format"] in ("tacrev", "retacred") and out["labels"]


@given(labels=st.dictionaries(WORDS, st.sampled_from(tacred.TACRED_RELATIONS),
                              min_size=1, max_size=6),
       shape=st.sampled_from(["list", "object"]), encoding=st.sampled_from(ENCODINGS),
       cut=st.floats(0, 1))
def test_label_patch_round_trip_encodings_and_truncations(tmp_path, labels, shape,
                                                          encoding, cut):
  value = ([{"id": k, "relation": v} for k, v in labels.items()] if shape == "list"
           else labels)
  text = json.dumps(value, ensure_ascii=False)
  got, found = label_patches.read_label_patch_file(_file(tmp_path, text.encode(), "p.json"))
  assert found == shape and list(got.items()) == list(labels.items())
  data = text.encode(encoding, errors="replace")
  for blob in (data, data[:int(cut * len(data))]):
    out = _result_or_input_error(label_patches.read_label_patch_file,
                                 _file(tmp_path, blob, "p.json"))
    if out is not None:
      assert len(out[0]) <= len(labels)


@given(labels=st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=4),
       keep=st.booleans())
def test_apply_label_patch_gives_examples_or_input_error(labels, keep):
  examples = [dict(id=i, relation="no_relation") for i in ("", "a", "b")]
  out = _result_or_input_error(label_patches.apply_label_patch, examples, labels, keep)
  if out is not None:
    patched, counts, dropped = out
    assert counts["kept"] == len(patched) and counts["dropped"] == len(dropped)
