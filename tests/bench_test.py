"""The benches' own logic: their command line and output, the profile's op
classes, run_all's checks, the research benchmarks' aggregation.

The benches themselves are timed runs (python -m bench.tools.run_all), never tests.
"""
import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys

from absl import flags
import jax
import jax.numpy as jnp
import pytest

import bench
from bench import cli
from bench import output
from bench.research import aum_epochs
from bench.research import detector_variants
from bench.research import detectors as bench_detectors
from bench.research import mlrc_learners
from bench.speed import profile_step
from bench.tools import run_all

GROUPS = ("speed", "parity", "research", "tools", "examples")


def _bench_modules():
  """Every module under bench/'s groups: 'bench.<group>.<name>'."""
  return [f"bench.{g}.{m.name}" for g in GROUPS
          for m in pkgutil.iter_modules([os.path.join(bench.ROOT, "bench", g)])]


def test_every_bench_is_a_module_of_a_group_with_the_one_command_line():
  """bench/ holds packages only; no bench defines a flag at import (absl's
  global FLAGS stays as it was), and each says what it does on --help."""
  top = sorted(f for f in os.listdir(os.path.join(bench.ROOT, "bench"))
               if not f.startswith((".", "__pycache__")))
  assert top == sorted(["__init__.py", "cli.py", "output.py", *GROUPS]), top
  before = set(flags.FLAGS)
  names = _bench_modules()
  assert len(names) >= 20 and "bench.tools.golden" in names
  pytest.importorskip("torch")
  for name in names:
    module = importlib.import_module(name)
    if name == "bench.parity.torch_models":  # The PyTorch side, no command line.
      continue
    assert hasattr(module, "main") and hasattr(module, "define_flags"), name
  assert set(flags.FLAGS) == before


def test_cli_flags_are_per_call_and_errors_are_one_line(capsys):
  """Two benches both taking --out parse side by side; --help prints the
  docstring and the flags; a missing or unknown flag or a stray word is one line."""
  def define(fv):
    flags.DEFINE_string("out", None, "Where.", flag_values=fv)
    flags.DEFINE_bool("quick", False, "Smoke run.", flag_values=fv)
    flags.DEFINE_list("seeds", ["0"], "Seeds.", flag_values=fv)
  a = cli.parse(["--out=a", "--quick", "--seeds=1,2"], define, "Doc.", required=("out",))
  b = cli.parse(["--out=b", "--noquick"], define, "Doc.")
  assert (a.out, a.quick, a.seeds, b.out, b.quick, b.seeds) == ("a", True, ["1", "2"], "b",
                                                                False, ["0"])
  with pytest.raises(SystemExit) as e:
    cli.parse(["--help"], define, "The bench's first line.")
  assert e.value.code == 0
  printed = capsys.readouterr().out
  assert printed.startswith("The bench's first line.") and "--seeds (default: '0'): Seeds." in printed
  for argv, message in ((["--quick"], "error: --out is required"),
                        (["--out=x", "--nope=1"], "error: Unknown command line flag 'nope'"),
                        (["--out=x", "run"], "error: 'run' is not a flag")):
    with pytest.raises(SystemExit, match=message) as e:
      cli.parse(argv, define, "Doc.", required=("out",))
    assert "\n" not in str(e.value.code)


@pytest.mark.filterwarnings("ignore:the load_module:DeprecationWarning")  # ml_collections'.
def test_cli_config_flag_takes_overrides_and_names_a_bad_file():
  args = cli.parse(["--config=configs/aum_sst2.py:train_size=64", "--config.seed=3"],
                   lambda fv: None, "Doc.", config="An AUM config.")
  assert args.config.seed == 3 and args.config.input.train_size == 64
  with pytest.raises(SystemExit, match="error: --config=configs/nope.py: no such file"):
    cli.parse(["--config=configs/nope.py"], lambda fv: None, "Doc.", config="An AUM config.")
  with pytest.raises(SystemExit, match="error: --config is required"):
    cli.parse([], lambda fv: None, "Doc.", config="An AUM config.")


def test_bench_runs_as_a_module_and_a_missing_flag_is_one_line():
  """From the repository root, as the docs say: `python -m bench.<group>.<name>`."""
  res = subprocess.run([sys.executable, "-m", "bench.tools.golden", "--dir=/tmp/x"],
                       cwd=bench.ROOT, capture_output=True, text=True, timeout=120, check=False)
  assert res.returncode == 1
  assert res.stderr.strip().splitlines() == [
      "error: --mode is required (--help lists the flags)."]


