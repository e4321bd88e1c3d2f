"""Where the CPU time goes: each 3x3 convolution of the cpu-size ProGAN networks (batch 16, as
16 SR-NAM candidates or a 64 px training batch), its forward pass, input gradient and kernel
gradient, timed side by side:

  ynnpack          XLA's default (jax 0.10): convolutions handed to YNNPACK, one XLA device
  ynnpack 1 core   the same pinned to one core with Eigen's thread pool off
  ynnpack split    YNNPACK, the batch sharded over one XLA device per core
  xla              YNNPACK off (nam_jax.devices' default): XLA's own Eigen convolutions
  xla split        XLA's own convolutions, batch sharded over one device per core
  torch            torch.nn.functional.conv2d / torch.nn.grad, NCHW, torch's own threads

If "ynnpack" takes as long as "ynnpack 1 core", YNNPACK ran that convolution on one thread.
Each way runs in its own subprocess (the XLA set-up and thread pinning are fixed at start-up).

  python benchmarks/bench_convs.py --out=docs/bench_convs.json
"""

from __future__ import annotations

import os
import sys
import time

from absl import app, flags

from benchmarks import isolated

_BATCH = flags.DEFINE_integer('batch', 16, 'Batch (candidates).')
_REPEAT = flags.DEFINE_integer('repeat', 10, 'Timed calls per convolution.')
_OUT = flags.DEFINE_string('out', '', 'Write the table to this JSON file.')
_ONE = flags.DEFINE_string('one', '', 'Internal: time one way.')

# (resolution, in, out) of the cpu config's generator and critic convolutions (widths
# 128/128/96/64/32).
SHAPES = ((8, 128, 128), (16, 128, 96), (16, 96, 96), (32, 96, 64), (32, 64, 64),
          (64, 64, 32), (64, 32, 32), (64, 32, 64))
OPS = ('forward', 'input grad', 'kernel grad')
WAYS = ('ynnpack', 'ynnpack 1 core', 'ynnpack split', 'xla', 'xla split', 'torch')


def _time(fn, n: int) -> float:
  fn()
  t = time.perf_counter()
  for _ in range(n):
    fn()
  return (time.perf_counter() - t) / n


def _xla(split: bool) -> list[list[float]]:
  import jax
  import numpy as np
  from jax import lax

  from nam_jax import devices
  conv = lambda x, w: lax.conv_general_dilated(x, w, (1, 1), 'SAME',
                                               dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  ops = (conv,
         lambda x, w, g: jax.vjp(lambda a: conv(a, w), x)[1](g)[0],
         lambda x, w, g: jax.vjp(lambda k: conv(x, k), w)[1](g)[0])
  mesh = devices.batch_mesh(_BATCH.value, None if split else jax.devices()[:1])
  out = []
  for res, cin, cout in SHAPES:
    rs = np.random.RandomState(0)
    x = jax.device_put(rs.randn(_BATCH.value, res, res, cin).astype('f4'), devices.sharded(mesh))
    g = jax.device_put(rs.randn(_BATCH.value, res, res, cout).astype('f4'), devices.sharded(mesh))
    w = jax.device_put(rs.randn(3, 3, cin, cout).astype('f4'), devices.replicated(mesh))
    times = []
    for i, op in enumerate(ops):
      fn = jax.jit(op) if i == 0 else jax.jit(op, out_shardings=(
          devices.sharded(mesh) if i == 1 else devices.replicated(mesh)))
      args = (x, w) if i == 0 else (x, w, g)
      times.append(_time(lambda: fn(*args).block_until_ready(), _REPEAT.value))
    out.append(times)
  return out


def _torch() -> list[list[float]]:
  import torch
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  out = []
  for res, cin, cout in SHAPES:
    x, w = torch.randn(_BATCH.value, cin, res, res), torch.randn(cout, cin, 3, 3)
    g = torch.randn(_BATCH.value, cout, res, res)
    ops = (lambda: torch.nn.functional.conv2d(x, w, padding=1),
           lambda: torch.nn.grad.conv2d_input(x.shape, w, g, padding=1),
           lambda: torch.nn.grad.conv2d_weight(x, w.shape, g, padding=1))
    with torch.no_grad():
      out.append([_time(op, _REPEAT.value) for op in ops])
  return out


def _one(way: str) -> None:
  if way == 'torch':
    secs = _torch()
  else:
    from nam_jax import devices
    devices.configure_host_cpu()  # The set-up _spawn asked for; before JAX starts.
    secs = _xla(way.endswith('split'))
  isolated.emit(secs)


def _spawn(way: str) -> list[list[float]]:
  cmd = [sys.executable, __file__, f'--one={way}', f'--batch={_BATCH.value}',
         f'--repeat={_REPEAT.value}']
  xla_flags = ''
  if way.endswith('1 core'):
    xla_flags = '--xla_cpu_multi_thread_eigen=false'
    cmd = ['taskset', '-c', str(min(os.sched_getaffinity(0)))] + cmd
  return isolated.spawn(cmd, way, host_devices=None if way.endswith('split') else 1,
                        xla_flags=xla_flags, ynnpack=way.startswith('ynnpack'))


def main(argv):
  del argv
  if _ONE.value:
    return _one(_ONE.value)
  secs = {way: _spawn(way) for way in WAYS}
  print(f'{len(os.sched_getaffinity(0))} cores; 3x3 convolutions, batch {_BATCH.value}; '
        'ms (GFLOP/s)')
  table, totals = [], {}
  for k, op in enumerate(OPS):
    print(f'\n{op:<18}' + ''.join(f'{w:>18}' for w in WAYS))
    for i, (res, cin, cout) in enumerate(SHAPES):
      gflop = 2 * _BATCH.value * res * res * 9 * cin * cout / 1e9
      table.append({'op': op, 'resolution': res, 'in': cin, 'out': cout, 'gflop': gflop,
                    **{w: secs[w][i][k] for w in WAYS}})
      print(f'{f"{res} px {cin}->{cout}":<18}' + ''.join(
          f'{1e3 * secs[w][i][k]:>10.2f} ({gflop / secs[w][i][k]:>4.0f})' for w in WAYS))
    totals[op] = {w: sum(secs[w][i][k] for i in range(len(SHAPES))) for w in WAYS}
    print(f'{"all":<18}' + ''.join(f'{1e3 * totals[op][w]:>17.2f} ' for w in WAYS))
  if _OUT.value:
    from nam_jax import files
    files.write_json(_OUT.value, {'batch': _BATCH.value, 'cores': len(os.sched_getaffinity(0)),
                                  'rows': table, 'totals_s': totals})


if __name__ == '__main__':
  app.run(main)
