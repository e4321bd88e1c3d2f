"""Square face crops and anti-aliased resizing shared by all image adapters."""

from __future__ import annotations

import numpy as np
from PIL import Image


def crop_square(image: np.ndarray, cx: float, cy: float, side: float) -> np.ndarray:
  """Crops the square of `side` px centred at (cx, cy); pads with edge pixels where it leaves
  the image, so faces near a border keep their size and position."""
  side = max(int(round(side)), 1)
  left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
  h, w = image.shape[:2]
  pad = max(0, -left, -top, left + side - w, top + side - h)
  if pad:
    image = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode='edge')
    left, top = left + pad, top + pad
  return image[top:top + side, left:left + side]


def center_square(image: np.ndarray) -> np.ndarray:
  """The largest centred square of an image."""
  h, w = image.shape[:2]
  return crop_square(image, w / 2, h / 2, min(h, w))


def resize(image: np.ndarray, size: int) -> np.ndarray:
  """Anti-aliased resize of a uint8 HWC RGB image to size x size (Lanczos; box when shrinking
  a lot, which Pillow's reducing_gap does for us)."""
  if image.shape[0] == size and image.shape[1] == size:
    return image
  return np.asarray(Image.fromarray(image).resize((size, size), Image.LANCZOS, reducing_gap=3.0))
