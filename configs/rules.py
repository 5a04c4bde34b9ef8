"""Rules of config fields: each family declares one beside its fields.

`rules.integer(1, MAX_EPOCHS)`, `rules.number(0, 1, open_hi=True)`,
`rules.choice("noisy_meta.detectors:CUTS")`... A rule's `problem(value)` is
None or what is wrong, in words that follow the flag:
`--config.optim.lr=inf: must be a finite number > 0.` (noisy_meta/validate.py
checks every field, then the family's cross-field rules). Names of choices
come from the module that defines them, as "module:NAME", imported only when
a value is checked, so that loading a config never imports JAX. No I/O here.
"""
import difflib
import importlib
import math
import numbers

# Upper bounds where larger numbers overflow or make no sense: numpy's and
# JAX's seeds are 32-bit, and runs add their index or 100 to a seed (half the
# range keeps those sums 32-bit); epochs and steps go into int32 step
# counters, sizes into int32 arrays.
MAX_SEED = 2**30
MAX_EPOCHS = 10**5
MAX_STEPS = 2**31 - 1
MAX_SIZE = 2**31 - 1
MAX_DEVICES = 2**16
MAX_TOKENS = 2**16  # Sequence lengths and padded buckets.
MAX_BATCH = 2**20


def names(spec):
  """A tuple of names: as given, from a function, or "module:NAME" (a tuple, a
  dict's keys, or a function giving one)."""
  if callable(spec):
    return tuple(spec())
  if isinstance(spec, str):
    module, _, attr = spec.partition(":")
    spec = getattr(importlib.import_module(module), attr)
    if callable(spec):
      spec = spec()
  return tuple(spec)


def _fmt(x):
  """A bound as typed in Python: 1_073_741_824 (large numbers stay readable)."""
  return f"{x:,}".replace(",", "_") if isinstance(x, int) and abs(x) >= 10**6 else str(x)


class Rule:
  """A check of one field: `problem(value)` is None, or what is wrong with it."""

  def __init__(self, ok, says, bad):
    self._ok = ok  # value -> True, False or a message (str) of its own.
    self._says = says  # What a good value is ("must be ..."), or a function giving it.
    self.bad = bad  # A value the rule refuses (tests/schema_test.py tries it).

  @property
  def says(self):
    """What a good value is, after the flag: "must be an integer in [1, 10]."."""
    return self._says() if callable(self._says) else self._says

  def problem(self, value):
    """None if `value` passes, else what is wrong with it (one line)."""
    try:
      ok = self._ok(value)
    except (TypeError, ValueError, OverflowError, AttributeError):
      ok = False  # Wrong types refuse; they never escape as another error.
    if isinstance(ok, str):
      return ok
    return None if ok else self.says


def is_int(v):
  """An integer (numpy's too), not a bool."""
  return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_number(v):
  """A finite real number (numpy's too), not a bool."""
  return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def integer(lo, hi):
  """An integer in [lo, hi] (bools are not integers here)."""
  return Rule(lambda v: is_int(v) and lo <= v <= hi,
              f"must be an integer in [{_fmt(lo)}, {_fmt(hi)}].", hi + 1)


def seed():
  """A seed: numpy's and JAX's are 32-bit."""
  return integer(0, MAX_SEED)


def number(lo, hi=None, open_lo=False, open_hi=False):
  """A finite real number between lo and hi (None: no upper bound but finiteness)."""
  def ok(v):
    if not is_number(v):
      return False
    above = v > lo if open_lo else v >= lo
    below = hi is None or (v < hi if open_hi else v <= hi)
    return above and below
  if hi is None:
    says = f"must be a finite number {'>' if open_lo else '>='} {lo}."
  else:
    says = (f"must be a finite number in {'(' if open_lo else '['}{lo}, "
            f"{hi}{')' if open_hi else ']'}.")
  return Rule(ok, says, float("inf"))


def flag():
  """True or False."""
  return Rule(lambda v: isinstance(v, bool), "must be True or False.", "yes")


def text():
  """Any string (paths, column names; empty where the comment says what that means)."""
  return Rule(lambda v: isinstance(v, str), "must be a string.", 3)


def choice(spec, extra=()):
  """One of names(spec) or `extra`; a close miss is suggested."""
  def says():
    return f"use one of {', '.join(n or repr(n) for n in tuple(extra) + names(spec))}."

  def ok(v):
    known = tuple(extra) + names(spec)
    if isinstance(v, str) and v in known:
      return True
    close = difflib.get_close_matches(str(v), known, n=1)
    return f"did you mean {close[0]!r}? {says()}" if close else says()
  return Rule(ok, says, "no_such_name")


def accepted_by(function, says, call=lambda f, v: f(v)):
  """A value that `function` ("module:NAME", which raises ValueError on a bad
  one) accepts, called as `call(function, value)`: the module that uses the
  value is the one that knows it."""
  def ok(v):
    if not isinstance(v, str):
      return False
    module, _, attr = function.partition(":")
    try:
      call(getattr(importlib.import_module(module), attr), v)
    except ValueError as e:  # errors.InputError included.
      message = str(e).strip().splitlines()[0] if str(e).strip() else ""
      # "meta.inner_optim='x': use sgd, ..." names the field: the flag does already.
      message = message.split(": ", 1)[1] if ": " in message else message
      return f"{says}: {message}" if message else f"{says}."
    return True
  return Rule(ok, says, "no_such_name")


def sequence(item, min_len=1, max_len=1000, increasing=False, distinct=True, says=None):
  """A tuple (or list) of `min_len` to `max_len` values, each passing `item`;
  `distinct`: none twice (a second seed or fraction would redo the same run)."""
  def ok(v):
    if isinstance(v, (str, bytes)) or not isinstance(v, (tuple, list)):
      return False
    if not min_len <= len(v) <= max_len:
      return False
    for x in v:
      problem = item.problem(x)
      if problem:
        return f"{_item(x)}: {problem}" if says is None else False
    twice = [x for i, x in enumerate(v) if x in v[:i]]
    if distinct and twice:
      return f"{_item(twice[0])} is given twice."
    return not increasing or all(x < y for x, y in zip(v, v[1:]))
  def default():  # A function: a choice's names are imported only when needed.
    each = item.says[len("must be "):] if item.says.startswith("must be ") else item.says
    order = "increasing " if increasing else ""
    return f"must be a tuple of {min_len} to {max_len} {order}values, each {each}"
  return Rule(ok, says or default, () if min_len else "x")


def _item(x):
  """An item of a tuple as the message shows it: strings quoted."""
  return repr(x) if isinstance(x, str) else str(x)


def custom(ok, says, bad):
  """A rule of its own: `ok(value)` is True, False or a message."""
  return Rule(ok, says, bad)
