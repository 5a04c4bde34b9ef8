r"""The explorer's review flow on a finished AUM workdir, in three screenshots (issue 35).

  python -m bench.tools.review_screenshots \
      --workdir=runs/bench/repair_cpu/cells/sst2_uniform_20_n1000 \
      --out=docs/figures --rerun=runs/review_rerun

1. Opens the workdir's explorer.html as it is (the workdir is only read) in
   Debian's Chromium through Playwright, shows the examples the job's
   detector flagged (AUM ascending, the page's default order), clicks the
   first row and reviews `--marks` rows with the page's keys, as a person
   would: `r` (label is right) for a row whose label was not changed by the
   injected noise, the original class's digit (relabel) for one that was,
   `d` (drop) for the second such row, and `j` (skip) on the third row. The
   reviewer here is played by the run's injected-noise mask, which a real
   reviewer does not have. Saves `<out>/review_marking.png`: the review bar
   and the table with the marks in its `review` column.
2. Clicks the page's "export corrections.csv" button, saves the download as
   `<rerun>/corrections.csv`, checks it against the page's
   `window.explorer.correctionsCsv()` and the marks made, and saves
   `<out>/review_export.png`: the page right after the export (table scope
   "marked in review") above the exported file as text.
3. Reruns the job with `--config.input.corrections=<rerun>/corrections.csv`
   into `--rerun`, reusing the finished AUM runs and out-of-fold models by
   copying `aum_run1/`, `aum_run2/` and `folds/` (docs/explorer.md, "Sending
   corrections back"). The config is the workdir's own config.json (loaded
   by `get_config` below, over configs/aum.py's defaults for fields the file
   lacks), with one retrain seed, no cleaning methods, no percentile sweep
   and no clean-label ceiling: the rerun trains only the unfiltered retrains
   on the corrected labels (clean/none_s0) and on the labels before
   (clean/uncorrected_s0). Prints the command; its log is `<rerun>/job.log`.
   Saves `<out>/review_rerun_report.png`: the rerun's report.md section
   "Corrections" rendered as HTML.

`--nojob` skips the rerun's training (its report.md must exist already).
"""
import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys

from absl import flags

_HERE = os.path.relpath(__file__, os.getcwd())


def get_config(arg):
  """The config in a finished workdir's config.json (`arg`: its path), over the
  current configs/aum.py defaults of its task (fields the file lacks, as
  input.corrections in an older file, keep those); lists become tuples, as
  the config files write them. Used as `--config=<this file>:<config.json>`."""
  from configs import aum  # pylint: disable=g-import-not-at-top
  with open(arg, encoding="utf-8") as f:
    stored = json.load(f)
  config = aum.get_config(None, task=stored["input"]["task"])

  def tuples(v):
    return tuple(tuples(x) for x in v) if isinstance(v, list) else v

  def overlay(c, d):
    with c.unlocked():
      for k, v in d.items():
        if isinstance(v, dict) and k in c and hasattr(c[k], "unlocked"):
          overlay(c[k], v)
        else:
          if k in c:
            try:
              c[k] = tuples(v)
              continue
            except TypeError:  # Another type than the default's (e.g. None there).
              del c[k]
          c[k] = tuples(v)

  overlay(config, stored)
  return config


def define_flags(fv):
  flags.DEFINE_string("workdir", None, "A finished AUM workdir (examples.csv, explorer.html).",
                      flag_values=fv)
  flags.DEFINE_string("out", None, "Folder of the three PNGs.", flag_values=fv)
  flags.DEFINE_string("rerun", None, "The new workdir of the corrected rerun.", flag_values=fv)
  flags.DEFINE_integer("marks", 10, "How many table rows to review (one of them skipped).",
                       flag_values=fv)
  flags.DEFINE_bool("job", True, "Run the corrected job (--nojob: only read its report.md).",
                    flag_values=fv)
  flags.DEFINE_string("chromium", shutil.which("chromium") or "/usr/bin/chromium",
                      "The Chromium binary.", flag_values=fv)
  flags.DEFINE_integer("width", 1300, "Viewport width in pixels.", flag_values=fv)


def main(argv=None):
  from bench import cli  # pylint: disable=g-import-not-at-top
  from noisy_meta.core import errors  # pylint: disable=g-import-not-at-top
  args = cli.parse(argv, define_flags, __doc__, required=("workdir", "out", "rerun"))
  try:
    run(args)
  except errors.InputError as e:
    raise SystemExit(f"error: {e}") from None


def _rows(workdir):
  with open(os.path.join(workdir, "examples.csv"), newline="", encoding="utf-8") as f:
    return {int(r["id"]): r for r in csv.DictReader(f)}


def _decide(rows, ids, n):
  """The review of table rows `ids` (in order): [(id, key, decision, new label
  name)], the injected-noise mask as the reviewer; row 2 skipped."""
  out, noisy_seen = [], 0
  for k, i in enumerate(ids[:n]):
    r = rows[i]
    if k == 2:
      out.append((i, "j", "", ""))
    elif r["noisy"] == "1" and int(r["original_label"]) <= 9:
      noisy_seen += 1
      if noisy_seen == 2:
        out.append((i, "d", "drop", ""))
      else:
        out.append((i, r["original_label"], "relabel", r["original_label_name"]))
    else:
      out.append((i, "r", "keep", ""))
  return out


