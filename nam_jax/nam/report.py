"""What infer.py writes: per input a grid and every candidate as PNG, and results.json.

The results folder is replaced as a whole. `staged` locks --out for the run, checks it before
any compute and makes a staging folder beside it; `write` fills the staging folder; `commit`
swaps it in for the previous results (which stay untouched until then). A crash or a kill
midway leaves the previous results as they were; the next run removes the stale staging
folder. A symbolic link --out is followed; a mount point --out gets the results moved in.
Every file is written inside the staging folder (`inside`), under the safe names of
nam_jax/nam/names.py.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil

import numpy as np

from nam_jax import files, images
from nam_jax.nam import consistency, disagreement, page, paste
from nam_jax.nam.inputs import Inputs
from nam_jax.training import lock


PARTS = '.parts'  # Results of a job split among processes, before the merge (nam/parts.py).


class OutputError(ValueError):
  """--out cannot hold the results; the message says why."""


def _is_results_folder(path: pathlib.Path) -> bool:
  return (path / 'results.json').is_file()


def resolve_out(out_dir: str | pathlib.Path) -> pathlib.Path:
  """The folder the results go to: --out itself, or the folder a symbolic link --out points
  to (followed, so the link stays as it is)."""
  out_dir = pathlib.Path(out_dir).absolute()
  if out_dir.is_symlink():
    target = out_dir.resolve()
    if not target.exists():
      raise OutputError(f'--out {out_dir} is a symbolic link to {target}, which does not '
                        'exist')
    out_dir = target
  return out_dir


def _in_place(out_dir: pathlib.Path) -> bool:
  """Results must be moved into `out_dir` rather than swapped in by renaming it: it is a mount
  point (a Docker volume, say), which cannot be renamed."""
  return out_dir.is_dir() and os.path.ismount(out_dir)


def prepare(out_dir: str | pathlib.Path) -> pathlib.Path:
  """Checks that `out_dir` can take the results and returns a fresh, empty staging folder.

  `out_dir` may be missing, an empty folder, or a previous results folder (one with
  results.json: replaced as a whole by `commit`). Anything else is refused, so no other files
  are ever overwritten or removed. The staging folder sits beside `out_dir`, or inside it when
  `out_dir` is a mount point.
  """
  out_dir = resolve_out(out_dir)
  if out_dir.exists() and not out_dir.is_dir():
    raise OutputError(f'--out {out_dir} is a file, not a folder')
  if out_dir.is_dir() and any(not (e.name.startswith('.partial-') or
                                   (e.name == PARTS and is_parts_folder(e)))
                              for e in out_dir.iterdir()) and \
      not _is_results_folder(out_dir):
    raise OutputError(f'--out {out_dir} is a folder of other files (no results.json); '
                      'pick a new or empty folder')
  in_place = _in_place(out_dir)
  parent = out_dir if in_place else out_dir.parent
  prefix = '.partial-' if in_place else f'.{out_dir.name}.partial-'
  try:
    parent.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise OutputError(f'--out {out_dir}: cannot create its parent folder ({e.strerror})') from None
  for stale in parent.glob(f'{prefix}*'):
    pid = stale.name.rsplit('-', 1)[-1]
    if not (pid.isdigit() and _alive(int(pid))):
      shutil.rmtree(stale, ignore_errors=True)
  staging = parent / f'{prefix}{os.getpid()}'
  try:
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
  except OSError as e:
    raise OutputError(f'--out {out_dir}: cannot write in {parent} ({e.strerror})') from None
  return staging


def is_parts_folder(path: pathlib.Path) -> bool:
  """Whether `path` is the parts folder of a split job (nam/parts.py: a folder holding its
  job.json), not a file or folder of the user's that happens to be named .parts."""
  return path.is_dir() and not path.is_symlink() and (path / 'job.json').is_file()


