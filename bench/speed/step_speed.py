r"""Train-step speed: our jitted Flax step vs PyTorch + transformers, one run.

Same model (all-MiniLM-L6-v2 + classification head), same batch shapes,
AdamW + clipping in both; steady state after warm-up (compilation excluded),
the two frameworks timed alternately so both see the same machine state.
Prints examples/s and the ratio ours / PyTorch per sequence length.

  python -m bench.speed.step_speed [--batch=32] [--lengths=16,32,64] [--steps=20] \
      [--out=runs/bench/step_speed.md]
"""
import sys
import time

from absl import flags
import jax
import numpy as np
import torch
import transformers

from bench import cli
from bench import output
from bench.speed import profile_step  # The step both benches use.


def define_flags(fv):
  flags.DEFINE_integer("batch", 32, "Examples per step.", flag_values=fv)
  flags.DEFINE_list("lengths", ["16", "32", "64"], "Sequence lengths.", flag_values=fv)
  flags.DEFINE_integer("steps", 20, "Steps per timed round.", flag_values=fv)
  flags.DEFINE_integer("rounds", 3, "Timed rounds (medians).", flag_values=fv)
  flags.DEFINE_string("out", "", "Also write the markdown table here.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  folder, step, state = profile_step.minilm_step()
  key = jax.random.key(1)

  tmodel = transformers.AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
  tmodel.train()
  topt = torch.optim.AdamW(tmodel.parameters(), lr=1e-5, weight_decay=0.01)

  def torch_step(x, m, y):
    loss = torch.nn.functional.cross_entropy(tmodel(input_ids=x, attention_mask=m).logits, y)
    topt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 1.0)
    topt.step()
    return loss

  rng = np.random.default_rng(0)
  lines = [f"# train-step speed, batch {args.batch}", "", output.stamp("jax", "torch"), "",
           "| length | ours (ex/s) | PyTorch (ex/s) | ratio ours/PyTorch |",
           "|---|---|---|---|"]
  for length in [int(x) for x in args.lengths]:
    b = args.batch
    batch = profile_step.minilm_batch(rng, b, length)
    tx = (torch.from_numpy(batch["input_ids"]).long(),
          torch.from_numpy(batch["attention_mask"]).long(),
          torch.from_numpy(batch["label"]).long())
    state, m = step(state, batch, key)  # Compile.
    jax.block_until_ready(m)
    torch_step(*tx)
    ours, theirs = [], []
    for _ in range(args.rounds):
      t = time.perf_counter()
      for _ in range(args.steps):
        state, m = step(state, batch, key)
      jax.block_until_ready(m)
      ours.append(args.steps * b / (time.perf_counter() - t))
      t = time.perf_counter()
      for _ in range(args.steps):
        torch_step(*tx)
      theirs.append(args.steps * b / (time.perf_counter() - t))
    o, t = np.median(ours), np.median(theirs)
    lines.append(f"| {length} | {o:.1f} | {t:.1f} | {o / t:.2f} |")
    print(lines[-1], file=sys.stderr, flush=True)  # Progress; the table comes last.
  output.publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
