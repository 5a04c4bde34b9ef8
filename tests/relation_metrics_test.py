"""Relation scorers against hand computations and the real SemEval key."""
import os
import re

import pytest

from noisy_meta.core import errors
from noisy_meta import relation_metrics as rm

CE12, CE21 = "Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)"
MT12, MT21 = "Message-Topic(e1,e2)", "Message-Topic(e2,e1)"
PP12 = "Product-Producer(e1,e2)"


def test_label_sets():
  assert len(rm.SEMEVAL_RELATIONS) == 9 and len(set(rm.SEMEVAL_LABELS)) == 19
  assert rm.SEMEVAL_LABELS[0] == "Other"
  assert rm.SEMEVAL_LABELS[1:3] == (CE12, CE21)


def test_semeval_all_correct():
  labels = [CE12, CE21, "Other", MT12]
  r = rm.semeval_official(labels, labels)
  # Only Cause-Effect and Message-Topic occur in gold, so only they average.
  assert r["averaged_over"] == ["Cause-Effect", "Message-Topic"]
  assert r["macro_f1"] == r["macro_precision"] == r["macro_recall"] == 1.0
  assert r["accuracy"] == 1.0 and r["wrong_direction"] == 0


def test_semeval_wrong_direction_counts_in_both_denominators():
  gold = [CE12, CE12, CE21, MT12]
  pred = [CE12, CE21, CE21, MT12]
  r = rm.semeval_official(gold, pred)
  ce = r["per_relation"]["Cause-Effect"]
  # Cause-Effect: correct 2 (rows 0, 2); predicted 3 (every CE guess, the
  # wrong-direction row 1 included: scorer v1.2 adds xDIRx to P's
  # denominator); support 3. P = R = F1 = 2/3.
  assert (ce["correct"], ce["predicted"], ce["support"]) == (2, 3, 3)
  assert ce["wrong_direction"] == 1 and r["wrong_direction"] == 1
  assert ce["precision"] == pytest.approx(2 / 3)
  assert ce["recall"] == pytest.approx(2 / 3)
  assert ce["f1"] == pytest.approx(2 / 3)
  # Message-Topic is perfect: macro F1 = (2/3 + 1) / 2 = 5/6 (v1.1, which left
  # xDIRx out of P, would give CE P = 1, F1 = 0.8 and macro 0.9).
  assert r["macro_f1"] == pytest.approx(5 / 6)
  assert r["macro_precision"] == pytest.approx(5 / 6)
  assert r["macro_f1_pct"] == pytest.approx(500 / 6)


def test_semeval_other_confusions():
  gold = [CE12, CE12, "Other", "Other"]
  pred = [CE12, "Other", CE12, "Other"]
  r = rm.semeval_official(gold, pred)
  ce = r["per_relation"]["Cause-Effect"]
  # CE: correct 1; predicted 2 (rows 0, 2: Other called CE is a false
  # positive); support 2 (row 1: CE called Other is a miss). P = R = F1 = 1/2.
  assert (ce["correct"], ce["predicted"], ce["support"]) == (1, 2, 2)
  assert ce["f1"] == pytest.approx(0.5)
  assert r["macro_f1"] == pytest.approx(0.5)
  # 19-way accuracy: rows 0 and 3 right = 2/4.
  assert r["accuracy"] == pytest.approx(0.5)


def test_semeval_relation_never_predicted_is_zero():
  gold = [CE12, MT21]
  pred = [CE12, "Other"]
  r = rm.semeval_official(gold, pred)
  mt = r["per_relation"]["Message-Topic"]
  # MT: nothing predicted, so P = 0 (no division), R = 0/1, F1 = 0.
  assert (mt["precision"], mt["recall"], mt["f1"]) == (0.0, 0.0, 0.0)
  # Macro over CE (F1 1) and MT (F1 0) = 1/2.
  assert r["macro_f1"] == pytest.approx(0.5)


def test_semeval_relation_absent_from_gold_is_not_averaged():
  # As the scorer does: a guess of a relation missing from the key counts like
  # Other; only CE (perfect) is averaged, so macro F1 = 1.
  r = rm.semeval_official([CE12, "Other"], [CE12, PP12])
  assert r["averaged_over"] == ["Cause-Effect"]
  assert r["macro_f1"] == 1.0 and r["micro_precision"] == 1.0
  pp = r["per_relation"]["Product-Producer"]
  assert (pp["predicted"], pp["support"], pp["f1"]) == (1, 0, 0.0)


def test_semeval_unknown_label_and_length():
  with pytest.raises(ValueError, match=r"'Cause-Effect' in gold at position 1"):
    rm.semeval_official(["Other", "Cause-Effect"], ["Other", "Other"])
  with pytest.raises(ValueError, match=r"'other' in pred at position 0"):
    rm.semeval_official(["Other"], ["other"])
  with pytest.raises(ValueError, match="2 labels but pred has 1"):
    rm.semeval_official(["Other", "Other"], ["Other"])


def test_answer_file_round_trip(tmp_path):
  path = str(tmp_path / "answers.txt")
  ids, labels = [8001, 8003, 8002], [CE21, "Other", MT12]
  rm.write_semeval_answers(path, ids, labels)
  with open(path, newline="") as f:
    assert f.read() == (
        "8001\tCause-Effect(e2,e1)\n8003\tOther\n8002\tMessage-Topic(e1,e2)\n")
  assert os.listdir(tmp_path) == ["answers.txt"]  # no temp file left behind
  assert rm.read_semeval_answers(path) == (ids, labels)
  rm.write_semeval_answers(path, ids, labels, newline="\r\n")
  assert rm.read_semeval_answers(path) == (ids, labels)
  with pytest.raises(ValueError, match="repeated"):
    rm.write_semeval_answers(path, [1, 1], ["Other", "Other"])


