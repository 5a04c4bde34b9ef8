r"""How the ensemble's parts were chosen: rank averages of detector scores,
recomputed from the benchmark's cells (bench.research.detectors) without training.

  python -m bench.research.detector_variants --cells=runs/bench/det1k --seeds=100
  python -m bench.research.detector_variants --cells=runs/bench/det1k --seeds=101,102   # the check
  python -m bench.research.detector_variants --cells=runs/bench/repair_cpu --seeds=any

A variant `a+b+c@label_free` weighs its parts by their separations
estimated without the noise mask (noisy_meta.detectors.label_free_weights);
`a+b+c@keep0.85` averages only the parts whose estimated separation is at
least 0.85 of the best part's (detectors.keep_strong, detect.ensemble_keep).

Reads each noisy cell's examples.csv (`score_*` columns, the injected
`noisy` column) and prints, per variant (a `+`-joined list of detectors,
averaged by rank as noisy_meta.detectors.rank_average does), the AUROC per
cell and the mean AUROC and AP. `--seeds` picks the noise seeds: the
ensemble's parts were chosen on seed 100's cells (docs/detectors.md);
seeds 101 and 102 then check the choice on other noise draws.
"""
import csv
import glob
import os

from absl import flags
import numpy as np

from bench import cli
from bench import output
from noisy_meta import aum_lib
from noisy_meta import detectors

VARIANTS = [
    "prior", "aum", "cleanlab", "confidence", "loss", "probe",
    "aum+cleanlab+probe", "aum+probe", "cleanlab+probe", "aum+cleanlab",
    "aum_two_runs+cleanlab+probe", "aum_eval+cleanlab+probe", "confidence+cleanlab+probe",
    "aum+cleanlab+probe+knn_tuned", "aum+cleanlab+probe+simifeat", "aum+cleanlab+probe+probe",
    "aum+knn", "aum+simifeat", "aum+cleanlab+probe@label_free",
    "aum+cleanlab+probe+knn_tuned@label_free", "aum+cleanlab+probe+simifeat@label_free",
    "aum+aum_two_runs+cleanlab+probe+knn+simifeat+loss@label_free",
    "aum+cleanlab+probe@keep0.8", "aum+cleanlab+probe@keep0.85", "aum+cleanlab+probe@keep0.9",
    "aum+cleanlab+probe@keep0.95"]


def define_flags(fv):
  flags.DEFINE_string("cells", "runs/bench/det1k", "The benchmark's --out folder.",
                      flag_values=fv)
  flags.DEFINE_string("seeds", "100", "Noise seeds of the cells to read (`any`: every cell, "
                      "named with a seed or not, as the repair grid's).", flag_values=fv)
  flags.DEFINE_list("variants", VARIANTS, "Rank averages to score (detectors joined by +).",
                    flag_values=fv)
  flags.DEFINE_list("cut_variants", ["aum+cleanlab+probe@keep0.85"], "Variants whose "
                    "automatic cuts are scored beside the job's ensemble's.", flag_values=fv)
  flags.DEFINE_string("out", "", "Also write the markdown table here.", flag_values=fv)


def read_cell(path):
  """({detector: score [N]}, noisy [N]) from a cell's examples.csv."""
  with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
  scores = {k[len("score_"):]: np.array([float(r[k]) for r in rows])
            for k in rows[0] if k.startswith("score_")}
  return scores, np.array([r["noisy"] == "1" for r in rows])


def variant_score(scores, variant):
  """The rank average of the variant's detectors (None if one is missing);
  `a+b+c@label_free` weighs them by detectors.label_free_weights,
  `a+b+c@keep0.85` averages those detectors.keep_strong keeps."""
  names, _, weighting = variant.partition("@")
  parts = names.split("+")
  if any(p not in scores for p in parts):
    return None
  by_name = {p: scores[p] for p in parts}
  if weighting == "label_free":
    return detectors.rank_average(by_name, detectors.label_free_weights(by_name))
  if weighting.startswith("keep"):
    try:
      keep = float(weighting[len("keep"):])
    except ValueError:
      raise SystemExit(f"variant {variant}: give keep<share>, e.g. @keep0.85") from None
    return detectors.rank_average(detectors.keep_strong(by_name, keep)[0])
  if weighting:
    raise SystemExit(f"variant {variant}: unknown weighting {weighting!r} "
                     "(label_free, keep<share>)")
  # A repeated name counts twice (a weight of 2).
  return np.mean([detectors.ranks(scores[p]) for p in parts], axis=0)


