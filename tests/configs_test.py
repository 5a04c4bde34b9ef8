"""Every config family defines the fields the shared code reads, one
`input.train_size` for every data kind, and argument defaults without
searches of the argument string."""
import importlib

import pytest

from noisy_meta import validate

# (config module, argument) across the families and their data kinds.
CONFIGS = [
    ("finetune_cola", ""), ("finetune_cola", "runlocal"), ("finetune_tsv", "runlocal"),
    ("aum_cola", ""), ("aum_cola", "runlocal"), ("aum_trec", "runlocal"),
    ("aum_semeval", ""), ("aum_semeval", "runlocal"), ("aum_tacred", "model=transformer"),
    ("re_semeval", ""), ("re_semeval", "model=cgcn,runlocal"), ("re_tacred", "model=transformer"),
    ("mlrc_semeval", ""), ("mlrc_semeval", "runlocal"), ("mlrc_text", "runlocal"),
    ("finetune", "task=sst2"), ("relation", "dataset=tacred"), ("aum", ""), ("mlrc", ""),
]
# Read by the loop, the guards, main and the learners of every family.
SHARED = ("trainer", "learner", "runlocal", "seed", "num_devices", "overwrite_config",
          "num_epochs", "log_every", "checkpoint_every", "eval_every", "eval_every_epoch",
          "precompile", "debug.nan_at_step", "input.train_size", "input.dev_size",
          "input.batch_size", "input.eval_batch_size")
TEXT = ("input.task", "input.subset_seed", "input.source", "input.train_file")
RELATION = ("input.dataset", "noise.from_patch")
AUM = ("noise.rate", "noise.kind", "noise.pairing", "noise.back_rate", "noise.from_patch",
       "noise.seed", "aum.margins", "aum.save_logits", "detect.frozen", "detect.folds",
       "clean.detector")
MLRC = ("mlrc.fractions", "mlrc.runs", "mlrc.runs_by_fraction", "meta.iterations")


def _config(name, arg):
  return importlib.import_module(f"configs.{name}").get_config(arg)


def _has(config, key):
  return validate.lookup(config, key) is not validate.MISSING


@pytest.mark.parametrize("name,arg", CONFIGS)
def test_every_config_defines_the_fields_its_code_reads(name, arg):
  c = _config(name, arg)
  need = SHARED + (RELATION if "dataset" in c.input else TEXT)
  need += AUM if c.trainer == "aum" else MLRC if c.trainer == "mlrc" else ()
  assert [k for k in need if not _has(c, k)] == []
  assert "train_size" not in c  # One place: input.train_size.
  validate.check(c)


@pytest.mark.parametrize("name,arg,size", [
    ("finetune_cola", "", 0), ("finetune_cola", "runlocal", 256),
    ("finetune_cola", "runlocal,train_size=64", 64), ("aum_sst2", "", 10000),
    # A typed argument wins over the :runlocal shrink (issue 33), larger too.
    ("finetune_cola", "runlocal,train_size=1000", 1000), ("aum_cola", "runlocal,train_size=500", 500),
    ("aum_cola", "runlocal", 128), ("re_semeval", "", 0), ("re_semeval", "runlocal", 300),
    ("re_semeval", "train_size=900", 900), ("aum_semeval", "runlocal", 800),
    ("aum_semeval", "runlocal,train_size=400", 400), ("aum_semeval", "train_size=900", 900),
    ("mlrc_semeval", "runlocal", 300), ("mlrc_text", "runlocal", 256), ("mlrc_semeval", "", 0),
])
def test_train_size_is_input_train_size_in_every_family(name, arg, size):
  assert _config(name, arg).input.train_size == size


@pytest.mark.parametrize("arg,folds", [
    ("", 2), ("runlocal", 0), ("runlocal,folds=2", 2), ("runlocal,folds=3", 3),
    ("folds=0", 0), ("folds=5", 5),
])
def test_aum_folds_default_depends_on_runlocal_only_when_not_given(arg, folds):
  assert _config("aum_cola", arg).detect.folds == folds
  assert _config("aum_semeval", arg).detect.folds == folds
