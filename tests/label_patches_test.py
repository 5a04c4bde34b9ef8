"""Tests of the TACRED label patches: TACRED-Revisited, Re-TACRED, a mapping."""
import json
import os

import pytest

from noisy_meta.core import errors
from noisy_meta.data import label_patches
from noisy_meta.data import tacred
from tests import tacred_examples

# Shared by the relation data tests (tests/tacred_examples.py).
_tacred_example = tacred_examples.make
_write_json = tacred_examples.write_json


@pytest.fixture
def tacred_dir(data_dir):
  return tacred_examples.sample_dir(data_dir)


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


def _tacred_copy(tmp_path, tacred_dir, **splits):
  """The sample in a new folder, with `splits` ({split: examples}) replaced."""
  folder = tmp_path / "tacred"
  folder.mkdir()
  data = _sample(tacred_dir)
  data.update(splits)
  for s in tacred.TACRED_SPLITS:
    tacred.write_tacred_json(data[s], str(folder / f"{s}.json"))
  return str(folder), data


def _relation_config(folder, patch=""):
  from configs import re_tacred  # pylint: disable=g-import-not-at-top
  config = re_tacred.get_config()
  config.input.tacred_dir = folder
  config.input.label_patch = patch
  return config


def test_a_dev_only_relation_that_is_no_tacred_relation_is_refused(tmp_path, tacred_dir):
  from noisy_meta.learners import relation_classifier as relation  # pylint: disable=g-import-not-at-top
  dev = _sample(tacred_dir)["dev"]
  typo = [dict(e, relation="per:titel") if i == 3 else e for i, e in enumerate(dev)]
  folder, _ = _tacred_copy(tmp_path, tacred_dir, dev=typo)
  with pytest.raises(errors.InputError, match=(
      rf"{folder}/dev\.json#3 \(id {dev[3]['id']}\): relation 'per:titel' is in no "
      r"training example and is no TACRED relation \(did you mean 'per:title'\?\); fix "
      r"the label, or give it training examples\.")):
    relation.load_examples(_relation_config(folder))
  # A known TACRED relation that train lacks (the sample's dev) is a class.
  d, labels = relation.load_examples(_relation_config(tacred_dir))
  assert "per:date_of_death" in labels and d["warnings"] == []
  # A relation that a label patch brings is known too.
  patch = _write_json(tmp_path, {dev[3]["id"]: "org:city_of_branch"}, "map.json")
  d, labels = relation.load_examples(_relation_config(tacred_dir, patch))
  assert "org:city_of_branch" in labels


def test_dev_or_test_equal_to_train_is_a_warning(tmp_path, tacred_dir):
  from noisy_meta.learners import relation_classifier as relation  # pylint: disable=g-import-not-at-top
  train = _sample(tacred_dir)["train"]
  folder, _ = _tacred_copy(tmp_path, tacred_dir, dev=train)
  d, _ = relation.load_examples(_relation_config(folder))
  assert d["warnings"] == [
      f"{folder}/dev.json: every one of its 20 dev examples is also a training example: "
      "dev scores measure fit to the training data, not generalisation."]


def test_training_relations_outside_tacred_are_a_warning(tmp_path, tacred_dir):
  from noisy_meta.learners import relation_classifier as relation  # pylint: disable=g-import-not-at-top
  train = _sample(tacred_dir)["train"]
  own = [dict(e, relation="per:titel") if i == 0 else e for i, e in enumerate(train)]
  folder, _ = _tacred_copy(tmp_path, tacred_dir, train=own)
  d, labels = relation.load_examples(_relation_config(folder))
  assert "per:titel" in labels and d["warnings"] == [
      f"{folder}/train.json: relation(s) ['per:titel'] (1 in all) are no TACRED "
      "relations: each is a class of its own."]


def test_converted_semeval_relations_must_be_semeval_labels(tmp_path):
  from configs import re_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta.learners import relation_classifier as relation  # pylint: disable=g-import-not-at-top
  for s, rel in (("train", "Other"), ("dev", "Other"), ("test", "Cause-Efect(e1,e2)")):
    _write_json(tmp_path, [_tacred_example(id=s, relation=rel)], f"{s}.json")
  config = re_semeval.get_config()
  config.input.converted_dir = str(tmp_path)
  with pytest.raises(errors.InputError, match=(
      r"test\.json#0 \(id test\): relation 'Cause-Efect\(e1,e2\)' is no SemEval-2010 "
      r"Task 8 relation \(did you mean 'Cause-Effect\(e1,e2\)'\?\); fix the label\.")):
    relation.load_examples(config)
