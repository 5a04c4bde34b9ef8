"""Learners x methods over one loop: AUM on PA-LSTM, MLRC on the text classifier."""
import csv
import json
import os
import pathlib
import re

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# What only the loop (noisy_meta/core/loop.py) may call: checkpoints, the
# metrics writer, the divergence guard, NaN injection.
LOOP_ONLY = ("checkpoint.Checkpointer(", "writers.MetricWriter(", "stop_on_divergence(",
             "inject_nan(")


def test_the_loop_exists_once():
  """No trainer or method re-implements checkpoint / log / guard around steps."""
  found = []
  for path in sorted((ROOT / "noisy_meta").rglob("*.py")):
    rel = path.relative_to(ROOT).as_posix()
    if rel == "noisy_meta/core/loop.py":
      continue
    for i, line in enumerate(path.read_text().splitlines(), 1):
      if any(s in line for s in LOOP_ONLY) and not re.match(r"\s*def ", line):
        found.append(f"{rel}:{i}: {line.strip()}")
  assert not found, "\n".join(found)
  loop = (ROOT / "noisy_meta" / "core" / "loop.py").read_text()
  assert all(s in loop for s in LOOP_ONLY)


@pytest.mark.job
def test_mlrc_runs_on_the_text_classifier(data_dir, tiny_bert_dir, tmp_path):
  from configs import mlrc_text  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import mlrc as mlrc_trainer  # pylint: disable=g-import-not-at-top
  config = mlrc_text.get_config("runlocal,fraction=0.5")
  config.model.path = tiny_bert_dir
  config.input.data_dir = data_dir
  config.mlrc.runs = 1
  out = mlrc_trainer.train_and_evaluate(config, str(tmp_path))
  run = out["runs"][0]
  assert run["n_train"] == 128 and run["scored_on"] == "dev"  # Half of 256 sentences.
  for name in ("baseline", "mlrc"):
    m = json.load(open(tmp_path / "frac0.5" / "run0" / name / "metrics.json"))
    assert m["dev"]["mcc"] == run[name] and m["train_examples"] == 128
  meta_log = [json.loads(l) for l in open(tmp_path / "frac0.5" / "run0" / "meta" /
                                          "metrics.jsonl")]
  assert meta_log[-1]["step"] == config.meta.iterations
  assert all(np.isfinite(r["meta/loss"]) for r in meta_log)
  report = open(tmp_path / "report.md").read()
  assert report.startswith("# MLRC vs supervised") and "Final dev MCC" in report
  assert "F1" not in report and "Per relation" not in report  # Scored by dev MCC.


def aum_semeval_names(workdir):
  """Label names by index, from a relation AUM job's examples.csv."""
  names = {}
  with open(os.path.join(workdir, "examples.csv"), newline="") as f:
    for r in csv.DictReader(f):
      names[int(r["label"])] = r["label_name"]
      if r["original_label"]:
        names[int(r["original_label"])] = r["original_label_name"]
  return names


@pytest.mark.job
def test_aum_runs_on_pa_lstm(data_dir, tmp_path):
  pytest.importorskip("spacy")
  from configs import aum_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import aum  # pylint: disable=g-import-not-at-top
  config = aum_semeval.get_config("runlocal,train_size=400")
  config.input.data_dir = data_dir
  config.aum.threshold_mode = "random"  # 400 // 20 per run, whatever the class.
  config.model.hidden = config.model.attn_dim = 32  # Small and quick.
  config.input.length_bucket = 128  # One batch shape: one compile per step.
  config.clean.methods = ("sieve",)
  # The percentile sweep's sieve only: no detector's sieve, no clean-label
  # ceiling (tests/repair_test.py runs those on the relation learners).
  config.clean.detector, config.clean.ceiling = "aum", False
  config.noise.kind = "direction=0.1,negative=0.05"  # Relation noise, a mix.
  summary = aum.train_and_evaluate(config, str(tmp_path))
  n = config.input.train_size
  with np.load(tmp_path / "noise.npz") as z:
    names = aum_semeval_names(tmp_path)
    swapped = [names[a].split("(")[0] == names[b].split("(")[0] != "Other"
               for a, b in zip(z["original"][z["noisy"]], z["given"][z["noisy"]])]
    to_other = [names[b] == "Other" for b in z["given"][z["noisy"]]]
    assert z["noisy"].sum() == round(0.1 * n) + round(0.05 * (z["original"] != 0).sum())
    assert all(s or o for s, o in zip(swapped, to_other)) and sum(swapped) == round(0.1 * n)
    assert summary["noise_rate"] == pytest.approx(float(z["noisy"].mean()))
  # Relations are compared by the official F1 of the best-dev epoch.
  assert summary["examples"] == n and summary["metric"] == "dev_best_f1"
  for run in ("aum_run1", "aum_run2"):
    with np.load(tmp_path / run / "dynamics.npz") as z:
      # Every example measured once per epoch; 19 real classes + the fake one.
      assert z["count"].tolist() == [config.num_epochs] * n
      assert 0 < len(z["threshold_idx"]) <= n // 20
      assert np.isfinite(z["aum"]).all()
    m = json.load(open(tmp_path / run / "metrics.json"))
    assert m["task"] == "semeval" and m["model"] == "pa_lstm" and m["train_examples"] == n
  with open(tmp_path / "examples.csv", newline="") as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == n and all("[S " in r["text"] and "[O " in r["text"] for r in rows)
  flagged = sum(int(r["flagged_p50"]) for r in rows)
  assert summary["percentiles"]["50"]["flagged"] == flagged
  sieved = json.load(open(tmp_path / "clean" / "sieve_p50_s0" / "metrics.json"))
  assert sieved["train_examples"] == n - flagged
  # Every retrain scores its best-dev model on test (the official scorer):
  # the summary's unfiltered and chosen-percentile scores are those runs'.
  base = json.load(open(tmp_path / "clean" / "none_s0" / "metrics.json"))
  for m in (base, sieved):
    assert 0 <= m["test_f1"] <= 1 and m["dev_best_f1"] >= m["dev"]["f1"] - 1e-6
  assert summary["dev"]["none"]["test_f1"] == [base["test_f1"], None]
  assert summary["selected"]["sieve"]["percentile"] == 50  # The only candidate.
  assert summary["selected"]["sieve"]["test"] == [sieved["test_f1"], None]
  assert os.path.getsize(tmp_path / "fig3_aum_histogram.png") > 1000
  report = open(tmp_path / "report.md").read()
  assert "## Relations: flags at the 99th percentile" in report
  assert "| flagged label | suggested label | examples |" in report
  assert "Percentile chosen on dev" in report and "- sieve: p50" in report
  assert report.count("| [S ") + report.count(" [S ") >= 30  # The 30 lowest, entities marked.
