r"""Load time of explorer.html in headless Chromium, synthetic AUM workdirs.

  python -m bench.speed.explorer_load            # 1k, 10k and 50k examples, 3 loads
  python -m bench.speed.explorer_load --sizes=1000,67349 --repeats=5 [--out=runs/bench/explorer.md]

Builds synthetic AUM workdirs (tests/synthetic_workdir.py: SST-2-like
sentence lengths, 20 % injected noise, both runs' dynamics, three
detectors; 67,349 is SST-2's training set) in a temporary folder, writes
each explorer.html and opens it `repeats` times in Debian's Chromium through
Playwright, a fresh page each time. Load: from navigation start to the
page's ready marker (data map, histogram and table drawn, one frame
painted), the page's own performance.now(); of which HTML: until the
page's script starts (the HTML and its JSON parsed); percentile step:
moving the control one step, until the next frame (count, redraw of the
data map and histogram, table); review mark: pressing "d" on the selected
row, until the next frame (mark, save to localStorage, table, details).
Medians, min-max in brackets. Prints a Markdown table; asserts nothing.
"""
import os
import shutil
import statistics
import sys
import tempfile
import time

from absl import flags

from bench import cli
from bench import output
from noisy_meta.reports import explorer
from tests import synthetic_workdir

_STEP = """async () => {
  const el = document.getElementById('pct'), t = performance.now();
  el.value = Number(el.value) - 1;
  el.dispatchEvent(new Event('input', {bubbles: true}));
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t; }"""
_MARK = """async () => {
  window.explorer.select(window.explorer.plotted()[0]);
  const t = performance.now();
  document.dispatchEvent(new KeyboardEvent('keydown', {key: 'd', bubbles: true}));
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t; }"""


def _stat(values, fmt="{:.0f}"):
  return (fmt.format(statistics.median(values)) + " (" + fmt.format(min(values)) + "–"
          + fmt.format(max(values)) + ")")


def measure(browser, path, repeats):
  """(load, HTML, percentile step, review mark) ms lists over `repeats` fresh pages."""
  load, lib, step, mark = [], [], [], []
  for _ in range(repeats):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))  # pylint: disable=cell-var-from-loop
    page.goto("file://" + os.path.abspath(path))
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
    if errors:
      raise RuntimeError(f"{path}: {errors}")
    load.append(page.evaluate("window.explorerReadyMs"))
    lib.append(page.evaluate("performance.getEntriesByName('explorer-start')[0].startTime"))
    step.append(page.evaluate(_STEP))
    mark.append(page.evaluate(_MARK))
    page.close()
  return load, lib, step, mark


def define_flags(fv):
  flags.DEFINE_list("sizes", ["1000", "10000", "50000"], "Examples per workdir.", flag_values=fv)
  flags.DEFINE_integer("repeats", 3, "Page loads per workdir.", flag_values=fv)
  flags.DEFINE_string("chromium", shutil.which("chromium") or "/usr/bin/chromium",
                      "The Chromium binary.", flag_values=fv)
  flags.DEFINE_string("out", "", "Also write the markdown table here.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  from playwright.sync_api import sync_playwright  # pylint: disable=g-import-not-at-top
  folder = tempfile.mkdtemp(prefix="explorer_load_")
  rows = []
  try:
    with sync_playwright() as p:
      browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
      version = browser.version
      for n in map(int, args.sizes):
        workdir = synthetic_workdir.synthetic_aum_workdir(os.path.join(folder, f"n{n}"), n)
        t = time.perf_counter()
        path = explorer.write_aum_explorer(workdir)
        build = time.perf_counter() - t
        load, lib, step, mark = measure(browser, path, args.repeats)
        rows.append(f"| {n:,} | {os.path.getsize(path) / 2**20:.2f} | {build:.1f} | "
                    f"{_stat(load)} | {_stat(lib)} | {_stat(step)} | {_stat(mark)} |")
        print("measured:", rows[-1], file=sys.stderr, flush=True)
      browser.close()
  finally:
    shutil.rmtree(folder, ignore_errors=True)
  output.publish("\n".join([
      "# explorer.html load time, headless Chromium", "", output.stamp("numpy"), "",
      f"Chromium {version} headless; {args.repeats} loads each, medians (min–max).", "",
      "| examples | explorer.html MB | build s (Python) | load ms | of which HTML ms "
      "| percentile step ms | review mark ms |", "|---:|---:|---:|---:|---:|---:|---:|"] + rows) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
