"""A results folder built in parts: SR-NAM over a dataset split among processes, resumable.

In a multi-process job (nam_jax/multihost.py) each process super-resolves its share of the
inputs and writes every few inputs as one part: a complete results folder of its own
(report.write), renamed into place only when whole. The parts live in --out/.parts/, with
job.json, the settings and input names they belong to (so they sit on --out's file system,
which a cluster's hosts share; previous results in --out stay until the merge). When every input
has a part, the first process merges them into --out (results.json and the page over all
inputs, each input's folder linked or copied in) and, once --out holds them, removes the
parts: a merge that fails midway keeps every finished result for the next run.

An input is complete when a part lists it. A job killed midway leaves its parts; a rerun (with
any process count, one included) finds them and computes only the rest. Parts of a job with
other settings or other inputs (by name or by content) are discarded (said in one line).
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil

import numpy as np

from nam_jax import files
from nam_jax.nam import page, report
from nam_jax.nam.inputs import Inputs

JOB = 'job.json'
# Settings that change how the work is cut or shown, not the results.
_NOT_RESULTS = ('out', 'progress', 'max_batch')


def folder_for(out_dir: str | pathlib.Path) -> pathlib.Path:
  """Where the parts of results bound for --out `out_dir` are kept."""
  return report.resolve_out(out_dir) / report.PARTS


def job_record(settings: dict, names: list[str], lr_images=None) -> dict:
  """What parts must share to belong to one job: the settings that shape results, the inputs
  in order and, given the LR images, a digest of each one's pixels (a fixed input with the
  same name is computed again, not taken from an old part)."""
  record = {'settings': {k: v for k, v in settings.items() if k not in _NOT_RESULTS},
            'inputs': list(names)}
  if lr_images is not None:
    record['content'] = [hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]
                         for x in lr_images]
  return record


def prepare(folder: pathlib.Path, record: dict, say=print) -> None:
  """Makes `folder` hold the parts of the job `record` describes: kept when it holds this
  job's parts, emptied when another job's (first process only)."""
  record = json.loads(json.dumps(files.finite_or_none(record)))  # As it reads back.
  path = folder / JOB
  if folder.exists() and not report.is_parts_folder(folder):
    raise report.OutputError(f'{folder} is not a parts folder of nam_jax (no {JOB}): it is '
                             'left as it is; move it or pick another --out')
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
  """Input name -> the part holding its results, over every whole part in `folder`; an input
  a part lists but whose folder is gone from it (moved or deleted by hand) is not done."""
  done = {}
  for part in sorted(folder.glob('part-*')):
    try:
      summary = json.loads((part / 'results.json').read_text())
    except (OSError, ValueError):
      continue  # Not a whole part (parts are renamed into place complete; be safe anyway).
    for entry in summary['inputs']:
      if (part / entry['name']).is_dir():
        done[entry['name']] = part
  return done


def _link_or_copy(src: str, dst: str) -> None:
  """A hard link where the file system allows one (no second copy of the images), else a copy."""
  try:
    os.link(src, dst)
  except OSError:
    shutil.copy2(src, dst)


def write_part(folder: pathlib.Path, tag: str, inputs: Inputs, result: dict,
               settings: dict) -> pathlib.Path:
  """Writes the results of `inputs` as the part `part-TAG`, renamed into place when whole."""
  tmp = folder / f'.writing-{tag}-{os.getpid()}'
  shutil.rmtree(tmp, ignore_errors=True)
  tmp.mkdir()
  try:
    report.write(tmp, inputs, result, settings)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)  # Never a half-written part.
    raise
  final, k = folder / f'part-{tag}', 1
  while final.exists():  # A part of an earlier run that lost an input: keep it, add this.
    k += 1
    final = folder / f'part-{tag}-{k}'
  os.replace(tmp, final)
  return final


def merge(folder: pathlib.Path, staging: pathlib.Path, names: list[str], settings: dict,
          skipped: list[str]) -> dict | None:
  """Links (or copies) every input's folder from its part into `staging` and writes there
  results.json and the page over all inputs, in input order; returns the summary, or None
  when every candidate of every input diverged. The parts are left whole: a merge that fails
  or is killed midway loses nothing, and the next run merges again.

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
    shutil.copytree(report.inside(done[name], name), report.inside(staging, name),
                    copy_function=_link_or_copy)
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
