"""main's command line: flag and config-file errors as one line, --help with the
configs, a workdir lock, Ctrl-C and the closing `done:` line."""
import contextlib
import difflib
import importlib
import os
import signal
import sys
import textwrap
import traceback

from absl import flags
from absl import logging
from ml_collections import config_dict
from ml_collections.config_flags import config_flags as config_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(ROOT, "configs")
HELP = ("--help", "-help", "-h", "-?", "--helpshort", "--help=true")
HELP_WIDTH = 100  # --help's lines (config descriptions and arguments are wrapped).
# Wrapped at spaces only: a file name or a value is never split or cut.
_NO_CUTS = dict(break_on_hyphens=False, break_long_words=False)
# What each trainer leaves for a reader, most important first.
ARTIFACTS = {
    "finetune": ("metrics.json",),
    "aum": ("report.md", "explorer.html", "examples.csv", "summary.json"),
    "relation": ("metrics.json", "report.md", "test_predictions.txt"),
    "mlrc": ("report.md", "explorer.html", "results.json", "f1_vs_fraction.png"),
    "scan": ("report.md", "explorer.html", "examples.csv", "summary.json"),
}
EXPLORER = "explorer.html"  # Named in the closing line wherever a job wrote one.


def fail(message, code=2):
  """Prints `error: message` (one line) on stderr and exits with `code`."""
  handler = logging.get_absl_handler().python_handler
  if handler.stream is not sys.stderr:  # Logging to a file: keep it there too.
    logging.error("%s", message)
  print(f"error: {message}", file=sys.stderr, flush=True)
  sys.exit(code)


def config_names():
  return sorted(f for f in os.listdir(CONFIGS) if f.endswith(".py")
                and f not in ("__init__.py", "common.py", "rules.py"))


def config_arguments(module):
  """{name: default} of a config module's `:arguments` (its first parse_arg)."""
  from configs import common  # pylint: disable=g-import-not-at-top
  seen, real = [], common.parse_arg

  def record(arg, **defaults):
    seen.append(defaults)
    return real(arg, **defaults)
  common.parse_arg = record
  try:
    module.get_config(None)
  finally:
    common.parse_arg = real
  return seen[0] if seen else {}


def usage():
  """main's docstring, the configs with their first docstring line and
  arguments, and main's flags."""
  if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
  lines = [(sys.modules["__main__"].__doc__ or "").strip(), "",
           "Configs (--config=configs/NAME.py[:arg=value,flag,...]):"]
  names = config_names()
  # The description column starts after the longest name and a space; every
  # text is wrapped, never cut.
  indent = " " * (2 + max(map(len, names), default=0) + 2)
  for name in names:
    try:
      module = importlib.import_module(f"configs.{name[:-3]}")
      # The docstring's first paragraph: a sentence may go on to a second line.
      doc = " ".join((module.__doc__ or "").strip().split("\n\n")[0].split())
      args = ", ".join(k if v is False else f"{k}={v}"
                       for k, v in config_arguments(module).items())
    except Exception as e:  # pylint: disable=broad-except
      doc, args = f"(cannot be loaded: {type(e).__name__}: {e})", ""
    lines.append(textwrap.fill(doc or "-", width=HELP_WIDTH,
                               initial_indent=f"  {name}".ljust(len(indent)),
                               subsequent_indent=indent, **_NO_CUTS))
    if args:
      lines.append(textwrap.fill(f"arguments: {args}", width=HELP_WIDTH,
                                 initial_indent=indent, subsequent_indent=indent + "  ",
                                 **_NO_CUTS))
  lines += ["", "Any config field can be set: --config.input.batch_size=16.", "",
            "flags:", flags.FLAGS.main_module_help()]
  return "\n".join(lines)


def _root(e):
  """The first error in a chain of `raise ... from` / `during handling`."""
  while (e.__cause__ or e.__context__) is not None:
    if isinstance(e, SyntaxError):
      break
    e = e.__cause__ or e.__context__
  return e


def _flat_keys(d, prefix=""):
  out = []
  for k, v in d.items():
    out.append(f"{prefix}{k}")
    if isinstance(v, (dict, config_dict.ConfigDict)):
      out += _flat_keys(v, f"{prefix}{k}.")
  return out


def _has(config, path):
  from noisy_meta import validate  # pylint: disable=g-import-not-at-top
  return validate.lookup(config, path) is not validate.MISSING


def _config_arg(argv):
  """The value of --config in `argv` (`--config=X` or `--config X`), or None."""
  for a, b in zip(argv[1:], argv[2:] + [None]):
    if a.startswith("--config="):
      return a[len("--config="):]
    if a == "--config":
      return b
  return None


