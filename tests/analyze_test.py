"""noisy_meta.analyze: AUM and the report from logits of any framework."""
import csv
import json
import os
import re

import numpy as np
import pytest

from configs import aum_cola
from noisy_meta import analyze
from noisy_meta import aum_lib
from noisy_meta.core import errors
from noisy_meta.trainers import aum


def test_detect_defaults_agree_with_the_job_config():
  job = aum_cola.get_config("").detect.to_dict()
  mine = analyze.config().detect.to_dict()
  for key in set(job) - {"folds", "frozen"}:
    assert tuple(np.atleast_1d(mine[key])) == tuple(np.atleast_1d(job[key])), key
  assert mine["frozen"] is False and mine["folds"] == 0


def test_dynamics_from_logits_by_hand():
  # Two epochs, two examples, classes 0, 1 and the fake class 2.
  logits = np.array([[[2.0, 1.0, 0.5], [0.0, 1.0, 3.0]],
                     [[1.0, 3.0, 0.0], [0.5, 0.0, 2.5]]], np.float32)
  dyn = aum_lib.from_logits(logits, np.array([0, 2]), num_real=2)
  # Example 0 (label 0): margins 2-1=1, 1-3=-2 -> AUM -0.5. Example 1 (fake
  # class 2): 3-1=2, 2.5-0.5=2 -> AUM 2.
  np.testing.assert_allclose(aum_lib.aum(dyn), [-0.5, 2.0], atol=1e-6)
  np.testing.assert_allclose(np.asarray(dyn.margin_EN), [[1, 2], [-2, 2]], atol=1e-6)
  # The best other real class of example 0 at epoch 2 is 1; the fake class is never proposed.
  assert list(np.asarray(dyn.other_EN)[1]) == [1, 0]
  p = np.exp(logits[:, 0]) / np.exp(logits[:, 0]).sum(-1, keepdims=True)
  np.testing.assert_allclose(aum_lib.data_map(dyn)["confidence"][0], p[:, 0].mean(), rtol=1e-6)


@pytest.mark.job
def test_the_trainers_logits_give_a_byte_identical_examples_csv(tmp_path, data_dir,
                                                               tiny_bert_dir):
  """Our AUM job keeps every epoch's logits; analysing them gives its examples.csv."""
  config = aum_cola.get_config("runlocal,noise=0.2,seeds=0")
  config.input.data_dir = data_dir
  config.input.cache_dir = str(tmp_path / "cache")
  config.model.path = tiny_bert_dir
  config.input.train_size = 64
  config.input.dev_size = 16
  config.input.batch_size = 16
  config.input.buckets = (32, 64)
  config.optim.lr = 1e-3
  config.aum.percentiles = tuple(analyze.PERCENTILES)
  config.detect.frozen = False  # What logits alone give: no frozen encoder.
  config.clean.detector = "aum"
  config.clean.methods, config.clean.seeds = (), ()  # No retrains.
  w = str(tmp_path / "job")
  aum.train_and_evaluate(config, w)
  run = analyze.load(w)
  assert [x.shape for x in run["logits"]] == [(2, 64, 3)] * 2
  with open(os.path.join(w, "examples.csv"), newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
  noise = np.load(os.path.join(w, "noise.npz"))
  feats = [np.load(os.path.join(w, f"aum_run{r}", "dynamics.npz"))["features"] for r in (1, 2)]
  out = str(tmp_path / "mine")
  table = analyze.from_logits(run["logits"], run["labels"], run["threshold"],
                              texts=[r["text"] for r in rows],
                              sources=[r["source"] for r in rows], label_names=("0", "1"),
                              original_labels=noise["original"], features=feats,
                              task="cola", workdir=out)
  mine = open(os.path.join(out, "examples.csv"), "rb").read()
  assert mine == open(os.path.join(w, "examples.csv"), "rb").read()
  assert "score_knn_tuned" in rows[0] and "neighbour_agrees" in rows[0]
  assert rows[0]["neighbour_agrees"] == ""  # No embeddings: empty cells.
  # The table: one row per example, lowest AUM first.
  assert len(table) == 64 and (np.diff(table["aum"].to_numpy()) >= 0).all()
  for name in ("report.md", "summary.json", "fig1_data_map.png", "fig3_aum_histogram.png",
               "explorer.html"):
    assert os.path.exists(os.path.join(out, name)), name
  assert json.load(open(os.path.join(out, "summary.json")))["noisy"] == int(noise["noisy"].sum())


def test_an_api_page_has_the_full_percentile_slider(tmp_path):
  """from_logits with two runs' threshold samples writes explorer_runs.npz, so
  its explorer.html has every percentile 0-100, the fake-class AUM (the
  histogram) and suggested labels (3 classes: the runs' best other class)."""
  rng = np.random.default_rng(0)
  n, c, e = 240, 3, 4
  labels = rng.integers(c, size=n)
  thr = analyze.threshold_ids(labels, c)
  logits = [rng.normal(size=(e, n, c + 1)).astype(np.float32) for _ in thr]
  for lg, t in zip(logits, thr):
    lg[:, np.arange(n), labels] += 2
    lg[:, t, c] += 3
  out = str(tmp_path / "api")
  analyze.from_logits(logits, labels, list(thr), texts=[f"text {i}" for i in range(n)],
                      workdir=out)
  with np.load(os.path.join(out, "explorer_runs.npz")) as d:
    assert sorted(d.files) == ["aum1", "aum2", "other1", "other2", "threshold_idx1",
                               "threshold_idx2"]
    assert [len(d["threshold_idx1"]), len(d["threshold_idx2"])] == [len(t) for t in thr]
  with open(os.path.join(out, "explorer.html"), encoding="utf-8") as f:
    page = f.read()
  m = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S)
  data = json.loads(m.group(1))
  assert data["levels"] == list(range(101)) and data["levels_note"] == ""
  assert len(data["fake_aum"]) == sum(len(t) for t in thr)
  suggest = data["cols"]["suggest"]
  assert len(suggest) == n and all(0 <= s < c for s in suggest)


