"""corrections.csv flows back: the reader and its refusals (file:line), fuzzed;
the corrections applied to text and relation training data; an AUM job on
CoLA with corrections (reviewed column, report, retrains before and after);
and the whole loop in headless Chromium: the explorer's export, the job rerun
with it."""
import csv
import io
import json
import os
import re
import shutil
import tempfile

import numpy as np
import pytest

try:  # The fuzzed reader's tests only.
  import hypothesis
  from hypothesis import strategies as st
except ImportError:
  hypothesis = st = None

from configs import aum_cola
from configs import finetune_cola
from noisy_meta.core import errors
from noisy_meta.data import corrections
from noisy_meta.data import tasks
from noisy_meta.data import text_files
from noisy_meta.reports import explorer
from noisy_meta.trainers import aum

HEADER = "id,where,given,decision,new_label,score_aum,score_flagged,detector\r\n"
SOURCES = [f"/data/sst2/train.tsv:{i + 2}" for i in range(6)]
NAMES = ("negative", "positive")
LABELS = np.array([0, 0, 1, 1, 0, 1], np.int32)


def _write(folder, text, name="corrections.csv"):
  path = os.path.join(str(folder), name)
  with open(path, "w", encoding="utf-8", newline="") as f:
    f.write(text)
  return path


def _load(path):
  return corrections.load(path, SOURCES, LABELS, NAMES)


# --- The reader ---------------------------------------------------------------


def test_a_good_file_relabels_drops_and_keeps(tmp_path):
  path = _write(tmp_path, HEADER
                + "0,/data/sst2/train.tsv:2,negative,relabel,positive,-1.6614,1.269,aum\r\n"
                + "2,train.tsv:4,positive,drop,,-0.9421,0.8312,aum\r\n"
                + "\r\n"  # A blank line is no row.
                + '3,"/data/sst2/train.tsv:5",positive,keep,,,,\r\n'
                + "5,train.tsv:7,positive,relabel,positive,,,\r\n")  # To its label: keep.
  rows = corrections.read(path)
  assert [(r.line, r.id, r.decision) for r in rows] == [
      (2, 0, "relabel"), (3, 2, "drop"), (5, 3, "keep"), (6, 5, "relabel")]
  c = _load(path)
  assert c.labels.tolist() == [1, 0, 1, 1, 0, 1]
  assert c.keep.tolist() == [True, True, False, True, True, True]
  assert c.reviewed.tolist() == ["relabel", "", "drop", "keep", "", "keep"]
  assert c.counts() == dict(reviewed=4, relabelled=1, dropped=1, kept=2)
  assert c.wrong().tolist() == [True, False, True, False, False, False]


def test_columns_are_picked_by_name_and_scores_are_optional(tmp_path):
  path = _write(tmp_path, "decision,new_label,given,where,id\n"
                "relabel,negative,positive,/data/sst2/train.tsv:4,2\n")
  c = _load(path)
  assert c.labels[2] == 0 and c.counts()["relabelled"] == 1


