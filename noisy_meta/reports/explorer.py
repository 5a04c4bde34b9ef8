r"""explorer.html: one self-contained, offline, interactive page per workdir.

An AUM workdir's page shows the data map (variability x confidence) coloured
by AUM or by flag, injected noise as crosses; a percentile control that
recolours and counts the flagged examples; a sortable, searchable, paged
table of the flagged examples linked to the plot; a details panel (text with
relation entities highlighted, labels, suggested label, AUM and data-map
statistics); the AUM histograms of threshold samples vs the rest; detection
metrics against the injected noise. An MLRC workdir's page shows F1 against
the training fraction (baseline vs MLRC, per-run values on hover), the
per-relation table at the smallest fraction and the per-run table.

  python -m noisy_meta.reports.explorer runs/aum_sst2 runs/mlrc_semeval

The review marks each example "relabel to X", "drop" or "label is right"
(kept in the browser's localStorage under the run's digest, exported and
imported as corrections.csv). Plots, table, controls and review are plain
hand-written JavaScript in assets/ (plot.js: canvas data map, SVG
histogram and curve; common.js, aum.js, mlrc.js), no library: the page
stays small (docs/explorer.md: why). assets/page.html lays them out with
page.css and the kind's body. The data is one JSON
blob in the page, with `<`, `>` and `&` escaped so no text can end its
script element. Pure readers of a finished workdir: docs/explorer.md. The
jobs call `write_*_explorer_or_warn` after writing their reports, so no
report module imports this one.
"""
import csv
import hashlib
import html
import importlib.resources
import json
import os
import re
import sys

from absl import logging
import numpy as np

from noisy_meta import aum_lib
from noisy_meta.core import atomic
from noisy_meta.reports import aum_examples
from noisy_meta.reports import mlrc_report
from noisy_meta.reports import report_common as common
from noisy_meta.reports import why

# The data map (a canvas) draws every example up to this many (load times
# in docs/explorer.md); a larger run plots a uniform sample of this size
# (seed 0). The table always has every example.
MAX_PLOT_POINTS = 100_000
NAME = "explorer.html"
# The runs' AUM for pages made from logits (analyze.from_logits has no
# aum_run*/ folders): save_runs writes it, _load_dynamics reads it.
RUNS_FILE = "explorer_runs.npz"

_ENTITY = re.compile(r"\[([SO]) ([^\]]*)\]")
_EXTRA_COLUMNS = ("id", "source", "original_label", "judged_in_run", "threshold_sample_run1",
                  "threshold_sample_run2")


def text_html(text, entities=False):
  """`text` HTML-escaped; with `entities`, relation markers `[S ...]` and
  `[O ...]` become `<span class="ent ent-s">...</span>` (and ent-o)."""
  if not entities:
    return html.escape(text)
  out, pos = [], 0
  for m in _ENTITY.finditer(text):
    role = m.group(1).lower()
    out += [html.escape(text[pos:m.start()]),
            f'<span class="ent ent-{role}">{html.escape(m.group(2))}</span>']
    pos = m.end()
  return "".join(out + [html.escape(text[pos:])])


def _is_relation(texts):
  """Whether most texts carry both entity markers (a relation run)."""
  both = sum(1 for t in texts if "[S " in t and "[O " in t)
  return bool(texts) and both >= len(texts) / 2


def _finite(values, decimals):
  """Rounded floats for JSON, None where not finite."""
  v = np.round(np.asarray(values, np.float64), decimals)
  return [x if np.isfinite(x) else None for x in v.tolist()]


def _bits(mask):
  """A boolean mask as a '0'/'1' string: one byte an example in the page."""
  return "".join("1" if x else "0" for x in np.asarray(mask, bool))


def _read_columns(workdir, names):
  """The columns of examples.csv among `names` (and every flag_<detector>),
  as lists of strings; read_workdir does not return these."""
  with open(os.path.join(workdir, "examples.csv"), newline="", encoding="utf-8") as f:
    reader = csv.reader(f)
    header = next(reader)
    keep = [j for j, h in enumerate(header) if h in names or h.startswith("flag_")]
    cols = {header[j]: [] for j in keep}
    for row in reader:
      for j in keep:
        cols[header[j]].append(row[j])
  return cols


