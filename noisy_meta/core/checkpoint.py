"""Orbax checkpointing: restore-or-init and periodic saves in `workdir/ckpt`."""
import os

from absl import logging
import jax
import orbax.checkpoint as ocp

from noisy_meta.core import errors


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

  def restore_or(self, state):
    """The latest saved state if any (same structure as `state`), else `state`.

    A checkpoint of another model or config (other parameter names or
    shapes) is an InputError naming the checkpoint and what differs. Names
    and shapes are compared on the checkpoint's metadata before any array is
    read: a restore that fails midway leaves orbax's reads of the other
    arrays running, and they print "Exception ignored" tracebacks later.
    """
    step = self.mngr.latest_step()
    if step is None:
      return state
    mismatch = self._mismatch(step, state)
    if not mismatch:
      logging.info("Resuming from checkpoint at step %d.", step)
      try:
        return self.mngr.restore(step, args=ocp.args.StandardRestore(state))
      except (ValueError, KeyError, TypeError) as e:
        mismatch = str(e).strip().split("\n")[0][:300]
    raise errors.InputError(
        f"{os.path.join(self.directory, str(step))}: this checkpoint does not fit the "
        f"model and config of this run ({mismatch}). Use a new "
        "--workdir, or delete its ckpt/ to start over.")

  def _mismatch(self, step, state):
    """The first differing parameter names or shapes ("" if none, or if the
    checkpoint's metadata cannot be read: the restore then says)."""
    try:
      saved, want = _shapes(self.mngr.item_metadata(step).tree), _shapes(state)
    except Exception:  # pylint: disable=broad-except
      return ""
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

  def save(self, step, state):
    if step not in self.mngr.all_steps():
      self.mngr.save(int(step), args=ocp.args.StandardSave(state))

  def latest_step(self):
    """The newest finished checkpoint's step (waits for saves in flight), or None."""
    self.mngr.wait_until_finished()
    return self.mngr.latest_step()

  def close(self):
    self.mngr.wait_until_finished()
    self.mngr.close()
