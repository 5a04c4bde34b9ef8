r"""A screenshot of a finished AUM or MLRC workdir's explorer.html (the docs' figures).

  python -m bench.tools.explorer_screenshot --workdir=runs/aum_sst2_10k_n20 \
      --out=docs/figures/explorer_sst2.png --pct=90 --row=0
  python -m bench.tools.explorer_screenshot --workdir=runs/aum_re/pa_orig --out=/tmp/re.png --search=Other

Writes the workdir's explorer.html again (the current page code), opens it in
Debian's Chromium through Playwright, sets the percentile control to `--pct`,
optionally types `--search` into the table's search box, clicks row `--row`
of the table (its details panel then shows that example, and the data map
rings it) and saves a screenshot of the top `--height` pixels. Prints which example it picked.
"""
import os
import shutil

from absl import flags

from bench import cli
from bench import output
from noisy_meta.core import errors
from noisy_meta.reports import explorer

_SET = "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }"


def define_flags(fv):
  flags.DEFINE_string("workdir", None, "A finished AUM (or MLRC) workdir.", flag_values=fv)
  flags.DEFINE_string("out", None, "The PNG to write.", flag_values=fv)
  flags.DEFINE_integer("pct", 0, "Percentile control (0: the page's default).", flag_values=fv)
  flags.DEFINE_integer("row", 0, "Table row to click (-1: none).", flag_values=fv)
  flags.DEFINE_string("search", "", "Text typed into the table's search box first.",
                      flag_values=fv)
  flags.DEFINE_bool("all", False, "Show every example in the table, not the flagged.",
                    flag_values=fv)
  flags.DEFINE_string("chromium", shutil.which("chromium") or "/usr/bin/chromium",
                      "The Chromium binary.", flag_values=fv)
  flags.DEFINE_integer("width", 1300, "Viewport width in pixels.", flag_values=fv)
  flags.DEFINE_integer("height", 1500, "Viewport height (the screenshot's; 0: the whole page).",
                       flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("workdir", "out"))
  try:
    shoot(args)
  except errors.InputError as e:
    raise SystemExit(f"error: {e}") from None


def shoot(args):
  """Writes the page, sets its controls as `args` say, saves the screenshot."""
  workdir = args.workdir
  if os.path.exists(os.path.join(workdir, "examples.csv")):
    page_path = explorer.write_aum_explorer(workdir)
  elif os.path.exists(os.path.join(workdir, "results.json")):
    page_path = explorer.write_mlrc_explorer(workdir)
  else:
    raise errors.InputError(f"{workdir}: neither examples.csv (AUM) nor results.json (MLRC); "
                            "is it a finished workdir?")
  if not os.path.exists(args.chromium):
    raise errors.InputError(f"--chromium={args.chromium}: no such binary "
                            "(apt-get install chromium).")
  try:
    from playwright import sync_api  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise errors.InputError("playwright is not installed (pip install -e .[test])") from None
  with sync_api.sync_playwright() as p:
    browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": args.width, "height": args.height or 1000})
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("file://" + os.path.abspath(page_path))
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
    if page.query_selector("#pct") is not None:
      if args.pct:
        page.eval_on_selector("#pct", _SET, args.pct)
      if args.all:
        page.select_option("#table select", "all")
      if args.search:
        page.fill("#table input[type=search]", args.search)
      rows = page.query_selector_all("#table tbody tr")
      if args.row >= 0:
        if args.row >= len(rows):
          raise errors.InputError(f"--row={args.row}: the table shows {len(rows)} rows.")
        rows[args.row].click()
        page.wait_for_selector("#details .text")
        print("picked:", page.inner_text("#details h3"), "|", page.inner_text("#details .text"))
      print("flagged:", page.inner_text("#flagged-count"))
    page.evaluate("window.scrollTo(0, 0)")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    page.screenshot(path=args.out, full_page=not args.height)
    browser.close()
  if problems:
    raise RuntimeError(f"page errors: {problems}")
  output.done(args.out, page_path)


if __name__ == "__main__":
  cli.run(main)
