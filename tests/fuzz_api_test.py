"""Property tests of noisy_meta.analyze: any input gives a result or an InputError.

Random shapes, dtypes (float16/32/64, ints, bools, objects, strings), NaN and
inf, empty arrays, mismatched lengths and random override dicts go through
every entry point; the only exception allowed is `errors.InputError`. The
entry points that train (`find_label_issues`, `find_relation_issues`) are
fuzzed through the functions that check and build their config
(`label_issues_config`, `relation_issues_config`), nothing trained or written;
tests/analyze_test.py runs each end to end once. Example counts: the profile
of tests/conftest.py (60, derandomized), less where a test says so.
"""
import json
import os
import tempfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # pylint: disable=g-import-not-at-top,g-multiple-import
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from noisy_meta import analyze  # pylint: disable=g-import-not-at-top
from noisy_meta.core import errors

DTYPES = st.sampled_from(["float16", "float32", "float64", "int8", "int32", "int64",
                          "uint8", "bool", "object", "U3", "complex64"])
SCALARS = st.one_of(
    st.integers(-3, 5), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, 1.5, 2.0]),
    st.booleans(), st.none(), st.text(max_size=4), st.sampled_from(["pos", "neg", "0", "1"]))


def _examples(n):
  """n examples, scaled like the profile's 60 by NOISY_META_FUZZ_EXAMPLES."""
  return max(1, n * int(os.environ.get("NOISY_META_FUZZ_EXAMPLES", "60")) // 60)


def _outcome(fn, *args, **kwargs):
  """fn's result, or None where it raised InputError (one line, a sentence)."""
  try:
    out = fn(*args, **kwargs)
  except errors.InputError as e:
    msg = str(e)
    assert msg and "\n" not in msg and "Traceback" not in msg, msg
    hypothesis.event("InputError")
    return None
  hypothesis.event("a result")
  return out


@st.composite
def arrays(draw, shape, dtype=None, finite=False):
  """An array of `shape` and a random dtype, values from that dtype's range
  (NaN, inf, huge and tiny floats unless `finite`)."""
  dtype = dtype or draw(DTYPES)
  if dtype == "object":
    return np.array(draw(st.lists(SCALARS, min_size=int(np.prod(shape)),
                                  max_size=int(np.prod(shape)))), dtype=object).reshape(shape)
  if dtype.startswith("float") and not finite:
    elements = st.floats(allow_nan=True, allow_infinity=True, width=int(dtype[5:]))
  elif dtype.startswith("float"):
    elements = st.floats(-20, 20, width=int(dtype[5:]))
  else:
    elements = None
  return draw(hnp.arrays(dtype, shape, elements=elements))


def _broken(draw, parts):
  """None (all valid: about half the examples) or the one part to break."""
  return draw(st.sampled_from([None] * len(parts) + list(parts)))


@st.composite
def logits_and_labels(draw):
  """One or more runs [E, N, C] and labels: valid, or with one part broken
  (any dtype and values, probabilities, empty axes, runs of other shapes,
  labels of another length, dtype or range)."""
  broken = _broken(draw, ["dtype", "probs", "empty", "runs", "length", "labels", "nested"])
  e, n, c = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(2, 4))
  if broken == "empty":
    e, n, c = draw(st.sampled_from([(0, n, c), (e, 0, c), (e, n, 0), (e, n, 1), (0, 0, 0)]))
  runs = [draw(arrays((e, n, c), draw(st.sampled_from(["float16", "float32", "float64",
                                                        "int32"])), finite=True))
          for _ in range(draw(st.integers(1, 2)))]
  if broken == "dtype":
    runs[0] = draw(arrays((e, n, c)))
  if broken == "probs":
    with np.errstate(all="ignore"):
      runs = [np.exp(x.astype(np.float64)) for x in runs]
      runs = [x / x.sum(-1, keepdims=True) for x in runs]
  if broken == "runs":
    runs.append(draw(arrays((e + draw(st.integers(0, 1)), n, c + draw(st.integers(0, 1))),
                            "float32", finite=True)))
  labels = np.array(draw(st.lists(st.integers(0, max(c - 1, 0)), min_size=n, max_size=n)),
                    np.int64)
  if broken == "length":
    labels = labels[:-1] if draw(st.booleans()) else np.append(labels, 0)
  if broken == "labels":
    labels = draw(arrays((n,)))
  if broken == "nested":
    return [x.tolist() for x in runs], labels.tolist()
  return (runs if len(runs) > 1 or draw(st.booleans()) else runs[0]), labels


