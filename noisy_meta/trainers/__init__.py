"""Methods by name: `config.trainer` selects one; each has train_and_evaluate.

"finetune" and "relation" are the supervised method's names in the text and
relation configs (it trains any learner)."""
import importlib

from noisy_meta.core import errors

_TRAINERS = {
    "finetune": "noisy_meta.trainers.supervised",
    "relation": "noisy_meta.trainers.supervised",
    "supervised": "noisy_meta.trainers.supervised",
    "aum": "noisy_meta.trainers.aum",
    "mlrc": "noisy_meta.trainers.mlrc",
    "scan": "noisy_meta.trainers.scan",
}


def get(name):
  """The method module called `name` (config.trainer)."""
  if name not in _TRAINERS:  # A config typo: one line from main, no traceback.
    raise errors.InputError(f"config.trainer={name!r}: use one of {sorted(_TRAINERS)}.")
  return importlib.import_module(_TRAINERS[name])
