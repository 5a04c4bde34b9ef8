"""Synthetic label noise: relation noise models (direction, pair, negative,
mixes) by hand, on SemEval's and TACRED's label sets."""
import json

import numpy as np
import pytest

from noisy_meta.data import noise

RELATIONS = ("Cause-Effect", "Component-Whole", "Content-Container", "Entity-Destination",
             "Entity-Origin", "Instrument-Agency", "Member-Collection", "Message-Topic",
             "Product-Producer")
SEMEVAL = ("Other",) + tuple(f"{r}({a},{b})" for r in RELATIONS
                             for a, b in (("e1", "e2"), ("e2", "e1")))
TACRED = ("no_relation", "per:title", "org:founded_by", "per:employee_of")


def _labels(n, c, seed=0):
  return np.random.default_rng(seed).integers(0, c, n)


def test_direction_partners_and_flips():
  partner = noise.direction_partners(SEMEVAL)
  assert partner[0] == -1 and SEMEVAL[partner[1]] == "Cause-Effect(e2,e1)"
  assert all(partner[partner[i]] == i for i in range(1, 19))
  labels = _labels(1000, 19)
  noisy, flipped = noise.direction_flips(labels, SEMEVAL, 0.2, seed=3)
  assert flipped.sum() == 200 and not (flipped & (labels == 0)).any()  # Other stays.
  assert (noisy[flipped] == partner[labels[flipped]]).all()
  assert (noisy[~flipped] == labels[~flipped]).all()
  again = noise.direction_flips(labels, SEMEVAL, 0.2, seed=3)
  assert (again[0] == noisy).all()
  with pytest.raises(ValueError, match="needs directed labels"):
    noise.direction_flips(_labels(50, 4), TACRED, 0.2, seed=0)
  with pytest.raises(ValueError, match="900 examples to flip but only"):
    noise.direction_flips(np.r_[np.zeros(900, int), np.ones(100, int)], SEMEVAL, 0.9, 0)


def test_pairing_from_confusion_by_hand(tmp_path):
  conf = np.array([[50, 3, 7],   # 0 is most often mistaken for 2,
                   [4, 40, 4],   # 1 for 0 (a tie with 2: the lower index),
                   [0, 0, 30]])  # 2 never: to the class most predicted for others (0).
  assert noise.pairing_from_confusion(conf).tolist() == [2, 0, 0]
  # From a supervised workdir's official answer files.
  work = tmp_path / "sup"
  work.mkdir()
  (work / "test_key.txt").write_text("1\tOther\n2\tOther\n3\tCause-Effect(e1,e2)\n")
  (work / "test_predictions.txt").write_text(
      "1\tCause-Effect(e2,e1)\n2\tCause-Effect(e2,e1)\n3\tOther\n")
  target = noise.read_pairing(str(work), SEMEVAL)
  assert SEMEVAL[target[0]] == "Cause-Effect(e2,e1)" and target[1] == 0


def test_pair_file_flips_and_errors(tmp_path):
  f = tmp_path / "pairs.json"
  f.write_text(json.dumps({"per:title": "per:employee_of", "org:founded_by": "no_relation"}))
  target = noise.read_pairing(str(f), TACRED)
  assert target.tolist() == [-1, 3, 0, -1]
  labels = np.repeat(np.arange(4), [40, 30, 20, 10])
  noisy, flipped = noise.pair_flips(labels, target, 0.2, seed=1)
  assert flipped[labels == 1].sum() == 6 and flipped[labels == 2].sum() == 4
  assert not flipped[(labels == 0) | (labels == 3)].any()
  assert set(noisy[flipped & (labels == 1)]) == {3} and set(noisy[flipped & (labels == 2)]) == {0}
  f.write_text(json.dumps({"per:title": "per:nope"}))
  with pytest.raises(ValueError, match="pairs.json: unknown label 'per:nope'"):
    noise.read_pairing(str(f), TACRED)
  f.write_text(json.dumps({"per:title": "per:title"}))
  with pytest.raises(ValueError, match="paired with itself"):
    noise.read_pairing(str(f), TACRED)
  with pytest.raises(ValueError, match="needs test_key.txt"):
    noise.read_pairing(str(tmp_path), TACRED)


def test_negative_flips_both_ways():
  labels = np.repeat(np.arange(4), [60, 20, 10, 10])  # 60 no_relation, 40 positives.
  noisy, flipped = noise.negative_flips(labels, TACRED, 0.25, seed=2, back_rate=0.1)
  down = flipped & (labels != 0)
  up = flipped & (labels == 0)
  assert down.sum() == 10 and up.sum() == 6
  assert (noisy[down] == 0).all() and (noisy[up] != 0).all()
  with pytest.raises(ValueError, match="needs a negative label"):
    noise.negative_flips(labels, ("a", "b", "c", "d"), 0.1, 0)


def test_mixes_are_disjoint_and_single_kinds_unchanged():
  labels = _labels(2000, 19, seed=4)
  noisy, flipped = noise.inject("direction=0.1,negative=0.05", labels, 19, 0.0, 100,
                                label_names=SEMEVAL)
  partner = noise.direction_partners(SEMEVAL)
  swapped = flipped & (noisy == partner[labels]) & (partner[labels] >= 0)
  to_other = flipped & (noisy == 0)
  assert swapped.sum() == 200 and to_other.sum() == round(0.05 * (labels != 0).sum())
  assert (swapped ^ to_other).sum() == flipped.sum()  # Each example flipped once.
  # A single kind is the function itself (the benchmark's noise is unchanged).
  for kind, fn in (("uniform", noise.uniform_flips),
                   ("class_conditional", noise.class_conditional_flips)):
    a, b = noise.inject(kind, labels, 19, 0.2, 7), fn(labels, 19, 0.2, 7)
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all()
  with pytest.raises(ValueError, match="Unknown noise kind 'swap'"):
    noise.inject("swap=0.1", labels, 19, 0.0, 0)
  with pytest.raises(ValueError, match="expected kind=rate pairs"):
    noise.inject("direction=a lot", labels, 19, 0.0, 0, label_names=SEMEVAL)
  with pytest.raises(ValueError, match="needs the label names"):
    noise.inject("direction", labels, 19, 0.2, 0)