@settings(max_examples=_examples(30))  # About a third compile the dynamics (0.2-0.5 s each).
@given(logits_and_labels(), st.booleans(), st.sampled_from([None, 0, 1, -1]))
def test_from_logits_without_flags(data, with_texts, texts_off):
  """AUM and data maps of random runs: a table with one row per example, or an InputError."""
  logits, labels = data
  texts = None
  if with_texts:
    texts = [f"t{i}" for i in range(max(len(labels) + (texts_off or 0), 0))]
    if texts_off is None and texts:
      texts[0] = None
  table = _outcome(analyze.from_logits, logits, labels, texts=texts)
  if table is not None:
    assert len(table) == len(labels) and np.isfinite(table.filter(like="aum").to_numpy()).all()


@st.composite
def flag_inputs(draw):
  """from_logits' arguments with threshold samples: valid (two disjoint,
  non-empty sets) or with one part broken."""
  broken = _broken(draw, ["logits", "labels", "threshold", "texts", "label_names",
                          "original_labels", "percentiles", "task", "features", "runs"])
  n, c, e = draw(st.integers(2, 12)), draw(st.integers(2, 4)), draw(st.integers(1, 2))
  dtype = draw(st.sampled_from(["float32", "float64", "float16", "int32"]))
  logits = [draw(arrays((e, n, c + 1), dtype, finite=True)) for _ in range(2)]
  labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
  order = draw(st.permutations(range(n)))
  k = draw(st.integers(1, n // 2))
  threshold = [sorted(order[:k]), sorted(order[k:2 * k])]
  extra = {}
  if broken == "logits":
    logits[draw(st.integers(0, 1))] = draw(arrays((e, n, c + 1)))
  if broken == "runs":
    logits = logits[:draw(st.integers(0, 1))] + draw(st.lists(st.just(logits[0]), max_size=2))
  if broken == "labels":
    labels = draw(st.one_of(arrays((n,)), st.lists(st.integers(-1, c + 1), max_size=n + 1)))
  if broken == "threshold":
    ids = st.lists(st.one_of(st.integers(-1, n), st.floats(-1, n), st.booleans()), max_size=4)
    threshold = draw(st.one_of(st.lists(ids, max_size=3), st.just([[], []]), st.just("01"),
                               st.just([threshold[0], threshold[0]])))
  if broken == "texts":
    extra["texts"] = draw(st.lists(st.one_of(st.text(max_size=3), st.none()), max_size=n + 1))
  if broken == "label_names":
    extra["label_names"] = draw(st.lists(st.sampled_from(["a", "b", "a", "", "c", 1]),
                                         max_size=5))
  if broken == "original_labels":
    extra["original_labels"] = draw(st.lists(st.one_of(st.integers(-1, c), st.floats()),
                                              max_size=n + 1))
  if broken == "percentiles":
    extra["percentiles"] = draw(st.one_of(st.lists(st.one_of(
        st.floats(), st.integers(-5, 200), st.booleans()), max_size=3), SCALARS))
  if broken == "task":
    extra["task"] = draw(st.one_of(st.text(max_size=3), st.none(), st.integers()))
  if broken == "features":
    extra["features"] = draw(st.lists(st.one_of(arrays((n, 2)), arrays((n + 1, 2), "float32")),
                                      max_size=3))
  return logits, labels, threshold, extra


@given(flag_inputs())
def test_from_logits_checks_with_threshold_samples(data):
  """The checks of from_logits with flags (the report itself runs in
  test_from_logits_with_flags_end_to_end and tests/analyze_test.py):
  converted inputs, or an InputError."""
  logits, labels, threshold, extra = data
  out = _outcome(analyze.from_logits_inputs, logits, labels, threshold, **extra)
  if out is not None:
    logits, given_, thr = out[:3]
    n = len(given_)
    assert all(x.dtype == np.float32 and np.isfinite(x).all() for x in logits)
    assert len(thr) == 2 and not set(thr[0]) & set(thr[1])
    assert all(len(t) and t.min() >= 0 and t.max() < n for t in thr)


@settings(max_examples=_examples(6))
@given(st.integers(2, 3), st.integers(8, 14), st.integers(1, 3), st.integers(0, 99))
def test_from_logits_with_flags_end_to_end(c, n, epochs, seed):
  """Random valid logits with threshold samples: the whole report, or an InputError."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, c, n)
  thr = _outcome(analyze.threshold_ids, labels, c, seed=seed)
  if thr is None:
    return
  logits = [rng.normal(size=(epochs, n, c + 1)).astype(np.float32) for _ in range(2)]
  table = _outcome(analyze.from_logits, logits, labels, thr)
  assert table is None or len(table) == n


@st.composite
def threshold_args(draw):
  """threshold_ids' arguments: valid, or with one broken."""
  broken = _broken(draw, ["labels", "num_classes", "seed", "mode", "divisor"])
  c = draw(st.integers(2, 4))
  labels = draw(st.lists(st.integers(0, c - 1), min_size=12, max_size=24))
  kw = dict(seed=draw(st.integers(0, 2**65)), mode=draw(st.sampled_from(
      ["equal", "random", "capped"])), divisor=draw(st.sampled_from(["c+1", "c"])))
  if broken == "labels":
    labels = draw(st.one_of(st.lists(SCALARS, max_size=9), arrays((draw(st.integers(0, 9)),)),
                            st.lists(st.integers(0, c - 1), max_size=6)))
  if broken == "num_classes":
    c = draw(st.one_of(st.integers(-1, 1), st.floats(), st.booleans(), st.text(max_size=2)))
  if broken == "seed":
    kw["seed"] = draw(st.one_of(st.integers(-2**65, -1), st.none(), st.floats(), st.text()))
  if broken in ("mode", "divisor"):
    kw[broken] = draw(st.one_of(st.text(max_size=6), SCALARS))
  return labels, c, kw


@given(threshold_args())
def test_threshold_ids(args):
  """Two disjoint, non-empty sets of example ids, or an InputError."""
  labels, num_classes, kw = args
  out = _outcome(analyze.threshold_ids, labels, num_classes, **kw)
  if out is not None:
    thr_1, thr_2 = out
    assert len(thr_1) and len(thr_2) and not set(thr_1) & set(thr_2)
    assert max(thr_1.max(), thr_2.max()) < len(labels)


@settings(max_examples=_examples(25))  # About half compile the dynamics (0.3 s each).
@given(logits_and_labels(), st.sampled_from([0, 0, 0, 1, -1, 1.5]),
       st.one_of(st.just(()), st.lists(st.integers(0, 1), min_size=1, max_size=2),
                 st.lists(st.integers(-1, 6), max_size=3), SCALARS))
def test_run_arrays(data, off, threshold_idx):
  """One run's arrays (the fake class the last column when threshold_idx is
  given), or an InputError."""
  logits, labels = data
  logits = logits[0] if isinstance(logits, list) else logits
  fake = isinstance(threshold_idx, list) and len(threshold_idx) > 0
  num_real = np.shape(logits)[-1] - fake + off if np.ndim(logits) == 3 else 2
  out = _outcome(analyze.run_arrays, logits, labels, num_real, threshold_idx)
  if out is not None:
    assert np.isfinite(out["aum"]).all() and len(out["aum"]) == len(labels)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 10), st.integers(-2**70, 2**70),
              st.floats(), st.text(max_size=3)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=6)


