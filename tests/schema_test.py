"""The declared schema: every field of every config has a rule, each rule
refuses a bad value and takes the default, cross-field rules, `:runlocal`
against typed arguments, and property tests over random values."""
import importlib
import os
import re
import subprocess
import sys

import ml_collections
import pytest

from bench.tools import dump_configs
from configs import rules
from noisy_meta.core import errors
from noisy_meta import validate

# dump_configs' cases (the config-dump net) and the variants it lacks: the
# relation Transformer, TACRED, TREC and the detector-benchmark grids.
CASES = [(name, arg) for name, args in dump_configs.CASES.items() for arg in args] + [
    ("re_semeval", "model=transformer"), ("re_semeval", "model=distilbert,max_len=200"),
    ("re_tacred", "model=transformer,markers=entity"), ("aum_tacred", "model=transformer"),
    ("aum_semeval", "model=transformer,runlocal"), ("aum_trec", "runlocal"),
    ("mlrc_semeval", "runlocal,model=transformer"), ("detectors", ""), ("detectors", "cpu"),
    ("detectors_relation", ""), ("detectors_relation", "model=transformer,cpu,clean_seeds=3"),
]


def _config(name, arg):
  return importlib.import_module(f"configs.{name}").get_config(arg)


def _leaves(block, declared, prefix=""):
  """The dotted names of `block`'s fields; a block with a rule of its own is one field."""
  for key, value in block.items():
    name = prefix + key
    if isinstance(value, ml_collections.ConfigDict) and name not in declared:
      yield from _leaves(value, declared, name + ".")
    else:
      yield name


@pytest.mark.parametrize("name,arg", CASES)
def test_every_field_of_every_config_has_a_rule_and_passes_it(name, arg):
  c = _config(name, arg)
  declared = validate.family(c).rules_of(c)
  fields = list(_leaves(c, declared))
  assert [f for f in fields if f not in declared] == []  # A new field needs a rule.
  for f in fields:  # Each rule takes the default and refuses its bad value.
    rule = declared[f]
    value = validate.lookup(c, f)
    assert rule.problem(value) is None, (f, value, rule.problem(value))
    assert rule.problem(rule.bad) is not None, (f, rule.bad)
  validate.check(c)


def _with(c, **fields):
  """A copy of config `c` with dotted fields (a__b for a.b) set to any value and type."""
  d = c.to_dict()
  for key, value in fields.items():
    *parents, last = key.split("__")
    node = d
    for p in parents:
      node = node[p]
    node[last] = value
  return ml_collections.ConfigDict(d)


def _error(c, **fields):
  with pytest.raises(errors.InputError) as e:
    validate.check(_with(c, **fields))
  assert "\n" not in str(e.value)
  return str(e.value)


FT = lambda: _config("finetune_tsv", "runlocal")  # pylint: disable=invalid-name
RE = lambda: _config("re_semeval", "runlocal")  # pylint: disable=invalid-name


@pytest.mark.parametrize("make,fields,message", [
    (FT, dict(optim__lr=float("inf")), "--config.optim.lr=inf: must be a finite number > 0."),
    (FT, dict(optim__lr=float("nan")), "--config.optim.lr=nan: must be a finite number > 0."),
    (FT, dict(optim__b1=1.5), "--config.optim.b1=1.5: must be a finite number in [0, 1)."),
    (FT, dict(optim__eps=-1.0), "--config.optim.eps=-1.0: must be a finite number > 0."),
    (FT, dict(num_devices=-3), "--config.num_devices=-3: must be an integer in [0, 65536]."),
    (FT, dict(num_epochs=10**10), "--config.num_epochs=10000000000: must be an integer in "
     "[1, 100000]."),
    (FT, dict(seed=2**64 - 1), "--config.seed=18446744073709551615: must be an integer in "
     "[0, 1_073_741_824]."),
    (FT, dict(seed=True), "--config.seed=True: must be an integer"),
    (FT, dict(input__batch_size="8"), "--config.input.batch_size=8: must be an integer"),
    (FT, dict(trainer="relation"), "--config.trainer=relation: this config runs finetune or "
     "supervised; relation needs its own config (configs/re_*.py)."),
    (FT, dict(trainer="aum"), "--config.trainer=aum: this config runs finetune or supervised; "
     "aum needs its own config (configs/aum_*.py)."),
    (FT, dict(learner="relation"), "--config.learner=relation: a text config trains the text "
     "learner"),
    (FT, dict(input__buckets=(16,)), "--config.input.buckets=(16,): the largest bucket 16 is "
     "below --config.input.max_len=128: longer rows would be cut to 16 tokens"),
    (FT, dict(input__labels=("a", "a")), "--config.input.labels=(a,a): names a label twice"),
    (FT, dict(input__delimiter="ab"), "--config.input.delimiter=ab: must be one character"),
    (RE, dict(model__name="lstm"), "--config.model.name=lstm: did you mean 'pa_lstm'? use one "
     "of transformer, pa_lstm, cgcn."),
    (RE, dict(model__name="cgcn"), "--config.model.name=cgcn: this config's model block has no "
     "gcn_layers, rnn_hidden, mlp_layers, input_dropout, gcn_dropout, rnn_dropout; choose the "
     "model with :model=cgcn."),
    (RE, dict(model__name="transformer"), "--config.model.name=transformer: is trained by "
     "relation_transformer, but --config.learner=relation: choose the model with the :model= "
     "argument instead."),
    (RE, dict(optim__name="rmsprop"), "--config.optim.name=rmsprop: an unknown optimiser: use "
     "sgd, adagrad or adam."),
    (RE, dict(trainer="finetune"), "--config.trainer=finetune: this config runs relation or "
     "supervised"),
    (RE, dict(input__markers="punct"), None),  # Not a field of PA-LSTM's config: no rule runs.
    (RE, dict(learner="relation_transformer"), "--config.model.name=pa_lstm: is trained by "
     "relation, but --config.learner=relation_transformer: choose the model with the :model= "
     "argument instead."),
    (lambda: _config("aum_cola", "runlocal"), dict(detect__early_epochs=3),
     "--config.detect.early_epochs=3: more than the 2 epochs of --config.num_epochs"),
    (lambda: _config("aum_cola", "runlocal"), dict(clean__seeds=(0, 0)),
     "--config.clean.seeds=(0,0): 0 is given twice."),
    (lambda: _config("mlrc_semeval", "runlocal"), dict(mlrc__fractions=(0.5, 0.5)),
     "--config.mlrc.fractions=(0.5,0.5): 0.5 is given twice."),
])
def test_settings_seen_in_issue_33_are_one_line_errors(make, fields, message):
  if message is None:
    validate.check(_with(make(), **fields))
    return
  assert _error(make(), **fields).startswith(message)


