"""One mesh, axis 'data': batches (and MLRC's tasks) sharded, state replicated.

Every job builds `make_mesh(config.num_devices)` over all devices of all
processes (0: all of them), places its train state replicated with
`replicate` (leaves made on each process's own devices from host values,
never broadcast from one device) and each batch with `shard`, whose
leading axis is split over the mesh: a process materialises only the rows
of its own devices. Per-example accumulators (AUM, data maps) are replicated
arrays indexed by global example id, so the jitted step's scatter is the
same whatever the split.

Multi-host: every process runs the same program on the same host data
(batches, permutations and task samples are pure functions of seed and
step), so the global arrays agree; `noisy_meta/main.py` calls
`jax.distributed.initialize()` when NOISY_META_DISTRIBUTED is set.
"""
import math

from absl import logging
import jax
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

from noisy_meta.core import errors

AXIS = "data"


def make_mesh(num_devices=0, divides=None):
  """A 1-D mesh ('data',) over the first `num_devices` devices (0: all).

  divides: a size the mesh must divide (MLRC's tasks per meta-iteration).
  In one process, a mesh that does not divide it shrinks to the largest
  device count that does (with a warning); across processes that would idle
  whole hosts, so it is an error.
  """
  devices = jax.devices()
  n = num_devices or len(devices)
  if n > len(devices):
    raise errors.InputError(f"num_devices={num_devices}: only {len(devices)} devices "
                            f"({devices[0].platform}) are visible.")
  if divides and divides % n:
    if jax.process_count() > 1:
      raise errors.InputError(
          f"{divides} tasks per meta-iteration cannot be split over {n} devices on "
          f"{jax.process_count()} hosts: use a multiple of {n} (meta.tasks).")
    fit = max(d for d in range(1, n + 1) if divides % d == 0)
    logging.warning("%d tasks do not split over %d devices: using %d.", divides, n, fit)
    n = fit
  return Mesh(np.asarray(devices[:n]), (AXIS,))


def replicated(mesh):
  return NamedSharding(mesh, P())


def sharded(mesh):
  """Leading axis split over the mesh."""
  return NamedSharding(mesh, P(AXIS))


def padded_size(batch_size, mesh):
  """The batch size rounded up to a multiple of the mesh (extra rows are padding)."""
  return math.ceil(batch_size / mesh.size) * mesh.size


def _place(x, sharding):
  if isinstance(x, jax.Array) and x.sharding == sharding:
    return x
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    return jax.device_put(x, sharding)
  if jax.dtypes.issubdtype(getattr(x, "dtype", np.float32), jax.dtypes.prng_key):
    impl = jax.random.key_impl(x)
    return jax.random.wrap_key_data(_place(jax.random.key_data(x), sharding), impl=impl)
  value = np.asarray(x)
  return jax.make_array_from_callback(value.shape, sharding, lambda idx: value[idx])


def replicate(tree, mesh):
  """Every leaf as a replicated global array (host values must agree across processes)."""
  s = replicated(mesh)
  return jax.tree_util.tree_map(lambda x: _place(x, s), tree)


def shard(tree, mesh):
  """Every leaf split along its leading axis; each process puts only its rows."""
  s = sharded(mesh)
  return jax.tree_util.tree_map(lambda x: _place(x, s), tree)


def is_lead():
  """Process 0 writes logs, reports and plots."""
  return jax.process_index() == 0