@st.composite
def jsonl_dumps(draw):
  """A logits dump as the PyTorch callback writes it (1-2 runs, threshold
  samples or not, lines in any order), valid or with one line broken: a
  field removed or replaced by any JSON value, a line repeated, dropped,
  replaced by JSON or raw bytes, or a label changed."""
  runs, epochs, n, c = (draw(st.integers(1, 2)), draw(st.integers(1, 2)),
                        draw(st.integers(1, 4)), draw(st.integers(2, 3)))
  labels = draw(st.lists(st.integers(0, c - 2), min_size=n, max_size=n))
  fake = runs == 2 and n >= 2 and draw(st.booleans())
  recs = []
  for r in range(1, runs + 1):
    for e in range(epochs):
      for i in range(n):
        y = c - 1 if fake and i == r - 1 else labels[i]
        recs.append({"run": r, "epoch": e, "id": i, "label": y,
                     "logits": draw(st.lists(st.floats(-9, 9), min_size=c, max_size=c))})
  lines = [json.dumps(x).encode() for x in draw(st.permutations(recs))]
  broken = _broken(draw, ["field", "repeat", "drop", "json", "bytes", "label"])
  j = draw(st.integers(0, len(lines) - 1))
  rec = json.loads(lines[j])
  if broken == "field":
    key = draw(st.sampled_from(sorted(rec)))
    if draw(st.booleans()):
      del rec[key]
    else:
      rec[key] = draw(JSON_VALUES)
    lines[j] = json.dumps(rec).encode()
  if broken == "repeat":
    lines.append(lines[j])
  if broken == "drop":
    del lines[j]
  if broken == "json":
    lines[j] = json.dumps(draw(JSON_VALUES)).encode()
  if broken == "bytes":
    lines[j] = draw(st.binary(max_size=12)).replace(b"\n", b"")
  if broken == "label":
    rec["label"] = draw(st.integers(0, c))
    lines[j] = json.dumps(rec).encode()
  return b"\n".join(lines) + b"\n"