@contextlib.contextmanager
def staged(out_dir: str | pathlib.Path):
  """A staging folder for the results of one run (see prepare), removed when the context
  closes, with --out locked for the run: a second run on the same --out stops with
  OutputError. The lock is an flock on .NAME.lock beside --out, released however the run
  ends; the file is removed when the run ends normally."""
  target = resolve_out(out_dir)
  try:
    target.parent.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise OutputError(f'--out {target}: cannot create its parent folder ({e.strerror})') from None

  def busy(holder):
    return OutputError(f'--out {target} is in use by a running job ({holder}); wait for it '
                       'or pick another --out')
  with contextlib.ExitStack() as stack:
    try:  # Only setting --out up can be an --out problem; errors of the job are its own.
      stack.enter_context(lock.held(target.parent / f'.{target.name}.lock', busy,
                                    what=f'--out {target}', remove=True))
      staging = prepare(target)
    except PermissionError as e:
      raise OutputError(f'--out {target}: cannot write in {target.parent} ({e.strerror})'
                        ) from None
    try:
      yield staging
    finally:
      shutil.rmtree(staging, ignore_errors=True)


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def commit(staging: pathlib.Path, out_dir: str | pathlib.Path) -> pathlib.Path:
  """Moves the finished staging folder to `out_dir`, replacing previous results: by renaming,
  or, where `out_dir` cannot be renamed (a mount point), by moving the staged entries into it
  once the previous results are removed."""
  out_dir = resolve_out(out_dir)
  if staging.parent == out_dir:  # In place (prepare staged inside a mount point).
    for entry in out_dir.iterdir():
      if entry != staging:
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for entry in staging.iterdir():
      os.replace(entry, out_dir / entry.name)
    staging.rmdir()
    return out_dir
  old = staging.with_name(staging.name.replace('.partial-', '.old-'))
  if out_dir.exists():
    out_dir.rename(old)
  staging.rename(out_dir)
  shutil.rmtree(old, ignore_errors=True)
  return out_dir


def inside(root: pathlib.Path, *parts: str) -> pathlib.Path:
  """root/parts..., checked to stay inside `root` (no separator, '..' or link escapes)."""
  path = root.joinpath(*parts)
  if root.resolve() not in (path.resolve(), *path.resolve().parents) or any(
      p in ('', '.', '..') or '/' in p or '\\' in p for p in parts):
    raise OutputError(f'refusing to write {path}: outside the results folder {root}')
  return path


def diverged(result: dict) -> np.ndarray:
  """bool [I, S]: candidates whose final loss or images are not finite."""
  bad = ~np.isfinite(result['loss'])
  x = result['hr']
  bad |= ~np.isfinite(x.reshape(x.shape[:2] + (-1,))).all(axis=-1)
  for i, lr in enumerate(result['lr']):  # [S, s, s, 3] per input: sizes may differ.
    bad[i] |= ~np.isfinite(np.reshape(lr, (len(lr), -1))).all(axis=-1)
  return bad


