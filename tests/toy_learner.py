"""A new learner in one file: softmax regression on Gaussian blobs, in memory.

It tests the loop and the methods in seconds (tests/loop_test.py): the
data and recipe come from `base.InMemory`; it writes its model and batches.
"""
import dataclasses
from typing import Optional

from flax.training import train_state
import jax
import jax.numpy as jnp
import numpy as np
import optax

from noisy_meta import aum_lib
from noisy_meta.core import parallel
from noisy_meta.learners import base


class State(train_state.TrainState):
  dynamics: Optional[aum_lib.Dynamics] = None


@dataclasses.dataclass
class Split:
  x: np.ndarray  # [N, 2] points.
  labels: np.ndarray  # [N] classes.


def blobs(n, seed):
  """Two classes around (2, 0) and (0, 2), unit variance."""
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 2, n).astype(np.int32)
  return Split((2.0 * np.eye(2)[y] + rng.normal(size=(n, 2))).astype(np.float32), y)


class ToyLearner(base.InMemory):
  """Softmax regression; SGD at config.optim.lr."""
  name = "toy"

  def __init__(self, config, data=None):
    del data
    self.config, self.label_names, self.num_classes = config, ["a", "b"], 2
    self.train, self.dev = blobs(config.input.train_size, 0), blobs(64, 1)
    self.batch_size = self.eval_batch_size = config.input.batch_size

  def epoch_batches(self, split, seed, epoch):
    order = np.random.default_rng([seed, epoch]).permutation(self.size(split))
    return [(order[i:i + self.batch_size], 0) for i in range(0, len(order), self.batch_size)]

  def eval_batches(self, split, batch_size=None):
    n, k = self.size(split), batch_size or self.eval_batch_size
    return [(np.arange(i, min(i + k, n)), 0) for i in range(0, n, k)]

  def make_batch(self, split, idx, batch_size, length):
    del length
    rows = np.full(batch_size, -1, np.int32)
    rows[:len(idx)] = idx
    take = lambda a: np.where((rows >= 0).reshape((-1,) + (1,) * (a.ndim - 1)), a[rows], 0)
    return {"x": take(split.x), "label": take(split.labels), "_id": rows, "_mask": rows >= 0}

  def init_state(self, rng, num_classes, num_steps, mesh, dynamics_shape=None,
                 init_params=None):
    del num_steps
    params = init_params or {"w": 0.01 * jax.random.normal(rng, (2, num_classes)),
                             "b": jnp.zeros(num_classes)}
    dyn = aum_lib.Dynamics.zeros(*dynamics_shape) if dynamics_shape else None
    state = State.create(apply_fn=None, params=params, tx=optax.identity(), dynamics=dyn)
    return parallel.replicate(state, mesh)

  def logits(self, state, params, batch):
    return batch["x"] @ params["w"] + params["b"]

  def forward(self, state, params, batch, rng):
    del rng  # No dropout.
    return self.logits(state, params, batch), None

  def learning_rate(self, state, step=None):
    return jnp.float32(self.config.optim.lr)


def config(epochs=4, **kw):
  """An AUM config (smoke scale) training the toy learner: 96 rows, batch 16,
  SGD at 0.5, `epochs` epochs, fields `kw` set on top. The caller registers
  the learner (`learners.register("toy", __name__, "ToyLearner")`)."""
  from configs import aum as aum_config  # pylint: disable=g-import-not-at-top
  c = aum_config.get_config("runlocal")
  with c.unlocked():
    c.learner, c.num_epochs, c.precompile = "toy", epochs, False
    c.input.train_size, c.input.batch_size, c.optim.lr = 96, 16, 0.5
    c.update(kw)
  return c