def read_counts(path):
  """{detector: rows its automatic cut flagged} from a cell's `flag_*` columns."""
  with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
  return {k[len("flag_"):]: sum(r[k] == "1" for r in rows) for k in rows[0]
          if k.startswith("flag_")}


def cut_rows(name, scores, noisy, counts, variant="ensemble"):
  """The ensemble's automatic cuts on one cell: F1 of its top m at
  confident learning's count (the job's flag_ensemble) and at the smallest
  of that, AUM's cut's count and aum_bbe's (detect.ensemble_cut=min),
  against the best F1 over all cuts. None without the three counts."""
  s = scores.get("ensemble") if variant == "ensemble" else variant_score(scores, variant)
  if any(k not in counts for k in ("ensemble", "aum", "aum_bbe")) or s is None:
    return None
  f1 = lambda m: aum_lib.detection_scores(detectors.top_count(s, m), noisy)["f1"]
  best = detectors.best_f1(s, noisy)
  m_cl = counts["ensemble"]
  m_min = min(m_cl, counts["aum"], counts["aum_bbe"])
  return (f"| {name} | {variant} | {int(noisy.sum())} | {m_cl} | {f1(m_cl):.3f} | "
          f"{counts['aum']} | {counts['aum_bbe']} | {m_min} | {f1(m_min):.3f} | {best:.3f} | "
          f"{f1(m_cl) / best:.2f} | {f1(m_min) / best:.2f} |")


def table(cells, variants):
  """{variant: {cell: (auroc, ap)}}."""
  out = {v: {} for v in variants}
  for name, (scores, noisy) in cells.items():
    for v in variants:
      s = variant_score(scores, v)
      if s is not None:
        out[v][name] = (aum_lib.auroc(s, noisy), aum_lib.average_precision(s, noisy))
  return out


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  seeds = [s.strip() for s in args.seeds.split(",") if s.strip()]
  cells, counts = {}, {}
  for seed in seeds:
    pattern = "*" if seed == "any" else f"*_s{seed}"
    for path in sorted(glob.glob(os.path.join(args.cells, "cells", pattern,
                                              "examples.csv"))):
      name = os.path.basename(os.path.dirname(path))
      scores, noisy = read_cell(path)
      if noisy.any():
        cells[name] = (scores, noisy)
        counts[name] = read_counts(path)
  if not cells:
    raise SystemExit(f"No finished noisy cells of seeds {seeds} in {args.cells}/cells.")
  res = table(cells, args.variants)
  short = {c: c.replace("class_conditional", "cc").replace("uniform", "u") for c in cells}
  lines = [output.stamp(), "", f"{len(cells)} cells of seeds {','.join(seeds)} from "
           f"{args.cells}/cells.", "",
           "| variant | " + " | ".join(short[c] for c in cells) + " | mean AUROC | mean AP |",
           "|---" * (len(cells) + 3) + "|"]
  for v, per in res.items():
    if len(per) < len(cells):
      continue
    a = [per[c][0] for c in cells]
    p = [per[c][1] for c in cells]
    lines.append(f"| {v} | " + " | ".join(f"{x:.3f}" for x in a)
                 + f" | {np.mean(a):.3f} | {np.mean(p):.3f} |")
  cuts = [r for c in cells for v in dict.fromkeys(["ensemble"] + args.cut_variants)
          for r in [cut_rows(short[c], *cells[c], counts[c], v)] if r]
  if cuts:
    lines += ["", "Automatic cuts: F1 of a score's top m, m the job's confident-learning count "
              "for its ensemble (`count`) or the smallest of that, AUM's cut's and "
              "aum_bbe's (`min`, detect.ensemble_cut=min), each also as a share of that "
              "score's best F1 over all cuts (`ensemble`: the job's equal-weight ensemble).",
              "", "| cell | score | wrong | count m | F1 | AUM's cut m | aum_bbe m | min m | F1 | "
              "best F1 | count / best | min / best |", "|---" * 12 + "|"] + cuts
  output.publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