def test_transformer_buckets_must_reach_max_len():
  c = _config("re_semeval", "model=transformer")
  assert _error(c, input__max_len=256).startswith(
      "--config.input.buckets=(16,32,64,128): the largest bucket 128 is below "
      "--config.input.max_len=256")
  assert _error(c, model__name="pa_lstm").startswith(
      "--config.model.name=pa_lstm: is trained by relation, but --config.learner="
      "relation_transformer")


def test_choices_come_from_the_modules_that_define_them():
  from noisy_meta import detectors  # pylint: disable=g-import-not-at-top
  from noisy_meta import meta_learning  # pylint: disable=g-import-not-at-top
  aum = _config("aum_cola", "runlocal")
  assert _error(aum, clean__detector="nope").endswith(
      f"use one of {', '.join(detectors.CUTS)}.")
  ml = _config("mlrc_semeval", "runlocal")
  assert _error(ml, meta__algorithm="nope").endswith(
      f"use one of {', '.join(meta_learning.ALGORITHMS)}.")
  assert _error(ml, meta__task_axis="pmap").endswith(
      f"use one of {', '.join(('auto',) + meta_learning.TASK_AXES)}.")
  assert "did you mean 'supervised'?" in _error(FT(), trainer="supervisd")
  assert "did you mean 'relation_transformer'?" in _error(RE(), learner="relation_transformr")


@pytest.mark.parametrize("name,arg,field,value", [
    # Seen: :runlocal,batch_size=4,epochs=3 trained batch 16 for 1 epoch.
    ("finetune_cola", "runlocal,batch_size=4,epochs=3", "input.batch_size", 4),
    ("finetune_cola", "runlocal,batch_size=4,epochs=3", "num_epochs", 3),
    ("finetune_cola", "runlocal,train_size=1000", "input.train_size", 1000),
    ("finetune_cola", "runlocal", "input.batch_size", 16),
    ("aum_cola", "runlocal,seeds=0", "clean.seeds", ()),  # Seen: still retrained.
    ("aum_cola", "runlocal,seeds=2", "clean.seeds", (0, 1)),
    ("aum_cola", "runlocal", "clean.seeds", (0,)),
    ("aum_cola", "runlocal,epochs=3", "num_epochs", 3),
    ("aum_semeval", "runlocal,epochs=5", "num_epochs", 5),
    ("re_semeval", "runlocal,epochs=3,train_size=500", "num_epochs", 3),
    ("re_semeval", "runlocal,epochs=3,train_size=500", "input.train_size", 500),
    ("mlrc_text", "runlocal,epochs=2", "num_epochs", 2),
    ("mlrc_semeval", "runlocal,iterations=6,runs=3,tasks=8", "meta.iterations", 6),
    ("mlrc_semeval", "runlocal,iterations=6,runs=3,tasks=8", "mlrc.runs", 3),
    ("mlrc_semeval", "runlocal,iterations=6,runs=3,tasks=8", "meta.tasks", 8),
    ("mlrc_semeval", "runlocal,fractions=0.1+0.3", "mlrc.fractions", (0.1, 0.3)),
    ("detectors", "cpu,folds=3", "folds", 3),
    ("detectors", "cpu", "folds", 2),
])
def test_arguments_typed_with_runlocal_win_over_its_shrink(name, arg, field, value):
  assert validate.lookup(_config(name, arg), field) == value