@pytest.mark.parametrize("body,line,message", [
    ("7,train.tsv:9,negative,drop,,,,\r\n", 2, "id 7 is not a training example"),
    ("1,train.tsv:9,negative,drop,,,,\r\n", 2, "id 1: where 'train.tsv:9' but training "
     "example 1 is '/data/sst2/train.tsv:3'"),
    ("1,other.tsv:3,negative,drop,,,,\r\n", 2, "where 'other.tsv:3'"),
    ("0,train.tsv:2,negative,keep,,,,\r\n1,train.tsv:3,positive,drop,,,,\r\n", 3,
     "id 1: given 'positive' but its training label is 'negative'"),
    ("0,train.tsv:2,negative,relabel,neutral,,,\r\n", 2, "id 0: unknown label 'neutral' "
     "(labels: negative, positive)"),
    ("0,train.tsv:2,negative,flip,,,,\r\n", 2, "unknown decision 'flip': use relabel, drop, "
     "keep"),
    ("0,train.tsv:2,negative,Drop,,,,\r\n", 2, "unknown decision 'Drop'"),
    ("0,train.tsv:2,negative,relabel,,,,\r\n", 2, "relabel without a new_label"),
    ("0,train.tsv:2,negative,drop,positive,,,\r\n", 2, "new_label 'positive' with decision drop"),
    ("0,train.tsv:2,negative,drop,,,\r\n", 2, "7 fields, but the header names 8 columns"),
    ("x1,train.tsv:2,negative,drop,,,,\r\n", 2, "id 'x1' is not a row number"),
    ("-1,train.tsv:2,negative,drop,,,,\r\n", 2, "id '-1' is not a row number"),
    ("0,train.tsv:2,negative,drop,,,,\r\n\r\n0,train.tsv:2,negative,keep,,,,\r\n", 4,
     "id 0 is decided twice (first on line 2)"),
    ('0,"train.tsv:2\r\nmore",negative,drop,,,,\r\n1,x,negative,flip,,,,\r\n', 4,
     "unknown decision"),  # A quoted line break: the next row is on line 4.
    ("0,,negative,drop,,,,\r\n", 2, "id 0: empty where"),
])
def test_each_refusal_names_the_file_and_line(tmp_path, body, line, message):
  path = _write(tmp_path, HEADER + body)
  with pytest.raises(errors.InputError) as e:
    _load(path)
  text = str(e.value)
  assert text.startswith(f"{path}:{line}: ") and message in text, text
  assert "\n" not in text


@pytest.mark.parametrize("header,message", [
    ("id,where,given,decision,score_aum\n", "header lacks column new_label"),
    ("id,given,decision,new_label\n", "header lacks column where"),
    ("id,where,given,decision,new_label,comment\n", "header has unknown column comment"),
    ("id,where,given,decision,new_label,id\n", "header names column id twice"),
    ("", "empty: expected the header"),
])
def test_header_refusals_are_line_1(tmp_path, header, message):
  path = _write(tmp_path, header + ("0,train.tsv:2,negative,drop,\n" if header else ""))
  with pytest.raises(errors.InputError, match=f"^{path}:1: .*{message}"):
    corrections.read(path)


def test_other_refusals(tmp_path):
  with pytest.raises(errors.InputError, match="corrections file not found"):
    corrections.read(str(tmp_path / "none.csv"))
  with pytest.raises(errors.InputError, match="a header and no decisions"):
    corrections.read(_write(tmp_path, HEADER))
  bad = tmp_path / "latin1.csv"
  bad.write_bytes((HEADER + "0,train.tsv:2,négatif,drop,,,,\r\n").encode("latin-1"))
  with pytest.raises(errors.InputError, match=f"^{bad}:2: not valid UTF-8"):
    corrections.read(str(bad))
  everything = "".join(f"{i},{s},{NAMES[y]},drop,,,,\r\n"
                       for i, (s, y) in enumerate(zip(SOURCES, LABELS)))
  with pytest.raises(errors.InputError, match="drops every one of the 6"):
    _load(_write(tmp_path, HEADER + everything))


def test_text_and_relation_data_are_corrected(tmp_path):
  train = text_files.TextData([f"t{i}" for i in range(6)], LABELS.copy(), NAMES, SOURCES)
  path = _write(tmp_path, HEADER + "0,train.tsv:2,negative,relabel,positive,,,\r\n"
                "4,train.tsv:6,negative,drop,,,,\r\n")
  out = corrections.correct_text(train, path)
  assert out.texts == ["t0", "t1", "t2", "t3", "t5"]
  assert out.labels.tolist() == [1, 0, 1, 1, 1]
  assert out.sources == SOURCES[:4] + SOURCES[5:]
  assert "2 rows reviewed, 1 relabelled, 1 dropped" in out.warnings[-1]
  examples = [{"id": f"e{i}", "relation": r} for i, r in
              enumerate(["Other", "Cause-Effect(e1,e2)", "Other"])]
  names = ["Other", "Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)"]
  path = _write(tmp_path, HEADER + "1,e1,\"Cause-Effect(e1,e2)\",relabel,"
                "\"Cause-Effect(e2,e1)\",,,\r\n2,e2,Other,drop,,,,\r\n", "re.csv")
  out = corrections.correct_examples(examples, path, names)
  assert out == [examples[0], {"id": "e1", "relation": "Cause-Effect(e2,e1)",
                               "corrected_from": "Cause-Effect(e1,e2)"}]
  with pytest.raises(errors.InputError, match=f"^{path}:3: id 2: where 'e2' but"):
    corrections.correct_examples(examples[:2] + [{"id": "x", "relation": "Other"}], path,
                                 names)