def describe(e, argv):
  """One line for an exception raised while parsing flags or loading --config."""
  spec = _config_arg(argv)
  path = spec.split(":", 1)[0] if spec else None
  if path and not os.path.exists(path):
    close = difflib.get_close_matches(os.path.basename(path), config_names(), n=1)
    hint = f"; did you mean 'configs/{close[0]}'?" if close else ""
    return f"--config={spec}: no such file{hint} (--help lists the configs)."
  root = _root(e)
  if isinstance(root, SyntaxError):
    text = f": {root.text.strip()}" if root.text else ""
    return f"{root.filename}:{root.lineno}: syntax error in the config file: {root.msg}{text}"
  try:  # The config as loaded from --config alone, for field names.
    config = config_files.ConfigFileFlagParser("config").parse(spec) if spec else None
  except Exception:  # pylint: disable=broad-except
    config = None
  if isinstance(config, config_dict.ConfigDict):
    keys = _flat_keys(config)
    for a in argv[1:]:
      if a.startswith("--config."):
        field = a[len("--config."):].split("=", 1)[0]
        if not _has(config, field):
          close = difflib.get_close_matches(field, keys, n=1)
          hint = f"; did you mean '--config.{close[0]}'?" if close else ""
          return f"{a}: the config has no field {field!r}{hint}"
  message = str(e).strip().splitlines()[0] if str(e).strip() else ""
  missing = [n for n in ("--config", "--workdir") if f"flag {n}=None" in str(e)]
  if missing:  # absl names one missing required flag at a time: name both.
    absent = [n for n in ("--config", "--workdir") if not any(
        a == n or a.startswith(n + "=") for a in argv[1:])]
    return (f"{' and '.join(absent or missing)} required: python -m noisy_meta.main "
            "--config=configs/NAME.py --workdir=DIR (--help lists the configs).")
  if isinstance(e, flags.Error) and not message.startswith("flag --config="):
    return message[len("flag "):] if message.startswith("flag ") else message
  where = ""
  if path:  # The line of the config file (or of configs/) that raised.
    frames = [f for f in traceback.extract_tb(root.__traceback__)
              if f.filename.startswith(CONFIGS) or f.filename == os.path.abspath(path)]
    if frames and not isinstance(root, ValueError):
      where = f" ({frames[-1].filename}:{frames[-1].lineno})"
  detail = str(root).strip().splitlines()[-1] if str(root).strip() else ""
  kind = "" if isinstance(root, (ValueError, OSError)) else f"{type(root).__name__}: "
  return f"--config={spec}: {kind}{detail}{where}" if spec else f"{kind}{detail}"


def parse_flags(argv):
  """app.run's flags_parser: --help lists the configs; a bad flag, config file
  or `:argument` is one `error:` line and exit 2, before main runs."""
  if any(a in HELP for a in argv[1:]):
    flags.FLAGS.mark_as_parsed()
    print(usage())
    sys.exit(0)
  try:
    rest = flags.FLAGS(argv)
    config = flags.FLAGS["config"].value
    if config is not None:
      # A config that failed to load, or has no trainer, raises here.
      config.trainer  # pylint: disable=pointless-statement
  except Exception as e:  # pylint: disable=broad-except
    fail(describe(e, argv))
  return rest


def lock(workdir):
  """The workdir lock on process 0 (other hosts share its workdir)."""
  from noisy_meta.core import guards  # pylint: disable=g-import-not-at-top
  from noisy_meta.core import parallel  # pylint: disable=g-import-not-at-top
  if parallel.is_lead():
    return guards.workdir_lock(workdir)
  return contextlib.nullcontext()


def interrupted(workdir):
  """Ctrl-C: one line, exit 130; a second Ctrl-C while exiting is ignored.

  The loop has finished its checkpoint saves and the workdir lock is
  released by now. The process ends with os._exit, not sys.exit: tearing
  down the interpreter while the KeyboardInterrupt's frames still hold JAX
  arrays and executables crashed it (a segfault after this line, when the
  Ctrl-C came during the first compilations).
  """
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  print(f"interrupted; rerun the same command to resume (workdir {workdir}).",
        file=sys.stderr, flush=True)
  logging.flush()
  sys.stdout.flush()
  os._exit(130)  # pylint: disable=protected-access


def done(config, workdir):
  """The closing line: the workdir and the main artifacts that exist there
  (explorer.html always, when the job wrote one)."""
  names = [n for n in ARTIFACTS.get(config.trainer, ())
           if os.path.exists(os.path.join(workdir, n))]
  if EXPLORER not in names and os.path.exists(os.path.join(workdir, EXPLORER)):
    names.append(EXPLORER)
  smoke = " (smoke run: its numbers are not results)" if config.runlocal else ""
  print(f"done{smoke}: {workdir}" + (f" ({', '.join(names)})" if names else ""),
        file=sys.stderr, flush=True)


def announce(config):
  """Says, before any work, that a :runlocal job is a smoke run."""
  if config.runlocal:
    logging.warning("Smoke run (:runlocal): a few hundred examples, one or two epochs, "
                    "to check that the job runs end to end; its numbers are not results.")
