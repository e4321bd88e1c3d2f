"""How nam_jax sets up XLA on a CPU host, and data-parallel sharding of a batch over devices.

Two settings, both fixed when JAX creates its CPU backend, so the command-line entry points
call `configure_host_cpu` first thing:
- Convolutions: XLA:CPU (jax 0.10) hands convolutions to YNNPACK by default, which runs each
  32/64 px one on a single thread and computes kernel gradients 2-16x slower than XLA's own
  multi-threaded (Eigen) convolutions (benchmarks/bench_convs.py). nam_jax turns YNNPACK off
  (`--xla_cpu_experimental_ynn_fusion_type=`), except for SR-NAM with a prior whose config
  block says `ynnpack` (the StyleGAN prior's SR-NAM program is 1.3-1.5x faster with
  YNNPACK). `NAM_JAX_YNNPACK=1` / `0` forces it on / off.
- Devices: one XLA device per core (`--xla_force_host_platform_device_count`), so a program
  whose batch axis is sharded over them runs the halves side by side; SR-NAM shards its
  candidates this way. Training asks for one device (`default=1`): there the split does not
  pay. `NAM_JAX_HOST_DEVICES` overrides the count (1 turns the split off).
Flags already in $XLA_FLAGS are kept as they are. Neither setting changes GPU/TPU hosts,
whose devices are the accelerators.

`enable_compilation_cache` turns on JAX's persistent compilation cache for infer.py and
evaluate.py: a second run in a new process loads the SR-NAM programs instead of compiling
them (docs/benchmarks.md). The cache lives in $NAM_JAX_XLA_CACHE (default
~/.cache/nam_jax/xla; empty turns it off), in a folder per CPU instruction set, so a shared
home directory never hands one machine's code to a CPU without its instructions.
"""

from __future__ import annotations

import os
import sys

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

ENV = 'NAM_JAX_HOST_DEVICES'
CACHE_ENV = 'NAM_JAX_XLA_CACHE'
YNNPACK_ENV = 'NAM_JAX_YNNPACK'
_FLAG = '--xla_force_host_platform_device_count'
_YNN_FLAG = '--xla_cpu_experimental_ynn_fusion_type'
# For programs that run once or a few times, such as parameter initialisation: with LLVM's
# optimisation off XLA:CPU compiles each random draw about 5x faster (a threefry normal of
# one shape: 1.5 s -> 0.3 s on a 2-core AMD EPYC), and initialisation compiles one draw per
# parameter shape. The program is the same; its values may differ in the last bit.
RUN_ONCE = {'xla_backend_optimization_level': 0}   # jax.jit(..., compiler_options=RUN_ONCE)
RUN_ONCE_FLAGS = tuple(f'--{k}={v}' for k, v in RUN_ONCE.items())  # The same for a process.


def usable_cores() -> int:
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # Not Linux.
    return os.cpu_count() or 1


def configure_host_cpu(count: int | None = None, default: int | None = None,
                       ynnpack: bool = False) -> int:
  """Sets $XLA_FLAGS for nam_jax's CPU set-up (see the module docstring) and returns the CPU
  device count asked for. Flags already in $XLA_FLAGS win.

  Args:
    count: CPU devices, whatever $NAM_JAX_HOST_DEVICES says.
    default: CPU devices when $NAM_JAX_HOST_DEVICES is unset (None: one per usable core).
    ynnpack: keep XLA's default YNNPACK convolutions ($NAM_JAX_YNNPACK, 0 or 1, wins).

  Call before any JAX computation: XLA reads the flags when it creates the CPU backend.
  """
  flags = os.environ.get('XLA_FLAGS', '')
  keep_ynn = os.environ.get(YNNPACK_ENV, '1' if ynnpack else '0')
  if keep_ynn not in ('0', '1'):
    raise ValueError(f'{YNNPACK_ENV} must be 0 or 1, got {keep_ynn!r}')
  if keep_ynn == '0' and _YNN_FLAG not in flags:
    flags = f'{flags} {_YNN_FLAG}='.strip()
  if _FLAG in flags:
    rest = flags.split(_FLAG, 1)[1]
    value = rest.split()[0] if rest[:1] == '=' else ''
    if not value.startswith('=') or not value[1:].isdigit() or int(value[1:]) < 1:
      raise ValueError(f'XLA_FLAGS: {_FLAG} needs =N, a whole number of devices >= 1; got '
                       f'{_FLAG + value!r}')
    count = int(value[1:])
  else:
    if count is None:
      text = os.environ.get(ENV, '')
      try:
        count = int(text) if text else (default or usable_cores())
      except ValueError:
        raise ValueError(f'{ENV} must be a whole number of devices, got {text!r}') from None
    count = max(1, count)
    if count > 1:
      flags = f'{flags} {_FLAG}={count}'.strip()
  if flags:
    os.environ['XLA_FLAGS'] = flags
  return count


def cpu_fingerprint() -> str:
  """A short hash of this CPU's model and instruction-set flags ('' when unknown)."""
  import hashlib
  try:
    with open('/proc/cpuinfo') as f:
      lines = [l for l in f if l.startswith(('flags', 'model name', 'Features'))]
  except OSError:
    import platform
    lines = [platform.machine(), platform.processor()]
  return hashlib.sha256(''.join(sorted(set(lines))).encode()).hexdigest()[:12]


def enable_compilation_cache(path: str | None = None) -> str:
  """Turns on JAX's persistent compilation cache in `path` (default: $NAM_JAX_XLA_CACHE or
  ~/.cache/nam_jax/xla, plus a folder per CPU fingerprint); returns the folder used, or ''
  when the variable is set empty (off)."""
  if path is None:
    root = os.environ.get(CACHE_ENV)
    if root == '':
      return ''
    root = root or os.path.join(os.path.expanduser('~'), '.cache', 'nam_jax', 'xla')
    path = os.path.join(root, cpu_fingerprint() or 'cpu')
  jax.config.update('jax_compilation_cache_dir', path)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 1.0)
  _replace_bad_entries()
  return path


def _replace_bad_entries() -> None:
  """A cache entry JAX cannot read (a truncated file, another jaxlib's) is removed when the
  read fails: JAX warns once, compiles, and its write then succeeds (JAX never overwrites an
  entry, so a bad one would otherwise warn and recompile on every run). Wraps JAX's own
  reader (jax._src.compilation_cache, pinned jax); a no-op if that reader is not there."""
  try:
    from jax._src import compilation_cache as cache_lib
  except ImportError:
    return
  read = getattr(cache_lib, 'get_executable_and_time', None)
  if read is None or getattr(read, 'removes_bad_entries', False):
    return

  def read_or_remove(cache_key, *args, **kwargs):
    try:
      return read(cache_key, *args, **kwargs)
    except Exception:
      folder = jax.config.jax_compilation_cache_dir
      for suffix in ('-cache', '-atime'):
        try:
          os.remove(os.path.join(folder, f'{cache_key}{suffix}'))
        except OSError:
          pass
      raise
  read_or_remove.removes_bad_entries = True
  cache_lib.get_executable_and_time = read_or_remove


def configure_host_cpu_or_exit(default: int | None = None, ynnpack: bool = False) -> int:
  """configure_host_cpu for the command-line entry points: a bad setting ends the program
  with a one-line error."""
  try:
    return configure_host_cpu(default=default, ynnpack=ynnpack)
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
