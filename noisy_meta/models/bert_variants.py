"""RoBERTa / XLM-RoBERTa, ELECTRA and MPNet encoders: BERT's blocks with other
embeddings (noisy_meta.models.encoders registers them).

RoBERTa and ELECTRA reuse transformer.BertLayer unchanged: they differ from
BERT only before the first block (RoBERTa: positions counted from
padding_idx + 1; ELECTRA: narrower embeddings projected to the hidden
size). MPNet's blocks add one relative position bias (T5-style buckets,
one table shared by every layer) to the attention logits, so it has its own
layer. Each computes what transformers' RobertaModel / ElectraModel /
MPNetModel compute as last_hidden_state on the real positions
(tests/bert_variants_test.py). Every matrix product goes through
noisy_meta.models.precision (in bfloat16: bfloat16 operands accumulated in
float32; attention's batched products in float32).
"""
import dataclasses
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from noisy_meta.models import encoders
from noisy_meta.models import hf_tensors
from noisy_meta.models import precision
from noisy_meta.models import transformer

_ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu")
# MPNet's bucketing (transformers' MPNetEncoder.compute_position_bias): fixed
# at 32 buckets and distance 128 whatever the config's table size.
_MPNET_BUCKETS, _MPNET_MAX_DISTANCE = 32, 128


@dataclasses.dataclass(frozen=True)
class VariantConfig:
  """A RoBERTa / ELECTRA / MPNet encoder (fields of HF config.json)."""
  kind: str  # "roberta" | "xlm-roberta" | "electra" | "mpnet"
  vocab_size: int
  hidden_size: int
  num_layers: int
  max_position: int  # The longest input: the table less the offset.
  pad_token_id: int
  num_heads: int
  intermediate_size: int
  position_table: int  # max_position_embeddings: rows of the position table.
  position_offset: int = 0  # First real position's row (padding_idx + 1, or 0).
  type_vocab_size: int = 0  # 0: no token-type table (MPNet).
  embedding_size: int = 0  # ELECTRA's; 0: hidden_size.
  layer_norm_eps: float = 1e-12
  activation: str = "gelu"
  relative_buckets: int = 0  # MPNet's relative_attention_num_buckets (table rows).


def _check(d, kind):
  """ValueError on the config.json options these encoders do not implement."""
  for field in ("is_decoder", "add_cross_attention"):
    if d.get(field):
      raise ValueError(f"{kind}: {field}=true is not supported (encoders only).")
  pe = d.get("position_embedding_type", "absolute")
  if pe != "absolute":
    raise ValueError(f"{kind}: position_embedding_type={pe!r} is not supported "
                     "(absolute only).")
  act = d.get("hidden_act", "gelu")
  if act not in _ACTIVATIONS:
    raise ValueError(f"{kind}: hidden_act={act!r} is not supported "
                     f"({', '.join(_ACTIVATIONS)}).")
  if d["hidden_size"] % d["num_attention_heads"]:
    raise ValueError(f"{kind}: hidden_size {d['hidden_size']} is not a multiple of "
                     f"num_attention_heads {d['num_attention_heads']}.")


def config_from_hf(d):
  """A VariantConfig from a config.json dict (model_type names the variant)."""
  kind = d.get("model_type")
  _check(d, kind)
  common = dict(kind=kind, vocab_size=d["vocab_size"], hidden_size=d["hidden_size"],
                num_layers=d["num_hidden_layers"], num_heads=d["num_attention_heads"],
                intermediate_size=d["intermediate_size"],
                position_table=d["max_position_embeddings"],
                layer_norm_eps=d.get("layer_norm_eps", 1e-12),
                activation=d.get("hidden_act", "gelu"))
  table = d["max_position_embeddings"]
  if kind in ("roberta", "xlm-roberta"):
    pad = d.get("pad_token_id", 1)
    return VariantConfig(max_position=table - pad - 1, pad_token_id=pad,
                         position_offset=pad + 1,
                         type_vocab_size=d.get("type_vocab_size", 2), **common)
  if kind == "electra":
    return VariantConfig(max_position=table, pad_token_id=d.get("pad_token_id", 0),
                         type_vocab_size=d.get("type_vocab_size", 2),
                         embedding_size=d.get("embedding_size", d["hidden_size"]), **common)
  if kind == "mpnet":
    buckets = d.get("relative_attention_num_buckets", 32)
    if buckets < _MPNET_BUCKETS:
      raise ValueError(f"mpnet: relative_attention_num_buckets={buckets} < 32 is not "
                       "supported (transformers always looks up 32 buckets).")
    # transformers' MPNetEmbeddings fixes padding_idx at 1 (not pad_token_id).
    return VariantConfig(max_position=table - 2, pad_token_id=d.get("pad_token_id", 1),
                         position_offset=2, relative_buckets=buckets, **common)
  raise ValueError(f"Unsupported model_type {kind!r} (bert_variants: roberta, "
                   "xlm-roberta, electra, mpnet).")


