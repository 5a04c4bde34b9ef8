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
  assert "plotly" not in page.lower() and len(page) < 200_000  # Own plots, no library.
  # The only script ends are the page's own two; the blob has no '<' at all.
  assert len(re.findall(r"</script", page, re.I)) == len(re.findall(r"<script", page, re.I)) == 2
  blob = re.search(r'id="explorer-data">(.*?)</script>', page, re.S).group(1)
  assert "<" not in blob and ">" not in blob
  rows = _rows(workdir)
  cols = data["cols"]
  assert data["n"] == len(rows) == len(cols["html"]) == len(cols["aum"]) == 200
  assert data["plot_idx"] is None  # Every example plotted.
  assert data["run_key"] == explorer.digest(workdir) and len(data["run_key"]) == 16
  assert data["banners"] == [] and data["chosen_detector"] == "aum"
  assert data["flagged"] == "".join(r["flagged"] for r in rows)
  assert data["score_flagged"] == pytest.approx([float(r["score_aum"]) for r in rows], abs=6e-5)
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


_PLOTTED = "window.explorer.plotted().length"
_SET_PCT = "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }"


def _count(page):
  return int(re.match(r"(\d+) flagged", page.inner_text("#flagged-count")).group(1))


def _pixels(page):
  """Each plotted example's (x, y) on the page, from the data map's own scales."""
  return np.array(page.evaluate("""() => {
    const s = window.explorer.scatter, r = s.top.getBoundingClientRect();
    return Array.from(s.x, (x, k) => [r.left + s.px(x), r.top + s.py(s.y[k])]); }"""))


def test_aum_page_in_chromium(browser, tmp_path):
  workdir = _workdir(tmp_path / "w", 400)
  rows = _rows(workdir)
  page, errors = _open(browser, explorer.write_aum_explorer(workdir))
  assert page.evaluate(_PLOTTED) == len(rows)
  # The percentile control: the run's percentiles as examples.csv says, and
  # the ones between as aum_lib computes them from the runs' dynamics.
  for p in PCTS:
    page.eval_on_selector("#pct", _SET_PCT, p)
    assert _count(page) == _flag_count(rows, p), p
    assert f"of {_flag_count(rows, p)}" in page.inner_text("#table .count")
  page.eval_on_selector("#pct", _SET_PCT, 37)
  assert _count(page) == _reference_count(workdir, 37)
  page.focus("#pct")
  page.keyboard.press("ArrowLeft")
  assert page.inner_text("#pct-value") == "p36"
  assert _count(page) == _reference_count(workdir, 36)
  # Click the most isolated point of the data map (pixels from the map's scales,
  # checked against examples.csv's values).
  xy = _pixels(page)
  dist = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(xy)) * 1e9
  i = int(dist.min(1).argmax())
  page.mouse.move(*xy[i])
  page.wait_for_timeout(50)
  page.mouse.click(*xy[i])
  page.wait_for_selector("#details .text")
  assert page.inner_text("#details h3").startswith(f"Example #{rows[i]['id']}")
  assert page.inner_text("#details .text") == rows[i]["text"]
  assert page.evaluate("window.explorer.scatter.ring") == i
  # A box dragged on the map filters the table to the flagged examples in it.
  page.eval_on_selector("#pct", _SET_PCT, 90)
  box = page.evaluate("""() => { const s = window.explorer.scatter,
    r = s.top.getBoundingClientRect(); return [r.left + 56, r.top + 30, s.w, s.h]; }""")
  left, top, width, height = box
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
  page.click("#table tbody tr td:nth-child(3)")
  assert page.inner_text("#details .text") == NASTY
  assert page.evaluate("window.__pwned") is None
  page.evaluate("window.scrollTo(0, 0)")
  _screenshot(page, tmp_path, "explorer_aum.png")
  assert errors == []
  page.close()


