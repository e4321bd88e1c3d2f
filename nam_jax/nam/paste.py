"""Faces pasted back into their photo: --align's composite.

An aligned face is the square `quad` of its photo (nam_jax/data/align.py: corners upper-left,
lower-left, lower-right, upper-right), resampled to a square image. A candidate of that face is
put back by the inverse map: every composite pixel inside the square is looked up in the
candidate (bilinear), then blended over the upscaled photo with a feathered oval mask, so the
candidate's own background and hair ends never meet the photo at a hard edge. The candidate's
colours are first matched to the photo's under the mask (per channel mean and contrast, the
contrast change bounded), since the search returns the face before the input's camera.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from nam_jax.data import align

MAX_SIDE = 4096  # The composite's long side is at most this many pixels.
MAX_SCALE = 8.0
# The oval mask in the aligned square's unit coordinates: centre, radii, and where it fades
# (as a fraction of the radii) from 1 to 0.
CENTRE = (0.5, 0.52)
RADII = (0.33, 0.40)
FADE = (0.75, 1.0)
CONTRAST = (0.7, 1.4)  # Bounds of the colour match's per-channel contrast gain.


def parse_picks(text: str) -> dict[str, int]:
  """--pick 'NAME:RANK,...' -> {input name: candidate rank} (ranks from 0, as in the
  cand_RR file names); ValueError naming a malformed entry."""
  out = {}
  for item in filter(None, text.split(',')):
    name, sep, rank = item.rpartition(':')
    if not (sep and name and rank.isdigit()):
      raise ValueError(f'--pick entry {item!r}: expected FACE:RANK, e.g. group_face0:2')
    out[name] = int(rank)
  return out


def scale_for(photo_shape: tuple[int, ...], sides: list[float], size: int) -> float:
  """How much a photo is upscaled: the output size over the smallest face's square side (that
  face then appears at the output size), at least 1, at most MAX_SCALE and MAX_SIDE."""
  scale = max(1.0, size / min(sides)) if sides else 1.0
  return float(min(scale, MAX_SCALE, MAX_SIDE / max(photo_shape[:2])))


def upscale_photo(photo: np.ndarray, scale: float) -> np.ndarray:
  """The photo (uint8 [H, W, 3]) resized by `scale` with Lanczos."""
  h, w = photo.shape[:2]
  size = (max(1, round(w * scale)), max(1, round(h * scale)))
  return np.asarray(Image.fromarray(photo).resize(size, Image.LANCZOS))


def unit_coordinates(quad: np.ndarray, xy: np.ndarray) -> np.ndarray:
  """Points xy [..., 2] of the photo in the square's unit coordinates (a, b): a along the top
  edge (upper-left -> upper-right), b down the left edge (upper-left -> lower-left)."""
  q = np.asarray(quad, np.float64)
  basis = np.stack([q[3] - q[0], q[1] - q[0]], axis=1)  # Columns: the two edges.
  return (xy - q[0]) @ np.linalg.inv(basis).T


def oval_mask(ab: np.ndarray) -> np.ndarray:
  """The feathered oval [...] at unit coordinates ab [..., 2]: 1 inside, smooth fall to 0."""
  d = np.hypot((ab[..., 0] - CENTRE[0]) / RADII[0], (ab[..., 1] - CENTRE[1]) / RADII[1])
  t = np.clip((FADE[1] - d) / (FADE[1] - FADE[0]), 0.0, 1.0)
  return t * t * (3 - 2 * t)


def warp_back(candidate: np.ndarray, quad: np.ndarray, canvas_shape: tuple[int, int],
              scale: float):
  """The candidate (float [S, S, 3]) where its square lies in a canvas of canvas_shape
  (photo x scale): (window (y0, y1, x0, x1), warped image [h, w, 3], mask [h, w]), or None if
  the square misses the canvas. Pixel centres are at +0.5, as PIL resamples."""
  corners = np.asarray(quad, np.float64) * scale
  x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int), 0)
  x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int), canvas_shape[::-1])
  if x1 <= x0 or y1 <= y0:
    return None
  ys, xs = np.mgrid[y0:y1, x0:x1]
  xy = (np.stack([xs, ys], -1) + 0.5) / scale
  ab = unit_coordinates(quad, xy)
  side = candidate.shape[0]
  rows, cols = ab[..., 1] * side - 0.5, ab[..., 0] * side - 0.5
  warped = np.stack([ndimage.map_coordinates(candidate[..., c], [rows, cols], order=1,
                                             mode='nearest') for c in range(3)], -1)
  inside = np.all((ab >= 0) & (ab <= 1), axis=-1)
  return (y0, y1, x0, x1), warped, oval_mask(ab) * inside


def match_colours(warped: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """warped with each channel's mean and contrast under `mask` set to the target's (the
  contrast gain bounded by CONTRAST)."""
  w = mask[..., None] / max(mask.sum(), 1e-8)
  mean_a, mean_b = (warped * w).sum((0, 1)), (target * w).sum((0, 1))
  std_a = np.sqrt(((warped - mean_a) ** 2 * w).sum((0, 1)))
  std_b = np.sqrt(((target - mean_b) ** 2 * w).sum((0, 1)))
  gain = np.clip(std_b / np.maximum(std_a, 1e-6), *CONTRAST)
  return (warped - mean_a) * gain + mean_b


def composite(photo: np.ndarray, faces: list[tuple[np.ndarray, np.ndarray]], size: int
              ) -> tuple[np.ndarray, float]:
  """The photo upscaled (scale_for) with each (candidate uint8 [S, S, 3], quad) pasted back:
  (composite uint8, scale)."""
  scale = scale_for(photo.shape, [align.square_side(q) for _, q in faces], size)
  out = upscale_photo(photo, scale).astype(np.float64)
  for candidate, quad in faces:
    placed = warp_back(np.asarray(candidate, np.float64), quad, out.shape[:2], scale)
    if placed is None:
      continue
    (y0, y1, x0, x1), warped, mask = placed
    region = out[y0:y1, x0:x1]
    warped = match_colours(warped, region, mask)
    out[y0:y1, x0:x1] = region * (1 - mask[..., None]) + warped * mask[..., None]
  return np.clip(np.round(out), 0, 255).astype(np.uint8), scale
