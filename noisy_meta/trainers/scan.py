"""A fast first scan: every training row scored by the detectors that need no
fine-tuning, from one pass of the frozen encoder (issue 35).

1. Optional synthetic noise, as the AUM job's (noise.npz).
2. One pass of the learner's frozen view (`LayerEmbeddings`: every layer's
   vectors; else `FrozenEmbeddings`), with a progress line and ETA.
3. The detectors of noisy_meta/detectors.py that read that view only: knn,
   simifeat (cut: HOC's per-class counts), probe (out-of-fold linear probes;
   cut: confident learning's count), prior, and the ensemble, the rank
   average of `detect.ensemble`, cut at the probe's count.
4. The AUM job's artifacts: examples.csv (its columns; the AUM-specific ones
   empty or nan), summary.json, detector_seconds.json, report.md and
   explorer.html (noisy_meta/reports/scan_report.py).

At or below `scan.sample_rows` rows every score equals the AUM job's
detector of the same name; above, the probe's strength is chosen and HOC's
transition matrix estimated on a seeded sample of that many rows, so the
cost grows as the neighbour search's N^2 D and the probes' N D.
"""
import os
import time

from absl import logging
import numpy as np

from noisy_meta import detectors
from noisy_meta import learners
from noisy_meta import linear_probe
from noisy_meta import neighbour_votes
from noisy_meta.core import atomic
from noisy_meta.core import errors
from noisy_meta.core import guards
from noisy_meta.core import parallel
from noisy_meta.core import progress
from noisy_meta.core import writers
from noisy_meta.data import noise as noise_lib
from noisy_meta.learners import base
from noisy_meta.reports import aum_summary
from noisy_meta.reports import explorer
from noisy_meta.reports import scan_report

EXTENDABLE = ()  # Nothing to extend: a rerun scans again (minutes).
PARTS = ("probe", "knn", "simifeat", "prior")  # What the ensemble may average.
CUTS = ("probe", "ensemble", "knn", "simifeat")  # Detectors with an automatic cut.
LOG_EVERY_S = 15.0  # Seconds between encoding progress lines.


class _Counted:
  """The learner, but `make_batch` logs the encoding's progress with an ETA:
  `embed_layers` runs with this as `self`, so its one jitted pass (one
  compile per bucket) is kept and the rows it has finished are counted. The
  ETA counts padded tokens (rows x bucket length), the encoder's cost: the
  batches come shortest first."""

  def __init__(self, learner, split):
    self._learner = learner
    self._rows, self._n = 0, learner.size(split)
    # The first line after LOG_EVERY_S: an ETA from one batch would hold its compile.
    self._tokens, self._last = 0, time.perf_counter()
    total = sum(len(idx) * max(length, 1) for idx, length in learner.eval_batches(split))
    self._progress = progress.Progress(total, unit="tokens", desc="encoding")

  def __getattr__(self, name):
    return getattr(self._learner, name)

  def _log(self):
    logging.info("scan: encoding %d/%d rows | %s", self._rows, self._n,
                 self._progress.line(min(self._tokens, self._progress.total))[0])

  def make_batch(self, split, idx, batch_size, length):
    # Called for batch k once batches 0..k-1 are back (map_split reads each).
    now = time.perf_counter()
    if self._rows and now - self._last >= LOG_EVERY_S:
      self._last = now
      self._log()
    self._rows += len(idx)
    self._tokens += len(idx) * max(length, 1)
    return self._learner.make_batch(split, idx, batch_size, length)

  def finish(self):
    self._tokens = self._progress.total
    self._log()
    self._progress.close()


def frozen_views(config, learner, split):
  """(emb [N, D] L2-normalised, the probe's views [N, D_i]) of the learner's
  frozen view, as the AUM job's `detect` builds them."""
  n = learner.size(split)
  if isinstance(learner, base.LayerEmbeddings):
    counted = _Counted(learner, split)
    layers = type(learner).embed_layers(counted, split)  # [N, layers, D]
    counted.finish()
    emb = layers[:, -1]
    if not config.scan.layers:
      return emb, [emb]
    every = layers.reshape(n, -1)  # Each layer's unit vectors side by side.
    return emb, [emb, linear_probe.principal_components(every, emb.shape[1])
                 / np.sqrt(layers.shape[1])]
  if isinstance(learner, base.FrozenEmbeddings):
    emb = learner.embed(split)
    return emb, [emb]
  raise errors.InputError(f"learner {config.learner!r} has no frozen view to scan "
                          "(FrozenEmbeddings or LayerEmbeddings): use the AUM job.")


