"""DeBERTa-v2/v3 encoder (HF model_type "deberta-v2") in Flax linen.

Disentangled attention (He et al. 2021): besides content-to-content
scores, each head adds content-to-position (c2p: query against the
relative-position key) and position-to-content (p2c: key against the
relative-position query) scores, all divided by sqrt(head_dim * (1 + number
of position terms)). Relative distances are bucketed logarithmically beyond
position_buckets / 2 and clamped to the embedding table's span. The block is
post-LayerNorm as in BERT. microsoft/deberta-v3-base is: share_att_key,
norm_rel_ebd "layer_norm", position_buckets 256, no absolute positions, no
token types, no convolution. Checked against transformers' DebertaV2Model
by tests/deberta_test.py; parameter names follow its checkpoints. Every
matrix product goes through noisy_meta.models.precision (in bfloat16: bfloat16
operands accumulated in float32; attention's batched products in float32); the
optional convolution does not.
"""
import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from noisy_meta.models import encoders
from noisy_meta.models import hf_tensors
from noisy_meta.models import precision

_ACTIVATIONS = {
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "gelu_new": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: jax.nn.gelu(x, approximate=True),
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
}


@dataclasses.dataclass(frozen=True)
class DebertaConfig:
  """Architecture of a DeBERTa-v2/v3 encoder (fields of HF config.json)."""
  kind: str  # "deberta-v2"
  vocab_size: int
  hidden_size: int
  num_layers: int
  num_heads: int
  head_dim: int
  intermediate_size: int
  max_position: int  # max_position_embeddings.
  pad_token_id: int = 0
  embedding_size: int = 0  # != hidden_size: a bias-free projection after embedding.
  type_vocab_size: int = 0
  position_biased_input: bool = True  # Absolute position embeddings added.
  relative_attention: bool = False
  pos_att_type: tuple = ()  # Subset of ("c2p", "p2c").
  share_att_key: bool = False  # Position q/k by the content q/k projections.
  position_buckets: int = -1  # > 0: log buckets, table of 2 * buckets rows.
  max_relative_positions: int = 512  # Resolved (-1 in config.json: max_position).
  norm_rel_ebd: bool = False  # LayerNorm on the relative embedding table.
  layer_norm_eps: float = 1e-7
  activation: str = "gelu"
  conv_kernel_size: int = 0  # > 0: a convolution beside the first block.
  conv_groups: int = 1
  conv_act: str = "tanh"

  @property
  def att_span(self):
    """Half the rows of the relative embedding table."""
    return self.position_buckets if self.position_buckets > 0 else self.max_relative_positions

  @classmethod
  def from_hf(cls, d):
    """From a Hugging Face config.json dict; unsupported options raise ValueError."""
    pos_att = d.get("pos_att_type") or []
    if isinstance(pos_att, str):
      pos_att = pos_att.lower().split("|")
    pos_att = tuple(p.strip() for p in pos_att if p.strip())
    if set(pos_att) - {"c2p", "p2c"}:
      raise ValueError(f"pos_att_type {list(pos_att)} unsupported (only c2p, p2c).")
    norm = {s.strip() for s in str(d.get("norm_rel_ebd", "none")).lower().split("|")}
    if norm - {"none", "layer_norm", ""}:
      raise ValueError(f"norm_rel_ebd {d['norm_rel_ebd']!r} unsupported "
                       "(none or layer_norm).")
    for field, default in (("hidden_act", "gelu"), ("conv_act", "tanh")):
      if d.get(field, default) not in _ACTIVATIONS:
        raise ValueError(f"{field} {d[field]!r} unsupported ({', '.join(_ACTIVATIONS)}).")
    conv = d.get("conv_kernel_size", 0) or 0
    if conv > 0 and conv % 2 == 0:
      raise ValueError(f"conv_kernel_size {conv} unsupported (odd sizes only).")
    hidden, heads = d["hidden_size"], d["num_attention_heads"]
    if (d.get("attention_head_size") or hidden // heads) * heads != hidden:
      raise ValueError(f"attention_head_size {d.get('attention_head_size')} x "
                       f"num_attention_heads {heads} != hidden_size {hidden}: unsupported.")
    max_rel = d.get("max_relative_positions", -1)
    return cls(kind="deberta-v2", vocab_size=d["vocab_size"], hidden_size=hidden,
               num_layers=d["num_hidden_layers"], num_heads=heads,
               head_dim=hidden // heads,
               intermediate_size=d["intermediate_size"],
               max_position=d.get("max_position_embeddings", 512),
               pad_token_id=d.get("pad_token_id") or 0,
               embedding_size=d.get("embedding_size") or hidden,
               type_vocab_size=d.get("type_vocab_size", 0),
               position_biased_input=d.get("position_biased_input", True),
               relative_attention=d.get("relative_attention", False),
               pos_att_type=pos_att, share_att_key=d.get("share_att_key", False),
               position_buckets=d.get("position_buckets", -1),
               max_relative_positions=(max_rel if max_rel >= 1 else
                                       d.get("max_position_embeddings", 512)),
               norm_rel_ebd="layer_norm" in norm,
               layer_norm_eps=d.get("layer_norm_eps", 1e-7),
               activation=d.get("hidden_act", "gelu"), conv_kernel_size=conv,
               conv_groups=d.get("conv_groups", 1), conv_act=d.get("conv_act", "tanh"))


def relative_positions(length, buckets, max_position):
  """Bucketed distances query - key [L, L] (int32, numpy: static per length).

  Within +-buckets/2 the distance itself; beyond, sign * (mid + ceil(log
  ratio scaled so that max_position - 1 lands on buckets - 1)), computed in
  float32 as transformers does so that bucket edges agree.
  """
  pos = np.arange(length)
  rel = pos[:, None] - pos[None, :]
  if buckets <= 0 or max_position <= 0:
    return rel.astype(np.int32)
  mid = buckets // 2
  far = np.where((rel < mid) & (rel > -mid), mid - 1, np.abs(rel))
  ratio = (far / mid).astype(np.float32)
  log_pos = np.ceil(np.log(ratio) / np.log(np.float32((max_position - 1) / mid))
                    * np.float32(mid - 1)) + mid
  return np.where(far <= mid, rel, log_pos * np.sign(rel)).astype(np.int32)


class DisentangledAttention(nn.Module):
  """Self-attention with c2p / p2c relative-position scores; returns the
  heads' context [B, L, H, K] (the output projection is the block's)."""
  cfg: DebertaConfig
  dropout: float
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxLxD, mask_BxL, rel_RxD, relpos_LxL, train):
    c = self.cfg
    dense = lambda name: nn.DenseGeneral((c.num_heads, c.head_dim), name=name,
                                         **precision.dense(self.dtype))
    query, key = dense("query_proj"), dense("key_proj")
    q_BxLxHxK, k_BxLxHxK = query(x_BxLxD), key(x_BxLxD)
    v_BxLxHxK = dense("value_proj")(x_BxLxD)
    scale = np.sqrt(c.head_dim * (1 + len(c.pos_att_type))).astype(np.float32)
    scores_BxHxLxL = precision.einsum("bqhk,bshk->bhqs", q_BxLxHxK,
                                      k_BxLxHxK / scale.astype(self.dtype), self.dtype)
    if c.relative_attention and c.pos_att_type:
      span = c.att_span
      rel_RxD = nn.Dropout(self.dropout)(rel_RxD[:2 * span], deterministic=not train)
      rows = np.arange(relpos_LxL.shape[0])[:, None]
      if "c2p" in c.pos_att_type:
        pk_RxHxK = key(rel_RxD) if c.share_att_key else dense("pos_key_proj")(rel_RxD)
        c2p_BxHxLxR = precision.einsum("bqhk,rhk->bhqr", q_BxLxHxK, pk_RxHxK, self.dtype)
        idx_LxL = np.clip(relpos_LxL + span, 0, 2 * span - 1)
        scores_BxHxLxL += c2p_BxHxLxR[:, :, rows, idx_LxL] / scale.astype(self.dtype)
      if "p2c" in c.pos_att_type:
        pq_RxHxK = query(rel_RxD) if c.share_att_key else dense("pos_query_proj")(rel_RxD)
        p2c_BxHxLxR = precision.einsum("bshk,rhk->bhsr", k_BxLxHxK, pq_RxHxK, self.dtype)
        # Row s (a key) at column q reads the query-side distance of (s, q).
        idx_LxL = np.clip(-relpos_LxL + span, 0, 2 * span - 1)
        p2c_BxHxLxL = p2c_BxHxLxR[:, :, rows, idx_LxL]
        scores_BxHxLxL += jnp.swapaxes(p2c_BxHxLxL, -1, -2) / scale.astype(self.dtype)
    scores_BxHxLxL = scores_BxHxLxL.astype(jnp.float32)
    scores_BxHxLxL = jnp.where(mask_BxL[:, None, None, :] > 0, scores_BxHxLxL,
                               jnp.finfo(jnp.float32).min)
    probs = jax.nn.softmax(scores_BxHxLxL, axis=-1).astype(self.dtype)
    probs = nn.Dropout(self.dropout)(probs, deterministic=not train)
    return precision.einsum("bhqs,bshk->bqhk", probs, v_BxLxHxK, self.dtype)


