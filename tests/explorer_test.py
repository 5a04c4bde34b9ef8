"""explorer.html: the page's data and escaping, then the page in headless Chromium.

The browser tests drive Debian's Chromium through Playwright (no browser
download) and skip, with the reason, where either is missing.
"""
import csv
import html
import json
import logging
import os
import re
import shutil

import numpy as np
import pytest

from noisy_meta import aum_lib
from noisy_meta.reports import aum_examples
from noisy_meta.reports import explorer
from tests import synthetic_workdir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL = os.path.join(ROOT, "runs", "bench", "det1k", "cells", "sst2_uniform_0.2_s100")
# Would run (and set window.__pwned) if any text reached the page unescaped.
NASTY = ('</script><script>window.__pwned = 1</script><img src=x '
         'onerror="window.__pwned = 2"> & \'quoted\' pwned')
RELATION = "The [S company & co] fabricates <b>plastic</b> [O chairs] ."
PCTS = (1, 10, 50, 90, 99)


def _rows(workdir):
  with open(os.path.join(workdir, "examples.csv"), newline="", encoding="utf-8") as f:
    return list(csv.DictReader(f))


def _set_texts(workdir, texts):
  """Replaces the text of the first rows of examples.csv by `texts`."""
  path = os.path.join(workdir, "examples.csv")
  with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
  col = rows[0].index("text")
  for k, t in enumerate(texts, 1):
    rows[k][col] = t
  aum_examples.write_csv(path, rows[1:], rows[0])


def _workdir(folder, n, relation=False, **kw):
  synthetic_workdir.synthetic_aum_workdir(str(folder), n, relation=relation,
                                          num_classes=5 if relation else 2, **kw)
  _set_texts(str(folder), [NASTY, RELATION] if relation else [NASTY])
  return str(folder)


def _blob(path):
  with open(path, encoding="utf-8") as f:
    page = f.read()
  m = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S)
  return page, json.loads(m.group(1))


def _flag_count(rows, p):
  return sum(r[f"flagged_p{p}"] == "1" for r in rows)


def _reference_count(workdir, p):
  """Examples flagged at percentile `p` by aum_lib from the runs' dynamics."""
  d1, d2 = (np.load(os.path.join(workdir, f"aum_run{k}", "dynamics.npz")) for k in (1, 2))
  flags = aum_lib.combine_runs(d1["aum"], d1["threshold_idx"], d2["aum"], d2["threshold_idx"],
                               p)[0]
  return int(flags.sum())


def test_synthetic_workdir_has_the_real_columns(tmp_path):
  """The synthetic examples.csv has a real run's columns, in order."""
  if not os.path.exists(os.path.join(REAL, "examples.csv")):
    pytest.skip(f"no real AUM workdir at {REAL}")
  with open(os.path.join(REAL, "examples.csv"), newline="", encoding="utf-8") as f:
    real = next(csv.reader(f))
  synthetic_workdir.synthetic_aum_workdir(
      str(tmp_path), 50, detectors=tuple(h[5:] for h in real if h.startswith("flag_")))
  with open(tmp_path / "examples.csv", newline="", encoding="utf-8") as f:
    ours = next(csv.reader(f))
  assert [h for h in ours if not h.startswith("score_")] == [
      h for h in real if not h.startswith("score_")]


def test_aum_page_is_one_escaped_file(tmp_path):
  workdir = _workdir(tmp_path / "w", 200)
  path = explorer.write_aum_explorer(workdir)
  assert path == os.path.join(workdir, "explorer.html")
  page, data = _blob(path)
  # Self-contained: no script or stylesheet from anywhere else.
  assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
  assert not re.search(r"<link[^>]*\bhref\s*=", page, re.I)
  assert "Plotly" in page
  # The only script ends are the page's own three; the blob has no '<' at all.
  assert len(re.findall(r"</script", page, re.I)) == len(re.findall(r"<script", page, re.I)) == 3
  blob = re.search(r'id="explorer-data">(.*?)</script>', page, re.S).group(1)
  assert "<" not in blob and ">" not in blob
  rows = _rows(workdir)
  cols = data["cols"]
  assert data["n"] == len(rows) == len(cols["html"]) == len(cols["aum"]) == 200
  assert data["plot_idx"] is None  # Every example plotted.
  assert cols["html"][0] == html.escape(NASTY)
  assert cols["html"][1] == html.escape(rows[1]["text"])
  # Every integer percentile, equal to examples.csv at the run's own.
  assert data["levels"] == list(range(101)) and data["levels_note"] == ""
  first = np.array(cols["first"])
  for p in PCTS:
    assert int((first <= p).sum()) == _flag_count(rows, p)
  for p in (0, 37, 98, 100):
    assert int((first <= p).sum()) == _reference_count(workdir, p)
  given = np.array([int(r["label"]) for r in rows])
  assert cols["suggest"] == (1 - given).tolist()  # Binary: the other class.
  # AUROC of -AUM by hand: P(a noisy example's AUM < a clean one's), ties half.
  aum = np.array([float(r["aum"]) for r in rows])
  noisy = np.array([r["noisy"] == "1" for r in rows])
  diff = aum[noisy][:, None] - aum[~noisy][None, :]
  assert data["auroc"] == pytest.approx(np.mean(diff < 0) + 0.5 * np.mean(diff == 0), abs=1e-9)