def sample(n, rows, seed):
  """Sorted indices of a seeded sample of `rows` of n (all of them if n <= rows)."""
  if n <= rows:
    return np.arange(n)
  return np.sort(np.random.default_rng(seed).choice(n, rows, replace=False))


def probe_probs(view, given, num_classes, cfg, rows):
  """Out-of-fold probe probabilities [N, C] and the chosen strength (l2 * n):
  every strength on all rows up to `rows` rows (the AUM job's probe), else
  chosen on a seeded sample of `rows` and fitted on all."""
  strengths = linear_probe.STRENGTHS
  if len(given) > rows:
    sub = sample(len(given), rows, cfg.seed)
    _, info = linear_probe.out_of_fold_probs(view[sub], given[sub], num_classes,
                                             cfg.probe_folds, cfg.seed)
    strengths = (info["strength"],)
  probs, info = linear_probe.out_of_fold_probs(view, given, num_classes, cfg.probe_folds,
                                               cfg.seed, strengths=strengths)
  return probs, info["strength"]


def score(config, emb, views, given, num_classes):
  """({detector: score [N]}, {detector: flags [N]}, notes, {detector: seconds},
  the probes' out-of-fold probabilities [N, C], kNN votes [N, C])."""
  cfg, rows_max = config.detect, config.scan.sample_rows
  n, c, given = len(given), num_classes, np.asarray(given)
  rows = np.arange(n)
  scores, flags, notes, seconds = {}, {}, {}, {}
  clock = time.perf_counter
  t = clock()
  idx, _ = neighbour_votes.neighbours(emb, cfg.k)
  votes = neighbour_votes.vote_counts(idx, given, c)
  scores["knn"] = 1.0 - votes[rows, given]
  flags["knn"] = votes.argmax(1) != given
  seconds["knn"], t = clock() - t, clock()
  soft = neighbour_votes.simifeat_votes(emb, given, c, cfg.k, cfg.simifeat_rounds, cfg.seed)
  scores["simifeat"] = 1.0 - soft[rows, given]
  sub = sample(n, rows_max, cfg.seed)
  trans, prior = neighbour_votes.hoc_transition(emb[sub], given[sub], c, seed=cfg.seed)
  wrong = neighbour_votes.hoc_wrong_per_class(trans, prior, given, c)
  notes["hoc_noise_share"] = float(wrong.sum() / n)
  flags["simifeat"] = detectors.per_class_cut(scores["simifeat"], given, c, wrong)
  seconds["simifeat"], t = clock() - t, clock()
  fits = [probe_probs(v, given, c, cfg, rows_max) for v in views]
  probs = np.mean([p for p, _ in fits], axis=0)
  scores["probe"] = 1.0 - probs[rows, given]
  notes["probe_strengths"] = [s for _, s in fits]
  notes["probe_count"] = m = detectors.label_issue_count(given, probs)
  flags["probe"] = detectors.top_count(scores["probe"], m)
  seconds["probe"] = clock() - t
  scores["prior"] = 1.0 - (np.bincount(given, minlength=c) / n)[given]
  parts = {name: scores[name] for name in cfg.ensemble}
  scores["ensemble"] = detectors.rank_average(parts)
  notes["ensemble_parts"] = list(parts)
  notes["ensemble_count"] = m  # Confident learning on the probes' probabilities.
  flags["ensemble"] = detectors.top_count(scores["ensemble"], m)
  seconds["ensemble"] = sum(seconds.get(p, 0.0) for p in parts)
  return scores, flags, notes, seconds, probs, votes


def inject_noise(config, original, train):
  """(given labels, noisy mask or None), as the AUM job injects noise."""
  c, kind = len(train.label_names), config.noise.kind
  if config.noise.from_patch:
    raise errors.InputError("noise.from_patch: the scan does not read label patches; "
                            "use the AUM job (configs/aum_tacred.py).")
  if config.noise.rate > 0 or "=" in kind:  # A mix carries its own rates.
    try:
      return noise_lib.inject(kind, original, c, config.noise.rate, config.noise.seed,
                              label_names=train.label_names, pairing=config.noise.pairing,
                              back_rate=config.noise.back_rate)
    except ValueError as e:  # A bad noise setting or pairing file: one line.
      raise errors.InputError(f"noise: {e}") from None
  return original.copy(), None