@given(jsonl_dumps())
def test_load_jsonl(content):
  """A dump's logits, labels and threshold sets, or an InputError with file and line."""
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "dump.jsonl")
    with open(path, "wb") as f:
      f.write(content)
    run = _outcome(analyze.load, path)
  if run is not None:
    n = len(run["labels"])
    assert all(x.shape[1] == n for x in run["logits"]) and run["labels"].min() >= 0
    if run["threshold"] is not None:
      assert not set(run["threshold"][0]) & set(run["threshold"][1])


@st.composite
def recordings(draw):
  """(run, [(epoch, ids, labels, logits)]) of LogitsRecorder's callers: every
  id of 0..N-1 once per epoch, in random batches, as arrays of random dtypes;
  or one part broken (any array, lengths that differ, a bad run or epoch)."""
  broken = _broken(draw, ["run", "epoch", "ids", "labels", "logits", "length"])
  n, c, epochs = draw(st.integers(1, 5)), draw(st.integers(2, 3)), draw(st.integers(1, 2))
  labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
  calls = []
  for epoch in range(epochs):
    perm = np.array(draw(st.permutations(range(n))))
    for batch in np.array_split(perm, draw(st.integers(1, n))):
      kind = draw(st.sampled_from(["int32", "int64", "float64", "list"]))
      cast = (lambda x: x.tolist()) if kind == "list" else (lambda x, k=kind: x.astype(k))
      logits = draw(arrays((len(batch), c), draw(st.sampled_from(["float16", "float32",
                                                                   "float64"])), finite=True))
      calls.append([epoch, cast(batch), cast(labels[batch]), logits])
  k = draw(st.integers(0, len(calls) - 1))
  if broken in ("ids", "labels", "logits"):
    shape = (len(calls[k][1]),) + ((c,) if broken == "logits" else ())
    calls[k][("ids", "labels", "logits").index(broken) + 1] = draw(arrays(shape))
  if broken == "length":
    calls[k][2] = calls[k][2][:-1]
  if broken == "epoch":
    calls[k][0] = draw(SCALARS)
  run = draw(SCALARS) if broken == "run" else draw(st.sampled_from([1, 2, 1.0, np.int64(3)]))
  return run, calls, labels, c, broken


@given(recordings())
def test_logits_recorder(args):
  """The callback writes a batch whole or refuses it with an InputError (nothing
  written); what it wrote, `load` reads back at once in the same process."""
  run, calls, labels, c, broken = args
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "logits.jsonl")
    rec = _outcome(analyze.LogitsRecorder, path, run=run)
    if rec is None:
      return
    with rec:
      written = 0
      for epoch, ids, ys, logits in calls:
        lines = _outcome(rec, epoch, ids, ys, logits)  # The lines written, or None.
        assert lines is not None or broken  # A valid batch is never refused.
        written += lines or 0
        with open(path, encoding="utf-8") as f:  # Flushed: every accepted line is there.
          assert sum(1 for _ in f) == written
      got = _outcome(analyze.load, path)
    if broken is None:  # The dump reads back as recorded.
      assert got is not None and (got["labels"] == labels).all()
      assert got["logits"][0].shape == (max(e for e, *_ in calls) + 1, len(labels), c)