def test_relation_text_is_escaped_with_entity_spans(tmp_path):
  workdir = _workdir(tmp_path / "w", 120, relation=True)
  page, data = _blob(explorer.write_aum_explorer(workdir))
  assert data["relation"]
  # The spans' '<' are escaped in the page's JSON, as any '<' would be.
  blob = re.search(r'id="explorer-data">(.*?)</script>', page, re.S).group(1)
  assert "<" not in blob and "\\u003cspan" in blob
  assert data["cols"]["html"][1] == (
      'The <span class="ent ent-s">company &amp; co</span> fabricates '
      '&lt;b&gt;plastic&lt;/b&gt; <span class="ent ent-o">chairs</span> .')
  assert data["cols"]["html"][0] == html.escape(NASTY)  # No markers: escaped only.
  # Multi-class: the judging run's best other class at the last epoch.
  rows = _rows(workdir)
  other = np.load(os.path.join(workdir, "aum_run1", "dynamics.npz"))["other_EN"][-1]
  assert data["cols"]["suggest"] == other.tolist()
  assert data["label_names"][int(rows[1]["label"])] == rows[1]["label_name"]


def test_without_dynamics_the_runs_percentiles_only(tmp_path):
  workdir = _workdir(tmp_path / "w", 120, relation=True, dynamics=False)
  _, data = _blob(explorer.write_aum_explorer(workdir))
  assert data["levels"] == list(PCTS) and "dynamics.npz" in data["levels_note"]
  first = np.array(data["cols"]["first"])
  rows = _rows(workdir)
  for k, p in enumerate(PCTS):
    assert int((first <= k).sum()) == _flag_count(rows, p)
  assert data["cols"]["suggest"] is None  # Multi-class without the runs' logits.


def test_large_runs_plot_a_sample_and_keep_every_row(tmp_path):
  workdir = _workdir(tmp_path / "w", 300)
  _, data = _blob(explorer.write_aum_explorer(workdir, max_points=50))
  idx = data["plot_idx"]
  assert len(idx) == len(set(idx)) == 50 and idx == sorted(idx) and max(idx) < 300
  assert len(data["cols"]["html"]) == 300


def _mlrc_workdir(folder):
  rels = ["Cause-Effect(e1,e2)", "Other", "Message-Topic(e1,e2)", "A<b>&'rel"]
  runs = []
  for f in (0.01, 0.1):
    for r in range(3):
      runs.append({
          "fraction": f, "run": r, "seed": r, "n_train": int(8000 * f),
          "baseline": 0.05 + f + 0.01 * r, "mlrc": 0.15 + f - 0.01 * r,
          "baseline_collapsed": f == 0.01 and r == 0, "mlrc_collapsed": False,
          "baseline_per_relation": {x: 0.1 * k for k, x in enumerate(rels)},
          "mlrc_per_relation": {x: 0.1 * k + 0.05 for k, x in enumerate(rels)},
          "counts": {x: 4 - k for k, x in enumerate(rels)},
          "meta_loss": {"first": 2.0, "last": 1.5}})
  os.makedirs(folder, exist_ok=True)
  with open(os.path.join(folder, "results.json"), "w", encoding="utf-8") as f:
    json.dump({"summary": {}, "runs": runs}, f)
  return str(folder)