def _table_ids(page):
  return [int(t) for t in page.eval_on_selector_all(
      "#table tbody tr td:nth-child(2)", "els => els.map(e => e.textContent.trim())")]


def _clip(page, top_sel, bottom_sel, width, pad=8):
  """The page region from `top_sel`'s top to `bottom_sel`'s bottom, full width."""
  top = page.eval_on_selector(top_sel, "e => e.getBoundingClientRect().top + window.scrollY")
  bottom = page.eval_on_selector(bottom_sel,
                                 "e => e.getBoundingClientRect().bottom + window.scrollY")
  return dict(x=0, y=max(0, top - pad), width=width, height=bottom - top + 2 * pad)


def _md_inline(s):
  s = html.escape(s, quote=False)
  s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
  return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)


def md_section_html(text, heading):
  """One `## heading` section of a markdown file as simple HTML: paragraphs,
  `-` lists, pipe tables, **bold** and `code` (all report.md uses there)."""
  lines = text.splitlines()
  start = next((k for k, l in enumerate(lines) if l.startswith("## ") and heading in l), None)
  if start is None:
    return None
  end = next((k for k in range(start + 1, len(lines)) if lines[k].startswith("## ")), len(lines))
  out, body, k = [f"<h2>{_md_inline(lines[start][3:])}</h2>"], lines[start + 1:end], 0
  while k < len(body):
    line = body[k]
    if line.startswith("|"):
      block = []
      while k < len(body) and body[k].startswith("|"):
        block.append([c.strip() for c in body[k].strip().strip("|").split("|")])
        k += 1
      head, rows = block[0], [r for r in block[1:] if not all(set(c) <= set("-:") for c in r)]
      out.append("<table><tr>" + "".join(f"<th>{_md_inline(c)}</th>" for c in head) + "</tr>"
                 + "".join("<tr>" + "".join(f"<td>{_md_inline(c)}</td>" for c in r) + "</tr>"
                           for r in rows) + "</table>")
      continue
    if line.startswith("- "):
      items = []
      while k < len(body) and body[k].startswith("- "):
        items.append(f"<li>{_md_inline(body[k][2:])}</li>")
        k += 1
      out.append("<ul>" + "".join(items) + "</ul>")
      continue
    if line.strip():
      para = []
      while k < len(body) and body[k].strip() and not body[k].startswith(("|", "- ")):
        para.append(body[k])
        k += 1
      out.append(f"<p>{_md_inline(' '.join(para))}</p>")
      continue
    k += 1
  return "\n".join(out)