@st.composite
def npz_dumps(draw):
  """An .npz dump (one run or two, threshold ids or not), valid or with one
  part broken: an array of another dtype or shape, a key missing, raw bytes."""
  e, n, c = draw(st.integers(1, 2)), draw(st.integers(1, 4)), draw(st.integers(2, 3))
  named = {"labels": np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))}
  if draw(st.booleans()):
    named["logits"] = draw(arrays((e, n, c), "float32", finite=True))
  else:
    named["logits_run1"] = named["logits_run2"] = draw(arrays((e, n, c), "float32", finite=True))
    if draw(st.booleans()):
      named["threshold_ids_run1"], named["threshold_ids_run2"] = [0], [n - 1]
  broken = _broken(draw, ["array", "missing", "bytes"])
  key = draw(st.sampled_from(sorted(named)))
  if broken == "array":
    named[key] = draw(arrays(draw(st.sampled_from([(n,), (e, n, c), (0,), (e, n + 1, c)]))))
  if broken == "missing":
    del named[key]
  return draw(st.binary(max_size=40)) if broken == "bytes" else named


@given(npz_dumps())
def test_load_npz(dump):
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "dump.npz")
    if isinstance(dump, bytes):
      with open(path, "wb") as f:
        f.write(dump)
    else:
      np.savez(path, **dump)
    run = _outcome(analyze.load, path)
    if run is not None:
      assert run["labels"].dtype == np.int64


# Real fields, near misses, blocks and nonsense, with values of every type.
OVERRIDE_KEYS = st.sampled_from(["num_epochs", "num_epoch", "optim.lr", "optim.lr_", "optim",
                                 "input.batch_size", "input.buckets", "detect.folds", "seed",
                                 "aum.percentiles", "noise.rate", "input.train_file",
                                 "trainer", "model.name", "clean.detector", "input.max_len",
                                 "", "a.b.c"])
OVERRIDE_VALUES = st.one_of(SCALARS, st.tuples(st.integers(-1, 64)),
                            st.lists(st.integers(1, 64), max_size=3), st.just(np.int64(3)),
                            st.just(np.float32(0.5)))
VALID_OVERRIDES = st.fixed_dictionaries({}, optional={
    "num_epochs": st.integers(1, 3), "optim.lr": st.floats(1e-5, 1e-2),
    "input.batch_size": st.sampled_from([8, np.int64(16)]), "seed": st.integers(0, 9)})


@st.composite
def label_issues_args(draw):
  """find_label_issues' arguments: valid, or with one broken."""
  broken = _broken(draw, ["texts", "labels", "dev", "model", "seeds", "folds", "arg",
                          "overrides"])
  n = draw(st.integers(2, 6))
  texts = [f"text {i}" for i in range(n)]
  kind = draw(st.sampled_from(["str", "int", "float"]))
  classes = {"str": ["neg", "pos", "mixed"], "int": [0, 1, 10], "float": [0.0, 1.0, 2.0]}[kind]
  labels = [classes[i % 2] for i in range(n)] if n else []
  kw = dict(model="minilm", seeds=draw(st.integers(0, 2)), folds=draw(st.sampled_from([0, 2])),
            arg=draw(st.sampled_from(["", "runlocal"])), **draw(VALID_OVERRIDES))
  if draw(st.booleans()):
    kw["dev_texts"], kw["dev_labels"] = ["dev"], [classes[1]]
  if broken == "texts":
    texts = draw(st.one_of(st.lists(st.one_of(st.text(max_size=3), st.none(), st.integers()),
                                    max_size=6), st.text(max_size=3)))
  if broken == "labels":
    labels = draw(st.lists(SCALARS, max_size=6))
  if broken == "dev":
    kw["dev_texts"] = draw(st.one_of(st.none(), st.lists(st.text(max_size=3), max_size=3)))
    kw["dev_labels"] = draw(st.one_of(st.none(), st.lists(SCALARS, max_size=3)))
  if broken == "model":
    kw["model"] = draw(st.sampled_from(["", "a,b", None, 3]))
  if broken in ("seeds", "folds"):
    kw[broken] = draw(st.sampled_from([1, -1, 1.5, True, None, "2"]))
  if broken == "arg":
    kw["arg"] = draw(st.sampled_from(["nonsense=1", "seeds=x", "runlocal,epochs=2", None, 3]))
  if broken == "overrides":
    kw.update(draw(st.dictionaries(OVERRIDE_KEYS, OVERRIDE_VALUES, min_size=1, max_size=3)))
  return texts, labels, kw


@given(label_issues_args())
def test_label_issues_config(args):
  """find_label_issues' checks and config (nothing trained): a config that
  validate.check accepts, or an InputError."""
  texts, labels, kw = args
  out = _outcome(analyze.label_issues_config, texts, labels, "/tmp/fuzz_w", **kw)
  if out is not None:
    cfg, rows = out
    texts_, labels_ = rows["train.tsv"]
    assert len(texts_) == len(labels_) == len(texts) and len(set(labels_)) >= 2
    assert set(rows["dev.tsv"][1]) <= set(cfg.input.labels)