def _bert_cfg(c):
  """The transformer.EncoderConfig that makes BertLayer a block of `c`."""
  return transformer.EncoderConfig(
      kind="bert", vocab_size=c.vocab_size, hidden_size=c.hidden_size,
      num_layers=c.num_layers, num_heads=c.num_heads,
      intermediate_size=c.intermediate_size, max_position=c.position_table,
      type_vocab_size=c.type_vocab_size, layer_norm_eps=c.layer_norm_eps,
      activation=c.activation, pad_token_id=c.pad_token_id)


def relative_buckets(length):
  """MPNet's bucket of each (query i, key j) pair [L, L], as numpy int32.

  T5's bidirectional bucketing of i - j: 16 buckets a side, the first 8
  exact, the rest logarithmic up to distance 128. Computed in float32 as
  transformers does (the bucket edges then agree).
  """
  pos = np.arange(length)
  n = pos[:, None] - pos[None, :]  # i - j (transformers: -(memory - context)).
  half = _MPNET_BUCKETS // 2
  exact = half // 2
  out = (n < 0).astype(np.int32) * half
  n = np.abs(n)
  scaled = (np.log(np.maximum(n, 1).astype(np.float32) / np.float32(exact))
            / np.float32(math.log(_MPNET_MAX_DISTANCE / exact)) * np.float32(half - exact))
  large = np.minimum(exact + scaled.astype(np.int32), half - 1)
  return out + np.where(n < exact, n, large).astype(np.int32)


class BiasedSelfAttention(nn.Module):
  """Multi-head self-attention with an additive logit bias [H, L, L] (MPNet)."""
  hidden: int
  heads: int
  dropout: float
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxLxD, mask_BxL, bias_HxLxL, train):
    head_dim = self.hidden // self.heads
    dense = lambda name: nn.DenseGeneral((self.heads, head_dim), name=name,
                                         **precision.dense(self.dtype))
    q_BxLxHxK = dense("q")(x_BxLxD) / jnp.sqrt(head_dim).astype(x_BxLxD.dtype)
    k_BxLxHxK = dense("k")(x_BxLxD)
    v_BxLxHxK = dense("v")(x_BxLxD)
    logits_BxHxLxL = precision.einsum("bqhk,bshk->bhqs", q_BxLxHxK, k_BxLxHxK, self.dtype)
    logits_BxHxLxL = logits_BxHxLxL.astype(jnp.float32) + bias_HxLxL[None]
    logits_BxHxLxL = jnp.where(mask_BxL[:, None, None, :] > 0, logits_BxHxLxL,
                               jnp.finfo(jnp.float32).min)
    probs = jax.nn.softmax(logits_BxHxLxL, axis=-1).astype(self.dtype)
    probs = nn.Dropout(self.dropout)(probs, deterministic=not train)
    out_BxLxHxK = precision.einsum("bhqs,bshk->bqhk", probs, v_BxLxHxK, self.dtype)
    return nn.DenseGeneral(self.hidden, axis=(-2, -1), name="o",
                           **precision.dense(self.dtype))(out_BxLxHxK)


class MPNetLayer(nn.Module):
  """A post-LayerNorm BERT block whose attention takes MPNet's position bias."""
  cfg: VariantConfig
  dropout: float
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, mask, bias_HxLxL, train):
    c = self.cfg
    drop = lambda y: nn.Dropout(self.dropout)(y, deterministic=not train)
    ln = lambda name: nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name=name)
    a = BiasedSelfAttention(c.hidden_size, c.num_heads, self.dropout, self.dtype,
                            name="attention")(x, mask, bias_HxLxL, train)
    x = ln("attention_ln")(x + drop(a))
    act = transformer._activation(c.activation)  # pylint: disable=protected-access
    h = act(nn.Dense(c.intermediate_size, name="intermediate",
                     **precision.dense(self.dtype))(x))
    h = nn.Dense(c.hidden_size, name="output", **precision.dense(self.dtype))(h)
    return ln("output_ln")(x + drop(h))