def train_and_evaluate(config, workdir):
  """Scans the training split into `workdir`; returns the summary dict."""
  t0 = time.perf_counter()
  os.makedirs(workdir, exist_ok=True)
  guards.check_config(workdir, config, EXTENDABLE)
  learner = learners.get(config.learner)(config)
  train = learner.train_examples()
  guards.check_data(workdir, config, **learner.source_fingerprints())
  c = len(train.label_names)
  original = train.labels.astype(np.int32)
  given, noisy = inject_noise(config, original, train)
  given = np.asarray(given, np.int32)
  loaded = time.perf_counter()
  logging.info("scan: %d rows, %d classes; encoding with %s.", len(given), c,
               config.model.get("path", config.model.get("name")))
  emb, views = frozen_views(config, learner, learner.train)
  encoded = time.perf_counter()
  scores, flags, notes, seconds, probs, votes = score(config, emb, views, given, c)
  det = dict(scores=scores, flags=flags, notes=notes, probs=probs, votes=votes,
             table=detectors.evaluate(scores, flags, noisy if noisy is not None
                                      else np.zeros(len(given), bool)))
  scored = time.perf_counter()
  summary = scan_report.summarize(config, train, given, noisy, det)
  if parallel.is_lead():
    with atomic.path(os.path.join(workdir, "noise.npz"), suffix=".npz") as tmp:
      np.savez(tmp, original=original, given=given,
               noisy=noisy if noisy is not None else np.zeros(len(given), bool))
    # Wall-clock seconds stay out of summary.json (deterministic), as the AUM job's.
    timing = dict(seconds, load=loaded - t0, encoding=encoded - loaded,
                  scoring=scored - encoded)
    scan_report.write_all(workdir, config, train, original, given, noisy, det, summary,
                          timing)
    # The page after the reports, from the same arrays (reports never import it).
    atomic.write_text(os.path.join(workdir, explorer.NAME), explorer.page(
        explorer_data(workdir, config, train, given, noisy, det, summary)))
    timing["total"] = time.perf_counter() - t0
    writers.write_json(os.path.join(workdir, "detector_seconds.json"), timing)
  chosen = config.scan.detector
  logging.info("scan: %d of %d rows flagged by %s in %.0f s (encoding %.0f s); %s: "
               "examples.csv, summary.json, report.md, explorer.html.",
               int(flags[chosen].sum()), len(given), chosen, time.perf_counter() - t0,
               encoded - loaded, workdir)
  return summary


def explorer_data(workdir, config, train, given, noisy, det, summary):
  """The AUM page's JSON blob (explorer.aum_data's keys) from the scan's arrays."""
  n, chosen = len(given), config.scan.detector
  flags = det["flags"][chosen]
  sources = list(train.sources)
  prefix = os.path.commonprefix(sources) if n > 1 else ""
  relation = aum_summary.is_relation(config)
  votes = det["votes"]
  nan = [None] * n
  return {
      "kind": "aum", "workdir": os.path.basename(os.path.abspath(workdir)),
      "task": summary["task"], "n": n, "noise_rate": summary["noise_rate"],
      "synthetic": False, "relation": relation, "label_names": list(train.label_names),
      "percentiles": [0], "levels": [0], "levels_note": scan_report.NO_AUM, "thresholds": [None],
      "default_level": 0, "threshold_counts": [0, 0], "auroc": None,
      "plot_idx": None, "fake_aum": None,
      "det": {k: explorer._bits(v) for k, v in det["flags"].items()},  # pylint: disable=protected-access
      "chosen_detector": chosen, "run_key": explorer.digest(workdir),
      "banners": explorer.banners(config, summary),
      "flagged": explorer._bits(flags),  # pylint: disable=protected-access
      "score_flagged": explorer._finite(det["scores"][chosen], 4),  # pylint: disable=protected-access
      "cols": {
          "id": None, "source": [s[len(prefix):] for s in sources], "source_prefix": prefix,
          "html": [explorer.text_html(t, relation) for t in train.texts],
          "label": np.asarray(given).tolist(),
          "orig": None if noisy is None else np.asarray(train.labels).tolist(),
          "noisy": None if noisy is None else explorer._bits(noisy),  # pylint: disable=protected-access
          "aum": nan, "confidence": nan, "variability": nan, "correctness": nan,
          "judged": "0" * n, "thr": "0" * n,
          "first": np.where(flags, 0, 1).tolist(),  # Flagged at the one level: the scan's.
          "suggest": scan_report.suggested(det["probs"], given).tolist(),
          "nb_share": explorer._finite(votes.max(1), 3),  # pylint: disable=protected-access
          "nb_agrees": explorer._bits(votes.argmax(1) == given),  # pylint: disable=protected-access
      },
  }