def test_every_text_and_relation_config_has_the_field():
  import importlib  # pylint: disable=g-import-not-at-top
  for name in ("finetune_cola", "finetune_sst2", "finetune_tsv", "aum_cola", "aum_sst2",
               "aum_trec", "aum_tsv", "re_semeval", "re_tacred", "aum_semeval",
               "aum_tacred", "mlrc_semeval", "mlrc_text"):
    c = importlib.import_module(f"configs.{name}").get_config("runlocal")
    assert c.input.corrections == "", name


def test_glue_splits_apply_corrections_after_train_size(tmp_path, data_dir):
  config = finetune_cola.get_config("runlocal,train_size=40")
  config.input.data_dir = data_dir
  train, _ = tasks.load_splits(config.input)
  path = _write(tmp_path, HEADER + f"3,{train.sources[3]},{train.label_names[train.labels[3]]},"
                f"drop,,,,\r\n5,{os.path.basename(train.sources[5])},"
                f"{train.label_names[train.labels[5]]},relabel,"
                f"{train.label_names[1 - train.labels[5]]},,,\r\n")
  config.input.corrections = path
  fixed, _ = tasks.load_splits(config.input)
  assert len(fixed) == 39 and fixed.sources == train.sources[:3] + train.sources[4:]
  assert fixed.labels[4] == 1 - train.labels[5]
  assert np.array_equal(np.delete(fixed.labels, 4), np.delete(train.labels, [3, 5]))


def test_semeval_learner_trains_on_corrected_relations(tmp_path, data_dir):
  """A relation learner's `where` is the example id (examples.csv's source)."""
  pytest.importorskip("spacy")
  from configs import re_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta.learners import relation_classifier  # pylint: disable=g-import-not-at-top
  config = re_semeval.get_config("model=pa_lstm,runlocal,train_size=50")
  config.input.data_dir = data_dir
  make = lambda: relation_classifier.RelationClassifier(config).train_examples()
  before = make()
  names = before.label_names
  new = names[(before.labels[0] + 1) % len(names)]
  config.input.corrections = _write(tmp_path, HEADER + "".join(
      f'{i},{before.sources[i]},"{names[before.labels[i]]}",{d},"{n}",,,\r\n'
      for i, d, n in ((0, "relabel", new), (2, "drop", ""), (3, "keep", ""))))
  after = make()
  assert after.sources == before.sources[:2] + before.sources[3:]
  assert names[after.labels[0]] == new
  assert after.labels[1:].tolist() == np.delete(before.labels, [0, 2]).tolist()


# --- Fuzzed reader --------------------------------------------------------------
# Only these tests need hypothesis (its profile: tests/conftest.py); without
# it they skip and the rest of the file runs.

if hypothesis is None:

  def test_fuzz_needs_hypothesis():
    pytest.skip("hypothesis not installed (pip install -e .[test])")

