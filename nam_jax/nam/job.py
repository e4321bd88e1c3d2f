"""infer.py's job: load the networks and the inputs, optimise, write the results."""

from __future__ import annotations

import sys

import numpy as np

from nam_jax.nam import candidates, chunks, paste, render, report
from nam_jax.nam.settings import Settings


def super_resolve_job(settings: Settings, data_cfg) -> int:
  """Runs one inference job; returns the process exit code. Errors are one line on stderr.

  Everything that can be checked is checked before the compute: the networks, the inputs and
  --out (nam_jax/nam/report.py: results go to a staging folder that replaces the previous
  results only when complete). Exit codes: 0 done, 2 bad input or setting, 1 every candidate
  diverged (nothing written).

  Args:
    settings: the job (nam_jax.nam.settings.from_config).
    data_cfg: `config.data`, for dataset inputs such as synthetic:test.

  A multi-process job, or one whose --out has parts left by an interrupted one, runs in parts
  (nam_jax/nam/split_job.py).
  """
  from nam_jax import multihost
  from nam_jax.nam import parts, split_job
  try:
    left = parts.folder_for(settings.out)
    in_parts = multihost.count() > 1 or report.is_parts_folder(left)
  except report.OutputError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  if in_parts:
    return split_job.run(settings, data_cfg)
  try:
    with report.staged(settings.out) as staging:
      code, result, bad = _run(settings, data_cfg, staging)
      if code:
        return code
      out = report.commit(staging, settings.out)
  except report.OutputError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  best = np.where(bad, np.inf, result['loss']).min(axis=1)
  print(f'wrote {out / "results.json"}: best LR L1 per input mean '
        f'{np.mean(best[np.isfinite(best)]):.4f}, {result["seconds"]:.1f} s in all, '
        f'{result["seconds"] / len(best):.1f} s per input')
  return 0


def _run(settings: Settings, data_cfg, staging):
  """Loads, optimises and writes into `staging`: (exit code, result, diverged mask)."""
  loaded = candidates.load(settings, data_cfg)
  if loaded is None:
    return 2, None, None
  model, inputs = loaded
  if settings.size != 64 and not render.can_render(model_prior(model)):
    print(f'note: the {settings.prior} prior renders 64 px only; --size={settings.size} '
          'ignored')
  picks = paste.parse_picks(settings.pick)
  wrong = [f'{n}:{r}' for n, r in picks.items()
           if n not in inputs.names or r >= settings.seeds or not inputs.placements]
  if wrong:
    print(f'error: --pick {", ".join(wrong)}: needs --align, a face input name '
          f'({", ".join(inputs.names[:4])}{", ..." if len(inputs.names) > 4 else ""}) and a '
          f'rank below --seeds={settings.seeds}', file=sys.stderr)
    return 2, None, None
  for msg in inputs.found:
    print(f'found: {msg}')
  for msg in inputs.skipped:
    print(f'skipped: {msg}', file=sys.stderr)
  print(f'{len(inputs.names)} input(s) x {settings.seeds} seeds, '
        f'{settings.options.steps} steps each')
  result, bad = candidates.search_inputs(model, inputs, settings)
  if bad.all():
    print(candidates.ALL_DIVERGED, file=sys.stderr)
    return 1, None, None
  report.write(staging, inputs, result, settings.record(), picks)
  return 0, result, bad


def model_prior(model):
  """The face prior of a loaded job (chunks.Model, or the first of an AutoModel's)."""
  if isinstance(model, chunks.AutoModel):
    model = next(iter(model.models.values()))
  return model.nets.prior
