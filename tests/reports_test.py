"""Reports that tell the truth: collapse flags, strict JSON, empty cells that say why.

Unit tests of the helpers and of the AUM / MLRC report writers on fabricated
inputs (no training).
"""
import ast
import csv
import dataclasses
import graphlib
import json
import math
import os

import numpy as np
import pytest

from configs import aum_cola
from noisy_meta.core import writers
from noisy_meta import metrics
from noisy_meta.reports import aum_markdown
from noisy_meta.reports import aum_report
from noisy_meta.reports import aum_summary


# ------------------------------------------------------------------ collapse

def test_collapse_one_class_names_it():
  reason = metrics.collapse([1, 1, 1, 1], [0, 1, 1, 0], names=["unacceptable", "acceptable"])
  assert reason == "predicts one class ('acceptable') for all 4 examples"


def test_collapse_majority_score_and_healthy_classifier():
  labels = np.array([1, 1, 1, 0])
  # Two classes predicted, but accuracy 0.75 = always predicting 1.
  assert "majority-class score" in metrics.collapse([1, 1, 0, 0], labels)
  assert metrics.collapse([1, 1, 1, 0], labels) is None  # Perfect.
  assert metrics.collapse([0, 1, 1, 1], labels) is None  # 0.5: below, not at, majority.


def test_collapse_with_a_score_function_on_label_strings():
  # SemEval-like: always "Other" is F1 0; a classifier scoring 0 has collapsed.
  f1 = lambda g, p: float(np.mean([a == b and a != "Other" for a, b in zip(g, p)]))
  gold = ["Other", "A", "B", "Other"]
  assert "majority-class score" in metrics.collapse(["B", "Other", "A", "Other"], gold,
                                                    score_fn=f1)
  assert metrics.collapse(["Other", "A", "A", "Other"], gold, score_fn=f1) is None
  assert "one class" in metrics.collapse(["A"] * 4, gold, score_fn=f1)


def test_mcc_of_one_class_stays_zero_and_is_flagged():
  labels, preds = [0, 1, 1, 0], [1, 1, 1, 1]
  assert metrics.matthews_corrcoef(labels, preds, 2) == 0.0
  assert metrics.collapse(preds, labels) is not None


# ------------------------------------------------------------------ strict JSON

def test_write_json_is_strict_and_says_why(tmp_path):
  path = tmp_path / "m.json"
  writers.write_json(str(path), {
      "mcc": float("nan"), "auroc": np.float32("inf"),
      "dev": {"f1": float("nan"), "f1_note": "undefined: one class predicted"},
      "pair": [1.0, float("nan")], "ok": np.float64(0.5), "arr": np.array([1, 2])})
  text = path.read_text()
  assert "NaN" not in text and "Infinity" not in text
  got = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c}"))
  assert got["mcc"] is None and got["mcc_note"] == "undefined: not a number"
  assert got["auroc"] is None and got["auroc_note"] == "undefined: infinite"
  assert got["dev"] == {"f1": None, "f1_note": "undefined: one class predicted"}
  assert got["pair"] == [1.0, None] and "pair_note" in got
  assert got["ok"] == 0.5 and got["arr"] == [1, 2]


def test_dumps_refuses_nothing_finite():
  assert writers.dumps({"a": 1, "b": [0.25]}) == '{"a": 1, "b": [0.25]}'


# ------------------------------------------------------------------ AUM report

@dataclasses.dataclass
class _Train:
  texts: list
  sources: list
  label_names: tuple


def _aum_inputs(seeds=(0,), noise=True, collapsed=True):
  """A fabricated finished pipeline: 40 examples, 2 classes."""
  config = aum_cola.get_config("runlocal" + (",noise=0.2" if noise else ""))
  config.clean.seeds = tuple(seeds)
  n = 40
  rng = np.random.default_rng(0)
  original = rng.integers(0, 2, n).astype(np.int32)
  noisy = (np.arange(n) % 5 == 0) if noise else None
  given = np.where(noisy, 1 - original, original) if noise else original.copy()
  used = rng.normal(size=n)
  used[noisy if noise else slice(0, 4)] -= 2.0
  thr_1, thr_2 = np.arange(0, 6), np.arange(6, 12)
  flags, thresholds = {}, {}
  for p in config.aum.percentiles:
    thresholds[p] = (float(np.percentile(used, p)), float(np.percentile(used, p) + 0.1))
    flags[p] = used < thresholds[p][0]
  dev = lambda acc, mcc: {"accuracy": acc, "mcc": mcc, "n": 20, "epoch": 1}
  bad = dict(collapsed=True, collapse_reason="predicts one class ('1') for all 20 examples")
  good = dict(collapsed=False, collapse_reason=None)
  results = {"none": {s: dict(dev=dev(0.7, 0.0), **(bad if collapsed else good))
                      for s in seeds}}
  for method in config.clean.methods:
    results[method] = {(p, s): dict(dev=dev(0.75, 0.3 + 0.1 * s), train_examples=30, **good)
                       for p in config.clean.percentiles for s in seeds}
  aum_runs = [dict(dev=dev(0.7, 0.0), **bad), dict(dev=dev(0.7, 0.1), **good)]
  neighbours = {"majority_share": np.full(n, 0.8), "agrees": np.arange(n) % 3 != 0}
  stats = {"confidence": rng.uniform(size=n), "variability": rng.uniform(0, 0.5, n),
           "correctness": rng.uniform(size=n)}
  train = _Train([f"sentence {i} | with a bar" for i in range(n)],
                 [f"train.tsv:{i + 1}" for i in range(n)], ("unacceptable", "acceptable"))
  summary = aum_summary.summarize(config, given, noisy, used, thr_1, thr_2, flags, thresholds,
                                  results, neighbours, aum_runs=aum_runs)
  return config, train, original, given, noisy, used, thr_1, thr_2, flags, stats, \
      neighbours, summary


