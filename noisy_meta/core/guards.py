"""Guards against faults: a workdir reused with another config or other data,
or by two processes at once; a non-finite loss (and the test-only switch that
injects one)."""
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import signal
import sys
import threading
import time

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from noisy_meta.core import errors
from noisy_meta.core import parallel
from noisy_meta.core import writers

# Config fields that may change when a workdir is resumed: where things are
# cached, how many devices, logging and checkpoint cadence, test switches.
# Methods add their own (fields that extend their grid, their cadence) as
# `extendable` (e.g. trainers/aum.py's EXTENDABLE).
RESUMABLE = ("num_devices", "input.cache_dir", "log_every", "checkpoint_every",
             "overwrite_config")


def _flat(d, prefix=""):
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flat(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = v
  return out


# Fields a refactoring moved (old name -> new name): a config.json written
# before reads as if it had the new name, so its workdir still resumes.
MOVED = {"train_size": "input.train_size"}


def _moved(flat):
  """A stored config's flat fields under their current names."""
  out = dict(flat)
  for old, new in MOVED.items():
    if old in out:
      value = out.pop(old)
      out.setdefault(new, value)
  return out


def _ignored(key, extendable):
  return key in RESUMABLE or key in extendable or key.startswith("debug.")


def _read_workdir_json(path, what):
  """A workdir's config.json / data.json as a dict; unreadable JSON or not a
  JSON object: a WorkdirConfigError naming the file."""
  try:
    with open(path, encoding="utf-8") as f:
      obj = json.load(f)
  except (ValueError, UnicodeDecodeError) as e:
    raise errors.WorkdirConfigError(
        f"{path}: not a readable {what} file ({e}); this workdir's {what} is unknown: use "
        "a new --workdir, or --config.overwrite_config=True to resume here.") from e
  if not isinstance(obj, dict):
    raise _unknown(path, what, f"a JSON {type(obj).__name__}, not an object")
  return obj


def _unknown(path, what, why):
  return errors.WorkdirConfigError(
      f"{path}: not this workdir's {what} file ({why}); this workdir's {what} is unknown: "
      "restore the file, use a new --workdir, or --config.overwrite_config=True to resume "
      f"here with this run's {what} (the file is then kept as {_PREV[what]}<N>.json).")


_PREV = {"config": "config.prev", "data": "data.prev"}

# Fields every config.json has held since the first version: a stored config
# without them (an emptied `{}`, a file cut to a few fields) is not an older
# version's, whose missing fields would be taken as unchanged.
CORE = ("seed", "trainer", "num_epochs")


def _keep_prev(workdir, path, stem):
  """Copies `path` to workdir/<stem><N>.json (the first free N); returns N."""
  n = 1
  while os.path.exists(os.path.join(workdir, f"{stem}{n}.json")):
    n += 1
  with open(path, "rb") as f:
    writers.write_text(os.path.join(workdir, f"{stem}{n}.json"),
                       f.read().decode("utf-8", "replace"))
  return n


def _stored_config(path, new_f):
  """The stored config's flat fields; not an object, or lacking the CORE
  fields or most of this config's: a WorkdirConfigError (`_unknown`)."""
  old_f = _moved(_flat(_read_workdir_json(path, "config")))
  missing = [k for k in CORE if k in new_f and k not in old_f]
  if missing:
    raise _unknown(path, "config", f"it has no {', '.join(missing)}: every config.json "
                   "has had them")
  absent = len(new_f.keys() - old_f.keys())
  if absent > len(new_f) // 2:
    raise _unknown(path, "config", f"it lacks {absent} of this config's {len(new_f)} "
                   "fields, more than an older version's would")
  return old_f


def check_config(workdir, config, extendable=()):
  """Writes workdir/config.json, or checks it against `config` when present.

  A workdir made with another config (any field but RESUMABLE ones, the
  method's `extendable` ones, and `debug.*`) is a WorkdirConfigError naming the file
  and the differing fields, unless `config.overwrite_config`: then the old
  file is kept as config.prev<N>.json and the run resumes with the new one.
  Fields missing from the stored file (added since) are only logged; a file
  that is not a JSON object, or lacks a CORE field or most of the fields,
  is no older version's: refused (`_stored_config`), or with
  `overwrite_config` kept as config.prev<N>.json and replaced.
  """
  path = os.path.join(workdir, "config.json")
  # As write_json stores it (tuples become lists).
  new = json.loads(json.dumps(config.to_dict(), default=list))
  lead = parallel.is_lead()
  new_f = _flat(new)
  if os.path.exists(path):
    try:
      old_f = _stored_config(path, new_f)
    except errors.WorkdirConfigError as e:
      if not config.overwrite_config:
        raise
      n = _keep_prev(workdir, path, "config.prev") if lead else 0
      logging.warning("%s; resuming with this run's config (overwrite_config), the old "
                      "file kept as config.prev%d.json.", str(e).split(";")[0], n)
      if lead:
        writers.write_json(path, new)
      return
    added = sorted(k for k in new_f.keys() - old_f.keys() if not _ignored(k, extendable))
    if added:
      logging.warning("%s has no %s (written by an older version); taken as unchanged.",
                      path, ", ".join(added))
    diff = sorted(k for k in old_f.keys() & new_f.keys()
                  if old_f[k] != new_f[k] and not _ignored(k, extendable))
    diff += sorted(k for k in old_f.keys() - new_f.keys() if not _ignored(k, extendable))
    if diff and not config.overwrite_config:
      shown = "; ".join(f"{k}: {old_f.get(k, '(absent)')!r} there, "
                        f"{new_f.get(k, '(absent)')!r} now" for k in diff[:5])
      more = f" (and {len(diff) - 5} more)" if len(diff) > 5 else ""
      raise errors.WorkdirConfigError(
          f"{path}: this workdir was made with another config; it differs from this run's "
          f"config in {len(diff)} field(s): {shown}{more}. Use a new --workdir, or "
          "--config.overwrite_config=True to resume here with the new config (the old "
          "config.json is then kept as config.prev<N>.json).")
    if not diff:
      if added and lead:
        writers.write_json(path, new)
      return
    if lead:
      n = _keep_prev(workdir, path, "config.prev")
      logging.warning("%s: config changed (%s); resuming with the new config, the old "
                      "one kept as config.prev%d.json.", path, ", ".join(diff), n)
  if lead:
    writers.write_json(path, new)


@contextlib.contextmanager
def workdir_lock(workdir):
  """Holds an exclusive lock on workdir/.lock (which names this process).

  A second process is an InputError naming the owner's pid and start time.
  The lock dies with its process (flock); the file is removed on exit. The
  file is opened with os.open, not as an artifact: nothing reads it back.
  """
  path = os.path.join(workdir, ".lock")
  while True:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      owner = os.read(fd, 200).decode("utf-8", "replace").strip().split("\t")
      os.close(fd)
      who = (f"process {owner[0]} (started {owner[1]})" if len(owner) == 2
             else "another process")
      raise errors.InputError(f"{workdir} is in use by {who}; wait for it or use another "
                              "--workdir.") from None
    try:
      same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
      same = False
    if same:
      break
    os.close(fd)  # Its owner removed it as we opened it: lock the new file.
  os.ftruncate(fd, 0)
  os.write(fd, f"{os.getpid()}\t{time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n".encode())
  try:
    yield
  finally:
    with contextlib.suppress(OSError):
      os.remove(path)
    os.close(fd)


def fingerprint(*columns):
  """{"examples", "sha256"} of one split: its columns (arrays, lists) in order.

  A dataclass (TextData, Encoded) stands for its array and list fields but
  `sources` (file:line, which moves with the file, not with the data).
  """
  h = hashlib.sha256()
  flat = []
  for col in columns:
    if dataclasses.is_dataclass(col):
      flat += [getattr(col, f.name) for f in dataclasses.fields(col) if f.name != "sources"
               and isinstance(getattr(col, f.name), (np.ndarray, list, tuple))]
    else:
      flat.append(col)
  for col in flat:
    if isinstance(col, np.ndarray):
      h.update(f"{col.dtype}{col.shape}".encode())
      h.update(np.ascontiguousarray(col).tobytes())
    else:
      h.update(json.dumps(list(col), default=str).encode())
  return {"examples": len(flat[0]), "sha256": h.hexdigest()}


def _stored_data(path, names):
  """The stored fingerprints {split: {examples, sha256}}; any other shape,
  or none of this run's splits: a WorkdirConfigError (`_unknown`)."""
  stored = _read_workdir_json(path, "data")
  for name, fp in stored.items():
    ok = (isinstance(fp, dict) and set(fp) == {"examples", "sha256"}
          and type(fp["examples"]) is int and fp["examples"] >= 0
          and isinstance(fp["sha256"], str) and len(fp["sha256"]) == 64
          and all(c in "0123456789abcdef" for c in fp["sha256"]))
    if not ok:
      raise _unknown(path, "data", f"{name}: expected {{\"examples\": a count, \"sha256\": "
                     f"64 hex digits}}, found {json.dumps(fp)[:80]}")
  if names and not set(names) & set(stored):
    raise _unknown(path, "data", f"it has no fingerprint of {', '.join(names)}"
                   + (f", only of {', '.join(sorted(stored))}" if stored else ""))
  return stored


def check_data(workdir, config, **splits):
  """Writes workdir/data.json, or checks each split's `fingerprint` against it.

  Data that changed since the workdir was made (the checkpoints and reused
  stages were trained on the old) is a WorkdirConfigError naming the split,
  unless `config.overwrite_config`: then the new fingerprints are stored.
  A data.json that is not {split: {examples, sha256}}, or holds none of
  this run's splits, is refused the same way (`_stored_data`); a split it
  lacks (added since) is logged and stored.
  """
  path = os.path.join(workdir, "data.json")
  stored = {}
  if os.path.exists(path):
    try:
      stored = _stored_data(path, list(splits))
    except errors.WorkdirConfigError as e:
      if not config.overwrite_config:
        raise
      n = _keep_prev(workdir, path, "data.prev") if parallel.is_lead() else 0
      logging.warning("%s; resuming with this run's data (overwrite_config), the old "
                      "file kept as data.prev%d.json.", str(e).split(";")[0], n)
    else:
      added = [k for k in splits if k not in stored]
      if added:
        logging.warning("%s has no fingerprint of %s (written by an older version); "
                        "stored now.", path, ", ".join(added))
  changed = []
  for name, new in splits.items():
    old = stored.get(name)
    if old is None or old == new:
      continue
    if old["examples"] != new["examples"]:
      changed.append(f"{name}: {old['examples']} examples there, {new['examples']} now")
    else:
      changed.append(f"{name}: {new['examples']} examples, but other texts, tokens or labels")
  if changed and not config.overwrite_config:
    raise errors.WorkdirConfigError(
        f"{path}: this workdir was trained on other data ({'; '.join(changed)}). Use a new "
        "--workdir, or --config.overwrite_config=True to resume here with the new data.")
  if changed:
    logging.warning("%s: data changed (%s); resuming with the new data.", path,
                    "; ".join(changed))
  if parallel.is_lead() and any(stored.get(k) != v for k, v in splits.items()):
    writers.write_json(path, dict(stored, **splits))


def inject_nan(step_fn, nan_at_step):
  """Test-only (config.debug.nan_at_step): the step taking `state.step` to
  `nan_at_step` returns a NaN loss and NaN parameters (so every later step
  too). nan_at_step < 0: `step_fn` itself, untouched."""
  if nan_at_step is None or nan_at_step < 0:
    return step_fn

  def step(state, batch, rng):
    state, metrics = step_fn(state, batch, rng)
    bad = state.step == nan_at_step
    poison = lambda x: jnp.where(bad, jnp.nan, x) if jnp.issubdtype(
        x.dtype, jnp.floating) else x
    state = state.replace(params=jax.tree_util.tree_map(poison, state.params))
    return state, dict(metrics, loss=poison(metrics["loss"]))
  return step


_CTRL_C = []  # Non-empty once Ctrl-C was pressed in this process (catch_ctrl_c).
_SWALLOWED = []  # Non-empty while a Ctrl-C Python swallowed waits to be pressed again.


def _on_ctrl_c(signum, frame):
  del signum, frame
  _CTRL_C.append(True)
  raise KeyboardInterrupt


def _press_again():
  if _SWALLOWED:
    del _SWALLOWED[:]
    os.kill(os.getpid(), signal.SIGINT)


def _late_orbax_read(args):
  """Whether an unraisable exception is the aftermath of a failed orbax
  restore: when one array cannot be read, orbax raises and closes its event
  loop while its other reads still run; as they finish, TensorStore's
  threads raise RuntimeError "Event loop is closed" and orbax's read
  coroutines are dropped with their errors (each a printed traceback)."""
  code = getattr(args.object, "cr_code", None)  # A coroutine's code.
  return ((isinstance(args.exc_value, RuntimeError)
           and str(args.exc_value) == "Event loop is closed")
          or (code is not None and f"{os.sep}orbax{os.sep}" in code.co_filename))


def _unraisable(args):
  """sys.unraisablehook: a KeyboardInterrupt Python swallowed (raised in a
  garbage-collector or weakref callback, or a finalizer) is not printed and
  is pressed again 50 ms later, unless the loop raises it first; the late
  reads of a failed checkpoint restore (`_late_orbax_read`: the failure
  itself is logged as one line) are logged at debug level; anything else
  goes to the previous hook."""
  if isinstance(args.exc_value, KeyboardInterrupt):
    _SWALLOWED.append(True)
    timer = threading.Timer(0.05, _press_again)
    timer.daemon = True
    timer.start()
    return
  if _late_orbax_read(args):
    logging.debug("A late read of a failed checkpoint restore: %r", args.exc_value)
    return
  _unraisable.previous(args)


_unraisable.previous = sys.unraisablehook


def install_unraisable_hook():
  """Makes `_unraisable` sys.unraisablehook (once; the previous one kept)."""
  if sys.unraisablehook is not _unraisable:
    _unraisable.previous = sys.unraisablehook
    sys.unraisablehook = _unraisable


def catch_ctrl_c():
  """Makes Ctrl-C stick. It raises KeyboardInterrupt as usual and is
  remembered, so the loop raises it again at its next step
  (`raise_if_interrupted`). Where Python swallows the exception (inside a
  garbage-collector callback, JAX has one, a weakref callback or a
  finalizer), it would print "Exception ignored" with a traceback and go
  on: there it is not printed, and pressed again 50 ms later unless the
  loop has raised it by then."""
  del _CTRL_C[:], _SWALLOWED[:]
  if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, _on_ctrl_c)
  install_unraisable_hook()