else:
  PIECES = st.lists(st.sampled_from(
      ["id", "where", "given", "decision", "new_label", "detector", ",", "\n", "\r\n", "\r",
       '"', "0", "1", "17", "-1", "relabel", "drop", "keep", "positive", "negative",
       "train.tsv:2", " ", "é", "\ufeff", "\x00", HEADER]), max_size=40).map("".join)


  def _fresh(tmp_path, data):
    path = os.path.join(tempfile.mkdtemp(dir=tmp_path), "c.csv")
    with open(path, "wb") as f:
      f.write(data)
    return path


  @hypothesis.given(data=st.one_of(st.binary(max_size=300), PIECES.map(str.encode)))
  def test_any_bytes_give_rows_or_one_line_input_error(tmp_path, data):
    path = _fresh(tmp_path, data)
    try:
      rows = corrections.read(path)
    except errors.InputError as e:
      assert str(e).startswith(path) and "\n" not in str(e), repr(str(e))
      return
    assert rows and all(r.decision in corrections.DECISIONS and r.id >= 0 for r in rows)
    try:
      _load(path)
    except errors.InputError as e:
      assert str(e).startswith(path) and "\n" not in str(e), repr(str(e))


  TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                 min_size=1, max_size=10)


  @st.composite
  def files(draw):
    """(file text, [(line, id, where, given, decision, new_label)])."""
    ids = draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=6, unique=True))
    columns = list(corrections.REQUIRED) + draw(st.lists(
        st.sampled_from(corrections.OPTIONAL), unique=True, max_size=3))
    columns = draw(st.permutations(columns))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    out = io.StringIO()
    # RFC 4180 as the explorer writes it: a field with a comma, a quote or a
    # line break (a lone "\r" too) is quoted, quotes doubled.
    quote = lambda v: '"' + v.replace('"', '""') + '"' if set(v) & set(',"\r\n') else v
    write = lambda fields: out.write(",".join(quote(v) for v in fields) + end)
    write(columns)
    rows = []
    for i in ids:
      if draw(st.booleans()):
        out.write(end)  # Blank lines move the line numbers on.
      decision = draw(st.sampled_from(corrections.DECISIONS))
      row = dict(id=str(i), where=draw(TEXT), given=draw(TEXT), decision=decision,
                 new_label=draw(TEXT) if decision == "relabel" else "", score_aum="-1.5",
                 score_flagged="", detector="aum")
      line = len(re.findall(r"\r\n|\r|\n", out.getvalue())) + 1  # "\r" ends a line too.
      write([row[c] for c in columns])
      rows.append((line, i, row["where"], row["given"], decision, row["new_label"]))
    return out.getvalue(), rows


  @hypothesis.given(f=files(), bom=st.booleans())
  def test_valid_files_read_back_as_written(tmp_path, f, bom):
    text, want = f
    path = _fresh(tmp_path, (("\ufeff" if bom else "") + text).encode("utf-8"))
    got = corrections.read(path)
    assert [(r.line, r.id, r.where, r.given, r.decision, r.new_label) for r in got] == want


# --- The AUM job with corrections -------------------------------------------------


def _config(data_dir, tiny_bert_dir, cache, corrections_path=""):
  config = aum_cola.get_config("runlocal,noise=0.2")
  config.input.data_dir = data_dir
  config.input.cache_dir = cache
  config.model.path = tiny_bert_dir
  config.input.train_size, config.input.dev_size = 64, 32
  config.input.batch_size, config.input.buckets = 16, (32, 64)
  config.optim.lr = 1e-3
  # Small and quick: AUM's sweep at p50 only, sieving, no repair or ceiling stages.
  config.clean.detector, config.clean.methods = "aum", ("sieve",)
  config.clean.percentiles, config.clean.ceiling = (50,), False
  config.input.corrections = corrections_path
  return config


@pytest.fixture(scope="module")
def first_job(tmp_path_factory, data_dir, tiny_bert_dir):
  """A finished tiny AUM workdir on CoLA (20 % injected noise), as reviewed."""
  folder = tmp_path_factory.mktemp("corrections")
  config = _config(data_dir, tiny_bert_dir, str(folder / "cache"))
  aum.train_and_evaluate(config, str(folder / "first"))
  return config, folder, str(folder / "first")


def _rows(workdir):
  with open(os.path.join(workdir, "examples.csv"), newline="", encoding="utf-8") as f:
    return list(csv.DictReader(f))


