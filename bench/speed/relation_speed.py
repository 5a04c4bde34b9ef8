r"""PA-LSTM train-step speed: our jitted Flax step vs a PyTorch reference, one run.

The PyTorch model is the same architecture as the original implementation
runs it (nn.LSTM over packed sequences, position-aware attention, SGD with
gradient clipping), fed the same batches (real SemEval-style shapes: batch
50, sentences of 10 to 60 tokens padded to a multiple of 16). Steady state,
compilation excluded, the two timed alternately; prints examples/s and the
ratio ours / PyTorch.

  python -m bench.speed.relation_speed [--steps=30] [--rounds=3] [--out=runs/bench/re.md]
"""
import functools
import time

from absl import flags
import jax
import numpy as np
import torch
from torch import nn

from bench import cli
from bench import output
from configs import re_semeval
from noisy_meta.core import loop
from noisy_meta.data import relation_batches
from noisy_meta.data import relation_features as rf
from noisy_meta.learners import relation_classifier as relation


class TorchPALSTM(nn.Module):
  """PA-LSTM as in the original PyTorch code (facts: Zhang et al. 2017)."""

  def __init__(self, glove, num_pos, num_ner, num_classes, hidden=200, layers=2,
               attn_dim=200, pe_dim=30, max_len=128, dropout=0.5):
    super().__init__()
    self.emb = nn.Embedding.from_pretrained(torch.from_numpy(glove), freeze=True)
    self.pos = nn.Embedding(num_pos, 30)
    self.ner = nn.Embedding(num_ner, 30)
    self.drop = nn.Dropout(dropout)
    self.rnn = nn.LSTM(glove.shape[1] + 60, hidden, layers, batch_first=True,
                       dropout=dropout)
    self.pe = nn.Embedding(2 * max_len + 1, pe_dim)
    self.w_h = nn.Linear(hidden, attn_dim)
    self.w_q = nn.Linear(hidden, attn_dim, bias=False)
    self.w_s = nn.Linear(pe_dim, attn_dim, bias=False)
    self.w_o = nn.Linear(pe_dim, attn_dim, bias=False)
    self.v = nn.Linear(attn_dim, 1)
    self.out = nn.Linear(hidden, num_classes)
    self.max_len = max_len

  def forward(self, words, pos, ner, sp, op, mask, lengths):
    x = self.drop(torch.cat([self.emb(words), self.pos(pos), self.ner(ner)], -1))
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                               enforce_sorted=False)
    out, (hn, _) = self.rnn(packed)
    h, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                            total_length=words.shape[1])
    h = self.drop(h)
    q = hn[-1]
    clip = lambda p: p.clamp(-self.max_len, self.max_len) + self.max_len
    u = (self.w_h(h) + self.w_q(q)[:, None] + self.w_s(self.pe(clip(sp)))
         + self.w_o(self.pe(clip(op))))
    s = self.v(torch.tanh(u)).squeeze(-1).masked_fill(~mask, -1e30)
    z = torch.einsum("bl,blh->bh", torch.softmax(s, -1), h)
    return self.out(z)


def define_flags(fv):
  flags.DEFINE_integer("steps", 30, "Steps per timed round.", flag_values=fv)
  flags.DEFINE_integer("rounds", 3, "Timed rounds (medians).", flag_values=fv)
  flags.DEFINE_integer("batch", 50, "Examples per step.", flag_values=fv)
  flags.DEFINE_string("out", "", "Also write the markdown table here.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  rng = np.random.default_rng(0)
  n, vocab, num_pos, num_ner, classes = 1000, 20000, 45, 20, 19
  lengths = rng.integers(10, 61, n).astype(np.int32)
  length = 64
  mask = np.arange(length)[None] < lengths[:, None]
  rand = lambda hi: (rng.integers(2, hi, (n, length)) * mask).astype(np.int32)
  pos_rel = np.arange(length)[None] - rng.integers(0, 10, (n, 1))
  enc = rf.Encoded(words=rand(vocab), pos=rand(num_pos), ner=rand(num_ner),
                   subj_pos=(pos_rel * mask).astype(np.int32),
                   obj_pos=((pos_rel - 3) * mask).astype(np.int32),
                   heads=-np.ones((n, length), np.int32), kept=mask, lengths=lengths,
                   labels=rng.integers(0, classes, n).astype(np.int32), ids=list(range(n)))
  glove = rng.normal(size=(vocab, 50)).astype(np.float32)
  config = re_semeval.get_config("model=pa_lstm")
  vocabs = rf.Vocabs(rf.Vocab(["w"] * vocab), rf.Vocab(["p"] * num_pos),
                     rf.Vocab(["n"] * num_ner), [str(i) for i in range(classes)])
  learner = relation.RelationClassifier(config, dict(vocabs=vocabs, glove=glove))
  state = relation.create_train_state(config, vocabs, glove, classes, jax.random.key(0))
  step = jax.jit(functools.partial(loop.train_step, learner=learner), donate_argnums=(0,))
  key = jax.random.key(1)
  batches = [relation_batches.make_batch(enc, idx, args.batch, 16)
             for idx in relation_batches.epoch_order(n, args.batch, 0, 0)]

  torch.manual_seed(0)
  tm = TorchPALSTM(glove, num_pos, num_ner, classes)
  topt = torch.optim.SGD([q for q in tm.parameters() if q.requires_grad], lr=1.0)
  tb = []
  for b in batches:
    k = int(b["_mask"].sum())
    t = {name: torch.from_numpy(b[name][:k]).long() for name in
         ("words", "pos", "ner", "subj_pos", "obj_pos", "label")}
    t["mask"] = torch.from_numpy(b["mask"][:k])
    t["lengths"] = torch.from_numpy(b["mask"][:k].sum(1))
    tb.append(t)

  def torch_step(t):
    logits = tm(t["words"], t["pos"], t["ner"], t["subj_pos"], t["obj_pos"], t["mask"],
                t["lengths"])
    loss = nn.functional.cross_entropy(logits, t["label"])
    topt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(tm.parameters(), 5.0)
    topt.step()

  for b in batches:  # Compile every shape.
    state, m = step(state, b, key)
  jax.block_until_ready(m)
  torch_step(tb[0])
  ours, theirs = [], []
  for r in range(args.rounds):
    order = [i % len(batches) for i in range(r * args.steps, (r + 1) * args.steps)]
    t0 = time.perf_counter()
    for i in order:
      state, m = step(state, batches[i], key)
    jax.block_until_ready((m, state.params))
    ours.append(args.steps * args.batch / (time.perf_counter() - t0))
    t0 = time.perf_counter()
    for i in order:
      torch_step(tb[i])
    theirs.append(args.steps * args.batch / (time.perf_counter() - t0))
  o, t = float(np.median(ours)), float(np.median(theirs))
  output.publish("\n".join([
      f"# PA-LSTM train step, batch {args.batch}, 10-60 tokens", "",
      output.stamp("jax", "torch"), "",
      "| ours (examples/s) | PyTorch (examples/s) | ratio ours / PyTorch |", "|---|---|---|",
      f"| {o:.0f} | {t:.0f} | {o / t:.2f} |"]) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
