"""ModernBERT (Warner et al. 2024, answerdotai/ModernBERT-base) in Flax linen.

A pre-LayerNorm encoder: token embeddings + LayerNorm (no position
embeddings), rotary position embeddings in every attention layer,
alternating global and local (sliding-window) attention, a fused Wqkv
projection, a gated GeLU MLP and a final LayerNorm. It computes what
transformers' `ModernBertModel` (eager / sdpa attention) computes as
last_hidden_state, checked by tests/modernbert_test.py.
Parameter names follow the checkpoint (Linear weights transposed). Every
matrix product goes through noisy_meta.models.precision (in bfloat16: bfloat16
operands accumulated in float32; attention's batched products in float32).
"""
import dataclasses
from typing import Any, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from noisy_meta.models import encoders
from noisy_meta.models import precision

_ACTIVATIONS = {
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),  # transformers' exact erf GELU.
    "gelu_new": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: jax.nn.gelu(x, approximate=True),
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
}


@dataclasses.dataclass(frozen=True)
class ModernBertConfig:
  """Architecture of a ModernBERT encoder (fields of HF config.json)."""
  kind: str  # "modernbert"
  vocab_size: int
  hidden_size: int
  num_layers: int
  num_heads: int
  intermediate_size: int
  max_position: int
  pad_token_id: int = 0
  global_layers: Tuple[bool, ...] = ()  # Per layer: global (True) or local attention.
  global_rope_theta: float = 160_000.0
  local_rope_theta: float = 10_000.0
  local_attention: int = 128  # Local window: local_attention // 2 tokens each side.
  norm_eps: float = 1e-5
  norm_bias: bool = False
  attention_bias: bool = False
  mlp_bias: bool = False
  activation: str = "gelu"


def _rope_thetas(d):
  """(global theta, local theta) from config.json: the new rope_parameters
  keyed by layer type, a flat one, or the older global/local_rope_theta."""
  if d.get("rope_scaling"):
    raise ValueError("rope_scaling: only default (unscaled) RoPE is supported.")
  rope = d.get("rope_parameters") or {}
  if "rope_type" in rope or "rope_theta" in rope:  # One set for both layer types.
    rope = {"full_attention": rope, "sliding_attention": rope}
  thetas = []
  for kind, legacy, default in (("full_attention", "global_rope_theta", 160_000.0),
                                ("sliding_attention", "local_rope_theta", 10_000.0)):
    p = rope.get(kind) or {}
    if p.get("rope_type", "default") != "default":
      raise ValueError(f"rope_parameters: rope_type {p['rope_type']!r} for {kind} is not "
                       "supported (only 'default').")
    thetas.append(float(p.get("rope_theta", d.get(legacy, default))))
  return tuple(thetas)


