"""A results folder built in parts: SR-NAM over a dataset split among processes, resumable.

In a multi-process job (nam_jax/multihost.py) each process super-resolves its share of the
inputs and writes every few inputs as one part: a complete results folder of its own
(report.write), renamed into place only when whole. The parts live in --out/.parts/, with
job.json, the settings and input names they belong to (so they sit on --out's file system,
which a cluster's hosts share; previous results in --out stay until the merge). When every input
has a part, the first process merges them into --out (results.json and the page over all
inputs, each input's folder moved in) and removes the parts.

An input is complete when a part lists it. A job killed midway leaves its parts; a rerun (with
any process count, one included) finds them and computes only the rest. Parts of a job with
other settings or other inputs are discarded (said in one line).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil

from nam_jax import files
from nam_jax.nam import page, report
from nam_jax.nam.inputs import Inputs

JOB = 'job.json'
# Settings that change how the work is cut or shown, not the results.
_NOT_RESULTS = ('out', 'progress', 'max_batch')


def folder_for(out_dir: str | pathlib.Path) -> pathlib.Path:
  """Where the parts of results bound for --out `out_dir` are kept."""
  return report.resolve_out(out_dir) / report.PARTS


def job_record(settings: dict, names: list[str]) -> dict:
  """What parts must share to belong to one job: the settings that shape results, and the
  inputs in order."""
  return {'settings': {k: v for k, v in settings.items() if k not in _NOT_RESULTS},
          'inputs': list(names)}


def prepare(folder: pathlib.Path, record: dict, say=print) -> None:
  """Makes `folder` hold the parts of the job `record` describes: kept when it holds this
  job's parts, emptied when another job's (first process only)."""
  record = json.loads(json.dumps(files.finite_or_none(record)))  # As it reads back.
  path = folder / JOB
  if folder.is_dir():
    try:
      same = json.loads(path.read_text()) == record
    except (OSError, ValueError):
      same = False
    if same:
      return
    say(f'note: {folder} holds parts of a job with other settings or inputs; discarded')
    shutil.rmtree(folder)
  folder.mkdir(parents=True)
  files.write_json(path, record)


def complete(folder: pathlib.Path) -> dict[str, pathlib.Path]:
  """Input name -> the part holding its results, over every whole part in `folder`."""
  done = {}
  for part in sorted(folder.glob('part-*')):
    try:
      summary = json.loads((part / 'results.json').read_text())
    except (OSError, ValueError):
      continue  # Not a whole part (parts are renamed into place complete; be safe anyway).
    for entry in summary['inputs']:
      done[entry['name']] = part
  return done


def write_part(folder: pathlib.Path, tag: str, inputs: Inputs, result: dict,
               settings: dict) -> pathlib.Path:
  """Writes the results of `inputs` as the part `part-TAG`, renamed into place when whole."""
  tmp = folder / f'.writing-{tag}-{os.getpid()}'
  shutil.rmtree(tmp, ignore_errors=True)
  tmp.mkdir()
  report.write(tmp, inputs, result, settings)
  final = folder / f'part-{tag}'
  os.replace(tmp, final)
  return final


def merge(folder: pathlib.Path, staging: pathlib.Path, names: list[str], settings: dict,
          skipped: list[str]) -> dict | None:
  """Moves every input's folder from its part into `staging` and writes there results.json
  and the page over all inputs, in input order; returns the summary, or None (nothing
  moved) when every candidate of every input diverged.

  Raises:
    report.OutputError: an input has no part.
  """
  done = complete(folder)
  missing = [n for n in names if n not in done]
  if missing:
    raise report.OutputError(f'{len(missing)} input(s) have no results in {folder} '
                             f'({", ".join(missing[:3])}{", ..." if len(missing) > 3 else ""})')
  summaries = {part: json.loads((part / 'results.json').read_text())
               for part in set(done.values())}
  by_name = {e['name']: e for s in summaries.values() for e in s['inputs']}
  if all(c['diverged'] for n in names for c in by_name[n]['candidates']):
    return None  # Nothing to show; the parts stay as they are.
  entries = []
  for name in names:
    shutil.move(str(report.inside(done[name], name)), str(report.inside(staging, name)))
    entries.append(by_name[name])
  first = next(iter(summaries.values()))
  summary = {'settings': settings, 'seconds': sum(s['seconds'] for s in summaries.values()),
             'size': first['size'], 'num_inputs': len(names), 'skipped': skipped,
             'faces_found': [], 'composites': [],
             'diverged': sum(c['diverged'] for e in entries for c in e['candidates']),
             'inputs': entries, 'parts': len(summaries)}
  page.write(staging, summary)
  files.write_json(staging / 'results.json', summary)
  return summary