def test_headline_banners_histogram_and_exact_id_search(browser, tmp_path):
  """The headline is examples.csv's `flagged` count and names the detector;
  smoke and collapsed runs get banners; the histogram's axis holds every
  value; '#4' finds id 4 only."""
  workdir = _workdir(tmp_path / "w", 300, chosen="cleanlab", runlocal=True,
                     collapsed=("none_s0",))
  rows = _rows(workdir)
  page, errors = _open(browser, explorer.write_aum_explorer(workdir))
  head = page.inner_text("#headline")
  assert int(page.inner_text("#headline-count")) == sum(r["flagged"] == "1" for r in rows)
  assert sum(r["flagged"] == "1" for r in rows) == sum(r["flag_cleanlab"] == "1" for r in rows)
  assert "cleanlab detector" in head
  # Why, and the runner-up's cut beside it (noisy_meta/reports/why.py).
  n_aum = sum(r["flag_aum"] == "1" for r in rows)
  assert page.inner_text("#headline-why") == (
      f"The job flags by cleanlab's own cut. Runner-up: aum, whose own cut flags {n_aum} "
      "(colour by its flag to compare).")
  banners = page.locator("#banners .banner").all_inner_texts()
  assert len(banners) == 2 and banners[0].startswith("Smoke run (:runlocal)")
  assert banners[1].startswith("Collapsed classifiers: 1 of 1 runs (none_s0)")
  lo, hi = page.evaluate("[window.explorer.histRange().lo, window.explorer.histRange().hi]")
  plotted = page.evaluate("window.explorer.series().flatMap((s) => s.values)")
  fake = np.concatenate([np.load(os.path.join(workdir, f"aum_run{k}", "dynamics.npz"))["aum"][
      np.load(os.path.join(workdir, f"aum_run{k}", "dynamics.npz"))["threshold_idx"]]
      for k in (1, 2)])
  assert lo <= min(plotted) and max(plotted) <= hi
  assert lo <= fake.min() + 1e-4 and fake.max() - 1e-4 <= hi
  page.select_option("#table select", "all")
  for query, ids in (("#4", ["4"]), ("# 12", ["12"]), ("#299", ["299"]), ("#999", [])):
    page.fill("#table input[type=search]", query)
    got = page.locator("#table tbody tr td:nth-child(2)").all_inner_texts()
    assert got == ids, query
  assert errors == []
  page.close()


def test_review_marks_export_reload_import(browser, tmp_path):
  """Marks by keys and buttons, corrections.csv's contents, kept across a
  reload (localStorage under the run's digest), cleared, then imported back."""
  workdir = _workdir(tmp_path / "w", 120, relation=True)
  rows = _rows(workdir)
  _, data = _blob(explorer.write_aum_explorer(workdir))
  label_names = data["label_names"]
  page, errors = _open(browser, os.path.join(workdir, "explorer.html"))
  page.select_option("#table select", "all")
  page.click("#table th:nth-child(2)")  # Sort by id, ascending.
  page.click("#table tbody tr:nth-child(1) td:nth-child(3)")  # Row id 0, selected.
  page.keyboard.press("2")  # Relabel id 0 to class 2; on to id 1.
  page.keyboard.press("d")  # Drop id 1; on to id 2.
  page.keyboard.press("j")  # Skip id 2.
  page.keyboard.press("r")  # Id 3: label is right; on to id 4.
  page.keyboard.press("k")  # Back to id 3...
  page.keyboard.press("ArrowDown")  # ... and on to id 4 again,
  page.click("#details button[data-act='drop']")  # dropped by its button.
  # Bulk: check ids 5 and 6, relabel both to class 1.
  page.click("#table tbody tr:nth-child(6) input[type=checkbox]")
  page.click("#table tbody tr:nth-child(7) input[type=checkbox]")
  page.select_option("#bulk-label", "1")
  page.click("#bulk-relabel")
  expect = {0: ("relabel", 2), 1: ("drop", None), 3: ("keep", None), 4: ("drop", None),
            5: ("relabel", 1), 6: ("relabel", 1)}
  for i in (5, 6):  # Relabelling to the given label says the label is right.
    if int(rows[i]["label"]) == 1:
      expect[i] = ("keep", None)
  if int(rows[0]["label"]) == 2:
    expect[0] = ("keep", None)
  with page.expect_download() as dl:
    page.click("#export")
  path = dl.value.path()
  assert dl.value.suggested_filename == "corrections.csv"
  with open(path, newline="", encoding="utf-8") as f:
    got = list(csv.DictReader(f))
  with open(path, newline="", encoding="utf-8") as f:
    assert next(csv.reader(f)) == ["id", "where", "given", "decision", "new_label", "score_aum",
                                   "score_flagged", "detector"]
  assert [int(r["id"]) for r in got] == sorted(expect)
  for r in got:
    i = int(r["id"])
    d, to = expect[i]
    assert r["decision"] == d and r["new_label"] == (label_names[to] if to is not None else "")
    assert r["where"] == rows[i]["source"] and r["given"] == rows[i]["label_name"]
    assert float(r["score_aum"]) == pytest.approx(float(rows[i]["aum"]), abs=1e-4)
    assert float(r["score_flagged"]) == pytest.approx(float(rows[i]["score_aum"]), abs=1e-4)
    assert r["detector"] == "aum"
  assert page.evaluate("window.explorer.correctionsCsv()") == open(
      path, newline="", encoding="utf-8").read()
  # Kept across a reload.
  page.reload()
  page.wait_for_function("document.body.dataset.ready === '1'")
  assert page.evaluate("window.explorer.marks().size") == len(expect)
  page.select_option("#table select", "marked")
  assert page.inner_text("#table .count") == f"rows 1\u2013{len(expect)} of {len(expect)}"
  # Cleared (bulk over the view), gone after a reload too; then imported back.
  page.select_option("#bulk-scope", "view")
  page.click("#bulk-clear")
  page.reload()
  page.wait_for_function("document.body.dataset.ready === '1'")
  assert page.evaluate("window.explorer.marks().size") == 0
  extra = tmp_path / "corrections.csv"
  extra.write_text(open(path, encoding="utf-8").read() + "99999,x,y,drop,,,,aum\r\n",
                   encoding="utf-8")
  page.set_input_files("#import", str(extra))
  page.wait_for_function("document.getElementById('review-status').textContent.includes('import')")
  assert page.inner_text("#review-status") == (
      f"imported {len(expect)} marks; skipped 1: unknown id 99999")
  assert page.evaluate("window.explorer.correctionsCsv()") == open(
      path, newline="", encoding="utf-8").read()
  page.select_option("#color-by", "review")
  _screenshot(page, tmp_path, "explorer_review.png")
  assert errors == []
  page.close()


