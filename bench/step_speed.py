r"""Train-step speed: our jitted Flax step vs PyTorch + transformers, one run.

Same model (all-MiniLM-L6-v2 + classification head), same batch shapes,
AdamW + clipping in both; steady state after warm-up (compilation excluded),
the two frameworks timed alternately so both see the same machine state.
Prints examples/s and the ratio ours / PyTorch per sequence length.

  python bench/step_speed.py [--batch=32] [--lengths=16,32,64] [--steps=20]
"""
import argparse
import datetime
import os
import platform
import sys
import time

import jax
import numpy as np
import torch
import transformers

import profile_step  # bench/, the folder of this script: the step both benches use.


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--batch", type=int, default=32)
  p.add_argument("--lengths", default="16,32,64")
  p.add_argument("--steps", type=int, default=20)
  p.add_argument("--rounds", type=int, default=3)
  args = p.parse_args()
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
  print(f"# train-step speed, batch {args.batch}; {platform.machine()}, {os.cpu_count()} "
        f"cores; jax {jax.__version__}, torch {torch.__version__}; {datetime.date.today()}")
  print("| length | ours (ex/s) | PyTorch (ex/s) | ratio ours/PyTorch |")
  print("|---|---|---|---|")
  for length in [int(x) for x in args.lengths.split(",")]:
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
    print(f"| {length} | {o:.1f} | {t:.1f} | {o / t:.2f} |", flush=True)


if __name__ == "__main__":
  main()
