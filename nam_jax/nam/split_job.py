"""infer.py's job split among processes, written a part at a time, or resumed from the parts
of a killed one.

Used when the job is multi-process (nam_jax/multihost.py), when --out has parts left by an
interrupted one (nam_jax/nam/parts.py), or when one process has more inputs than one part
holds (so a long run keeps each part as it finishes). Every process loads the networks and lists the inputs;
the inputs without a part are divided among the processes (contiguous shares); each process
searches its share a few inputs at a time on its own devices and writes each as a part; when
all are written the first process merges them into --out. Candidates do not depend on which
process or batch an input lands in (their keys depend on the seed index only).
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import sys

import jax
import numpy as np

from nam_jax import multihost
from nam_jax.nam import candidates, parts, report, space
from nam_jax.nam import inputs as inputs_lib
from nam_jax.nam.settings import Settings


def _load(settings: Settings, data_cfg):
  """(model, inputs), or None after a one-line error."""
  if settings.align or settings.pick:
    if multihost.count() > 1:
      print('error: --align and --pick run in one process; a job split among processes '
            'takes faces, folders of faces or dataset splits', file=sys.stderr)
    else:
      print(f'error: --out holds the parts of an interrupted job ({parts.folder_for(settings.out)}'
            '), which --align and --pick cannot resume: rerun that job, or remove that folder '
            'or pick another --out', file=sys.stderr)
    return None
  return candidates.load(settings, data_cfg)


def inputs_per_part(settings: Settings) -> int:
  """Inputs searched and written together as one part: as many as fill one chunk."""
  return max(1, settings.max_batch // settings.seeds)


def run(settings: Settings, data_cfg) -> int:
  """The job; returns the process exit code (0 done, 2 bad input or setting, 1 every
  candidate diverged). The first process holds --out's lock and stages the merged results."""
  primary = multihost.is_primary()
  if not primary:  # One progress bar on the terminal: the first process's.
    settings = dataclasses.replace(
        settings, options=dataclasses.replace(settings.options, progress=False))
  say = print if primary else (lambda *a, **k: None)
  with contextlib.ExitStack() as stack:
    loaded = _load(settings, data_cfg)
    staging = None
    if primary and loaded is not None:
      try:
        staging = stack.enter_context(report.staged(settings.out))
      except report.OutputError as e:
        print(f'error: {e}', file=sys.stderr)
        loaded = None
    if not multihost.all_ok(loaded is not None):
      if loaded is not None:
        print(f'error: process {multihost.index()}: another process of the job stopped '
              '(see its error)', file=sys.stderr)
      return 2
    model, inputs = loaded
    record = settings.record()
    where = parts.folder_for(settings.out)
    ready = True
    if primary:
      for msg in inputs.skipped:
        print(f'skipped: {msg}', file=sys.stderr)
      try:
        space.check(settings.out, space.estimate(len(inputs.names), settings.seeds,
                                                 settings.size, copies=2))
        parts.prepare(where, parts.job_record(record, inputs.names, inputs.lr_images), say)
      except (report.OutputError, space.NoSpaceError) as e:
        print(f'error: {e}', file=sys.stderr)
        ready = False
    if not multihost.all_ok(ready):
      return 2
    multihost.barrier('nam_jax_parts_ready')
    done = parts.complete(where)
    multihost.barrier('nam_jax_parts_listed')  # Nobody writes before everyone has listed.
    todo = [i for i, n in enumerate(inputs.names) if n not in done]
    mine = [todo[k] for k in multihost.share(len(todo))]
    say(f'{len(inputs.names)} input(s) x {settings.seeds} seeds, {settings.options.steps} '
        f'steps each: {len(inputs.names) - len(todo)} done before, {len(todo)} to do over '
        f'{multihost.count()} process(es)')
    per_part = inputs_per_part(settings)
    for start in range(0, len(mine), per_part):
      sel = mine[start:start + per_part]
      part = inputs_lib.subset(inputs, sel)
      result, _ = candidates.search_inputs(model, part, settings, jax.local_devices())
      try:
        parts.write_part(where, f'{sel[0]:06d}-p{multihost.index()}', part, result, record)
      except OSError as e:
        if not space.is_full(e):
          raise
        kept = len(parts.complete(where))
        print(f'error: no space left on the device writing {where}: the {kept} input(s) '
              'already written are kept there; free some space and run the same command to '
              'finish', file=sys.stderr)
        space.rescue(result, part.names)
        return 1
    multihost.barrier('nam_jax_parts_written')
    if not primary:
      multihost.barrier('nam_jax_merged')  # Leave the job together (jax.distributed).
      return 0
    summary = parts.merge(where, staging, inputs.names, record, inputs.skipped)
    if summary is None:
      print(candidates.ALL_DIVERGED, file=sys.stderr)
      multihost.barrier('nam_jax_merged')
      return 1
    out = report.commit(staging, settings.out)
  shutil.rmtree(where, ignore_errors=True)
  multihost.barrier('nam_jax_merged')
  best = [min((c['lr_l1'] for c in e['candidates'] if not c['diverged']), default=np.inf)
          for e in summary['inputs']]
  best = np.array(best)
  print(f'wrote {out / "results.json"}: best LR L1 per input mean '
        f'{np.mean(best[np.isfinite(best)]):.4f}, {summary["seconds"]:.1f} s of search in '
        f'{summary["parts"]} part(s)')
  return 0