def test_jsonl_and_npz_dumps_read_back(tmp_path):
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 3, 40)
  thr = analyze.threshold_ids(labels, 3, seed=1)
  assert not set(thr[0]) & set(thr[1]) and len(thr[0]) == 40 // 4 // 3 * 3
  logits = [rng.normal(size=(3, 40, 4)).astype(np.float32) for _ in range(2)]
  with open(tmp_path / "dump.jsonl", "w") as f:
    for r in (0, 1):
      trained = labels.copy()
      trained[thr[r]] = 3
      for e in range(3):
        for i in rng.permutation(40):  # Any order, as batches come.
          f.write(json.dumps({"run": r + 1, "epoch": e, "id": int(i),
                              "label": int(trained[i]), "logits": logits[r][e, i].tolist()})
                  + "\n")
  got = analyze.load(str(tmp_path / "dump.jsonl"))
  assert (got["labels"] == labels).all()
  assert all((a == b).all() for a, b in zip(got["threshold"], thr))
  assert all(np.array_equal(a, b) for a, b in zip(got["logits"], logits))
  np.savez(tmp_path / "dump.npz", logits_run1=logits[0], logits_run2=logits[1], labels=labels,
           threshold_ids_run1=thr[0], threshold_ids_run2=thr[1])
  z = analyze.load(str(tmp_path / "dump.npz"))
  a = analyze.from_logits(got["logits"], got["labels"], got["threshold"])
  b = analyze.from_logits(z["logits"], z["labels"], z["threshold"])
  assert a.equals(b) and len(a) == 40
  # Without threshold samples: AUM and the data map only, lowest AUM first.
  plain = analyze.from_logits(logits[0][:, :, :3], labels)
  assert list(plain.columns[-4:]) == ["aum", "confidence", "variability", "correctness"]
  assert (np.diff(plain["aum"].to_numpy()) >= 0).all()


def test_bad_dumps_are_one_line_errors(tmp_path):
  bad = tmp_path / "bad.jsonl"
  bad.write_text('{"epoch": 0, "id": 0, "label": 1, "logits": [0.1, 0.2]}\n{"epoch": 0}\n')
  with pytest.raises(errors.InputError, match=r"bad.jsonl:2: no 'id'; expected a JSON object"):
    analyze.load(str(bad))
  gap = tmp_path / "gap.jsonl"
  gap.write_text('{"epoch": 0, "id": 1, "label": 1, "logits": [0.1, 0.2]}\n')
  with pytest.raises(errors.InputError, match="1 .* records missing"):
    analyze.load(str(gap))
  logits = np.zeros((2, 5, 3), np.float32)
  with pytest.raises(errors.InputError, match="flags need two runs"):
    analyze.from_logits([logits], np.zeros(5, int), [np.array([0])])
  with pytest.raises(errors.InputError, match="expected \\[epochs, 6 examples"):
    analyze.from_logits(logits, np.zeros(6, int))
  with pytest.raises(errors.InputError, match="NaN or inf"):
    analyze.from_logits(np.full((2, 5, 3), np.nan, np.float32), np.zeros(5, int))
  with pytest.raises(errors.InputError, match=r"labels\[0\] = 3: outside 0..2 \(3 logit columns\)"):
    analyze.from_logits(logits, np.full(5, 3))
  with pytest.raises(errors.InputError, match=r"threshold\[1\]\[0\] = 7: outside 0..4"):
    analyze.from_logits([logits, logits], np.zeros(5, int), [np.array([0]), np.array([7])])
  with pytest.raises(errors.InputError, match="not a finished AUM workdir"):
    analyze.load(str(tmp_path))


