"""Adapters for the real face datasets users have in TFDS: celeb_a (HR) and wider_face (LR).

- celeb_a: each aligned photo is cropped to a square placed from its eye landmarks so that the
  eyes sit where they sit in nam_jax's synthetic faces (eye distance 26% of the side, eye line
  at 47% of the height), then resized to 64x64.
- wider_face: every valid face box at least `min_box` px tall becomes a square crop of
  `context` x its larger side around the box centre, resized to 16x16 (how Bulat et al. built
  their real-world LR set). Boxes are normalised [ymin, xmin, ymax, xmax].
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds
from tqdm import tqdm

from nam_jax.data import crops

EYE_DISTANCE_FRACTION = 0.26
EYE_HEIGHT_FRACTION = 0.47


class CelebAFaces:
  """Random-access 64x64 faces from TFDS celeb_a (uint8 HWC)."""

  def __init__(self, split: str = 'train', size: int = 64, data_dir: str | None = None):
    self._source = tfds.data_source('celeb_a', split=split, data_dir=data_dir)
    self.size = size

  def __len__(self) -> int:
    return len(self._source)

  def __getitem__(self, index: int) -> np.ndarray:
    ex = self._source[index]
    lm = ex['landmarks']
    left = np.array([lm['lefteye_x'], lm['lefteye_y']], np.float32)
    right = np.array([lm['righteye_x'], lm['righteye_y']], np.float32)
    eye_center = (left + right) / 2
    side = max(np.linalg.norm(right - left) / EYE_DISTANCE_FRACTION, 16.0)
    cy = eye_center[1] - EYE_HEIGHT_FRACTION * side + side / 2
    return crops.resize(crops.crop_square(ex['image'], eye_center[0], cy, side), self.size)


def wider_face_crops(split: str = 'train', size: int = 16, min_box: int = 10,
                     context: float = 1.3, data_dir: str | None = None,
                     limit: int | None = None) -> np.ndarray:
  """All usable face crops of a wider_face split as uint8 [N, size, size, 3]."""
  source = tfds.data_source('wider_face', split=split, data_dir=data_dir)
  out = []
  for i in tqdm(range(len(source)), desc=f'wider_face/{split} crops', unit='image'):
    ex = source[i]
    image, faces = ex['image'], ex['faces']
    h, w = image.shape[:2]
    for box, invalid in zip(np.asarray(faces['bbox']), np.asarray(faces['invalid'])):
      ymin, xmin, ymax, xmax = box * np.array([h, w, h, w])
      if invalid or ymax - ymin < min_box or xmax <= xmin:
        continue
      side = context * max(ymax - ymin, xmax - xmin)
      out.append(crops.resize(
          crops.crop_square(image, (xmin + xmax) / 2, (ymin + ymax) / 2, side), size))
      if limit is not None and len(out) >= limit:
        return np.stack(out)
  if not out:
    raise ValueError(f'wider_face/{split} has no valid face box of at least {min_box} px.')
  return np.stack(out)
