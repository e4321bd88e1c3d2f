"""Sample grids of a config's datasets, for people to look at (docs/ and the README)."""

from __future__ import annotations

import pathlib

from nam_jax import images
from nam_jax.data import datasets


def write_previews(data_cfg, out_dir: str | pathlib.Path, n: int = 12) -> list[pathlib.Path]:
  """Writes hr_faces.png, lr_train_faces.png and (synthetic only) lr_test_pairs.png."""
  out_dir = pathlib.Path(out_dir)
  written = []
  hr = datasets.take(datasets.hr_source(data_cfg, 'train'), 2 * n)
  path = out_dir / 'hr_faces.png'
  images.save_png(path, images.grid([hr[:n], hr[n:]]))
  written.append(path)
  lr = datasets.take(datasets.lr_source(data_cfg, 'train'), 2 * n)
  path = out_dir / 'lr_train_faces.png'
  images.save_png(path, images.grid([lr[:n], lr[n:]]))
  written.append(path)
  if data_cfg.source == 'synthetic':
    pairs = datasets.lr_test_pairs(data_cfg, limit=n)
    path = out_dir / 'lr_test_pairs.png'
    images.save_png(path, images.grid([pairs['lr'], pairs['hr']]))
    written.append(path)
  return written