def test_output_stamp_write_and_last_line(tmp_path, capsys):
  line = output.stamp("jax")
  assert re.match(r"Machine: .+, \d+ cores \(load average [\d., ]+\); jax [\d.]+ \(cpu\); "
                  r"Python [\d.]+; \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$", line), line
  output.publish("# Title\n\n| a |\n", str(tmp_path / "sub" / "r.md"))
  assert (tmp_path / "sub" / "r.md").read_text() == "# Title\n\n| a |\n"
  out = capsys.readouterr().out.splitlines()
  assert out[0] == "# Title" and out[-1] == f"done: {tmp_path / 'sub' / 'r.md'}"
  path = output.write(tmp_path / "r.json", {"b": float("nan"), "a": 1})
  assert json.loads(open(path).read()) == {"a": 1, "b": None, "b_note": "undefined: not a number"}


def test_profile_classes_a_traced_step_by_its_hlo():
  def step(w, x, key):
    keep = jax.random.bernoulli(key, 0.9, x.shape)
    h = jnp.where(keep, x, 0.0) @ w
    return w - 0.1 * (h.sum(0)[None, :] * jax.nn.softmax(h, -1).mean()), h.max()

  w, x = jnp.ones((64, 64)), jnp.ones((32, 64))
  jitted = jax.jit(step)
  instrs, comps = profile_step.parse_hlo(jitted.lower(w, x, jax.random.key(0)).compile()
                                         .as_text())
  classes = {profile_step.op_class(n, instrs, comps) for n in instrs}
  assert {"matmul (dot)", "reductions"} <= classes
  assert profile_step.op_class("no_such_op", instrs, comps) == "other"
  per, count, wall = profile_step.breakdown(jitted, (w, x, jax.random.key(0)), steps=2)
  assert per["matmul (dot)"] > 0 and count["matmul (dot)"] >= 1 and wall > 0
  assert set(per) <= set(profile_step.CLASSES)
  table = profile_step.table("toy", per, count, wall)
  assert "| matmul (dot) |" in table and "ops run" in table


def test_run_all_refuses_an_unknown_bench_and_names_modules(tmp_path):
  with pytest.raises(SystemExit, match="unknown bench nope"):
    run_all.main(["--only=step,nope"])
  modules = {name for name in _bench_modules()}
  for key, _, cmd, _, _, _ in run_all.BENCHES:
    assert cmd[0] == "-m" and cmd[1] in modules, key
  page = tmp_path / "b.md"
  page.write_text("# Benchmarks\n\nhead\n\n## A\n\nx\n\n## B\n\ny\n")
  assert run_all.old_sections(str(page)) == [("A", "## A\n\nx\n"), ("B", "## B\n\ny\n")]