def config_from_hf(d):
  """ModernBertConfig from a Hugging Face config.json dict."""
  hidden, heads, n = d["hidden_size"], d["num_attention_heads"], d["num_hidden_layers"]
  if hidden % heads:
    raise ValueError(f"hidden_size {hidden} is not a multiple of num_attention_heads {heads}.")
  if d.get("head_dim") not in (None, hidden // heads):
    raise ValueError(f"head_dim {d['head_dim']} != hidden_size / num_attention_heads.")
  types = d.get("layer_types")
  if types is None:
    every = d.get("global_attn_every_n_layers", 3)
    global_layers = tuple(i % every == 0 for i in range(n))
  else:
    if len(types) != n or set(types) - {"full_attention", "sliding_attention"}:
      raise ValueError(f"layer_types {types!r}: want {n} of full_attention / "
                       "sliding_attention.")
    global_layers = tuple(t == "full_attention" for t in types)
  act = d.get("hidden_activation", "gelu")
  if act not in _ACTIVATIONS:
    raise ValueError(f"hidden_activation {act!r} is not supported "
                     f"({', '.join(sorted(_ACTIVATIONS))}).")
  global_theta, local_theta = _rope_thetas(d)
  pad = d.get("pad_token_id")
  return ModernBertConfig(
      kind="modernbert", vocab_size=d["vocab_size"], hidden_size=hidden, num_layers=n,
      num_heads=heads, intermediate_size=d["intermediate_size"],
      max_position=d.get("max_position_embeddings", 8192),
      pad_token_id=0 if pad is None else pad, global_layers=global_layers,
      global_rope_theta=global_theta, local_rope_theta=local_theta,
      local_attention=d.get("local_attention", 128), norm_eps=d.get("norm_eps", 1e-5),
      norm_bias=d.get("norm_bias", False), attention_bias=d.get("attention_bias", False),
      mlp_bias=d.get("mlp_bias", False), activation=act)


def rotary(length, head_dim, theta):
  """cos, sin [L, K] of the rotary embedding at positions 0..L-1 (float32):
  frequency j of the K/2 pairs, repeated for both halves of a head."""
  inv_freq = 1.0 / (theta ** (jnp.arange(0, head_dim, 2, dtype=jnp.float32) / head_dim))
  angle_LxK2 = jnp.arange(length, dtype=jnp.float32)[:, None] * inv_freq[None, :]
  angle_LxK = jnp.concatenate([angle_LxK2, angle_LxK2], -1)
  return jnp.cos(angle_LxK), jnp.sin(angle_LxK)


def _rotate(x_BxLxHxK, cos_LxK, sin_LxK):
  """Rotates each (x[j], x[j + K/2]) pair by its angle, in float32."""
  x = x_BxLxHxK.astype(jnp.float32)
  x1, x2 = jnp.split(x, 2, axis=-1)
  rotated = jnp.concatenate([-x2, x1], -1)
  cos, sin = cos_LxK[None, :, None, :], sin_LxK[None, :, None, :]
  return (x * cos + rotated * sin).astype(x_BxLxHxK.dtype)


class Attention(nn.Module):
  """Self-attention with RoPE; local layers see a band of
  local_attention // 2 tokens on each side (inclusive)."""
  cfg: ModernBertConfig
  is_global: bool
  dropout: float
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxLxD, mask_BxL, train):
    c = self.cfg
    head_dim = c.hidden_size // c.num_heads
    length = x_BxLxD.shape[1]
    qkv = nn.DenseGeneral((3, c.num_heads, head_dim), use_bias=c.attention_bias,
                          name="Wqkv", **precision.dense(self.dtype))(x_BxLxD)  # [B, L, 3, H, K]
    theta = c.global_rope_theta if self.is_global else c.local_rope_theta
    cos, sin = rotary(length, head_dim, theta)
    q_BxLxHxK = _rotate(qkv[:, :, 0], cos, sin)
    k_BxLxHxK = _rotate(qkv[:, :, 1], cos, sin)
    v_BxLxHxK = qkv[:, :, 2]
    logits_BxHxLxL = precision.einsum("bqhk,bshk->bhqs", q_BxLxHxK, k_BxLxHxK, self.dtype)
    logits_BxHxLxL = logits_BxHxLxL.astype(jnp.float32) * head_dim ** -0.5
    allowed = mask_BxL[:, None, None, :] > 0
    if not self.is_global:
      pos = jnp.arange(length)
      band_LxL = jnp.abs(pos[:, None] - pos[None, :]) <= c.local_attention // 2
      allowed = allowed & band_LxL[None, None]
    logits_BxHxLxL = jnp.where(allowed, logits_BxHxLxL, jnp.finfo(jnp.float32).min)
    probs = jax.nn.softmax(logits_BxHxLxL, axis=-1).astype(self.dtype)
    probs = nn.Dropout(self.dropout)(probs, deterministic=not train)
    out_BxLxHxK = precision.einsum("bhqs,bshk->bqhk", probs, v_BxLxHxK, self.dtype)
    out = nn.DenseGeneral(c.hidden_size, axis=(-2, -1), use_bias=c.attention_bias,
                          name="Wo", **precision.dense(self.dtype))(out_BxLxHxK)
    return nn.Dropout(self.dropout)(out, deterministic=not train)


class Mlp(nn.Module):
  """Gated MLP: Wi gives [input, gate] (intermediate_size each); act(input) * gate."""
  cfg: ModernBertConfig
  dropout: float
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxLxD, train):
    c = self.cfg
    h = nn.Dense(2 * c.intermediate_size, use_bias=c.mlp_bias, name="Wi",
                 **precision.dense(self.dtype))(x_BxLxD)
    inp, gate = jnp.split(h, 2, axis=-1)
    h = nn.Dropout(self.dropout)(_ACTIVATIONS[c.activation](inp) * gate,
                                 deterministic=not train)
    return nn.Dense(c.hidden_size, use_bias=c.mlp_bias, name="Wo",
                    **precision.dense(self.dtype))(h)


def _norm(c, dtype, name):
  # Two-pass variance, as PyTorch computes it; statistics in float32.
  return nn.LayerNorm(epsilon=c.norm_eps, use_bias=c.norm_bias, dtype=dtype,
                      use_fast_variance=False, name=name)


