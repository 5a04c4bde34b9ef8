"""BERT and DistilBERT encoders in Flax linen, and the classification heads
every registered encoder architecture shares (noisy_meta.models.encoders).

Parameter names follow the Hugging Face PyTorch checkpoints so that
`hf_import` maps weights by name (Linear weights transposed). Both encoders
compute exactly what transformers' `BertModel` / `DistilBertModel` compute
(post-LayerNorm blocks, exact erf GELU), checked by tests/models_test.py.
"""
import dataclasses
import functools

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from noisy_meta.models import encoders
from noisy_meta.models import hf_tensors
from noisy_meta.models import precision


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
  """Architecture of a BERT-family encoder (fields of HF config.json)."""
  kind: str  # "bert" | "distilbert"
  vocab_size: int
  hidden_size: int
  num_layers: int
  num_heads: int
  intermediate_size: int
  max_position: int
  type_vocab_size: int = 2  # BERT only.
  layer_norm_eps: float = 1e-12
  activation: str = "gelu"
  pad_token_id: int = 0

  @classmethod
  def from_hf(cls, d):
    """From a Hugging Face config.json dict."""
    if d.get("model_type") == "distilbert":
      return cls(kind="distilbert", vocab_size=d["vocab_size"], hidden_size=d["dim"],
                 num_layers=d["n_layers"], num_heads=d["n_heads"],
                 intermediate_size=d["hidden_dim"],
                 max_position=d["max_position_embeddings"], type_vocab_size=0,
                 layer_norm_eps=1e-12, activation=d.get("activation", "gelu"),
                 pad_token_id=d.get("pad_token_id", 0))
    if d.get("model_type") in ("bert", None):
      return cls(kind="bert", vocab_size=d["vocab_size"], hidden_size=d["hidden_size"],
                 num_layers=d["num_hidden_layers"], num_heads=d["num_attention_heads"],
                 intermediate_size=d["intermediate_size"],
                 max_position=d["max_position_embeddings"],
                 type_vocab_size=d.get("type_vocab_size", 2),
                 layer_norm_eps=d.get("layer_norm_eps", 1e-12),
                 activation=d.get("hidden_act", "gelu"),
                 pad_token_id=d.get("pad_token_id", 0))
    raise ValueError(f"Unsupported model_type {d.get('model_type')!r} "
                     "(supported: bert, distilbert).")


def _activation(name):
  if name == "gelu":
    return lambda x: jax.nn.gelu(x, approximate=False)
  if name in ("gelu_new", "gelu_pytorch_tanh"):
    return lambda x: jax.nn.gelu(x, approximate=True)
  if name == "relu":
    return jax.nn.relu
  raise ValueError(f"Unsupported activation {name!r}.")


class SelfAttention(nn.Module):
  """Multi-head self-attention; `names` are (q, k, v, out) layer names."""
  hidden: int
  heads: int
  dropout: float
  names: tuple
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxLxD, mask_BxL, train):
    head_dim = self.hidden // self.heads
    q, k, v, o = self.names
    dense = lambda name: nn.DenseGeneral((self.heads, head_dim), name=name,
                                         **precision.dense(self.dtype))
    q_BxLxHxK = dense(q)(x_BxLxD) / jnp.sqrt(head_dim).astype(x_BxLxD.dtype)
    k_BxLxHxK = dense(k)(x_BxLxD)
    v_BxLxHxK = dense(v)(x_BxLxD)
    logits_BxHxLxL = precision.einsum("bqhk,bshk->bhqs", q_BxLxHxK, k_BxLxHxK, self.dtype)
    big_neg = jnp.finfo(logits_BxHxLxL.dtype).min
    logits_BxHxLxL = jnp.where(mask_BxL[:, None, None, :] > 0, logits_BxHxLxL, big_neg)
    probs = jax.nn.softmax(logits_BxHxLxL, axis=-1).astype(self.dtype)
    probs = nn.Dropout(self.dropout)(probs, deterministic=not train)
    out_BxLxHxK = precision.einsum("bhqs,bshk->bqhk", probs, v_BxLxHxK, self.dtype)
    return nn.DenseGeneral(self.hidden, axis=(-2, -1), name=o,
                           **precision.dense(self.dtype))(out_BxLxHxK)


