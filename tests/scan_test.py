"""The fast first scan (noisy_meta/trainers/scan.py): its configs' rules, its
detectors on a synthetic frozen view, a tiny scan of real SST-2 with
injected noise (the AUM job's artifacts), and a bad config as one line."""
import csv
import importlib
import json
import os
import subprocess
import sys

import ml_collections
import numpy as np
import pytest

from noisy_meta import aum_lib
from noisy_meta import validate
from noisy_meta.core import errors
from noisy_meta.trainers import scan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data")
CONFIGS = [("scan_sst2", ""), ("scan_sst2", "runlocal,noise=0.2"), ("scan_trec", ""), ("scan_cola", ""),
           ("scan_tsv", "runlocal"), ("scan_semeval", ""), ("scan_semeval", "model=pa_lstm"),
           ("scan", "noise=0.4,noise_kind=class_conditional")]


def _config(name, arg):
  return importlib.import_module(f"configs.{name}").get_config(arg)


def _leaves(block, declared, prefix=""):
  for key, value in block.items():
    name = prefix + key
    if isinstance(value, ml_collections.ConfigDict) and name not in declared:
      yield from _leaves(value, declared, name + ".")
    else:
      yield name


@pytest.mark.parametrize("name,arg", CONFIGS)
def test_every_scan_field_has_a_rule_that_takes_the_default(name, arg):
  c = _config(name, arg)
  family = validate.family(c)
  assert family.__name__ == "configs.scan" and c.trainer == "scan"
  declared = family.rules_of(c)
  fields = list(_leaves(c, declared))
  assert [f for f in fields if f not in declared] == []
  for f in fields:
    rule, value = declared[f], validate.lookup(c, f)
    assert rule.problem(value) is None, (f, value)
    assert rule.problem(rule.bad) is not None, (f, rule.bad)
  validate.check(c)
  assert "train_size" not in c


def test_relation_scan_probes_the_transformer_encoder():
  c = _config("scan_semeval", "")
  assert c.learner == "relation_transformer" and c.input.dataset == "semeval"
  assert _config("scan_sst2", "runlocal").input.train_size == 256


@pytest.mark.parametrize("field,value,message", [
    ("scan.detector", "aum", "--config.scan.detector=aum: use one of probe, ensemble, knn, "
     "simifeat."),
    ("detect.ensemble", ("cleanlab",), "--config.detect.ensemble=(cleanlab,): "),
    ("noise.rate", 1.0, "--config.noise.rate=1.0: a noise rate must be in [0, 1)"),
    ("scan.sample_rows", 10, "--config.scan.sample_rows=10: must be an integer in [100, "),
])
def test_bad_scan_settings_are_one_line(field, value, message):
  c = _config("scan_sst2", "")
  block, key = field.split(".")
  c[block][key] = value
  with pytest.raises(errors.InputError) as e:
    validate.check(c)
  assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_bad_config_from_the_command_line_is_one_line(tmp_path):
  cmd = [sys.executable, "-m", "noisy_meta.main", "--config=configs/scan_sst2.py:runlocal",
         f"--workdir={tmp_path / 'w'}", "--config.scan.detector=aum"]
  r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
  assert r.returncode == 2
  last = r.stderr.strip().splitlines()[-1]
  assert last.startswith("error: --config.scan.detector=aum: use one of"), r.stderr[-500:]
  assert not os.path.exists(tmp_path / "w" / "examples.csv")


def _clusters(n=400, c=3, d=24, rate=0.25, seed=0):
  """Unit vectors around c class centres, labels flipped at `rate`."""
  rng = np.random.default_rng(seed)
  true = rng.integers(0, c, n)
  centres = rng.normal(size=(c, d)) * 2.0
  x = centres[true] + rng.normal(size=(n, d))
  x /= np.linalg.norm(x, axis=1, keepdims=True)
  flip = rng.random(n) < rate
  given = np.where(flip, (true + rng.integers(1, c, n)) % c, true)
  return x.astype(np.float32), given.astype(np.int32), flip