class ModernBertLayer(nn.Module):
  """Pre-LayerNorm block; layer 0 has no attention norm (the embeddings' norm
  just ran). The last block applies the encoder's final norm, so its output
  is last_hidden_state, as transformers' hidden_states[-1] is."""
  cfg: ModernBertConfig
  index: int
  dropout: float
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxLxD, mask_BxL, train):
    c = self.cfg
    h = x_BxLxD if self.index == 0 else _norm(c, self.dtype, "attn_norm")(x_BxLxD)
    x = x_BxLxD + Attention(c, c.global_layers[self.index], self.dropout, self.dtype,
                            name="attn")(h, mask_BxL, train)
    x = x + Mlp(c, self.dropout, self.dtype, name="mlp")(
        _norm(c, self.dtype, "mlp_norm")(x), train)
    if self.index == c.num_layers - 1:
      x = _norm(c, self.dtype, "final_norm")(x)
    return x


class Encoder(nn.Module):
  """ModernBERT encoder: hidden states [B, L, D] (last_hidden_state, after
  the final norm).

  `dropout` (the project's hidden/attention dropout) applies where
  ModernBERT has dropout: after the embeddings, on attention
  probabilities and output, inside the MLP.
  """
  cfg: ModernBertConfig
  dropout: float = 0.1
  dtype: Any = jnp.float32  # The computation's; parameters stay float32.

  @nn.compact
  def __call__(self, input_ids, attention_mask, token_type_ids=None, train=False):
    del token_type_ids  # No segment embeddings.
    c = self.cfg
    x = nn.Embed(c.vocab_size, c.hidden_size, name="tok_embeddings")(input_ids)
    x = _norm(c, self.dtype, "embeddings_norm")(x)
    x = nn.Dropout(self.dropout)(x, deterministic=not train)
    for i in range(c.num_layers):
      x = ModernBertLayer(c, i, self.dropout, self.dtype, name=f"layer_{i}")(
          x, attention_mask, train)
    return x  # The last block applied the final norm.


def _dense(t, name, bias, in_shape=None, out_shape=None):
  """A Linear weight [out, in] as a (Dense or DenseGeneral) kernel."""
  w = t[name + ".weight"].T  # [in, out]
  if in_shape:
    w = w.reshape(*in_shape, w.shape[1])
  if out_shape:
    w = w.reshape(w.shape[0], *out_shape)
  p = {"kernel": w}
  if bias:
    b = t[name + ".bias"]
    p["bias"] = b.reshape(out_shape) if out_shape else b
  return p


def _layer_norm(t, name, bias):
  p = {"scale": t[name + ".weight"]}
  if bias:
    p["bias"] = t[name + ".bias"]
  return p


def params_from_hf(cfg, t):
  """Flax params of `Encoder` from HF tensors `t` ("model." stripped)."""
  h, k = cfg.num_heads, cfg.hidden_size // cfg.num_heads
  p = {"tok_embeddings": {"embedding": t["embeddings.tok_embeddings.weight"]},
       "embeddings_norm": _layer_norm(t, "embeddings.norm", cfg.norm_bias)}
  for i in range(cfg.num_layers):
    s = f"layers.{i}."
    layer = {
        "attn": {"Wqkv": _dense(t, s + "attn.Wqkv", cfg.attention_bias, out_shape=(3, h, k)),
                 "Wo": _dense(t, s + "attn.Wo", cfg.attention_bias, in_shape=(h, k))},
        "mlp_norm": _layer_norm(t, s + "mlp_norm", cfg.norm_bias),
        "mlp": {"Wi": _dense(t, s + "mlp.Wi", cfg.mlp_bias),
                "Wo": _dense(t, s + "mlp.Wo", cfg.mlp_bias)}}
    if i:
      layer["attn_norm"] = _layer_norm(t, s + "attn_norm", cfg.norm_bias)
    p[f"layer_{i}"] = layer
  p[f"layer_{cfg.num_layers - 1}"]["final_norm"] = _layer_norm(t, "final_norm", cfg.norm_bias)
  return p


def head_params_from_hf(cfg, t):
  """No pretrained head layers: the checkpoint's MLM head (head.dense,
  head.norm) is no pooler, so the classifier's tanh pooler starts fresh."""
  del cfg, t
  return {}


def _encoder(cfg, dropout, dtype, **kwargs):
  return Encoder(cfg, dropout, dtype, **kwargs)


encoders.register(("modernbert",), encoders.Architecture(
    config_from_hf, _encoder, params_from_hf, head_params_from_hf, ModernBertLayer,
    prefixes=("model.",), pooler="tanh"))