def _write(tmp_path, inputs):
  config, train, original, given, noisy, used, thr_1, thr_2, flags, stats, nb, summary = inputs
  judged_in = np.where(np.arange(len(given)) < 6, 2, 1)
  aum_report.write_all(str(tmp_path), config, train, original, given, noisy, used, judged_in,
                       thr_1, thr_2, flags, stats, nb, summary)
  return (tmp_path / "report.md").read_text(), json.loads(
      (tmp_path / "summary.json").read_text(),
      parse_constant=lambda c: pytest.fail(f"bare {c}")), summary


def test_aum_report_marks_collapsed_runs_and_one_seed(tmp_path):
  report, summary, _ = _write(tmp_path, _aum_inputs(seeds=(0,)))
  assert summary["collapsed_runs"] == ["aum_run1", "clean/none_s0"]
  assert summary["runs"]["aum_run1"]["collapsed"] is True
  assert summary["dev"]["none"]["mcc"] == [0.0, None] and summary["dev"]["none"]["n"] == 1
  assert "**Collapsed classifiers: 2 of" in report
  assert "0.00 (n=1) collapsed" in report  # Unfiltered MCC: one seed, collapsed.
  assert "± 0.00" not in report
  assert "| aum_run1 | 0.00 | 70.00 | **yes**: predicts one class" in report
  assert "| clean/sieve_p50_s0 | 30.00 | 75.00 | no |" in report
  # CoLA: MCC first; percentiles without a retrain say why.
  assert "| percentile | thresholds (run 1, run 2) | flagged | unfiltered MCC |" in report
  assert "not run: p10 not in clean.percentiles" in report
  assert "## Table 5" in report and "| 50 | " in report
  for name in ("fig1_data_map.png", "fig2_percentile_vs_accuracy.png", "fig3_aum_histogram.png"):
    assert f"![{name}]({name})" in report and os.path.getsize(tmp_path / name) > 1000


def test_aum_report_several_seeds_show_n(tmp_path):
  report, summary, _ = _write(tmp_path, _aum_inputs(seeds=(0, 1), collapsed=False))
  s = summary["percentiles"]["50"]["sieve"]
  assert s["n"] == 2 and s["mcc"][1] == pytest.approx(np.std([0.3, 0.4], ddof=1))
  assert "35.00 ± 7.07 (n=2)" in report
  assert "Collapsed classifiers: 2" not in report and summary["collapsed_runs"] == ["aum_run1"]


def test_aum_report_seeds_0_and_no_noise(tmp_path):
  report, summary, _ = _write(tmp_path, _aum_inputs(seeds=(), noise=False, collapsed=False))
  assert summary["dev"]["none"]["note"] == "not run: seeds=0"
  assert summary["dev"]["none"]["mcc"] == [None, None]
  assert "not run: seeds=0" in report
  assert not os.path.exists(tmp_path / "fig2_percentile_vs_accuracy.png")
  assert "`fig2_percentile_vs_accuracy.png` not drawn: no retrains in this run (seeds=0)" in report
  assert "—: no noise injected" in report
  rows = list(csv.DictReader(open(tmp_path / "examples.csv", encoding="utf-8")))
  assert all(r["noisy"] == "" and r["original_label"] == "" and r["original_label_name"] == ""
             for r in rows)
  assert {r["label_name"] for r in rows} <= {"unacceptable", "acceptable"}
  assert all(r["label_name"] == ("unacceptable", "acceptable")[int(r["label"])] for r in rows)


def test_examples_csv_with_noise_has_indices_and_names(tmp_path):
  inputs = _aum_inputs()
  _write(tmp_path, inputs)
  original, given, noisy = inputs[2], inputs[3], inputs[4]
  rows = list(csv.DictReader(open(tmp_path / "examples.csv", encoding="utf-8")))
  assert [int(r["noisy"]) for r in rows] == noisy.astype(int).tolist()
  assert [int(r["original_label"]) for r in rows] == original.tolist()
  assert [int(r["label"]) for r in rows] == given.tolist()
  assert rows[0]["original_label_name"] in ("unacceptable", "acceptable")


