"""Entry point: `python -m noisy_meta.main --config=configs/X.py --workdir=DIR`."""
import os

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from noisy_meta import cli

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file (configs/*.py[:arg]).", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Where checkpoints, metrics and reports go.")
flags.mark_flags_as_required(["config", "workdir"])


def _quiet_libraries(record):
  """Keeps orbax's per-save INFO chatter out of the run log."""
  return record.levelno >= logging.converter.STANDARD_WARNING or (
      "/orbax/" not in record.pathname)


def _initialize_distributed(jax):
  """jax.distributed.initialize(): TPU pods and SLURM find their peers; elsewhere
  JAX_COORDINATOR_ADDRESS (host:port of process 0), NOISY_META_NUM_PROCESSES
  and NOISY_META_PROCESS_ID say who is who (CPU collectives: gloo)."""
  env = os.environ.get
  kwargs = {}
  if env("NOISY_META_NUM_PROCESSES"):
    kwargs = dict(coordinator_address=env("JAX_COORDINATOR_ADDRESS"),
                  num_processes=int(env("NOISY_META_NUM_PROCESSES")),
                  process_id=int(env("NOISY_META_PROCESS_ID", "0")))
  jax.distributed.initialize(**kwargs)
  logging.info("Process %d of %d; %d local / %d global devices.", jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  config, workdir = _CONFIG.value, _WORKDIR.value
  try:
    logging.get_absl_handler().addFilter(_quiet_libraries)
    import jax  # pylint: disable=g-import-not-at-top
    from noisy_meta.core import errors  # pylint: disable=g-import-not-at-top
    from noisy_meta.core import guards  # pylint: disable=g-import-not-at-top
    from noisy_meta import trainers  # pylint: disable=g-import-not-at-top
    from noisy_meta import validate  # pylint: disable=g-import-not-at-top
    from noisy_meta.data import pipeline  # pylint: disable=g-import-not-at-top
    guards.catch_ctrl_c()
    try:
      validate.check(config)  # Bad values fail here, before anything is trained.
      cli.announce(config)
      # Compiled steps persist across runs and processes (the AUM pipeline's
      # retrains share shapes): the second compile of a shape is a cache read.
      jax.config.update("jax_compilation_cache_dir",
                        os.path.join(pipeline.cache_dir(), "jax"))
      if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:  # JAX read it.
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
      if "JAX_COMPILATION_CACHE_MAX_SIZE" not in os.environ:
        # As the tests' (conftest.py): with a size limit JAX keeps each
        # entry's access time and locks the folder, so jobs and test workers
        # sharing it never trip over each other's entries.
        jax.config.update("jax_compilation_cache_max_size", 4 << 30)
      if os.environ.get("NOISY_META_DISTRIBUTED"):  # Set by launch/ on multi-host.
        _initialize_distributed(jax)
      if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise errors.InputError(f"--workdir={workdir}: a file, not a folder; give a folder "
                                "(made when missing).")
      os.makedirs(workdir, exist_ok=True)
      with cli.lock(workdir):
        trainers.get(config.trainer).train_and_evaluate(config, workdir)
    except (errors.InputError, OSError, errors.TrainingDiverged) as e:
      # Exit 2: bad input, config, workdir or I/O; 3: a non-finite loss.
      message = str(e)
      if isinstance(e, errors.WorkdirConfigError):
        name = config_flags.get_config_filename(flags.FLAGS["config"])
        message += f" This run's config: {name}."
      cli.fail(message, 3 if isinstance(e, errors.TrainingDiverged) else 2)
  except KeyboardInterrupt:
    cli.interrupted(workdir)
  if jax.process_index() == 0:
    cli.done(config, workdir)


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
