"""Faces from plain image folders, with one clear message for every unusable file.

Rule for any image size: take the largest centred square, then resize it with anti-aliasing
to the target size. Colour modes are converted to RGB (grayscale replicated, palette expanded,
alpha dropped, 16-bit and float images scaled to 8 bits). Files that cannot be used (not an
image, truncated or corrupt, smaller than the target) raise BadImageError naming the file.
"""

from __future__ import annotations

import logging
import pathlib
from typing import Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from nam_jax.data import crops


class BadImageError(ValueError):
  """An input file that cannot be used as a face image; the message names the file."""


def _to_rgb_array(im: Image.Image) -> np.ndarray:
  if im.mode in ('I;16', 'I;16B', 'I;16L', 'I', 'F'):
    x = np.asarray(im, dtype=np.float64)
    # 16-bit files are scaled from 0..65535; 32-bit int/float ones from their own range.
    top = 65535.0 if im.mode.startswith('I;16') else max(float(x.max()), 1.0)
    x = np.clip(x / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.repeat(x[..., None], 3, axis=-1)
  return np.asarray(im.convert('RGB'))


def load_image(path: str | pathlib.Path, size: int) -> np.ndarray:
  """Reads one image file as uint8 [size, size, 3] by the rule in the module docstring."""
  path = pathlib.Path(path)
  try:
    with Image.open(path) as im:
      im.load()
      array = _to_rgb_array(im)
  except FileNotFoundError:
    raise BadImageError(f'{path}: file not found') from None
  except UnidentifiedImageError:
    raise BadImageError(f'{path}: not an image file Pillow can read') from None
  except (OSError, SyntaxError, ValueError) as e:  # Truncated or corrupt image data.
    raise BadImageError(f'{path}: corrupt image ({e})') from None
  h, w = array.shape[:2]
  if min(h, w) < size:
    raise BadImageError(f'{path}: image is {w}x{h}, smaller than the {size}x{size} target')
  return crops.resize(crops.center_square(array), size)


def list_files(folder: str | pathlib.Path) -> list[pathlib.Path]:
  """Every visible regular file directly in `folder`, sorted by name."""
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise FileNotFoundError(f'{folder}: no such folder')
  files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith('.'))
  if not files:
    raise ValueError(f'{folder}: folder is empty, no image files to read')
  return files


def load_images(paths: Sequence[pathlib.Path], size: int, skip_bad: bool = True
                ) -> tuple[np.ndarray, list[pathlib.Path], list[str]]:
  """Loads images; returns (uint8 [N, size, size, 3], the paths used, one message per bad file).

  With skip_bad=False the first bad file raises BadImageError instead.
  """
  images, used, errors = [], [], []
  for p in paths:
    try:
      images.append(load_image(p, size))
      used.append(p)
    except BadImageError as e:
      if not skip_bad:
        raise
      logging.warning('skipping %s', e)
      errors.append(str(e))
  if not images:
    raise ValueError(f'no usable image among {len(paths)} file(s): ' + '; '.join(errors))
  return np.stack(images), used, errors


def load_folder(folder: str | pathlib.Path, size: int, skip_bad: bool = True):
  """load_images over every file of a folder."""
  return load_images(list_files(folder), size, skip_bad)
