"""What infer.py writes: per input a grid and every candidate as PNG, and results.json.

The results folder is replaced as a whole. `prepare` checks --out before any compute and
makes a staging folder beside it; `write` fills the staging folder; `commit` swaps it in for
the previous results (which stay untouched until then). A crash or a kill midway leaves the
previous results as they were; the next run removes the stale staging folder.
"""

from __future__ import annotations

import os
import pathlib
import shutil

import numpy as np

from nam_jax import files, images
from nam_jax.nam.inputs import Inputs


class OutputError(ValueError):
  """--out cannot hold the results; the message says why."""


def _is_results_folder(path: pathlib.Path) -> bool:
  return (path / 'results.json').is_file()


def prepare(out_dir: str | pathlib.Path) -> pathlib.Path:
  """Checks that `out_dir` can take the results and returns a fresh, empty staging folder.

  `out_dir` may be missing, an empty folder, or a previous results folder (one with
  results.json: replaced as a whole by `commit`). Anything else is refused, so no other files
  are ever overwritten or removed.
  """
  out_dir = pathlib.Path(out_dir).absolute()
  if out_dir.exists() and not out_dir.is_dir():
    raise OutputError(f'--out {out_dir} is a file, not a folder')
  if out_dir.is_dir() and any(out_dir.iterdir()) and not _is_results_folder(out_dir):
    raise OutputError(f'--out {out_dir} is a folder of other files (no results.json); '
                      'pick a new or empty folder')
  parent = out_dir.parent
  try:
    parent.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise OutputError(f'--out {out_dir}: cannot create its parent folder ({e.strerror})') from None
  for stale in parent.glob(f'.{out_dir.name}.partial-*'):
    pid = stale.name.rsplit('-', 1)[-1]
    if not (pid.isdigit() and _alive(int(pid))):
      shutil.rmtree(stale, ignore_errors=True)
  staging = parent / f'.{out_dir.name}.partial-{os.getpid()}'
  try:
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
  except OSError as e:
    raise OutputError(f'--out {out_dir}: cannot write in {parent} ({e.strerror})') from None
  return staging


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def commit(staging: pathlib.Path, out_dir: str | pathlib.Path) -> pathlib.Path:
  """Moves the finished staging folder to `out_dir`, replacing previous results."""
  out_dir = pathlib.Path(out_dir).absolute()
  old = staging.with_name(staging.name.replace('.partial-', '.old-'))
  if out_dir.exists():
    out_dir.rename(old)
  staging.rename(out_dir)
  shutil.rmtree(old, ignore_errors=True)
  return out_dir


def diverged(result: dict) -> np.ndarray:
  """bool [I, S]: candidates whose final loss or images are not finite."""
  bad = ~np.isfinite(result['loss'])
  for key in ('hr', 'lr'):
    x = result[key]
    bad |= ~np.isfinite(x.reshape(x.shape[:2] + (-1,))).all(axis=-1)
  return bad


def write(out_dir: str | pathlib.Path, inputs: Inputs, result: dict, settings: dict
          ) -> pathlib.Path:
  """Writes DIR/<name>/{grid.png, input_lr.png, cand_RR_seedSS.png} and DIR/results.json
  (with --align also DIR/<photo>_faces.png, the contact sheet of the faces found).

  Candidates are ranked by final LR L1, best first. The grid's first row is the LR input
  followed by the HR candidates, its second row the input again and each candidate's
  re-degraded LR image (as in SR-NAM Fig. 6-7); a third row shows the true HR face when known.
  Diverged candidates (non-finite) get no image and are listed with "diverged": true.
  """
  out_dir = pathlib.Path(out_dir)
  bad = diverged(result)
  entries = []
  for i, name in enumerate(inputs.names):
    loss = np.where(bad[i], np.inf, result['loss'][i])
    order = np.argsort(loss, kind='stable')
    folder = out_dir / name
    images.save_png(folder / 'input_lr.png', inputs.lr_images[i])
    cands, shown = [], []
    for rank, s in enumerate(order):
      entry = {'rank': rank, 'seed': int(s), 'diverged': bool(bad[i, s]), 'hr_path': None,
               'lr_l1': float(result['loss'][i, s]),
               'lr_l1_first_step': float(result['history'][i, s, 0])}
      if not bad[i, s]:
        path = folder / f'cand_{rank:02d}_seed{int(s):02d}.png'
        images.save_png(path, result['hr'][i, s])
        entry['hr_path'] = str(path.relative_to(out_dir))
        shown.append(s)
      cands.append(entry)
    rows = [[inputs.lr_images[i]] + [result['hr'][i, s] for s in shown],
            [inputs.lr_images[i]] + [result['lr'][i, s] for s in shown]]
    if inputs.hr_truth is not None:
      rows.append([inputs.hr_truth[i]])
    images.save_png(folder / 'grid.png', images.grid(rows))
    entry = {'name': name, 'source': inputs.sources[i],
             'grid': str((folder / 'grid.png').relative_to(out_dir)), 'candidates': cands}
    if 'degradation' in result:  # --degradation=auto: what it chose, and why.
      entry['degradation'] = str(result['degradation'][i])
      entry['camera_probability'] = float(result['camera_probability'][i])
    entries.append(entry)
  for stem, sheet in inputs.sheets.items():  # --align: what was found in each photo.
    images.save_png(out_dir / f'{stem}_faces.png', sheet)
  summary = {'settings': settings, 'seconds': result['seconds'],
             'num_inputs': len(inputs.names), 'skipped': inputs.skipped,
             'faces_found': inputs.found,
             'diverged': int(bad.sum()), 'inputs': entries}
  return files.write_json(out_dir / 'results.json', summary)
