r"""AUM from a PyTorch training, end to end (the example of docs/api.md).

A small PyTorch text classifier (hashed bag of words -> EmbeddingBag ->
linear) trains twice on SST-2 sentences with uniform label noise, each run
with its own threshold samples relabelled to a fake class; the callback
analyze.LogitsRecorder writes every batch's logits to JSONL; noisy_meta.analyze
reads the dump and writes examples.csv, report.md, the figures and
explorer.html; the detection of
the injected noise is printed. Then the same run read by the tools people
use: the `aum` package's AUMCalculator fed the saved logits (its AUM must
equal ours) and cleanlab's find_label_issues on the last epoch's
probabilities.

  python -m bench.examples.torch_logits_example --out=/tmp/torch_aum --n=4000
"""
import csv
import json
import os
import time
import zlib

from absl import flags
import numpy as np
import torch

import bench
from bench import cli
from bench import output
from noisy_meta import analyze
from noisy_meta.data import noise


def hashed_bags(texts, buckets):
  """Token ids (crc32 of each lower-cased word, mod buckets) and offsets."""
  ids, offsets = [], []
  for t in texts:
    offsets.append(len(ids))
    ids.extend(zlib.crc32(w.encode()) % buckets for w in t.lower().split() or [""])
  return torch.tensor(ids), torch.tensor(offsets)


def train_run(texts, trained_labels, num_outputs, recorder, epochs, seed, buckets=2 ** 15):
  torch.manual_seed(seed)
  bag = torch.nn.EmbeddingBag(buckets, 64, mode="mean")
  head = torch.nn.Linear(64, num_outputs)
  opt = torch.optim.Adam(list(bag.parameters()) + list(head.parameters()), lr=5e-3)
  n = len(texts)
  gen = torch.Generator().manual_seed(seed)
  y_all = torch.tensor(trained_labels)
  for epoch in range(epochs):
    for idx in torch.randperm(n, generator=gen).split(64):
      ids, offsets = hashed_bags([texts[i] for i in idx], buckets)
      logits = head(bag(ids, offsets))
      loss = torch.nn.functional.cross_entropy(logits, y_all[idx])
      recorder(epoch, idx, y_all[idx], logits)  # The training pass's logits, as AUM uses.
      opt.zero_grad()
      loss.backward()
      opt.step()


def define_flags(fv):
  flags.DEFINE_string("data_dir", os.environ.get("NOISY_META_DATA_DIR", os.path.join(
      bench.ROOT, "..", "shared", "data")), "Holds sst2/train.tsv.", flag_values=fv)
  flags.DEFINE_string("out", None, "The logits dump, the report and the `aum` package's "
                      "files go here.", flag_values=fv)
  flags.DEFINE_integer("n", 4000, "SST-2 training sentences used.", flag_values=fv)
  flags.DEFINE_integer("epochs", 8, "Epochs of each of the two runs.", flag_values=fv)
  flags.DEFINE_float("noise", 0.2, "Uniform label noise injected.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("out",))
  torch.set_num_threads(max(1, os.cpu_count() or 1))
  with open(os.path.join(args.data_dir, "sst2", "train.tsv"), encoding="utf-8") as f:
    rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:args.n + 1]
  texts, original = [r[0] for r in rows], np.array([int(r[1]) for r in rows])
  given, noisy = noise.inject("uniform", original, 2, args.noise, seed=100)
  thr = analyze.threshold_ids(given, 2)
  os.makedirs(args.out, exist_ok=True)
  dump = os.path.join(args.out, "logits.jsonl")
  if os.path.exists(dump):
    os.remove(dump)
  t0 = time.perf_counter()
  for r in (0, 1):
    trained = given.copy()
    trained[thr[r]] = 2  # The fake class: a third output.
    with analyze.LogitsRecorder(dump, run=r + 1) as rec:  # The callback (docs/api.md).
      train_run(texts, trained, 3, rec, args.epochs, seed=r)
  train_s = time.perf_counter() - t0

  run = analyze.load(dump)
  report_dir = os.path.join(args.out, "report")
  table = analyze.from_logits(run["logits"], run["labels"], run["threshold"], texts=texts,
                              label_names=("negative", "positive"), original_labels=original,
                              task="sst2", workdir=report_dir)
  summary = json.load(open(os.path.join(report_dir, "summary.json")))
  det = summary["detectors"]["table"]["aum"]
  print(output.stamp("torch"))
  print(f"{len(texts)} SST-2 sentences, {int(noisy.sum())} labels flipped; PyTorch: 2 runs x "
        f"{args.epochs} epochs in {train_s:.1f} s.")
  print(f"-AUM vs the injected noise: AUROC {det['auroc']:.3f}, AP {det['ap']:.3f}; "
        f"flagged at the 99th percentile of threshold samples: "
        f"{summary['percentiles']['99']['flagged']} (precision "
        f"{summary['percentiles']['99']['detection']['precision']:.3f}, recall "
        f"{summary['percentiles']['99']['detection']['recall']:.3f}).")
  print("lowest AUM:", table.head(3)[["aum", "label_name", "noisy", "text"]].to_string(index=False))

  # The same logits through the `aum` package (Pleiss et al.'s reference code).
  import aum as aum_pkg  # pylint: disable=g-import-not-at-top
  ref = []
  for r in (0, 1):
    trained = given.copy()
    trained[thr[r]] = 2
    calc = aum_pkg.AUMCalculator(os.path.join(args.out, f"aum_pkg_run{r + 1}"), compressed=True)
    for e in range(args.epochs):
      calc.update(torch.tensor(run["logits"][r][e]), torch.tensor(trained),
                  list(range(len(texts))))
    ref.append(np.array([calc.sums[i] / calc.counts[i] for i in range(len(texts))]))
  judged = np.where(np.isin(np.arange(len(texts)), thr[0]), ref[1], ref[0])
  ours = table.sort_values("id")["aum"].to_numpy()
  print(f"`aum` package vs ours, judging run's AUM: max |difference| "
        f"{np.abs(judged - ours).max():.2e} over {len(ours)} examples.")

  # cleanlab on the last epoch's probabilities of the real classes (in-sample:
  # the training models saw these labels; out-of-fold probabilities are better).
  import cleanlab  # pylint: disable=g-import-not-at-top
  last = run["logits"][0][-1][:, :2]
  probs = np.exp(last - last.max(1, keepdims=True))
  probs /= probs.sum(1, keepdims=True)
  keep = ~np.isin(np.arange(len(texts)), thr[0])  # Run 1's threshold samples trained as fake.
  issues = cleanlab.filter.find_label_issues(given[keep], probs[keep], n_jobs=1)
  tp = int((issues & noisy[keep]).sum())
  print(f"cleanlab on run 1's last-epoch probabilities ({keep.sum()} examples): "
        f"{int(issues.sum())} issues, precision {tp / max(issues.sum(), 1):.3f}, recall "
        f"{tp / max(noisy[keep].sum(), 1):.3f}.")
  output.done(os.path.join(report_dir, "report.md"), os.path.join(report_dir, "examples.csv"))
  return 0


if __name__ == "__main__":
  cli.run(main)