REL = {"id": "a", "token": ["Ann", "met", "Bob"], "subj_start": 0, "subj_end": 0,
       "obj_start": 2, "obj_end": 2, "subj_type": "PERSON", "obj_type": "PERSON",
       "relation": "no_relation", "stanford_pos": ["NNP", "VBD", "NNP"],
       "stanford_ner": ["PERSON", "O", "PERSON"], "stanford_head": [2, 0, 2],
       "stanford_deprel": ["nsubj", "ROOT", "dobj"]}


@st.composite
def relation_args(draw):
  """find_relation_issues' examples (TACRED dicts, valid or with one field
  replaced or removed, numpy values, repeated ids), model, arg, overrides."""
  examples = [dict(REL, id=str(i)) for i in range(draw(st.integers(1, 3)))]
  broken = _broken(draw, ["field", "drop", "numpy", "id", "examples", "model", "arg",
                          "overrides"])
  i = draw(st.integers(0, len(examples) - 1))
  key = draw(st.sampled_from(sorted(REL)))
  if broken == "field":
    examples[i][key] = draw(st.one_of(SCALARS, st.lists(SCALARS, max_size=4), JSON_VALUES))
  if broken == "drop":
    del examples[i][key]
  if broken == "numpy":
    examples[i]["subj_start"] = np.int64(0)
    examples[i]["token"] = np.array(REL["token"])
  if broken == "id":
    examples[i]["id"] = draw(st.one_of(SCALARS, st.just(examples[0]["id"])))
  if broken == "examples":
    examples = draw(st.one_of(st.lists(SCALARS, max_size=3), st.text(max_size=3)))
  model = (draw(st.sampled_from(["", 3, None, "a,b"])) if broken == "model"
           else draw(st.sampled_from(["transformer", "pa_lstm", "cgcn"])))
  arg = draw(st.sampled_from(["bogus", "runlocal,x=1", 3])) if broken == "arg" else "runlocal"
  overrides = draw(st.dictionaries(OVERRIDE_KEYS, OVERRIDE_VALUES, min_size=1, max_size=3)
                   if broken == "overrides" else VALID_OVERRIDES)
  return examples, model, arg, overrides


@given(relation_args())
def test_relation_issues_config(args):
  """find_relation_issues' checks and config (nothing trained): the rows the
  TACRED reader will accept and a config, or an InputError."""
  examples, model, arg, overrides = args
  out = _outcome(analyze.relation_issues_config, examples, "/tmp/fuzz_r", model=model,
                 arg=arg, **overrides)
  if out is not None:
    assert len(out[1]["train"]) == len(examples)
    json.dumps(out[1])  # Plain JSON.


@st.composite
def config_args(draw):
  """config()'s percentiles, noise rate and detect fields: valid, or one broken."""
  broken = _broken(draw, ["percentiles", "noise_rate", "detect"])
  percentiles = draw(st.lists(st.floats(0, 100), min_size=1, max_size=3, unique=True))
  noise_rate = draw(st.floats(0, 0.99))
  detect = draw(st.fixed_dictionaries({}, optional={
      "k": st.integers(1, 50), "seed": st.integers(0, 9), "min_positive": st.floats(0.01, 0.5)}))
  if broken == "percentiles":
    percentiles = draw(st.one_of(st.lists(st.one_of(st.floats(), st.integers(-5, 200)),
                                          max_size=3), SCALARS))
  if broken == "noise_rate":
    noise_rate = draw(st.one_of(st.floats(), st.integers(-1, 2), st.text(max_size=2)))
  if broken == "detect":
    detect = draw(st.dictionaries(st.sampled_from(["k", "kk", "seed", "folds", "ensemble",
                                                   "frozen", "min_positive"]),
                                  st.one_of(SCALARS, st.integers(0, 9)), min_size=1,
                                  max_size=2))
  return percentiles, noise_rate, detect


@given(config_args())
def test_config(args):
  """The report's settings, or an InputError (detect values by the AUM job's rules)."""
  percentiles, noise_rate, detect = args
  cfg = _outcome(analyze.config, "logits", percentiles, noise_rate, **detect)
  if cfg is not None:
    assert tuple(cfg.aum.percentiles) == tuple(percentiles)