def _rerun(first_job, path, name):
  """The job again with `path`'s corrections, in a new workdir that reuses the
  first job's finished AUM runs (stages are reused by their files)."""
  config, folder, first = first_job
  w = str(folder / name)
  for run in ("aum_run1", "aum_run2"):
    shutil.copytree(os.path.join(first, run), os.path.join(w, run))
  config = _config(config.input.data_dir, config.model.path, config.input.cache_dir, path)
  return aum.train_and_evaluate(config, w), w


def _check_rerun(summary, w, first, decisions):
  """The corrected job's files against `decisions` {id: (decision, new label name)}."""
  before, rows = _rows(first), _rows(w)
  n = len(before)
  dropped = sum(d == "drop" for d, _ in decisions.values())
  relabelled = sum(d == "relabel" for d, _ in decisions.values())
  # examples.csv: the reviewed ids as before, the decisions in `reviewed`.
  assert [r["id"] for r in rows] == [r["id"] for r in before]
  assert [r["label_name"] for r in rows] == [r["label_name"] for r in before]
  assert [r["reviewed"] for r in rows] == [decisions.get(i, ("", ""))[0] for i in range(n)]
  # The retrains: corrected (none) without the dropped rows, uncorrected with all.
  none = json.load(open(os.path.join(w, "clean/none_s0/metrics.json")))
  unc = json.load(open(os.path.join(w, "clean/uncorrected_s0/metrics.json")))
  assert none["train_examples"] == n - dropped and unc["train_examples"] == n
  assert unc["dev"] == json.load(open(os.path.join(first, "clean/none_s0/metrics.json")))["dev"]
  c = summary["corrections"]
  assert (c["reviewed"], c["relabelled"], c["dropped"]) == (len(decisions), relabelled, dropped)
  assert c["dev"]["uncorrected"]["accuracy"][0] == unc["dev"]["accuracy"]
  assert c["dev"]["corrected"]["accuracy"][0] == none["dev"]["accuracy"]
  assert summary["runs"]["clean/uncorrected_s0"]["train_examples"] == n
  # Each detector's precision on the reviewed rows, by hand.
  wrong = {i for i, (d, _) in decisions.items() if d != "keep"}
  for name, r in c["detectors"].items():
    if "flagged" in r:
      flagged = {i for i in decisions if rows[i][f"flag_{name}"] == "1"}
      assert r["flagged"] == len(flagged) and r["flagged_wrong"] == len(flagged & wrong)
      assert r["precision"] == (len(flagged & wrong) / len(flagged) if flagged else None)
  # AUM's AUROC on the reviewed rows by hand: P(a wrong row's score > a kept row's), ties half.
  score = {i: float(rows[i]["score_aum"]) for i in decisions}
  pairs = [(score[a] > score[b]) + 0.5 * (score[a] == score[b])
           for a in wrong for b in set(decisions) - wrong]
  assert c["detectors"]["aum"]["auroc"] == (pytest.approx(np.mean(pairs), abs=1e-9)
                                            if pairs else None)
  report = open(os.path.join(w, "report.md"), encoding="utf-8").read()
  assert "## Corrections (input.corrections)" in report
  assert (f"**{len(decisions)} rows reviewed**: {relabelled} relabelled, {dropped} dropped"
          in report)
  assert "| clean/uncorrected_s0 |" in report and "(clean/uncorrected_s*)" in report
  return c


