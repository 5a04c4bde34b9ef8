r"""Train-step speed: our jitted Flax step vs PyTorch + transformers, one run.

Same model (all-MiniLM-L6-v2 + classification head), same batch shapes,
AdamW + clipping in both; steady state after warm-up (compilation excluded),
the two frameworks timed alternately so both see the same machine state.
Prints examples/s per sequence length for our step in float32 and in
bfloat16 mixed precision (model.dtype), and PyTorch's in float32 and under
bfloat16 autocast, all four timed in turn in each round, with the ratios
ours bf16 / ours fp32 and our best / PyTorch's best.

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
  ours = {}
  for dtype in ("float32", "bfloat16"):
    folder, step, state = profile_step.minilm_step(dtype)
    ours[dtype] = [step, state]
  key = jax.random.key(1)

  tmodel = transformers.AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
  tmodel.train()
  topt = torch.optim.AdamW(tmodel.parameters(), lr=1e-5, weight_decay=0.01)

  def torch_step(x, m, y, bf16):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
      logits = tmodel(input_ids=x, attention_mask=m).logits
    loss = torch.nn.functional.cross_entropy(logits.float(), y)
    topt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 1.0)
    topt.step()
    return loss

  rng = np.random.default_rng(0)
  lines = [f"# train-step speed, batch {args.batch}", "", output.stamp("jax", "torch"), "",
           "Examples per second (median of rounds); fp32 = float32, bf16 = bfloat16 "
           "(ours: model.dtype mixed precision; PyTorch: autocast).", "",
           "| length | ours fp32 | ours bf16 | PyTorch fp32 | PyTorch bf16 | ours bf16 / fp32 "
           "| ours best / PyTorch best |", "|---|---|---|---|---|---|---|"]
  for length in [int(x) for x in args.lengths]:
    b = args.batch
    batch = profile_step.minilm_batch(rng, b, length)
    tx = (torch.from_numpy(batch["input_ids"]).long(),
          torch.from_numpy(batch["attention_mask"]).long(),
          torch.from_numpy(batch["label"]).long())

    def run_ours(dtype, n):
      step, state = ours[dtype]
      for _ in range(n):
        state, m = step(state, batch, key)
      jax.block_until_ready(m)
      ours[dtype][1] = state

    runners = {"ours fp32": lambda n: run_ours("float32", n),
               "ours bf16": lambda n: run_ours("bfloat16", n),
               "PyTorch fp32": lambda n: [torch_step(*tx, False) for _ in range(n)],
               "PyTorch bf16": lambda n: [torch_step(*tx, True) for _ in range(n)]}
    for run in runners.values():
      run(1)  # Compile / warm up.
    rates = {k: [] for k in runners}
    for _ in range(args.rounds):
      for k, run in runners.items():
        t = time.perf_counter()
        run(args.steps)
        rates[k].append(args.steps * b / (time.perf_counter() - t))
    r = {k: float(np.median(v)) for k, v in rates.items()}
    best_ours = max(r["ours fp32"], r["ours bf16"])
    best_torch = max(r["PyTorch fp32"], r["PyTorch bf16"])
    lines.append(f"| {length} | " + " | ".join(f"{r[k]:.1f}" for k in runners)
                 + f" | {r['ours bf16'] / r['ours fp32']:.2f} | {best_ours / best_torch:.2f} |")
    print(lines[-1], file=sys.stderr, flush=True)  # Progress; the table comes last.
  output.publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
