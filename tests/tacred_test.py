"""Tests of the TACRED JSON reader and its validation."""
import json
import os

import pytest

from noisy_meta.core import errors
from noisy_meta.data import label_patches
from noisy_meta.data import tacred
from tests import tacred_examples

# Shared by the relation data tests (tests/tacred_examples.py).
_check_schema = tacred_examples.check_schema
_tacred_example = tacred_examples.make
_write_json = tacred_examples.write_json


@pytest.fixture
def tacred_dir(data_dir):
  return tacred_examples.sample_dir(data_dir)


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
    (dict(obj_start=0, obj_end=0), r"subject and object are the same span \[0, 0\] "
     r"\('Bob'\): a relation needs two entities\."),
    (dict(stanford_head=["3", "3", "0", "²"]), r"stanford_head\[3\] = '²' is not an "),
    (dict(stanford_head=["3", "3", "0", "9" * 5000]), r"stanford_head\[3\] = '9999"),
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




def test_read_tacred_file_kinds_encodings_and_extreme_json(tmp_path):
  """A folder, a BOM, UTF-16, a 5000-digit number, deep nesting: one line each."""
  with pytest.raises(errors.InputError, match=r"/t: a folder, not a file\."):
    os.mkdir(tmp_path / "t")
    tacred.read_tacred(str(tmp_path / "t"))
  bom = tmp_path / "bom.json"
  bom.write_bytes(b"\xef\xbb\xbf" + json.dumps([_tacred_example()]).encode())
  assert len(tacred.read_tacred(str(bom))) == 1
  utf16 = tmp_path / "utf16.json"
  utf16.write_bytes(json.dumps([_tacred_example()]).encode("utf-16"))
  with pytest.raises(errors.InputError, match=r"utf16\.json:1: UTF-16 text"):
    tacred.read_tacred(str(utf16))
  for text, message in (("[" + "1" * 5000 + "]", r"huge\.json: unreadable JSON value \("
                         r"Exceeds the limit \(4300 digits\) .*: value has 5000 digits\)\.$"),
                        ("[" * 100000, r"huge\.json: JSON nested too deeply to read\.")):
    (tmp_path / "huge.json").write_text(text, encoding="utf-8")
    with pytest.raises(errors.InputError, match=message):
      tacred.read_tacred(str(tmp_path / "huge.json"))