def raise_if_interrupted():
  if _CTRL_C:
    del _SWALLOWED[:]  # Raised here: not pressed again.
    raise KeyboardInterrupt


@contextlib.contextmanager
def uninterrupted():
  """Holds Ctrl-C back until the block is done, then raises it.

  Orbax checkpoint saves must not be torn in the middle: a KeyboardInterrupt
  inside one can be swallowed by its threads (the run goes on) or leave them
  writing while the interpreter exits (a segfault). Off the main thread
  (where signals cannot be handled) the block runs as it is.
  """
  if threading.current_thread() is not threading.main_thread():
    yield
    return
  held = []
  previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
  try:
    yield
  finally:
    signal.signal(signal.SIGINT, previous)
  if held and previous != signal.SIG_IGN:
    if callable(previous):  # catch_ctrl_c's or Python's: raises KeyboardInterrupt.
      previous(signal.SIGINT, None)
    raise KeyboardInterrupt  # SIG_DFL, or a handler not set from Python.


@contextlib.contextmanager
def stop_on_divergence(workdir, ckpt):
  """Turns a FloatingPointError (non-finite loss) into TrainingDiverged that
  names the step, the workdir and the last good checkpoint, which is kept
  (saves in flight are finished first)."""
  try:
    yield
  except FloatingPointError as e:
    step = ckpt.latest_step()
    ckpt.close()
    kept = (f"the last good checkpoint (step {step}) is kept in {ckpt.directory}"
            if step is not None else "no checkpoint was saved before it")
    raise errors.TrainingDiverged(
        f"{workdir}: {e} The run stopped without writing its results; {kept}. Fix the "
        "cause (e.g. a lower --config.optim.lr) and rerun the same command to resume."
    ) from e