def write(out_dir: str | pathlib.Path, inputs: Inputs, result: dict, settings: dict,
          picks: dict[str, int] | None = None) -> pathlib.Path:
  """Writes DIR/<name>/{grid.png, input_lr.png, cand_RR_seedSS.png, disagreement.png} and
  DIR/results.json; with --align also DIR/<photo>_faces.png, the contact sheet of the faces
  found, and DIR/<photo>/composite.png: the photo upscaled with each face's top candidate (or
  the rank `picks` names for it) pasted back (nam/paste.py).

  disagreement.png: how much the candidates differ per pixel at the output size
  (nam/disagreement.py; black = they agree); its 64 px version ends the grid.
  DIR/index.html: the page of the run (nam/page.py), from the same summary as results.json.

  Candidate PNGs are at the output size (result['hr_large'] when rendered larger, with each
  candidate's render_psnr and render_lr_l1 in results.json); the grid shows the 64 px search.
  With result['groups'] (nam/groups.py: per input, seed indices grouped by person), the grid
  adds one row per group, labelled with its size, and results.json lists the groups.

  Candidates are ranked by result['rank_score'] (nam/rank.py) where given, else by final LR
  L1, best first. The grid's first row is the LR input
  followed by the HR candidates, its second row the input again and each candidate's
  re-degraded LR image (as in SR-NAM Fig. 6-7), its third each candidate's LR residual map
  (nam/consistency.py: black = exact, white = off by half the range); a last row shows the
  true HR face when known. Each candidate gets a pass/warn consistency flag, each input the
  flag of its top candidate. Candidates that fit far worse than their input's best
  (consistency.outliers) are ranked after the others, framed in red on the grid and marked
  "outlier" in results.json and on the page.
  Diverged candidates (non-finite) get no image and are listed with "diverged": true.
  """
  out_dir = pathlib.Path(out_dir)
  picks = picks or {}
  bad = diverged(result)
  large = 'hr_large' in result
  final = result['hr_large' if large else 'hr']
  pasted: dict[str, list] = {}  # photo name -> [(input index, seed, rank)]
  lr_inputs = [images.as_float(x) for x in inputs.lr_images]
  flags = consistency.flags(np.where(bad, np.inf, result['loss']),
                            content=consistency.has_content(lr_inputs))
  residuals = consistency.residual_maps(result['lr'], lr_inputs)
  entries = []
  scores = np.where(bad, np.inf, result.get('rank_score', result['loss']))
  outlier = consistency.outliers(np.where(bad, np.inf, result['loss']))
  for i, name in enumerate(inputs.names):
    order = np.lexsort((scores[i], outlier[i]))  # Outliers after the others, each by score.
    folder = inside(out_dir, name)
    images.save_png(folder / 'input_lr.png', inputs.lr_images[i])
    cands, shown = _write_candidates(out_dir, folder, result, i, order, flags, bad, outlier)
    found = result.get('groups', [[]] * len(inputs.names))[i]
    spread = (disagreement.spread_map(final[i, shown]) if shown
              else np.zeros(final.shape[2:4]))
    images.save_png(folder / 'disagreement.png', disagreement.heat(spread))
    images.save_png(folder / 'grid.png', images.grid(
        _grid_rows(inputs, result, residuals, i, shown, found, spread, outlier[i])))
    rank_of = {int(s): r for r, s in enumerate(order)}
    if inputs.placements and shown:
      rank = min(picks.get(name, 0), len(shown) - 1)
      pasted.setdefault(inputs.placements[i].photo, []).append((i, shown[rank], rank))
    entry = {'name': name, 'source': inputs.sources[i],
             'lr_size': int(np.shape(inputs.lr_images[i])[0]),  # The size it was searched at.
             'input_lr': str((folder / 'input_lr.png').relative_to(out_dir)),
             'grid': str((folder / 'grid.png').relative_to(out_dir)), 'candidates': cands,
             'disagreement': str((folder / 'disagreement.png').relative_to(out_dir)),
             'disagreement_mean': float(spread.mean()),
             'consistency': str(flags[i, order[0]]),
             'groups': [{'size': len(m), 'ranks': [rank_of[s] for s in m],
                         'seeds': [int(s) for s in m]} for m in found]}
    if inputs.placements:  # --align: how large the face is in its photo.
      entry.update(photo_face(inputs.placements[i].quad, final.shape[2]))
    if 'tone' in result:  # What the input says about skin tone (nam/tone.py).
      entry['tone'] = result['tone'][i]
    if 'degradation' in result:  # --degradation=auto: what it chose, and why.
      entry['degradation'] = str(result['degradation'][i])
      entry['camera_probability'] = float(result['camera_probability'][i])
    entries.append(entry)
  for stem, sheet in inputs.sheets.items():  # --align: what was found in each photo.
    images.save_png(inside(out_dir, f'{stem}_faces.png'), sheet)
  summary = {'settings': settings, 'seconds': result['seconds'],
             'size': int(result['hr_large'].shape[2]) if large else 64,
             'num_inputs': len(inputs.names), 'skipped': inputs.skipped,
             'faces_found': inputs.found,
             'composites': _write_composites(out_dir, inputs, final, pasted),
             'diverged': int(bad.sum()), 'inputs': entries}
  page.write(out_dir, summary)
  return files.write_json(out_dir / 'results.json', summary)


def photo_face(quad: np.ndarray, size: int) -> dict:
  """The results.json fields of a face found in a photo: its alignment square's side in the
  photo's pixels and, when that side is at least the output `size`, a note that the photo's
  own face holds more than any candidate (measured: from 64 px on, searching gains nothing
  over the face itself; docs/results.md, "Faces at their own size")."""
  from nam_jax.data import align
  side = align.square_side(quad)
  out = {'photo_side': round(side, 1)}
  if side >= size:
    out['photo_note'] = (f'this face is {side:.0f} px in the photo, more than the {size} px '
                         'output: the photo\'s own face holds more than any candidate')
  return out


