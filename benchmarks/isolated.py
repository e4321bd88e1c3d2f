"""Benchmark rows measured each in its own subprocess (so the XLA device count, thread
pinning and peak memory are the row's own): the child prints one `ROW <json>` line. Also the
hardware figure rows are compared to: this process's f32 matmul rate.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time

from nam_jax import devices

_PREFIX = 'ROW '


def emit(row) -> None:
  """The child's result (anything JSON can hold)."""
  print(_PREFIX + json.dumps(row), flush=True)


def spawn(cmd: list[str], what: str, host_devices: int | None = None, xla_flags: str = '',
          cwd: str | pathlib.Path | None = None, ynnpack: bool = False):
  """Runs cmd and returns the row it emitted; exits with its error output if it failed.

  The child's XLA_FLAGS are `xla_flags` only (not the caller's) and $NAM_JAX_HOST_DEVICES is
  `host_devices` (default: one per usable core) and $NAM_JAX_YNNPACK is 1 if `ynnpack` (XLA's
  default YNNPACK convolutions, as nam_jax ran before turning them off), read when the child
  calls nam_jax.devices.configure_host_cpu().
  """
  env = dict(os.environ, XLA_FLAGS=xla_flags)
  env[devices.ENV] = str(host_devices or devices.usable_cores())
  env[devices.YNNPACK_ENV] = '1' if ynnpack else '0'
  out = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
  rows = [l[len(_PREFIX):] for l in out.stdout.splitlines() if l.startswith(_PREFIX)]
  if out.returncode or not rows:
    raise SystemExit(f'error: {what} failed:\n{out.stderr[-2000:]}')
  return json.loads(rows[0])


def matmul_gflops(n: int = 4096, repeats: int = 3) -> float:
  """GFLOP/s of an n x n f32 matmul in this process (best of `repeats` after a warm-up)."""
  import jax
  a = jax.random.normal(jax.random.key(0), (n, n))
  f = jax.jit(lambda x: x @ x)
  jax.block_until_ready(f(a))
  best = float('inf')
  for _ in range(repeats):
    t = time.perf_counter()
    jax.block_until_ready(f(a))
    best = min(best, time.perf_counter() - t)
  return 2 * n ** 3 / best / 1e9
