"""Orbax checkpointing: restore-or-init and periodic saves in `workdir/ckpt`."""
import os

from absl import logging
import jax
import orbax.checkpoint as ocp

from noisy_meta.core import errors
from noisy_meta.core import guards
from noisy_meta.core import parallel


def _name(key):
  """A pytree path entry as a name: a dict key, an attribute, an index."""
  tu = jax.tree_util
  if isinstance(key, (tu.DictKey, tu.FlattenedIndexKey)):
    return str(key.key)
  if isinstance(key, tu.GetAttrKey):
    return str(key.name)
  if isinstance(key, tu.SequenceKey):
    return str(key.idx)
  return str(key)


def _shapes(tree):
  """{'a/b/c': shape} of the array leaves of a pytree (or of orbax metadata)."""
  flat, _ = jax.tree_util.tree_flatten_with_path(tree)
  shape = lambda leaf: getattr(leaf, "shape", None)  # Arrays and orbax's ArrayMetadata.
  return {"/".join(_name(k) for k in path): tuple(shape(leaf)) for path, leaf in flat
          if shape(leaf) is not None}


def _first_line(e):
  """An exception as one short line (orbax's can run to pages)."""
  text = str(e).strip().split("\n")[0].split(" [tensorstore_spec=")[0][:300]
  return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _mismatch(saved, want):
  """The first differing parameter names or shapes of two `_shapes` ("" if none)."""
  params_first = lambda k: (not k.startswith("params/"), k)
  diffs = [f"{k}: checkpoint {saved[k]} != model {want[k]}"
           for k in sorted(saved.keys() & want.keys(), key=params_first)
           if saved[k] != want[k]]
  if saved and saved.keys() != want.keys():
    only_saved, only_want = sorted(saved.keys() - want.keys()), sorted(want.keys() - saved.keys())
    if only_saved:
      diffs.append(f"only in the checkpoint: {', '.join(only_saved[:3])}")
    if only_want:
      diffs.append(f"only in the model: {', '.join(only_want[:3])}")
  return "; ".join(diffs[:3]) + (f"; {len(diffs) - 3} more" if len(diffs) > 3 else "")


class Checkpointer:
  """Wraps an orbax CheckpointManager over the train state pytree."""

  def __init__(self, workdir, max_to_keep=2):
    self.directory = os.path.abspath(os.path.join(workdir, "ckpt"))
    # The handler named up front: a step's metadata is then readable before
    # any restore (restore_or compares shapes on it first).
    self.mngr = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
        item_handlers=ocp.StandardCheckpointHandler())
    self.seconds = 0.0  # Training time saved with the restored checkpoint.

  def restore_or(self, state):
    """The newest readable saved state (same structure as `state`), else `state`.

    A checkpoint whose files are incomplete or unreadable (a file lost, cut
    or damaged) is set aside into ckpt.damaged/ with a warning and the one
    before it is tried; none readable is an InputError naming the folder.
    A checkpoint of another model or config (other parameter names or
    shapes) is an InputError naming the checkpoint and what differs. Names
    and shapes are compared on the checkpoint's metadata before any array is
    read: a restore that fails midway leaves orbax's reads of the other
    arrays running, and they print "Exception ignored" tracebacks later.
    `self.seconds` is then the training time saved with the restored
    checkpoint (0 without one).
    """
    self.seconds = 0.0
    bad = []
    for step in sorted(self.mngr.all_steps(), reverse=True):
      where = os.path.join(self.directory, str(step))
      try:
        tree = getattr(self.mngr.item_metadata(step), "tree", None)
        saved, problem = (None if tree is None else _shapes(tree)), "no readable metadata"
      except Exception as e:  # pylint: disable=broad-except
        saved, problem = None, _first_line(e)
      if saved is not None:
        mismatch = _mismatch(saved, _shapes(state))
        if mismatch:
          raise errors.InputError(
              f"{where}: this checkpoint does not fit the model and config of this run "
              f"({mismatch}). Use a new --workdir, or delete its ckpt/ to start over.")
        guards.install_unraisable_hook()  # A failed restore's late reads: quiet.
        try:
          restored = self.mngr.restore(step, args=ocp.args.StandardRestore(state))
        except Exception as e:  # pylint: disable=broad-except
          problem = _first_line(e)
        else:
          logging.info("Resuming from checkpoint at step %d.", step)
          self.seconds = self._seconds(step)
          self._set_aside(bad)
          return restored
      logging.warning("%s: checkpoint unreadable (%s); trying the one before it.", where,
                      problem)
      bad.append((step, problem))
    if bad:
      shown = "; ".join(f"step {s}: {p}" for s, p in bad[:3])
      raise errors.InputError(
          f"{self.directory}: no readable checkpoint ({shown}). Delete {self.directory} to "
          "train from the start, or use a new --workdir.")
    return state

  def _seconds(self, step):
    """The training seconds saved with checkpoint `step` (0 with a warning
    for a checkpoint saved before they were)."""
    try:
      seconds = (self.mngr.metadata(step).custom_metadata or {}).get("train_seconds")
    except Exception:  # pylint: disable=broad-except
      seconds = None
    if not isinstance(seconds, (int, float)) or not 0 <= seconds < float("inf"):
      logging.warning("%s/%d holds no training time (saved by an older version): "
                      "train_seconds counts from this resume.", self.directory, step)
      return 0.0
    return float(seconds)

  def _set_aside(self, bad):
    """Moves unreadable checkpoints to ckpt.damaged/<step> (kept, out of
    orbax's way: their steps are saved again)."""
    if not bad or not parallel.is_lead():
      return
    aside = self.directory + ".damaged"
    os.makedirs(aside, exist_ok=True)
    for step, _ in bad:
      dest, n = os.path.join(aside, str(step)), 1
      while os.path.exists(dest):
        dest, n = os.path.join(aside, f"{step}.{n}"), n + 1
      os.rename(os.path.join(self.directory, str(step)), dest)
      logging.warning("%s/%d: set aside as %s; resuming from an older checkpoint.",
                      self.directory, step, dest)
    self.mngr.reload()

  def save(self, step, state, seconds=None):
    """Saves `state` at `step` (async), with the training `seconds` so far."""
    if step not in self.mngr.all_steps():
      meta = None if seconds is None else {"train_seconds": float(seconds)}
      self.mngr.save(int(step), args=ocp.args.StandardSave(state), custom_metadata=meta)

  def latest_step(self):
    """The newest finished checkpoint's step (waits for saves in flight), or None."""
    self.mngr.wait_until_finished()
    return self.mngr.latest_step()

  def close(self):
    self.mngr.wait_until_finished()
    self.mngr.close()
