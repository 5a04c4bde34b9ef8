"""The colabs (colabs/*.ipynb) run end to end on :runlocal jobs, with nbclient.

Each notebook runs its job into a fresh workdir under a tmp dir, rebuilds the
paper's tables and figures from the files there, and ends with a cell that
asserts the expected files exist. The parameters cell reads
NOISY_META_COLAB_<NAME> from the environment; the kernel inherits it.
"""
import json
import os
import shutil

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLABS = os.path.join(ROOT, "colabs")
NOTEBOOKS = ("aum_cola.ipynb", "mlrc_semeval.ipynb")
PARAMS = ("DATA_DIR", "WORKDIR", "CONFIG_ARG", "EXTRA_FLAGS", "RUNS_DIR")


def _execute(name, monkeypatch, **params):
  """Executes colabs/<name> in a python3 kernel with these parameters; returns it."""
  for key in PARAMS:
    monkeypatch.setenv(f"NOISY_META_COLAB_{key}", str(params.get(key, "")))
  # The job runs as a user runs it: not on conftest's 8 fake CPU devices.
  if os.environ.get("XLA_FLAGS") == "--xla_force_host_platform_device_count=8":
    monkeypatch.delenv("XLA_FLAGS")
  nb = nbformat.read(os.path.join(COLABS, name), as_version=4)
  client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=1800,
                                   resources={"metadata": {"path": COLABS}})
  client.execute()
  return nb


def _outputs(nb):
  """(Markdown tables, all text, number of PNG images) of an executed notebook."""
  tables, texts, pngs = [], [], 0
  for cell in nb.cells:
    for out in cell.get("outputs", []):
      if out.output_type == "stream":
        texts.append(out.text)
      elif out.output_type in ("display_data", "execute_result"):
        pngs += "image/png" in out.data
        if "text/markdown" in out.data:
          tables.append(out.data["text/markdown"])
        texts.append(out.data.get("text/markdown", out.data.get("text/plain", "")))
  return tables, "\n".join(texts), pngs


def _only_workdir(runs_dir):
  names = os.listdir(runs_dir)
  assert len(names) == 1, names
  return os.path.join(runs_dir, names[0])


def test_notebooks_are_commit_ready():
  for name in NOTEBOOKS:
    nb = nbformat.read(os.path.join(COLABS, name), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), name
    assert "REPO_URL" in code[0].source and "find_spec" in code[0].source, name
    assert "parameters" in code[1].metadata.get("tags", []), name
    assert all(f'_env("{p}"' in code[1].source for p in PARAMS), name
    assert "assert not missing" in code[-1].source, name


@pytest.mark.job
def test_aum_colab_runs_and_rebuilds_tables(data_dir, tiny_bert_dir, tmp_path, monkeypatch):
  runs = tmp_path / "runs"
  # A 2-layer BERT with MiniLM's tokenizer: the notebook, not the model, is
  # under test here (finetune_test runs real MiniLM).
  nb = _execute("aum_cola.ipynb", monkeypatch, DATA_DIR=data_dir, RUNS_DIR=runs,
                CONFIG_ARG="runlocal,noise=0.2",  # noise: Table 5 too.
                EXTRA_FLAGS=f"--config.model.path={tiny_bert_dir} --config.optim.lr=0.001")
  w = _only_workdir(runs)
  for name in ("examples.csv", "summary.json", "report.md", "noise.npz",
               "fig1_data_map.png", "fig2_percentile_vs_accuracy.png",
               "fig3_aum_histogram.png", "clean/none_s0/metrics.json",
               "clean/sieve_p50_s0/metrics.json", "clean/flip_p50_s0/metrics.json"):
    assert os.path.isfile(os.path.join(w, name)), name
  tables, text, pngs = _outputs(nb)
  assert "AUM pipeline" in text  # The job's log streamed into the notebook.
  assert "OK: " in text and pngs >= 6
  summary = json.load(open(os.path.join(w, "summary.json")))
  table1 = next(t for t in tables if "Table 1" in t)
  table5 = next(t for t in tables if "Table 5" in t)
  for p, row in summary["percentiles"].items():
    assert f"| {p} | " in table1 and f"| {row['flagged']} (" in table1
    assert f"| {row['detection']['precision']:.3f} | {row['detection']['recall']:.3f} |" in table5
  unfiltered = summary["dev"]["none"]["mcc"]
  want = (f"{100 * unfiltered[0]:.2f} (n=1)" if unfiltered[1] is None
          else f"{100 * unfiltered[0]:.2f} ± {100 * unfiltered[1]:.2f}")
  assert want in table1
  assert any("lowest-AUM examples" in t for t in tables)

  # Pointed at the finished workdir it trains nothing and gives the same tables.
  again = _execute("aum_cola.ipynb", monkeypatch, WORKDIR=w, RUNS_DIR=tmp_path / "unused")
  assert not os.path.exists(tmp_path / "unused")
  tables_again, text, _ = _outputs(again)
  assert "reading the finished workdir" in text and tables_again == tables

  # A run with a stage missing fails the notebook in its checks.
  broken = tmp_path / "broken"
  shutil.copytree(w, broken)
  os.remove(broken / "clean" / "flip_p50_s0" / "metrics.json")
  with pytest.raises(nbclient.exceptions.CellExecutionError, match="lacks"):
    _execute("aum_cola.ipynb", monkeypatch, WORKDIR=broken)


@pytest.mark.job
def test_mlrc_colab_runs_and_rebuilds_tables(data_dir, tmp_path, monkeypatch):
  pytest.importorskip("spacy")
  for sub in ("semeval2010_task8", "glove"):
    if not os.path.isdir(os.path.join(data_dir, sub)):
      pytest.skip(f"{sub}/ not in {data_dir}")
  runs = tmp_path / "runs"
  nb = _execute("mlrc_semeval.ipynb", monkeypatch, DATA_DIR=data_dir, RUNS_DIR=runs,
                CONFIG_ARG="runlocal,fraction=0.2",  # A small PA-LSTM: the notebook is under test.
                EXTRA_FLAGS="--config.model.hidden=32 --config.model.attn_dim=32")
  w = _only_workdir(runs)
  for name in ("results.json", "report.md", "f1_vs_fraction.png"):
    assert os.path.isfile(os.path.join(w, name)), name
  tables, text, pngs = _outputs(nb)
  assert "MLRC grid" in text and "OK: " in text and pngs >= 2
  results = json.load(open(os.path.join(w, "results.json")))
  assert len(results["runs"]) == 2  # runlocal at fraction 0.2: 2 runs.
  by_fraction = next(t for t in tables if "Official test score" in t)
  for f, s in results["summary"].items():
    assert (f"| {f} | {s['n_train']:.0f} | {s['runs']} | {s['baseline']:.2f} ± "
            f"{s['baseline_std']:.2f} | {s['mlrc']:.2f} ± {s['mlrc_std']:.2f} |") in by_fraction
  per_relation = next(t for t in tables if "Per relation at fraction 0.2" in t)
  assert len(per_relation.splitlines()) == 4 + 9  # Caption, blank, header, rule, relations.

  again = _execute("mlrc_semeval.ipynb", monkeypatch, WORKDIR=w, RUNS_DIR=tmp_path / "unused")
  assert not os.path.exists(tmp_path / "unused")
  assert _outputs(again)[0] == tables

  broken = tmp_path / "broken"
  shutil.copytree(w, broken)
  os.remove(broken / "f1_vs_fraction.png")
  with pytest.raises(nbclient.exceptions.CellExecutionError, match="lacks"):
    _execute("mlrc_semeval.ipynb", monkeypatch, WORKDIR=broken)