_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:16px;color:#1a1d23;max-width:%dpx}
h1{font-size:17px;margin:0 0 6px}h2{font-size:16px;margin:10px 0 6px}.sub{color:#555;margin:0 0 10px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccd;padding:3px 8px}
th{background:#eef0f5}td:not(:first-child){text-align:right}
code,pre{font:12.5px/1.35 ui-monospace,monospace}pre{background:#f5f6f8;border:1px solid #dde;
padding:8px;white-space:pre-wrap;word-break:break-all;margin:6px 0}
img{border:1px solid #ccd;max-width:100%%}"""


def _shoot_html(browser, body, path, width):
  page = browser.new_page(viewport={"width": width, "height": 400})
  page.set_content(f"<!doctype html><meta charset=utf-8><style>{_CSS % (width - 40)}</style>"
                   f"<body>{body}</body>")
  h = page.evaluate("document.body.getBoundingClientRect().bottom") + 16
  page.screenshot(path=path, full_page=True, clip=dict(x=0, y=0, width=width, height=h))
  page.close()


def _rerun_command(args, csv_path):
  return [sys.executable, "-m", "noisy_meta.main",
          f"--config={_HERE}:{os.path.join(args.workdir, 'config.json')}",
          f"--workdir={args.rerun}", "--config.clean.seeds=(0,)", "--config.clean.methods=()",
          "--config.clean.percentiles=()", "--config.clean.ceiling=False",
          f"--config.input.corrections={csv_path}"]


def run(args):
  from noisy_meta.core import errors  # pylint: disable=g-import-not-at-top
  page_path = os.path.join(args.workdir, "explorer.html")
  for need in ("examples.csv", "explorer.html", "config.json"):
    if not os.path.exists(os.path.join(args.workdir, need)):
      raise errors.InputError(f"{args.workdir}: no {need}; is it a finished AUM workdir?")
  if os.path.abspath(args.rerun) == os.path.abspath(args.workdir):
    raise errors.InputError("--rerun must be a new workdir, not --workdir.")
  if not os.path.exists(args.chromium):
    raise errors.InputError(f"--chromium={args.chromium}: no such binary "
                            "(apt-get install chromium).")
  try:
    from playwright import sync_api  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise errors.InputError("playwright is not installed (pip install -e .[test])") from None
  rows = _rows(args.workdir)
  if not rows or rows[0]["noisy"] == "":
    raise errors.InputError(f"{args.workdir}: no injected noise; the reviewer here is the "
                            "noise mask.")
  os.makedirs(args.out, exist_ok=True)
  os.makedirs(args.rerun, exist_ok=True)
  csv_path = os.path.join(args.rerun, "corrections.csv")
  shots = [os.path.join(args.out, f"review_{n}.png") for n in ("marking", "export",
                                                                  "rerun_report")]
  problems = []
  with sync_api.sync_playwright() as p:
    browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": args.width, "height": 1000},
                            accept_downloads=True)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("file://" + os.path.abspath(page_path))
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
    scopes = page.eval_on_selector_all("#table select option", "os => os.map(o => o.value)")
    if "job" in scopes:  # The job's own flags (its detector), else the percentile's.
      page.select_option("#table select", "job")
    ids = _table_ids(page)
    review = _decide(rows, ids, args.marks)
    print(f"table: {page.inner_text('#table-title')}; {len(ids)} rows on its first page")
    page.click("#table tbody tr:nth-child(1) td:nth-child(3)")  # Selects row 1, focus off the select.
    for i, key, decision, new in review:
      page.keyboard.press(key)
      print(f"  id {i}: key {key!r} -> {decision or 'skipped'} {new}".rstrip(),
            f"(given {rows[i]['label_name']}, injected: {rows[i]['noisy'] == '1'})")
    want = {i: (d, new) for i, _, d, new in review if d}
    got = {int(r["id"]): (r["decision"], r["new_label"]) for r in csv.DictReader(
        io.StringIO(page.evaluate("window.explorer.correctionsCsv()")))}
    if got != want:
      raise RuntimeError(f"the page's marks {got} are not the review made {want}")
    page.select_option("#color-by", "review")
    last = min(len(review) + 3, len(ids))
    page.screenshot(path=shots[0], full_page=True, clip=_clip(page, "#table-title",
                                              f"#table tbody tr:nth-child({last})", args.width))
    # 2. Export: the page's button, the browser's download saved into the rerun folder.
    with page.expect_download() as dl:
      page.click("#export")
    dl.value.save_as(csv_path)
    text = open(csv_path, encoding="utf-8", newline="").read()
    if text != page.evaluate("window.explorer.correctionsCsv()"):
      raise RuntimeError("the downloaded corrections.csv differs from correctionsCsv()")
    page.select_option("#table select", "marked")
    tmp = os.path.join(args.rerun, "export_page.png")
    page.screenshot(path=tmp, full_page=True, clip=_clip(page, "#table-title", "#table table", args.width))
    import base64  # pylint: disable=g-import-not-at-top
    img = base64.b64encode(open(tmp, "rb").read()).decode()
    os.remove(tmp)
    _shoot_html(browser, (
        "<h1>After “export corrections.csv”: the page (table: marked in review) and the "
        "downloaded file</h1>"
        f"<img src='data:image/png;base64,{img}'>"
        f"<p class=sub>{html.escape(csv_path)} ({len(text.encode())} bytes, {len(want)} rows, "
        "CRLF line ends)</p>"
        f"<pre>{html.escape(text)}</pre>"), shots[1], args.width)
    page.close()
    # 3. The corrected rerun, reusing the finished AUM runs and folds.
    cmd = _rerun_command(args, csv_path)
    if args.job:
      for stage in ("aum_run1", "aum_run2", "folds"):
        src, dst = os.path.join(args.workdir, stage), os.path.join(args.rerun, stage)
        if os.path.isdir(src) and not os.path.exists(dst):
          shutil.copytree(src, dst)
      print("rerun:", " ".join(cmd), f"> {os.path.join(args.rerun, 'job.log')} 2>&1",
            flush=True)
      with open(os.path.join(args.rerun, "job.log"), "w", encoding="utf-8") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
      if rc:
        tail = open(os.path.join(args.rerun, "job.log"), encoding="utf-8").read()[-3000:]
        raise RuntimeError(f"the rerun failed (exit {rc}):\n{tail}")
    report = os.path.join(args.rerun, "report.md")
    if not os.path.exists(report):
      raise errors.InputError(f"{report}: none; run without --nojob.")
    section = md_section_html(open(report, encoding="utf-8").read(), "Corrections")
    if section is None:
      raise errors.InputError(f"{report}: no Corrections section (was it run with "
                              "input.corrections?)")
    _shoot_html(browser, f"<h1>{html.escape(report)}</h1>{section}", shots[2], 1000)
    browser.close()
  if problems:
    raise RuntimeError(f"page errors: {problems}")
  for s in shots:
    print(f"wrote {s} ({os.path.getsize(s) // 1024} KB)")


if __name__ == "__main__":
  from bench import cli as _cli  # pylint: disable=g-import-not-at-top
  _cli.run(main)