def test_the_recorders_file_is_read_back_in_the_same_process(tmp_path):
  """The callback flushes each call: `load` reads the dump while it is still
  open (docs/api.md once showed a recorder whose lines sat in its buffer)."""
  torch = pytest.importorskip("torch")
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 2, 12)
  thr = analyze.threshold_ids(labels, 2)
  model = torch.nn.Linear(4, 3)
  x = torch.randn(12, 4)
  path = tmp_path / "logits.jsonl"
  logits = {}
  for r in (1, 2):
    trained = labels.copy()
    trained[thr[r - 1]] = 2  # The fake class in this run.
    record = analyze.LogitsRecorder(path, run=r)
    for epoch in range(2):
      out = model(x)  # With gradients: the recorder takes it as it is.
      for ids in np.array_split(rng.permutation(12), 3):
        record(epoch, torch.tensor(ids), torch.tensor(trained[ids]), out[ids])
      logits[r, epoch] = out.detach().numpy()
  got = analyze.load(str(path))  # Run 2's recorder is not closed yet.
  record.close()
  assert (got["labels"] == labels).all()
  assert all((a == b).all() for a, b in zip(got["threshold"], thr))
  for r in (1, 2):
    np.testing.assert_allclose(got["logits"][r - 1], np.stack([logits[r, 0], logits[r, 1]]),
                               rtol=1e-6)
  with analyze.LogitsRecorder(tmp_path / "np.jsonl") as rec:  # NumPy, lists; run 1.
    rec(np.int64(0), np.arange(2), [1, 0.0], np.array([[0.5, -1.0], [2.0, 0.0]], np.float16))
    assert len(analyze.load(str(tmp_path / "np.jsonl"))["labels"]) == 2
  assert rec.file.closed


