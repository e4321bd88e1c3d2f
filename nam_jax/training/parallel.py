"""Data-parallel training over the devices of every process of a job.

A step is jitted over a 1-D mesh ('batch',): the state replicated, each batch split along its
batch axis, and XLA sums the gradients. In a one-process run the batch is a host array and
the mesh may be a single device (then the step is a plain jit, as before). In a multi-process
job (nam_jax/multihost.py) the mesh spans every process's devices, each process reads only its
share of every global batch (pipeline.training_batches(shard=...)), and `global_batch` joins
the shares into one array the step sees whole: the same maths as one process with the same
global batch, up to the order of floating-point sums.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh

from nam_jax import devices, multihost


class SplitError(ValueError):
  """A batch does not split evenly over the processes or devices of the job."""


def multi_process() -> bool:
  return jax.process_count() > 1


def mesh(batch: int, first_device_only: bool = False) -> Mesh:
  """The devices a step of global batch `batch` trains on: every device of the job, or as
  many as divide the batch (one process); `first_device_only` keeps one-process runs on one
  device (ignored across processes: each holds part of every batch).

  Raises:
    ValueError: across processes, when the batch does not split evenly over the devices.
  """
  if not multi_process():
    return devices.batch_mesh(batch, jax.devices()[:1] if first_device_only else None)
  n = jax.device_count()
  if batch % n:
    raise SplitError(f'a batch of {batch} does not split over the {n} devices of '
                     f'{jax.process_count()} processes; pick a batch size divisible by {n}')
  return Mesh(np.array(jax.devices()), ('batch',))


def shard_of_process(batch: int) -> tuple[int, int]:
  """(this process's index, process count) for pipeline.training_batches, checking that
  `batch` splits evenly over the processes."""
  count = jax.process_count()
  if batch % count:
    raise SplitError(f'a batch of {batch} does not split over {count} processes; pick a '
                     f'batch size divisible by {count}')
  return jax.process_index(), count


def global_batch(local: np.ndarray, mesh_: Mesh, axis: int = 0):
  """This process's share of a batch (split along `axis`) as the job's global array; the
  host array itself in a one-process run."""
  if not multi_process():
    return local
  shape = list(local.shape)
  shape[axis] *= jax.process_count()
  return jax.make_array_from_process_local_data(devices.sharded(mesh_, axis), local,
                                                tuple(shape))


def replicate(tree: Any, mesh_: Mesh) -> Any:
  """A pytree of arrays every process holds the same values of, replicated over the mesh.
  One process: device_put as usual (a no-op for arrays already there)."""
  same = devices.replicated(mesh_)
  if not multi_process():
    return jax.device_put(tree, same)
  return jax.tree.map(lambda x: _replicated(x, same), tree)


def _replicated(x, sharding):
  """A global array of the host value x, every process's copy taken as the same (unlike
  device_put, which compares them across processes first)."""
  if isinstance(x, jax.Array) and x.sharding == sharding:
    return x
  host = np.asarray(jax.device_get(x))
  return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def initial(state: Any, batch: int) -> Any:
  """A fresh training state as the checkpoint restore expects it: replicated over the job's
  mesh across processes (so orbax restores into that sharding); as it is in one process."""
  return replicate(state, mesh(batch)) if multi_process() else state


def host_copy(tree: Any) -> Any:
  """Arrays this process can compute with alone (figures, evaluation, export): host copies
  of replicated global arrays across processes; the tree itself in a one-process run."""
  return jax.device_get(tree) if multi_process() else tree


def jit_step(fn: Callable, mesh_: Mesh, batch_axes: Sequence[int | None]) -> Callable:
  """fn(state, *args) jitted with the state donated; over a mesh of several devices, the
  state, outputs and the arguments whose `batch_axes` entry is None replicated and the others
  split along that axis."""
  if mesh_.size == 1:
    return jax.jit(fn, donate_argnums=0)
  same = devices.replicated(mesh_)
  shardings = tuple(same if a is None else devices.sharded(mesh_, a) for a in batch_axes)
  if multi_process():
    return _AcrossProcesses(fn, same, shardings, batch_axes)
  return jax.jit(fn, in_shardings=(same, *shardings), out_shardings=same, donate_argnums=0)


def _is_key(x) -> bool:
  return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


class _AcrossProcesses:
  """A data-parallel step in a multi-process job. Host values and this process's own arrays
  (weights, scalars, a step's key) become global arrays before the call, so every input of
  the program is already laid out over the job's devices; typed keys travel as their raw
  data and are wrapped again inside the program. The first call compiles, then waits for every process: the first run of a program sets up
  its collectives, which wait at most about 30 s for the peers (gloo on CPUs), and one
  process may compile much faster than another (a warm compilation cache)."""

  def __init__(self, fn, same, shardings, batch_axes):
    self._fn, self._same, self._shardings, self._axes = fn, same, shardings, batch_axes
    self._compiled = None

  def _global(self, a):
    return jax.tree.map(lambda x: _replicated(x, self._same) if _on_host(x) else x, a)

  def __call__(self, state, *args):
    impls = [jax.random.key_impl(a) if _is_key(a) else None for a in args]
    args = [jax.random.key_data(a) if impl else a for a, impl in zip(args, impls)]
    args = [self._global(a) if axis is None else a for a, axis in zip(args, self._axes)]
    if self._compiled is None:
      def inner(state, *raw):
        return self._fn(state, *[jax.random.wrap_key_data(r, impl=impl) if impl else r
                                 for r, impl in zip(raw, impls)])
      step = jax.jit(inner, in_shardings=(self._same, *self._shardings),
                     out_shardings=self._same, donate_argnums=0)
      self._compiled = step.lower(state, *args).compile()
      multihost.barrier('step compiled')
    return self._compiled(state, *args)


def _on_host(x) -> bool:
  """Not yet a global array: a host value, or an array on this process's devices only (a
  step's key, say)."""
  return not (isinstance(x, jax.Array) and not x.is_fully_addressable)