def test_detector_bench_aggregates_cells_and_checks_the_goals(tmp_path):
  grid = bench_detectors.load_grid("configs/detectors.py:cpu,noise_seeds=2,datasets=sst2+trec")
  cell_list = bench_detectors.cells(grid, {"sst2": 2, "trec": 6})
  names = [c[0] for c in cell_list]
  # Binary SST-2 runs uniform noise only; first seed first; the originals last.
  assert not any(n.startswith("sst2_class_conditional") for n in names)
  assert names.index("trec_class_conditional_0.4_s100") < names.index("sst2_uniform_0.2_s101")
  assert names[-2:] == ["sst2_clean", "trec_clean"]
  for i, (name, _, _, rate, _) in enumerate(cell_list):
    good = 0.9 if "s100" in name else 0.8
    table = {"ensemble": dict(auroc=good, ap=good - 0.1, auto_f1=0.5, best_f1=0.62,
                              flagged=10, seconds=5.0),
             "aum": dict(auroc=good - 0.05, ap=good - 0.2, auto_f1=0.5, best_f1=0.6,
                         flagged=12, seconds=4.0)}
    os.makedirs(tmp_path / "cells" / name)
    (tmp_path / "cells" / name / "summary.json").write_text(json.dumps(
        {"examples": 100, "detectors": {"table": table, "notes": {}}}))
  agg, clean = bench_detectors.aggregate(grid, cell_list, str(tmp_path))
  m = agg["sst2 uniform 0.2"]["ensemble"]["auroc"]
  assert m[0] == pytest.approx(0.85) and m[2] == 2 and m[1] == pytest.approx(0.0707, abs=1e-3)
  assert clean["trec"]["ensemble"]["flagged"] == 10
  checks = bench_detectors.goal_checks(agg, "ensemble")
  assert checks["peers"]["aum"]["met"] and checks["peers"]["aum"]["auroc_gain"] == pytest.approx(0.05)
  assert checks["auto_vs_best_20"]["trec uniform 0.2"]["ratio"] == pytest.approx(0.5 / 0.62)
  assert not checks["auto_vs_best_20"]["trec uniform 0.2"]["met"]
  text = bench_detectors.markdown(grid, agg, clean, checks, {}, 1.0)
  assert "| ensemble (candidate) | 0.850 |" in text and "**not met**" in text
  # --only / --skip split the jobs between processes sharing one --out.
  jobs = [(n, False, []) for n in names + ["clean/trec_uniform_0.2_s100"]]
  first = bench_detectors.select(jobs, [], ["_s101", "_clean"])
  second = bench_detectors.select(jobs, ["_s101", "_clean"], [])
  assert sorted(j[0] for j in first + second) == sorted(j[0] for j in jobs)
  assert "clean/trec_uniform_0.2_s100" in [j[0] for j in first]
  assert [j[0] for j in second][-2:] == ["sst2_clean", "trec_clean"]


def test_detector_variants_rank_average_the_cells_scores(tmp_path):
  import csv  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from noisy_meta import aum_lib  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  noisy = rng.random(200) < 0.2
  a = noisy + rng.normal(0, 0.8, 200)
  b = noisy + rng.normal(0, 0.8, 200)
  path = tmp_path / "examples.csv"
  with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "noisy", "score_a", "score_b"])
    for i in range(200):
      w.writerow([i, int(noisy[i]), a[i], b[i]])
  scores, got_noisy = detector_variants.read_cell(str(path))
  assert (got_noisy == noisy).all()
  res = detector_variants.table({"c": (scores, got_noisy)}, ["a", "a+b", "a+c"])
  assert res["a"]["c"][0] == pytest.approx(aum_lib.auroc(a, noisy), abs=1e-9)
  # Two independent noisy views of the same signal: their rank average is better.
  assert res["a+b"]["c"][0] > max(res["a"]["c"][0], aum_lib.auroc(b, noisy))
  assert res["a+c"] == {}  # A missing detector: no score.
  # Weighted by the label-free weights: with two parts those are equal.
  np.testing.assert_allclose(detector_variants.variant_score(scores, "a+b@label_free"),
                             detector_variants.variant_score(scores, "a+b"))


def test_detector_variants_cut_rows_by_hand():
  import numpy as np  # pylint: disable=g-import-not-at-top
  noisy = np.array([1, 1, 0, 0, 0, 1, 0, 0], bool)
  s = np.array([8, 7, 6, 5, 4, 3, 2, 1.0])  # The top 2 are wrong, the 6th too.
  row = detector_variants.cut_rows("c", {"ensemble": s}, noisy,
                                   {"ensemble": 4, "aum": 5, "aum_bbe": 2})
  # count: top 4 -> 2 of 3 found, precision 1/2: F1 4/7; min: top 2 -> F1 0.8;
  # best: top 2 (0.8) or top 6 (F1 2*3/(6+3) = 0.667).
  assert row == ("| c | ensemble | 3 | 4 | 0.571 | 5 | 2 | 2 | 0.800 | 0.800 | 0.71 | 1.00 |")
  assert detector_variants.cut_rows("c", {"ensemble": s}, noisy, {"ensemble": 4}) is None
  # Another score (a variant) at the same counts: reversed, its top 4 (rows 7-4)
  # hold one wrong row: F1 2/7; its top 2 none; its best cut flags all 8: 6/11.
  row = detector_variants.cut_rows("c", {"ensemble": s, "x": -s}, noisy,
                                   {"ensemble": 4, "aum": 5, "aum_bbe": 2}, "x")
  assert row == "| c | x | 3 | 4 | 0.286 | 5 | 2 | 2 | 0.000 | 0.545 | 0.52 | 0.00 |", row


