"""Faces from plain image folders, with one clear message for every unusable file.

Rule for any image size: take the largest centred square, then resize it with anti-aliasing
to the target size (a fixed size, or one chosen from the square's own side). Colour modes are converted to RGB (grayscale replicated, palette expanded,
alpha dropped, 16-bit and float images scaled to 8 bits) and EXIF orientation is applied. Files that cannot be used (not an
image, truncated or corrupt, smaller than the target) raise BadImageError naming the file.
"""

from __future__ import annotations

import errno
import pathlib
import stat
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nam_jax.data import crops


class BadImageError(ValueError):
  """An input file that cannot be used as a face image; the message names the file."""


def _to_rgb_array(im: Image.Image, path: pathlib.Path) -> np.ndarray:
  if im.mode in ('I;16', 'I;16B', 'I;16L', 'I;16N', 'I', 'F'):
    x = np.asarray(im, dtype=np.float64)
    if not np.all(np.isfinite(x)):
      raise BadImageError(f'{path}: image holds NaN or infinite pixel values')
    # 16-bit files are scaled from 0..65535; 32-bit int/float ones from their own range.
    top = 65535.0 if im.mode.startswith('I;16') else max(float(x.max()), 1.0)
    x = np.clip(x / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.repeat(x[..., None], 3, axis=-1)
  try:
    return np.asarray(im.convert('RGB'))
  except ValueError:
    raise BadImageError(f'{path}: colour mode {im.mode} cannot be converted to RGB') from None


_SPECIAL = ((stat.S_ISFIFO, 'a named pipe (FIFO)'), (stat.S_ISSOCK, 'a socket'),
            (stat.S_ISCHR, 'a character device'), (stat.S_ISBLK, 'a block device'),
            (stat.S_ISDIR, 'a folder'))


def _require_regular_file(path: pathlib.Path) -> None:
  """BadImageError unless `path` (links followed) is a regular file: opening a FIFO would
  block forever, a device could be read without end."""
  try:
    mode = path.stat().st_mode
  except FileNotFoundError:
    return  # Reported by the reader, with the broken-link case.
  except OSError:
    return
  for test, what in _SPECIAL:
    if test(mode):
      raise BadImageError(f'{path}: {what}, not an image file; skipped')


def read_rgb(path: str | pathlib.Path) -> np.ndarray:
  """One image file as uint8 [H, W, 3], upright (EXIF), in RGB; BadImageError otherwise."""
  path = pathlib.Path(path)
  _require_regular_file(path)
  try:
    with Image.open(path) as im:
      im.load()
      im = ImageOps.exif_transpose(im)  # Camera photos: stored rotated, EXIF says how.
      array = _to_rgb_array(im, path)
  except BadImageError:
    raise
  except FileNotFoundError:
    raise BadImageError(f'{path}: file not found' + (' (broken symbolic link)'
                                                    if path.is_symlink() else '')) from None
  except IsADirectoryError:
    raise BadImageError(f'{path}: a folder, not an image file') from None
  except PermissionError:
    raise BadImageError(f'{path}: permission denied') from None
  except UnidentifiedImageError:
    raise BadImageError(f'{path}: not an image file Pillow can read') from None
  except (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError,
          Image.DecompressionBombError) as e:  # Truncated, corrupt or odd image data.
    if isinstance(e, OSError) and e.errno == errno.ELOOP:
      raise BadImageError(f'{path}: symbolic link loop') from None
    raise BadImageError(f'{path}: corrupt image ({type(e).__name__}: {e})') from None
  return array


def load_image(path: str | pathlib.Path, size: int | Callable[[int], int]) -> np.ndarray:
  """Reads one image file as uint8 [size, size, 3] by the rule in the module docstring;
  `size` may be a function of the square's side (its ValueError names the file)."""
  path = pathlib.Path(path)
  array = read_rgb(path)
  h, w = array.shape[:2]
  if callable(size):
    try:
      size = size(min(h, w))
    except ValueError as e:
      raise BadImageError(f'{path}: image is {w}x{h}: {e}') from None
  if min(h, w) < size:
    raise BadImageError(f'{path}: image is {w}x{h}, smaller than the {size}x{size} target')
  return crops.resize(crops.center_square(array), size)


def list_files(folder: str | pathlib.Path) -> list[pathlib.Path]:
  """Every visible entry directly in `folder` except sub-folders, sorted by name: regular
  files, special files (FIFOs, sockets, devices) and symbolic links, broken or looping ones
  included, so that load_images reports each unusable one in one line without opening it."""
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise FileNotFoundError(f'{folder}: no such folder')
  entries = []
  for p in sorted(folder.iterdir()):
    if p.name.startswith('.'):
      continue
    try:
      if p.is_dir():
        continue
    except OSError:  # A symbolic link loop: kept, reported when read.
      pass
    entries.append(p)
  if not entries:
    raise ValueError(f'{folder}: folder is empty, no image files to read')
  return entries


def load_images(paths: Sequence[pathlib.Path], size: int | Callable[[int], int],
                skip_bad: bool = True) -> tuple[np.ndarray | list, list[pathlib.Path], list[str]]:
  """Loads images; returns (uint8 [N, size, size, 3], the paths used, one message per bad file);
  with `size` a function of each image's side, a list of [s, s, 3] when the sizes differ.

  With skip_bad=False the first bad file raises BadImageError instead.
  """
  images, used, errors = [], [], []
  for p in paths:
    try:
      images.append(load_image(p, size))
      used.append(p)
    except BadImageError as e:  # Reported once, by the caller.
      if not skip_bad:
        raise
      errors.append(str(e))
  if not images:
    raise ValueError(f'no usable image among {len(paths)} file(s): ' + '; '.join(errors))
  if len({im.shape for im in images}) > 1:
    return images, used, errors
  return np.stack(images), used, errors


def load_folder(folder: str | pathlib.Path, size: int, skip_bad: bool = True):
  """load_images over every file of a folder."""
  return load_images(list_files(folder), size, skip_bad)
