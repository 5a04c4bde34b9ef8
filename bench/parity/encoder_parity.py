r"""Every registered encoder architecture against transformers' PyTorch model.

For each architecture, a small randomly initialised model is built with
transformers from a small config (every weight then perturbed, so norms
and biases are not at their defaults), saved to a temporary folder and
loaded by ours (noisy_meta.models.hf_import). Reported: the largest
difference of the last hidden states on the real positions of a padded
batch (float32), of the gradients of sum(hidden[real] @ r) for a fixed r
with respect to every parameter (PyTorch's mapped through the same
checkpoint mapping; absolute, and relative to max(1, the leaf's largest
|gradient|)), and the bfloat16 (model.dtype) hidden states against float32.

  python -m bench.parity.encoder_parity [--out=runs/bench/encoder_parity.md]
"""
import sys
import tempfile

from absl import flags
import jax
import jax.numpy as jnp
import numpy as np
import torch
import transformers

from bench import cli
from bench import output
from noisy_meta.models import encoders
from noisy_meta.models import hf_import

HIDDEN = 32


def _configs():
  """name -> (transformers model class, its small config)."""
  t = transformers
  common = dict(vocab_size=300, hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=64, max_position_embeddings=64)
  return {
      "bert": (t.BertModel, t.BertConfig(**common)),
      "distilbert": (t.DistilBertModel, t.DistilBertConfig(
          vocab_size=300, dim=HIDDEN, n_layers=2, n_heads=4, hidden_dim=64,
          max_position_embeddings=64)),
      "roberta": (t.RobertaModel, t.RobertaConfig(**common, pad_token_id=1, type_vocab_size=1,
                                                  layer_norm_eps=1e-5)),
      "xlm-roberta": (t.XLMRobertaModel, t.XLMRobertaConfig(
          **common, pad_token_id=1, type_vocab_size=1, layer_norm_eps=1e-5)),
      "electra": (t.ElectraModel, t.ElectraConfig(**common, embedding_size=16)),
      "mpnet": (t.MPNetModel, t.MPNetConfig(**common, pad_token_id=1)),
      "deberta-v2": (t.DebertaV2Model, t.DebertaV2Config(
          **common, relative_attention=True, position_buckets=8, max_relative_positions=16,
          pos_att_type=["p2c", "c2p"], share_att_key=True, norm_rel_ebd="layer_norm",
          position_biased_input=False, layer_norm_eps=1e-7)),
      "modernbert": (t.ModernBertModel, t.ModernBertConfig(
          vocab_size=300, hidden_size=HIDDEN, num_hidden_layers=3, num_attention_heads=4,
          intermediate_size=64, max_position_embeddings=64, local_attention=4,
          global_attn_every_n_layers=2, pad_token_id=0, attn_implementation="eager")),
  }


def _batch(rng, pad_id):
  ids = rng.integers(5, 300, size=(3, 12)).astype(np.int32)
  mask = np.ones_like(ids)
  mask[1, 8:] = 0
  mask[2, 4:] = 0
  ids[mask == 0] = pad_id
  return ids, mask


def _flat(tree):
  return {jax.tree_util.keystr(k): np.asarray(v) for k, v in
          jax.tree_util.tree_leaves_with_path(tree)}


def parity(name, model_cls, cfg, folder, seed=0):
  """{forward, grad_abs, grad_rel, bf16}: the largest differences."""
  torch.manual_seed(seed)
  if hasattr(cfg, "_attn_implementation"):
    cfg._attn_implementation = "eager"  # pylint: disable=protected-access
  model = model_cls(cfg).eval()
  with torch.no_grad():  # Off the defaults: LayerNorm scales, biases, tables.
    for p in model.parameters():
      p.add_(0.05 * torch.randn_like(p))
  model.save_pretrained(folder)
  _, ours_cfg, enc, _ = hf_import.load(folder)
  assert ours_cfg.kind == name, (ours_cfg.kind, name)
  ids, mask = _batch(np.random.default_rng(seed), getattr(cfg, "pad_token_id", 0) or 0)
  real = mask.astype(bool)
  out = {}
  modules = {d: encoders.encoder(ours_cfg, 0.0, d) for d in (jnp.float32, jnp.bfloat16)}
  params = modules[jnp.float32].init(jax.random.key(0), ids, mask)["params"]
  params = hf_import.merge(params, enc, "encoder", full=True)
  hidden = {d: np.asarray(m.apply({"params": params}, ids, mask), np.float32)
            for d, m in modules.items()}
  r_d = np.random.default_rng(seed + 1).normal(size=hidden[jnp.float32].shape[-1])
  r_d = r_d.astype(np.float32)
  ref = model(input_ids=torch.tensor(ids).long(), attention_mask=torch.tensor(mask).long())
  ref_h = ref.last_hidden_state
  out["forward"] = float(np.abs(hidden[jnp.float32] - ref_h.detach().numpy())[real].max())
  out["bf16"] = float(np.abs(hidden[jnp.bfloat16] - hidden[jnp.float32])[real].max())
  (ref_h[torch.tensor(real)] @ torch.tensor(r_d)).sum().backward()
  tg = {n: p.grad.numpy() if p.grad is not None else np.zeros(tuple(p.shape), np.float32)
        for n, p in model.named_parameters()}
  prefixes = encoders.get(ours_cfg).prefixes
  for p in prefixes:  # As read_tensors strips them.
    tg = {(k[len(p):] if k.startswith(p) else k): v for k, v in tg.items()}
  want = _flat(encoders.get(ours_cfg).params_from_hf(ours_cfg, tg))
  m32 = modules[jnp.float32]
  grads = _flat(jax.grad(lambda p: (m32.apply({"params": p}, ids, mask)[real] @ r_d).sum())(
      params))
  common = set(grads) & set(want)
  out["grad_abs"] = max(float(np.abs(grads[k] - want[k]).max()) for k in common)
  out["grad_rel"] = max(float(np.abs(grads[k] - want[k]).max()
                              / max(1.0, np.abs(want[k]).max())) for k in common)
  out["leaves"] = f"{len(common)}/{len(grads)}"
  return out


def define_flags(fv):
  flags.DEFINE_string("out", "", "Also write the markdown table here.", flag_values=fv)
  flags.DEFINE_list("only", [], "Only these model types.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  lines = ["# Encoder parity with transformers (PyTorch)", "", output.stamp("jax", "torch"), "",
           "Tiny random models (hidden 32, 2-3 layers, 4 heads), weights perturbed off their "
           "defaults; a batch of 3 rows of 12 tokens, two padded; float32 unless noted.", "",
           "| architecture (model_type) | forward max abs diff | gradients max abs diff | "
           "gradients max diff / max(1, leaf max abs) | leaves compared | bf16 vs fp32 hidden "
           "max abs diff |", "|---|---|---|---|---|---|"]
  for name, (cls, cfg) in _configs().items():
    if args.only and name not in args.only:
      continue
    with tempfile.TemporaryDirectory() as folder:
      r = parity(name, cls, cfg, folder)
    lines.append(f"| {name} | {r['forward']:.2e} | {r['grad_abs']:.2e} | {r['grad_rel']:.2e} "
                 f"| {r['leaves']} | {r['bf16']:.3f} |")
    print(lines[-1], file=sys.stderr, flush=True)
  output.publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