class DebertaLayer(nn.Module):
  """One post-LayerNorm block; the first also holds the optional convolution
  (conv_kernel_size), which reads the block's input (the embeddings)."""
  cfg: DebertaConfig
  dropout: float
  dtype: Any = jnp.float32
  conv: bool = False

  @nn.compact
  def __call__(self, x_BxLxD, mask_BxL, rel_RxD, relpos_LxL, train):
    c = self.cfg
    drop = lambda y: nn.Dropout(self.dropout)(y, deterministic=not train)
    ln = lambda name: nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name=name)
    ctx = DisentangledAttention(c, self.dropout, self.dtype, name="attention")(
        x_BxLxD, mask_BxL, rel_RxD, relpos_LxL, train)
    a = nn.DenseGeneral(c.hidden_size, axis=(-2, -1), name="attention_output",
                        **precision.dense(self.dtype))(ctx)
    a = ln("attention_ln")(x_BxLxD + drop(a))
    h = _ACTIVATIONS[c.activation](nn.Dense(c.intermediate_size, name="intermediate",
                                            **precision.dense(self.dtype))(a))
    h = nn.Dense(c.hidden_size, name="output", **precision.dense(self.dtype))(h)
    out = ln("output_ln")(a + drop(h))
    if self.conv:
      m = mask_BxL[..., None].astype(self.dtype)
      pad = (c.conv_kernel_size - 1) // 2
      y = nn.Conv(c.hidden_size, (c.conv_kernel_size,), padding=[(pad, pad)],
                  feature_group_count=c.conv_groups, dtype=self.dtype,
                  name="conv")(x_BxLxD.astype(self.dtype)) * m
      y = _ACTIVATIONS[c.conv_act](drop(y))
      out = ln("conv_ln")(out + y) * m
    return out