def test_detector_bench_cleaning_command_passes_literal_tuples():
  """The cleaning jobs' overrides are Python literals (a bare (sieve,) is not)."""
  import ast  # pylint: disable=g-import-not-at-top
  grid = bench_detectors.load_grid("configs/detectors.py:cpu")
  cmd = bench_detectors.job_command(grid, "trec", "uniform", 0.2, 100, "/tmp/w", retrain_seeds=3)
  args = dict(a[2:].split("=", 1) for a in cmd if a.startswith("--config."))
  assert ast.literal_eval(args["config.clean.methods"]) == ("sieve",)
  assert ast.literal_eval(args["config.clean.percentiles"]) == (99,)
  job = next(a for a in cmd if a.startswith("--config="))
  assert "seeds=3" in job and "folds=2" in job


def test_relation_detector_grid_cells_and_commands():
  """SemEval with relation noise: 3 kinds x 1 rate x 3 seeds + the original;
  the learner and the pairing reach the AUM job's command, which main accepts."""
  grid = bench_detectors.load_grid("configs/detectors_relation.py:model=transformer,pairing=runs/re/pa")
  cell_list = bench_detectors.cells(grid, {"semeval": 19})
  assert len(cell_list) == 3 * 3 + 1
  assert {c[2] for c in cell_list if c[3] > 0} == {"uniform", "direction", "pair"}
  pair = next(c for c in cell_list if c[2] == "pair")
  cmd = bench_detectors.job_command(grid, "semeval", "pair", 0.2, pair[4], "/tmp/w")
  job = next(a for a in cmd if a.startswith("--config="))
  assert job.startswith("--config=configs/aum_semeval.py:") and "model=transformer" in job
  assert "noise_kind=pair" in job and "--config.noise.pairing=runs/re/pa" in cmd
  uniform = bench_detectors.job_command(grid, "semeval", "uniform", 0.2, 100, "/tmp/w")
  assert not any("pairing" in a for a in uniform)
  # The job's config, as main builds it, passes validation.
  from configs import aum_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta import validate  # pylint: disable=g-import-not-at-top
  config = aum_semeval.get_config(job.split(":", 1)[1])
  config.noise.pairing = "runs/re/pa"
  validate.check(config)
  assert config.learner == "relation_transformer" and config.noise.kind == "pair"
  # Every --config.X override names a field the relation config has (main
  # refuses the job otherwise: the text-only eval_every_epoch once slipped in).
  for a in cmd + uniform:
    if a.startswith("--config."):
      node = config
      for key in a[len("--config."):].split("=", 1)[0].split("."):
        assert key in node, a
        node = node[key]