class Encoder(nn.Module):
  """RoBERTa, ELECTRA or MPNet encoder: hidden states [B, L, D]."""
  cfg: VariantConfig
  dropout: float = 0.1
  dtype: Any = jnp.float32  # The computation's; parameters stay float32.

  @nn.compact
  def __call__(self, input_ids, attention_mask, token_type_ids=None, train=False):
    c = self.cfg
    width = c.embedding_size or c.hidden_size
    if c.position_offset:
      # transformers counts the non-pad tokens of input_ids; the mask says the
      # same for a tokenizer's output, and stays right where batches pad with
      # another id (noisy_meta.data.pipeline pads extra rows with 0 = <s>).
      real = (attention_mask > 0).astype(jnp.int32)
      positions = jnp.cumsum(real, axis=1) * real + (c.position_offset - 1)
    else:
      positions = jnp.arange(input_ids.shape[1])[None, :]
    x = nn.Embed(c.vocab_size, width, name="word_embeddings")(input_ids)
    x = x + nn.Embed(c.position_table, width, name="position_embeddings")(positions)
    if c.type_vocab_size:
      if token_type_ids is None:
        token_type_ids = jnp.zeros_like(input_ids)
      x = x + nn.Embed(c.type_vocab_size, width, name="token_type_embeddings")(token_type_ids)
    x = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="embeddings_ln")(x)
    x = nn.Dropout(self.dropout)(x, deterministic=not train)
    if width != c.hidden_size:
      x = nn.Dense(c.hidden_size, name="embeddings_project", **precision.dense(self.dtype))(x)
    if c.kind == "mpnet":
      table = self.param("relative_attention_bias", nn.initializers.normal(0.02),
                         (c.relative_buckets, c.num_heads), jnp.float32)
      bias_HxLxL = table[relative_buckets(input_ids.shape[1])].transpose(2, 0, 1)
      for i in range(c.num_layers):
        x = MPNetLayer(c, self.dropout, self.dtype, name=f"layer_{i}")(
            x, attention_mask, bias_HxLxL, train)
      return x
    bert = _bert_cfg(c)
    for i in range(c.num_layers):
      x = transformer.BertLayer(bert, self.dropout, self.dtype, name=f"layer_{i}")(
          x, attention_mask, train)
    return x


def _embeddings(c, t):
  p = {"word_embeddings": {"embedding": t["embeddings.word_embeddings.weight"]},
       "position_embeddings": {"embedding": t["embeddings.position_embeddings.weight"]},
       "embeddings_ln": hf_tensors.layer_norm(t, "embeddings.LayerNorm")}
  if c.type_vocab_size:
    p["token_type_embeddings"] = {"embedding": t["embeddings.token_type_embeddings.weight"]}
  return p


def params_from_hf(c, t):
  """Flax params of `Encoder` from HF tensors `t` (prefix stripped)."""
  if c.kind != "mpnet":  # BERT's blocks under BERT's names.
    p = transformer.params_from_hf(_bert_cfg(c), t)
    if (c.embedding_size or c.hidden_size) != c.hidden_size:
      p["embeddings_project"] = hf_tensors.linear(t, "embeddings_project")
    return p
  h = c.num_heads
  p = _embeddings(c, t)
  p["relative_attention_bias"] = t["encoder.relative_attention_bias.weight"]
  for i in range(c.num_layers):
    s = f"encoder.layer.{i}."
    p[f"layer_{i}"] = {
        "attention": {n: (hf_tensors.heads_out if n == "o" else hf_tensors.heads_in)(
            t, s + "attention.attn." + n, h) for n in ("q", "k", "v", "o")},
        "attention_ln": hf_tensors.layer_norm(t, s + "attention.LayerNorm"),
        "intermediate": hf_tensors.linear(t, s + "intermediate.dense"),
        "output": hf_tensors.linear(t, s + "output.dense"),
        "output_ln": hf_tensors.layer_norm(t, s + "output.LayerNorm")}
  return p


def head_params(c, t):
  """The checkpoint's pooler (dense + tanh on the first token) when saved."""
  del c
  return {"pooler": hf_tensors.linear(t, "pooler.dense")} if "pooler.dense.weight" in t else {}


def _encoder(cfg, dropout, dtype, **kwargs):
  return Encoder(cfg, dropout, dtype, **kwargs)


encoders.register(("roberta", "xlm-roberta"), encoders.Architecture(
    config_from_hf, _encoder, params_from_hf, head_params, transformer.BertLayer,
    prefixes=("roberta.",), pooler="tanh"))
encoders.register(("electra",), encoders.Architecture(
    config_from_hf, _encoder, params_from_hf, head_params, transformer.BertLayer,
    prefixes=("electra.",), pooler="tanh"))
encoders.register(("mpnet",), encoders.Architecture(
    config_from_hf, _encoder, params_from_hf, head_params, MPNetLayer,
    prefixes=("mpnet.",), pooler="tanh"))
