"""One XLA device per CPU core, and data-parallel sharding of a batch over the devices.

XLA:CPU runs each 32 or 64 px convolution on one thread: on the 2-core machine it takes as
long pinned to one core as with two (benchmarks/bench_convs.py). Split into one
host device per core, a jitted program whose batch axis is sharded over the devices runs
the halves side by side: SR-NAM inference 1.6x faster on 2 cores (docs/benchmarks.md). The
split must happen before JAX creates its CPU backend, so the command-line entry points call
`split_host_cpu` first thing; `NAM_JAX_HOST_DEVICES` overrides the count (1 turns it off).
It changes nothing on GPU/TPU hosts, whose devices are the accelerators.
"""

from __future__ import annotations

import os
import sys

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

ENV = 'NAM_JAX_HOST_DEVICES'
_FLAG = '--xla_force_host_platform_device_count'


def usable_cores() -> int:
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # Not Linux.
    return os.cpu_count() or 1


def split_host_cpu(count: int | None = None) -> int:
  """Asks XLA for `count` CPU devices (default: $NAM_JAX_HOST_DEVICES, else one per usable
  core). Returns the count requested; a count already in XLA_FLAGS is kept as it is.

  Call before any JAX computation: XLA reads the flag when it creates the CPU backend.
  """
  flags = os.environ.get('XLA_FLAGS', '')
  if _FLAG in flags:
    return int(flags.split(_FLAG + '=')[1].split()[0])
  if count is None:
    text = os.environ.get(ENV, '')
    try:
      count = int(text) if text else usable_cores()
    except ValueError:
      raise ValueError(f'{ENV} must be a whole number of devices, got {text!r}') from None
  count = max(1, count)
  if count > 1:
    os.environ['XLA_FLAGS'] = f'{flags} {_FLAG}={count}'.strip()
  return count


def split_host_cpu_or_exit() -> int:
  """split_host_cpu for the command-line entry points: a bad $NAM_JAX_HOST_DEVICES ends the
  program with a one-line error."""
  try:
    return split_host_cpu()
  except ValueError as e:
    print(f'error: {e}', file=sys.stderr)  # As infer.py and train.py report bad settings.
    sys.exit(2)


def batch_mesh(batch: int, devices=None) -> Mesh:
  """A 1-D mesh ('batch',) over as many of `devices` (default: all) as divide `batch`."""
  devices = list(devices or jax.devices())
  n = len(devices)
  while batch % n:
    n -= 1
  return Mesh(np.array(devices[:n]), ('batch',))


def sharded(mesh: Mesh, axis: int = 0) -> NamedSharding:
  """Arrays split along `axis` over the mesh."""
  return NamedSharding(mesh, PartitionSpec(*([None] * axis), 'batch'))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())