def test_relation_cleaning_jobs_and_test_table(tmp_path):
  """clean_seeds: the original's unfiltered retrains and, per noise kind, sieve
  and flip at every candidate percentile; the test table takes each method's
  dev-chosen percentile and the share of lost F1 it won back."""
  import ast  # pylint: disable=g-import-not-at-top
  grid = bench_detectors.load_grid("configs/detectors_relation.py:cpu,clean_seeds=3")
  out = str(tmp_path)
  jobs = bench_detectors.clean_jobs(grid, out, lambda n: os.path.join(out, "cells", n))
  assert [j[0] for j in jobs] == ["clean/semeval_original", "clean/semeval_uniform_0.2_s100",
                                  "clean/semeval_direction_0.2_s100",
                                  "clean/semeval_pair_0.2_s100"]
  assert jobs[0][1].endswith("cells/semeval_clean")  # The original's detection cell.
  from configs import aum_semeval  # pylint: disable=g-import-not-at-top
  from noisy_meta import validate  # pylint: disable=g-import-not-at-top
  for name, _, cmd in jobs:
    args = dict(a[2:].split("=", 1) for a in cmd if a.startswith("--config."))
    methods = ast.literal_eval(args["config.clean.methods"])
    assert methods == (() if name.endswith("original") else ("sieve", "flip"))
    assert ast.literal_eval(args["config.clean.percentiles"]) == (10, 50, 99)
    assert args["config.clean.detector"] == "aum"
    config = aum_semeval.get_config(next(a for a in cmd if a.startswith("--config="))
                                    .split(":", 1)[1])
    config.clean.methods, config.clean.detector = methods, "aum"
    validate.check(config)
    assert list(config.clean.seeds) == [0, 1, 2]

  def summary(name, none, selected):
    os.makedirs(os.path.join(out, "clean", name))
    with open(os.path.join(out, "clean", name, "summary.json"), "w") as f:
      json.dump({"dev": {"none": {"n": 3, "test_f1": none}}, "selected": selected}, f)
  sel = lambda p, test: {"percentile": p, "dev": [0.5, 0.0], "test": [test, 0.01], "n": 3}
  summary("semeval_original", [0.80, 0.01], {})
  summary("semeval_uniform_0.2_s100", [0.60, 0.02], {"sieve": sel(50, 0.72),
                                                     "flip": sel(10, 0.65)})
  summary("semeval_direction_0.2_s100", [0.70, 0.02], {"sieve": dict(sel(99, 0.72), collapsed=2)})
  rows = bench_detectors.test_table(grid, out)
  assert set(rows) == {"semeval uniform 0.2", "semeval direction 0.2"}  # Pair: not run.
  # (0.72 - 0.60) / (0.80 - 0.60) = 0.6; (0.65 - 0.60) / 0.2 = 0.25; (0.72 - 0.7) / 0.1 = 0.2.
  assert rows["semeval uniform 0.2"]["recovered"] == pytest.approx({"sieve": 0.6,
                                                                     "flip": 0.25})
  assert rows["semeval direction 0.2"]["recovered"] == pytest.approx({"sieve": 0.2})
  text = "\n".join(bench_detectors.test_lines(grid, rows))
  assert "| semeval uniform 0.2 | 80.00 ± 1.00 | 60.00 ± 2.00 | 72.00 ± 1.00 (p50) | " \
         "65.00 ± 1.00 (p10) | 0.60 / 0.25 |" in text
  assert "semeval uniform 0.2: the better method recovers 0.60 of the F1 lost to noise: met" \
      in text
  assert "semeval direction 0.2: the better method recovers 0.20" in text and "**not met**" in text
  assert "semeval direction 0.2: **2 of its retrains collapsed**" in text  # Never hidden.
  assert "semeval uniform 0.2: **" not in text


def test_relation_detector_grid_cpu_scale():
  """`cpu`: 2000 sentences, one noise seed, 10 epochs (every learner) unless given."""
  from configs import detectors_relation  # pylint: disable=g-import-not-at-top
  g = detectors_relation.get_config("cpu")
  assert (g.sizes["semeval"], g.noise_seeds, g.epochs) == (2000, (100,), 10)
  g = detectors_relation.get_config("cpu,model=transformer,noise_seeds=2,size=500")
  assert (g.sizes["semeval"], g.noise_seeds, g.epochs) == (500, (100, 101), 10)
  g = detectors_relation.get_config("cpu,model=transformer,epochs=3")
  assert (g.sizes["semeval"], g.epochs) == (2000, 3)
  assert detectors_relation.get_config().epochs == 0  # The learner's recipe.


def _grid(path, runs):
  os.makedirs(path)
  rows = [dict(fraction=f, run=r, baseline=b, mlrc=m, n_train=75) for f, r, b, m in runs]
  with open(os.path.join(path, "results.json"), "w") as fh:
    json.dump({"runs": rows}, fh)


def test_mlrc_learners_merges_grids_into_one_table_and_figure(tmp_path, capsys):
  _grid(tmp_path / "a1", [(0.01, 0, 0.10, 0.20), (0.01, 1, 0.20, 0.40)])
  _grid(tmp_path / "a2", [(0.1, 0, 0.50, 0.55), (0.01, 0, 0.99, 0.99)])  # Run 0 at 1 %: kept once.
  _grid(tmp_path / "b", [(0.01, 0, 0.30, 0.30)])
  out = tmp_path / "fig" / "learners.png"
  assert mlrc_learners.main([f"--grid=A={tmp_path}/a1", f"--grid=A={tmp_path}/a2",
                             f"--grid=B={tmp_path}/b", f"--out={out}"]) == 0
  printed = capsys.readouterr().out
  # A at 1 %: baseline (10, 20) -> 15.00 ± 7.07, MLRC (20, 40) -> 30.00 ± 14.14, +15.
  assert "| A | 1 % | 2 | 15.00 ± 7.07 | 30.00 ± 14.14 | +15.00 |" in printed
  assert "| A | 10 % | 1 | 50.00 | 55.00 | +5.00 |" in printed
  assert "| B | 1 % | 1 | 30.00 | 30.00 | +0.00 |" in printed
  assert out.stat().st_size > 1000 and (tmp_path / "fig" / "learners.md").exists()
  with pytest.raises(SystemExit, match="expected LABEL=WORKDIR"):
    mlrc_learners.main([f"--grid={tmp_path}/b", f"--out={out}"])
  with pytest.raises(SystemExit, match="no such file"):
    mlrc_learners.main([f"--grid=C={tmp_path}/nope", f"--out={out}"])


