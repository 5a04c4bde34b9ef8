"""Orbax checkpointing: restore-or-init and periodic saves in `workdir/ckpt`."""
import os

from absl import logging
import orbax.checkpoint as ocp


class Checkpointer:
  """Wraps an orbax CheckpointManager over the train state pytree."""

  def __init__(self, workdir, max_to_keep=2):
    self.mngr = ocp.CheckpointManager(
        os.path.abspath(os.path.join(workdir, "ckpt")),
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True))

  def restore_or(self, state):
    """The latest saved state if any (same structure as `state`), else `state`."""
    step = self.mngr.latest_step()
    if step is None:
      return state
    logging.info("Resuming from checkpoint at step %d.", step)
    return self.mngr.restore(step, args=ocp.args.StandardRestore(state))

  def save(self, step, state):
    if step not in self.mngr.all_steps():
      self.mngr.save(int(step), args=ocp.args.StandardSave(state))

  def close(self):
    self.mngr.wait_until_finished()
    self.mngr.close()
