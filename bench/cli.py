"""The benches' one command-line style: --name=value flags, parsed per call.

Every bench has `main(argv=None)` (argv: its flags without the program
name; None: the command line) and builds its flags on a fresh absl
FlagValues inside `parse`. No flag exists at import, so any benches can be
imported side by side (tests call their `main` in-process). absl's flag
types keep what the scripts always took: `--steps=3`; booleans as `--quick`,
`--noquick` or `--dropout=false`; lists `--seeds=0,1,2`; repeated flags
`--grid=A=x --grid=B=y`; `--config=<file>[:arg]` with `--config.a.b=v`
overrides (ml_collections), as noisy_meta.main takes them.

  python -m bench.speed.step_speed --help
"""
import sys

from absl import flags
from absl import logging
from ml_collections import config_flags

from noisy_meta import cli as job_cli

_HELP = ("-h", "--help", "-help", "--helpfull", "--helpshort")


def parse(argv, define, doc, required=(), config=None):
  """The flags of one call: `define(fv)` registers them on a fresh FlagValues.

  `required`: names of flags the bench cannot run without; `config`: the
  help text of a required `--config` flag (a config file, overrides
  allowed). --help prints `doc` and the flags and exits; an unknown or
  missing flag, a bad value or a word that is not a flag exits with one
  line, `error: ...`.
  """
  argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
  fv = flags.FlagValues()
  if config:
    config_flags.DEFINE_config_file("config", None, config, flag_values=fv,
                                    sys_argv=["bench"] + argv)
    required = ("config",) + tuple(required)
  define(fv)
  if any(a in _HELP for a in argv):
    print(doc.strip() + "\n\nFlags:\n" + "\n".join(
        f"  --{name} (default: {fv[name].default_as_str or 'none'}): {fv[name].help}"
        for name in sorted(fv)))
    sys.exit(0)
  try:
    rest = fv(["bench"] + argv)
    if config and fv["config"].value is not None:
      fv.config.to_dict()  # A config file that failed to load raises on first use.
  except Exception as e:  # pylint: disable=broad-except
    # One line, as noisy_meta.main says it (a config file's error: its own line).
    sys.exit("error: " + (job_cli.describe(e, ["bench"] + argv) if config else
                          str(e).replace("\n", "; ")))
  if len(rest) > 1:
    sys.exit(f"error: {rest[1]!r} is not a flag: this bench takes --name=value flags "
             "(--help lists them).")
  missing = [f"--{name}" for name in required if fv[name].value is None]
  if missing:
    sys.exit(f"error: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
             "required (--help lists the flags).")
  return fv


def run(main):
  """A bench's `if __name__ == "__main__"` line: absl logging at INFO on
  stderr (as absl.app.run sets it up), then `main()` on the command line;
  what it returns is the exit status."""
  flags.FLAGS.mark_as_parsed()  # absl logging reads its own flags' defaults.
  logging.use_absl_handler()
  logging.set_verbosity(logging.INFO)
  sys.exit(main())