@pytest.mark.parametrize("name,arg,message", [
    ("aum_cola", "seeds=-1", "seeds=-1: must be an integer in [0, 1000]."),
    ("aum_semeval", "runlocal,seeds=-1", "seeds=-1: must be an integer in [0, 1000]."),
    ("detectors", "noise_seeds=-1", "noise_seeds=-1: must be an integer in [1, 1000]."),
    ("detectors_relation", "clean_seeds=-2", "clean_seeds=-2: must be an integer in [0, 1000]."),
])
def test_arguments_that_would_empty_a_grid_are_refused(name, arg, message):
  with pytest.raises(ValueError) as e:
    _config(name, arg)
  assert str(e.value) == message


def test_configs_load_without_jax_and_validate_holds_no_names():
  """Configs stay light (choices are imported when checked); validate.py
  copies no lists of names from the modules that define them."""
  code = ("import sys; sys.path.insert(0, '.'); import importlib, os; "
          "[importlib.import_module('configs.' + f[:-3]).get_config(None) "
          "for f in sorted(os.listdir('configs')) if f.endswith('.py') "
          "and f not in ('__init__.py', 'common.py', 'rules.py')]; "
          "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'noisy_meta')))")
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                       check=True).stdout
  assert out.strip() == "[]"
  with open(os.path.join(root, "noisy_meta", "validate.py")) as f:
    assert not re.search(r"^[A-Z_]+ = [({]\s*\"", f.read(), re.M)  # ("a", ... or {"a": ...


def test_not_a_config_is_one_error():
  with pytest.raises(errors.InputError, match="not a noisy_meta config"):
    validate.check(ml_collections.ConfigDict({"x": 1}))
  with pytest.raises(errors.InputError, match="must be a ConfigDict, not list"):
    validate.check([1])


# Property tests (hypothesis; the profile of tests/conftest.py: 60
# derandomized examples each).
hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

_SAMPLES = [("finetune_tsv", "runlocal"), ("re_semeval", "runlocal"),
            ("re_semeval", "model=transformer"), ("aum_semeval", "runlocal,model=cgcn"),
            ("aum_cola", ""), ("mlrc_semeval", "runlocal"), ("mlrc_text", "runlocal"),
            ("detectors", ""), ("detectors_relation", "")]
_CONFIGS = {case: _config(*case) for case in _SAMPLES}
_FIELDS = {case: sorted(_leaves(c, validate.family(c).rules_of(c)))
           for case, c in _CONFIGS.items()}
# Wrong types and extreme numbers.
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.sampled_from([0, 1, -1, 2, 2**31 - 1, 2**31, 2**63, -2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, 1.5, -0.0, 1e-300, 1e300]),
    st.text(max_size=8), st.sampled_from(["", "auto", "sgd", "transformer", "16,32"]),
    st.lists(st.one_of(st.integers(-5, 300), st.floats(), st.text(max_size=3)),
             max_size=4).map(tuple),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@hypothesis.given(st.sampled_from(_SAMPLES), st.data())
def test_any_value_of_any_field_is_accepted_or_one_input_error(case, data):
  field = data.draw(st.sampled_from(_FIELDS[case]))
  value = data.draw(_VALUES)
  c = _with(_CONFIGS[case], **{field.replace(".", "__"): value})
  try:
    validate.check(c)
  except errors.InputError as e:
    assert "\n" not in str(e) and str(e).startswith("--config.") or "config" in str(e)


_ARGS = st.one_of(st.integers(-2**40, 2**70).map(str), st.floats().map(str),
                  st.sampled_from(["", "x", "0", "-1", "1e400", "nan", "True", "0.01+x",
                                   "5+2", "transformer", "cgcn", "entity"]))


@hypothesis.given(st.sampled_from(sorted({n for n, _ in _SAMPLES} | {"aum_tacred",
                                                                    "mlrc_text"})),
                  st.data())
def test_any_config_argument_is_a_config_or_a_value_error(name, data):
  """`:key=value` arguments: a config (then accepted or an InputError) or a
  ValueError (main prints it as one line), never another exception."""
  from noisy_meta import cli  # pylint: disable=g-import-not-at-top
  module = importlib.import_module(f"configs.{name}")
  keys = sorted(k for k in cli.config_arguments(module) if k != "runlocal")
  items = data.draw(st.lists(st.tuples(st.sampled_from(keys), _ARGS), min_size=1, max_size=3))
  arg = ",".join(["runlocal"] * data.draw(st.booleans()) + [f"{k}={v}" for k, v in items])
  try:
    c = module.get_config(arg)
  except ValueError:  # errors.InputError included.
    return
  try:
    validate.check(c)
  except errors.InputError:
    pass


def test_rules_refuse_without_raising_other_errors():
  for rule in (rules.integer(0, 3), rules.number(0, 1, open_hi=True), rules.flag(),
               rules.text(), rules.choice(("a", "b")), rules.sequence(rules.integer(0, 3))):
    for value in (None, object(), [object()], {"a": 1}, float("nan"), 10**400, b"x"):
      assert rule.problem(value) is None or isinstance(rule.problem(value), str)
