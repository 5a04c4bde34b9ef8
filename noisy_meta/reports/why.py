"""Why a job flagged what it flagged: the detector behind examples.csv's
`flagged`, what it is made of, and the runner-up's cut to compare with
(issue 37; shown by report.md's detector section and the explorer).

Everything here reads a finished job (summary.json's detector notes and
examples.csv's `score_*` / `flag_*` columns): nothing is recomputed but the
label-free separations of the ensemble's parts, which need no noise mask.
"""
import numpy as np

from noisy_meta import detectors


def explain(summary, scores, flag_counts, chosen=None):
  """{chosen, parts, weights, shares, count, runner_up, runner_up_flagged,
  text} for the job's flagging detector.

  summary: summary.json; scores: {detector: score [N]} (examples.csv's
  score_* columns); flag_counts: {detector: rows its automatic cut flags};
  chosen: the flagging detector when summary.json does not name it (an
  older workdir: its config's clean.detector).
  `shares`: each ensemble part's label-free separation over the largest
  (detectors.label_free_separations; three parts or more). The runner-up:
  for the ensemble, its part of the largest share that has a cut of its
  own; for another detector, the ensemble (else AUM) when it has a cut.
  """
  det = summary.get("detectors") or {}
  notes = det.get("notes") or {}
  if not isinstance(notes, dict):
    notes = {}
  chosen = det.get("chosen") or chosen or "aum"
  parts = list(notes.get("ensemble_parts", []))
  out = {"chosen": chosen, "parts": parts, "weights": notes.get("ensemble_weights"),
         "shares": None, "count": notes.get(f"{chosen}_count"), "runner_up": None,
         "runner_up_flagged": None}
  if notes.get("ensemble_separation_shares"):  # detect.ensemble_keep: every candidate's.
    out["shares"] = dict(notes["ensemble_separation_shares"])
  elif chosen == "ensemble" and len(parts) >= 3 and all(
      p in scores and np.isfinite(np.asarray(scores[p], float)).all() for p in parts):
    sep = detectors.label_free_separations({p: np.asarray(scores[p]) for p in parts})
    top = max(sep.values())
    out["shares"] = {p: round(v / top, 3) if top > 0 else 1.0 for p, v in sep.items()}
  if chosen == "ensemble":
    ranked = sorted(parts, key=lambda p: -(out["shares"] or {}).get(p, 0.0))
    candidates = [p for p in ranked if p in flag_counts]
  else:
    candidates = [d for d in ("ensemble", "aum") if d != chosen and d in flag_counts]
  if candidates:
    out["runner_up"] = candidates[0]
    out["runner_up_flagged"] = int(flag_counts[candidates[0]])
  out["text"] = _text(out, notes)
  return out


def _text(w, notes):
  """One paragraph for people: what the flags are, and the runner-up."""
  if w["chosen"] == "ensemble" and w["parts"]:
    if w["weights"]:
      s = ("The ensemble averages the ranks of " + ", ".join(
          f"{p} (weight {w['weights'].get(p, 0):.2f})" for p in w["parts"])
           + " (weights estimated without labels from the parts' rank covariances: "
           "detect.ensemble_weights=label_free)")
    else:
      s = "The ensemble averages the ranks of " + ", ".join(w["parts"])
    if w["shares"]:
      s += ("; each part's separation of wrong labels, estimated without labels, as a "
            "share of the best: " + ", ".join(f"{p} {v:.2f}" for p, v in w["shares"].items()))
      left = [p for p in w["shares"] if p not in w["parts"]]
      if left:
        s += f" ({', '.join(left)} left out by detect.ensemble_keep)"
    if "ensemble_count_cl" in notes:
      s += (f". It flags the smallest of confident learning's count "
            f"({notes['ensemble_count_cl']}), AUM's cut's and aum_bbe's: {w['count']} "
            "(detect.ensemble_cut=min)")
    elif w["count"] is not None:
      s += (f". It flags the top {w['count']}, confident learning's count of label issues "
            "on its parts' out-of-fold probabilities")
  else:
    s = f"The job flags by {w['chosen']}'s own cut"
  if w["runner_up"]:
    s += (f". Runner-up: {w['runner_up']}, whose own cut flags {w['runner_up_flagged']} "
          f"(colour by its flag to compare)")
  return s + "."