class Encoder(nn.Module):
  """DeBERTa-v2/v3 encoder: hidden states [B, L, D]."""
  cfg: DebertaConfig
  dropout: float = 0.1
  dtype: Any = jnp.float32  # The computation's; parameters stay float32.

  @nn.compact
  def __call__(self, input_ids, attention_mask, token_type_ids=None, train=False):
    c = self.cfg
    length = input_ids.shape[1]
    x = nn.Embed(c.vocab_size, c.embedding_size, name="word_embeddings")(input_ids)
    if c.position_biased_input:
      x = x + nn.Embed(c.max_position, c.embedding_size,
                       name="position_embeddings")(jnp.arange(length)[None, :])
    if c.type_vocab_size > 0:
      if token_type_ids is None:
        token_type_ids = jnp.zeros_like(input_ids)
      x = x + nn.Embed(c.type_vocab_size, c.embedding_size,
                       name="token_type_embeddings")(token_type_ids)
    if c.embedding_size != c.hidden_size:
      x = nn.Dense(c.hidden_size, use_bias=False, name="embed_proj",
                   **precision.dense(self.dtype))(x)
    x = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="embeddings_ln")(x)
    x = x * attention_mask[..., None].astype(x.dtype)  # Padding zeroed, as HF does.
    x = nn.Dropout(self.dropout)(x, deterministic=not train)
    rel_RxD, relpos_LxL = None, None
    if c.relative_attention:
      rel_RxD = nn.Embed(2 * c.att_span, c.hidden_size, name="rel_embeddings").embedding
      if c.norm_rel_ebd:
        rel_RxD = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype,
                               name="rel_embeddings_ln")(rel_RxD)
      rel_RxD = rel_RxD.astype(self.dtype)
      relpos_LxL = relative_positions(length, c.position_buckets, c.max_relative_positions)
    for i in range(c.num_layers):
      x = DebertaLayer(c, self.dropout, self.dtype, conv=i == 0 and c.conv_kernel_size > 0,
                       name=f"layer_{i}")(x, attention_mask, rel_RxD, relpos_LxL, train)
    return x