def test_mlrc_page_and_command(tmp_path, capsys):
  workdir = _mlrc_workdir(tmp_path / "m")
  neither = tmp_path / "neither"
  neither.mkdir()
  assert explorer.main([workdir, str(neither)]) == 1
  out, err = capsys.readouterr()
  assert out.strip().splitlines()[-1] == os.path.join(workdir, "explorer.html")
  assert err.strip() == (f"error: {neither}: neither an AUM workdir (examples.csv) nor an "
                         "MLRC workdir (results.json)")
  _, data = _blob(os.path.join(workdir, "explorer.html"))
  assert [s["fraction"] for s in data["summary"]] == [0.01, 0.1]
  assert data["summary"][0]["baseline"] == pytest.approx(100 * np.mean([0.06, 0.07, 0.08]))
  assert [r["relation"] for r in data["relations"]][0] == "A<b>&'rel"  # Fewest first.
  assert len(data["runs"]) == 6


def test_page_holds_the_asset_files_verbatim(tmp_path):
  """explorer.html is assets/page.html filled in: each asset file's text is
  in it unchanged, and the skeleton's pieces between placeholders in order."""
  aum = explorer.write_aum_explorer_or_warn(_workdir(tmp_path / "w", 50))
  mlrc = explorer.write_mlrc_explorer_or_warn(_mlrc_workdir(tmp_path / "m"))
  pieces = re.split(r"\{\{[a-z_]+\}\}", explorer.asset("page.html"))
  for path, kind, other in ((aum, "aum", "mlrc"), (mlrc, "mlrc", "aum")):
    with open(path, encoding="utf-8") as f:
      page = f.read()
    for name in ("page.css", "common.js", f"{kind}_body.html", f"{kind}.js"):
      assert explorer.asset(name) in page, name
    assert explorer.asset(f"{other}.js") not in page
    assert page.startswith(pieces[0]) and page.endswith(pieces[-1])
    pos = 0
    for piece in pieces:
      pos = page.index(piece, pos) + len(piece)


def test_fill_reads_only_the_template_and_misses_nothing():
  """Values are inserted as they are (braces, placeholders, backslashes);
  a placeholder without a value, or a value without a place, is an error."""
  got = explorer.fill("<{{a}}|{{b}}>", {"a": "{{b}} {x} {0}", "b": r"\1 \g<0> $1"})
  assert got == r"<{{b}} {x} {0}|\1 \g<0> $1>"
  with pytest.raises(ValueError, match=re.escape("{{c}}")):
    explorer.fill("{{c}}", {})
  with pytest.raises(ValueError, match=re.escape("no placeholder for ['b']")):
    explorer.fill("{{a}}", {"a": "", "b": ""})


def test_a_page_that_fails_is_a_warning_not_an_error(tmp_path, caplog):
  """The jobs' calls: the page is lost, the finished job is not."""
  empty = tmp_path / "empty"
  empty.mkdir()
  with caplog.at_level(logging.WARNING):
    assert explorer.write_aum_explorer_or_warn(str(empty)) is None
    assert explorer.write_mlrc_explorer_or_warn(str(empty)) is None
  aum, mlrc = [r.getMessage() for r in caplog.records][-2:]
  assert aum.startswith(f"{empty}: explorer.html not written (FileNotFoundError: ")
  assert aum.endswith(f"; `python -m noisy_meta.reports.explorer {empty}` retries.")
  assert mlrc.startswith(f"{empty}: explorer.html not written (FileNotFoundError: ")
  assert mlrc.endswith(").") and not os.path.exists(empty / "explorer.html")


# --- In headless Chromium ----------------------------------------------------


def _chromium():
  for exe in (os.environ.get("NOISY_META_CHROMIUM"), shutil.which("chromium"),
              shutil.which("chromium-browser"), shutil.which("google-chrome")):
    if exe and os.path.exists(exe):
      return exe
  return None


@pytest.fixture(scope="module")
def browser():
  """Debian's Chromium driven by Playwright; skips without either."""
  sync_api = pytest.importorskip("playwright.sync_api",
                                 reason="playwright not installed (pip install -e .[test])")
  exe = _chromium()
  if exe is None:
    pytest.skip("no Chromium binary found (apt-get install chromium; scripts/setup.sh "
                "tries; or set NOISY_META_CHROMIUM)")
  with sync_api.sync_playwright() as p:
    b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
    yield b
    b.close()


