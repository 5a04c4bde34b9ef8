"""Trainers by name: `config.trainer` selects one; each has train_and_evaluate."""
import importlib

_TRAINERS = {
    "finetune": "noisy_meta.trainers.finetune",
    "aum": "noisy_meta.trainers.aum",
    "relation": "noisy_meta.trainers.relation",
    "mlrc": "noisy_meta.trainers.mlrc",
}


def get(name):
  if name not in _TRAINERS:
    raise ValueError(f"Unknown trainer {name!r}; known: {sorted(_TRAINERS)}.")
  return importlib.import_module(_TRAINERS[name])