def test_aum_epochs_curve_by_hand(tmp_path):
  """AUM over the first k epochs, by hand: the noisy example (0) has the
  lowest margin in epoch 1 and the highest in epoch 2, as a memorising
  model's; run 2 judges run 1's threshold sample (3)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  margin = np.array([[-1.0, 1.0, 2.0, 9.0], [3.0, 0.0, 1.0, -9.0]])
  run1 = dict(margin_EN=margin, correct_EN=(margin > 0).astype(np.float32),
              threshold_idx=np.array([3]))
  run2 = dict(margin_EN=np.array([[0.0, 0.0, 0.0, 3.0], [0.0, 0.0, 0.0, -1.0]]),
              correct_EN=np.array([[0, 0, 0, 1], [0, 0, 0, 0]], np.float32),
              threshold_idx=np.array([0]))
  noisy = np.array([True, False, False, False])
  rows = aum_epochs.curve([run1, run2], noisy)
  # Epoch 1 (example 3 from run 2): scores 1, -1, -2, -3: the noisy one
  # first. Epochs 1-2: -1, -0.5, -1.5, -1: above one clean example, below one,
  # tied with one (a tie counts a half): (0 + 1 + 0.5) / 3.
  assert [r["auroc"] for r in rows] == [1.0, 0.5]
  assert rows[1]["auroc_alone"] == 0.0  # Epoch 2: -3, 0, -1, 1.
  assert rows[0]["ap"] == 1.0
  assert [r["noisy_fit"] for r in rows] == [0.0, 1.0]
  assert [r["clean_fit"] for r in rows] == [1.0, pytest.approx(1 / 3)]
  # Threshold samples: 3 in run 1 (right at epoch 1 only), 0 in run 2 (never).
  assert [r["fake_fit"] for r in rows] == [0.5, 0.0]
  w = tmp_path / "w"
  for i, r in enumerate((run1, run2), 1):
    os.makedirs(w / f"aum_run{i}")
    np.savez(w / f"aum_run{i}" / "dynamics.npz", **r)
  np.savez(w / "noise.npz", noisy=noisy)
  runs, mask = aum_epochs.load(str(w))
  assert aum_epochs.curve(runs, mask) == rows
  assert "| 1-2 |" in aum_epochs.markdown(str(w), rows)
  np.savez(w / "noise.npz", noisy=np.zeros(4, bool))  # Nothing injected: no mask,
  runs, mask = aum_epochs.load(str(w))                # the threshold samples' column only.
  assert mask is None
  blank = aum_epochs.curve(runs, mask)
  assert [r["fake_fit"] for r in blank] == [0.5, 0.0] and blank[0]["auroc"] is None
  assert "| 1-1 | — / — | — | — | — | 0.500 |" in aum_epochs.markdown(str(w), blank)
  with pytest.raises(SystemExit, match="not a finished AUM workdir"):
    aum_epochs.load(str(tmp_path))


def _config_of(cmd, text_fields=("dtype",)):
  """The config a `python -m noisy_meta.main` command line builds: its
  --config=configs/<file>.py:<arg>, then each --config.<field>=<value>
  (Python literals; `text_fields` as typed, as absl's config flags read
  string fields)."""
  import ast  # pylint: disable=g-import-not-at-top
  import importlib  # pylint: disable=g-import-not-at-top
  job = next(a for a in cmd if a.startswith("--config="))
  module, _, arg = job[len("--config=configs/"):].partition(".py:")
  config = importlib.import_module(f"configs.{module}").get_config(arg)
  for a in cmd:
    if a.startswith("--config."):
      key, value = a[len("--config."):].split("=", 1)
      *path, last = key.split(".")
      node = config
      for k in path:
        node = node[k]
      node[last] = value if last in text_fields else ast.literal_eval(value)
  return config, module


def test_repair_grid_commands_are_valid_jobs():
  """Every cell of the repair grid is an AUM job that main accepts, every
  repair and peer in its clean.methods, no AUM sweep."""
  from bench.research import repair as bench_repair  # pylint: disable=g-import-not-at-top
  from noisy_meta import validate  # pylint: disable=g-import-not-at-top
  grid = bench_detectors.load_grid("configs/repair.py:cpu")
  assert len(grid.cells) == 15 and len(grid.seeds) == 3
  for name in grid.cells:
    cmd = bench_repair.job_command(grid, name, "/tmp/w")
    job = next(a for a in cmd if a.startswith("--config="))
    config, _ = _config_of(cmd)
    validate.check(config)
    want = ("sieve", "flip") if "_0_" in name else grid.methods  # Originals: the default.
    assert config.clean.methods == want and config.clean.percentiles == ()
    assert ("model=" in job) == name.startswith("semeval")
  with pytest.raises(ValueError, match="unknown nope"):
    bench_detectors.load_grid("configs/repair.py:cells=nope")


def _repair_cell(path, scores, best_epoch=None, noisy=200):
  """A finished cell's summary.json and unfiltered metrics.json, by hand."""
  os.makedirs(path / "clean" / "none_s0", exist_ok=True)
  runs = {f"clean/{k}_s0": {"finished": True, "accuracy": v, "mcc": 0.0}
          for k, v in scores.items()}
  cleaning = {"sieve": {}, "gce": {}, "sieve:cleanlab": {}}
  with open(path / "summary.json", "w") as f:
    json.dump({"runs": runs, "metric": "accuracy", "seeds": [0], "noisy": noisy,
               "examples": 1000, "collapsed_runs": [],
               "detectors": {"chosen": "ensemble", "cleaning": cleaning, "table": {}}}, f)
  hist = [{"epoch": 1, "accuracy": best_epoch or scores["none"]},
          {"epoch": 2, "accuracy": scores["none"]}]
  with open(path / "clean" / "none_s0" / "metrics.json", "w") as f:
    json.dump({"dev_history": hist}, f)


