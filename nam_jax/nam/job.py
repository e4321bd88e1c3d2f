"""infer.py's job: load the networks and the inputs, optimise, write the results."""

from __future__ import annotations

import sys

import numpy as np

from nam_jax.nam import candidates, parts, paste, report, space, split_job
from nam_jax.nam import inputs as inputs_lib
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

  A multi-process job, one whose --out has parts left by an interrupted one, or one with
  more inputs than one part holds (max_batch // seeds) runs in parts
  (nam_jax/nam/split_job.py): each part is written as it finishes, and a rerun of a killed
  job computes only the inputs without results.
  """
  from nam_jax import multihost
  try:
    left = parts.folder_for(settings.out)
    in_parts = (multihost.count() > 1 or report.is_parts_folder(left) or
                _more_than_one_part(settings, data_cfg))
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
  except (report.OutputError, space.NoSpaceError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  except OSError as e:
    if not space.is_full(e):
      raise
    print(f'error: --out {settings.out}: no space left on the device while writing the results '
          '(the previous results, if any, are untouched)', file=sys.stderr)
    return 1
  best = np.where(bad, np.inf, result['loss']).min(axis=1)
  print(f'wrote {out / "results.json"}: best LR L1 per input mean '
        f'{np.mean(best[np.isfinite(best)]):.4f}, {result["seconds"]:.1f} s in all, '
        f'{result["seconds"] / len(best):.1f} s per input')
  return 0


def _more_than_one_part(settings: Settings, data_cfg) -> bool:
  """Whether the inputs fill more than one part of a split job (photos, --align and --pick
  never run in parts; an input that cannot be read is reported by the one-part path)."""
  if settings.align or settings.pick:
    return False
  try:
    found = inputs_lib.resolve(settings.input, data_cfg, settings.limit, settings.align,
                                settings.lr_size)
  except Exception:  # Reported with its own message when the job loads it.
    return False
  return len(found.names) > split_job.inputs_per_part(settings)


def _run(settings: Settings, data_cfg, staging):
  """Loads, optimises and writes into `staging`: (exit code, result, diverged mask)."""
  loaded = candidates.load(settings, data_cfg)
  if loaded is None:
    return 2, None, None
  model, inputs = loaded
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
  space.check(settings.out, space.estimate(len(inputs.names), settings.seeds, settings.size))
  print(f'{len(inputs.names)} input(s) x {settings.seeds} seeds, '
        f'{settings.options.steps} steps each')
  result, bad = candidates.search_inputs(model, inputs, settings)
  if bad.all():
    print(candidates.ALL_DIVERGED, file=sys.stderr)
    return 1, None, None
  try:
    report.write(staging, inputs, result, settings.record(), picks)
  except OSError as e:
    if space.is_full(e):
      space.rescue(result, inputs.names)
    raise
  return 0, result, bad
