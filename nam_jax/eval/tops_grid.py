"""Side-by-side grid of the top candidates of several evaluation runs on the same set, from
their raw files (evaluate.py writes OUT/raw/eval_SET.npz with each method's candidates in
rank order): one row per face, the LR input and the truth, then each run's first --top
candidates.

  python -m nam_jax.eval.tops_grid --raw=runs/a/raw/eval_real_phone.npz,runs/b/raw/... \
      --labels=mixed,share25 --top=4 --faces=8 --out=docs/figures/share_phone.jpg
"""

from __future__ import annotations

import pathlib

import numpy as np

from nam_jax import images
from nam_jax.eval import runs


def load_tops(path: pathlib.Path, top: int) -> tuple[list[str], np.ndarray, np.ndarray,
                                                     np.ndarray]:
  """(face names, LR inputs [N, s, s, 3], truths [N, 64, 64, 3], the first SR-NAM method's
  first `top` candidates [N, top, 64, 64, 3])."""
  with np.load(path) as z:
    key = runs.sr_nam_key(list(z['methods']))
    return ([str(f) for f in z['faces']], np.asarray(z['lr']), np.asarray(z['hr']),
            np.asarray(z[f'{key}/candidates'][:, :top]))


def build(paths: list[pathlib.Path], labels: list[str], top: int = 4, faces: int = 8
          ) -> np.ndarray:
  """The grid image (uint8). Every file must hold the same faces in the same order."""
  if len(paths) != len(labels):
    raise ValueError(f'{len(paths)} raw files but {len(labels)} labels')
  loaded = [load_tops(p, top) for p in paths]
  names = loaded[0][0]
  for p, (other, *_) in zip(paths, loaded):
    if other != names:
      raise ValueError(f'{p}: its faces differ from {paths[0]}\'s')
  lr, hr = loaded[0][1], loaded[0][2]
  head = [images.label('input'), images.label('truth')]
  for label in labels:
    head += [images.label(label)] + [images.label('') for _ in range(top - 1)]
  rows = [head]
  for i in range(min(faces, len(names))):
    row = [lr[i], hr[i]]
    for _, _, _, cands in loaded:
      row += list(cands[i])
    rows.append(row)
  return images.grid(rows)


def main(argv):
  del argv
  from absl import flags
  f = flags.FLAGS
  paths = [pathlib.Path(p) for p in f.raw.split(',') if p]
  missing = [str(p) for p in paths if not p.is_file()]
  if missing:
    raise SystemExit(f'error: no raw file {missing[0]} (evaluate.py writes OUT/raw/)')
  grid = build(paths, f.labels.split(','), f.top, f.faces)
  out = pathlib.Path(f.out)
  out.parent.mkdir(parents=True, exist_ok=True)
  if out.suffix.lower() in ('.jpg', '.jpeg'):
    from PIL import Image
    Image.fromarray(grid).save(out, quality=90)
  else:
    images.save_png(out, grid)
  print(f'wrote {out}: the first {f.faces} faces x {len(paths)} runs')


if __name__ == '__main__':
  from absl import app, flags
  flags.DEFINE_string('raw', '', 'Comma-separated raw files (OUT/raw/eval_SET.npz), same set.')
  flags.DEFINE_string('labels', '', 'One label per raw file.')
  flags.DEFINE_integer('top', 4, 'Candidates per run and face.')
  flags.DEFINE_integer('faces', 8, 'Faces (rows), the first of the set.')
  flags.DEFINE_string('out', 'tops.png', 'The grid image (.png or .jpg).')
  app.run(main)