def test_repair_bench_table_and_share_won_back_by_hand(tmp_path):
  from bench.research import repair as bench_repair  # pylint: disable=g-import-not-at-top
  _repair_cell(tmp_path / "a", {"original": 0.8, "none": 0.6, "sieve_ensemble": 0.7,
                                "gce": 0.65, "sieve_cleanlab": 0.62}, best_epoch=0.66)
  row = bench_repair.cell_row(str(tmp_path / "a"))
  # (0.7 - 0.6) / (0.8 - 0.6) = 0.5; early stopping's best epoch (0.66) 0.3.
  assert row["won"]["sieve"] == pytest.approx(0.5)
  assert row["won"]["none_best_epoch"] == pytest.approx(0.3)
  assert row["won"]["gce"] == pytest.approx(0.25)
  grid = bench_detectors.load_grid("configs/repair.py:cpu,seeds=1")
  with grid.unlocked():
    grid.methods, grid.peers = ("sieve", "gce", "sieve:cleanlab"), ("none_best_epoch", "gce",
                                                                       "sieve:cleanlab")
  text = bench_repair.markdown(grid, {"sst2_uniform_20_n1000": row}, 0.0, "g")
  assert "Best repair by that mean: **sieve**" in text
  # sieve 70.0 vs the best peer, early stopping 66.0: +4.00 points, met;
  # 0.50 of the lost score at 20 % noise: met.
  assert "+4.00 points: met" in text and "wins back 0.50: met" in text


