r"""Load time of explorer.html in headless Chromium, synthetic AUM workdirs.

  python bench/explorer_load.py                        # 10k and 67k examples, 3 loads
  python bench/explorer_load.py --sizes=1000 --repeats=5

Builds synthetic AUM workdirs (tests/synthetic_workdir.py: SST-2-like
sentence lengths, 20 % injected noise, both runs' dynamics, three
detectors; 67,349 is SST-2's training set) in a temporary folder, writes
each explorer.html and opens it `repeats` times in Debian's Chromium through
Playwright, a fresh page each time. Load: from navigation start to the
page's ready marker (data map, histogram and table drawn, one frame
painted), the page's own performance.now(); of which HTML + plotly.js:
until the page's script starts (the HTML and the inlined plotly.js
parsed); percentile step: moving the control one step, until the next
frame (count, recolour, table).
Medians, min-max in brackets. Prints a Markdown table; asserts nothing.
"""
import datetime
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from noisy_meta.reports import explorer  # pylint: disable=g-import-not-at-top
from tests import synthetic_workdir  # pylint: disable=g-import-not-at-top

_SIZES = flags.DEFINE_list("sizes", ["10000", "67349"], "Examples per workdir.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Page loads per workdir.")
_CHROMIUM = flags.DEFINE_string("chromium", shutil.which("chromium") or "/usr/bin/chromium",
                                "The Chromium binary.")

_STEP = """async () => {
  const el = document.getElementById('pct'), t = performance.now();
  el.value = Number(el.value) - 1;
  el.dispatchEvent(new Event('input', {bubbles: true}));
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t; }"""


def _cpu():
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
  except (OSError, StopIteration):
    return platform.processor() or "unknown CPU"


def _stat(values, fmt="{:.0f}"):
  return (fmt.format(statistics.median(values)) + " (" + fmt.format(min(values)) + "–"
          + fmt.format(max(values)) + ")")


def measure(browser, path, repeats):
  """(load ms, plotly.js ms, percentile-step ms) lists over `repeats` fresh pages."""
  load, lib, step = [], [], []
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
    page.close()
  return load, lib, step


def main(argv):
  del argv
  from playwright.sync_api import sync_playwright  # pylint: disable=g-import-not-at-top
  folder = tempfile.mkdtemp(prefix="explorer_load_")
  rows = []
  try:
    with sync_playwright() as p:
      browser = p.chromium.launch(executable_path=_CHROMIUM.value, args=["--no-sandbox"])
      version = browser.version
      for n in map(int, _SIZES.value):
        workdir = synthetic_workdir.synthetic_aum_workdir(os.path.join(folder, f"n{n}"), n)
        t = time.perf_counter()
        path = explorer.write_aum_explorer(workdir)
        build = time.perf_counter() - t
        load, lib, step = measure(browser, path, _REPEATS.value)
        rows.append(f"| {n:,} | {os.path.getsize(path) / 2**20:.1f} | {build:.1f} | "
                    f"{_stat(load)} | {_stat(lib)} | {_stat(step)} |")
        print("measured:", rows[-1], file=sys.stderr, flush=True)
      browser.close()
  finally:
    shutil.rmtree(folder, ignore_errors=True)
  load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
  print("\n".join([
      "# explorer.html load time, headless Chromium", "",
      f"{platform.machine()}, {os.cpu_count()} cores ({_cpu()}), load average "
      f"{load_avg:.1f} at the end; Chromium {version} headless (SwiftShader WebGL); "
      f"{datetime.date.today()}; {_REPEATS.value} loads each, medians (min–max).", "",
      "| examples | explorer.html MB | build s (Python) | load ms | of which HTML + plotly.js ms "
      "| percentile step ms |", "|---:|---:|---:|---:|---:|---:|"] + rows))


if __name__ == "__main__":
  app.run(main)
