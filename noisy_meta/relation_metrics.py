"""Official relation-classification scores: SemEval-2010 Task 8 and TACRED.

SemEval: `semeval_official` reproduces the official score of
`semeval2010_task8_scorer-v1.2.pl`, the macro-averaged F1 of its evaluation
(iii), "(9+1)-way with directionality taken into account". Per relation R:

  correct   = examples with gold == pred, both a direction of R
  predicted = examples predicted as R in either direction
  support   = examples whose gold label is R in either direction
  P = correct / predicted,  R = correct / support,  F1 = 2PR / (P + R)

A prediction with the right relation but the wrong direction (the scorer's
"xDIRx" column) is therefore wrong twice for R: it is in R's support (a miss)
and in R's predicted count (a false alarm). v1.2 put it into the precision
denominator, which v1.1 forgot ("fixed a bug in the precision for the scoring
of (iii)"). Other is never averaged. Like the scorer, the macro average runs
over the relations present in the gold labels (all 9 on the official test
set), and the micro average leaves out predictions of relations absent from
the gold labels. The scorer also lets a system skip examples; a skipped example
scores exactly like a prediction of Other, so map skips to "Other" here.

TACRED: `tacred_micro` follows the TACRED `score.py`: micro P/R/F1 over all
relations but `no_relation`.
"""

from noisy_meta.core import atomic
from noisy_meta.core import errors

# In the order of the task description (TRAINING_README.txt, "RELATIONS").
SEMEVAL_RELATIONS = (
    "Cause-Effect", "Instrument-Agency", "Product-Producer",
    "Content-Container", "Entity-Origin", "Entity-Destination",
    "Component-Whole", "Member-Collection", "Message-Topic")
SEMEVAL_OTHER = "Other"
# Index 0 is Other; relation k of SEMEVAL_RELATIONS is 2k+1 as (e1,e2) and
# 2k+2 as (e2,e1).
SEMEVAL_LABELS = (SEMEVAL_OTHER,) + tuple(
    f"{r}({a})" for r in SEMEVAL_RELATIONS for a in ("e1,e2", "e2,e1"))

_RELATION_OF = {l: l.split("(")[0] for l in SEMEVAL_LABELS[1:]}
_RELATION_OF[SEMEVAL_OTHER] = SEMEVAL_OTHER
# What the released TEST_FILE_KEY.TXT holds: relation names without direction.
_UNDIRECTED = frozenset(SEMEVAL_RELATIONS + (SEMEVAL_OTHER,))


def _prf(correct, predicted, support, empty_precision=0.0):
  """Precision, recall and F1 from counts (correct may be scaled by 100)."""
  p = correct / predicted if predicted else empty_precision
  r = correct / support if support else 0.0
  f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
  return p, r, f1


def _check_lengths(gold, pred):
  gold, pred = list(gold), list(pred)
  if len(gold) != len(pred):
    raise ValueError(f"gold has {len(gold)} labels but pred has {len(pred)}")
  return gold, pred


def semeval_official(gold, pred):
  """The official SemEval-2010 Task 8 score (scorer v1.2, evaluation (iii)).

  Args:
    gold: label strings from SEMEVAL_LABELS.
    pred: label strings from SEMEVAL_LABELS, same length.

  Returns:
    dict with macro_f1 (the official score, in [0, 1]), macro_precision,
    macro_recall, macro_f1_pct (the score in percent, computed as the scorer
    does, so "%.2f" % macro_f1_pct is the number it prints; 0 if gold has
    no relation, where the scorer fails), micro_* (its micro line),
    accuracy (exact 19-way label), n, correct, wrong_direction (total xDIRx),
    averaged_over (relations in the macro average) and per_relation:
    relation -> dict(precision, recall, f1, support, correct, predicted,
    wrong_direction), all 9 relations in SEMEVAL_RELATIONS order.
  """
  gold, pred = _check_lengths(gold, pred)
  for i, (g, p) in enumerate(zip(gold, pred)):
    for name, label in (("gold", g), ("pred", p)):
      if label not in _RELATION_OF:
        raise ValueError(f"unknown SemEval label {label!r} in {name} at "
                         f"position {i}; expected one of SEMEVAL_LABELS")
  counts = {r: dict(correct=0, predicted=0, support=0, wrong_direction=0)
            for r in SEMEVAL_RELATIONS + (SEMEVAL_OTHER,)}
  for g, p in zip(gold, pred):
    rg, rp = _RELATION_OF[g], _RELATION_OF[p]
    counts[rg]["support"] += 1
    counts[rp]["predicted"] += 1
    if g == p:
      counts[rg]["correct"] += 1
    elif rg == rp:
      counts[rg]["wrong_direction"] += 1

  # Percentages with the scorer's float operations and its (alphabetical)
  # summation order, so that macro_f1_pct is bit-identical to its score.
  pct = {r: _prf(100.0 * counts[r]["correct"], counts[r]["predicted"],
                 counts[r]["support"]) for r in SEMEVAL_RELATIONS}
  per_relation = {r: dict(precision=pct[r][0] / 100, recall=pct[r][1] / 100,
                          f1=pct[r][2] / 100, **counts[r])
                  for r in SEMEVAL_RELATIONS}
  averaged = [r for r in SEMEVAL_RELATIONS if counts[r]["support"]]
  macro_pct = [0.0, 0.0, 0.0]
  for r in sorted(averaged):
    macro_pct = [m + x for m, x in zip(macro_pct, pct[r])]
  macro_pct = [m / len(averaged) if averaged else 0.0 for m in macro_pct]
  micro = _prf(sum(counts[r]["correct"] for r in averaged),
               sum(counts[r]["predicted"] for r in averaged),
               sum(counts[r]["support"] for r in averaged))
  correct = sum(c["correct"] for c in counts.values())
  return dict(
      macro_f1=macro_pct[2] / 100, macro_precision=macro_pct[0] / 100,
      macro_recall=macro_pct[1] / 100, macro_f1_pct=macro_pct[2],
      micro_precision=micro[0], micro_recall=micro[1], micro_f1=micro[2],
      accuracy=correct / len(gold) if gold else 0.0, n=len(gold),
      correct=correct, wrong_direction=sum(c["wrong_direction"] for c in counts.values()),
      averaged_over=averaged, per_relation=per_relation)