def digest(workdir):
  """The run's key in the browser (its review marks): examples.csv's SHA-256, 16 hex."""
  h = hashlib.sha256()
  with open(os.path.join(workdir, "examples.csv"), "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()[:16]


def save_runs(workdir, runs):
  """explorer_runs.npz: the two runs' AUM, threshold ids and last-epoch best
  other class (`runs`: analyze's run dicts), for a workdir without aum_run*/."""
  out = {}
  for k, r in enumerate(runs, 1):
    out.update({f"aum{k}": np.asarray(r["aum"]), f"threshold_idx{k}": r["threshold_idx"],
                f"other{k}": np.asarray(r["other_EN"])[-1:]})
  with atomic.path(os.path.join(workdir, RUNS_FILE)) as tmp, open(tmp, "wb") as f:
    np.savez(f, **out)


def banners(config, summary):
  """The page's warnings: a smoke run (config.runlocal), collapsed classifiers."""
  out = [common.SMOKE_RUN.replace("**", "").replace("`", "")] if config.get("runlocal") else []
  bad = summary.get("collapsed_runs") or [
      k for k, r in summary.get("runs", {}).items() if isinstance(r, dict) and r.get("collapsed")]
  if bad:
    out.append(f"Collapsed classifiers: {len(bad)} of {summary.get('finished_runs', '?')} runs "
               f"({', '.join(map(str, bad))}) predict one class on dev; their scores say "
               "nothing about cleaning.")
  return out


def _load_dynamics(workdir):
  """(run 1, run 2) arrays (aum, threshold_idx, other_EN) of aum_run*/dynamics.npz,
  else of explorer_runs.npz (save_runs); None when neither is whole."""
  runs = []
  for name in ("aum_run1", "aum_run2"):
    path = os.path.join(workdir, name, "dynamics.npz")
    if not os.path.exists(path):
      runs = None
      break
    with np.load(path) as d:
      if not {"aum", "threshold_idx"} <= set(d.files):
        return None
      runs.append({k: d[k] for k in ("aum", "threshold_idx", "other_EN") if k in d.files})
  path = os.path.join(workdir, RUNS_FILE)
  if runs is None and os.path.exists(path):
    with np.load(path) as d:
      runs = [{"aum": d[f"aum{k}"], "threshold_idx": d[f"threshold_idx{k}"],
               "other_EN": d[f"other{k}"]} for k in (1, 2)]
  return runs


def _levels_from_dynamics(dyn, judged, thr_run, used, flags):
  """Flags at every integer percentile 0-100 from the two runs' AUM.

  Returns (levels, first [N], thresholds [L][2], fake-class AUM of the
  threshold samples) or a string saying why not: an example is flagged at
  level k when first <= k (thresholds rise with the percentile). Checked
  against examples.csv at the run's own percentiles.
  """
  a1, a2 = (np.asarray(r["aum"], np.float64) for r in dyn)
  i1, i2 = (np.asarray(r["threshold_idx"]) for r in dyn)
  n = len(judged)
  if len(a1) != n or len(a2) != n:
    return "dynamics.npz has a different number of examples"
  if (set(i1.tolist()) != set(np.flatnonzero(thr_run == 1).tolist())
      or set(i2.tolist()) != set(np.flatnonzero(thr_run == 2).tolist())):
    return "dynamics.npz has other threshold samples than examples.csv"
  full = np.where(judged == 1, a1, a2)
  if not np.allclose(full, used, rtol=0, atol=2e-6):
    return "dynamics.npz has other AUM values than examples.csv"
  levels = sorted(set(range(101)) | set(flags))
  t = np.stack([np.percentile(a1[i1], levels), np.percentile(a2[i2], levels)])  # [2, L]
  first = np.where(judged == 1, np.searchsorted(t[0], full, side="right"),
                   np.searchsorted(t[1], full, side="right"))
  for p, mask in flags.items():
    if not np.array_equal(first <= levels.index(p), mask):
      return f"flags recomputed from dynamics.npz differ from flagged_p{p}"
  return levels, first, t.T.tolist(), np.concatenate([a1[i1], a2[i2]])


def _levels_from_csv(flags, summary):
  """Flags at the run's own percentiles (examples.csv): (levels, first [N],
  thresholds [L][2] from summary.json)."""
  levels = sorted(flags)
  stack = np.stack([flags[p] for p in levels])  # [L, N]
  first = np.where(stack.any(0), stack.argmax(0), len(levels))
  for k, p in enumerate(levels):
    if not np.array_equal(first <= k, flags[p]):
      raise ValueError(f"flagged_p* columns are not nested (flagged_p{p}): not AUM flags.")
  pcts = summary.get("percentiles", {})
  thresholds = [pcts.get(str(p), {}).get("threshold") for p in levels]
  return levels, first, thresholds


def aum_data(workdir, max_points=MAX_PLOT_POINTS):
  """The AUM page's JSON blob: every example's text (escaped HTML), labels,
  AUM, data-map statistics, flags and suggested label; thresholds; AUROC.

  `max_points`: the plot's sample above this many examples.
  """
  r = aum_examples.read_workdir(workdir)
  config, summary = r["config"], r["summary"]
  chosen = (summary.get("detectors") or {}).get("chosen") or config.get("clean", {}).get(
      "detector")
  notes = (summary.get("detectors") or {}).get("notes") or {}
  parts = tuple(f"score_{p}" for p in (notes.get("ensemble_parts", []) if isinstance(
      notes, dict) else []))
  cols = _read_columns(workdir, _EXTRA_COLUMNS + ("flagged", f"score_{chosen}") + parts)
  n, given, used, noisy = len(r["given"]), r["given"], r["used"], r["noisy"]
  names = list(r["label_names"])
  judged = np.array([int(x) for x in cols["judged_in_run"]])
  thr_run = np.zeros(n, np.int8)
  thr_run[np.array([x == "1" for x in cols["threshold_sample_run1"]], bool)] = 1
  thr_run[np.array([x == "1" for x in cols["threshold_sample_run2"]], bool)] = 2
  flags = {int(p): m for p, m in r["flags"].items()}
  dyn = _load_dynamics(workdir)
  levels_note = "no aum_run*/dynamics.npz: the run's own percentiles only"
  got = _levels_from_dynamics(dyn, judged, thr_run, used, flags) if dyn else levels_note
  if isinstance(got, str):
    if dyn:
      logging.warning("explorer: %s (%s); the run's own percentiles only.", got, workdir)
    levels_note = got
    levels, first, thresholds = _levels_from_csv(flags, summary)
    fake_aum = None
  else:
    levels, first, thresholds, fake_aum = got
    levels_note = ""
  if len(names) == 2:  # Binary: flipping gives the other class.
    suggest = 1 - given
  elif dyn and not levels_note and all("other_EN" in d for d in dyn):
    suggest = np.where(judged == 1, dyn[0]["other_EN"][-1], dyn[1]["other_EN"][-1])
  else:
    suggest = None
  orig = cols["original_label"]
  has_orig = any(x != "" for x in orig)
  ids = [int(x) for x in cols["id"]]
  sources = cols["source"]
  prefix = os.path.commonprefix(sources) if len(sources) > 1 else ""
  relation = _is_relation(r["texts"])
  plot_idx = None
  if n > max_points:
    plot_idx = np.sort(np.random.default_rng(0).choice(n, max_points, replace=False)).tolist()
  nb = r["neighbours"]
  det = {k[len("flag_"):]: _bits([x == "1" for x in v]) for k, v in cols.items()
         if k.startswith("flag_")}
  percentiles = sorted(flags)
  return {
      "kind": "aum", "workdir": os.path.basename(os.path.abspath(workdir)),
      "task": config.input.get("task", config.input.get("dataset")), "n": n,
      "noise_rate": summary.get("noise_rate", config.get("noise", {}).get("rate")),
      "synthetic": bool(config.get("synthetic", False)),
      "relation": relation, "label_names": names, "percentiles": percentiles,
      "levels": levels, "levels_note": levels_note, "thresholds": thresholds,
      "default_level": levels.index(max(percentiles)),
      "threshold_counts": [int((thr_run == 1).sum()), int((thr_run == 2).sum())],
      "auroc": (None if noisy is None or noisy.all() or not noisy.any()
                else aum_lib.auroc(-used, noisy)),
      "plot_idx": plot_idx,
      "fake_aum": None if fake_aum is None else _finite(fake_aum, 4),
      "det": det, "chosen_detector": chosen, "run_key": digest(workdir),
      "why": why.explain(summary, {c[6:]: [float(x or "nan") for x in cols[c]] for c in cols
                                   if c.startswith("score_")},
                         {d: b.count("1") for d, b in det.items()}, chosen)["text"],
      "banners": banners(config, summary),
      # examples.csv's `flagged` (the chosen detector's flags) and its score.
      "flagged": _bits([x == "1" for x in cols["flagged"]]) if "flagged" in cols else None,
      "score_flagged": (_finite([float(x or "nan") for x in cols[f"score_{chosen}"]], 4)
                        if f"score_{chosen}" in cols else None),
      "cols": {
          "id": None if ids == list(range(n)) else ids,
          "source": [s[len(prefix):] for s in sources], "source_prefix": prefix,
          "html": [text_html(t, relation) for t in r["texts"]],
          "label": given.tolist(),
          "orig": [int(x) if x != "" else -1 for x in orig] if has_orig else None,
          "noisy": None if noisy is None else _bits(noisy),
          "aum": _finite(used, 4), "confidence": _finite(r["stats"]["confidence"], 4),
          "variability": _finite(r["stats"]["variability"], 4),
          "correctness": _finite(r["stats"]["correctness"], 3),
          "judged": "".join(str(j) for j in judged.tolist()),
          "thr": "".join(str(j) for j in thr_run.tolist()),
          "first": np.asarray(first).tolist(),
          "suggest": None if suggest is None else np.asarray(suggest).tolist(),
          "nb_share": None if nb is None else _finite(nb["majority_share"], 3),
          "nb_agrees": None if nb is None else _bits(nb["agrees"]),
      },
  }


def mlrc_data(workdir):
  """The MLRC page's JSON blob: F1 by fraction (x100), every run, and the
  per-relation F1 at the smallest fraction (mlrc_report's tables)."""
  results = common.read_json(workdir, "results.json")
  runs = results.get("runs", [])
  summary = mlrc_report.summarize(runs)
  model, dataset, label = "baseline", None, "test F1"
  if os.path.exists(os.path.join(workdir, "config.json")):
    import ml_collections  # pylint: disable=g-import-not-at-top
    config = ml_collections.ConfigDict(common.read_json(workdir, "config.json"))
    model = config.get("model", {}).get("name", model)
    dataset = config.input.get("dataset", config.input.get("task"))
    label = mlrc_report.score_label(config)
  smallest = min(summary) if summary else None
  relations = mlrc_report.per_relation_rows(runs, smallest) if summary else []
  paper = mlrc_report.paper_1pct(model, dataset)
  pct = lambda v: None if v is None else 100 * float(v)
  return {
      "kind": "mlrc", "workdir": os.path.basename(os.path.abspath(workdir)),
      "model": model, "dataset": dataset, "score": label,
      "paper_1pct": list(paper) if paper else None,
      "summary": [dict(s, fraction=f) for f, s in summary.items()],
      "smallest": smallest,
      "relations": [{"relation": rel, "count": c, "baseline": b, "mlrc": m}
                    for rel, c, b, m in relations],
      "runs": [{"fraction": x["fraction"], "run": x.get("run"), "seed": x.get("seed"),
                "n_train": x.get("n_train"), "baseline": pct(x.get("baseline")),
                "mlrc": pct(x.get("mlrc")),
                "baseline_collapsed": x.get("baseline_collapsed"),
                "mlrc_collapsed": x.get("mlrc_collapsed"),
                "meta_loss": x.get("meta_loss")}
               for x in sorted(runs, key=lambda x: (x["fraction"], x.get("run", 0)))],
  }


# The page's own files (noisy_meta/reports/assets/, shipped as package data):
# page.html is the skeleton with {{name}} placeholders, the others are
# inserted into it verbatim.
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")


def asset(name):
  """The text of noisy_meta/reports/assets/`name` (CSS, JavaScript, HTML)."""
  return (importlib.resources.files("noisy_meta.reports") / "assets" / name).read_text(
      encoding="utf-8")


def fill(template, values):
  """`template` with each `{{name}}` replaced by `values[name]`, in one pass.

  Only the template is scanned, so braces or `{{...}}` inside a value (the
  JavaScript, the data) stay as they are; a placeholder without a
  value, or a value without a placeholder, is an error rather than a page
  missing a part.
  """
  used = set()

  def value(m):
    if m.group(1) not in values:
      raise ValueError(f"no value for the template's placeholder {m.group(0)}")
    used.add(m.group(1))
    return values[m.group(1)]

  out = _PLACEHOLDER.sub(value, template)
  if used != set(values):
    raise ValueError(f"no placeholder for {sorted(set(values) - used)} in the template")
  return out


def page(data):
  """The self-contained HTML of a blob from aum_data or mlrc_data."""
  blob = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
  # No '<' can close the script element or open a comment in it; JSON reads
  # the escapes back as the same characters.
  blob = blob.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
  kind = data["kind"]  # "aum" or "mlrc": aum_body.html and aum.js, or mlrc_*.
  return fill(asset("page.html"), {
      "title": html.escape(_title(data)), "css": asset("page.css"),
      "body": asset(f"{kind}_body.html"), "data": blob,
      "common_js": asset("common.js") + asset("plot.js"), "page_js": asset(f"{kind}.js")})


def _title(data):
  if data["kind"] == "aum":
    return f"AUM explorer: {data['task']} ({data['workdir']})"
  return f"MLRC explorer: {data['dataset']} ({data['workdir']})"


def write_aum_explorer(workdir, max_points=MAX_PLOT_POINTS):
  """Writes `<workdir>/explorer.html` of a finished AUM workdir; returns its path."""
  path = os.path.join(workdir, NAME)
  atomic.write_text(path, page(aum_data(workdir, max_points)))
  return path


def write_mlrc_explorer(workdir):
  """Writes `<workdir>/explorer.html` of an MLRC workdir (results.json); returns its path."""
  path = os.path.join(workdir, NAME)
  atomic.write_text(path, page(mlrc_data(workdir)))
  return path


def write_explorer(workdir):
  """explorer.html of an AUM workdir (examples.csv) or an MLRC one (results.json)."""
  if os.path.exists(os.path.join(workdir, "examples.csv")):
    return write_aum_explorer(workdir)
  if os.path.exists(os.path.join(workdir, "results.json")):
    return write_mlrc_explorer(workdir)
  raise FileNotFoundError(f"{workdir}: neither an AUM workdir (examples.csv) nor an MLRC "
                          "workdir (results.json)")


def write_aum_explorer_or_warn(workdir):
  """write_aum_explorer after the AUM reports; a failure is logged, not raised.

  The page is read from the files just written: a failure there costs the
  page, not the finished job. Returns the path, or None when not written.
  """
  try:
    return write_aum_explorer(workdir)
  except Exception as e:  # pylint: disable=broad-except
    logging.warning("%s: explorer.html not written (%s: %s); `python -m "
                    "noisy_meta.reports.explorer %s` retries.", workdir, type(e).__name__, e,
                    workdir)
    return None


def write_mlrc_explorer_or_warn(workdir):
  """write_mlrc_explorer after the MLRC report (results.json); a failure is
  logged, not raised. Returns the path, or None when not written."""
  try:
    return write_mlrc_explorer(workdir)
  except Exception as e:  # pylint: disable=broad-except
    logging.warning("%s: explorer.html not written (%s: %s).", workdir, type(e).__name__, e)
    return None


def main(argv):
  """Writes explorer.html into each workdir named; one line per failure."""
  if not argv:
    print("usage: python -m noisy_meta.reports.explorer WORKDIR [WORKDIR ...]", file=sys.stderr)
    return 2
  failed = 0
  for workdir in argv:
    try:
      print(write_explorer(workdir))
    except (FileNotFoundError, ValueError, KeyError) as e:
      failed += 1
      print(f"error: {e}", file=sys.stderr)
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