class BertLayer(nn.Module):
  cfg: EncoderConfig
  dropout: float
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, mask, train):
    c = self.cfg
    drop = lambda y: nn.Dropout(self.dropout)(y, deterministic=not train)
    ln = lambda name: nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name=name)
    if c.kind == "bert":
      names = ("query", "key", "value", "attention_output")
      ln_attn, ln_out, ffn_in, ffn_out = "attention_ln", "output_ln", "intermediate", "output"
    else:
      names = ("q_lin", "k_lin", "v_lin", "out_lin")
      ln_attn, ln_out, ffn_in, ffn_out = "sa_layer_norm", "output_layer_norm", "lin1", "lin2"
    a = SelfAttention(c.hidden_size, c.num_heads, self.dropout, names, self.dtype,
                      name="attention")(x, mask, train)
    x = ln(ln_attn)(x + drop(a))
    h = _activation(c.activation)(nn.Dense(c.intermediate_size, name=ffn_in,
                                           **precision.dense(self.dtype))(x))
    h = nn.Dense(c.hidden_size, name=ffn_out, **precision.dense(self.dtype))(h)
    return ln(ln_out)(x + drop(h))


class Encoder(nn.Module):
  """BERT or DistilBERT encoder: hidden states [B, L, D]."""
  cfg: EncoderConfig
  dropout: float = 0.1
  dtype: Any = jnp.float32  # The computation's; parameters stay float32.

  @nn.compact
  def __call__(self, input_ids, attention_mask, token_type_ids=None, train=False):
    c = self.cfg
    positions = jnp.arange(input_ids.shape[1])[None, :]
    x = nn.Embed(c.vocab_size, c.hidden_size, name="word_embeddings")(input_ids)
    x = x + nn.Embed(c.max_position, c.hidden_size, name="position_embeddings")(positions)
    if c.kind == "bert":
      if token_type_ids is None:
        token_type_ids = jnp.zeros_like(input_ids)
      x = x + nn.Embed(c.type_vocab_size, c.hidden_size,
                       name="token_type_embeddings")(token_type_ids)
    x = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="embeddings_ln")(x)
    x = nn.Dropout(self.dropout)(x, deterministic=not train)
    for i in range(c.num_layers):
      x = BertLayer(c, self.dropout, self.dtype, name=f"layer_{i}")(x, attention_mask, train)
    return x


def _head(cfg, num_classes, cls, dropout, sow=None):
  """The classification head on [CLS] states [B, D], in the calling module's
  scope (so its parameters sit beside "encoder": pooler or pre_classifier,
  classifier). Layers not in the checkpoint start as transformers
  initialises them: N(0, 0.02) kernels (initializer_range), zero biases.
  `sow` (the module's): the classifier's input [B, D] is sown as
  intermediates/features (read by `apply(..., mutable=["intermediates"])`)."""
  dense = functools.partial(nn.Dense, kernel_init=nn.initializers.normal(0.02))
  cls = cls.astype(jnp.float32)  # The head and the logits in float32 (mixed precision).
  if encoders.get(cfg).pooler == "tanh":
    cls = jnp.tanh(dense(cfg.hidden_size, name="pooler")(cls))
  else:
    cls = jax.nn.relu(dense(cfg.hidden_size, name="pre_classifier")(cls))
  if sow is not None:
    sow("intermediates", "features", cls)
  return dense(num_classes, name="classifier")(dropout(cls))


class Head(nn.Module):
  """The head's parameters alone, with `Classifier`'s names (and so the same
  random draws from the same key): a fine-tuning state draws only these,
  its encoder comes from the checkpoint."""
  cfg: Any
  num_classes: int

  @nn.compact
  def __call__(self, cls):
    return _head(self.cfg, self.num_classes, cls, lambda x: x)


class Classifier(nn.Module):
  """Encoder + the head of HF's *ForSequenceClassification.

  BERT: tanh pooler on [CLS], dropout, linear. DistilBERT: [CLS], linear
  (pre_classifier), ReLU, dropout, linear. Returns logits [B, C]; the
  last linear layer's input is sown as intermediates/features.
  """
  cfg: Any  # Any registered architecture's config (noisy_meta.models.encoders).
  num_classes: int
  dropout: float = 0.1
  classifier_dropout: float = 0.1
  dtype: Any = jnp.float32  # The encoder's computation; the head runs in float32.

  @nn.compact
  def __call__(self, input_ids, attention_mask, token_type_ids=None, train=False):
    h = encoders.encoder(self.cfg, self.dropout, self.dtype, name="encoder")(
        input_ids, attention_mask, token_type_ids, train)
    drop = lambda x: nn.Dropout(self.classifier_dropout)(x, deterministic=not train)
    return _head(self.cfg, self.num_classes, h[:, 0], drop, sow=self.sow)



def entity_start_states(h_BxLxD, e1_B, e2_B):
  """The hidden states at the two start markers, side by side [B, 2D]
  (entity-start pooling, Baldini Soares et al. 2019)."""
  rows = jnp.arange(h_BxLxD.shape[0])
  return jnp.concatenate([h_BxLxD[rows, e1_B], h_BxLxD[rows, e2_B]], -1)


