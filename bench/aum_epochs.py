r"""How many epochs AUM needs: detection against the epochs it averages.

  python bench/aum_epochs.py --workdirs=runs/bench/det_re_tf_cpu_e10/cells/semeval_uniform_0.2_s100
  python bench/aum_epochs.py --workdirs=runs/a,runs/b --out=runs/bench/aum_epochs.md

Reads finished AUM workdirs with injected noise (noise.npz's `noisy` mask,
aum_run{1,2}/dynamics.npz) and prints, for k = 1 .. E epochs: the AUROC and
average precision of -AUM averaged over the first k epochs (the judging run
per example, as the pipeline's `aum` detector; k = E is `aum` itself, k = 1
is `aum_early`), of epoch k's margin alone, and how far the model has
learned the given labels at epoch k: the share of clean examples it predicts
as given (learning) and of noisy ones it predicts as their wrong given label
(memorising). AUM separates the two only while the first runs ahead of the
second. No training: the arrays every AUM run saves.
"""
import os
import sys

from absl import app
from absl import flags
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from noisy_meta import aum_lib  # pylint: disable=g-import-not-at-top
from noisy_meta import detectors  # pylint: disable=g-import-not-at-top

_WORKDIRS = flags.DEFINE_list("workdirs", [], "Finished AUM workdirs with injected noise.")
_OUT = flags.DEFINE_string("out", "", "Also write the tables (Markdown) here.")


def load(workdir):
  """(runs, noisy [N]): the two runs' arrays and the injected-noise mask."""
  runs = []
  for name in ("aum_run1", "aum_run2"):
    path = os.path.join(workdir, name, "dynamics.npz")
    if not os.path.exists(path):
      raise SystemExit(f"{workdir}: not a finished AUM workdir (no {name}/dynamics.npz).")
    with np.load(path) as d:
      runs.append({k: d[k] for k in d.files})
  with np.load(os.path.join(workdir, "noise.npz")) as d:
    noisy = d["noisy"].astype(bool)
  if not noisy.any():
    raise SystemExit(f"{workdir}: no injected noise (noise.npz's mask is empty).")
  return runs, noisy


def curve(runs, noisy):
  """Rows per epoch k: AUROC / AP of -AUM over epochs 1..k and of epoch k
  alone; the shares of clean and noisy examples predicted as given at k."""
  n = len(noisy)
  judged = detectors.judged_in(runs, n)
  correct = np.where(judged == 1, runs[0]["correct_EN"], runs[1]["correct_EN"]) > 0.5
  margin = np.where(judged == 1, runs[0]["margin_EN"], runs[1]["margin_EN"])
  rows = []
  for k in range(1, margin.shape[0] + 1):
    upto, alone = -margin[:k].mean(0), -margin[k - 1]
    rows.append(dict(epoch=k, auroc=aum_lib.auroc(upto, noisy),
                     ap=aum_lib.average_precision(upto, noisy),
                     auroc_alone=aum_lib.auroc(alone, noisy),
                     clean_fit=float(correct[k - 1][~noisy].mean()),
                     noisy_fit=float(correct[k - 1][noisy].mean())))
  return rows


def markdown(workdir, rows):
  lines = [f"### {workdir}", "",
           "| epochs averaged | −AUM AUROC / AP | epoch k alone AUROC | clean predicted as given "
           "| noisy predicted as (wrong) given |", "|---|---|---|---|---|"]
  for r in rows:
    lines.append(f"| 1-{r['epoch']} | {r['auroc']:.3f} / {r['ap']:.3f} | {r['auroc_alone']:.3f} "
                 f"| {r['clean_fit']:.3f} | {r['noisy_fit']:.3f} |")
  return "\n".join(lines) + "\n"


def main(argv):
  del argv
  if not _WORKDIRS.value:
    raise SystemExit("--workdirs: give one or more finished AUM workdirs.")
  text = "\n".join(markdown(w, curve(*load(w))) for w in _WORKDIRS.value)
  print(text)
  if _OUT.value:
    with open(_OUT.value, "w") as f:
      f.write(text)
    print(f"done: {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