def _write_candidates(out_dir: pathlib.Path, folder: pathlib.Path, result: dict, i: int,
                      order: np.ndarray, flags: np.ndarray, bad: np.ndarray,
                      outlier: np.ndarray) -> tuple[list[dict], list[int]]:
  """Input i's candidates as PNGs in rank order (at the output size) and their results.json
  entries; returns (entries, seeds shown: those that did not diverge, best first)."""
  large = 'hr_large' in result
  final = result['hr_large' if large else 'hr']
  cands, shown = [], []
  for rank, s in enumerate(order):
    entry = {'rank': rank, 'seed': int(s), 'diverged': bool(bad[i, s]), 'hr_path': None,
             'lr_l1': float(result['loss'][i, s]), 'consistency': str(flags[i, s]),
             'outlier': bool(outlier[i, s]),
             'lr_l1_first_step': float(result['history'][i, s, 0])}
    if 'steps_run' in result:  # Fewer than the steps when stopped early.
      entry['steps_run'] = int(result['steps_run'][i, s])
    if large:  # The render at the output size and how closely it matches the search.
      entry['render_psnr'] = float(result['render_psnr'][i, s])
      entry['render_lr_l1'] = float(result['render_lr_l1'][i, s])
    if not bad[i, s]:
      path = folder / f'cand_{rank:02d}_seed{int(s):02d}.png'
      images.save_png(path, final[i, s])
      entry['hr_path'] = str(path.relative_to(out_dir))
      shown.append(s)
    cands.append(entry)
  return cands, shown


def _grid_rows(inputs: Inputs, result: dict, residuals: np.ndarray, i: int, shown: list,
               found: list, spread: np.ndarray, outlier: np.ndarray
               ) -> list[list[np.ndarray]]:
  """The rows of input i's grid.png: candidates (outliers framed in red), their LR images,
  residuals, one row per group, the 64 px disagreement map and the true face when known."""
  mark = lambda s, im: images.framed(im) if outlier[s] else im
  rows = [[inputs.lr_images[i]] + [mark(s, result['hr'][i, s]) for s in shown],
          [inputs.lr_images[i]] + [result['lr'][i][s] for s in shown],
          [images.label('residual')] + [consistency.heat(residuals[i][s]) for s in shown]]
  for g, members in enumerate(found):  # One row per person: label, then its candidates.
    rows.append([images.label(f'group {g + 1}\n{len(members)} of\n{len(shown)}\ncandidates')]
                + [result['hr'][i, s] for s in members])
  if shown:  # The grid's 64 px map: the same one unless the candidates were rendered larger.
    small = disagreement.spread_map(result['hr'][i, shown]) if 'hr_large' in result else spread
    rows.append([images.label('candidates\ndisagree'), disagreement.heat(small)])
  if inputs.hr_truth is not None:
    rows.append([inputs.hr_truth[i]])
  return rows


def _write_composites(out_dir: pathlib.Path, inputs: Inputs, final: np.ndarray,
                      pasted: dict[str, list]) -> list[dict]:
  """--align: each photo upscaled with its faces' chosen candidates pasted back
  (nam/paste.py), written as PHOTO/composite.png; their results.json records."""
  composites = []
  for photo, chosen in pasted.items():
    faces = [(images.as_uint8(final[i, s]), inputs.placements[i].quad) for i, s, _ in chosen]
    image, scale = paste.composite(inputs.photos[photo], faces, final.shape[2])
    path = inside(out_dir, photo, 'composite.png')
    images.save_png(path, image)
    before = inside(out_dir, photo, 'before.png')  # The photo enlarged alike, no face pasted.
    images.save_png(before, paste.upscale_photo(inputs.photos[photo], scale))
    composites.append({'photo': photo, 'path': str(path.relative_to(out_dir)),
                       'before': str(before.relative_to(out_dir)),
                       'scale': scale, 'faces': [{'name': inputs.names[i], 'rank': r}
                                                 for i, _, r in chosen]})
  return composites