def params_from_hf(cfg, t):
  """Flax params of `Encoder` from the DebertaV2Model tensors `t` ("deberta." stripped)."""
  h = cfg.num_heads
  p = {"word_embeddings": {"embedding": t["embeddings.word_embeddings.weight"]},
       "embeddings_ln": hf_tensors.layer_norm(t, "embeddings.LayerNorm")}
  if cfg.position_biased_input:
    p["position_embeddings"] = {"embedding": t["embeddings.position_embeddings.weight"]}
  if cfg.type_vocab_size > 0:
    p["token_type_embeddings"] = {"embedding": t["embeddings.token_type_embeddings.weight"]}
  if cfg.embedding_size != cfg.hidden_size:
    p["embed_proj"] = {"kernel": t["embeddings.embed_proj.weight"].T}
  if cfg.relative_attention:
    p["rel_embeddings"] = {"embedding": t["encoder.rel_embeddings.weight"]}
    if cfg.norm_rel_ebd:
      p["rel_embeddings_ln"] = hf_tensors.layer_norm(t, "encoder.LayerNorm")
  names = ["query_proj", "key_proj", "value_proj"]
  if cfg.relative_attention and not cfg.share_att_key:
    names += ["pos_key_proj"] if "c2p" in cfg.pos_att_type else []
    names += ["pos_query_proj"] if "p2c" in cfg.pos_att_type else []
  for i in range(cfg.num_layers):
    s = f"encoder.layer.{i}."
    p[f"layer_{i}"] = {
        "attention": {n: hf_tensors.heads_in(t, s + "attention.self." + n, h) for n in names},
        "attention_output": hf_tensors.heads_out(t, s + "attention.output.dense", h),
        "attention_ln": hf_tensors.layer_norm(t, s + "attention.output.LayerNorm"),
        "intermediate": hf_tensors.linear(t, s + "intermediate.dense"),
        "output": hf_tensors.linear(t, s + "output.dense"),
        "output_ln": hf_tensors.layer_norm(t, s + "output.LayerNorm")}
  if cfg.conv_kernel_size > 0:
    w = t["encoder.conv.conv.weight"]  # [out, in / groups, k] -> [k, in / groups, out].
    p["layer_0"]["conv"] = {"kernel": w.transpose(2, 1, 0), "bias": t["encoder.conv.conv.bias"]}
    p["layer_0"]["conv_ln"] = hf_tensors.layer_norm(t, "encoder.conv.LayerNorm")
  return p


def head_params_from_hf(cfg, t):
  """None reused: DeBERTa's ContextPooler (dense + GELU) is not our tanh pooler."""
  del cfg, t
  return {}


def _encoder(cfg, dropout, dtype, **kwargs):
  return Encoder(cfg, dropout, dtype, **kwargs)


encoders.register(("deberta-v2",), encoders.Architecture(
    DebertaConfig.from_hf, _encoder, params_from_hf, head_params_from_hf, DebertaLayer,
    prefixes=("deberta.",), pooler="tanh"))
