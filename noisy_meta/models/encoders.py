"""Encoder architectures by Hugging Face `model_type`: one registry.

Every architecture (BERT and DistilBERT in transformer.py; the others in a
module each) registers an `Architecture`: how to read its config.json, the
Flax module computing hidden states [B, L, D] from (input_ids,
attention_mask, token_type_ids, train), how its PyTorch tensors map onto
that module's parameters, and which submodule's outputs are the per-layer
hidden states (the frozen-feature detectors read them). The learners,
classifier heads and the checkpoint loader (hf_import) ask this registry,
never a model type by name, so a new architecture is one module that calls
`register`.

The encoder module names its blocks `layer_0` ... `layer_{n-1}` (direct
submodules, each returning hidden states [B, L, D]): the per-layer
features are read from those names. An architecture's config is a frozen dataclass with at least: kind (the
registered name), vocab_size, hidden_size, num_layers, max_position (the
longest input it takes) and pad_token_id; the rest is its own.
"""
import dataclasses
import importlib
from typing import Any, Callable, Tuple

# The modules that register architectures, imported on first use.
MODULES = ("noisy_meta.models.transformer", "noisy_meta.models.bert_variants",
           "noisy_meta.models.deberta", "noisy_meta.models.modernbert")


@dataclasses.dataclass(frozen=True)
class Architecture:
  """What the project needs of an encoder architecture.

  config_from_hf: config.json dict -> its frozen config dataclass.
  encoder: (config, dropout, dtype, **module kwargs such as name) -> a linen
    module; calling it with (input_ids [B, L], attention_mask [B, L],
    token_type_ids [B, L] or None, train) returns hidden states [B, L, D]
    as transformers' *Model computes last_hidden_state. `dtype` is the
    computation's (float32 or bfloat16); parameters stay float32.
  params_from_hf: (config, tensors) -> the encoder's Flax params, from the
    checkpoint's tensors (name -> float32 array, `prefixes` stripped).
  head_params: (config, tensors) -> pretrained head layers the classifier
    reuses ({"pooler": ...} for BERT; {} when none).
  layer_type: the submodule class whose outputs are the per-layer hidden states.
  prefixes: checkpoint name prefixes to strip ("bert.", "roberta.", ...).
  pooler: the classifier head's first layer on the first token: "tanh" (BERT's
    pooler, RoBERTa's and ELECTRA's dense+tanh) or "relu" (DistilBERT's pre_classifier).
  """
  config_from_hf: Callable[[dict], Any]
  encoder: Callable[..., Any]
  params_from_hf: Callable[[Any, dict], dict]
  head_params: Callable[[Any, dict], dict]
  layer_type: type
  prefixes: Tuple[str, ...] = ()
  pooler: str = "tanh"


_REGISTRY = {}


def register(model_types, arch):
  """Registers `arch` for each Hugging Face model_type in `model_types`."""
  for t in model_types:
    _REGISTRY[t] = arch


def _load_all():
  for m in MODULES:
    try:
      importlib.import_module(m)
    except ModuleNotFoundError as e:
      if e.name != m:  # A module that exists but fails to import: a real error.
        raise


def model_types():
  _load_all()
  return tuple(sorted(_REGISTRY))


def get(kind):
  """The Architecture of a model_type (or of a config, by its `kind`)."""
  kind = getattr(kind, "kind", kind)
  _load_all()
  if kind not in _REGISTRY:
    raise ValueError(f"Unsupported model_type {kind!r} (supported: "
                     f"{', '.join(sorted(_REGISTRY))}).")
  return _REGISTRY[kind]


def config_from_hf(d):
  """The config of a Hugging Face config.json dict (BERT when it names no type)."""
  return get(d.get("model_type") or "bert").config_from_hf(d)


def encoder(cfg, dropout=0.1, dtype=None, **kwargs):
  """The linen encoder module of `cfg` (see Architecture.encoder)."""
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  return get(cfg).encoder(cfg, dropout, dtype or jnp.float32, **kwargs)


def is_layer(cfg):
  """A capture_intermediates filter selecting the per-layer outputs."""
  layer_type = get(cfg).layer_type
  return lambda module, _: isinstance(module, layer_type)


def prefixes():
  _load_all()
  return tuple(sorted({p for a in _REGISTRY.values() for p in a.prefixes}, key=len,
                      reverse=True))