def test_relation_page_in_chromium(browser, tmp_path):
  workdir = _workdir(tmp_path / "w", 150, relation=True)
  rows = _rows(workdir)
  page, errors = _open(browser, explorer.write_aum_explorer(workdir))
  assert page.evaluate(_PLOTTED) == 150
  page.select_option("#table select", "all")
  page.fill("#table input[type=search]", "fabricates")
  page.click("#table tbody tr td:nth-child(3)")
  assert page.inner_text("#details .ent-s") == "company & co"
  assert page.inner_text("#details .ent-o") == "chairs"
  assert page.inner_text("#details .text") == "The company & co fabricates <b>plastic</b> chairs ."
  assert rows[1]["label_name"] in page.inner_text("#details")
  assert errors == []
  page.close()


def test_api_page_gets_every_percentile_and_suggestions(browser, tmp_path):
  """A page from analyze.from_logits with two runs' threshold samples: with
  explorer_runs.npz (save_runs) it has the full slider, the fake-class
  histogram and multi-class suggestions."""
  from noisy_meta import analyze  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  n, c, e = 240, 3, 4
  labels = rng.integers(c, size=n)
  thr = analyze.threshold_ids(labels, c)
  logits = [rng.normal(size=(e, n, c + 1)).astype(np.float32) for _ in thr]
  for lg, t in zip(logits, thr):
    lg[:, np.arange(n), labels] += 2
    lg[:, t, c] += 3
  workdir = str(tmp_path / "api")
  analyze.from_logits(logits, labels, list(thr), texts=[f"text {i}" for i in range(n)],
                      workdir=workdir)
  runs = [analyze._run_arrays(lg, labels.astype(np.int32), c, t, None)  # pylint: disable=protected-access
          for lg, t in zip(logits, thr)]
  explorer.save_runs(workdir, runs)
  _, data = _blob(explorer.write_aum_explorer(workdir))
  assert data["levels"] == list(range(101)) and data["levels_note"] == ""
  assert len(data["fake_aum"]) == sum(len(t) for t in thr)
  rows = _rows(workdir)
  judged = np.array([int(r["judged_in_run"]) for r in rows])
  other = np.where(judged == 1, runs[0]["other_EN"][-1], runs[1]["other_EN"][-1])
  assert data["cols"]["suggest"] == other.tolist()
  page, errors = _open(browser, os.path.join(workdir, "explorer.html"))
  assert page.eval_on_selector("#pct", "el => [el.min, el.max]") == ["0", "100"]
  assert "fake class" in page.inner_text("#hist")
  assert page.locator("#table th", has_text="suggested").count() == 1
  assert errors == []
  page.close()


def test_mlrc_page_in_chromium(browser, tmp_path):
  workdir = _mlrc_workdir(tmp_path / "m")
  page, errors = _open(browser, explorer.write_mlrc_explorer(workdir))
  assert page.locator("#relations tbody tr").count() == 4
  assert page.locator("#runs tbody tr").count() == 6
  assert "collapsed" in page.inner_text("#runs tbody tr:first-child")  # 1 %, run 0.
  assert page.locator("#curve g.series").count() == 4
  assert page.locator("#curve g.pt path").count() == 1  # The collapsed run: a cross.
  assert page.inner_text("#relations tbody tr:first-child td:first-child") == "A<b>&'rel"
  page.click("#relations th:nth-child(3)")  # Sort by baseline F1, ascending.
  assert page.inner_text("#relations tbody tr:first-child td:first-child") == (
      "Cause-Effect(e1,e2)")
  _screenshot(page, tmp_path, "explorer_mlrc.png")
  assert errors == []
  page.close()


@pytest.mark.job
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
