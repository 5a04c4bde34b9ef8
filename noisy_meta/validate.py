"""Checks a config against its family's declared rules, before any data or model.

`check(config)` finds the family of the config by its blocks (fine-tuning,
relation, AUM, MLRC, a detector-benchmark grid), checks every field against
the rule the family declares beside it (configs/rules.py), then the family's
cross-field rules. main and noisy_meta.analyze call it; errors name the field
as typed on the command line, e.g.
`--config.optim.lr=inf: must be a finite number > 0.` No names of choices
live here: each rule takes them from the module that defines them.
"""
import importlib
import os
import sys

from ml_collections import config_dict

from noisy_meta.core import errors

MISSING = object()
_BLOCKS = (dict, config_dict.ConfigDict)  # A config and its nested blocks.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lookup(config, key):
  """config.a.b for key "a.b", or MISSING where the config has no such field."""
  node = config
  for part in key.split("."):
    if not isinstance(node, _BLOCKS) or part not in node:
      return MISSING
    node = node[part]
  return node


def _flag(key, value):
  """The flag as typed: tuples as `(16,32)`."""
  if isinstance(value, (tuple, list)):
    value = "(" + ",".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"
  return f"--config.{key}={value}"


def _fail(key, value, problem):
  raise errors.InputError(f"{_flag(key, value)}: {problem}")


def family(config):
  """The configs/ module that declares `config`'s rules (rules_of, cross_rules)."""
  if _ROOT not in sys.path:  # configs/ is the repository's, beside noisy_meta/.
    sys.path.insert(0, _ROOT)
  if not isinstance(config, _BLOCKS):
    raise errors.InputError(f"a config must be a ConfigDict, not {type(config).__name__}.")
  if "noise_kinds" in config and "trainer" not in config:  # A detector-benchmark grid.
    return importlib.import_module(
        "configs.detectors_relation" if "pairing" in config else "configs.detectors")
  if "specs" in config and "trainer" not in config:  # A repair-benchmark grid.
    return importlib.import_module("configs.repair")
  inp = config.get("input")
  if "mlrc" in config:
    name = "mlrc"
  elif "aum" in config:
    name = "aum"
  elif "scan" in config:  # The fast first scan (configs/scan.py).
    name = "scan"
  elif isinstance(inp, _BLOCKS) and "dataset" in inp:
    name = "relation"
  elif isinstance(inp, _BLOCKS) and "task" in inp:
    name = "finetune"
  else:
    raise errors.InputError("not a noisy_meta config: it has no input.task or input.dataset "
                            "(build one with configs/<name>.py's get_config).")
  return importlib.import_module(f"configs.{name}")


def check(config):
  """Raises errors.InputError naming the first field of `config` its rules refuse."""
  module = family(config)
  for key, rule in module.rules_of(config).items():
    value = lookup(config, key)
    if value is not MISSING:
      problem = rule.problem(value)
      if problem:
        _fail(key, value, problem)
  # Cross-field rules read fields that passed their own rules.
  trainers = getattr(module, "TRAINERS", None)
  if trainers and config.trainer not in trainers:
    from configs import common  # pylint: disable=g-import-not-at-top
    _fail(*common.trainer_fits(config, trainers))
  for rule in module.cross_rules(config):
    found = rule(config)
    if found:
      _fail(*found)
