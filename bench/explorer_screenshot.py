r"""A screenshot of a finished AUM or MLRC workdir's explorer.html (the docs' figures).

  python bench/explorer_screenshot.py --workdir=runs/aum_sst2_10k_n20 \
      --out=docs/figures/explorer_sst2.png --pct=90 --row=0
  python bench/explorer_screenshot.py --workdir=runs/aum_re/pa_orig --out=/tmp/re.png --search=Other

Writes the workdir's explorer.html again (the current page code), opens it in
Debian's Chromium through Playwright, sets the percentile control to `--pct`,
optionally types `--search` into the table's search box, clicks row `--row`
of the table (its details panel then shows that example, and the data map
rings it) and saves a screenshot of the top `--height` pixels. Prints which example it picked.
"""
import os
import shutil
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from noisy_meta.core import errors  # pylint: disable=g-import-not-at-top
from noisy_meta.reports import explorer  # pylint: disable=g-import-not-at-top

_WORKDIR = flags.DEFINE_string("workdir", None, "A finished AUM (or MLRC) workdir.")
_OUT = flags.DEFINE_string("out", None, "The PNG to write.")
_PCT = flags.DEFINE_integer("pct", 0, "Percentile control (0: the page's default).")
_ROW = flags.DEFINE_integer("row", 0, "Table row to click (-1: none).")
_SEARCH = flags.DEFINE_string("search", "", "Text typed into the table's search box first.")
_ALL = flags.DEFINE_bool("all", False, "Show every example in the table, not the flagged.")
_CHROMIUM = flags.DEFINE_string("chromium", shutil.which("chromium") or "/usr/bin/chromium",
                                "The Chromium binary.")
_WIDTH = flags.DEFINE_integer("width", 1300, "Viewport width in pixels.")
_HEIGHT = flags.DEFINE_integer("height", 1500, "Viewport height (the screenshot's; 0: the whole page).")

_SET = "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }"


def main(argv):
  del argv
  if not _WORKDIR.value or not _OUT.value:
    raise errors.InputError("--workdir and --out are required.")
  workdir = _WORKDIR.value
  if os.path.exists(os.path.join(workdir, "examples.csv")):
    page_path = explorer.write_aum_explorer(workdir)
  elif os.path.exists(os.path.join(workdir, "results.json")):
    page_path = explorer.write_mlrc_explorer(workdir)
  else:
    raise errors.InputError(f"{workdir}: neither examples.csv (AUM) nor results.json (MLRC); "
                            "is it a finished workdir?")
  if not os.path.exists(_CHROMIUM.value):
    raise errors.InputError(f"--chromium={_CHROMIUM.value}: no such binary "
                            "(apt-get install chromium).")
  try:
    from playwright import sync_api  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise errors.InputError("playwright is not installed (pip install -e .[test])") from None
  with sync_api.sync_playwright() as p:
    browser = p.chromium.launch(executable_path=_CHROMIUM.value, args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": _WIDTH.value, "height": _HEIGHT.value or 1000})
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("file://" + os.path.abspath(page_path))
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
    if page.query_selector("#pct") is not None:
      if _PCT.value:
        page.eval_on_selector("#pct", _SET, _PCT.value)
      if _ALL.value:
        page.select_option("#table select", "all")
      if _SEARCH.value:
        page.fill("#table input[type=search]", _SEARCH.value)
      rows = page.query_selector_all("#table tbody tr")
      if _ROW.value >= 0:
        if _ROW.value >= len(rows):
          raise errors.InputError(f"--row={_ROW.value}: the table shows {len(rows)} rows.")
        rows[_ROW.value].click()
        page.wait_for_selector("#details .text")
        print("picked:", page.inner_text("#details h3"), "|", page.inner_text("#details .text"))
      print("flagged:", page.inner_text("#flagged-count"))
    page.evaluate("window.scrollTo(0, 0)")
    os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
    page.screenshot(path=_OUT.value, full_page=not _HEIGHT.value)
    browser.close()
  if problems:
    raise RuntimeError(f"page errors: {problems}")
  print(f"screenshot: {_OUT.value} (page: {page_path})")


def _main(argv):
  try:
    main(argv)
  except errors.InputError as e:
    raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
  app.run(_main)
