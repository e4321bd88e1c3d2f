"""infer.py's job: load the networks and the inputs, optimise, write the results."""

from __future__ import annotations

import sys

import numpy as np

from nam_jax import weights
from nam_jax.data import folder
from nam_jax.nam import chunks, report
from nam_jax.nam import inputs as inputs_lib
from nam_jax.nam.settings import Settings


def super_resolve_job(settings: Settings, data_cfg) -> int:
  """Runs one inference job; returns the process exit code. Errors are one line on stderr.

  Args:
    settings: the job (nam_jax.nam.settings.from_config).
    data_cfg: `config.data`, for dataset inputs such as synthetic:test.
  """
  try:
    model = chunks.load_model(settings)
    inputs = inputs_lib.resolve(settings.input, data_cfg, settings.limit)
  except (weights.CheckpointError, folder.BadImageError, FileNotFoundError, ValueError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  for msg in inputs.skipped:
    print(f'skipped: {msg}', file=sys.stderr)
  print(f'{len(inputs.names)} input(s) x {settings.seeds} seeds, '
        f'{settings.options.steps} steps each')
  result = chunks.super_resolve(model, inputs.lr_images, settings)
  path = report.write(settings.out, inputs, result, settings.record())
  best = result['loss'].min(axis=1)
  print(f'wrote {path}: best LR L1 per input mean {np.mean(best):.4f}, '
        f'{result["seconds"]:.1f} s in all, {result["seconds"] / len(inputs.names):.1f} s '
        'per input')
  return 0