@pytest.mark.parametrize("text, line, what", [
    ("1\tOther\n2 Other\n", 2, "expected"),  # space instead of TAB
    ("1\tOther\nx\tOther\n", 2, "expected"),  # id not a number
    ("1\tOther\n\n", 2, "expected"),  # blank line
    ("1\tOther\n2\tCause-Effect\n", 2, "unknown label 'Cause-Effect'"),
    ("1\tOther\n2\tOther \n", 2, "unknown label"),  # trailing space
    ("7\tOther\n8\tOther\n7\tOther\n", 3, "already on line 1"),
])
def test_read_answers_rejects_bad_lines(tmp_path, text, line, what):
  path = str(tmp_path / "bad.txt")
  with open(path, "w") as f:
    f.write(text)
  with pytest.raises(errors.InputError, match=re.escape(f"{path}:{line}: ")) as e:
    rm.read_semeval_answers(path)
  assert what in str(e.value)


def test_semeval_real_test_key(data_dir, tmp_path):
  folder = os.path.join(data_dir, "semeval2010_task8")
  key_path = os.path.join(folder, "TEST_FILE_KEY.TXT")
  full_path = os.path.join(folder, "TEST_FILE_FULL.TXT")
  if not (os.path.exists(key_path) and os.path.exists(full_path)):
    pytest.skip(f"SemEval-2010 Task 8 test files not found in {folder}")
  # The released key has no directions ("8001<TAB>Message-Topic"), which the
  # official scorer rejects on line 1; so does the strict reader.
  with pytest.raises(errors.InputError, match=":1: unknown label"):
    rm.read_semeval_answers(key_path)
  ids, undirected = rm.read_semeval_answers(key_path, directed=False)
  assert len(ids) == 2717 and ids[0] == 8001 and ids[-1] == 10717
  # Directed labels: the line after each `id<TAB>"sentence"` in the full file.
  with open(full_path) as f:
    lines = f.read().splitlines()
  directed = [lines[i + 1] for i, l in enumerate(lines) if re.match(r"\d+\t\"", l)]
  assert [l.split("(")[0] for l in directed] == undirected
  path = str(tmp_path / "test_key_directed.txt")
  rm.write_semeval_answers(path, ids, directed)
  _, labels = rm.read_semeval_answers(path)
  r = rm.semeval_official(labels, labels)
  assert r["macro_f1"] == 1.0 and r["averaged_over"] == list(rm.SEMEVAL_RELATIONS)
  assert sum(s["support"] for s in r["per_relation"].values()) == 2717 - 454


def test_tacred_micro_hand_computed():
  gold = ["per:title", "per:title", "org:founded", "no_relation", "no_relation",
          "org:founded"]
  pred = ["per:title", "no_relation", "org:founded", "per:title", "no_relation",
          "per:title"]
  r = rm.tacred_micro(gold, pred)
  # Guesses: rows 0, 2, 3, 5 (row 3 is a false positive on no_relation);
  # gold relations: rows 0, 1, 2, 5; correct: rows 0, 2. P = R = F1 = 2/4.
  assert (r["correct"], r["guessed"], r["gold"]) == (2, 4, 4)
  assert r["precision"] == r["recall"] == r["f1"] == pytest.approx(0.5)
  t, f = r["per_relation"]["per:title"], r["per_relation"]["org:founded"]
  # per:title: P = 1/3, R = 1/2, F1 = 2 (1/6) / (5/6) = 2/5.
  assert (t["precision"], t["recall"], t["f1"]) == pytest.approx((1 / 3, 0.5, 0.4))
  # org:founded: P = 1/1, R = 1/2, F1 = 2/3.
  assert (f["precision"], f["recall"], f["f1"]) == pytest.approx((1, 0.5, 2 / 3))
  assert list(r["per_relation"]) == ["org:founded", "per:title"]


def test_tacred_no_relation_handling():
  # Only no_relation guessed: no guesses, so P = 1 (score.py's convention),
  # R = 0/1, F1 = 0.
  r = rm.tacred_micro(["per:age", "no_relation"], ["no_relation", "no_relation"])
  assert (r["precision"], r["recall"], r["f1"]) == (1.0, 0.0, 0.0)
  # Correct no_relation rows are neither guesses nor gold.
  r = rm.tacred_micro(["no_relation", "per:age"], ["no_relation", "per:age"])
  assert (r["guessed"], r["gold"], r["f1"]) == (1, 1, 1.0)
  # Another negative label.
  r = rm.tacred_micro(["Other", "A"], ["A", "A"], negative="Other")
  assert (r["precision"], r["recall"]) == (0.5, 1.0)


def test_per_relation_table():
  table = rm.per_relation_table(
      {"A": dict(precision=0.5, recall=2 / 3, f1=4 / 7, support=3)})
  assert table.splitlines() == ["| relation | P | R | F1 | support |",
                                "|---|---:|---:|---:|---:|",
                                "| A | 50.00 | 66.67 | 57.14 | 3 |"]
