r"""PyTorch + transformers reference for `configs/finetune_*.py`.

Trains transformers' *ForSequenceClassification from the same checkpoint on
the same examples, tokens, batches (same composition and order) and
hyperparameters as our Flax trainer, and prints dev metrics as JSON. It is
the independent evidence that our training reaches the same numbers.

  python -m bench.parity.torch_finetune --config=configs/finetune_cola.py:seed=0 --out=runs/torch_cola_s0.json
"""
import json
import math
import time

from absl import flags
import numpy as np
import torch
import transformers

from bench import cli
from bench import output
from bench.parity import torch_models
from noisy_meta import metrics as metrics_lib
from noisy_meta.data import pipeline
from noisy_meta.data import tasks
from noisy_meta.models import hf_import


def define_flags(fv):
  flags.DEFINE_string("out", "", "Where to write the result JSON.", flag_values=fv)
  flags.DEFINE_integer("threads", 0, "torch threads (0: default).", flag_values=fv)


def _batch(ids, lengths, labels, idx, batch_size, length):
  b = pipeline.make_batch(ids, lengths, labels, idx, batch_size, length)
  k = len(idx)  # PyTorch needs no fixed shapes: drop the padding rows.
  return (torch.from_numpy(b["input_ids"][:k]).long(),
          torch.from_numpy(b["attention_mask"][:k]).long(),
          torch.from_numpy(b["label"][:k]).long())


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, config="Fine-tuning config.")
  config = args.config
  if args.threads:
    torch.set_num_threads(args.threads)
  torch.manual_seed(config.seed)
  inp = config.input
  train, dev = tasks.load_splits(inp)
  folder = hf_import.resolve(config.model.path)
  tokenizer = hf_import.load_tokenizer(folder)
  cache = pipeline.cache_dir(inp.cache_dir)
  tr_ids, tr_len = pipeline.tokenize(train.texts, tokenizer, inp.max_len, cache)
  dv_ids, dv_len = pipeline.tokenize(dev.texts, tokenizer, inp.max_len, cache)
  num_classes = len(train.label_names)

  model = torch_models.hf_classifier(config, folder, num_classes)

  o = config.optim
  opt = torch_models.adamw(model, o)
  steps_per_epoch = math.ceil(len(train) / inp.batch_size)
  num_steps = steps_per_epoch * config.num_epochs
  warmup = int(o.warmup_frac * num_steps)
  sched = transformers.get_linear_schedule_with_warmup(opt, max(warmup, 1), num_steps)

  history, t0, step = [], time.perf_counter(), 0
  for epoch in range(config.num_epochs):
    model.train()
    for idx, length in pipeline.epoch_batches(tr_len, inp.batch_size, config.seed,
                                              epoch, inp.buckets):
      x, m, y = _batch(tr_ids, tr_len, train.labels, idx, inp.batch_size, length)
      loss = torch.nn.functional.cross_entropy(model(input_ids=x, attention_mask=m).logits, y)
      opt.zero_grad()
      loss.backward()
      torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
      opt.step()
      sched.step()
      step += 1
      if step % config.log_every == 0:
        el = time.perf_counter() - t0
        print(f"step {step}/{num_steps} loss {loss.item():.4f} "
              f"{step / el:.2f} steps/s", flush=True)
    model.eval()
    preds = np.zeros(len(dev), np.int64)
    with torch.no_grad():
      for idx, length in pipeline.epoch_batches(dv_len, inp.eval_batch_size, 0, 0,
                                                inp.buckets, shuffle=False):
        x, m, _ = _batch(dv_ids, dv_len, dev.labels, idx, inp.eval_batch_size, length)
        preds[idx] = model(input_ids=x, attention_mask=m).logits.argmax(-1).numpy()
    r = metrics_lib.classification_metrics(dev.labels, preds, num_classes)
    r["epoch"] = epoch + 1
    history.append(r)
    print(f"epoch {epoch + 1} dev {r}", flush=True)
  result = {"dev": history[-1], "dev_history": history, "steps": step,
            "train_seconds": time.perf_counter() - t0, "framework": "torch",
            "torch": torch.__version__, "seed": config.seed, "task": inp.task,
            "train_examples": len(train), "machine": output.stamp("torch")}
  print(json.dumps(result))
  if args.out:
    output.done(output.write(args.out, result))


if __name__ == "__main__":
  cli.run(main)
