"""infer.py's work: load the networks and the inputs, optimise, write the results."""

from __future__ import annotations

import pathlib
import sys

import numpy as np

from nam_jax import export
from nam_jax.data import folder
from nam_jax.nam import inputs as inputs_lib
from nam_jax.nam import invert, report
from nam_jax.nam import run as run_lib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def options(nam_cfg, overrides: dict) -> invert.Options:
  """Options from config.nam, with any non-None override (from flags) applied."""
  values = {'steps': nam_cfg.steps, 'lr': nam_cfg.lr, 'b1': nam_cfg.b1, 'b2': nam_cfg.b2,
            'noise': nam_cfg.noise, 'sphere': nam_cfg.sphere, 'mean_pull': nam_cfg.mean_pull,
            'unroll': nam_cfg.unroll}
  values.update({k: v for k, v in overrides.items() if v is not None and k in values})
  values['unroll'] = max(1, min(values['unroll'], values['steps']))
  return invert.Options(**values)


def _path(p: str) -> pathlib.Path:
  path = pathlib.Path(p)
  return path if path.is_absolute() or path.exists() else ROOT / path


def run(config, flag_values) -> int:
  """Returns the process exit code; errors are one line on stderr."""
  f = flag_values
  seeds = f.seeds or config.nam.seeds
  try:
    model = run_lib.load_model(_path(f.progan_ckpt), _path(f.degrade_ckpt))
    opts = options(config.nam, {'steps': f.steps, 'lr': f.lr, 'noise': f.noise,
                                'sphere': f.sphere, 'mean_pull': f.mean_pull})
    inputs = inputs_lib.resolve(f.input, config.data, f.limit)
  except (export.CheckpointError, folder.BadImageError, FileNotFoundError, ValueError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  for msg in inputs.skipped:
    print(f'skipped: {msg}', file=sys.stderr)
  print(f'{len(inputs.names)} input(s) x {seeds} seeds, {opts.steps} steps each')
  result = run_lib.super_resolve(model, inputs.lr, opts, seeds, f.rng_seed,
                                 f.max_batch or config.nam.max_batch)
  settings = {'seeds': seeds, 'rng_seed': f.rng_seed, **vars(opts),
              'progan_ckpt': str(f.progan_ckpt), 'degrade_ckpt': str(f.degrade_ckpt)}
  path = report.write(f.out, inputs, result, settings)
  best = result['loss'].min(axis=1)
  print(f'wrote {path}: best LR L1 per input mean {np.mean(best):.4f}, '
        f'{result["seconds"]:.1f} s in all, {result["seconds"] / len(inputs.names):.1f} s '
        'per input')
  return 0
