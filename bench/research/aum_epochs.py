r"""How many epochs AUM needs: detection against the epochs it averages.

  python -m bench.research.aum_epochs --workdirs=runs/bench/det_re_tf_cpu_e10/cells/semeval_uniform_0.2_s100
  python -m bench.research.aum_epochs --workdirs=runs/a,runs/b --markdown=runs/bench/aum_epochs.md

Reads finished AUM workdirs (aum_run{1,2}/dynamics.npz; noise.npz's `noisy`
mask where noise was injected) and prints, for k = 1 .. E epochs: the
AUROC and average precision of -AUM averaged over the first k epochs (the
judging run per example, as the pipeline's `aum` detector; k = E is `aum`
itself, k = 1 is `aum_early`), of epoch k's margin alone, and how far the
model has learned the given labels at epoch k: the share of clean examples
it predicts as given (learning), of noisy ones it predicts as their wrong
given label (memorising), and of the threshold samples it predicts as the
fake class. AUM separates clean from noisy only while the first runs ahead
of the second. The threshold samples' column needs no noise mask: they are
mislabelled by construction, so it shows memorisation on real data too
(without a mask the other columns are blank). No training: the arrays every
AUM run saves.
"""
import os

from absl import flags
import numpy as np

from bench import cli
from bench import output
from noisy_meta import aum_lib
from noisy_meta import detectors


def define_flags(fv):
  flags.DEFINE_list("workdirs", [], "Finished AUM workdirs (injected noise or not).",
                    flag_values=fv)
  flags.DEFINE_string("markdown", "", "Also write the tables (Markdown) to this file.",
                      flag_values=fv)


def load(workdir):
  """(runs, noisy [N] or None): the two runs' arrays and the injected-noise
  mask (None when nothing was injected)."""
  runs = []
  for name in ("aum_run1", "aum_run2"):
    path = os.path.join(workdir, name, "dynamics.npz")
    if not os.path.exists(path):
      raise SystemExit(f"{workdir}: not a finished AUM workdir (no {name}/dynamics.npz).")
    with np.load(path) as d:
      runs.append({k: d[k] for k in d.files})
  noisy = None
  if os.path.exists(os.path.join(workdir, "noise.npz")):
    with np.load(os.path.join(workdir, "noise.npz")) as d:
      noisy = d["noisy"].astype(bool)
  return runs, (noisy if noisy is not None and noisy.any() else None)


def curve(runs, noisy):
  """Rows per epoch k: AUROC / AP of -AUM over epochs 1..k and of epoch k
  alone, the shares of clean and noisy examples predicted as given at k
  (None without a noise mask), and of threshold samples predicted as the
  fake class (in the run where they carried it)."""
  n = len(runs[0]["margin_EN"][0])
  judged = detectors.judged_in(runs, n)
  correct = np.where(judged == 1, runs[0]["correct_EN"], runs[1]["correct_EN"]) > 0.5
  margin = np.where(judged == 1, runs[0]["margin_EN"], runs[1]["margin_EN"])
  rows = []
  for k in range(1, margin.shape[0] + 1):
    upto, alone = -margin[:k].mean(0), -margin[k - 1]
    fake = np.concatenate([np.asarray(r["correct_EN"])[k - 1, r["threshold_idx"]] > 0.5
                           for r in runs])
    row = dict(epoch=k, auroc=None, ap=None, auroc_alone=None, clean_fit=None, noisy_fit=None,
               fake_fit=float(fake.mean()) if len(fake) else None)
    if noisy is not None:
      row.update(auroc=aum_lib.auroc(upto, noisy), ap=aum_lib.average_precision(upto, noisy),
                 auroc_alone=aum_lib.auroc(alone, noisy),
                 clean_fit=float(correct[k - 1][~noisy].mean()),
                 noisy_fit=float(correct[k - 1][noisy].mean()))
    rows.append(row)
  return rows


def _f(v):
  return "—" if v is None else f"{v:.3f}"


def markdown(workdir, rows):
  lines = [f"### {workdir}", "",
           "| epochs averaged | −AUM AUROC / AP | epoch k alone AUROC | clean predicted as given "
           "| noisy predicted as (wrong) given | threshold samples predicted as fake |",
           "|---|---|---|---|---|---|"]
  for r in rows:
    lines.append(f"| 1-{r['epoch']} | {_f(r['auroc'])} / {_f(r['ap'])} | {_f(r['auroc_alone'])} "
                 f"| {_f(r['clean_fit'])} | {_f(r['noisy_fit'])} | {_f(r['fake_fit'])} |")
  return "\n".join(lines) + "\n"


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  if not args.workdirs:
    raise SystemExit("error: --workdirs: give one or more finished AUM workdirs.")
  text = output.stamp() + "\n\n" + "\n".join(markdown(w, curve(*load(w))) for w in args.workdirs)
  output.publish(text, args.markdown)


if __name__ == "__main__":
  cli.run(main)
