"""noisy_meta.analyze: AUM and the report from logits of any framework."""
import csv
import json
import os

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
  with pytest.raises(errors.InputError, match=r"bad.jsonl:2: expected a JSON object"):
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
  with pytest.raises(errors.InputError, match="labels must lie in 0..2"):
    analyze.from_logits(logits, np.full(5, 3))
  with pytest.raises(errors.InputError, match="threshold-sample ids must be integers in 0..4"):
    analyze.from_logits([logits, logits], np.zeros(5, int), [np.array([0]), np.array([7])])
  with pytest.raises(errors.InputError, match="not a finished AUM workdir"):
    analyze.load(str(tmp_path))


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


def test_find_label_issues_in_process(tmp_path, data_dir, tiny_bert_dir):
  """Texts and string labels in, the AUM job's table out (lowest AUM first);
  a second call reads the finished job back."""
  with open(os.path.join(data_dir, "sst2", "train.tsv"), encoding="utf-8") as f:
    rows = [line.rstrip("\n").split("\t") for line in f][1:81]
  texts = [r[0] for r in rows]
  labels = ["pos" if r[1] == "1" else "neg" for r in rows]
  kw = dict(model=tiny_bert_dir, arg="runlocal", num_epochs=2,
            **{"input.batch_size": 16, "input.buckets": (32, 64), "optim.lr": 1e-3,
               "input.cache_dir": str(tmp_path / "cache"), "detect.frozen": False})
  table = analyze.find_label_issues(texts, labels, str(tmp_path / "w"), **kw)
  assert len(table) == 80 and set(table["label_name"]) == {"neg", "pos"}
  assert (np.diff(table["aum"].to_numpy()) >= 0).all()
  assert {"flagged_p99", "score_aum", "flag_aum"} <= set(table.columns)
  assert os.path.exists(tmp_path / "w" / "job" / "report.md")
  again = analyze.find_label_issues(texts, labels, str(tmp_path / "w"), **kw)
  assert again.equals(table)
  with pytest.raises(errors.InputError, match="3 texts and 2 labels"):
    analyze.find_label_issues(["a", "b", "c"], ["x", "y"], str(tmp_path / "bad"))


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
  with pytest.raises(errors.InputError, match=r"train.json#0 .*"):
    analyze.find_relation_issues(bad, str(tmp_path / "bad"), **kw)