@pytest.mark.job
def test_text_job_with_corrections_end_to_end(first_job):
  config, folder, first = first_job
  rows = _rows(first)
  names = sorted({r["label_name"] for r in rows})
  other = lambda r: names[1 - names.index(r["label_name"])]
  # Reviewed: two relabels, two drops, two keeps; one `where` written as the file's name.
  decisions = {1: ("relabel", other(rows[1])), 4: ("drop", ""), 7: ("keep", ""),
               9: ("relabel", other(rows[9])), 12: ("drop", ""), 20: ("keep", "")}
  lines = [HEADER.strip()]
  for i, (d, new) in sorted(decisions.items()):
    where = rows[i]["source"] if i != 9 else os.path.basename(rows[i]["source"])
    lines.append(f"{i},{where},{rows[i]['label_name']},{d},{new},,,")
  path = _write(folder, "\r\n".join(lines) + "\r\n", "hand.csv")
  summary, w = _rerun(first_job, path, "hand")
  _check_rerun(summary, w, first, decisions)
  # The reviewed workdir itself is refused (its config differs), before any training.
  with pytest.raises(errors.WorkdirConfigError, match="input.corrections"):
    aum.train_and_evaluate(_config(config.input.data_dir, config.model.path,
                                   config.input.cache_dir, path), first)
  # The given label is the job's given (noisy) label: the original one is refused.
  noisy = next(r for r in rows if r["noisy"] == "1")
  bad = _write(folder, HEADER + f"{noisy['id']},{noisy['source']},"
               f"{noisy['original_label_name']},keep,,,,\r\n", "bad.csv")
  with pytest.raises(errors.InputError, match=f"^{bad}:2: id {noisy['id']}: given"):
    aum.train_and_evaluate(_config(config.input.data_dir, config.model.path,
                                   config.input.cache_dir, bad), str(folder / "bad"))


# --- The explorer's export, in headless Chromium ------------------------------------


@pytest.fixture(scope="module")
def browser():
  """Debian's Chromium driven by Playwright; skips without either."""
  from tests import explorer_test  # pylint: disable=g-import-not-at-top
  sync_api = pytest.importorskip("playwright.sync_api")
  exe = explorer_test._chromium()  # pylint: disable=protected-access
  if exe is None:
    pytest.skip("no Chromium binary found (apt-get install chromium, or NOISY_META_CHROMIUM)")
  with sync_api.sync_playwright() as p:
    b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
    yield b
    b.close()


@pytest.mark.job
def test_explorer_export_flows_back_into_the_job(browser, first_job):
  _, folder, first = first_job
  rows = _rows(first)
  explorer.write_aum_explorer(first)
  page = browser.new_page(viewport={"width": 1300, "height": 1000})
  problems = []
  page.on("pageerror", lambda e: problems.append(str(e)))
  page.goto("file://" + os.path.join(first, "explorer.html"))
  page.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)
  page.select_option("#table select", "all")
  page.click("#table th:nth-child(2)")  # Sort by id, ascending.
  page.click("#table tbody tr:nth-child(1) td:nth-child(3)")  # Id 0 selected.
  given = [int(r["label"]) for r in rows]
  names = sorted({(int(r["label"]), r["label_name"]) for r in rows})
  page.keyboard.press(str(1 - given[0]))  # Id 0: relabel to the other class.
  page.keyboard.press("d")  # Id 1: drop.
  page.keyboard.press("r")  # Id 2: label is right.
  page.keyboard.press("j")  # Id 3: skipped.
  page.keyboard.press("d")  # Id 4: drop.
  with page.expect_download() as dl:
    page.click("#export")
  exported = str(folder / "corrections.csv")
  shutil.copy(dl.value.path(), exported)
  assert problems == []
  page.close()
  decisions = {0: ("relabel", dict(names)[1 - given[0]]), 1: ("drop", ""), 2: ("keep", ""),
               4: ("drop", "")}
  with open(exported, newline="", encoding="utf-8") as f:
    got = {int(r["id"]): (r["decision"], r["new_label"]) for r in csv.DictReader(f)}
  assert got == decisions
  summary, w = _rerun(first_job, exported, "exported")
  c = _check_rerun(summary, w, first, decisions)
  assert c["path"] == exported
  # The corrected job's own page (examples.csv with `reviewed`) loads without an error.
  page = browser.new_page()
  page.on("pageerror", lambda e: problems.append(str(e)))
  page.goto("file://" + os.path.join(w, "explorer.html"))
  page.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)
  assert problems == []
  page.close()