def _open(browser, path, init_script=None):
  """The page at `path`, once its ready marker is set; and its console errors."""
  page = browser.new_page(viewport={"width": 1300, "height": 1000})
  errors = []
  page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
  page.on("pageerror", lambda e: errors.append(str(e)))
  if init_script:
    page.add_init_script(init_script)
  page.goto("file://" + os.path.abspath(path))
  page.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)
  return page, errors


def _screenshot(page, tmp_path, name):
  """Saves a screenshot into tmp_path and $NOISY_META_TEST_ARTIFACTS if set."""
  out = tmp_path / name
  page.screenshot(path=str(out), full_page=True)
  assert out.stat().st_size > 10_000
  folder = os.environ.get("NOISY_META_TEST_ARTIFACTS")
  if folder:
    os.makedirs(folder, exist_ok=True)
    shutil.copy(out, os.path.join(folder, name))


# Points in the data map: its traces but the selection ring.
_PLOTTED = ("document.getElementById('map').data.filter((t) => t.name !== 'selected')"
            ".reduce((n, t) => n + t.x.length, 0)")


def _count(page):
  return int(re.match(r"(\d+) flagged", page.inner_text("#flagged-count")).group(1))


def test_aum_page_in_chromium(browser, tmp_path):
  workdir = _workdir(tmp_path / "w", 400)
  rows = _rows(workdir)
  page, errors = _open(browser, explorer.write_aum_explorer(workdir))
  assert page.evaluate(_PLOTTED) == len(rows)
  # The percentile control: the run's percentiles as examples.csv says, and
  # the ones between as aum_lib computes them from the runs' dynamics.
  set_pct = "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }"
  for p in PCTS:
    page.eval_on_selector("#pct", set_pct, p)
    assert _count(page) == _flag_count(rows, p), p
    assert f"of {_flag_count(rows, p)}" in page.inner_text("#table .count")
  page.eval_on_selector("#pct", set_pct, 37)
  assert _count(page) == _reference_count(workdir, 37)
  page.focus("#pct")
  page.keyboard.press("ArrowLeft")
  assert page.inner_text("#pct-value") == "p36"
  assert _count(page) == _reference_count(workdir, 36)
  # Click the most isolated point of the data map (pixels from examples.csv).
  box = page.evaluate("""() => {
    const gd = document.getElementById('map'), fl = gd._fullLayout, r = gd.getBoundingClientRect();
    return [r.left + fl._size.l, r.top + fl._size.t, fl.xaxis._length, fl.yaxis._length,
            fl.xaxis.range, fl.yaxis.range]; }""")
  left, top, width, height, (x0, x1), (y0, y1) = box
  xy = np.array([[left + (float(r["variability"]) - x0) / (x1 - x0) * width,
                  top + (y1 - float(r["confidence"])) / (y1 - y0) * height] for r in rows])
  dist = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(xy)) * 1e9
  i = int(dist.min(1).argmax())
  page.mouse.move(*xy[i])
  page.wait_for_timeout(150)
  page.mouse.click(*xy[i])
  page.wait_for_selector("#details .text")
  assert page.inner_text("#details h3").startswith(f"Example #{rows[i]['id']}")
  assert page.inner_text("#details .text") == rows[i]["text"]
  assert page.evaluate(
      "document.getElementById('map').data.find((t) => t.name === 'selected').x.length") == 1
  # A box selection on the map filters the table to the flagged examples in it.
  page.eval_on_selector("#pct", set_pct, 90)
  page.click("#map [data-attr='dragmode'][data-val='select']")
  bx0, by0, bx1, by1 = left + 0.1 * width, top + 0.4 * height, left + 0.6 * width, top + height
  page.mouse.move(bx0, by0)
  page.mouse.down()
  page.mouse.move((bx0 + bx1) / 2, (by0 + by1) / 2, steps=4)
  page.mouse.move(bx1, by1 - 1, steps=4)
  page.mouse.up()
  page.wait_for_function("document.getElementById('table-title').textContent.includes('selection')")
  shown = int(re.search(r"of (\d+)", page.inner_text("#table .count")).group(1))
  flagged = np.array([r["flagged_p90"] == "1" for r in rows])
  inside = lambda m: flagged & (xy[:, 0] > bx0 - m) & (xy[:, 0] < bx1 + m) & (
      xy[:, 1] > by0 - m) & (xy[:, 1] < by1 + m)
  assert 0 < inside(-2).sum() <= shown <= inside(2).sum() < flagged.sum()
  page.mouse.dblclick(left + 0.95 * width, top + 0.05 * height)
  page.wait_for_function("!document.getElementById('table-title').textContent.includes('sel')")
  assert f"of {flagged.sum()}" in page.inner_text("#table .count")
  # The hostile text, found by the search box, shown as text and never run.
  page.select_option("#table select", "all")
  page.fill("#table input[type=search]", "pwned")
  assert page.inner_text("#table .count") == "rows 1\u20131 of 1"
  page.click("#table tbody tr")
  assert page.inner_text("#details .text") == NASTY
  assert page.evaluate("window.__pwned") is None
  page.evaluate("window.scrollTo(0, 0)")
  _screenshot(page, tmp_path, "explorer_aum.png")
  assert errors == []
  page.close()


