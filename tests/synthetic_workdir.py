"""A made-up finished AUM workdir in the real files' layout, for tests and bench.

tests/explorer_test.py and bench/speed/explorer_load.py build explorer pages from
it; its numbers mean nothing, so it lives beside the tests, not in the package.
"""
import json
import os

import numpy as np

from noisy_meta import aum_lib
from noisy_meta.core import atomic
from noisy_meta.reports import aum_examples

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
                          detectors=("aum", "cleanlab", "knn"), chosen=None, runlocal=False,
                          collapsed=()):
  """A made-up finished AUM workdir in `folder`, in the real files' layout.

  examples.csv (aum_examples' columns, flags from aum_lib.combine_runs),
  config.json and summary.json marked `synthetic`, and with `dynamics` the
  runs' aum_run*/dynamics.npz (aum, threshold_idx, other_EN). `chosen`: the
  detector whose flags are the `flagged` column (default: the first);
  `runlocal`: a smoke run's config; `collapsed`: names of retrain runs that
  summary.json calls collapsed. For the tests,
  bench/speed/explorer_load.py and demos: its numbers mean nothing. Returns `folder`.
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
  chosen = chosen or (detectors[0] if detectors else "aum")
  det_flags = {d: s > np.quantile(s, 1 - max(noise_rate, 0.05)) for d, s in scores.items()}
  header = (list(aum_examples.CSV_HEADER) + [f"flagged_p{p}" for p in percentiles]
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
      row += ([int(det_flags[chosen][i])] + [f"{scores[d][i]:.6g}" for d in detectors]
              + [int(det_flags[d][i]) for d in detectors])
    rows.append(row)
  os.makedirs(folder, exist_ok=True)
  aum_examples.write_csv(os.path.join(folder, "examples.csv"), rows, header)
  task = {"dataset": "synthetic_relation"} if relation else {"task": "synthetic_text"}
  config = {"synthetic": True, "runlocal": runlocal, "input": task, "noise": {"rate": noise_rate},
            "aum": {"percentiles": list(percentiles)},
            "clean": {"detector": chosen, "seeds": [],
                      "methods": []}}
  summary = {"synthetic": True, "task": next(iter(task.values())), "noise_rate": noise_rate,
             "noisy": int(noisy.sum()) if has_noise else None, "examples": n,
             "threshold_samples": [len(thr_1), len(thr_2)],
             "percentiles": {str(p): {"threshold": list(thresholds[p]),
                                      "flagged": int(flags[p].sum())} for p in percentiles},
             "detectors": {"chosen": chosen, "table": {}, "notes": [], "cleaning": {}},
             "runs": {r: {"collapsed": True} for r in collapsed},
             "collapsed_runs": sorted(collapsed), "finished_runs": max(len(collapsed), 1)}
  for name, obj in (("config.json", config), ("summary.json", summary)):
    atomic.write_text(os.path.join(folder, name), json.dumps(obj, indent=2))
  if dynamics:
    for k, (a, thr) in enumerate(((a1, thr_1), (a2, thr_2)), 1):
      os.makedirs(os.path.join(folder, f"aum_run{k}"), exist_ok=True)
      np.savez(os.path.join(folder, f"aum_run{k}", "dynamics.npz"), aum=a, threshold_idx=thr,
               other_EN=np.stack([other] * 3).astype(np.int32))
  return folder
