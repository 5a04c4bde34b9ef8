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

Plotly draws (its JavaScript bundle, from the pip package `plotly`, is
inlined once: no network needed); the table, the controls and the details
panel are plain JavaScript written here. The data is one JSON blob in the
page, with `<`, `>` and `&` escaped so no text can end its script element.
Pure readers of a finished workdir: docs/explorer.md.
"""
import csv
import html
import json
import os
import re
import sys

from absl import logging
import numpy as np

from noisy_meta import aum_lib
from noisy_meta.core import atomic
from noisy_meta.reports import aum_report
from noisy_meta.reports import mlrc_report
from noisy_meta.reports import report_common as common

# The data map draws every example with WebGL up to this many (SST-2's 67k
# stay interactive: load times in docs/explorer.md); a larger run plots a
# uniform sample of this size (seed 0). The table always has every example.
MAX_PLOT_POINTS = 100_000
# Without WebGL the page falls back to SVG, which slows past a few thousand
# points: it then plots every k-th of the points above, at most this many.
SVG_MAX_POINTS = 5_000
NAME = "explorer.html"

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


def _load_dynamics(workdir):
  """(run 1, run 2) arrays of aum_run*/dynamics.npz (aum, threshold_idx,
  other_EN), or None when either is absent."""
  runs = []
  for name in ("aum_run1", "aum_run2"):
    path = os.path.join(workdir, name, "dynamics.npz")
    if not os.path.exists(path):
      return None
    with np.load(path) as d:
      if not {"aum", "threshold_idx"} <= set(d.files):
        return None
      runs.append({k: d[k] for k in ("aum", "threshold_idx", "other_EN") if k in d.files})
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


def aum_data(workdir, max_points=MAX_PLOT_POINTS, svg_max=SVG_MAX_POINTS):
  """The AUM page's JSON blob: every example's text (escaped HTML), labels,
  AUM, data-map statistics, flags and suggested label; thresholds; AUROC.

  `max_points`: the plot's sample above this many examples; `svg_max`: at
  most this many points plotted where the browser has no WebGL.
  """
  r = aum_report.read_workdir(workdir)
  config, summary = r["config"], r["summary"]
  cols = _read_columns(workdir, _EXTRA_COLUMNS)
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
      "plot_idx": plot_idx, "svg_max": svg_max,
      "fake_aum": None if fake_aum is None else _finite(fake_aum, 4),
      "det": det, "chosen_detector": config.get("clean", {}).get("detector"),
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


def page(data):
  """The self-contained HTML of a blob from aum_data or mlrc_data."""
  from plotly import offline  # pylint: disable=g-import-not-at-top
  blob = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
  # No '<' can close the script element or open a comment in it; JSON reads
  # the escapes back as the same characters.
  blob = blob.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
  body = _AUM_BODY if data["kind"] == "aum" else _MLRC_BODY
  script = _COMMON_JS + (_AUM_JS if data["kind"] == "aum" else _MLRC_JS)
  return "".join([
      '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n',
      f"<title>{html.escape(_title(data))}</title>\n<style>{_CSS}</style>\n",
      "<script>", offline.get_plotlyjs(), "</script>\n</head>\n<body>\n", body,
      '\n<script type="application/json" id="explorer-data">', blob, "</script>\n",
      "<script>", script, "</script>\n</body></html>\n"])


def _title(data):
  if data["kind"] == "aum":
    return f"AUM explorer: {data['task']} ({data['workdir']})"
  return f"MLRC explorer: {data['dataset']} ({data['workdir']})"


def write_aum_explorer(workdir, max_points=MAX_PLOT_POINTS, svg_max=SVG_MAX_POINTS):
  """Writes `<workdir>/explorer.html` of a finished AUM workdir; returns its path."""
  path = os.path.join(workdir, NAME)
  atomic.write_text(path, page(aum_data(workdir, max_points, svg_max)))
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


_WORDS = ("the a of and to in is it that film movie story not but with its as for this an "
          "one all more like good bad funny dull best worst acting characters plot never "
          "ever director performance some too much little heart work time way make does "
          "charming tedious moving hollow beautiful script scenes audience moments".split())
_RELATIONS = ("Other", "Cause-Effect(e1,e2)", "Component-Whole(e2,e1)",
              "Entity-Destination(e1,e2)", "Member-Collection(e2,e1)", "Product-Producer(e1,e2)",
              "Content-Container(e1,e2)", "Message-Topic(e1,e2)", "Instrument-Agency(e2,e1)")


def _synthetic_texts(rng, n, relation):
  """Made-up sentences: SST-2-like lengths (mean ~10 words), or SemEval-like
  (~18 words) with a subject and an object marked."""
  lengths = (np.clip(rng.poisson(16, n) + 2, 5, 60) if relation
             else np.clip(np.rint(rng.gamma(2.0, 5.0, n)), 1, 50).astype(int))
  words = rng.choice(_WORDS, int(lengths.sum())).tolist()
  texts, pos = [], 0
  for k in lengths.tolist():
    w = words[pos:pos + k]
    pos += k
    if relation:
      s, o = sorted(rng.choice(k, 2, replace=False).tolist())
      w[s], w[o] = f"[S {w[s]}]", f"[O {w[o]}]"
    texts.append(" ".join(w))
  return texts


def synthetic_aum_workdir(folder, n, num_classes=2, noise_rate=0.2, relation=False, seed=0,
                          percentiles=(1, 10, 50, 90, 99), dynamics=True,
                          detectors=("aum", "cleanlab", "knn")):
  """A made-up finished AUM workdir in `folder`, in the real files' layout.

  examples.csv (aum_report's columns, flags from aum_lib.combine_runs),
  config.json and summary.json marked `synthetic`, and with `dynamics` the
  runs' aum_run*/dynamics.npz (aum, threshold_idx, other_EN). For the tests,
  bench/explorer_load.py and demos: its numbers mean nothing. Returns `folder`.
  """
  rng = np.random.default_rng(seed)
  c = num_classes
  names = (list(_RELATIONS[:c]) if relation else ["negative", "positive"] if c == 2
           else [f"class_{k}" for k in range(c)])
  original = rng.integers(c, size=n)
  noisy = rng.random(n) < noise_rate
  given = np.where(noisy, (original + rng.integers(1, c, size=n)) % c, original)
  perm = rng.permutation(n)
  m = n // (c + 1)
  thr_1, thr_2 = np.sort(perm[:m]), np.sort(perm[m:2 * m])

  def run_aum(thr):  # Clean labels: high margins; flipped: low; threshold samples lower.
    a = np.where(noisy, rng.normal(-0.5, 0.6, n), rng.normal(1.0, 0.7, n))
    a[thr] = rng.normal(-0.9, 0.4, len(thr))
    return a

  a1, a2 = run_aum(thr_1), run_aum(thr_2)
  flags, thresholds = {}, {}
  for p in percentiles:
    flags[p], used, judged, thresholds[p] = aum_lib.combine_runs(a1, thr_1, a2, thr_2, p)
  conf = np.clip(1 / (1 + np.exp(-1.5 * used)) + rng.normal(0, 0.08, n), 0, 1)
  var = np.clip(rng.gamma(2.0, 0.05, n) + 0.15 * np.exp(-used ** 2), 0, 0.5)
  corr = np.clip(np.round(3 * (conf + rng.normal(0, 0.1, n))) / 3, 0, 1)
  other = (given + rng.integers(1, c, size=n)) % c
  share = np.round(rng.uniform(0.4, 1, n), 1)
  agrees = (rng.random(n) < 0.8) ^ noisy
  texts = _synthetic_texts(rng, n, relation)
  scores = {d: -used + rng.normal(0, 0.5, n) for d in detectors}
  det_flags = {d: s > np.quantile(s, 1 - max(noise_rate, 0.05)) for d, s in scores.items()}
  header = (list(aum_report.CSV_HEADER) + [f"flagged_p{p}" for p in percentiles]
            + (["flagged"] + [f"score_{d}" for d in detectors] + [f"flag_{d}" for d in detectors]
               if detectors else []))
  has_noise = noise_rate > 0
  in_1, in_2 = np.isin(np.arange(n), thr_1), np.isin(np.arange(n), thr_2)
  rows = []
  for i in range(n):
    truth = [int(original[i]), names[original[i]], int(noisy[i])] if has_noise else ["", "", ""]
    row = ([i, f"synthetic.tsv:{i + 2}", texts[i], int(given[i]), names[given[i]]] + truth
           + [f"{used[i]:.6f}", int(judged[i]), int(in_1[i]), int(in_2[i]),
              f"{conf[i]:.6f}", f"{var[i]:.6f}", f"{corr[i]:.4f}", f"{share[i]:.3f}",
              int(agrees[i])] + [int(flags[p][i]) for p in percentiles])
    if detectors:
      row += ([int(det_flags[detectors[0]][i])] + [f"{scores[d][i]:.6g}" for d in detectors]
              + [int(det_flags[d][i]) for d in detectors])
    rows.append(row)
  os.makedirs(folder, exist_ok=True)
  aum_report.write_csv(os.path.join(folder, "examples.csv"), rows, header)
  task = {"dataset": "synthetic_relation"} if relation else {"task": "synthetic_text"}
  config = {"synthetic": True, "input": task, "noise": {"rate": noise_rate},
            "aum": {"percentiles": list(percentiles)},
            "clean": {"detector": detectors[0] if detectors else "aum", "seeds": [],
                      "methods": []}}
  summary = {"synthetic": True, "task": next(iter(task.values())), "noise_rate": noise_rate,
             "noisy": int(noisy.sum()) if has_noise else None, "examples": n,
             "threshold_samples": [len(thr_1), len(thr_2)],
             "percentiles": {str(p): {"threshold": list(thresholds[p]),
                                      "flagged": int(flags[p].sum())} for p in percentiles}}
  for name, obj in (("config.json", config), ("summary.json", summary)):
    atomic.write_text(os.path.join(folder, name), json.dumps(obj, indent=2))
  if dynamics:
    for k, (a, thr) in enumerate(((a1, thr_1), (a2, thr_2)), 1):
      os.makedirs(os.path.join(folder, f"aum_run{k}"), exist_ok=True)
      np.savez(os.path.join(folder, f"aum_run{k}", "dynamics.npz"), aum=a, threshold_idx=thr,
               other_EN=np.stack([other] * 3).astype(np.int32))
  return folder


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


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 16px 24px;
color:#222}
h1{font-size:20px;margin:12px 0 2px}h2{font-size:16px;margin:18px 0 6px}
.sub{color:#555;margin:0 0 8px}.warn{color:#b00}
.controls{display:flex;flex-wrap:wrap;gap:18px;align-items:center;padding:8px 10px;
background:#f4f5f7;border-radius:6px;position:sticky;top:0;z-index:5}
.controls input[type=range]{width:260px;vertical-align:middle}
#flagged-count{font-weight:600}
#metrics{margin:6px 0;color:#333}#metrics b{font-weight:600}
.grid{display:grid;grid-template-columns:minmax(0,3fr) minmax(260px,2fr);gap:12px;margin-top:8px}
.plot{height:520px;border:1px solid #ddd;border-radius:6px}.plot.small{height:320px}
#details{border:1px solid #ddd;border-radius:6px;padding:8px 12px;overflow:auto;max-height:520px}
#details .text{font-size:15px;background:#fafafa;padding:6px 8px;border-radius:4px;
margin:6px 0;white-space:pre-wrap}
#details table{border-collapse:collapse}#details td{padding:2px 10px 2px 0;vertical-align:top}
#details td:first-child{color:#666;white-space:nowrap}
.ent{border-radius:3px;padding:0 2px}.ent-s{background:#cfe3ff}.ent-o{background:#ffe0b8}
.badge{display:inline-block;font-size:12px;border-radius:3px;padding:0 5px;margin-left:6px;
color:#fff}.b-flag{background:#d62728}.b-noise{background:#e07b00}.b-kept{background:#7f8fa6}
.legend{color:#555;font-size:13px;margin:4px 0}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin:0 4px 0 10px}
.tbar{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:6px 0}
.tbar input[type=search]{width:260px}
table.data{border-collapse:collapse;width:100%;font-size:13px}
table.data th{background:#f0f1f3;cursor:pointer;user-select:none;text-align:left;
padding:4px 6px;position:sticky;top:40px}
table.data td{border-top:1px solid #eee;padding:3px 6px;vertical-align:top}
table.data td.num,table.data th.num{text-align:right;font-variant-numeric:tabular-nums}
table.data tbody tr{cursor:pointer}table.data tbody tr:hover{background:#f6f9ff}
table.data tr.sel{background:#fff3c4}
#tip{position:fixed;display:none;max-width:440px;background:#fff;border:1px solid #999;
border-radius:4px;padding:6px 8px;font-size:13px;box-shadow:0 2px 6px rgba(0,0,0,.2);
pointer-events:none;z-index:10}
.hint{color:#777}
"""

_AUM_BODY = """
<h1 id="title"></h1><p class="sub" id="subtitle"></p>
<div class="controls">
  <label>Flag percentile <input type="range" id="pct" list="pct-ticks">
  <datalist id="pct-ticks"></datalist> <output id="pct-value"></output></label>
  <span id="flagged-count"></span>
  <label>Colour by <select id="color-by"></select></label>
</div>
<div id="metrics"></div>
<div class="grid"><div id="map" class="plot"></div>
<aside id="details"><p class="hint">Click a point or a table row to see the example.</p>
</aside></div>
<div class="legend" id="legend"></div><p class="sub" id="plot-note"></p>
<h2>AUM histograms</h2><div id="hist" class="plot small"></div>
<h2 id="table-title">Flagged examples</h2><div id="table"></div>
<div id="tip"></div>
"""

_MLRC_BODY = """
<h1 id="title"></h1><p class="sub" id="subtitle"></p>
<div id="curve" class="plot"></div>
<h2 id="rel-title">Per relation</h2><div id="relations"></div>
<h2>Per run</h2><div id="runs"></div>
"""

_COMMON_JS = r"""
'use strict';
performance.mark('explorer-start');  // After plotly.js is parsed: the page's own work from here.
const $ = (id) => document.getElementById(id);
function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}
function num(v, d) {
  return v === null || v === undefined || Number.isNaN(v) ? '\u2014' : Number(v).toFixed(d);
}
function markReady() {  // The load-time marker: plots and table drawn, one frame painted.
  requestAnimationFrame(() => requestAnimationFrame(() => {
    window.explorerReadyMs = performance.now();
    document.body.dataset.ready = '1';
  }));
}
function showError(e) {
  console.error(e);
  const p = document.createElement('p');
  p.className = 'warn';
  p.textContent = 'The explorer failed: ' + e;
  document.body.prepend(p);
}
// A sortable, searchable, paged table. cols: [{label, value(item), html(item), num}];
// opts: {text(item): lowercase escaped search text, onRow(item), selected(), sort, dir}.
class Table {
  constructor(el, cols, opts) {
    this.cols = cols; this.opts = opts; this.items = []; this.view = [];
    this.sort = opts.sort || 0; this.dir = opts.dir || 1; this.page = 0;
    this.size = opts.pageSize || 50; this.query = '';
    el.innerHTML = '<div class="tbar"><input type="search" placeholder="'
        + esc(opts.placeholder || 'search') + '">'
        + '<span class="count"></span><button class="prev">\u2039 prev</button>'
        + '<button class="next">next \u203a</button></div><table class="data"><thead><tr>'
        + cols.map((c, k) => `<th data-c="${k}" class="${c.num ? 'num' : ''}">${esc(c.label)}</th>`)
            .join('') + '</tr></thead><tbody></tbody></table>';
    this.el = el; this.tbody = el.querySelector('tbody');
    this.search = el.querySelector('input');
    this.search.addEventListener('input', () => {
      this.query = esc(this.search.value.trim().toLowerCase()); this.page = 0; this.refresh();
    });
    el.querySelector('.prev').addEventListener('click', () => this.turn(-1));
    el.querySelector('.next').addEventListener('click', () => this.turn(1));
    el.querySelector('thead').addEventListener('click', (ev) => {
      const th = ev.target.closest('th'); if (!th) return;
      const k = Number(th.dataset.c);
      this.dir = k === this.sort ? -this.dir : (cols[k].dir || 1); this.sort = k;
      this.page = 0; this.refresh();
    });
    this.tbody.addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr'); if (!tr || !opts.onRow) return;
      opts.onRow(this.view[Number(tr.dataset.k)]); this.render();
    });
  }
  setItems(items) { this.items = items; this.refresh(); }
  turn(d) {
    const last = Math.max(0, Math.ceil(this.view.length / this.size) - 1);
    this.page = Math.min(last, Math.max(0, this.page + d)); this.render();
  }
  refresh() {
    let v = this.items;
    if (this.query && this.opts.text) v = v.filter((it) => this.opts.text(it).includes(this.query));
    const col = this.cols[this.sort], dir = this.dir;
    const dec = v.map((it) => [col.value(it), it]);  // Keys computed once, not per comparison.
    dec.sort((a, b) => {
      const x = a[0], y = b[0];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    this.view = dec.map((d) => d[1]);
    v = this.view;
    this.page = Math.min(this.page, Math.max(0, Math.ceil(v.length / this.size) - 1));
    this.render();
  }
  render() {
    const s = this.page * this.size, rows = this.view.slice(s, s + this.size);
    const sel = this.opts.selected ? this.opts.selected() : undefined;
    this.tbody.innerHTML = rows.map((it, k) => `<tr data-k="${s + k}"`
        + (it === sel ? ' class="sel"' : '') + '>' + this.cols.map(
            (c) => `<td class="${c.num ? 'num' : ''}">${c.html(it)}</td>`).join('') + '</tr>')
        .join('');
    this.el.querySelector('.count').textContent = this.view.length
        ? `rows ${s + 1}\u2013${s + rows.length} of ${this.view.length}` : 'no rows';
    this.el.querySelectorAll('th').forEach((th, k) => {
      const arrow = k === this.sort ? (this.dir > 0 ? ' \u25b2' : ' \u25bc') : '';
      th.textContent = this.cols[k].label + arrow;
    });
  }
}
"""

_AUM_JS = r"""
(function () {
  const D = JSON.parse($('explorer-data').textContent);
  const C = D.cols, N = D.n, L = D.levels, names = D.label_names;
  const FLAG = '#d62728', KEPT = '#7f8fa6', NOISE = '#e07b00';
  const lname = (c) => (c === null || c === undefined || c < 0) ? '\u2014'
      : esc(c < names.length ? names[c] : c);
  const idOf = (i) => (C.id ? C.id[i] : i);
  const hasNoise = C.noisy !== null;
  const isNoisy = (i) => hasNoise && C.noisy.charCodeAt(i) === 49;
  const bit = (s, i) => s.charCodeAt(i) === 49;
  let level = D.default_level, selected = -1, colorBy = 'flag', scope = 'flagged', subset = null;
  let started = false;
  const flagged = (i) => C.first[i] <= level;

  $('title').textContent = (D.synthetic ? 'SYNTHETIC DATA \u2014 ' : '') + 'AUM explorer: '
      + D.task + ' (' + D.workdir + ')';
  $('subtitle').innerHTML = `${N} training examples; `
      + (hasNoise ? `injected noise rate ${esc(D.noise_rate)} `
                    + `(${C.noisy.split('1').length - 1} labels flipped)`
                  : 'no injected noise known')
      + `; threshold samples per run ${D.threshold_counts.join(', ')}; labels: `
      + names.map(esc).join(', ') + '.'
      + (D.levels_note ? ` <span class="warn">Percentiles: ${esc(D.levels_note)}.</span>` : '');

  // Percentile control: an index into D.levels (every integer 0-100 when the runs'
  // dynamics are there, else the run's own percentiles).
  const pct = $('pct');
  pct.min = 0; pct.max = L.length - 1; pct.step = 1; pct.value = level;
  $('pct-ticks').innerHTML = D.percentiles.map((p) => `<option value="${L.indexOf(p)}">`).join('');

  // Colour modes.
  const modes = [['flag', 'flagged at the percentile'], ['aum', 'AUM']];
  if (hasNoise) modes.push(['noise', 'injected noise']);
  for (const d of Object.keys(D.det)) {
    modes.push(['det:' + d, `detector ${d}'s flag` + (d === D.chosen_detector ? ' (cleans)' : '')]);
  }
  $('color-by').innerHTML = modes.map(([v, t]) => `<option value="${esc(v)}">${esc(t)}</option>`)
      .join('');

  // The plotted examples: all (or the build's sample), every k-th without WebGL.
  const gl = (() => {
    try {
      const c = document.createElement('canvas');
      return !!(c.getContext('webgl2') || c.getContext('webgl'));
    }
    catch (e) { return false; }
  })();
  let P = D.plot_idx || Array.from({length: N}, (_, i) => i);
  const notes = [];
  if (D.plot_idx) {
    notes.push(`The plot shows a uniform sample of ${P.length} of the ${N} examples; `
               + 'the table has all.');
  }
  if (!gl && P.length > D.svg_max) {
    const step = Math.ceil(P.length / D.svg_max);
    P = P.filter((_, k) => k % step === 0);
    notes.push(`No WebGL in this browser: the plot shows one example in ${step} `
               + `(${P.length}); the table has all.`);
  }
  $('plot-note').textContent = notes.join(' ');
  // One trace per marker shape (injected noise: larger crosses): per-point symbol
  // and size arrays cost scattergl seconds at 67k points. G[t]: trace t's examples.
  const G = hasNoise ? [P.filter((i) => !isNoisy(i)), P.filter(isNoisy)] : [P];
  const SEL = G.length;  // The trace that rings the selected example.
  const at = (ev) => {  // The example under a plotly event point, or undefined.
    const p = ev.points.find((q) => q.curveNumber < SEL);
    return p && G[p.curveNumber][p.pointIndex];
  };

  function colors(g) {  // Marker colour settings of the examples `g`.
    if (colorBy === 'aum') {
      const mag = Float64Array.from(P, (i) => Math.abs(C.aum[i])).sort();
      // The colour range: the 98th percentile of |AUM|.
      const lim = Math.max(mag[Math.floor(0.98 * (mag.length - 1))] || 0, 1e-6);
      return {color: g.map((i) => C.aum[i]), cmin: -lim, cmax: lim,  // Red: low AUM, suspect.
              colorscale: [[0, '#b2182b'], [0.5, '#e8e8e8'], [1, '#2166ac']],
              showscale: g === G[0], colorbar: {title: {text: 'AUM'}, thickness: 12}};
    }
    let on;
    if (colorBy === 'flag') on = (i) => flagged(i);
    else if (colorBy === 'noise') on = isNoisy;
    else { const s = D.det[colorBy.slice(4)]; on = (i) => bit(s, i); }
    const hi = colorBy === 'noise' ? NOISE : FLAG;
    return {color: g.map((i) => (on(i) ? 1 : 0)), colorscale: [[0, KEPT], [1, hi]], cmin: 0,
            cmax: 1, showscale: false, colorbar: {}};
  }
  function legend() {
    const [off, on] = {flag: ['kept', `flagged (AUM below the p${L[level]} threshold)`],
                       noise: ['label left as it was', 'injected noise']}[colorBy]
        || ['not flagged', `flagged by detector ${esc(colorBy.slice(4))}`];
    const hi = colorBy === 'noise' ? NOISE : FLAG;
    $('legend').innerHTML = (colorBy === 'aum' ? 'Colour: AUM (red low, blue high).'
        : `<span class="dot" style="background:${KEPT}"></span>${off}`
          + `<span class="dot" style="background:${hi}"></span>${on}.`)
        + (hasNoise ? ' Crosses (larger): injected noise; circles: labels left as they were.' : '');
  }
  function recolor() {
    const cs = G.map(colors), key = (k) => cs.map((c) => c[k]);
    Plotly.restyle(map, {'marker.color': key('color'), 'marker.colorscale': key('colorscale'),
      'marker.cmin': key('cmin'), 'marker.cmax': key('cmax'), 'marker.showscale': key('showscale'),
      'marker.colorbar': key('colorbar')}, G.map((_, t) => t));
    legend();
  }

  const map = $('map');
  const type = gl ? 'scattergl' : 'scatter';
  const mapTraces = G.map((g, t) => ({
    type, mode: 'markers', hoverinfo: 'none', name: t ? 'injected noise' : 'examples',
    x: g.map((i) => C.variability[i]), y: g.map((i) => C.confidence[i]),
    marker: Object.assign({opacity: 0.75, symbol: t ? 'x' : 'circle', size: t ? 8 : 5},
                          colors(g))}));
  mapTraces.push({type, mode: 'markers', name: 'selected', x: [], y: [], hoverinfo: 'skip',
    marker: {symbol: 'circle-open', size: 18, color: '#000', line: {width: 2}}});
  const mapLayout = {margin: {l: 55, r: 10, t: 34, b: 45}, hovermode: 'closest', showlegend: false,
    title: {text: 'Data map: variability \u00d7 confidence', font: {size: 14}, x: 0.02,
            xanchor: 'left'},
    xaxis: {title: {text: 'variability'}, zeroline: false},
    yaxis: {title: {text: 'confidence'}, zeroline: false}, dragmode: 'zoom'};

  // Histograms: threshold samples vs the rest, with the thresholds at the percentile.
  const hist = $('hist');
  const rest = [], restNoisy = [], thrJudged = [];
  for (let i = 0; i < N; i++) {
    if (C.thr.charCodeAt(i) !== 48) thrJudged.push(C.aum[i]);
    else if (isNoisy(i)) restNoisy.push(C.aum[i]);
    else rest.push(C.aum[i]);
  }
  const thrAum = D.fake_aum || thrJudged;
  let lo = Infinity, hi = -Infinity;  // No spread: 67k arguments overflow the stack.
  for (const x of [thrAum, rest, restNoisy].flat()) { if (x < lo) lo = x; if (x > hi) hi = x; }
  const bins = {start: lo, end: hi + 1e-9, size: (hi - lo) / 60 || 1};
  const h = (x, name, color) => ({type: 'histogram', x, name: `${name} (n=${x.length})`,
    xbins: bins, opacity: 0.55, marker: {color}});
  const thrName = D.fake_aum ? 'threshold samples: AUM as the fake class'
                             : 'threshold samples: AUM in their judging run';
  const histTraces = [h(thrAum, thrName, '#9467bd'),
                      h(rest, hasNoise ? 'other examples, clean' : 'other examples', '#1f77b4')];
  if (hasNoise) histTraces.push(h(restNoisy, 'other examples, injected noise', NOISE));
  function thresholdShapes() {
    const t = D.thresholds[level];
    if (!t) return [];
    return t.map((x, r) => ({type: 'line', x0: x, x1: x, y0: 0, y1: 1, yref: 'paper',
      line: {color: '#000', width: 1.5, dash: r ? 'dash' : 'solid'}}));
  }
  function histTitle() {
    const t = D.thresholds[level];
    return `AUM (judging run); lines: p${L[level]} thresholds`
        + (t ? ` (run 1 ${num(t[0], 3)}, run 2 ${num(t[1], 3)})`
             : ' (not recorded at this percentile)');
  }
  const histLayout = {barmode: 'overlay', margin: {l: 55, r: 10, t: 34, b: 45},
    title: {text: histTitle(), font: {size: 13}, x: 0.02, xanchor: 'left'},
    xaxis: {title: {text: 'AUM'}},
    yaxis: {title: {text: 'examples'}}, legend: {orientation: 'h', y: -0.25},
    shapes: thresholdShapes()};

  // Details panel and hover tip.
  function detailsHtml(i) {
    const f = flagged(i), tr = C.thr.charCodeAt(i) - 48;
    const rows = [['given label', lname(C.label[i])]];
    if (C.orig) rows.push(['original label', lname(C.orig[i])
        + (isNoisy(i) ? ' <span class="badge b-noise">injected noise</span>' : '')]);
    rows.push(['suggested label', C.suggest ? lname(C.suggest[i]) + ' (if flipped)' : '\u2014'],
      ['AUM', num(C.aum[i], 4) + ` (judged in run ${C.judged[i]})`],
      ['confidence', num(C.confidence[i], 4)], ['variability', num(C.variability[i], 4)],
      ['correctness', num(C.correctness[i], 3)],
      [`flagged at p${L[level]}`, f ? 'yes' : 'no'],
      ['first flagged at', C.first[i] < L.length ? 'p' + L[C.first[i]] : 'never']);
    if (tr) rows.push(['threshold sample', `in run ${tr} (fake class there)`]);
    if (C.nb_agrees) rows.push(['neighbours', `majority share ${num(C.nb_share[i], 2)}; label `
        + (bit(C.nb_agrees, i) ? 'agrees' : 'disagrees') + ' with their majority']);
    const dets = Object.keys(D.det).filter((d) => bit(D.det[d], i));
    if (Object.keys(D.det).length) {
      rows.push(['detectors flagging it', dets.length ? esc(dets.join(', ')) : 'none']);
    }
    rows.push(['source', esc(D.cols.source_prefix + C.source[i])]);
    return `<h3>Example #${esc(idOf(i))}<span class="badge ${f ? 'b-flag' : 'b-kept'}">`
        + `${f ? 'flagged' : 'kept'}</span></h3><div class="text">${C.html[i]}</div>`
        + (D.relation ? '<p class="legend"><span class="ent ent-s">subject</span> '
                        + '<span class="ent ent-o">object</span></p>' : '') + '<table>'
        + rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join('') + '</table>';
  }
  function select(i) {
    selected = i;
    $('details').innerHTML = detailsHtml(i);
    const shown = G.some((g) => g.includes(i));
    Plotly.restyle(map, {x: [shown ? [C.variability[i]] : []],
                         y: [shown ? [C.confidence[i]] : []]}, [SEL]);
  }
  const tip = $('tip');
  function showTip(i, ev) {
    tip.innerHTML = `<b>#${esc(idOf(i))}</b> given ${lname(C.label[i])}`
        + (C.orig ? `, original ${lname(C.orig[i])}` : '') + `, AUM ${num(C.aum[i], 3)}`
        + (flagged(i) ? ' <span class="badge b-flag">flagged</span>' : '')
        + `<div>${C.html[i]}</div>`;
    tip.style.display = 'block';
    const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const y = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  }

  // Table of flagged (or all) examples, linked to the plot.
  let search = null;
  const stripTags = (s) => s.replace(/<[^>]*>/g, '');
  const cols = [
    {label: 'id', value: (i) => idOf(i), html: (i) => esc(idOf(i)), num: true},
    {label: 'text', value: (i) => C.html[i], html: (i) => C.html[i]},
    {label: 'given', value: (i) => C.label[i], html: (i) => lname(C.label[i])}];
  const labelCol = (label, a) => ({label, value: (i) => a[i], html: (i) => lname(a[i])});
  if (C.orig) cols.push(labelCol('original', C.orig));
  if (C.suggest) cols.push(labelCol('suggested', C.suggest));
  cols.push({label: 'AUM', value: (i) => C.aum[i], html: (i) => num(C.aum[i], 3), num: true},
    {label: 'confidence', value: (i) => C.confidence[i], html: (i) => num(C.confidence[i], 3),
     num: true, dir: -1},
    {label: 'variability', value: (i) => C.variability[i], html: (i) => num(C.variability[i], 3),
     num: true, dir: -1});
  if (hasNoise) cols.push({label: 'noise', value: (i) => (isNoisy(i) ? 1 : 0), dir: -1,
    html: (i) => (isNoisy(i) ? '<span class="badge b-noise">injected</span>' : '')});
  const aumCol = cols.findIndex((c) => c.label === 'AUM');
  const scopeSel = document.createElement('select');
  scopeSel.innerHTML = '<option value="flagged">flagged examples</option>'
      + '<option value="all">all examples</option>';
  const table = new Table($('table'), cols, {
    sort: aumCol, dir: 1, pageSize: 50, selected: () => selected, onRow: select,
    placeholder: 'search text, label, #id',
    text: (i) => {
      if (!search) {  // Built on the first search: lowercase, escaped like the query.
        search = Array.from({length: N}, (_, j) => ('#' + idOf(j) + ' ' + lname(C.label[j]) + ' '
            + (C.orig ? lname(C.orig[j]) : '') + ' ' + stripTags(C.html[j])).toLowerCase());
      }
      return search[i];
    }});
  const bar = $('table').querySelector('.tbar');
  const subsetInfo = document.createElement('span');
  bar.prepend(scopeSel);
  bar.append(subsetInfo);
  scopeSel.addEventListener('change', () => { scope = scopeSel.value; refreshTable(); });
  function refreshTable() {
    const items = [];
    for (let i = 0; i < N; i++) {
      if (scope === 'flagged' && C.first[i] > level) continue;
      if (subset && !subset.has(i)) continue;
      items.push(i);
    }
    $('table-title').textContent = (scope === 'flagged' ? `Flagged examples at p${L[level]}`
                                                        : 'All examples')
        + (subset ? ', within the plot selection' : '');
    subsetInfo.textContent = subset
        ? `plot selection: ${subset.size} points (double-click the plot to clear)`
        : 'box/lasso-select on the plot to filter';
    table.setItems(items);
  }

  function setLevel(k) {
    level = k; pct.value = k;
    let n = 0, tp = 0, noisy = 0;
    for (let i = 0; i < N; i++) {
      const f = C.first[i] <= k, z = isNoisy(i);
      if (f) n++; if (z) noisy++; if (f && z) tp++;
    }
    $('pct-value').textContent = 'p' + L[k];
    $('flagged-count').textContent = `${n} flagged (${num(100 * n / N, 1)} %)`;
    if (hasNoise) {
      // As aum_lib.detection_scores: precision tp / flagged, recall tp / noisy.
      const p = tp / Math.max(n, 1), r = tp / Math.max(noisy, 1);
      const f1 = 2 * p * r / Math.max(p + r, 1e-12);
      $('metrics').innerHTML = `Detection of the injected noise at p${L[k]}: `
          + `precision <b>${num(p, 3)}</b>, `
          + `recall <b>${num(r, 3)}</b>, F1 <b>${num(f1, 3)}</b> (${tp} of ${n} flagged are noisy, `
          + `${noisy} noisy in all); AUROC of \u2212AUM <b>${num(D.auroc, 3)}</b> `
          + '(any percentile).';
    } else {
      $('metrics').textContent = 'No injected noise known in this run: no detection metrics.';
    }
    if (colorBy === 'flag' && started) recolor(); else legend();  // At start: drawn so.
    Plotly.relayout(hist, {shapes: thresholdShapes(), 'title.text': histTitle()});
    refreshTable();
    if (selected >= 0) $('details').innerHTML = detailsHtml(selected);
  }

  const opts = {displaylogo: false, responsive: true};
  Promise.all([Plotly.newPlot(map, mapTraces, mapLayout, opts),
               Plotly.newPlot(hist, histTraces, histLayout, opts)])
    .then(() => {
      map.on('plotly_click', (ev) => {
        const i = at(ev);
        if (i !== undefined) { select(i); table.render(); }
      });
      map.on('plotly_hover', (ev) => {
        const i = at(ev);
        if (i !== undefined) showTip(i, ev.event);
      });
      map.on('plotly_unhover', () => { tip.style.display = 'none'; });
      map.on('plotly_selected', (ev) => {
        const pts = ev ? ev.points.filter((q) => q.curveNumber < SEL) : [];
        subset = pts.length ? new Set(pts.map((q) => G[q.curveNumber][q.pointIndex])) : null;
        refreshTable();
      });
      map.on('plotly_deselect', () => { subset = null; refreshTable(); });
      pct.addEventListener('input', () => setLevel(Number(pct.value)));
      $('color-by').addEventListener('change', (ev) => { colorBy = ev.target.value; recolor(); });
      legend();
      setLevel(level);
      started = true;
      window.explorer = {select, setLevel, plotted: () => P, webgl: gl};
      markReady();
    }).catch(showError);
})();
"""

_MLRC_JS = r"""
(function () {
  const D = JSON.parse($('explorer-data').textContent);
  const S = D.summary, R = D.runs;
  $('title').textContent = `MLRC explorer: ${D.model} vs MLRC on ${D.dataset} (${D.workdir})`;
  $('subtitle').textContent = `${D.score} (x100) by share of the training data: `
      + `${R.length} run${R.length === 1 ? '' : 's'} over ${S.length} `
      + `fraction${S.length === 1 ? '' : 's'}. Points: mean over runs; bars: min to max; `
      + 'small dots: single runs (crosses: collapsed, one label predicted). '
      + 'Hover for per-run values.';
  const pc = (f) => `${+(100 * f).toPrecision(4)} %`;
  const traces = [];
  const curves = [['baseline', D.model, '#1f77b4', 1 / 1.04],  // Side by side on the log axis.
                  ['mlrc', `MLRC (${D.model})`, '#ff7f0e', 1.04]];
  for (const [key, label, color, shift] of curves) {
    traces.push({type: 'scatter', mode: 'lines+markers', name: `${label}: mean, min\u2013max`,
      x: S.map((s) => 100 * s.fraction * shift), y: S.map((s) => s[key]),
      error_y: {type: 'data', symmetric: false, array: S.map((s) => s[key + '_max'] - s[key]),
                arrayminus: S.map((s) => s[key] - s[key + '_min'])},
      line: {color}, marker: {size: 9, color}, hoverinfo: 'text',
      hovertext: S.map((s) => `${esc(label)} at ${pc(s.fraction)} (${Math.round(s.n_train)} `
          + `train): mean ${num(s[key], 2)}` + (s[key + '_std'] === null ? ' (n=1)'
              : ` \u00b1 ${num(s[key + '_std'], 2)} (n=${s.runs})`)
          + '<br>runs: ' + R.filter((r) => r.fraction === s.fraction)
              .map((r) => num(r[key], 2)).join(', '))});
    traces.push({type: 'scatter', mode: 'markers', name: `${label}: single runs`, showlegend: true,
      x: R.map((r) => 100 * r.fraction * shift), y: R.map((r) => r[key]), hoverinfo: 'text',
      marker: {size: R.map((r) => (r[key + '_collapsed'] ? 11 : 7)), opacity: 0.55,
               color: R.map((r) => (r[key + '_collapsed'] ? '#d62728' : color)),
               symbol: R.map((r) => (r[key + '_collapsed'] ? 'x' : 'circle'))},
      hovertext: R.map((r) => `${esc(label)}, fraction ${pc(r.fraction)}, run ${r.run} `
          + `(seed ${r.seed}, `
          + `${r.n_train} train): ${num(r[key], 2)}` + (r[key + '_collapsed'] ? ' collapsed' : '')
          + `<br>baseline ${num(r.baseline, 2)}, MLRC ${num(r.mlrc, 2)}, `
          + `MLRC \u2212 baseline ${num(r.mlrc - r.baseline, 2)}`)});
  }
  if (D.paper_1pct && S.some((s) => s.fraction === 0.01)) {
    traces.push({type: 'scatter', mode: 'markers',
      name: `paper at 1 %: ${D.paper_1pct.join(' \u2192 ')}`,
      x: [1 / 1.04, 1.04], y: D.paper_1pct, hoverinfo: 'text',
      hovertext: D.paper_1pct.map((v, k) => `paper at 1 %, ${k ? 'MLRC' : esc(D.model)}: ${v}`),
      marker: {symbol: 'square-open', size: 11, color: ['#1f77b4', '#ff7f0e'], line: {width: 2}}});
  }
  const layout = {margin: {l: 60, r: 10, t: 30, b: 60}, hovermode: 'closest',
    xaxis: {type: 'log', title: {text: 'training data used (%)'},  // Log range, 1.6x margins.
            range: S.length ? [Math.log10(100 * S[0].fraction / 1.6),
                               Math.log10(100 * S[S.length - 1].fraction * 1.6)] : undefined,
            tickvals: S.map((s) => 100 * s.fraction),
            ticktext: S.map((s) => `${pc(s.fraction)} (${Math.round(s.n_train)})`)},
    yaxis: {title: {text: D.score}, rangemode: 'tozero'}, legend: {font: {size: 11}}};
  if (!S.length) $('subtitle').textContent = 'No finished runs yet.';
  $('rel-title').textContent = D.smallest === null ? 'Per relation: no runs yet'
      : `Per relation at fraction ${pc(D.smallest)} (the paper's Table 1), fewest examples first`;
  const f2 = (k) => ({label: k, value: (r) => r[k], html: (r) => num(r[k], 2), num: true});
  const delta = {label: 'MLRC \u2212 baseline', value: (r) => r.mlrc - r.baseline, num: true,
                 html: (r) => num(r.mlrc - r.baseline, 2)};
  new Table($('relations'), [
    {label: 'relation', value: (r) => r.relation, html: (r) => esc(r.relation)},
    {label: '# (mean)', value: (r) => r.count, html: (r) => num(r.count, 1), num: true},
    Object.assign(f2('baseline'), {label: 'baseline F1'}),
    Object.assign(f2('mlrc'), {label: 'MLRC F1'}), delta],
    {sort: 1, dir: 1, pageSize: 100, placeholder: 'search relations',
     text: (r) => esc(r.relation.toLowerCase())}).setItems(D.relations);
  const loss = (m) => (m && m.first !== undefined ? `${num(m.first, 4)} \u2192 ${num(m.last, 4)}`
                                                  : '\u2014');
  const scored = (k) => ({label: k === 'mlrc' ? 'MLRC' : k, value: (r) => r[k], num: true,
                          html: (r) => num(r[k], 2) + (r[k + '_collapsed'] ? ' collapsed' : '')});
  new Table($('runs'), [
    {label: 'fraction', value: (r) => r.fraction, html: (r) => pc(r.fraction), num: true},
    {label: 'run', value: (r) => r.run, html: (r) => esc(r.run), num: true},
    {label: 'seed', value: (r) => r.seed, html: (r) => esc(r.seed), num: true},
    {label: 'train', value: (r) => r.n_train, html: (r) => esc(r.n_train), num: true},
    scored('baseline'), scored('mlrc'), delta,
    {label: 'meta loss first \u2192 last', value: (r) => (r.meta_loss ? r.meta_loss.last : null),
     html: (r) => loss(r.meta_loss)}],
    {sort: 0, dir: 1, pageSize: 100, placeholder: 'search fraction, run, seed',
     text: (r) => `${r.fraction} ${r.run} ${r.seed}`}).setItems(R);
  Plotly.newPlot($('curve'), traces, layout, {displaylogo: false, responsive: true})
    .then(() => { window.explorer = {}; markReady(); }).catch(showError);
})();
"""

if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