def test_relation_page_and_svg_fallback_in_chromium(browser, tmp_path):
  workdir = _workdir(tmp_path / "w", 150, relation=True)
  path = explorer.write_aum_explorer(workdir, svg_max=40)
  rows = _rows(workdir)
  # No WebGL: SVG, every 4th of the 150 examples (ceil(150 / 40) = 4).
  no_gl = ("const get = HTMLCanvasElement.prototype.getContext; HTMLCanvasElement.prototype"
           ".getContext = function (kind, ...a) { return /webgl/.test(kind) ? null : "
           "get.call(this, kind, ...a); };")
  page, errors = _open(browser, path, init_script=no_gl)
  assert page.evaluate("document.getElementById('map').data[0].type") == "scatter"
  assert page.evaluate(_PLOTTED) == 38
  assert "one example in 4 (38)" in page.inner_text("#plot-note")
  page.select_option("#table select", "all")
  page.fill("#table input[type=search]", "fabricates")
  page.click("#table tbody tr")
  assert page.inner_text("#details .ent-s") == "company & co"
  assert page.inner_text("#details .ent-o") == "chairs"
  assert page.inner_text("#details .text") == "The company & co fabricates <b>plastic</b> chairs ."
  assert rows[1]["label_name"] in page.inner_text("#details")
  assert errors == []
  page.close()


def test_mlrc_page_in_chromium(browser, tmp_path):
  workdir = _mlrc_workdir(tmp_path / "m")
  page, errors = _open(browser, explorer.write_mlrc_explorer(workdir))
  assert page.locator("#relations tbody tr").count() == 4
  assert page.locator("#runs tbody tr").count() == 6
  assert "collapsed" in page.inner_text("#runs tbody tr:first-child")  # 1 %, run 0.
  assert page.evaluate("document.getElementById('curve').data.length") == 4
  assert page.inner_text("#relations tbody tr:first-child td:first-child") == "A<b>&'rel"
  page.click("#relations th:nth-child(3)")  # Sort by baseline F1, ascending.
  assert page.inner_text("#relations tbody tr:first-child td:first-child") == (
      "Cause-Effect(e1,e2)")
  _screenshot(page, tmp_path, "explorer_mlrc.png")
  assert errors == []
  page.close()


def test_screenshot_bench_picks_the_searched_row(browser, tmp_path):
  """bench.tools.explorer_screenshot (the docs' figures): the row the search finds
  is the one it picks, and the PNG is written; a workdir that is neither AUM
  nor MLRC is a one-line error."""
  del browser  # Only for its skip: the script launches its own Chromium.
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  workdir = _workdir(tmp_path / "w", 120, relation=True)
  out = tmp_path / "shot.png"
  run = lambda *a: subprocess.run([sys.executable, "-m", "bench.tools.explorer_screenshot", *a],
                                  cwd=ROOT, capture_output=True, text=True, timeout=300,
                                  check=False)
  r = run(f"--workdir={workdir}", f"--out={out}", "--all", "--search=fabricates",
          f"--chromium={_chromium()}", "--pct=50")
  assert r.returncode == 0, r.stderr[-2000:]
  assert "picked: Example #" in r.stdout and "fabricates" in r.stdout
  assert f"{_flag_count(_rows(workdir), 50)} flagged" in r.stdout
  assert out.stat().st_size > 10_000
  r = run(f"--workdir={tmp_path}", f"--out={out}")
  assert r.returncode != 0 and r.stderr.strip().splitlines()[-1].startswith("error: ")
