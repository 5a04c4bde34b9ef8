"""Errors that mean "your input is wrong", reported by main without a traceback."""


class InputError(ValueError):
  """Bad data, paths or settings given by the user; the message says where."""


def at(path, line, message):
  """An InputError naming the file and 1-based line."""
  return InputError(f"{path}:{line}: {message}")


class WorkdirConfigError(InputError):
  """A workdir made by another config (its config.json differs)."""


class TrainingDiverged(RuntimeError):
  """A non-finite loss stopped the run; the last good checkpoint is kept."""
