"""Hugging Face PyTorch tensors -> Flax parameters: the shared conversions.

`t` is a checkpoint's name -> float32 array (hf_import.read_tensors); a
PyTorch Linear weight is [out, in], a Flax Dense kernel [in, out].
"""


def linear(t, name):
  return {"kernel": t[name + ".weight"].T, "bias": t[name + ".bias"]}


def layer_norm(t, name):
  return {"scale": t[name + ".weight"], "bias": t[name + ".bias"]}


def heads_in(t, name, heads):
  w = t[name + ".weight"].T  # [D, H*K]
  d = w.shape[0]
  return {"kernel": w.reshape(d, heads, -1), "bias": t[name + ".bias"].reshape(heads, -1)}


def heads_out(t, name, heads):
  w = t[name + ".weight"].T  # [H*K, D]
  return {"kernel": w.reshape(heads, -1, w.shape[1]), "bias": t[name + ".bias"]}