class EntityStartClassifier(nn.Module):
  """Encoder + entity-start pooling + dropout + a linear layer ("classifier",
  N(0, 0.02) kernel, zero bias) over the relation labels. Inputs: subword
  ids and mask with entity markers (noisy_meta/data/entity_markers.py) and
  the start markers' positions e1, e2 [B]. The pooled [B, 2D] vector is
  sown as intermediates/features."""
  cfg: Any
  num_classes: int
  dropout: float = 0.1
  classifier_dropout: float = 0.1
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, input_ids, attention_mask, e1, e2, train=False):
    h = encoders.encoder(self.cfg, self.dropout, self.dtype, name="encoder")(
        input_ids, attention_mask, None, train)
    pooled = entity_start_states(h, e1, e2).astype(jnp.float32)
    self.sow("intermediates", "features", pooled)
    pooled = nn.Dropout(self.classifier_dropout)(pooled, deterministic=not train)
    return nn.Dense(self.num_classes, kernel_init=nn.initializers.normal(0.02),
                    name="classifier")(pooled)


def params_from_hf(cfg, t):
  """Flax params of `transformer.Encoder` from HF tensors `t`."""
  h = cfg.num_heads
  if cfg.kind == "bert":
    p = {"word_embeddings": {"embedding": t["embeddings.word_embeddings.weight"]},
         "position_embeddings": {"embedding": t["embeddings.position_embeddings.weight"]},
         "token_type_embeddings": {"embedding": t["embeddings.token_type_embeddings.weight"]},
         "embeddings_ln": hf_tensors.layer_norm(t, "embeddings.LayerNorm")}
    for i in range(cfg.num_layers):
      s = f"encoder.layer.{i}."
      p[f"layer_{i}"] = {
          "attention": {
              "query": hf_tensors.heads_in(t, s + "attention.self.query", h),
              "key": hf_tensors.heads_in(t, s + "attention.self.key", h),
              "value": hf_tensors.heads_in(t, s + "attention.self.value", h),
              "attention_output": hf_tensors.heads_out(t, s + "attention.output.dense", h)},
          "attention_ln": hf_tensors.layer_norm(t, s + "attention.output.LayerNorm"),
          "intermediate": hf_tensors.linear(t, s + "intermediate.dense"),
          "output": hf_tensors.linear(t, s + "output.dense"),
          "output_ln": hf_tensors.layer_norm(t, s + "output.LayerNorm")}
    return p
  p = {"word_embeddings": {"embedding": t["embeddings.word_embeddings.weight"]},
       "position_embeddings": {"embedding": t["embeddings.position_embeddings.weight"]},
       "embeddings_ln": hf_tensors.layer_norm(t, "embeddings.LayerNorm")}
  for i in range(cfg.num_layers):
    s = f"transformer.layer.{i}."
    p[f"layer_{i}"] = {
        "attention": {n: (hf_tensors.heads_out if n == "out_lin" else hf_tensors.heads_in)(
            t, s + "attention." + n, h) for n in ("q_lin", "k_lin", "v_lin", "out_lin")},
        "sa_layer_norm": hf_tensors.layer_norm(t, s + "sa_layer_norm"),
        "lin1": hf_tensors.linear(t, s + "ffn.lin1"),
        "lin2": hf_tensors.linear(t, s + "ffn.lin2"),
        "output_layer_norm": hf_tensors.layer_norm(t, s + "output_layer_norm")}
  return p


def head_params_from_hf(cfg, t):
  """Pretrained head layers present in the checkpoint (pooler, pre_classifier)."""
  out = {}
  if cfg.kind == "bert" and "pooler.dense.weight" in t:
    out["pooler"] = hf_tensors.linear(t, "pooler.dense")
  if cfg.kind == "distilbert" and "pre_classifier.weight" in t:
    out["pre_classifier"] = hf_tensors.linear(t, "pre_classifier")
  return out


def _encoder(cfg, dropout, dtype, **kwargs):
  return Encoder(cfg, dropout, dtype, **kwargs)


encoders.register(("bert",), encoders.Architecture(
    EncoderConfig.from_hf, _encoder, params_from_hf, head_params_from_hf, BertLayer,
    prefixes=("bert.", "model."), pooler="tanh"))
encoders.register(("distilbert",), encoders.Architecture(
    EncoderConfig.from_hf, _encoder, params_from_hf, head_params_from_hf, BertLayer,
    prefixes=("distilbert.",), pooler="relu"))