def write_semeval_answers(path, ids, labels, newline="\n"):
  """Writes `id<TAB>label` lines for the official scorer, atomically.

  Ids must be non-negative integers (or digit strings) without repeats, labels
  from SEMEVAL_LABELS. newline="\\r\\n" matches the released key file byte
  for byte; the scorer reads either.
  """
  ids, labels = list(ids), list(labels)
  if len(ids) != len(labels):
    raise ValueError(f"{len(ids)} ids but {len(labels)} labels")
  lines, seen = [], set()
  for i, (id_, label) in enumerate(zip(ids, labels)):
    s = str(id_)
    if not s.isdigit() or not s.isascii():
      raise ValueError(f"id {id_!r} at position {i} is not a non-negative integer")
    if int(s) in seen:
      raise ValueError(f"id {id_!r} at position {i} is repeated")
    if label not in _RELATION_OF:
      raise ValueError(f"unknown SemEval label {label!r} at position {i}")
    seen.add(int(s))
    lines.append(f"{int(s)}\t{label}{newline}")
  atomic.write_text(path, "".join(lines), newline="")


def read_semeval_answers(path, directed=True):
  """Reads an answer or key file: lines `id<TAB>label`, LF or CRLF.

  Returns (ids as ints, labels). Raises errors.InputError naming file and line
  for a malformed line, a repeated id or an unknown label, as the scorer
  refuses such files. directed=False instead accepts the 9 relation names and
  Other without direction, which is what the released TEST_FILE_KEY.TXT holds
  (the directed test labels are in TEST_FILE_FULL.TXT); semeval_official
  rejects such labels.
  """
  allowed = _RELATION_OF if directed else _UNDIRECTED
  ids, labels, seen = [], [], {}
  with open(path, newline="") as f:
    for n, line in enumerate(f, 1):
      line = line[:-1] if line.endswith("\n") else line
      line = line[:-1] if line.endswith("\r") else line
      id_, tab, label = line.partition("\t")
      if not tab or not id_.isdigit() or not id_.isascii() or not label:
        raise errors.at(path, n, f"expected '<id><TAB><label>', got {line!r}")
      if label not in allowed:
        want = "SEMEVAL_LABELS" if directed else "a relation name or Other"
        raise errors.at(path, n, f"unknown label {label!r} (expected {want})")
      if int(id_) in seen:
        raise errors.at(path, n, f"id {id_} already on line {seen[int(id_)]}")
      seen[int(id_)] = n
      ids.append(int(id_))
      labels.append(label)
  return ids, labels


def tacred_micro(gold, pred, negative="no_relation"):
  """TACRED micro P/R/F1 over all relations but `negative` (as score.py).

  A prediction of `negative` is never a guess; a gold `negative` predicted as a
  relation is a false positive. As in score.py, precision is 1 when nothing is
  guessed (overall and per relation) and recall is 0 when there is no gold.

  Returns:
    dict(precision, recall, f1, correct, guessed, gold, per_relation) where
    per_relation maps each non-negative relation seen in gold or pred (sorted)
    to dict(precision, recall, f1, support, correct, guessed).
  """
  gold, pred = _check_lengths(gold, pred)
  stats = {}
  row = lambda r: stats.setdefault(r, dict(correct=0, guessed=0, support=0))
  for g, p in zip(gold, pred):
    if p != negative:
      row(p)["guessed"] += 1
    if g != negative:
      row(g)["support"] += 1
      if g == p:
        row(g)["correct"] += 1
  per_relation = {}
  for r in sorted(stats):
    c = stats[r]
    p, rec, f1 = _prf(c["correct"], c["guessed"], c["support"], 1.0)
    per_relation[r] = dict(precision=p, recall=rec, f1=f1, **c)
  tot = {k: sum(c[k] for c in stats.values())
         for k in ("correct", "guessed", "support")}
  p, rec, f1 = _prf(tot["correct"], tot["guessed"], tot["support"], 1.0)
  return dict(precision=p, recall=rec, f1=f1, correct=tot["correct"],
              guessed=tot["guessed"], gold=tot["support"],
              per_relation=per_relation)


def per_relation_table(per_relation):
  """A markdown table: relation | P | R | F1 | support, scores x100 (2 dp)."""
  lines = ["| relation | P | R | F1 | support |",
           "|---|---:|---:|---:|---:|"]
  for r, s in per_relation.items():
    lines.append(f"| {r} | {100 * s['precision']:.2f} | {100 * s['recall']:.2f}"
                 f" | {100 * s['f1']:.2f} | {s['support']} |")
  return "\n".join(lines) + "\n"