def test_detectors_find_flipped_labels_and_the_ensemble_cuts_at_the_probe_count():
  emb, given, noisy = _clusters()
  config = _config("scan_sst2", "")
  config.detect.simifeat_rounds = 2
  scores, flags, notes, _, probs, votes = scan.score(config, emb, [emb], given, 3)
  assert set(scores) == {"knn", "simifeat", "probe", "prior", "ensemble"}
  assert set(flags) == set(scan.CUTS)
  assert aum_lib.auroc(scores["probe"], noisy) > 0.9
  assert aum_lib.auroc(scores["ensemble"], noisy) > 0.9
  assert flags["ensemble"].sum() == flags["probe"].sum() == notes["probe_count"] > 0
  assert notes["ensemble_parts"] == ["probe", "simifeat"]
  np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
  np.testing.assert_allclose(votes.sum(1), 1.0, atol=1e-9)
  # Above scan.sample_rows the probe's strength comes from a sample: scores move little.
  config.scan.sample_rows = 150
  sampled = scan.score(config, emb, [emb], given, 3)[0]
  assert abs(aum_lib.auroc(sampled["probe"], noisy) - aum_lib.auroc(scores["probe"], noisy)) < 0.05


@pytest.mark.job
@pytest.mark.skipif(not os.path.isdir(os.path.join(DATA, "sst2")),
                    reason="real SST-2 under ../shared/data is absent")
def test_tiny_scan_of_real_sst2_writes_the_aum_artifacts_and_scores_the_noise(tmp_path,
                                                                              monkeypatch):
  monkeypatch.setenv("NOISY_META_DATA_DIR", DATA)
  config = _config("scan_sst2", "train_size=200,noise=0.3")
  config.detect.simifeat_rounds = 2
  config.detect.probe_folds = 5
  validate.check(config)
  workdir = str(tmp_path / "scan")
  summary = scan.train_and_evaluate(config, workdir)
  for name in ("examples.csv", "summary.json", "report.md", "explorer.html", "noise.npz",
               "detector_seconds.json", "config.json"):
    assert os.path.exists(os.path.join(workdir, name)), name
  with open(os.path.join(workdir, "examples.csv"), newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 200 and summary["examples"] == 200
  noisy = np.array([r["noisy"] == "1" for r in rows])
  assert noisy.sum() == summary["noisy"] == 60
  assert all(r["aum"] == "nan" and r["judged_in_run"] == "" for r in rows)  # No AUM.
  assert all(r["source"].startswith(os.path.join(DATA, "sst2")) or "train.tsv" in r["source"]
             for r in rows)
  flagged = np.array([r["flagged"] == "1" for r in rows])
  assert flagged.sum() == summary["flagged"] == summary["detectors"]["notes"]["probe_count"]
  # Detection scored against the injected noise, from the CSV as from the summary.
  table = summary["detectors"]["table"]
  probe = np.array([float(r["score_probe"]) for r in rows])
  assert table["probe"]["auroc"] == pytest.approx(aum_lib.auroc(probe, noisy))
  assert table["probe"]["auroc"] > 0.65 and table["ensemble"]["auroc"] > 0.6
  with open(os.path.join(workdir, "summary.json"), encoding="utf-8") as f:
    assert json.load(f)["detectors"]["chosen"] == "probe"
  with open(os.path.join(workdir, "report.md"), encoding="utf-8") as f:
    report = f.read()
  assert "| probe |" in report and "AUROC" in report and "60 labels" in report
  with open(os.path.join(workdir, "explorer.html"), encoding="utf-8") as f:
    page = f.read()
  assert "explorer-data" in page and "no AUM in a scan" in page


def test_scan_vs_full_reads_the_full_jobs_tables_and_ranks_averages(tmp_path):
  from bench.research import scan_vs_full  # pylint: disable=g-import-not-at-top
  page = tmp_path / "d.md"
  page.write_text("### sst2 uniform 0.2\n\n| detector | AUROC | AP | F1 | best | flagged | s |\n"
                  "|---|---|---|---|---|---|---|\n| ensemble | 0.891 ± 0.005 | 0.726 ± 0.010 | "
                  "0.6 | 0.7 | 252 | 383 ± 69 |\n| knn | 0.7 | 0.4 | — | — | 1 | 2 |\n\n## Other\n"
                  "| probe | 0.1 | 0.1 | — | — | 1 | 2 |\n")
  assert scan_vs_full.full_tables(str(page)) == {
      "sst2 uniform 0.2": {"ensemble": ("0.891 ± 0.005", "0.726 ± 0.010", "383 ± 69")}}
  cell = tmp_path / "cell"
  cell.mkdir()
  noisy = [1, 1, 0, 0, 0, 0]
  with open(cell / "examples.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["noisy", "score_probe", "score_knn", "score_simifeat"])
    for i, y in enumerate(noisy):  # probe ranks perfectly, knn backwards.
      w.writerow([y, 1.0 - i / 10, i / 10, 0.5])
  v = scan_vs_full.variants([str(cell)])
  assert v["probe"] == [1.0, 1.0] and v["knn"][0] == 0.0
  assert v["probe+knn"][0] == pytest.approx(0.5)
