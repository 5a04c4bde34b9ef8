"""Entity-marker inputs (noisy_meta/data/entity_markers.py) on real sentences."""
import os

import numpy as np
import pytest

from noisy_meta.core import errors
from noisy_meta.data import entity_markers
from noisy_meta.data import semeval
from noisy_meta.data import tacred
from noisy_meta.models import hf_import


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
  return hf_import.load_tokenizer(minilm_dir)


@pytest.fixture(scope="module")
def semeval_examples(data_dir):
  """The first 400 official training sentences, parsed (spaCy)."""
  path = os.path.join(data_dir, semeval.SEMEVAL_DIR, semeval.SEMEVAL_TRAIN)
  if not os.path.isfile(path):
    pytest.skip(f"no SemEval-2010 Task 8 at {path}")
  pytest.importorskip("spacy")
  try:
    nlp = semeval.load_parser()
  except errors.InputError as e:
    pytest.skip(str(e))
  return semeval.parse_records(semeval.read_semeval(path)[:400], nlp)


def _norm(tokenizer, words):
  """What the tokenizer makes of the words, decoded (its normalisation)."""
  ids = tokenizer(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]
  return tokenizer.decode(ids)


def _check(tokenizer, examples, enc, kind):
  vocab = tokenizer.get_vocab()
  opens = {"entity": (vocab["[unused0]"], vocab["[unused2]"]),
           "punct": (vocab["@"], vocab["#"]), "typed_punct": (vocab["@"], vocab["#"])}[kind]
  closes = {"entity": (vocab["[unused1]"], vocab["[unused3]"])}.get(kind, opens)
  for i, ex in enumerate(examples):
    ids = enc.ids[i, :enc.lengths[i]].tolist()
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    for who, pos, op, cl in (("subj", enc.e1[i], opens[0], closes[0]),
                             ("obj", enc.e2[i], opens[1], closes[1])):
      assert ids[pos] == op, (ex["source"], who)
      first = pos + 1
      if kind == "typed_punct":  # @ * type * subject @: skip the type.
        first = ids.index(ids[pos + 1], pos + 2) + 1
      last = ids.index(cl, first)
      words = ex["token"][ex[f"{who}_start"]:ex[f"{who}_end"] + 1]
      assert tokenizer.decode(ids[first:last]) == _norm(tokenizer, words), ex["source"]


@pytest.mark.parametrize("kind", entity_markers.KINDS)
def test_markers_on_real_semeval(semeval_examples, tokenizer, kind):
  exs = semeval_examples
  enc = entity_markers.encode(exs, tokenizer, 128, kind=kind)
  _check(tokenizer, exs, enc, kind)
  # The cases the markers must get right are all in these 400 sentences.
  multi_word = [e for e in exs if e["subj_end"] > e["subj_start"]
                or e["obj_end"] > e["obj_start"]]
  multi_piece = [e for e in exs if any(len(tokenizer.tokenize(w)) > 1 for w in
                                       e["token"][e["subj_start"]:e["subj_end"] + 1])]
  at_start = [e for e in exs if e["subj_start"] == 0]
  # Sentence end: before the final full stop (SemEval's sentences all have one);
  # the very last token: test_long_sentence_cut_around_entities.
  at_end = [e for e in exs if e["obj_end"] == len(e["token"]) - 2]
  assert min(len(multi_word), len(multi_piece), len(at_start), len(at_end)) > 0, (
      len(multi_word), len(multi_piece), len(at_start), len(at_end))
  # SemEval's e1 always precedes e2; the object first: the real TACRED sample below.
  assert not enc.truncated.any()


def test_markers_on_tacred_sample(data_dir, tokenizer):
  path = os.path.join(data_dir, "tacred_sample", "train.json")
  if not os.path.isfile(path):
    pytest.skip(f"no TACRED sample at {path}")
  exs = tacred.read_tacred(path)
  assert any(e["obj_start"] < e["subj_start"] for e in exs)  # Object first.
  for kind in entity_markers.KINDS:
    _check(tokenizer, exs, entity_markers.encode(exs, tokenizer, 128, kind=kind), kind)
  enc = entity_markers.encode(exs, tokenizer, 128, kind="typed_punct")
  ex = exs[0]  # subj PERSON: "@ * person * Ali... @"
  ids = enc.ids[0].tolist()
  assert tokenizer.decode(ids[enc.e1[0]:enc.e1[0] + 4]) == "@ * person *"
  assert ex["subj_type"] == "PERSON"