def test_bad_recordings_are_one_line_errors(tmp_path):
  with analyze.LogitsRecorder(tmp_path / "r.jsonl") as rec:
    with pytest.raises(errors.InputError, match=r"2 values, 1 value and 2 values"):
      rec(0, [0, 1], [1], [[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(errors.InputError, match=r"id=-1 is negative"):
      rec(0, [-1], [1], [[0.1, 0.2]])
    with pytest.raises(errors.InputError, match=r"label=1.5 is not a whole number"):
      rec(0, [0], [1.5], [[0.1, 0.2]])
    with pytest.raises(errors.InputError, match=r"logits of id 0 hold NaN"):
      rec(0, [0], [1], [[float("nan"), 0.2]])
    with pytest.raises(errors.InputError, match=r"logits of id 0: expected a row of numbers"):
      rec(0, [0], [1], [0.5])
    with pytest.raises(errors.InputError, match=r"epoch=None"):
      rec(None, [0], [1], [[0.1, 0.2]])
  assert (tmp_path / "r.jsonl").read_text() == ""  # A refused batch writes nothing.
  with pytest.raises(errors.InputError, match="cannot be written"):
    analyze.LogitsRecorder(tmp_path)


def test_the_cli_last_line_names_explorer_html(tmp_path, capsys):
  """main's closing line names explorer.html wherever the job wrote one."""
  from ml_collections import config_dict  # pylint: disable=g-import-not-at-top
  from noisy_meta import cli  # pylint: disable=g-import-not-at-top
  for trainer, files, named in [
      ("aum", ("report.md", "examples.csv", "explorer.html", "summary.json"),
       "(report.md, explorer.html, examples.csv, summary.json)"),
      ("mlrc", ("report.md", "results.json", "explorer.html"),
       "(report.md, explorer.html, results.json)"),
      ("aum", ("report.md", "summary.json"), "(report.md, summary.json)"),  # None written.
      ("relation", ("metrics.json", "explorer.html"), "(metrics.json, explorer.html)")]:
    w = tmp_path / f"{trainer}{len(files)}"
    w.mkdir()
    for name in files:
      (w / name).write_text("x")
    cli.done(config_dict.ConfigDict({"trainer": trainer, "runlocal": False}), str(w))
    assert capsys.readouterr().err.splitlines()[-1] == f"done: {w} {named}"


def test_the_pytorch_example_runs_end_to_end(tmp_path, data_dir, capsys):
  """bench.examples.torch_logits_example on 300 sentences: the callback's dump,
  the report, and the `aum` package's AUM of the same logits equal to ours."""
  pytest.importorskip("torch")
  pytest.importorskip("aum")
  from bench.examples import torch_logits_example as example  # pylint: disable=g-import-not-at-top
  assert example.main([f"--data_dir={data_dir}", f"--out={tmp_path}", "--n=300",
                       "--epochs=2"]) == 0
  out = capsys.readouterr().out
  diff = float(out.split("max |difference| ")[1].split()[0])
  assert diff < 1e-5
  assert os.path.exists(tmp_path / "report" / "examples.csv")
  assert sum(1 for _ in open(tmp_path / "logits.jsonl")) == 2 * 2 * 300


@pytest.mark.job
def test_find_label_issues_in_process(tmp_path, data_dir, tiny_bert_dir, capsys):
  """Texts and string labels in, the AUM job's table out (lowest AUM first);
  a second call reads the finished job back."""
  with open(os.path.join(data_dir, "sst2", "train.tsv"), encoding="utf-8") as f:
    rows = [line.rstrip("\n").split("\t") for line in f][1:81]
  texts = [r[0] for r in rows]
  labels = ["pos" if r[1] == "1" else "neg" for r in rows]
  kw = dict(model=tiny_bert_dir, arg="runlocal", num_epochs=2,
            **{"input.batch_size": 16, "input.buckets": (32, 64), "input.max_len": 64,
               "optim.lr": 1e-3,
               "input.cache_dir": str(tmp_path / "cache"), "detect.frozen": False})
  table = analyze.find_label_issues(texts, labels, str(tmp_path / "w"), **kw)
  err = capsys.readouterr().err.splitlines()
  job = tmp_path / "w" / "job"
  # Progress while it runs (the job's log lines), then where to look, last.
  assert err[0].startswith(f"find issues: the AUM job in {job}")
  assert any("AUM pipeline: aum_run2 finished" in line for line in err), err
  assert any("ETA" in line for line in err), err
  assert err[-1] == (f"done: 80 examples ranked; report {job / 'report.md'}; explorer "
                     f"{job / 'explorer.html'} (open it in a browser)")
  assert len(table) == 80 and set(table["label_name"]) == {"neg", "pos"}
  assert (np.diff(table["aum"].to_numpy()) >= 0).all()
  assert {"flagged_p99", "score_aum", "flag_aum"} <= set(table.columns)
  assert os.path.exists(tmp_path / "w" / "job" / "report.md")
  again = analyze.find_label_issues(texts, labels, str(tmp_path / "w"), **kw)
  assert again.equals(table)
  assert capsys.readouterr().err.splitlines()[-1].startswith("done: 80 examples ranked;")
  with pytest.raises(errors.InputError, match="3 texts and 2 labels"):
    analyze.find_label_issues(["a", "b", "c"], ["x", "y"], str(tmp_path / "bad"))


@pytest.mark.job
def test_find_relation_issues_on_the_tacred_sample(tmp_path, data_dir):
  """TACRED-schema dicts in (here the 20-sentence sample, PA-LSTM), the
  relation AUM job's table out; a bad example is refused with its index."""
  exs = json.load(open(os.path.join(data_dir, "tacred_sample", "train.json")))
  glove = os.path.join(data_dir, "glove", "glove.6B.50d.filtered_cola_sst2_semeval.txt")
  kw = {"model": "pa_lstm", "arg": "runlocal", "input.glove": glove,
        "aum.threshold_mode": "random", "model.hidden": 16, "model.attn_dim": 16}
  table = analyze.find_relation_issues(exs, str(tmp_path / "w"), **kw)
  assert len(table) == 20 and "[S " in table["text"].iloc[0]
  assert (np.diff(table["aum"].to_numpy()) >= 0).all()
  assert os.path.exists(tmp_path / "w" / "job" / "explorer.html")
  bad = [dict(exs[0], subj_end=999)] + exs[1:]
  with pytest.raises(errors.InputError, match=r"examples\[0\] \(id .*\): subj span"):
    analyze.find_relation_issues(bad, str(tmp_path / "bad"), **kw)


def _jsonl(path, records):
  path.write_text("".join(json.dumps(r) + "\n" for r in records))
  return str(path)


def _rec(run, epoch, i, label, logits=(0.1, 0.2, 0.3)):
  return {"run": run, "epoch": epoch, "id": i, "label": label, "logits": list(logits)}


# A TACRED example (3 tokens): "Ann met Bob".
REL = {"id": "a", "token": ["Ann", "met", "Bob"], "subj_start": 0, "subj_end": 0,
       "obj_start": 2, "obj_end": 2, "subj_type": "PERSON", "obj_type": "PERSON",
       "relation": "no_relation", "stanford_pos": ["NNP", "VBD", "NNP"],
       "stanford_ner": ["PERSON", "O", "PERSON"], "stanford_head": [2, 0, 2],
       "stanford_deprel": ["nsubj", "ROOT", "dobj"]}
L = np.array([[[2.0, 1.0, 0.5], [0.0, 1.0, 3.0], [1.0, 0.0, 0.0], [0.5, 0.5, 2.0],
               [1.0, 2.0, 0.0]]] * 2, np.float32)  # [2 epochs, 5 examples, 3 classes].
Y = np.array([0, 1, 2, 0, 1])
# (the input, the call, the exact message): docs/faults.md's API table.
BAD_INPUTS = [
    ('`from_logits`: a label 1.5',
     lambda t: analyze.from_logits(L, [0, 1, 1.5, 0, 1]),
     "labels[2] = 1.5: not a whole number (1.0 counts as 1; 1.5, NaN and inf do not)."),
    ('`from_logits`: a NaN label',
     lambda t: analyze.from_logits(L, [0, 1, np.nan, 0, 1]),
     "labels[2] = nan: not a whole number (1.0 counts as 1; 1.5, NaN and inf do not)."),
    ('`from_logits`: string labels, no `label_names`',
     lambda t: analyze.from_logits(L, ["a", "b", "c", "a", "b"]),
     "labels: strings (e.g. 'a'); pass class ids 0..2, or label_names (the classes in "
     "logit-column order) to map the strings."),
    ('`from_logits`: a string label not among `label_names`',
     lambda t: analyze.from_logits(L, ["a", "b", "cc", "a", "b"], label_names=["a", "b", "c"]),
     "labels[2] = 'cc': not among label_names (did you mean 'c'?)."),
    ('`from_logits`: boolean labels',
     lambda t: analyze.from_logits(L, Y.astype(bool)),
     "labels: booleans; pass integers (np.asarray(x, int) gives 0 and 1)."),
    ('`from_logits`: a label outside the logit columns',
     lambda t: analyze.from_logits(L, np.full(5, 3)),
     "labels[0] = 3: outside 0..2 (3 logit columns)."),
    ("`from_logits`: 4 labels for 5 examples' logits",
     lambda t: analyze.from_logits(L, Y[:4]),
     "run 1: logits of shape (2, 5, 3); expected [epochs, 4 examples, classes] (one label per "
     "example)."),
    ('`from_logits`: zero epochs',
     lambda t: analyze.from_logits(L[:0], Y),
     "run 1: logits of shape (0, 5, 3): no epochs; expected [epochs >= 1, N >= 1, classes]."),
    ('`from_logits`: no examples (empty arrays)',
     lambda t: analyze.from_logits(L[:, :0], []),
     "run 1: logits of shape (2, 0, 3): no examples; expected [epochs >= 1, N >= 1, classes]."),
    ('`from_logits`: one class (one logit column)',
     lambda t: analyze.from_logits(L[:, :, :1], np.zeros(5, int)),
     "run 1: 1 logit column; AUM needs two classes at least."),
    ('`from_logits`: threshold samples with one real class',
     lambda t: analyze.from_logits(L[:, :, :2], [0, 1, 0, 0, 1], [[0], [1]]),
     "run 1: 2 logit columns; AUM needs two classes at least plus the fake class (the last "
     "column)."),
    ('`from_logits`: runs with different class counts',
     lambda t: analyze.from_logits([L, np.concatenate([L, L[:, :, :1]], 2)], Y),
     "run 2: logits [2, 5, 4], run 1's [2, 5, 3]: the runs differ in classes (every run "
     "trains the same examples, classes and epochs)."),
    ('`from_logits`: runs with different epochs',
     lambda t: analyze.from_logits([L, L[:1]], Y),
     "run 2: logits [1, 5, 3], run 1's [2, 5, 3]: the runs differ in epochs (every run "
     "trains the same examples, classes and epochs)."),
    ('`from_logits`: an empty list of runs',
     lambda t: analyze.from_logits([], Y),
     "logits: no runs; give one array [epochs, N, classes] per run."),
    ('`from_logits`: string logits',
     lambda t: analyze.from_logits(L.astype(str), Y),
     "run 1: logits of type <U32; expected real numbers (float16/32/64)."),
    ('`from_logits`: inf logits',
     lambda t: analyze.from_logits(np.full((2, 5, 3), np.inf), Y),
     "run 1: logits hold NaN or inf (a diverged training?)."),
    ('`from_logits`: logits of 3e35',
     lambda t: analyze.from_logits(L * 1e35, Y),
     "run 1: logits up to 3e+35 in magnitude; keep them within +-1e+30 (float32 margins "
     "summed over epochs overflow)."),
    ('`from_logits`: probabilities (softmax rows)',
     lambda t: analyze.from_logits(np.exp(L) / np.exp(L).sum(-1, keepdims=True), Y),
     "run 1: these look like probabilities (every row lies in [0, 1] and sums to 1); pass "
     "logits (log-probabilities work too: np.log(probs) gives the same margins)."),
    ('`from_logits`: an empty threshold set',
     lambda t: analyze.from_logits([L, L], [0, 1, 0, 0, 1], [[], [1]]),
     "run 1: no threshold samples; AUM's cut is a percentile of their AUM "
     "(analyze.threshold_ids draws N // (c + 1) per run)."),
    ('`from_logits`: a threshold id 0.5',
     lambda t: analyze.from_logits([L, L], [0, 1, 0, 0, 1], [[0], [0.5]]),
     "threshold[1][0] = 0.5: not a whole number (1.0 counts as 1; 1.5, NaN and inf do not)."),
    ('`from_logits`: overlapping threshold sets',
     lambda t: analyze.from_logits([L, L], [0, 1, 0, 0, 1], [[0], [0]]),
     "the two runs' threshold samples must be disjoint."),
    ('`from_logits`: a label name twice',
     lambda t: analyze.from_logits(L, Y, label_names=["a", "b", "a"]),
     "label_names: 'a' twice; each class needs its own name."),
    ('`from_logits`: `texts="abcde"` (a string, not a list)',
     lambda t: analyze.from_logits(L, Y, texts="abcde"),
     "texts: 'abcde'; expected a list of 5 strings."),
    ('`from_logits`: a text that is None',
     lambda t: analyze.from_logits(L, Y, texts=["a", None, "c", "d", "e"]),
     "texts[1] = None: not a string."),
    ('`from_logits`: `percentiles=()`',
     lambda t: analyze.from_logits(L, Y, percentiles=()),
     "percentiles: empty; give one at least, e.g. (1, 10, 50, 90, 99)."),
    ('`from_logits`: percentile 101',
     lambda t: analyze.from_logits(L, Y, percentiles=(50, 101)),
     "percentiles: 101 is not a number in [0, 100]."),
    ('`threshold_ids`: a label outside 0..num_classes-1',
     lambda t: analyze.threshold_ids([0, 1, 3], 2),
     "labels[2] = 3: outside 0..1 (num_classes=2)."),
    ("`threshold_ids`: string labels",
     lambda t: analyze.threshold_ids(["pos", "neg", "pos"], 2),
     "labels: strings (e.g. 'pos'); pass class ids 0..1 (np.unique(labels, "
     "return_inverse=True)[1] gives them)."),
    ("`load`: a .jsonl that is not UTF-8",
     lambda t: analyze.load(str(_write(t / "d.jsonl", b'\n{"id": "\xff"}\n'))),
     "{t}/d.jsonl:2: not valid UTF-8 text (byte 9 of the line)."),
    ('`threshold_ids`: one class',
     lambda t: analyze.threshold_ids([0, 0, 0], 1), "num_classes=1: must be an integer >= 2."),
    ('`threshold_ids`: a misspelt mode',
     lambda t: analyze.threshold_ids([0, 1, 1, 0], 2, mode="equals"),
     "mode='equals': did you mean 'equal'? use one of equal, random, capped."),
    ('`threshold_ids`: too few examples for a threshold set',
     lambda t: analyze.threshold_ids([0, 1], 2),
     "2 examples of 2 classes give no threshold samples (N // (c + 1) per run, two "
     "examples of a class at least); AUM's cut needs some."),
    ('`config`: an unknown detect field',
     lambda t: analyze.config(kk=3),
     "kk=3: not a config field; did you mean 'k'? see configs/ for the fields."),
    ("`config`: a detect value out of range",
     lambda t: analyze.config(k=0), "--config.detect.k=0: must be "),
    ('`load`: a missing file',
     lambda t: analyze.load(str(t / "missing.jsonl")), "{t}/missing.jsonl: not found."),
    ('`load`: a .jsonl with a negative id',
     lambda t: analyze.load(_jsonl(t / "d.jsonl", [_rec(1, 0, -1, 0)])),
     "{t}/d.jsonl:1: id=-1 is negative; runs, epochs, ids and labels count from 0."),
    ('`load`: a .jsonl label 1.5',
     lambda t: analyze.load(_jsonl(t / "d.jsonl", [_rec(1, 0, 0, 1.5)])),
     "{t}/d.jsonl:1: label=1.5 is not a whole number."),
    ('`load`: a .jsonl label "1" (a string)',
     lambda t: analyze.load(_jsonl(t / "d.jsonl", [_rec(1, 0, 0, "1")])),
     "{t}/d.jsonl:1: label='1' is not a whole number."),
    ('`load`: a .jsonl label that changes between epochs',
     lambda t: analyze.load(_jsonl(t / "d.jsonl", [_rec(1, 0, 0, 1), _rec(1, 1, 0, 2)])),
     "{t}/d.jsonl:2: id 0 has label 2 here but 1 at line 1 of run 1; an example keeps its "
     "label through a run."),
    ('`load`: a .jsonl record twice (a rerun appended)',
     lambda t: analyze.load(_jsonl(t / "d.jsonl", [_rec(1, 0, 0, 1), _rec(1, 0, 0, 1)])),
     "{t}/d.jsonl:2: run 1 epoch 0 id 0 again (a second recording appended to the same "
     "file? one file per training)."),
    ('`load`: a .jsonl label beyond the logits',
     lambda t: analyze.load(_jsonl(t / "d.jsonl", [_rec(1, 0, 0, 3)])),
     "{t}/d.jsonl:1: label=3 but 3 logits (labels 0..2)."),
    ("`load`: NaN in a .jsonl's logits",
     lambda t: analyze.load(_jsonl(t / "d.jsonl", [_rec(1, 0, 0, 0, (0.1, float("nan")))])),
     "{t}/d.jsonl:1: logits hold NaN, inf or values beyond +-1e+30 (a diverged training?)."),
    ('`load`: a .jsonl label that changes between runs (not to the fake class)',
     lambda t: analyze.load(_jsonl(t / "d.jsonl", [_rec(1, 0, 0, 0), _rec(2, 0, 0, 1)])),
     "{t}/d.jsonl: id 0 has label 0 in run 1 but 1 in run 2; only a threshold sample's "
     "label changes (to the fake class 2, the last column)."),
    ('`load`: the fake class in both runs',
     lambda t: analyze.load(_jsonl(t / "d.jsonl", [_rec(1, 0, 0, 2), _rec(2, 0, 0, 2),
                                                  _rec(1, 0, 1, 0), _rec(2, 0, 1, 2)])),
     "{t}/d.jsonl: id 0 is trained on the fake class (2, the last column) in both runs; a "
     "threshold sample keeps its label in the other."),
    ('`load`: an .npz with threshold_ids_run1 only',
     lambda t: analyze.load(_npz(t, logits_run1=L, logits_run2=L, labels=Y,
                                 threshold_ids_run1=[0])),
     "{t}/d.npz: threshold_ids_run1 without its pair; give both runs' threshold ids or "
     "neither."),
    ('`load`: an .npz label 0.5',
     lambda t: analyze.load(_npz(t, logits=L, labels=[0, 1, 0.5, 0, 1])),
     "{t}/d.npz: labels[2] = 0.5: not a whole number (1.0 counts as 1; 1.5, NaN and inf do "
     "not)."),
    ('`load`: an .npz with 3 labels for 5 examples',
     lambda t: analyze.load(_npz(t, logits=L, labels=Y[:3])),
     "{t}/d.npz: run 1's logits of shape (2, 5, 3) for 3 labels; expected [epochs, N, "
     "classes]."),
    ('`load`: a damaged .npz',
     lambda t: analyze.load(str(_write(t / "d.npz", b"PK\x03\x04broken"))),
     "{t}/d.npz: not a readable .npz (BadZipFile: File is not a zip file)."),
    ('`find_label_issues`: `num_epoch=1` (unknown override)',
     lambda t: _issues(t, num_epoch=1),
     "num_epoch=1: not a config field; did you mean 'num_epochs'? see configs/ for the "
     "fields."),
    ('`find_label_issues`: `num_epochs=0`',
     lambda t: _issues(t, num_epochs=0), "--config.num_epochs=0: must be "),
    ('`find_label_issues`: `num_epochs=1.5`',
     lambda t: _issues(t, num_epochs=1.5),
     "num_epochs=1.5: expected int, got float."),
    ('`find_label_issues`: `optim=3` (a block)',
     lambda t: _issues(t, optim=3),
     "optim=3: a block of settings; set its fields, e.g. optim."),
    ('`find_label_issues`: overriding `input.train_file`',
     lambda t: _issues(t, **{"input.train_file": "x.tsv"}),
     "input.train_file: set by this function from its arguments; leave it out."),
    ('`find_label_issues`: `arg="runlocl"`',
     lambda t: _issues(t, arg="runlocl"),
     "arg='model=minilm,seeds=0,folds=0,runlocl': Unknown config argument 'runlocl' in "
     "'model=minilm,seeds=0,folds=0,runlocl'; did you mean 'runlocal'? known: "),
    ('`find_label_issues`: `seeds=-1`',
     lambda t: _issues(t, seeds=-1), "seeds=-1: must be an integer >= 0."),
    ('`find_label_issues`: `folds=1`',
     lambda t: _issues(t, folds=1),
     "folds=1: cross-validation needs 2 folds at least (0: no fold models)."),
    ('`find_label_issues`: dev texts without dev labels',
     lambda t: _issues(t, dev_texts=["a"]),
     "dev_texts without dev_labels (or the reverse): give both, or neither (the first "
     "min(200, N) training rows monitor the runs)."),
    ('`find_label_issues`: a dev label not in training',
     lambda t: _issues(t, dev_texts=["a"], dev_labels=["neutral"]),
     "dev_labels: 'neutral' is not a training label (classes: neg, pos)."),
    ('`find_label_issues`: int dev labels, string labels',
     lambda t: _issues(t, dev_texts=["a"], dev_labels=[1]),
     "dev_labels are numbers, labels strings: give both alike."),
    ('`find_label_issues`: one class',
     lambda t: _issues(t, labels=["pos"] * 4),
     "labels: all 4 are 'pos'; AUM needs two classes at least."),
    ('`find_label_issues`: labels 1 and "1" mixed',
     lambda t: _issues(t, labels=[1, "1", 0, 0]),
     "labels[1] = '1': not a label (strings and numbers mixed; 1.0 counts as 1, 1.5, NaN, "
     "None and booleans do not)."),
    ('`find_label_issues`: a NaN label',
     lambda t: _issues(t, labels=[1.0, float("nan"), 0, 0]),
     "labels[1] = nan: not a label (give strings or whole numbers; 1.0 counts as 1, 1.5, "
     "NaN, None and booleans do not)."),
    ('`find_label_issues`: a label "nan" (a missing value)',
     lambda t: _issues(t, labels=["pos", "nan", "pos", "neg"]),
     "labels[1] = 'nan': looks like a missing value (pandas writes NaN so), not a class; "
     "fill it in or drop the row."),
    ("`find_label_issues`: one class written two ways",
     lambda t: _issues(t, labels=["pos", "neg", "Pos", "neg"]),
     "labels[2] = 'Pos' and labels[0] = 'pos' are the same word in another letter case; "
     "write each class one way."),
    ("`find_label_issues`: texts and labels swapped",
     lambda t: _issues(t, labels=[f"a review {i}" for i in range(24)], texts=["x"] * 24),
     "labels: 24 different labels in 24 rows (e.g. 'a review 0', 'a review 1'): are texts "
     "and labels swapped?"),
    ('`find_label_issues`: a label with a tab',
     lambda t: _issues(t, labels=["pos", "neg", "a\tb", "neg"]),
     "labels[2] = 'a\\tb': a label must be non-empty and hold no tab or newline."),
    ('`find_label_issues`: an empty text',
     lambda t: _issues(t, texts=["good", " ", "bad", "fine"]), "texts[1]: empty."),
    ("`find_relation_issues`: a span outside the sentence",
     lambda t: analyze.find_relation_issues([dict(REL, obj_end=7)], str(t / "w")),
     "examples[0] (id 'a'): obj span [2, 7] is not inside the sentence of 3 tokens (need 0 "
     "<= start <= end < length)."),
    ("`find_relation_issues`: an id twice",
     lambda t: analyze.find_relation_issues([REL, REL], str(t / "w")),
     "examples[1] (id 'a'): duplicate id (first at examples[0])."),
    ("`find_relation_issues`: a value JSON cannot hold",
     lambda t: analyze.find_relation_issues([dict(REL, note={1})], str(t / "w")),
     "examples[0] (id 'a'): a value that JSON cannot hold (a set)."),
    ('`find_relation_issues`: an example that is not a dict',
     lambda t: analyze.find_relation_issues([{"token": ["a"]}, "x"], str(t / "w")),
     "examples[1] = 'x': not a dict (TACRED's JSON schema)."),
]


def _write(path, data):
  path.write_bytes(data)
  return path


def _npz(t, **arrays):
  np.savez(t / "d.npz", **arrays)
  return str(t / "d.npz")


def _issues(t, texts=("good", "bad", "fine", "awful"), labels=("pos", "neg", "pos", "neg"),
            **kw):
  return analyze.find_label_issues(list(texts), list(labels), str(t / "w"), **kw)


@pytest.mark.parametrize("case", range(len(BAD_INPUTS)))
def test_each_bad_input_is_one_input_error(case, tmp_path):
  """Every entry point refuses bad input with its one sentence, before it writes."""
  _, call, message = BAD_INPUTS[case]
  with pytest.raises(errors.InputError) as e:
    call(tmp_path)
  assert str(e.value).startswith(message.replace("{t}", str(tmp_path))), str(e.value)
  assert not (tmp_path / "w").exists()  # Refused before any file is written.


def test_whole_floats_and_named_strings_are_accepted():
  """1.0 counts as 1 (as pandas gives a column with gaps); string labels map
  through label_names; log-probabilities give the logits' margins."""
  ints = analyze.from_logits(L, Y)
  assert ints.equals(analyze.from_logits(L, Y.astype(float)))
  named = analyze.from_logits(L, ["a", "b", "c", "a", "b"], label_names=["a", "b", "c"])
  assert (named["label"].to_numpy() == ints["label"].to_numpy()).all()
  logp = L - np.log(np.exp(L).sum(-1, keepdims=True))
  np.testing.assert_allclose(analyze.from_logits(logp, Y)["aum"], ints["aum"], atol=1e-5)
  cfg, rows = analyze.label_issues_config(["a", "b", "c"], [10, 2.0, 10], "/tmp/x",
                                          num_epochs=np.int64(2))
  assert cfg.input.labels == ("2", "10") and rows["train.tsv"][1] == ["10", "2", "10"]
  assert cfg.num_epochs == 2 and isinstance(cfg.num_epochs, int)