def test_aum_summary_json_is_strict_with_undefined_scores(tmp_path):
  inputs = list(_aum_inputs())
  inputs[-1]["percentiles"]["50"]["detection"]["auroc"] = float("nan")
  text_report, summary, _ = _write(tmp_path, inputs)
  d = summary["percentiles"]["50"]["detection"]
  assert d["auroc"] is None and d["auroc_note"] == "undefined: not a number"
  assert "undefined" in text_report


def test_relation_lines_by_hand():
  names = ("Other", "A(e1,e2)", "A(e2,e1)")
  given = np.array([0, 0, 0, 1, 1, 2])
  flags = np.array([1, 0, 0, 1, 1, 0], bool)
  other = np.array([1, 1, 1, 2, 2, 1])
  noisy = np.array([1, 0, 0, 0, 1, 1], bool)
  lines = aum_markdown.relation_lines(names, given, flags, 99, other, noisy)
  # Other: 3 examples, 1 flagged (noisy): precision 1, recall 1. A(e1,e2): 2
  # flagged, 1 noisy: precision 0.5, recall 1. A(e2,e1): none flagged, 1 noisy.
  assert "| Other | 3 | 1 | 0.333 | 1 | 1.000 | 1.000 |" in lines
  assert "| A(e1,e2) | 2 | 2 | 1.000 | 1 | 0.500 | 1.000 |" in lines
  assert "| A(e2,e1) | 1 | 0 | 0.000 | 1 | — | 0.000 |" in lines
  assert "| A(e1,e2) | A(e2,e1) | 2 |" in lines and "| Other | A(e1,e2) | 1 |" in lines


def test_select_percentile_is_chosen_on_dev_never_test():
  """The best mean dev score wins (ties: the lower percentile); test rides along."""
  st = lambda dev, test, n=3: {"n": n, "collapsed": 0, "dev_best_f1": [dev, 0.01],
                               "test_f1": [test, 0.02]}
  summary = {"metric": "dev_best_f1", "percentiles": {
      "10": {"sieve": st(0.70, 0.90), "flip": st(0.60, 0.50)},
      "50": {"sieve": st(0.75, 0.60), "flip": st(0.60, 0.70)},
      "99": {"sieve": st(0.74, 0.80), "flip": {"n": 0, "collapsed": 0}}}}
  summary["dev"] = {"none": st(0.65, 0.55)}
  sel = aum_summary.select_percentile(summary, ("sieve", "flip", "none"))
  assert sel["sieve"] == {"percentile": 50, "dev": [0.75, 0.01], "test": [0.60, 0.02],
                          "n": 3, "collapsed": 0, "beats_unfiltered": True}
  assert sel["flip"]["beats_unfiltered"] is False  # 0.60 < 0.65 on dev.
  assert sel["flip"]["percentile"] == 10 and "none" not in sel  # Tie: p10; p99 not run.
  lines = aum_markdown.selected_lines(dict(summary, selected=sel))
  assert lines[1] == ("- sieve: p50, dev F1 (official, best-dev epoch) 75.00 ± 1.00 (n=3); "
                      "test F1 (official, best-dev epoch) 60.00 ± 2.00 (n=3) (unfiltered "
                      "55.00 ± 2.00 (n=3)).")
  assert lines[2].endswith("below the unfiltered retrains on dev: dev says not to clean.")
  # Text tasks: their headline metric, no test.
  text = {"metric": "accuracy", "percentiles": {"50": {"sieve": {"n": 1, "collapsed": 0,
                                                                "accuracy": [0.8, None]}}}}
  got = aum_summary.select_percentile(text, ("sieve",))["sieve"]
  assert got["test"] is None and got["beats_unfiltered"] is None  # No unfiltered run.


# ------------------------------------------------------------------ module graph

def test_report_modules_import_one_another_as_a_dag():
  """No circle among noisy_meta/reports (lazy imports in functions count), and no
  report imports the explorer: the jobs call it after the reports instead."""
  folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "noisy_meta", "reports")
  graph = {}
  for name in sorted(os.listdir(folder)):
    if not name.endswith(".py"):
      continue
    with open(os.path.join(folder, name), encoding="utf-8") as f:
      tree = ast.parse(f.read())
    deps = set()
    for node in ast.walk(tree):
      if isinstance(node, ast.ImportFrom) and node.module == "noisy_meta.reports":
        deps |= {a.name for a in node.names}
      elif isinstance(node, (ast.Import, ast.ImportFrom)):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        deps |= {m.split(".")[2] for m in modules
                 if m and m.startswith("noisy_meta.reports.")}
    graph[name[:-3]] = deps
  assert {"aum_report", "explorer", "mlrc_report"} <= set(graph)
  list(graphlib.TopologicalSorter(graph).static_order())  # CycleError on a circle.
  assert [m for m, deps in graph.items() if "explorer" in deps] == []