def test_repair_bench_reruns_cells_short_of_seeds_and_judges_the_originals(tmp_path):
  from bench.research import repair as bench_repair  # pylint: disable=g-import-not-at-top
  grid = bench_detectors.load_grid("configs/repair.py:cpu,seeds=2")
  assert not bench_repair.finished(grid, str(tmp_path / "missing"))
  _repair_cell(tmp_path / "a", {"none": 0.6, "sieve_ensemble": 0.7})
  assert not bench_repair.finished(grid, str(tmp_path / "a"))  # Seed 0 only: rerun.
  assert bench_repair.finished(bench_detectors.load_grid("configs/repair.py:cpu,seeds=1"),
                               str(tmp_path / "a"), ("sieve", "gce"))
  # A method the cell lacks (a column added to the grid later): rerun.
  assert not bench_repair.finished(bench_detectors.load_grid("configs/repair.py:cpu,seeds=1"),
                                   str(tmp_path / "a"), ("sieve", "sieve:oracle"))
  # An original: no ceiling, nothing won back; sieve and flip against no repair.
  row = {"metric": "accuracy", "won": {}, "collapsed": [],
         "changed": {"sieve": {"dropped": 12}, "flip": {"relabelled": 9}},
         "cols": {"none": [0.80, 0.01, 3], "sieve": [0.795, 0.02, 3], "flip": [0.785, 0.0, 3]}}
  text = bench_repair.markdown(grid, {"sst2_uniform_0_n1000": row}, 0.0, "g")
  assert "| sst2_uniform_0_n1000 | accuracy | 80.00 ± 1.00 | 79.50 ± 2.00 | 78.50 ± 0.00 | " \
         "sieve: 12 dropped; flip: 9 relabelled |" in text
  # -0.50 is within no repair's std (1.00); -1.50 is not.
  assert "sieve -0.50 points against no repair, whose std is 1.00: met" in text
  assert "flip -1.50 points against no repair, whose std is 1.00: **not met**" in text


def test_replace_between_rewrites_only_the_marked_part(tmp_path):
  page = tmp_path / "page.md"
  page.write_text("intro\n<!-- b -->\nold\n<!-- e -->\nafter\n")
  output.replace_between(str(page), "<!-- b -->", "<!-- e -->", "new\n")
  assert page.read_text() == "intro\n<!-- b -->\nnew\n<!-- e -->\nafter\n"
  (tmp_path / "bare.md").write_text("no markers\n")
  with pytest.raises(SystemExit, match="lacks the markers"):
    output.replace_between(str(tmp_path / "bare.md"), "<!-- b -->", "<!-- e -->", "x")


@pytest.mark.job
def test_encoder_parity_bench_writes_its_table(tmp_path):
  """bench.parity.encoder_parity on one architecture: the docs table's source
  (each architecture's own test file checks its parity)."""
  pytest.importorskip("torch")
  from bench.parity import encoder_parity  # pylint: disable=g-import-not-at-top
  out = tmp_path / "parity.md"
  encoder_parity.main(["--only=roberta", f"--out={out}"])
  rows = [l.split("|") for l in out.read_text().splitlines() if l.startswith("| roberta")]
  assert len(rows) == 1
  for r in rows:
    assert float(r[2]) <= 1e-5 and float(r[4]) <= 1e-5  # Forward; gradients relative.
    assert r[5].strip().split("/")[0] == r[5].strip().split("/")[1]  # Every leaf compared.


def test_precision_bench_jobs_are_valid_and_differ_only_in_dtype():
  from bench.research import precision_scores as ps  # pylint: disable=g-import-not-at-top
  from noisy_meta import validate  # pylint: disable=g-import-not-at-top
  grid = bench_detectors.load_grid("configs/repair.py:cpu,seeds=1")
  made = {}
  for dtype in ps.DTYPES:
    for cmd in (ps.finetune_cmd("cola", 1, dtype, "/tmp/w"),
                ps.detection_cmd(grid, "trec_uniform_20_n1000", dtype, "/tmp/w")):
      config, module = _config_of(cmd)
      validate.check(config)
      assert config.model.dtype == dtype
      made[(module, dtype)] = config.to_dict()
  for module in ("finetune_cola", "aum_trec"):
    a, b = made[(module, "float32")], made[(module, "bfloat16")]
    a["model"].pop("dtype"), b["model"].pop("dtype")
    assert a == b
  assert made[("aum_trec", "bfloat16")]["clean"]["methods"] == ()
  assert made[("finetune_cola", "float32")]["seed"] == 1


def test_repair_bench_never_chooses_the_oracle():
  """sieve:oracle (the injected mask as the detector) is a reference column:
  the default is chosen among real repairs even where the oracle wins more."""
  from bench.research import repair as bench_repair  # pylint: disable=g-import-not-at-top
  rows = {"c": {"won": {"sieve": 0.2, "gce": 0.1, "sieve:oracle": 0.9}}}
  best, mean_won = bench_repair.choose_default(rows, ["sieve", "gce", "sieve:oracle"], {"gce"})
  assert best == "sieve" and mean_won["sieve:oracle"] == pytest.approx(0.9)
