"""Low-resolution faces at their own size: which size a face is searched at, and sets of
inputs whose sizes differ.

A face of s px (8 to 64) is searched at s: the degradation maps each 64 px candidate to s px
(nam_jax/degradations.at_size) and the LR loss is taken there. Sizes are rounded down to one
of SIZES, so a folder of faces of any sizes compiles at most len(SIZES) programs, and no input
is ever enlarged; a face of 64 px or more is searched as its 64 px version. `lr_size` (the
job's --lr_size) fixes one size for every input instead (16: the paper's setting).

Inputs of one size are an array [N, s, s, 3]; inputs of several sizes a list of arrays
[s, s, 3] ("ragged"). Results keep the same convention: `lr` is [I, S, s, s, 3] when every
input has one size, else a list of [S, s_i, s_i, 3]; index both as lr[i][k].
"""

from __future__ import annotations

import numpy as np

SIZES = (8, 12, 16, 24, 32, 48, 64)
OWN = 0  # lr_size meaning: each input at its own size.


def search_size(side: int) -> int:
  """The size a face whose smaller side is `side` px is searched at: the largest of SIZES not
  above it; ValueError under the smallest."""
  fits = [s for s in SIZES if s <= side]
  if not fits:
    raise ValueError(f'a face of {side} px is smaller than the smallest searched size '
                     f'({SIZES[0]} px)')
  return fits[-1]


def check_lr_size(lr_size: int) -> int:
  """`lr_size` checked: OWN or a size from SIZES[0] to SIZES[-1]."""
  if lr_size != OWN and not SIZES[0] <= lr_size <= SIZES[-1]:
    raise ValueError(f'lr_size must be 0 (each face at its own size) or {SIZES[0]}-'
                     f'{SIZES[-1]}, got {lr_size}')
  return lr_size


def side_of(lr_size: int, side: int) -> int:
  """The size one input of `side` px gets under the job's `lr_size`."""
  return search_size(side) if lr_size == OWN else lr_size


def as_batch(images: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
  """Images [s, s, 3]: one array [N, s, s, 3] when they share a size, else the list."""
  if len({im.shape for im in images}) <= 1:
    return np.stack(images) if images else np.zeros((0, 16, 16, 3), np.uint8)
  return list(images)


def is_ragged(images) -> bool:
  return isinstance(images, list)


def take(images, index) -> np.ndarray | list[np.ndarray]:
  """The inputs at positions `index`, in the same convention."""
  index = np.asarray(index, int)
  if is_ragged(images):
    return as_batch([images[i] for i in index])
  return images[index]


def by_size(images) -> list[tuple[int, np.ndarray]]:
  """[(size, positions)] of the inputs, by increasing size."""
  sizes = np.array([im.shape[0] for im in images]) if is_ragged(images) else \
      np.full(len(images), images.shape[1] if len(images) else 16)
  return [(int(s), np.nonzero(sizes == s)[0]) for s in np.unique(sizes)]


def scatter(parts: list[tuple[np.ndarray, dict]], total: int, skip=()) -> dict:
  """One result over `total` inputs from parts (positions [n], result with leading axis n):
  arrays that share a trailing shape are stacked; others (`lr` across sizes) become lists."""
  merged: dict = {}
  keys = [k for k in parts[0][1] if k not in skip]
  for k in keys:
    ragged = any(isinstance(out[k], list) for _, out in parts)  # Itself merged over sizes.
    shapes = {None} if ragged else {np.shape(out[k])[1:] for _, out in parts}
    if len(shapes) == 1 and not ragged:
      first = np.asarray(parts[0][1][k])
      merged[k] = np.zeros((total,) + first.shape[1:], first.dtype)
      for index, out in parts:
        merged[k][index] = out[k]
    else:
      merged[k] = [None] * total
      for index, out in parts:
        for j, i in enumerate(index):
          merged[k][i] = np.asarray(out[k][j])
  return merged

