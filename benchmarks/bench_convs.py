"""Where the CPU time goes: each 3x3 convolution of the cpu-size ProGAN generator (batch 16,
as 16 SR-NAM candidates), forward, timed four ways side by side:

  xla          one XLA device (how nam_jax ran before nam_jax.devices)
  xla 1 core   the same pinned to one core with Eigen's thread pool off
  xla split    batch sharded over one XLA device per core (how nam_jax runs now)
  torch        torch.nn.functional.conv2d, NCHW, torch's own threads

If "xla" takes as long as "xla 1 core", XLA:CPU ran that convolution on one thread. Each way
runs in its own subprocess (the device count and thread pinning are fixed at start-up).

  python benchmarks/bench_convs.py --out=docs/bench_convs.json
"""

from __future__ import annotations

import os
import sys
import time

from absl import app, flags

import isolated  # benchmarks/ is this script's folder.

_BATCH = flags.DEFINE_integer('batch', 16, 'Batch (candidates).')
_REPEAT = flags.DEFINE_integer('repeat', 20, 'Timed calls per convolution.')
_OUT = flags.DEFINE_string('out', '', 'Write the table to this JSON file.')
_ONE = flags.DEFINE_string('one', '', 'Internal: time one way.')

# (resolution, in, out) of the cpu config's generator convolutions (widths 128/128/96/64/32).
SHAPES = ((8, 128, 128), (16, 128, 96), (16, 96, 96), (32, 96, 64), (32, 64, 64),
          (64, 64, 32), (64, 32, 32))
WAYS = ('xla', 'xla 1 core', 'xla split', 'torch')


def _time(fn, n: int) -> float:
  fn()
  t = time.perf_counter()
  for _ in range(n):
    fn()
  return (time.perf_counter() - t) / n


def _xla(split: bool) -> list[float]:
  import jax
  import numpy as np

  from nam_jax import devices, layers
  conv = jax.jit(layers.conv_same)
  out = []
  for res, cin, cout in SHAPES:
    x = np.random.RandomState(0).randn(_BATCH.value, res, res, cin).astype('f4')
    w = np.random.RandomState(1).randn(3, 3, cin, cout).astype('f4')
    if split:
      mesh = devices.batch_mesh(_BATCH.value)
      x, w = jax.device_put(x, devices.sharded(mesh)), jax.device_put(w, devices.replicated(mesh))
    else:
      x, w = jax.device_put(x), jax.device_put(w)
    out.append(_time(lambda: conv(x, w).block_until_ready(), _REPEAT.value))
  return out


def _torch() -> list[float]:
  import torch
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  out = []
  for res, cin, cout in SHAPES:
    x, w = torch.randn(_BATCH.value, cin, res, res), torch.randn(cout, cin, 3, 3)
    with torch.no_grad():
      out.append(_time(lambda: torch.nn.functional.conv2d(x, w, padding=1), _REPEAT.value))
  return out


def _one(way: str) -> None:
  if way == 'torch':
    secs = _torch()
  else:
    from nam_jax import devices
    devices.split_host_cpu()  # The count _spawn asked for; before JAX starts.
    secs = _xla(way == 'xla split')
  isolated.emit(secs)


def _spawn(way: str) -> list[float]:
  cmd = [sys.executable, __file__, f'--one={way}', f'--batch={_BATCH.value}',
         f'--repeat={_REPEAT.value}']
  xla_flags = ''
  if way == 'xla 1 core':
    xla_flags = '--xla_cpu_multi_thread_eigen=false'
    cmd = ['taskset', '-c', str(min(os.sched_getaffinity(0)))] + cmd
  return isolated.spawn(cmd, way, host_devices=None if way == 'xla split' else 1,
                    xla_flags=xla_flags)


def main(argv):
  del argv
  if _ONE.value:
    return _one(_ONE.value)
  secs = {way: _spawn(way) for way in WAYS}
  print(f'{len(os.sched_getaffinity(0))} cores; forward 3x3 convolutions, batch {_BATCH.value}; '
        'ms (GFLOP/s)')
  print(f'{"conv":<18}' + ''.join(f'{w:>18}' for w in WAYS))
  table = []
  for i, (res, cin, cout) in enumerate(SHAPES):
    gflop = 2 * _BATCH.value * res * res * 9 * cin * cout / 1e9
    row = {'resolution': res, 'in': cin, 'out': cout, 'gflop': gflop,
           **{w: secs[w][i] for w in WAYS}}
    table.append(row)
    print(f'{f"{res} px {cin}->{cout}":<18}'
          + ''.join(f'{1e3 * secs[w][i]:>10.2f} ({gflop / secs[w][i]:>4.0f})' for w in WAYS))
  totals = {w: sum(secs[w]) for w in WAYS}
  print(f'{"all":<18}' + ''.join(f'{1e3 * totals[w]:>17.2f} ' for w in WAYS))
  if _OUT.value:
    from nam_jax import files
    files.write_json(_OUT.value, {'batch': _BATCH.value, 'cores': len(os.sched_getaffinity(0)),
                                  'rows': table, 'totals_s': totals})


if __name__ == '__main__':
  app.run(main)