def _example(tokens, subj, obj, subj_type="PERSON", obj_type="ORGANIZATION"):
  return dict(token=tokens, subj_start=subj[0], subj_end=subj[1], obj_start=obj[0],
              obj_end=obj[1], subj_type=subj_type, obj_type=obj_type, source="f.json#7")


def test_long_sentence_cut_around_entities(tokenizer):
  words = [f"w{i}" for i in range(300)]
  ex = _example(words, (150, 151), (160, 160))
  enc = entity_markers.encode([ex], tokenizer, 64, kind="entity")
  assert enc.truncated[0] and enc.lengths[0] == 64
  _check(tokenizer, [ex], enc, "entity")
  # The context is shared: as many subwords before the subject as after the object.
  ids = enc.ids[0].tolist()
  end = ids.index(tokenizer.get_vocab()["[unused3]"])
  assert abs((enc.e1[0] - 1) - (62 - end - 1)) <= 2
  # An entity at the very end: all the budget goes to the left.
  ex = _example(words, (297, 299), (0, 0))
  with pytest.raises(errors.InputError, match=r"f.json#7: .*raise input.max_len"):
    entity_markers.encode([ex], tokenizer, 64, kind="entity")
  ex = _example(words, (297, 299), (290, 290))
  enc = entity_markers.encode([ex], tokenizer, 64, kind="entity")
  _check(tokenizer, [ex], enc, "entity")
  assert enc.ids[0, 62] == tokenizer.get_vocab()["[unused1]"]


def test_window():
  assert entity_markers.window(10, 3, 5, 20) == (0, 10)
  assert entity_markers.window(100, 40, 50, 30) == (30, 60)
  assert entity_markers.window(100, 2, 10, 30) == (0, 30)
  assert entity_markers.window(100, 90, 98, 30) == (70, 100)


def test_overlap_empty_word_and_unknown_type(tokenizer):
  # Nested spans: markers nest; the outer span opens first.
  ex = _example(["Bank", "of", "America", "chief", "spoke"], (0, 2), (2, 2))
  enc = entity_markers.encode([ex], tokenizer, 32, kind="entity")
  vocab = tokenizer.get_vocab()
  ids = enc.ids[0, :enc.lengths[0]].tolist()
  assert ids[1:3] == [vocab["[unused0]"], vocab["bank"]]
  assert ids[enc.e2[0]] == vocab["[unused2]"] and ids[enc.e2[0] + 2] == vocab["[unused3]"]
  assert ids[enc.e2[0] + 3] == vocab["[unused1]"]
  # A word that tokenises to nothing: [UNK], never an empty entity.
  ex = _example(["He", "\u200b", "left"], (1, 1), (2, 2))
  enc = entity_markers.encode([ex], tokenizer, 32, kind="punct")
  assert enc.ids[0, enc.e1[0] + 1] == tokenizer.unk_token_id
  # A type never seen anywhere is read as words, not refused.
  ex = _example(["Ann", "saw", "Zed"], (0, 0), (2, 2), obj_type="SPACESHIP_CLASS")
  enc = entity_markers.encode([ex], tokenizer, 32, kind="typed_punct")
  ids = enc.ids[0, :enc.lengths[0]].tolist()
  assert "# ^ spaceship class ^ zed #" in tokenizer.decode(ids)


def test_no_unused_slots_and_bad_kind(tokenizer, monkeypatch):
  ex = _example(["Ann", "saw", "Zed"], (0, 0), (2, 2))
  with pytest.raises(errors.InputError, match="expected one of"):
    entity_markers.encode([ex], tokenizer, 32, kind="brackets")
  vocab = dict(tokenizer.get_vocab())
  del vocab["[unused1]"]
  monkeypatch.setattr(tokenizer, "get_vocab", lambda: vocab)
  with pytest.raises(errors.InputError, match=r"lacks \['\[unused1\]'\].*markers=punct"):
    entity_markers.encode([ex], tokenizer, 32, kind="entity")


def test_cache(tokenizer, tmp_path):
  ex = _example(["Ann", "saw", "Zed"], (0, 0), (2, 2))
  a = entity_markers.encode([ex], tokenizer, 32, kind="entity", cache=str(tmp_path))
  assert len(os.listdir(tmp_path)) == 1
  b = entity_markers.encode([ex], tokenizer, 32, kind="entity", cache=str(tmp_path))
  np.testing.assert_array_equal(a.ids, b.ids)
  ex2 = dict(ex, obj_start=1, obj_end=1)
  entity_markers.encode([ex2], tokenizer, 32, kind="entity", cache=str(tmp_path))
  assert len(os.listdir(tmp_path)) == 2
