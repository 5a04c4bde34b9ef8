r"""Detection quality of AUM vs confident learning vs loss ranking, one noisy set.

Reads a finished AUM workdir with synthetic noise (its two AUM runs, noise
mask and config), then on the same noisy training subset:

* AUM: -AUM of the judging run as a score, flags at each percentile.
* Loss ranking: the mean training loss over epochs, -log p(given label),
  from the same training dynamics (no extra training); flags the top k for
  k = the number of injected flips (precision = recall there) and for k =
  what AUM flags at its 50th percentile.
* Confident learning: cleanlab's `find_label_issues` on out-of-fold softmax
  probabilities of the same model and recipe (K-fold cross-validation with
  our trainer); score 1 - `get_label_quality_scores`.

Prints a markdown table (precision, recall, F1, AUROC, AUPRC, training
time) and writes it with a JSON copy to --out.

  python -m bench.parity.aum_peers --aum_workdir=runs/aum_sst2_10k_n20 --folds=3 \
      --out=runs/bench/aum_peers_n20
"""
import json
import os
import time

from absl import flags
import jax
import ml_collections
import numpy as np

from bench import cli
from bench import output
from noisy_meta import aum_lib
from noisy_meta.data import pipeline
from noisy_meta.learners import text_classifier as text
from noisy_meta.trainers import supervised


def define_flags(fv):
  flags.DEFINE_string("aum_workdir", None, "A finished AUM workdir with noise.", flag_values=fv)
  flags.DEFINE_integer("folds", 3, "Cross-validation folds for confident learning.",
                       flag_values=fv)
  flags.DEFINE_string("out", None, "Where fold runs and the summary go.", flag_values=fv)


def out_of_fold_probs(config, learner, labels, folds, out):
  """Softmax probabilities [N, C] of models that never saw each example."""
  n, c = len(labels), int(labels.max()) + 1
  fold_of = np.random.default_rng(config.seed).permutation(n) % folds
  probs = np.zeros((n, c), np.float32)
  inp, data = config.input, learner.data
  given = learner.relabel(learner.train, labels)
  for k in range(folds):
    train_idx, held = np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)
    train = learner.subset(given, train_idx)
    _, state = supervised.fit(config, os.path.join(out, f"fold{k}"), learner, train,
                              num_classes=c)
    prob_fn = jax.jit(lambda s, b: jax.nn.softmax(s.apply_fn(
        {"params": s.params}, b["input_ids"], b["attention_mask"], train=False)))
    ids, lens = data["train_ids"][held], data["train_len"][held]
    for idx, length in pipeline.epoch_batches(lens, inp.eval_batch_size, 0, 0,
                                              inp.buckets, shuffle=False):
      batch = pipeline.make_batch(ids, lens, labels[held], idx, inp.eval_batch_size, length)
      probs[held[idx]] = np.asarray(prob_fn(state, batch))[:len(idx)]
  return probs


def top_k(scores, k):
  flags_ = np.zeros(len(scores), bool)
  flags_[np.argsort(-scores, kind="mergesort")[:k]] = True
  return flags_


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("aum_workdir", "out"))
  import cleanlab  # pylint: disable=g-import-not-at-top
  wd, out = args.aum_workdir, args.out
  with open(os.path.join(wd, "config.json")) as f:
    config = ml_collections.ConfigDict(json.load(f))
  noise = np.load(os.path.join(wd, "noise.npz"))
  given, noisy = noise["given"], noise["noisy"]
  if not noisy.any():
    raise SystemExit(f"{wd}: no injected noise to detect (noise.rate = 0).")
  runs = [dict(np.load(os.path.join(wd, f"aum_run{r}", "dynamics.npz"))) for r in (1, 2)]
  seconds = [json.load(open(os.path.join(wd, f"aum_run{r}", "metrics.json")))
             ["train_seconds"] for r in (1, 2)]
  thr_1, thr_2 = runs[0]["threshold_idx"], runs[1]["threshold_idx"]

  rows = {}
  for p in config.aum.percentiles:
    flags_, used, judged_in, _ = aum_lib.combine_runs(runs[0]["aum"], thr_1,
                                                      runs[1]["aum"], thr_2, p)
    rows[f"AUM, percentile {p}"] = dict(
        aum_lib.detection_scores(flags_, noisy, -used), train_seconds=sum(seconds))
  # Mean training loss of the given label, from the run judging each example.
  prob = np.where(judged_in[None] == 1, runs[0]["prob_EN"], runs[1]["prob_EN"])
  loss = -np.log(np.clip(prob, 1e-12, 1.0)).mean(0)
  k50 = rows["AUM, percentile 50"]["flagged"] if 50 in config.aum.percentiles else noisy.sum()
  for k, name in ((int(noisy.sum()), "k = injected flips"), (int(k50), "k = AUM p50 count")):
    rows[f"loss ranking, {name}"] = dict(
        aum_lib.detection_scores(top_k(loss, k), noisy, loss), train_seconds=sum(seconds))

  t = time.perf_counter()
  learner = text.TextClassifier(config)
  probs = out_of_fold_probs(config, learner, given, args.folds, out)
  cl_seconds = time.perf_counter() - t
  issues = cleanlab.filter.find_label_issues(given, probs, n_jobs=1)
  quality = cleanlab.rank.get_label_quality_scores(given, probs)
  rows[f"confident learning ({args.folds}-fold)"] = dict(
      aum_lib.detection_scores(issues, noisy, 1.0 - quality), train_seconds=cl_seconds)

  head = (f"# Detection of injected label noise: {config.input.task}, "
          f"{len(given)} examples, noise {config.noise.rate}\n\n"
          f"{output.stamp('jax', 'cleanlab')}\n\nAUM from `{wd}`.\n")
  lines = [head, "| method | flagged | precision | recall | F1 | AUROC | AUPRC | "
           "training s |", "|---|---|---|---|---|---|---|---|"]
  for name, r in rows.items():
    lines.append(f"| {name} | {r['flagged']} | {r['precision']:.3f} | {r['recall']:.3f} | "
                 f"{r['f1']:.3f} | {r['auroc']:.3f} | {r['auprc']:.3f} | "
                 f"{r['train_seconds']:.0f} |")
  report = "\n".join(lines) + "\n"  # (Not `text`: the learner module's name.)
  print(report)
  output.done(output.write(os.path.join(out, "summary.md"), report),
              output.write(os.path.join(out, "summary.json"), rows))


if __name__ == "__main__":
  cli.run(main)
