"""A person's corrections in the AUM job (`--config.input.corrections`).

The job finds label issues on the labels as given, so its AUM runs and
detectors see the data the person reviewed (examples.csv's ids stay the
reviewed ids); the corrections (noisy_meta/data/corrections.py) then are
the person's ground truth for the detectors, and the unfiltered retrains
compare before and after on dev: clean/none_s<seed> trains on the corrected
labels (relabelled rows changed, dropped rows left out),
clean/uncorrected_s<seed> on the labels before corrections.
"""
import copy

import numpy as np

from noisy_meta.data import corrections


def path(config):
  """The corrections file of `config` ("" for none)."""
  return config.input.get("corrections", "")


def without(config):
  """`config` with no corrections: what the AUM job's learner loads (the
  rows as reviewed; the job applies the corrections itself)."""
  if not path(config):
    return config
  out = copy.deepcopy(config)
  out.input.corrections = ""
  return out


def load(config, train, given):
  """The `corrections.Corrected` labels of `given` [N] (the job's training
  labels, noise included), checked against `train`'s file:line and label
  names; None without corrections."""
  if not path(config):
    return None
  return corrections.load(path(config), train.sources, given, train.label_names)


def retrain_uncorrected(config, retrain, given, cor, results):
  """Adds {seed: metrics} of the unfiltered retrains on the labels before
  corrections (`results["uncorrected"]`, stages clean/uncorrected_s<seed>);
  `retrain(keep, labels, seed, name)` trains one stage."""
  if cor is None:
    return
  everything = np.ones(len(given), bool)
  results["uncorrected"] = {seed: retrain(everything, given, seed, f"uncorrected_s{seed}")
                            for seed in config.clean.seeds}


def unfiltered(cor, given):
  """(keep, labels) of the unfiltered retrains: the corrected labels, or all
  rows as given without corrections."""
  if cor is None:
    return np.ones(len(given), bool), given
  return cor.keep, cor.labels
